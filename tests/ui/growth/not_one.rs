use lite_alloc::lite_alloc;

#[lite_alloc(growth = 2/3)]
pub struct MyAlloc;

fn main() {}
