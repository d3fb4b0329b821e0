//! The allocation algorithm: segregated bins with LIFO free lists, and a bump
//! pointer for everything else.
//!
//! The algorithm is written once, here, and monomorphised for each type the
//! `#[lite_alloc]` attribute generates: the attribute supplies a [`Config`]
//! (bin sizes, growth step, memory source, lock, and a size-to-bin lookup
//! specialised for those bins) and one static [`Global`] holding the state.
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
//!   same bin (null at the end of the list); there are no headers.
//! * Blocks larger than the largest bin, and blocks aligned to more than
//!   [`MAX_BIN_ALIGN`], are carved at their exact size and are never reused.
//!
//! # Invariants
//!
//! 1. `top.addr() <= end`, and `[top, end)` lies inside the current region,
//!    which this heap obtained from its memory source and nothing else uses.
//! 2. Every block in the list of bin `i` is at least `BINS[i]` bytes, aligned
//!    to [`carve_align`]`(BINS[i])`, inside memory this heap obtained, and not
//!    handed out.
//! 3. `class(size, align)` only names bins that fit `size` and `align`, so a
//!    block is always pushed to a list whose size it has.
//! 4. Every pointer the heap keeps or hands out (`top`, list heads and links,
//!    blocks) is derived from a region's pointer, never from a caller's: a
//!    caller's pointer may only cover part of its block.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::{self, null_mut};

use crate::memory::Memory;
use crate::sync::Lock;

/// The largest alignment a bin block guarantees; requests aligned to more are
/// served by the bump pointer and never reused (as in the documented design).
pub const MAX_BIN_ALIGN: usize = 16;

/// What the attribute generates for one allocator type.
///
/// # Safety
///
/// The heap trusts these items for memory safety:
/// * `BINS` is strictly ascending and every size is at least
///   `size_of::<*mut u8>()` and at most [`MAX_BIN`];
/// * `PAGE` is at least 1 and at most [`MAX_PAGE`];
/// * for `align <= MAX_BIN_ALIGN`, `class(size, align)` returns `Some(i)` only
///   if `i < N`, `BINS[i] >= size` and `carve_align(BINS[i]) >= align`, and it
///   gives the same answer every time for the same arguments.
///
/// The attribute checks the bounds with `const` assertions on the target.
pub unsafe trait Config<const N: usize>: 'static {
    /// Block sizes of the bins, strictly ascending.
    const BINS: [usize; N];
    /// Bytes asked of the memory source at a time (rounded up to).
    const PAGE: usize;
    /// Whether `realloc` shrinks in place and grows in place at the heap top.
    const REALLOC_IN_PLACE: bool;
    /// Where memory comes from.
    type Memory: Memory;
    /// How calls from several threads are kept apart.
    type Lock: Lock;
    /// The bin serving a request of `size` bytes aligned to `align`
    /// (`align <= MAX_BIN_ALIGN`), or `None` when no bin can.
    fn class(size: usize, align: usize) -> Option<usize>;
}

/// The largest bin size: a quarter of the address space (1 GiB on wasm32).
///
/// With bins and growth steps this small, the heap's sums of a padding, a
/// size and a page can never overflow (see [`Heap::grow`]).
pub const MAX_BIN: usize = 1 << (usize::BITS - 2);

/// The largest `page`: a quarter of the address space (1 GiB on wasm32).
pub const MAX_PAGE: usize = 1 << (usize::BITS - 2);

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

/// The mutable state of one allocator type.
pub struct Heap<C: Config<N>, const N: usize> {
    /// Head of each bin's free list (null when empty).
    bins: [*mut u8; N],
    /// The next unused byte of the current region. Its provenance is the
    /// region's, so blocks are derived from it.
    top: *mut u8,
    /// One past the last byte of the current region (0 before the first).
    end: usize,
    /// The memory source.
    memory: C::Memory,
}

impl<C: Config<N>, const N: usize> Heap<C, N> {
    /// A heap that has obtained no memory yet.
    pub const NEW: Self = Self {
        bins: [null_mut(); N],
        top: null_mut(),
        end: 0,
        memory: <C::Memory as Memory>::INIT,
    };

