//! No `large = ...`: lite-alloc 0.1.0's design. A block no bin serves is
//! carved from the bump pointer at its exact size and never reused.

use super::super::check::Corruption;
use super::super::class::large_align;
use super::super::region::Untouched;
use super::super::{Config, Heap};
use super::LargeBlocks;
use crate::stats::Record;

/// Blocks no bin serves are carved at their exact size, aligned to at least
/// [`MAX_BIN_ALIGN`](super::super::MAX_BIN_ALIGN), and never reused: freeing one only counts it. Nothing
/// ever goes back to the bump pointer.
pub struct Leak;

// SAFETY: blocks come from `bump`, at the size and alignment asked (or
// more), in fresh memory; `free` touches nothing.
unsafe impl LargeBlocks for Leak {
    type State = ();
    const INIT: Self::State = ();
    type Fresh = Untouched;
    const KEEP_SHRUNK: bool = true;
    const REUSES: bool = false;

    #[inline(always)]
    fn capacity<C: Config<N, Large = Self>, const N: usize>(size: usize, _: usize) -> usize {
        size
    }

    #[inline(always)]
    fn alloc<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        size: usize,
        align: usize,
        zero: usize,
    ) -> *mut u8 {
        heap.bump(size, large_align(align), zero)
    }

    #[inline(always)]
    unsafe fn free<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        _: *mut u8,
        size: usize,
        _: usize,
    ) {
        heap.stats.leaked(size);
    }

    fn check<C: Config<N, Large = Self>, const N: usize>(_: &Heap<C, N>) -> Result<(), Corruption> {
        Ok(())
    }
}
