//! No arguments: the documented four bins, 64 KiB growth, the target's memory.
use lite_alloc::lite_alloc;

#[lite_alloc]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {
    let v: Vec<u64> = (0..1000).collect();
    assert_eq!(v.iter().sum::<u64>(), 499_500);
}
