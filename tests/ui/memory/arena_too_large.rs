use lite_alloc::lite_alloc;

#[lite_alloc(memory = arena(usize::MAX / 2))]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
