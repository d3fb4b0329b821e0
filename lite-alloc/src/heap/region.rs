//! The current region of memory: the bump pointer `[top, end)` that carves
//! new blocks, and growth from the memory source when it runs out.

use core::ptr::{self, NonNull, null_mut};

use super::config::Bounds;
use super::large::LargeBlocks;
use super::{Config, Heap, MAX_PAGE};
use crate::memory::Memory;
use crate::stats::Record;

/// The current region, and what the heap obtained so far.
pub struct Region<M, F> {
    /// The next unused byte of the current region. Its provenance is the
    /// region's, so blocks are derived from it.
    pub(super) top: *mut u8,
    /// One past the last byte of the current region (0 before the first).
    pub(super) end: usize,
    /// What of `[top, end)` was handed out before (invariant 5).
    pub(super) fresh: F,
    /// With `growth = 1/N`: the bytes obtained from the memory source so
    /// far. Unused without it, and from a whole source ([`Memory::WHOLE`]),
    /// which is never asked for a growth step.
    obtained: usize,
    /// The memory source.
    pub(super) memory: M,
    /// On wasm32 with threads: the highest end of the regions taken, which
    /// [`see_memory`](Heap::see_memory) makes the calling thread see (the
    /// current region's end may lie below an earlier region's, from a
    /// source whose regions do not rise).
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    reach: usize,
    /// Every region obtained, for [`check`](Heap::check).
    #[cfg(debug_assertions)]
    pub(super) log: log::RegionLog,
}

impl<M: Memory, F: Fresh> Region<M, F> {
    /// No region yet.
    pub const NEW: Self = Self {
        top: null_mut(),
        end: 0,
        fresh: F::INIT,
        obtained: 0,
        memory: M::INIT,
        #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
        reach: 0,
        #[cfg(debug_assertions)]
        log: log::RegionLog::EMPTY,
    };

    /// `address`, inside memory the heap obtained, as a pointer with the
    /// provenance of the region holding it, which the memory source finds
    /// ([`Memory::provenance`]: by default `top`'s, as every region lies in
    /// one allocated object). Every pointer the heap keeps or hands out is
    /// made here (invariant 4).
    #[inline(always)]
    pub fn at(&self, address: usize) -> *mut u8 {
        self.memory.provenance(self.top, address)
    }
}

/// What the bump pointer knows of the memory in `[top, end)` that was
/// handed out before: with [`Untouched`], none was (blocks never go back to
/// the bump pointer); with [`HighWater`], everything below a mark may have
/// been. `alloc_zeroed` relies on it to skip clearing fresh memory.
pub trait Fresh {
    /// Before the first region.
    const INIT: Self;
    /// `[block, top)` was just carved: clears its first `zero` bytes where
    /// they were handed out before, and notes that they have been now.
    fn carved(&mut self, block: *mut u8, zero: usize, top: usize);
    /// A new region starts at `top`, from a source whose regions may lie
    /// below earlier ones: all of it is fresh.
    fn opened(&mut self, top: usize);
    /// Whether `top` is at most the mark, as it is from a source whose every
    /// region moves the mark to its start (invariant 5), for `check`.
    fn holds(&self, top: usize) -> bool;
    /// Where the fresh memory of the current region, which ends at `end`,
    /// starts, `top` being its bump pointer (0 before the first region): no
    /// byte from there on was handed out (invariant 5).
    fn used(&self, top: usize, end: usize) -> usize;
}

/// Blocks never go back to the bump pointer: everything from `top` on is
/// fresh, and nothing needs to be kept.
pub struct Untouched;

impl Fresh for Untouched {
    const INIT: Self = Untouched;
    #[inline(always)]
    fn carved(&mut self, _: *mut u8, _: usize, _: usize) {}
    #[inline(always)]
    fn opened(&mut self, _: usize) {}
    fn holds(&self, _: usize) -> bool {
        true
    }
    #[inline(always)]
    fn used(&self, top: usize, _: usize) -> usize {
        top
    }
}

/// Blocks go back to the bump pointer (the last block freed joins the
/// unused memory): no block was ever carved at or above this address, so
/// every byte of the current region from here or `top`, whichever is
/// higher, is as the memory source handed it over (invariant 5).
///
/// The mark only rises while blocks are carved. It moves down to a new
/// region's start only from a source of separate regions (not
/// [`Memory::CONTIGUOUS`]), which may hand them over in any order; a
/// contiguous source's regions rise (wasm memory grows upwards; an arena
/// has one), so a new one lies above the mark and nothing needs to be
/// noted when it opens. One that lay below would only cost `alloc_zeroed`
/// clearing fresh memory there.
pub struct HighWater(pub(super) usize);

