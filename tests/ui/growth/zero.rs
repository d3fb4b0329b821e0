use lite_alloc::lite_alloc;

#[lite_alloc(growth = 1/0)]
pub struct MyAlloc;

fn main() {}
