//! The allocation algorithm: segregated bins with LIFO free lists, and a bump
//! pointer for everything else.
//!
//! The algorithm is written once, here, and monomorphised for each type the
//! `#[lite_alloc]` attribute generates: the attribute supplies a [`Config`]
//! (bin sizes, growth step, memory source, lock, statistics, and a
//! size-to-bin lookup specialised for those bins) and one static [`Global`]
//! holding the state.
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
//!   [`MAX_BIN_ALIGN`], are "large". As in the documented design they are
//!   carved at their exact size and never reused, unless the configuration
//!   has large classes (`large = reuse`, `L > 0`): then a large block is
//!   carved at the full size of its class (four classes per power of two,
//!   see [`large_class`]), a freed one goes into its class's free list, or
//!   back to the bump pointer when it is the last block carved.
//! * With [`Config::COALESCE`] (`large = coalesce`), large blocks are chunks
//!   with boundary tags instead, split to the size asked for and merged with
//!   their free neighbours when freed, and bin blocks are carved from slabs
//!   that are themselves chunks: see the `chunks` module for its layout and
//!   invariants 6 and 7. With no bins at all (`bins = []`, `N` = 0, only
//!   with `large = coalesce`), every block is a chunk.
//!
//! # Invariants
//!
//! 1. `top.addr() <= end`, and `[top, end)` lies inside the current region,
//!    which this heap obtained from its memory source and nothing else uses.
//! 2. Every block in the list of bin `i` is at least `BINS[i]` bytes, aligned
//!    to [`carve_align`]`(BINS[i])`, inside memory this heap obtained, and not
//!    handed out. Every block in the list of large class `c` is at least the
//!    class's size, aligned for a pointer, likewise.
//! 3. `class(size, align)` only names bins that fit `size` and `align`, so a
//!    block is always pushed to a list whose size it has.
//! 4. Every pointer the heap keeps or hands out (`top`, list heads and links,
//!    blocks) is derived from a region's pointer, never from a caller's: a
//!    caller's pointer may only cover part of its block.
//! 5. With large classes, every byte of `[fresh, end)` is as the memory
//!    source handed it over (zero, for a source that promises
//!    [`Memory::ZEROED`]), and `top <= fresh`; without them, `top` plays the
//!    part of `fresh`, since nothing is ever given back to the bump pointer.

mod class;
mod config;
mod global;
mod large;
mod list;
mod region;

pub use class::{carve_align, large_class, large_classes, min_carve_align};
pub use config::{Config, MAX_BIN, MAX_BIN_ALIGN, MAX_PAGE};
pub use global::Global;
pub use large::chunks::chunk_lists;

use core::alloc::Layout;
use core::ptr::{self, null_mut};

use crate::memory::Memory;
use crate::stats::Record;
use large::chunks;

/// The mutable state of one allocator type.
pub struct Heap<C: Config<N, L>, const N: usize, const L: usize> {
    /// Head of each bin's free list (null when empty).
    bins: [*mut u8; N],
    /// Head of each large class's free list (no lists when `L` is 0).
    large: [*mut u8; L],
    /// With `large = coalesce`: which lists hold a chunk (a bit each).
    map: [usize; 4],
    /// With `large = coalesce`: where bins carve next, and the end of that
    /// slab (null and 0 before the first).
    slab: *mut u8,
    slab_end: usize,
    /// The next unused byte of the current region. Its provenance is the
    /// region's, so blocks are derived from it.
    top: *mut u8,
    /// One past the last byte of the current region (0 before the first).
    end: usize,
    /// With large classes: where the memory never handed out begins
    /// (invariant 5). Unused without them.
    fresh: usize,
    /// With `growth = 1/N`: the bytes obtained from the memory source so
    /// far. Unused without it.
    obtained: usize,
    /// The memory source.
    memory: C::Memory,
    /// What the heap has done, if the type keeps statistics.
    stats: C::Stats,
}

