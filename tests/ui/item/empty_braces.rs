use lite_alloc::lite_alloc;

// A struct without fields, written with braces: the stand-in should be the
// unit struct it was meant as, with `new`.
#[lite_alloc]
pub struct MyAlloc {}

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