impl Fresh for HighWater {
    const INIT: Self = HighWater(0);
    #[inline(always)]
    fn carved(&mut self, block: *mut u8, zero: usize, top: usize) {
        if zero != 0 && block.addr() < self.0 {
            // Part of the block was handed out before.
            let used = (self.0 - block.addr()).min(zero);
            // SAFETY: the block was just carved and holds at least `zero >=
            // used` bytes (the promise of `carve`'s and `bump`'s callers).
            unsafe { ptr::write_bytes(block, 0, used) };
        }
        // Built for speed, the mark is written only when it rises: once the
        // last block freed has joined the unused memory, `top` lies below
        // the mark, and a store on every carve would make each carve wait
        // for the one before through memory, where a branch that goes the
        // same way each time costs nothing. Built for size, the maximum is
        // fewer bytes.
        if cfg!(opt_level_size) {
            self.0 = self.0.max(top);
        } else if top > self.0 {
            self.0 = top;
        }
    }
    #[inline(always)]
    fn opened(&mut self, top: usize) {
        self.0 = top;
    }
    fn holds(&self, top: usize) -> bool {
        top <= self.0
    }
    #[inline(always)]
    fn used(&self, top: usize, end: usize) -> usize {
        // `top` is at most `end` (invariant 1): a mark past the region's
        // end (a contiguous source that handed it over lower) says nothing
        // of it, and all of it may have been handed out.
        self.0.max(top).min(end)
    }
}

impl<C: Config<N>, const N: usize> Heap<C, N> {
    /// On wasm32 with threads: makes this thread see every page of the
    /// heap's memory before the heap touches it (`memory::see_up_to` says
    /// why): every region it took, from any source, lies below the highest
    /// end, and so does every block, the caller's and those it gets.
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    #[inline(always)]
    pub(super) fn see_memory(&self) {
        crate::memory::see_up_to(self.region.reach);
    }

    /// Lets the block `[block, block + old_cap)` grow to `new_cap` bytes
    /// (`new_cap > old_cap`) when it is the last block carved: the bytes
    /// after it are carved from the bump pointer (`grow_top`).
    #[inline]
    pub(super) fn extend_at_top(&mut self, block: *mut u8, old_cap: usize, new_cap: usize) -> bool {
        // No overflow: the block lies in memory the heap obtained.
        let old_end = block.addr() + old_cap;
        old_end == self.region.top.addr()
            && Self::grown_at(self.grow_top(new_cap - old_cap), old_end)
    }

    /// Whether `carved`, what `grow_top` returned for the last block
    /// carved, which ends at `end`, continues that block. From a source of
    /// one region ([`Memory::ONE_REGION`]), whatever is carved is: the
    /// heap has its one region, from which `bump` carves at `top`, `end`,
    /// or nothing; only null is not, which one test says without `end`
    /// (thumb then keeps no register for `end` across the call).
    #[inline(always)]
    pub(super) fn grown_at(carved: *mut u8, end: usize) -> bool {
        if <C::Memory as Memory>::ONE_REGION {
            debug_assert!(carved.is_null() || carved.addr() == end);
            !carved.is_null()
        } else {
            carved.addr() == end
        }
    }

    /// `size` more bytes for the last block carved, which grows in place
    /// only if they follow it: from a source whose regions may continue
    /// each other ([`Memory::CONTIGUOUS`]), carved from the current region
    /// or from more memory (`bump`); the block grows when the result is its
    /// end, and anything else is lost to it (null, or at most `size` bytes
    /// carved at the start of a new region: when other code grew that
    /// memory in between, or from a whole source's later region, which it
    /// seldom has, see [`Memory::WHOLE`]; a generated arena has none). From
    /// a source of separate regions, only from the current one: a new
    /// region never continues it, and asking would give up the rest of
    /// this region for one whose start serves nothing.
    #[inline(always)]
    pub(super) fn grow_top(&mut self, size: usize) -> *mut u8 {
        if <C::Memory as Memory>::CONTIGUOUS {
            self.bump(size, 1, 0)
        } else {
            self.carve(size, 1, 0).unwrap_or(null_mut())
        }
    }

