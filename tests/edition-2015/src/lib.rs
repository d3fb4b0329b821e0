//! The attribute in an edition-2015 crate, where `::core` means a module of
//! this crate rather than the `core` crate: the expansion must reach
//! everything through lite-alloc's own paths.

extern crate lite_alloc;

use std::alloc::{GlobalAlloc, Layout};

/// Every kind of heap, with statistics.
#[lite_alloc::lite_alloc(bins = [24, 48, 96], memory = arena(65536), stats, realloc)]
pub struct Bins;

/// Large blocks reused.
#[lite_alloc::lite_alloc(memory = arena(65536), large = reuse)]
pub struct Reuse;

/// No bins, every block a chunk.
#[lite_alloc::lite_alloc(bins = [], large = coalesce, memory = arena(65536), growth = 1/8)]
pub struct Chunks;

/// The checked mode.
#[lite_alloc::lite_alloc(bins = [16, 32], large = reuse, memory = arena(65536), check)]
pub struct Checked;

/// Allocates, writes and frees a block of each size in `sizes`.
pub fn round_trip<A: GlobalAlloc>(alloc: &A, sizes: &[usize]) -> bool {
    sizes.iter().all(|&size| {
        let layout = Layout::from_size_align(size, 8).unwrap();
        unsafe {
            let p = alloc.alloc(layout);
            if p.is_null() {
                return false;
            }
            p.write_bytes(7, size);
            alloc.dealloc(p, layout);
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_heap_works() {
        let sizes = [1, 24, 100, 5000];
        assert!(round_trip(&Bins::new(), &sizes));
        assert!(round_trip(&Reuse::new(), &sizes));
        assert!(round_trip(&Chunks::new(), &sizes));
        assert!(round_trip(&Checked::new(), &sizes));
        assert_eq!(Checked::checks().live_blocks, 0);
        assert_eq!(Bins::stats().in_use, 0);
    }
}
