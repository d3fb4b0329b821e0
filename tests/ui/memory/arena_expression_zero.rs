use lite_alloc::lite_alloc;

const HEAP_BYTES: usize = 0;

#[lite_alloc(memory = arena(HEAP_BYTES))]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
