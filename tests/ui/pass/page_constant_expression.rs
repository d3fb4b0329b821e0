//! `page` as a constant expression, as `arena(...)` takes.
use core::alloc::{GlobalAlloc, Layout};

const KIB: usize = 1024;

#[lite_alloc::lite_alloc(page = 4 * KIB, memory = arena(64 * KIB), stats)]
struct Stepped;

fn main() {
    let layout = Layout::from_size_align(100, 8).unwrap();
    unsafe {
        let block = Stepped.alloc(layout);
        assert!(!block.is_null());
        assert_eq!(Stepped::stats().obtained, 4096);
        Stepped.dealloc(block, layout);
    }
}
