use lite_alloc::lite_alloc;

// A literal is compared as the `u64` the attribute read, before any cast to
// the target's `usize`.
#[lite_alloc(memory = arena(4611686018427387904))]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
