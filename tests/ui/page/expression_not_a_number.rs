use lite_alloc::lite_alloc;

#[lite_alloc(page = 64.0 * 1024.0, memory = arena(65536))]
pub struct MyAlloc;

fn main() {}
