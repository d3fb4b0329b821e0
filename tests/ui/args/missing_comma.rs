use lite_alloc::lite_alloc;

#[lite_alloc(realloc page = 65536)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
