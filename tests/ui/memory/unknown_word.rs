use lite_alloc::lite_alloc;

#[lite_alloc(memory = heap)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
