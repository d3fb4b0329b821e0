use lite_alloc::lite_alloc;

#[lite_alloc(memory = claimed(4096))]
pub struct MyAlloc;

fn main() {}
