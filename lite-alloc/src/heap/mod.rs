//! The allocation algorithm: segregated bins with LIFO free lists in front
//! of a policy for everything else, and a bump pointer.
//!
//! The algorithm is written once, here, and monomorphised for each type the
//! `#[lite_alloc]` attribute generates: the attribute supplies a [`Config`]
//! (bin sizes, growth step, policy for large blocks, memory source, lock,
//! statistics, and a size-to-bin lookup specialised for those bins) and one
//! static [`Global`] holding the state. This module only dispatches: the
//! bins' lists are in `list`, the region and its growth in `region`, each
//! policy in `large`, the lock in `global`, the checks in `check`.
//!
//! # Memory layout
//!
//! ```text
//!   region obtained from the memory source (wasm pages, an arena, ...)
//!   ┌──────┬───┬────────────┬──────┬─────────────┬──────────────────────┐
//!   │ 16 B │pad│   200 B    │ 32 B │ 64 B (free) │     not yet used     │
//!   └──────┴───┴────────────┴──────┴─────────────┴──────────────────────┘
//!                                   ▲             ▲                      ▲
//!                     bins[2] ──────┘            top                   end
//! ```
//!
//! * A block that fits a bin is carved at the bin's full size, so that when it
//!   is freed it can serve any later request of that bin.
//! * A free block's first word holds the address of the next free block of the
//!   same list (null at the end of the list); there are no headers.
//! * Blocks larger than the largest bin, and blocks aligned to more than
//!   [`MAX_BIN_ALIGN`], are "large", and the type's policy
//!   ([`Config::Large`]) serves them: [`Leak`] carves them at their exact
//!   size and never reuses them (lite-alloc 0.1.0's design); [`Reuse`]
//!   carves them at the size of their class (four per power of two) and
//!   reuses them by class; [`Chunks`] makes them chunks with boundary tags,
//!   split and merged, and carves the bins' blocks from slabs (with no bins
//!   at all, every block is a chunk).
//!
//! # Invariants
//!
//! 1. `top.addr() <= end`, and `[top, end)` lies inside the current region,
//!    which this heap obtained from its memory source and nothing else uses.
//! 2. Every block in the list of bin `i` is at least `BINS[i]` bytes, aligned
//!    to [`carve_align`]`(BINS[i])`, inside memory this heap obtained, and not
//!    handed out. Every block in the list of large class `c` is at least the
//!    class's size, aligned for a pointer, likewise (blocks `alloc` carves
//!    are aligned to `MAX_BIN_ALIGN`, but a bin block grown in place may
//!    become a large one aligned to less: a request takes a list's head
//!    only when it is aligned enough).
//! 3. `class(size, align)` only names bins that fit `size` and `align`, so a
//!    block is always pushed to a list whose size it has.
//! 4. Every pointer the heap keeps or hands out (`top`, list heads and links,
//!    blocks) is derived from a region's pointer, never from a caller's: a
//!    caller's pointer may only cover part of its block.
//! 5. Where blocks go back to the bump pointer ([`Reuse`], [`Chunks`]), every
//!    byte of the current region from the high-water mark or `top`,
//!    whichever is higher, is as the memory source handed it over (zero,
//!    for a source that promises [`Memory::ZEROED`]): no block was ever
//!    carved there. Elsewhere `top` plays the part of the mark, since
//!    nothing is ever given back.
//!
//! Invariants 6 and 7 are the chunks'. [`Heap::check`] checks them all.

mod check;
#[cfg(test)]
mod check_tests;
mod checked;
mod class;
mod config;
mod global;
mod large;
mod list;
mod region;

pub use checked::CheckedGlobal;
pub use class::{carve_align, large_classes, min_carve_align};
pub use config::{Config, MAX_BIN, MAX_BIN_ALIGN, MAX_PAGE};
pub use global::Global;
pub use large::{Chunks, LargeBlocks, Leak, Reuse, TAG_BITS};

use core::alloc::Layout;
use core::ptr;

use crate::memory::Memory;
use crate::stats::Record;
use list::List;
use region::{Fresh, Region};

