use lite_alloc::lite_alloc;

#[lite_alloc]
pub struct MyAlloc(u32);

fn main() {}