    /// Carves `size` bytes aligned to `align` from the current region,
    /// obtaining more memory when it is too small; null when there is none.
    /// The block's first `zero` bytes (`zero <= size`) read as zero: they
    /// are cleared where they may have been handed out before ([`Fresh`]).
    /// `L::TAIL` bytes at the end of every region are never carved.
    ///
    /// `size + align - 1` is less than `isize::MAX + isize::MAX / 4`: a
    /// `Layout` bounds its size rounded up to its alignment by `isize::MAX`,
    /// bins are at most [`MAX_BIN`](super::MAX_BIN), large blocks align to
    /// at least `MAX_BIN_ALIGN`, and a large class is less than a quarter
    /// larger than its request.
    ///
    /// Not inlined: every bin miss, every large block and in-place growth
    /// share one copy (built for speed, chunks try [`carve`](Self::carve)
    /// in place first), and `alloc` keeps only a lookup and a pop, small
    /// enough to be inlined into its callers even when optimising for size.
    /// Cold, so that callers lay out the free-list hit as their straight
    /// path.
    #[cold]
    #[inline(never)]
    pub(super) fn bump(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
        loop {
            let (span, room) = match self.carve(size, align, zero) {
                Ok(block) => return block,
                Err(short) => short,
            };
            // A region of its own needs the block at the worst padding, and
            // the policy's slack: no overflow, by the bound above.
            let whole = size + (align - 1) + C::Large::SLACK;
            // SAFETY: the block does not fit, `span > room`: at least one
            // byte is missing, and `whole`, at least `span`, is not 0.
            if !unsafe { self.grow(span - room, whole) } {
                return null_mut();
            }
        }
    }

    /// `bump` without growth: the block carved from the current region, or,
    /// when it does not fit, the bytes it needs there (with the padding that
    /// aligns it) and the room there is. Same bounds as `bump`.
    #[inline(always)]
    pub(super) fn carve(
        &mut self,
        size: usize,
        align: usize,
        zero: usize,
    ) -> Result<*mut u8, (usize, usize)> {
        let region = &mut self.region;
        // The padding that aligns `top`, then the block: no overflow, by
        // the bound on `bump`.
        let span = (region.top.addr().wrapping_neg() & (align - 1)) + size;
        // By invariant 1, `top <= end`: no overflow.
        let room = (region.end - region.top.addr()).saturating_sub(C::Large::TAIL);
        if span > room {
            return Err((span, room));
        }
        // The padding and the block lie in `[top, end)`, inside the
        // current region, whose provenance `top` carries.
        region.top = region.top.wrapping_add(span);
        let block = region.top.wrapping_sub(size);
        self.stats.bumped(span);
        region.fresh.carved(block, zero, region.top.addr());
        // For `check`, which holds the mark against it (invariant 5).
        #[cfg(debug_assertions)]
        region.log.carved(region.top.addr());
        Ok(block)
    }

    /// Obtains memory for a request: the `missing` bytes the current region
    /// lacks, or `whole`, all the request needs in a region of its own, from
    /// a source whose regions never continue each other. From a source
    /// that hands over all it has ([`Memory::WHOLE`]), whose later regions
    /// are each opened anew, whatever it gives for `whole` in whole
    /// granules, with no page rounding and no second request; from any
    /// other, as [`grow_pages`] says. False when the source has nothing
    /// more.
    ///
    /// Inlined into `bump`, its one caller: a whole source's growth is a
    /// call and the opening of its region, and the paging stays out of line.
    ///
    /// # Safety
    ///
    /// `missing` and `whole` are not 0.
    ///
    /// [`grow_pages`]: Self::grow_pages
    #[inline(always)]
    unsafe fn grow(&mut self, missing: usize, whole: usize) -> bool {
        let () = Bounds::<C, N>::VALID;
        if <C::Memory as Memory>::WHOLE {
            // No overflow: as in `grow_pages`. Compiled away for a granule
            // of 1 (an arena's).
            let granule = <C::Memory as Memory>::GRANULE;
            let bytes = (whole + (granule - 1)) & !(granule - 1);
            debug_assert!(bytes > 0, "asked the memory source for 0 bytes");
            let Some(grown) = self.region.memory.grow(bytes) else {
                return false;
            };
            self.take_region(grown);
            true
        } else if <C::Memory as Memory>::CONTIGUOUS {
            // SAFETY: not 0 (the caller's promise).
            unsafe { self.grow_pages(missing) }
        } else {
            // SAFETY: not 0 (the caller's promise).
            unsafe { self.grow_pages(whole) }
        }
    }

