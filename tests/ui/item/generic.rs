use lite_alloc::lite_alloc;

#[lite_alloc]
pub struct MyAlloc<T>;

fn main() {}
