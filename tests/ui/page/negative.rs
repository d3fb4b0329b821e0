use lite_alloc::lite_alloc;

#[lite_alloc(page = -4096)]
pub struct MyAlloc;

fn main() {}
