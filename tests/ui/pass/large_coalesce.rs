//! `large = coalesce`: freed neighbours merge, so two freed blocks serve one
//! request larger than either, and a large block splits to serve a smaller one.
use core::alloc::{GlobalAlloc, Layout};
use lite_alloc::lite_alloc;

#[lite_alloc(large = coalesce, stats, memory = arena(1 << 20))]
pub struct Coalescing;

fn main() {
    let small = Layout::from_size_align(1000, 8).unwrap();
    let big = Layout::from_size_align(2000, 8).unwrap();
    unsafe {
        let a = Coalescing.alloc(small);
        let b = Coalescing.alloc(small);
        let _keep = Coalescing.alloc(small);
        assert!(!a.is_null() && b > a);
        Coalescing.dealloc(a, small);
        Coalescing.dealloc(b, small);
        assert_eq!(Coalescing.alloc(big), a);
        assert_eq!(Coalescing::stats().in_use, 3000);
    }
}
