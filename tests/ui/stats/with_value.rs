use lite_alloc::lite_alloc;

#[lite_alloc(stats = true)]
pub struct MyAlloc;

fn main() {}
