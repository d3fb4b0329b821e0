use lite_alloc::lite_alloc;

// A value that takes nothing in parentheses, written with them.
#[lite_alloc(sync = spin(), realloc)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