/// The mutable state of one allocator type.
pub struct Heap<C: Config<N>, const N: usize> {
    /// Each bin's free list.
    bins: [List; N],
    /// The policy's state: what large blocks need (nothing, for [`Leak`]).
    large: <C::Large as LargeBlocks>::State,
    /// The current region, and the memory source.
    region: Region<C::Memory, <C::Large as LargeBlocks>::Fresh>,
    /// What the heap has done, if the type keeps statistics.
    stats: C::Stats,
}

impl<C: Config<N>, const N: usize> Heap<C, N> {
    /// A heap that has obtained no memory yet.
    pub const NEW: Self = Self {
        bins: [List::EMPTY; N],
        large: <C::Large as LargeBlocks>::INIT,
        region: Region::NEW,
        stats: <C::Stats as Record>::INIT,
    };

    /// The largest bin's size (0 without bins).
    const LARGEST: usize = if N == 0 { 0 } else { C::BINS[N - 1] };

    /// Whether every block the heap hands out is aligned to `MAX_BIN_ALIGN`:
    /// every bin carves at it, and large blocks always are.
    const ALL_ALIGNED: bool = min_carve_align(&C::BINS) == MAX_BIN_ALIGN;

    /// Whether the bins are `b, 2b, 4b, ...`: then bin `i` holds `b << i`
    /// bytes, computed rather than looked up in a table.
    const DOUBLING: bool = {
        let mut i = 1;
        let mut doubling = true;
        while i < N {
            doubling &= matches!(C::BINS[i - 1].checked_mul(2), Some(next) if next == C::BINS[i]);
            i += 1;
        }
        doubling
    };

    /// The size of bin `i`'s blocks.
    #[inline(always)]
    fn bin_size(i: usize) -> usize {
        if Self::DOUBLING {
            C::BINS[0] << i
        } else {
            // SAFETY: `Config` promises `i < N` for every bin it names.
            unsafe { *C::BINS.get_unchecked(i) }
        }
    }

    /// The alignment at which blocks of bin `i` are carved.
    #[inline(always)]
    fn bin_align(i: usize) -> usize {
        // SAFETY: `Config` promises `i < N` for every bin it names.
        Self::carve_align_of(unsafe { *C::BINS.get_unchecked(i) })
    }

    /// The alignment at which blocks of a bin of `size` bytes are carved
    /// (for `bin_align`, and for constants over the bins).
    #[inline(always)]
    const fn carve_align_of(size: usize) -> usize {
        if Self::ALL_ALIGNED {
            MAX_BIN_ALIGN
        } else {
            carve_align(size)
        }
    }

    /// The bin serving `size` and `align`, if any.
    #[inline(always)]
    fn bin(size: usize, align: usize) -> Option<usize> {
        if align > MAX_BIN_ALIGN {
            return None;
        }
        let i = C::class(size, align);
        if i < N { Some(i) } else { None }
    }

    /// The capacity of the block serving a request: its bin's size, or
    /// what the policy gives for large blocks.
    #[inline(never)]
    fn capacity(size: usize, align: usize) -> usize {
        match Self::bin(size, align) {
            Some(i) => Self::bin_size(i),
            None => C::Large::capacity::<C, N>(size, align),
        }
    }