    /// Obtains at least `missing` more bytes (with `growth = 1/N`, at least
    /// `1/N` of what it has obtained so far): a whole number of `PAGE`s when
    /// the memory source has them, otherwise just what is missing, in whole
    /// granules. A source may hand over less than asked (memory it already
    /// had, however short): `bump` then asks again. False when the source
    /// has nothing more.
    ///
    /// No overflow: `missing` is less than `isize::MAX + isize::MAX / 4`
    /// (see `bump`), the growth step is at most `MAX_PAGE`, and `PAGE` and
    /// the granule are at most a quarter of the address space (`Bounds`).
    ///
    /// # Safety
    ///
    /// `missing` is not 0.
    #[cold]
    #[inline(never)]
    unsafe fn grow_pages(&mut self, missing: usize) -> bool {
        let granule = <C::Memory as Memory>::GRANULE;
        let region = &mut self.region;
        // With `growth = 1/N`, at least `obtained / N` (`GROWTH` is 0
        // without it: no step).
        let wanted = match region.obtained.checked_div(C::GROWTH) {
            Some(step) => missing.max(step.min(MAX_PAGE)),
            None => missing,
        };
        // Not `div_ceil`, which guards against an overflow that cannot happen
        // here, and costs code.
        #[allow(clippy::manual_div_ceil)]
        let mut bytes = (wanted + (C::PAGE - 1)) / C::PAGE * C::PAGE;
        let grown = loop {
            // The source's contract: never asked for nothing. Said so to
            // the compiler, which then sees that a source handing over
            // what was asked (wasm memory) leaves room for `skip` and
            // `TAIL` in the region.
            debug_assert!(bytes > 0, "asked the memory source for 0 bytes");
            // SAFETY: `missing` is at least 1 (the caller's promise), so
            // either request, `missing` or more rounded up to whole `PAGE`s
            // or granules without overflow (above), is at least 1.
            unsafe { core::hint::assert_unchecked(bytes > 0) };
            if let Some(grown) = region.memory.grow(bytes) {
                break grown;
            }
            // A smaller request may still be granted (the last pages below
            // a wasm memory's maximum, a system allocator short of memory):
            // just what is missing, in whole granules. Compiled away when it
            // cannot be smaller: with no growth step and a `PAGE` that
            // divides the granule (the source rounds any request up to whole
            // granules, so whole pages asked for no more than that). A `PAGE`
            // that does not divide it may ask for a granule more.
            if granule.is_multiple_of(C::PAGE) && C::GROWTH == 0 {
                return false;
            }
            let smaller = (missing + (granule - 1)) & !(granule - 1);
            if smaller >= bytes {
                return false;
            }
            bytes = smaller;
        };
        self.take_region(grown);
        true
    }

    /// Makes `grown`, just obtained from the memory source, the heap's: a
    /// region that continues the current one extends it (never a whole
    /// source's, see [`Memory::WHOLE`]); any other replaces it (the policy
    /// closes the current region, whose unused tail is abandoned, and the
    /// next `bump` starts afresh in the new one). A region the heap cannot
    /// use is given up: the next `bump` asks again, and the source, which
    /// hands out each byte once, gives another or none.
    #[inline(always)]
    fn take_region(&mut self, grown: NonNull<[u8]>) {
        let region = &mut self.region;
        let (start, len) = (grown.cast::<u8>(), grown.len());
        #[cfg(debug_assertions)]
        region.log.handed_over(start.addr().get());
        let Some(end) = start.addr().get().checked_add(len) else {
            // A region that ends at the very top of the address space (a
            // wasm memory grown to 65536 pages): given up whole rather than
            // wrap, with the request that grew it (see docs/design.md: a
            // region cut short costs every type bytes).
            return;
        };
        self.stats.obtained(len);
        // Read only by `grow_pages`, which a whole source never calls
        // (`grow` takes its region as it comes): kept for the others alone.
        if C::GROWTH > 0 && !<C::Memory as Memory>::WHOLE {
            // No overflow: the regions do not overlap, and none passes the
            // top of the address space.
            region.obtained += len;
        }
        // A whole source's later region never continues the one before
        // (`Memory::WHOLE`).
        if <C::Memory as Memory>::WHOLE || start.addr().get() != region.end {
            // Where the policy starts carving: at most a grain in. A region
            // without room for that and its tail is not used at all (the
            // next `bump` asks again; a region that continues it opens
            // anew), so that a region's room is never less than its tail.
            // No overflow: `skip` and `TAIL` are less than three words.
            let skip = C::Large::skip(start.addr().get());
            if len < skip + C::Large::TAIL {
                return;
            }
            // A source of one region hands it over while the heap has
            // none (before the first region, or the first after `reset`),
            // and never another: nothing to close, and no code for it.
            if !<C::Memory as Memory>::ONE_REGION {
                // SAFETY: `top` and `end` are the current region's (null
                // and 0 before the first), which the heap gives up for
                // good.
                unsafe { C::Large::close(region.top, region.end) };
            }
            // In the region: `skip < len`.
            region.open(start.as_ptr().wrapping_add(skip), end);
        } else {
            #[cfg(debug_assertions)]
            region.log.extended(end);
        }
        region.end = end;
        #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
        {
            region.reach = region.reach.max(end);
        }
    }
}