impl<C: Config<N, L>, const N: usize, const L: usize> Heap<C, N, L> {
    /// A heap that has obtained no memory yet.
    pub const NEW: Self = Self {
        bins: [null_mut(); N],
        large: [null_mut(); L],
        map: [0; 4],
        slab: null_mut(),
        slab_end: 0,
        top: null_mut(),
        end: 0,
        fresh: 0,
        obtained: 0,
        memory: <C::Memory as Memory>::INIT,
        stats: <C::Stats as Record>::INIT,
    };

    /// The largest bin's size (0 without bins, with `large = coalesce`).
    const LARGEST: usize = if N == 0 { 0 } else { C::BINS[N - 1] };

    /// Whether freed large blocks are reused (`large = reuse` or
    /// `coalesce`).
    const REUSE: bool = L > 0;

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
        if Self::ALL_ALIGNED {
            MAX_BIN_ALIGN
        } else {
            // SAFETY: `Config` promises `i < N` for every bin it names.
            carve_align(unsafe { *C::BINS.get_unchecked(i) })
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

    /// The large class of a request no bin serves (with large classes): its
    /// index and size. Small over-aligned requests count as just above the
    /// largest bin.
    #[inline(always)]
    fn large(size: usize) -> (usize, usize) {
        let size = if size > Self::LARGEST {
            size
        } else {
            Self::LARGEST + 1
        };
        large_class(size, Self::LARGEST)
    }

    /// The capacity of the block serving a request: its bin's size, its
    /// large class's size, or (large blocks never reused) its own size.
    #[inline(never)]
    fn capacity(size: usize, align: usize) -> usize {
        match Self::bin(size, align) {
            Some(i) => Self::bin_size(i),
            None if C::COALESCE => chunks::chunk_size(size),
            None if Self::REUSE => Self::large(size).1,
            None => size,
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
        let Some(i) = Self::bin(size, align) else {
            return self.alloc_large(size, align, if ZERO { size } else { 0 });
        };
        // SAFETY: `Config` promises `i < N`.
        let head = unsafe { self.bins.get_unchecked_mut(i) };
        let block = *head;
        if block.is_null() {
            // A miss: carve a whole block of the bin.
            self.stats.miss(i);
            let zero = if ZERO { size } else { 0 };
            if C::COALESCE {
                return self.slab_carve(Self::bin_size(i), Self::bin_align(i), zero);
            }
            return self.bump(Self::bin_size(i), Self::bin_align(i), zero);
        }
        // SAFETY: by invariant 2 `block` is a free block of this heap,
        // aligned for a pointer, whose first word `dealloc` set to the next
        // free block.
        *head = unsafe { block.cast::<*mut u8>().read() };
        self.stats.hit(i);
        if ZERO {
            // SAFETY: the block holds at least `BINS[i] >= size` bytes.
            unsafe { ptr::write_bytes(block, 0, size) };
        }
        block
    }

    /// A large block; its first `zero` bytes cleared where they may have
    /// been used before.
    #[inline(always)]
    fn alloc_large(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
        if C::COALESCE {
            // Chunks align their payloads to `GRAIN`, and more only when asked.
            return self.alloc_chunk(size, align, zero);
        }
        let align = if align > MAX_BIN_ALIGN {
            align
        } else {
            MAX_BIN_ALIGN
        };
        if Self::REUSE {
            self.alloc_reused(size, align, zero)
        } else {
            self.bump(size, align, zero)
        }
    }

    /// A large block as a chunk (with `large = coalesce`).
    #[inline(never)]
    fn alloc_chunk(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
        if align > chunks::GRAIN {
            self.chunk_alloc_aligned(size, align, zero)
        } else {
            self.chunk_alloc(chunks::chunk_size(size), zero)
        }
    }

    /// Returns a block to its bin or its large class, or (large blocks never
    /// reused) leaks it.
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
        match Self::bin(size, align) {
            Some(i) => {
                // SAFETY: `Config` promises `i < N`.
                let head = unsafe { self.bins.get_unchecked_mut(i) };
                // SAFETY: the block was carved for this bin (or checked to
                // fit it by `realloc`): it holds `BINS[i]` bytes aligned for
                // a pointer, and the caller gives it up.
                unsafe { Self::push(head, block, size, self.top) };
                self.stats.pushed(i);
            }
            // SAFETY: a large block is a chunk in use with `large =
            // coalesce`, which the caller gives up.
            None if C::COALESCE => unsafe { self.chunk_free(self.reclaim(block), (block, size)) },
            None if Self::REUSE => self.free_large(block, size),
            None => self.stats.leaked(size),
        }
    }

    /// Resizes a block, in place where the configuration allows, otherwise by
    /// moving it. Returns null (the old block untouched) when memory runs out.
    ///
    /// # Safety
    ///
    /// `block` is live and was allocated for `layout`; `new_size` is not zero
    /// and, rounded up to `layout.align()`, does not exceed `isize::MAX`.
    #[inline]
    pub unsafe fn realloc(&mut self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old_size, align) = (layout.size(), layout.align());
        if C::REALLOC_IN_PLACE {
            // Within the block's capacity, the block serves as it is: a
            // smaller or equal request never maps to a larger bin or class.
            // Beyond it, the block grows to the full capacity of the new
            // request's bin or class (it may later be freed into it), if it
            // is the last block carved. Either way it may later be freed with
            // the new size, so it must have the alignment that list needs.
            //
            // The list a block of capacity `c` goes to needs
            // `carve_align(c)`: a bin's own, and `MAX_BIN_ALIGN` for a large
            // class (their sizes are multiples of 32); for a large block
            // never reused it asks more than needed, which only makes the
            // block move.
            //
            // With `large = coalesce`, a chunk resizes in place (shrinking
            // frees its tail, growing takes its free neighbour or the unused
            // memory), unless it would become a bin block: then it moves.
            // Bin blocks lie in slabs and never grow at the top.
            let in_place = if C::COALESCE && Self::bin(old_size, align).is_none() {
                // SAFETY: a large block aligned to at most `GRAIN` is the
                // payload of a chunk in use, the caller's (over-aligned ones,
                // inside a larger chunk, move).
                align <= chunks::GRAIN
                    && Self::bin(new_size, align).is_none()
                    && unsafe { self.chunk_resize(self.reclaim(block), new_size) }
            } else {
                let old_cap = Self::capacity(old_size, align);
                let aligned = Self::ALL_ALIGNED
                    || block
                        .addr()
                        .is_multiple_of(carve_align(Self::capacity(new_size, align)));
                aligned
                    && (new_size <= old_cap
                        || (!C::COALESCE
                            && self.grow_at_top(block, old_cap, Self::capacity(new_size, align))))
            };
            if in_place {
                self.freed(old_size, align);
                self.allocated(new_size, align);
                // Handed out anew: with the heap's provenance, as in `dealloc`.
                return self.reclaim(block);
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

    /// `block` with the provenance of the heap's own memory. Every region
    /// lies in one allocated object (the `Memory` contract), and `top` was
    /// derived from one of them.
    #[inline(always)]
    fn reclaim(&self, block: *mut u8) -> *mut u8 {
        self.top.with_addr(block.addr())
    }

    /// Forgets every block and every region, and resets the memory source
    /// and the statistics.
    pub fn reset(&mut self) {
        self.memory.reset();
        self.bins = [null_mut(); N];
        self.large = [null_mut(); L];
        self.map = [0; 4];
        self.slab = null_mut();
        self.slab_end = 0;
        self.top = null_mut();
        self.end = 0;
        self.fresh = 0;
        self.obtained = 0;
        self.stats = <C::Stats as Record>::INIT;
    }
}
