use lite_alloc::lite_alloc;

#[lite_alloc(memory = arena())]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
