use lite_alloc::lite_alloc;

#[lite_alloc(memory = arean(65536))]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
