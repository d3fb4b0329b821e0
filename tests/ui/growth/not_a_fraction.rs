use lite_alloc::lite_alloc;

#[lite_alloc(growth = 8)]
pub struct MyAlloc;

fn main() {}
