//! `large = reuse`: large blocks in size classes, each with a LIFO list.

use core::ptr;

use crate::heap::{Config, Heap};
use crate::stats::Record;

impl<C: Config<N, L>, const N: usize, const L: usize> Heap<C, N, L> {
    /// A large block from its class's free list, else carved at the class's
    /// size (with large classes).
    #[inline(never)]
    pub(in crate::heap) fn alloc_reused(
        &mut self,
        size: usize,
        align: usize,
        zero: usize,
    ) -> *mut u8 {
        let (class, capacity) = Self::large(size);
        // SAFETY: `large` gives an index below `large_classes(LARGEST)`,
        // which is `L` (`Config`).
        let head = unsafe { self.large.get_unchecked_mut(class) };
        let block = *head;
        // Over-aligned requests take the head only when it happens to be
        // aligned enough (it usually is when they free and allocate in turn).
        if block.is_null() || !block.addr().is_multiple_of(align) {
            return self.bump(capacity, align, zero);
        }
        // SAFETY: by invariant 2 the head is a free block of this class whose
        // first word holds the next one.
        *head = unsafe { block.cast::<*mut u8>().read() };
        self.stats.large_taken(capacity);
        self.stats.large_hit();
        // SAFETY: the block holds the class's size, at least `size >= zero`.
        unsafe { ptr::write_bytes(block, 0, zero) };
        block
    }

    /// Frees a large block (with large classes): back to the bump pointer
    /// when it is the last block carved, else into its class's list.
    #[inline(never)]
    pub(in crate::heap) fn free_large(&mut self, block: *mut u8, size: usize) {
        let (class, capacity) = Self::large(size);
        // No overflow: the block lies in memory the heap obtained, and holds
        // its class's size.
        if block.addr() + capacity == self.top.addr() {
            // `[block, top)` is the block: it joins the unused memory. The
            // bytes it covered are no longer fresh; `fresh` stays above them.
            self.top = self.reclaim(block);
            self.stats.large_to_top(capacity);
            return;
        }
        // SAFETY: `large` gives an index below `L` (`Config`).
        let head = unsafe { self.large.get_unchecked_mut(class) };
        // SAFETY: the block holds its class's size (more than a pointer) and
        // was carved aligned to `MAX_BIN_ALIGN` (or checked to be by
        // `realloc`); the caller gives it up.
        unsafe { Self::push(head, block, size, self.top) };
        self.stats.large_pushed(capacity);
    }
}
