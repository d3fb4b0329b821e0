use lite_alloc::lite_alloc;

#[lite_alloc(page = 65536, bins = [16], page = 131072)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
