use lite_alloc::lite_alloc;

#[lite_alloc(bins = [], large = reuse)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
