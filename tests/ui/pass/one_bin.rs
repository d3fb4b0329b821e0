//! A single bin, written with a `usize` suffix.
use lite_alloc::lite_alloc;

#[lite_alloc(bins = [64usize], page = 65536usize)]
struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {
    assert_eq!(vec![1u8; 10].len(), 10);
}
