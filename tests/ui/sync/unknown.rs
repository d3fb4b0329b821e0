use lite_alloc::lite_alloc;

#[lite_alloc(sync = mutex)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
