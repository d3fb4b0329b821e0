//! `bins = []` with `large = coalesce`: every block is a chunk. Two freed
//! small blocks merge to serve a request larger than either, with statistics.
use core::alloc::{GlobalAlloc, Layout};
use lite_alloc::lite_alloc;

#[lite_alloc(bins = [], large = coalesce, realloc, stats, memory = arena(1 << 20))]
pub struct Chunks;

fn main() {
    let small = Layout::from_size_align(24, 8).unwrap();
    let big = Layout::from_size_align(48, 8).unwrap();
    unsafe {
        let a = Chunks.alloc(small);
        let b = Chunks.alloc(small);
        let _keep = Chunks.alloc(small);
        assert!(!a.is_null() && b > a);
        Chunks.dealloc(a, small);
        Chunks.dealloc(b, small);
        assert_eq!(Chunks.alloc(big), a);
        assert_eq!(Chunks::stats().in_use, 72);
        assert!(Chunks::stats().bins().is_empty());
    }
}
