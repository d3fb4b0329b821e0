//! The intrusive LIFO free list of bins and of large classes: a free
//! block's first word holds the address of the next free block of the same
//! list (null at the end); there are no headers.

use core::ptr::null_mut;

use super::check::{Corruption, ensure};

/// A LIFO list of free blocks, each at least a pointer in size and aligned
/// for one. The head, and every link, is a pointer with the heap's own
/// provenance (invariant 4 of the [heap](super)), never a caller's.
#[repr(transparent)]
pub struct List {
    head: *mut u8,
}

impl List {
    /// No blocks.
    pub const EMPTY: Self = Self { head: null_mut() };

    /// The first block, or null when the list is empty.
    #[inline(always)]
    pub fn head(&self) -> *mut u8 {
        self.head
    }

    /// Takes `head`, the first block, off the list.
    ///
    /// # Safety
    ///
    /// `head` is [`head`](Self::head), and not null.
    #[inline(always)]
    pub unsafe fn pop(&mut self, head: *mut u8) -> *mut u8 {
        debug_assert!(head == self.head && !head.is_null());
        // SAFETY: a block in the list is free and aligned for a pointer, and
        // its first word holds the next block (`push` wrote it).
        self.head = unsafe { head.cast::<*mut u8>().read() };
        head
    }

    /// Puts `block` at the head of the list. `reclaimed` is the block with
    /// the heap's provenance (`Region::at`): the list keeps it, since the
    /// caller's pointer may cover only part of the block, which will be
    /// handed out whole.
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap, at least a pointer in size and
    /// aligned for one, that belongs in this list; the caller's pointer to it
    /// covers `size` bytes; `reclaimed` has its address.
    #[inline(always)]
    pub unsafe fn push(&mut self, block: *mut u8, size: usize, reclaimed: *mut u8) {
        debug_assert!(block.addr().is_multiple_of(align_of::<*mut u8>()));
        debug_assert_eq!(block.addr(), reclaimed.addr());
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
        unsafe { link.cast::<*mut u8>().write(self.head) };
        self.head = reclaimed;
    }

    /// Calls `visit` with every block of the list, first to last, for
    /// [`check`](super::Heap::check); the first error `visit` returns, or
    /// one when the list loops (Brent's cycle detection: the list is never
    /// followed for more than about three times its length).
    ///
    /// # Safety
    ///
    /// Every block `visit` accepts is a free block of this heap whose first
    /// word is a link (it checks each block before accepting it).
    pub unsafe fn walk(
        &self,
        mut visit: impl FnMut(*mut u8) -> Result<(), Corruption>,
    ) -> Result<(), Corruption> {
        let (mut block, mut saved) = (self.head, null_mut());
        let (mut power, mut steps) = (1usize, 0usize);
        while !block.is_null() {
            ensure(block != saved, "a free list loops", block.addr())
                .map_err(Corruption::in_free)?;
            visit(block).map_err(Corruption::in_free)?;
            steps += 1;
            if steps == power {
                (saved, power, steps) = (block, power.saturating_mul(2), 0);
            }
            // SAFETY: `visit` accepted the block: its first word is a link.
            block = unsafe { block.cast::<*mut u8>().read() };
        }
        Ok(())
    }
}
