use lite_alloc::lite_alloc;

#[lite_alloc(bins = [16u32, 32])]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
