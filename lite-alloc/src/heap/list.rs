//! The intrusive LIFO free lists of bins and large classes.

use super::{Config, Heap};

impl<C: Config<N, L>, const N: usize, const L: usize> Heap<C, N, L> {
    /// Puts `block` at the head of the list `head`, with the heap's
    /// provenance (taken from `top`).
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap, at least a pointer in size and
    /// aligned for one, that belongs in this list; the caller's pointer to it
    /// covers `size` bytes.
    #[inline(always)]
    pub(in crate::heap) unsafe fn push(
        head: &mut *mut u8,
        block: *mut u8,
        size: usize,
        top: *mut u8,
    ) {
        // The list keeps a pointer with the heap's own provenance: the
        // caller's may be narrower than the block, which will be handed out
        // whole (invariant 4).
        let reclaimed = top.with_addr(block.addr());
        // The link goes through the caller's pointer, which may still be
        // protected in the caller (a `Box` being dropped), unless the
        // caller's block is too small for a link: its pointer may then not
        // reach past the block's first bytes.
        let link = if size >= size_of::<*mut u8>() {
            block
        } else {
            reclaimed
        };
        // SAFETY: the block holds a pointer and is aligned for one (the
        // caller's promise), and is free.
        unsafe { link.cast::<*mut u8>().write(*head) };
        *head = reclaimed;
    }
}
