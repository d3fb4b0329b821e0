//! Bins need not be powers of two.
use lite_alloc::lite_alloc;

#[lite_alloc(bins = [24, 48, 96, 4096])]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {
    let boxes: Vec<Box<[u8; 20]>> = (0..100).map(|i| Box::new([i as u8; 20])).collect();
    assert_eq!(boxes[99][19], 99);
}