    /// Allocates a block for `layout`, or returns null when memory runs out.
    ///
    /// # Safety
    ///
    /// `layout.size()` is not zero.
    #[inline]
    pub unsafe fn alloc(&mut self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.alloc_plain(layout.size(), layout.align()) };
        self.account(block, layout)
    }

    /// [`alloc_inner`](Self::alloc_inner) without zeroing: one function for
    /// `alloc` and `realloc`, which the compiler inlines or not as one.
    ///
    /// # Safety
    ///
    /// As for [`alloc_inner`](Self::alloc_inner).
    #[inline]
    unsafe fn alloc_plain(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { self.alloc_inner::<false>(size, align) }
    }

    /// Like [`alloc`](Self::alloc), with the block's first `layout.size()`
    /// bytes set to zero. Memory the source handed over zeroed
    /// ([`Memory::ZEROED`]) and never handed out since is not cleared again:
    /// only recycled blocks are.
    ///
    /// # Safety
    ///
    /// As for [`alloc`](Self::alloc).
    #[inline]
    pub unsafe fn alloc_zeroed(&mut self, layout: Layout) -> *mut u8 {
        let size = layout.size();
        let block = if <C::Memory as Memory>::ZEROED {
            // SAFETY: forwarded from the caller.
            unsafe { self.alloc_inner::<true>(size, layout.align()) }
        } else {
            // SAFETY: forwarded from the caller.
            let block = unsafe { self.alloc_plain(size, layout.align()) };
            if !block.is_null() {
                // SAFETY: a non-null block is valid for `size` bytes.
                unsafe { ptr::write_bytes(block, 0, size) };
            }
            block
        };
        self.account(block, layout)
    }

    /// Records an allocation for `layout` that gave `block`.
    #[inline(always)]
    fn account(&mut self, block: *mut u8, layout: Layout) -> *mut u8 {
        if block.is_null() {
            self.stats.failed();
        } else {
            self.allocated(layout.size(), layout.align());
        }
        block
    }

    /// Records that a block for `size` and `align` was handed out.
    #[inline(always)]
    fn allocated(&mut self, size: usize, align: usize) {
        if <C::Stats as Record>::ON {
            self.stats.allocated(size, Self::capacity(size, align));
        }
    }

    /// Records that a block for `size` and `align` was given back.
    #[inline(always)]
    fn freed(&mut self, size: usize, align: usize) {
        if <C::Stats as Record>::ON {
            self.stats.freed(size, Self::capacity(size, align));
        }
    }

    /// A block for `size` bytes aligned to `align`; with `ZERO`, its first
    /// `size` bytes read as zero (the source hands over zeroed memory).
    ///
    /// # Safety
    ///
    /// `size` is not zero, and `size` rounded up to `align` is at most
    /// `isize::MAX` (a `Layout`'s).
    #[inline(always)]
    unsafe fn alloc_inner<const ZERO: bool>(&mut self, size: usize, align: usize) -> *mut u8 {
        let zero = if ZERO { size } else { 0 };
        let Some(i) = Self::bin(size, align) else {
            return C::Large::alloc(self, size, align, zero);
        };
        // SAFETY: `Config` promises `i < N`.
        let list = unsafe { self.bins.get_unchecked_mut(i) };
        let block = list.head();
        if block.is_null() {
            // A miss: carve a whole block of the bin.
            self.stats.miss(i);
            return C::Large::carve_bin(self, Self::bin_size(i), Self::bin_align(i), zero);
        }
        // SAFETY: the head, not null: by invariant 2 a free block of this
        // heap, aligned for a pointer, whose first word is a link.
        unsafe { list.pop(block) };
        self.stats.hit(i);
        if ZERO {
            // SAFETY: the block holds at least `BINS[i] >= size` bytes.
            unsafe { ptr::write_bytes(block, 0, size) };
        }
        block
    }

    /// Returns a block to its bin, or to the policy for large blocks.
    ///
    /// # Safety
    ///
    /// `block` was returned by this heap for `layout` (or by `realloc` with
    /// `layout.size()` as the new size), is not used afterwards, and has not
    /// been freed since.
    #[inline]
    pub unsafe fn dealloc(&mut self, block: *mut u8, layout: Layout) {
        self.freed(layout.size(), layout.align());
        // SAFETY: forwarded from the caller.
        unsafe { self.dealloc_inner(block, layout.size(), layout.align()) }
    }

    /// [`dealloc`](Self::dealloc) without the accounting: one function for
    /// `dealloc` and `realloc`, which the compiler inlines or not as one.
    ///
    /// # Safety
    ///
    /// As for [`dealloc`](Self::dealloc).
    #[inline]
    unsafe fn dealloc_inner(&mut self, block: *mut u8, size: usize, align: usize) {
        let Some(i) = Self::bin(size, align) else {
            // SAFETY: a block no bin serves came from the policy; the caller
            // gives it up.
            return unsafe { C::Large::free(self, block, size, align) };
        };
        let reclaimed = self.region.at(block.addr());
        // SAFETY: `Config` promises `i < N`.
        let list = unsafe { self.bins.get_unchecked_mut(i) };
        // SAFETY: the block was carved for this bin (or checked to fit it by
        // `realloc`): it holds `BINS[i]` bytes aligned for a pointer, and the
        // caller gives it up.
        unsafe { list.push(block, size, reclaimed) };
        self.stats.pushed(i);
    }

    /// Resizes a block, in place where the configuration and its policy
    /// allow, otherwise by moving it. Returns null (the old block untouched)
    /// when memory runs out.
    ///
    /// # Safety
    ///
    /// `block` is live and was allocated for `layout`; `new_size` is not zero
    /// and, rounded up to `layout.align()`, does not exceed `isize::MAX`.
    #[inline]
    pub unsafe fn realloc(&mut self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old_size, align) = (layout.size(), layout.align());
        if C::REALLOC_IN_PLACE {
            // SAFETY: forwarded from the caller.
            let in_place = unsafe { C::Large::resize(self, block, old_size, new_size, align) };
            if in_place {
                self.freed(old_size, align);
                self.allocated(new_size, align);
                // Handed out anew: with the heap's provenance, as in
                // `dealloc`.
                return self.region.at(block.addr());
            }
        }
        // SAFETY: the caller guarantees the new layout is valid.
        let new_block = unsafe { self.alloc_plain(new_size, align) };
        if new_block.is_null() {
            self.stats.failed();
        } else {
            // SAFETY: both blocks are valid for the bytes copied, and a new
            // block never overlaps a live one; the old block is the caller's
            // to give up.
            unsafe {
                ptr::copy_nonoverlapping(block, new_block, old_size.min(new_size));
                self.dealloc_inner(block, old_size, align);
            }
            self.freed(old_size, align);
            self.allocated(new_size, align);
        }
        new_block
    }

    /// Whether `block`, handed out for `old_size` and `align`, serves
    /// `new_size` where it is, by the rule for blocks without headers:
    /// within its capacity, a smaller or equal request never maps to a larger
    /// bin or class (and, unless the policy keeps shrunk blocks, it must map
    /// to the block's own); beyond it, the block grows to the full capacity
    /// of the new request's bin or class if it is the last block carved.
    /// Either way it may later be freed with the new size, so it must have
    /// the alignment that list needs (a block that keeps its capacity has
    /// it: that list is its own).
    ///
    /// The list a block of capacity `c` goes to needs `carve_align(c)`: a
    /// bin's own; for a large class, as much as its size allows (a pointer's
    /// at least, which is all the class's list needs: a request takes a
    /// block from it only when it is aligned enough); for a large block
    /// never reused it asks more than needed, which only makes the block
    /// move.
    #[inline(always)]
    fn resize_within(
        &mut self,
        block: *mut u8,
        old_size: usize,
        new_size: usize,
        align: usize,
    ) -> bool {
        let old_cap = Self::capacity(old_size, align);
        if !C::Large::KEEP_SHRUNK {
            // The new capacity is needed on every path here, so it is
            // computed once, first (a call when built for size). It is
            // above the old one exactly when the new size is, as capacities
            // are their own and never fall as the size grows (`class` gives
            // the smallest bin, and large classes tile the sizes).
            let new_cap = Self::capacity(new_size, align);
            // A block that keeps its capacity stays: it is then freed into
            // the list it was handed out for (bins ascend strictly, and
            // every large class is above the largest bin, so no two lists
            // share a capacity), whose alignment it has, so there is nothing
            // to test. One that would lose capacity moves.
            if new_cap == old_cap {
                return true;
            }
            return Self::aligned_for(block, new_cap)
                && new_cap > old_cap
                && self.extend_at_top(block, old_cap, new_cap);
        }
        Self::aligned_for(block, Self::capacity(new_size, align))
            && (new_size <= old_cap
                || self.extend_at_top(block, old_cap, Self::capacity(new_size, align)))
    }

    /// Whether `block` has the alignment that the list of blocks of
    /// capacity `cap` needs (`carve_align(cap)`; every block has it when
    /// every bin carves at `MAX_BIN_ALIGN`).
    #[inline(always)]
    fn aligned_for(block: *mut u8, cap: usize) -> bool {
        Self::ALL_ALIGNED || block.addr().is_multiple_of(carve_align(cap))
    }

    /// Forgets every block and every region, and resets the memory source
    /// and the statistics.
    pub fn reset(&mut self) {
        let region = &self.region;
        let used = region.fresh.used(region.top.addr(), region.end);
        self.region.memory.reset_used(used);
        let memory = core::mem::replace(&mut self.region.memory, <C::Memory as Memory>::INIT);
        *self = Self::NEW;
        self.region.memory = memory;
    }
}
