use lite_alloc::lite_alloc;

#[lite_alloc(page = "64K")]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
