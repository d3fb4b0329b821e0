use lite_alloc::lite_alloc;

#[lite_alloc]
pub struct MyAlloc
where
    u8: Copy;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
