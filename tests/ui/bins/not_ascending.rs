use lite_alloc::lite_alloc;

#[lite_alloc(bins = [16, 64, 32, 128])]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
