use lite_alloc::lite_alloc;

#[lite_alloc(large)]
pub struct MyAlloc;

fn main() {}
