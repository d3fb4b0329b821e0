use lite_alloc::lite_alloc;

#[lite_alloc(memory = wasm, page = 4096)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
