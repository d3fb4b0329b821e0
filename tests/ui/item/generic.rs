use lite_alloc::lite_alloc;

#[lite_alloc]
pub struct MyAlloc<T>;

// The stand-in is a unit struct of the same name: using it as the allocator
// adds no error of its own.
#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