impl<M: Memory, F: Fresh> Region<M, F> {
    /// Makes `[top, end)` the current region.
    #[inline(always)]
    fn open(&mut self, top: *mut u8, end: usize) {
        #[cfg(debug_assertions)]
        self.log.opened(self.top.addr(), top.addr(), end);
        #[cfg(not(debug_assertions))]
        let _ = end;
        self.top = top;
        // A contiguous source's regions rise: the mark is already at or
        // below this one ([`HighWater`]).
        if !M::CONTIGUOUS {
            self.fresh.opened(top.addr());
        }
    }
}

/// Every region a heap obtained, kept in builds with debug assertions so
/// that [`check`](Heap::check) can tell whether a block lies in the heap's
/// memory and walk every chunk. Release builds keep nothing.
#[cfg(debug_assertions)]
pub(super) mod log {
    /// The regions kept: the latest, when there were more.
    const KEPT: usize = 128;

    /// One region: `[start, end)`, and where its bump pointer stopped when
    /// the heap gave it up (0 while it is the current one).
    #[derive(Clone, Copy)]
    pub struct Entry {
        pub start: usize,
        pub end: usize,
        pub stop: usize,
    }

    /// The regions, oldest first.
    pub struct RegionLog {
        entries: [Entry; KEPT],
        /// Regions opened so far.
        opened: usize,
        /// The end of the highest block carved from the current region (its
        /// start while none was), which the high-water mark must not be
        /// below (invariant 5).
        pub carved: usize,
        /// The start of a region the memory source handed over where a
        /// region before the current one ended, against its contract
        /// (`Memory`); 0 if none.
        pub misplaced: usize,
    }

    impl RegionLog {
        pub const EMPTY: Self = Self {
            entries: [Entry {
                start: 0,
                end: 0,
                stop: 0,
            }; KEPT],
            opened: 0,
            carved: 0,
            misplaced: 0,
        };

        /// The memory source handed over a region at `start`: noted in
        /// `misplaced` if it starts where a region kept, other than the
        /// current one, ended.
        pub fn handed_over(&mut self, start: usize) {
            // Every region kept but the last, the current one.
            let older = self.opened.min(KEPT).saturating_sub(1);
            if self.entries().take(older).any(|region| region.end == start) {
                self.misplaced = start;
            }
        }

        /// `[start, end)` replaces the current region, which stopped at
        /// `top`.
        pub fn opened(&mut self, top: usize, start: usize, end: usize) {
            if let Some(current) = self.current() {
                self.entries[(self.opened - 1) % KEPT].stop = top.max(current.start);
            }
            self.entries[self.opened % KEPT] = Entry {
                start,
                end,
                stop: 0,
            };
            self.opened += 1;
            self.carved = start;
        }

        /// A block was carved from the current region, up to `top`.
        pub fn carved(&mut self, top: usize) {
            self.carved = self.carved.max(top);
        }

        /// The current region's first bytes, up to `top`, are lost: no
        /// block lies there.
        pub fn skipped(&mut self, top: usize) {
            if self.opened > 0 {
                self.entries[(self.opened - 1) % KEPT].start = top;
            }
        }

        /// The current region continues to `end`.
        pub fn extended(&mut self, end: usize) {
            if self.opened > 0 {
                self.entries[(self.opened - 1) % KEPT].end = end;
            }
        }

        /// The current region.
        pub fn current(&self) -> Option<Entry> {
            self.opened
                .checked_sub(1)
                .map(|last| self.entries[last % KEPT])
        }

        /// Whether every region the heap obtained is kept.
        pub fn complete(&self) -> bool {
            self.opened <= KEPT
        }

        /// The regions kept, oldest first.
        pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
            let first = self.opened.saturating_sub(KEPT);
            (first..self.opened).map(|i| self.entries[i % KEPT])
        }

        /// Whether `[address, address + len)` lies in one region kept.
        pub fn holds(&self, address: usize, len: usize) -> bool {
            self.entries().any(|region| {
                address >= region.start
                    && address
                        .checked_add(len)
                        .is_some_and(|end| end <= region.end)
            })
        }
    }
}
