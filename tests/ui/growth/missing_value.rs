use lite_alloc::lite_alloc;

#[lite_alloc(growth)]
pub struct MyAlloc;

fn main() {}
