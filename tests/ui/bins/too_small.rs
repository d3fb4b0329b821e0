use lite_alloc::lite_alloc;

#[lite_alloc(bins = [1, 16])]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
