//! An arena sized by a constant expression.
use lite_alloc::lite_alloc;

const HEAP_KIB: usize = 256;

#[lite_alloc(memory = arena(HEAP_KIB * 1024))]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {
    assert_eq!(format!("{}", 7), "7");
}
