use lite_alloc::lite_alloc;

#[lite_alloc(large = recycle)]
pub struct MyAlloc;

fn main() {}
