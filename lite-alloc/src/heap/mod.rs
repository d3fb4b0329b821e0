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

mod chunks;

pub use chunks::chunk_lists;

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::{self, null_mut};

use crate::memory::Memory;
use crate::stats::{Counters, Record, Stats};
use crate::sync::Lock;

/// The largest alignment a bin block guarantees; requests aligned to more are
/// large (see the [module documentation](self)).
pub const MAX_BIN_ALIGN: usize = 16;

/// The largest bin size: a quarter of the address space (1 GiB on wasm32).
///
/// With bins and growth steps this small, the heap's sums of a padding, a
/// size and a page can never overflow (see `Heap::grow`).
pub const MAX_BIN: usize = 1 << (usize::BITS - 2);

/// The largest `page`: a quarter of the address space (1 GiB on wasm32).
pub const MAX_PAGE: usize = 1 << (usize::BITS - 2);

/// What the attribute generates for one allocator type: `N` bins (none only
/// with `large = coalesce`), and `L` large free lists (0: large blocks are
/// never reused, as in the documented design;
/// [`large_classes`]`(BINS[N - 1])`: `large = reuse`; [`chunk_lists()`]:
/// `large = coalesce`).
///
/// # Safety
///
/// The heap trusts these items for memory safety:
/// * `N >= 1`, or `N == 0` with `COALESCE`; `BINS` is strictly ascending
///   and every size is at least `size_of::<*mut u8>()` and at most
///   [`MAX_BIN`];
/// * `PAGE` is at least 1 and at most [`MAX_PAGE`];
/// * `L` is 0 or `large_classes(BINS[N - 1])` without `COALESCE`, and
///   `chunk_lists()` with it;
/// * for `align <= MAX_BIN_ALIGN`, `class(size, align)` returns an `i < N`
///   only if `BINS[i] >= size` and `carve_align(BINS[i]) >= align`, and it
///   gives the same answer every time for the same arguments.
///
/// The attribute checks the bounds with `const` assertions on the target, and
/// the heap checks them again when it is monomorphised.
pub unsafe trait Config<const N: usize, const L: usize>: 'static {
    /// Block sizes of the bins, strictly ascending.
    const BINS: [usize; N];
    /// Bytes asked of the memory source at a time (rounded up to).
    const PAGE: usize;
    /// Whether `realloc` shrinks in place and grows in place at the heap top.
    const REALLOC_IN_PLACE: bool;
    /// `large = coalesce`: large blocks are chunks with boundary tags, split
    /// and merged (see `chunks`), and `L` is [`chunk_lists()`]; bins carve
    /// from slabs.
    const COALESCE: bool;
    /// `N` of `growth = 1/N`: memory grows by at least `1/N` of what the
    /// heap has obtained so far (and never less than a request needs); 0:
    /// by what the request needs, in `PAGE`s (the documented design).
    const GROWTH: usize;
    /// Where memory comes from.
    type Memory: Memory;
    /// How calls from several threads are kept apart.
    type Lock: Lock;
    /// Where statistics go: [`NoStats`](crate::stats::NoStats) (none, and
    /// no code) or [`Counters`].
    type Stats: Record;
    /// The bin serving a request of `size` bytes aligned to `align`
    /// (`align <= MAX_BIN_ALIGN`), or `N` (or more) when no bin can. A plain
    /// index rather than an `Option`, which wasm32 would return through
    /// memory when the lookup is not inlined.
    fn class(size: usize, align: usize) -> usize;
}

/// The alignment at which blocks of a bin of `size` bytes are carved: the
/// largest power of two dividing `size`, capped at [`MAX_BIN_ALIGN`], and never
/// less than a pointer's alignment (a free block holds a pointer).
pub const fn carve_align(size: usize) -> usize {
    let lowest_bit = size & size.wrapping_neg();
    let align = if lowest_bit > MAX_BIN_ALIGN || lowest_bit == 0 {
        MAX_BIN_ALIGN
    } else {
        lowest_bit
    };
    let pointer = align_of::<*mut u8>();
    if align < pointer { pointer } else { align }
}

/// The smallest [`carve_align`] of `bins`: every bin serves requests aligned
/// to at most this.
pub const fn min_carve_align(bins: &[usize]) -> usize {
    let mut min = MAX_BIN_ALIGN;
    let mut i = 0;
    while i < bins.len() {
        let align = carve_align(bins[i]);
        if align < min {
            min = align;
        }
        i += 1;
    }
    min
}

/// The number of large classes above a largest bin of `largest` bytes:
/// four for each power of two from the one below `largest` to the top of
/// the address space.
pub const fn large_classes(largest: usize) -> usize {
    4 * (usize::BITS - log2(largest)) as usize
}

