//! `sync = critical_section` (the `critical-section` feature, with an
//! implementation of critical sections linked in: here the crate's `std` one).
use lite_alloc::lite_alloc;

#[lite_alloc(sync = critical_section)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {
    assert_eq!(String::from("cs").len(), 2);
}
