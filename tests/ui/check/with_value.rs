use lite_alloc::lite_alloc;

#[lite_alloc(check = true)]
pub struct MyAlloc;

fn main() {}
