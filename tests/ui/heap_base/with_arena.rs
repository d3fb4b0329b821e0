use lite_alloc::lite_alloc;

#[lite_alloc(memory = arena(4096), heap_base)]
pub struct MyAlloc;

fn main() {}
