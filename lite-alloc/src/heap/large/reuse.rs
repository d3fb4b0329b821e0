//! `large = reuse`: a block no bin serves is carved at the size of its
//! class (four classes per power of two above the largest bin), and a freed
//! one goes into its class's LIFO list, or back to the bump pointer when it
//! is the last block carved.

use core::marker::PhantomData;
use core::ptr;

use super::super::check::{Corruption, ensure};
use super::super::class::{large_align, large_class, large_classes};
use super::super::list::List;
use super::super::region::HighWater;
use super::super::{Config, Heap};
use super::LargeBlocks;
use crate::stats::Record;

/// Blocks no bin serves come in size classes, `L` of them
/// ([`large_classes`] of the largest bin), each with a LIFO list of freed
/// blocks (invariant 2 of the heap).
pub struct Reuse<const L: usize>;

impl<const L: usize> Reuse<L> {
    /// The class of a request no bin serves: its index and size. Small
    /// over-aligned requests count as just above the largest bin.
    #[inline(always)]
    fn class<C: Config<N>, const N: usize>(size: usize) -> (usize, usize) {
        let largest = Heap::<C, N>::LARGEST;
        let size = if size > largest { size } else { largest + 1 };
        large_class(size, largest)
    }

    /// Checked when the heap is monomorphised: `L` is the number of
    /// classes above the largest bin, so every index `class` gives is
    /// below it.
    const fn valid<C: Config<N>, const N: usize>() {
        struct Valid<C, const N: usize, const L: usize>(PhantomData<C>);
        impl<C: Config<N>, const N: usize, const L: usize> Valid<C, N, L> {
            const OK: () = assert!(
                N >= 1 && L == large_classes(C::BINS[N - 1]),
                "`Reuse<L>` needs bins, and `L` is `large_classes` of the largest"
            );
        }
        Valid::<C, N, L>::OK
    }

    /// A block from its class's list, else carved at the class's size.
    #[inline(never)]
    fn alloc_reused<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        size: usize,
        align: usize,
        zero: usize,
    ) -> *mut u8 {
        Self::valid::<C, N>();
        let (class, capacity) = Self::class::<C, N>(size);
        // SAFETY: `class` is below `large_classes(LARGEST)`, which is `L`
        // (`valid`).
        let list = unsafe { heap.large.get_unchecked_mut(class) };
        let block = list.head();
        // Over-aligned requests take the head only when it happens to be
        // aligned enough (it usually is when they free and allocate in turn).
        if block.is_null() || !block.addr().is_multiple_of(align) {
            return heap.bump(capacity, align, zero);
        }
        // SAFETY: the head, not null.
        unsafe { list.pop(block) };
        heap.stats.large_taken(capacity);
        heap.stats.large_hit();
        // SAFETY: the block holds the class's size, at least `size >= zero`.
        unsafe { ptr::write_bytes(block, 0, zero) };
        block
    }

    /// Frees a block: back to the bump pointer when it is the last block
    /// carved, else into its class's list.
    #[inline(never)]
    fn free_large<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        block: *mut u8,
        size: usize,
    ) {
        let (class, capacity) = Self::class::<C, N>(size);
        // No overflow: the block lies in memory the heap obtained, and holds
        // its class's size.
        if block.addr() + capacity == heap.region.top.addr() {
            // `[block, top)` is the block: it joins the unused memory. The
            // bytes it covered are no longer fresh; the high-water mark
            // stays above them.
            heap.region.top = heap.region.at(block.addr());
            heap.stats.large_to_top(capacity);
            return;
        }
        let reclaimed = heap.region.at(block.addr());
        // SAFETY: `class` is below `L` (`valid`).
        let list = unsafe { heap.large.get_unchecked_mut(class) };
        // SAFETY: the block holds its class's size (more than a pointer) and
        // is aligned for one (carved aligned to `MAX_BIN_ALIGN`, or to its
        // bin's alignment before `realloc` grew it); the caller gives it up.
        unsafe { list.push(block, size, reclaimed) };
        heap.stats.large_pushed(capacity);
    }
}

// SAFETY: blocks come from `bump` at their class's size (at least `size`)
// aligned to at least `MAX_BIN_ALIGN`, or from a class's list, which holds
// only freed blocks of that class aligned to it (invariant 2), taken only
// when aligned to `align`; `free` puts a block in the list of the class it
// was carved for, or back to the bump pointer when it ends at `top`, and the
// high-water mark keeps `alloc_zeroed` honest then.
unsafe impl<const L: usize> LargeBlocks for Reuse<L> {
    type State = [List; L];
    const INIT: Self::State = [List::EMPTY; L];
    type Fresh = HighWater;

    #[inline(always)]
    fn capacity<C: Config<N, Large = Self>, const N: usize>(size: usize, _: usize) -> usize {
        Self::class::<C, N>(size).1
    }

    #[inline(always)]
    fn alloc<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        size: usize,
        align: usize,
        zero: usize,
    ) -> *mut u8 {
        Self::alloc_reused(heap, size, large_align(align), zero)
    }

    #[inline(always)]
    unsafe fn free<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        block: *mut u8,
        size: usize,
        _: usize,
    ) {
        Self::free_large(heap, block, size);
    }

    fn check<C: Config<N, Large = Self>, const N: usize>(
        heap: &Heap<C, N>,
    ) -> Result<(), Corruption> {
        let largest = Heap::<C, N>::LARGEST;
        let mut free_bytes = 0;
        for (class, list) in heap.large.iter().enumerate() {
            let capacity = class_size(class, largest);
            // SAFETY: `check_free_block` checks that each block lies in the
            // heap's memory, aligned, before its link is read.
            unsafe {
                list.walk(|block| {
                    free_bytes += capacity;
                    heap.check_free_block(block, capacity, align_of::<*mut u8>())
                })
            }?;
        }
        ensure(
            heap.stats
                .large_free()
                .is_none_or(|bytes| bytes == free_bytes),
            "the statistics count other free bytes in the large classes",
            free_bytes,
        )
        // A list cut short (a link zeroed by a stale write) holds fewer.
        .map_err(Corruption::in_free)
    }
}

/// The size of large class `class` above a largest bin of `largest`.
fn class_size(class: usize, largest: usize) -> usize {
    // Class `c` is the `c`-th class from the one `largest` itself is in;
    // its size is the first size of the next.
    let base = 4 * super::super::class::log2(largest) as usize;
    let index = base + class;
    let (e, m) = (index / 4, index % 4 + 4);
    (m + 1) << (e - 2)
}
