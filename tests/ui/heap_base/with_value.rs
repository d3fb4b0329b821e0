use lite_alloc::lite_alloc;

#[lite_alloc(heap_base = 1024)]
pub struct MyAlloc;

fn main() {}
