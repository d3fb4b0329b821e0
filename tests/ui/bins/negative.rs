use lite_alloc::lite_alloc;

#[lite_alloc(bins = [16, -32, 64])]
pub struct MyAlloc;

fn main() {}