/// The base-2 logarithm of `x` (at least 1), rounded down. Unlike
/// `usize::ilog2`, it has no panic path, which allocator code must not have.
#[inline(always)]
const fn log2(x: usize) -> u32 {
    usize::BITS - 1 - x.leading_zeros()
}

/// The large class serving `size` bytes, above a largest bin of `largest`
/// bytes (`largest < size <= isize::MAX + 1`): its index, below
/// [`large_classes`]`(largest)`, and its size.
///
/// Sizes round up to `m << k` with `m` in `5..=8`: four classes per power of
/// two, so a block is less than a quarter larger than its request.
///
/// ```text
///   request   129..=160  161..=192  193..=224  225..=256  257..=320 ...
///   class        160        192        224        256        320
/// ```
#[inline(always)]
pub const fn large_class(size: usize, largest: usize) -> (usize, usize) {
    // `size - 1 >= largest >= 4`, so `e >= 2` and `e >= log2(largest)`.
    let s = size - 1;
    let e = log2(s);
    let shift = e - 2;
    // The top three bits of `s`: 4..=7.
    let m = s >> shift;
    let index = ((e - log2(largest)) as usize) * 4 + (m - 4);
    // At most `8 << (BITS - 4) = 2^(BITS - 1)`: no overflow.
    (index, (m + 1) << shift)
}

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

    /// The bounds the arithmetic relies on, checked when the heap is
    /// monomorphised (the attribute also checks them, with better messages).
    const BOUNDS: () = {
        assert!(N >= 1 || C::COALESCE, "no bins, and no chunks");
        assert!(C::PAGE >= 1 && C::PAGE <= MAX_PAGE, "page out of range");
        let granule = <C::Memory as Memory>::GRANULE;
        assert!(
            granule.is_power_of_two() && granule <= MAX_PAGE,
            "granule out of range"
        );
        let mut i = 0;
        while i < N {
            assert!(C::BINS[i] <= MAX_BIN, "bin too large");
            assert!(C::BINS[i] >= size_of::<*mut u8>(), "bin too small");
            assert!(i == 0 || C::BINS[i - 1] < C::BINS[i], "bins not ascending");
            i += 1;
        }
        assert!(
            L == 0
                || L == if C::COALESCE {
                    chunk_lists()
                } else {
                    large_classes(C::BINS[N - 1])
                },
            "wrong number of large classes"
        );
        assert!(!C::COALESCE || L > 0, "coalescing needs its lists");
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

    /// A large block from its class's free list, else carved at the class's
    /// size (with large classes).
    #[inline(never)]
    fn alloc_reused(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
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
                let heap = self.reclaim(block);
                // SAFETY: `Config` promises `i < N`.
                let head = unsafe { self.bins.get_unchecked_mut(i) };
                // SAFETY: the block was carved for this bin (or checked to
                // fit it by `realloc`): it holds `BINS[i]` bytes aligned for
                // a pointer, and the caller gives it up.
                unsafe { Self::push(head, block, size, heap) };
                self.stats.pushed(i);
            }
            // SAFETY: a large block is a chunk in use with `large =
            // coalesce`, which the caller gives up.
            None if C::COALESCE => unsafe { self.chunk_free(self.reclaim(block), (block, size)) },
            None if Self::REUSE => self.free_large(block, size),
            None => self.stats.leaked(size),
        }
    }

    /// Puts `block` at the head of the list `head`, with the heap's
    /// provenance (taken from `heap`, the region's pointer).
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap, at least a pointer in size and
    /// aligned for one, that belongs in this list; the caller's pointer to it
    /// covers `size` bytes.
    #[inline(always)]
    unsafe fn push(head: &mut *mut u8, block: *mut u8, size: usize, heap: *mut u8) {
        // The list keeps a pointer with the heap's own provenance: the
        // caller's may be narrower than the block, which will be handed out
        // whole (invariant 4).
        let reclaimed = heap.with_addr(block.addr());
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

    /// Frees a large block (with large classes): back to the bump pointer
    /// when it is the last block carved, else into its class's list.
    #[inline(never)]
    fn free_large(&mut self, block: *mut u8, size: usize) {
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
        let heap = self.reclaim(block);
        // SAFETY: `large` gives an index below `L` (`Config`).
        let head = unsafe { self.large.get_unchecked_mut(class) };
        // SAFETY: the block holds its class's size (more than a pointer) and
        // was carved aligned to `MAX_BIN_ALIGN` (or checked to be by
        // `realloc`); the caller gives it up.
        unsafe { Self::push(head, block, size, heap) };
        self.stats.large_pushed(capacity);
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

    /// `block` with the provenance of the heap's own memory: of the region
    /// holding it, which the memory source finds (`top` was derived from the
    /// latest region).
    #[inline(always)]
    fn reclaim(&self, block: *mut u8) -> *mut u8 {
        self.memory.provenance(self.top, block.addr())
    }

    /// Lets the block `[block, block + old_cap)` grow to `new_cap` bytes
    /// (`new_cap > old_cap`) when it is the last block carved: the bytes
    /// after it are carved from the bump pointer.
    ///
    /// When the memory source has to be asked and its new region does not
    /// continue the current one, those bytes are carved there instead, the
    /// growth fails, and they are lost (only when other code grew memory in
    /// between, and at most `new_cap - old_cap` bytes).
    #[inline]
    fn grow_at_top(&mut self, block: *mut u8, old_cap: usize, new_cap: usize) -> bool {
        // No overflow: the block lies in memory the heap obtained.
        let old_end = block.addr() + old_cap;
        old_end == self.top.addr() && self.bump(new_cap - old_cap, 1, 0).addr() == old_end
    }

    /// Carves `size` bytes aligned to `align` from the current region,
    /// obtaining more memory when it is too small; null when there is none.
    /// The block's first `zero` bytes (`zero <= size`) read as zero: they are
    /// cleared where they may have been handed out before (only with large
    /// classes, whose blocks can go back to the bump pointer).
    ///
    /// `size + align - 1` is less than `isize::MAX + isize::MAX / 4`: a
    /// `Layout` bounds its size rounded up to its alignment by `isize::MAX`,
    /// bins are at most [`MAX_BIN`], large blocks align to at least
    /// `MAX_BIN_ALIGN`, and a large class is less than a quarter larger than
    /// its request.
    ///
    /// Not inlined: every bin miss, every large block and in-place growth
    /// share one copy, and `alloc` keeps only a lookup and a pop, small
    /// enough to be inlined into its callers even when optimising for size.
    /// Cold, so that callers lay out the free-list hit as their straight
    /// path.
    #[cold]
    #[inline(never)]
    fn bump(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
        loop {
            // The padding that aligns `top`, then the block: no overflow, by
            // the bound above.
            let span = (self.top.addr().wrapping_neg() & (align - 1)) + size;
            // By invariant 1, `top <= end`: no overflow. With `large =
            // coalesce`, a word at the end stays free for a fence.
            let room = if C::COALESCE {
                (self.end - self.top.addr()).saturating_sub(chunks::WORD)
            } else {
                self.end - self.top.addr()
            };
            if span <= room {
                // The padding and the block lie in `[top, end)`, inside the
                // current region, whose provenance `top` carries.
                self.top = self.top.wrapping_add(span);
                let block = self.top.wrapping_sub(size);
                self.stats.bumped(span);
                if Self::REUSE {
                    if zero != 0 && block.addr() < self.fresh {
                        // Part of the block was handed out before.
                        let used = (self.fresh - block.addr()).min(zero);
                        // SAFETY: the block was just carved and holds `size
                        // >= zero >= used` bytes.
                        unsafe { ptr::write_bytes(block, 0, used) };
                    }
                    self.fresh = self.fresh.max(self.top.addr());
                }
                return block;
            }
            if !self.grow(span - room) {
                return null_mut();
            }
        }
    }

    /// Obtains at least `missing` more bytes (with `growth = 1/N`, at least
    /// `1/N` of what it has obtained so far): a whole number of `PAGE`s when
    /// the memory source has them, otherwise just what is missing, in whole
    /// granules. A region that continues the current one extends it; one
    /// elsewhere replaces it (the current region's unused tail is abandoned,
    /// and the next `bump` starts afresh there). A source may hand over less
    /// than asked (memory it already had): `bump` then asks again. False when
    /// the source has nothing more.
    ///
    /// No overflow: `missing` is less than `isize::MAX + isize::MAX / 4`
    /// (see `bump`), the growth step is at most `MAX_PAGE`, and `PAGE` and
    /// the granule are at most a quarter of the address space (`BOUNDS`).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, missing: usize) -> bool {
        let () = Self::BOUNDS;
        let granule = <C::Memory as Memory>::GRANULE;
        // With `growth = 1/N`, at least `obtained / N` (`GROWTH` is 0
        // without it: no step).
        let wanted = match self.obtained.checked_div(C::GROWTH) {
            Some(step) => missing.max(step.min(MAX_PAGE)),
            None => missing,
        };
        // Not `div_ceil`, which guards against an overflow that cannot happen
        // here, and costs code.
        #[allow(clippy::manual_div_ceil)]
        let mut bytes = (wanted + (C::PAGE - 1)) / C::PAGE * C::PAGE;
        let region = loop {
            if let Some(region) = self.memory.grow(bytes) {
                break region;
            }
            // A smaller request may still be granted (the end of an arena,
            // the last pages below a wasm memory's maximum): just what is
            // missing, in whole granules. Compiled away when it cannot be
            // smaller.
            if C::PAGE <= granule && C::GROWTH == 0 {
                return false;
            }
            let smaller = (missing + (granule - 1)) & !(granule - 1);
            if smaller >= bytes {
                return false;
            }
            bytes = smaller;
        };
        let (start, len) = (region.cast::<u8>().as_ptr(), region.len());
        let Some(end) = start.addr().checked_add(len) else {
            // A region that ends at the very top of the address space (the
            // last wasm page below 4 GiB): give it up rather than wrap.
            return false;
        };
        self.stats.obtained(len);
        if C::GROWTH > 0 {
            // No overflow: the regions do not overlap, and none passes the
            // top of the address space.
            self.obtained += len;
        }
        if start.addr() != self.end {
            if C::COALESCE {
                // The region before ends with a fence (a word kept free for
                // it), so that its last chunk never looks past it; the new
                // one starts where a chunk's payload is `GRAIN`-aligned.
                if self.end != 0 {
                    // SAFETY: `top` is this heap's, with a word of room.
                    unsafe { self.top.cast::<usize>().write(1) };
                }
                let skip =
                    start.addr().wrapping_neg().wrapping_sub(chunks::WORD) & (chunks::GRAIN - 1);
                if len < skip + chunks::MIN_CHUNK {
                    return false;
                }
                self.top = start.wrapping_add(skip);
            } else {
                self.top = start;
            }
            if Self::REUSE {
                self.fresh = self.top.addr();
            }
        }
        self.end = end;
        true
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

/// The static that holds one allocator type's state, behind its lock.
pub struct Global<C: Config<N, L>, const N: usize, const L: usize> {
    lock: C::Lock,
    heap: UnsafeCell<Heap<C, N, L>>,
}

// SAFETY: the heap is only reached through `Lock::with`, which by the `Lock`
// contract never runs two closures at once, so no two threads touch the heap
// (or the memory source inside it) at the same time.
unsafe impl<C: Config<N, L>, const N: usize, const L: usize> Sync for Global<C, N, L> {}

impl<C: Config<N, L>, const N: usize, const L: usize> Global<C, N, L> {
    /// An allocator that has obtained no memory yet.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self {
            lock: <C::Lock as Lock>::NEW,
            heap: UnsafeCell::new(Heap::NEW),
        }
    }

    /// Runs `f` on the heap while holding the lock.
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut Heap<C, N, L>) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: the lock is held, so this is the only reference to the
            // heap; the heap code never calls back into the allocator.
            f(unsafe { &mut *self.heap.get() })
        })
    }

    /// [`GlobalAlloc::alloc`](core::alloc::GlobalAlloc::alloc).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::alloc`: `layout.size()` is not zero.
    #[inline]
    pub unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        self.with(|heap| unsafe { heap.alloc(layout) })
    }

    /// [`GlobalAlloc::alloc_zeroed`](core::alloc::GlobalAlloc::alloc_zeroed).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::alloc_zeroed`: `layout.size()` is not zero.
    #[inline]
    pub unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        self.with(|heap| unsafe { heap.alloc_zeroed(layout) })
    }

    /// [`GlobalAlloc::dealloc`](core::alloc::GlobalAlloc::dealloc).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::dealloc`: `block` was allocated by this allocator
    /// with `layout` and is not used afterwards.
    #[inline]
    pub unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        self.with(|heap| unsafe { heap.dealloc(block, layout) })
    }

    /// [`GlobalAlloc::realloc`](core::alloc::GlobalAlloc::realloc).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::realloc`: `block` was allocated by this allocator
    /// with `layout`; `new_size` is not zero and, rounded up to
    /// `layout.align()`, does not exceed `isize::MAX`.
    #[inline]
    pub unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        self.with(|heap| unsafe { heap.realloc(block, layout, new_size) })
    }

    /// Forgets every block and resets the memory source.
    ///
    /// # Safety
    ///
    /// No block this allocator handed out is used afterwards (they may be
    /// handed out again), and this allocator is not the global allocator of a
    /// program that still holds allocations.
    pub unsafe fn reset(&self) {
        self.with(Heap::reset)
    }

    /// Runs `f` on the memory source while holding the lock (to hand it
    /// memory at run time: `memory = claimed`).
    ///
    /// # Safety
    ///
    /// `f` does not use this allocator: the locks of single-threaded wasm
    /// and of `critical-section` let a nested call in, which would reach
    /// the heap while `f` holds its memory source.
    pub unsafe fn memory<R>(&self, f: impl FnOnce(&mut C::Memory) -> R) -> R {
        self.with(|heap| f(&mut heap.memory))
    }
}

impl<C, const N: usize, const L: usize> Global<C, N, L>
where
    C: Config<N, L, Stats = Counters<N>>,
{
    /// What the allocator has done so far (`#[lite_alloc(stats)]`).
    pub fn stats(&self) -> Stats {
        self.with(|heap| heap.stats.snapshot(&C::BINS))
    }
}