    /// Whether every bin carves at the same alignment. Then every block the
    /// heap hands out is aligned for every bin (large blocks are carved at
    /// `MAX_BIN_ALIGN`), and in-place `realloc` needs no alignment check.
    const UNIFORM_ALIGN: bool = {
        let mut i = 1;
        let mut uniform = true;
        while i < N {
            uniform &= carve_align(C::BINS[i]) == carve_align(C::BINS[0]);
            i += 1;
        }
        uniform
    };

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
        assert!(C::PAGE >= 1 && C::PAGE <= MAX_PAGE, "page out of range");
        let granule = <C::Memory as Memory>::GRANULE;
        assert!(
            granule.is_power_of_two() && granule <= MAX_PAGE,
            "granule out of range"
        );
        let mut i = 0;
        while i < N {
            assert!(C::BINS[i] <= MAX_BIN, "bin too large");
            i += 1;
        }
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
        if Self::UNIFORM_ALIGN {
            carve_align(C::BINS[0])
        } else {
            // SAFETY: `Config` promises `i < N` for every bin it names.
            carve_align(unsafe { *C::BINS.get_unchecked(i) })
        }
    }

    /// The capacity of the block serving a request: its bin's size, or the
    /// request's own size when no bin serves it.
    #[inline(never)]
    fn capacity(size: usize, align: usize) -> usize {
        if align <= MAX_BIN_ALIGN
            && let Some(i) = C::class(size, align)
        {
            return Self::bin_size(i);
        }
        size
    }

    /// Whether `block` may be pushed, once freed with `size` and `align`, to
    /// the list of the bin that serves them: it has that bin's alignment.
    #[inline(always)]
    fn aligned_for(block: *mut u8, size: usize, align: usize) -> bool {
        if Self::UNIFORM_ALIGN || align > MAX_BIN_ALIGN {
            return true;
        }
        match C::class(size, align) {
            Some(i) => block.addr().is_multiple_of(Self::bin_align(i)),
            None => true,
        }
    }

    /// Allocates a block for `layout`, or returns null when memory runs out.
    ///
    /// # Safety
    ///
    /// `layout.size()` is not zero.
    #[inline]
    pub unsafe fn alloc(&mut self, layout: Layout) -> *mut u8 {
        let (size, mut align) = (layout.size(), layout.align());
        if align <= MAX_BIN_ALIGN {
            match C::class(size, align) {
                Some(i) => {
                    // SAFETY: `Config` promises `i < N`.
                    let head = unsafe { self.bins.get_unchecked_mut(i) };
                    let block = *head;
                    if block.is_null() {
                        // A miss: carve a whole block of the bin.
                        return self.bump(Self::bin_size(i), Self::bin_align(i));
                    }
                    // SAFETY: by invariant 2 `block` is a free block of
                    // this heap, aligned for a pointer, whose first word
                    // `dealloc` set to the next free block.
                    *head = unsafe { block.cast::<*mut u8>().read() };
                    return block;
                }
                // Larger than every bin: carved at its size, never reused.
                None => align = MAX_BIN_ALIGN,
            }
        }
        self.bump(size, align)
    }

    /// Like [`alloc`](Self::alloc), with the block's first `layout.size()`
    /// bytes set to zero.
    ///
    /// # Safety
    ///
    /// As for [`alloc`](Self::alloc).
    #[inline]
    pub unsafe fn alloc_zeroed(&mut self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        let block = unsafe { self.alloc(layout) };
        if !block.is_null() {
            // SAFETY: a non-null block is valid for `layout.size()` bytes.
            unsafe { ptr::write_bytes(block, 0, layout.size()) };
        }
        block
    }

    /// Returns a block to its bin, or (large or over-aligned) leaks it.
    ///
    /// # Safety
    ///
    /// `block` was returned by this heap for `layout` (or by `realloc` with
    /// `layout.size()` as the new size), is not used afterwards, and has not
    /// been freed since.
    #[inline]
    pub unsafe fn dealloc(&mut self, block: *mut u8, layout: Layout) {
        if layout.align() > MAX_BIN_ALIGN {
            return;
        }
        if let Some(i) = C::class(layout.size(), layout.align()) {
            let reclaimed = self.reclaim(block);
            // SAFETY: `Config` promises `i < N`.
            let head = unsafe { self.bins.get_unchecked_mut(i) };
            // The link goes through the caller's pointer, which may still be
            // protected in the caller (a `Box` being dropped), unless the
            // caller's block is too small for a link: its pointer may then
            // not reach past the block's first bytes.
            let link = if layout.size() >= size_of::<*mut u8>() {
                block
            } else {
                reclaimed
            };
            // SAFETY: the block was carved for this class (or checked to fit
            // it by `realloc`), so it holds `BINS[i]` bytes aligned for a
            // pointer, and the caller gives it up.
            unsafe { link.cast::<*mut u8>().write(*head) };
            // The list keeps a pointer with the heap's own provenance: the
            // caller's may be narrower than the block, which will be handed
            // out whole.
            *head = reclaimed;
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
        let align = layout.align();
        if C::REALLOC_IN_PLACE {
            // Within the block's capacity, the block serves as it is: a
            // smaller or equal request never maps to a larger bin. Beyond
            // it, the block grows to the full capacity of the new request's
            // bin (it may later be freed into that bin), if it is the last
            // block carved. Either way it may later be freed into the new
            // request's bin, so it must have that bin's alignment.
            let old_cap = Self::capacity(layout.size(), align);
            if Self::aligned_for(block, new_size, align)
                && (new_size <= old_cap
                    || self.grow_at_top(block, old_cap, Self::capacity(new_size, align)))
            {
                // Handed out anew: with the heap's provenance, as in `dealloc`.
                return self.reclaim(block);
            }
        }
        // SAFETY: the caller guarantees the new layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, align) };
        // SAFETY: `new_size` is not zero.
        let new_block = unsafe { self.alloc(new_layout) };
        if !new_block.is_null() {
            // SAFETY: both blocks are valid for the bytes copied, and a new
            // block never overlaps a live one.
            unsafe {
                ptr::copy_nonoverlapping(block, new_block, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
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
        old_end == self.top.addr() && self.bump(new_cap - old_cap, 1).addr() == old_end
    }

    /// Carves `size` bytes aligned to `align` from the current region,
    /// obtaining more memory when it is too small; null when there is none.
    ///
    /// `size + align - 1` is at most `isize::MAX + MAX_BIN_ALIGN`: `Layout`
    /// bounds a size rounded up to its alignment by `isize::MAX`, bins are at
    /// most [`MAX_BIN`], and large blocks align to at most `MAX_BIN_ALIGN`.
    ///
    /// Not inlined: every bin miss, every large block and in-place growth
    /// share one copy, and `alloc` keeps only a lookup and a pop, small
    /// enough to be inlined into its callers even when optimising for size.
    /// Cold, so that callers lay out the free-list hit as their straight
    /// path.
    #[cold]
    #[inline(never)]
    fn bump(&mut self, size: usize, align: usize) -> *mut u8 {
        loop {
            // The padding that aligns `top`, then the block: no overflow, by
            // the bound above.
            let span = (self.top.addr().wrapping_neg() & (align - 1)) + size;
            // By invariant 1, `top <= end`: no overflow.
            let room = self.end - self.top.addr();
            if span <= room {
                // The padding and the block lie in `[top, end)`, inside the
                // current region, whose provenance `top` carries.
                self.top = self.top.wrapping_add(span);
                return self.top.wrapping_sub(size);
            }
            if !self.grow(span - room) {
                return null_mut();
            }
        }
    }

    /// Obtains at least `missing` more bytes: a whole number of `PAGE`s when
    /// the memory source has them, otherwise a whole number of its
    /// granules. A region that continues the current one extends it; one
    /// elsewhere replaces it (the current region's unused tail is abandoned,
    /// and the next `bump` starts afresh there). False when the source has
    /// nothing more.
    ///
    /// No overflow: `missing` is at most `isize::MAX + MAX_BIN_ALIGN` (see
    /// `bump`), and `PAGE` and the granule are at most a quarter of the
    /// address space (`BOUNDS`).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, missing: usize) -> bool {
        let () = Self::BOUNDS;
        let granule = <C::Memory as Memory>::GRANULE;
        // Not `div_ceil`, which guards against an overflow that cannot happen
        // here, and costs code.
        #[allow(clippy::manual_div_ceil)]
        let mut bytes = (missing + (C::PAGE - 1)) / C::PAGE * C::PAGE;
        let start = match self.memory.grow(bytes) {
            Some(start) => start,
            // A smaller request may still be granted (the end of an arena,
            // the last pages below a wasm memory's maximum).
            None if C::PAGE > granule => {
                bytes = (missing + (granule - 1)) & !(granule - 1);
                match self.memory.grow(bytes) {
                    Some(start) => start,
                    None => return false,
                }
            }
            None => return false,
        };
        let start = start.as_ptr();
        let Some(end) = start.addr().checked_add(bytes) else {
            // A region that ends at the very top of the address space (the
            // last wasm page below 4 GiB): give it up rather than wrap.
            return false;
        };
        if start.addr() != self.end {
            self.top = start;
        }
        self.end = end;
        true
    }

    /// Forgets every block and every region, and resets the memory source.
    pub fn reset(&mut self) {
        self.bins = [null_mut(); N];
        self.top = null_mut();
        self.end = 0;
        self.memory.reset();
    }
}

/// The static that holds one allocator type's state, behind its lock.
pub struct Global<C: Config<N>, const N: usize> {
    lock: C::Lock,
    heap: UnsafeCell<Heap<C, N>>,
}

// SAFETY: the heap is only reached through `Lock::with`, which by the `Lock`
// contract never runs two closures at once, so no two threads touch the heap
// (or the memory source inside it) at the same time.
unsafe impl<C: Config<N>, const N: usize> Sync for Global<C, N> {}

impl<C: Config<N>, const N: usize> Global<C, N> {
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
    fn with<R>(&self, f: impl FnOnce(&mut Heap<C, N>) -> R) -> R {
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
}
