//! The current region: the bump pointer, and growth from the memory source.

use core::ptr::{self, null_mut};

use super::{Config, Heap, MAX_PAGE, chunks};
use crate::memory::Memory;
use crate::stats::Record;

impl<C: Config<N, L>, const N: usize, const L: usize> Heap<C, N, L> {
    /// Lets the block `[block, block + old_cap)` grow to `new_cap` bytes
    /// (`new_cap > old_cap`) when it is the last block carved: the bytes
    /// after it are carved from the bump pointer.
    ///
    /// When the memory source has to be asked and its new region does not
    /// continue the current one, those bytes are carved there instead, the
    /// growth fails, and they are lost (only when other code grew memory in
    /// between, and at most `new_cap - old_cap` bytes).
    #[inline]
    pub(in crate::heap) fn grow_at_top(
        &mut self,
        block: *mut u8,
        old_cap: usize,
        new_cap: usize,
    ) -> bool {
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
    pub(in crate::heap) fn bump(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
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
    pub(in crate::heap) fn grow(&mut self, missing: usize) -> bool {
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
}
