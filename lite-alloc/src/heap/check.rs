//! The heap checks its own invariants: [`Heap::check`] walks the region,
//! every bin's list and the policy's state (every chunk, list and bitmap
//! bit with `large = coalesce`), and reports the first invariant that does
//! not hold. The shadow model runs it after every step and the fuzzers
//! after every operation; it costs nothing unless called.
//!
//! In builds with debug assertions the heap also keeps every region it
//! obtained (see `region::log`), so that a block can be checked to lie in
//! the heap's memory and every chunk of every region walked; release
//! builds check what the heap's state alone tells, and, from a source that
//! hands over zeroed memory, that the first bytes of the memory still
//! fresh read as zero (in every build, in types that are not checked).

use core::fmt;

use super::region::Fresh;
use super::{Config, Heap, LargeBlocks};
use crate::memory::Memory;
use crate::stats::Record;

/// An invariant of the heap that does not hold: what, and at which address
/// (or, for counts, which number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corruption {
    /// The invariant, in words.
    pub what: &'static str,
    /// Where it breaks.
    pub at: usize,
    /// Whether it was found in a free list, walked through the words that
    /// free blocks hold (a link, a free chunk's header, links and footer),
    /// or in the flag of a chunk's header that says whether the chunk
    /// before is free (which the checked layer's record of the header
    /// leaves out, as the heap changes it): words a stale pointer may have
    /// written, which the checked layer reports as a use after free rather
    /// than as the heap's fault.
    pub in_free: bool,
}

impl Corruption {
    /// The same, found in a free list (see `in_free`).
    pub fn in_free(self) -> Self {
        Corruption {
            in_free: true,
            ..self
        }
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "heap corrupted: {} ({:#x})", self.what, self.at)
    }
}

/// How many bytes of fresh memory `check` reads (invariant 5).
const FRESH_WINDOW: usize = 256;

/// `Ok` when `holds`, else the corruption.
#[inline]
pub fn ensure(holds: bool, what: &'static str, at: usize) -> Result<(), Corruption> {
    if holds {
        Ok(())
    } else {
        Err(Corruption {
            what,
            at,
            in_free: false,
        })
    }
}

impl<C: Config<N>, const N: usize> Heap<C, N> {
    /// Checks every invariant of the heap's documentation that its state
    /// can show: the region (1), each bin's list (2, 4, and the counts of
    /// the statistics), and the policy's own (2 for large classes; 6 and 7
    /// for chunks).
    pub fn check(&self) -> Result<(), Corruption> {
        let region = &self.region;
        ensure(
            region.top.addr() <= region.end,
            "the bump pointer is past its region's end",
            region.top.addr(),
        )?;
        // Invariant 5. From a source of separate regions, each of which
        // moves the mark to its start, `top` is at most the mark.
        ensure(
            <C::Memory as Memory>::CONTIGUOUS
                || region.top.is_null()
                || region.fresh.holds(region.top.addr()),
            "the bump pointer is above the high-water mark",
            region.top.addr(),
        )?;
        // From a source that hands over zeroed memory, in any build: the
        // first bytes from where the current region's memory is fresh read
        // as zero, as `alloc_zeroed` takes them to. A mark or `top` below a
        // block carved before, or a source whose memory is not zeroed as it
        // says, shows there: a chunk's header, or a block's first bytes.
        // Only a window of them, so that a check costs the same whatever
        // the region's size (a whole arena, a wasm memory grown by an
        // eighth). Not in a checked type: there the bytes past the last
        // block may hold a program's overrun, which the checked layer
        // reports as the program's (its canary) rather than as the heap's
        // corruption.
        if <C::Memory as Memory>::ZEROED && !C::CHECKED && !region.top.is_null() {
            let fresh = region.fresh.used(region.top.addr(), region.end);
            // `used` lies in `[top, end]`. Read a word at a time (unaligned
            // where `top` is: a bin's block may end anywhere), so that a
            // check under Miri, after every step of a model, stays cheap;
            // a last part word is left unread.
            let words = (region.end - fresh).min(FRESH_WINDOW) / size_of::<usize>();
            for i in 0..words {
                let at = fresh + i * size_of::<usize>();
                // SAFETY: the word lies in `[fresh, end)`, in the current
                // region, which the heap holds (invariant 4 gives its
                // pointers the region's provenance), handed over
                // initialized (zeroed); no block covers it when invariant 5
                // holds (and when it does not, the bytes are still the
                // heap's memory, read under its lock).
                let word = unsafe { region.at(at).cast::<usize>().read_unaligned() };
                if word != 0 {
                    return Err(Corruption {
                        what: "fresh memory, past the high-water mark and the bump pointer, is not zero",
                        at,
                        in_free: false,
                    });
                }
            }
        }
        // From any source: no block was carved from where the heap takes
        // the current region's memory for fresh. How far blocks were carved
        // only the region log knows, kept with debug assertions; only
        // carving raises `top`.
        #[cfg(debug_assertions)]
        ensure(
            region.top.addr() <= region.log.carved,
            "the bump pointer is above every block carved",
            region.top.addr(),
        )?;
        #[cfg(debug_assertions)]
        ensure(
            region.fresh.used(region.top.addr(), region.end) >= region.log.carved,
            "a block was carved above the high-water mark",
            region.log.carved,
        )?;
        #[cfg(debug_assertions)]
        ensure(
            region.log.misplaced == 0,
            "the memory source handed over a region that starts where a region before the previous one ended (see `Memory`)",
            region.log.misplaced,
        )?;
        #[cfg(debug_assertions)]
        if let Some(current) = region.log.current() {
            ensure(
                current.end == region.end
                    && region.top.addr() >= current.start
                    && (region.end - region.top.addr()) >= <C::Large as LargeBlocks>::TAIL,
                "the bump pointer is outside the current region, or in its tail",
                region.top.addr(),
            )?;
        }
        for (i, list) in self.bins.iter().enumerate() {
            let (size, align) = (Self::bin_size(i), Self::bin_align(i));
            let mut count = 0;
            // SAFETY: `check_free_block` checks that each block lies in the
            // heap's memory, aligned for a link, before its link is read.
            unsafe {
                list.walk(|block| {
                    count += 1;
                    self.check_free_block(block, size, align)
                })
            }?;
            ensure(
                self.stats.bin_free(i).is_none_or(|free| free == count),
                "the statistics count another number of free blocks in a bin",
                size,
            )
            // A list cut short (a link zeroed by a stale write) holds fewer.
            .map_err(Corruption::in_free)?;
        }
        C::Large::check(self)
    }

    /// Checks a block in a free list: not null, aligned to `align`, outside
    /// the unused memory, and (with debug assertions) inside a region the
    /// heap obtained.
    pub fn check_free_block(
        &self,
        block: *mut u8,
        size: usize,
        align: usize,
    ) -> Result<(), Corruption> {
        let (address, region) = (block.addr(), &self.region);
        ensure(
            address != 0 && address.is_multiple_of(align),
            "a free block is misaligned",
            address,
        )?;
        let end = address.checked_add(size);
        ensure(
            end.is_some_and(|end| end <= region.top.addr() || address >= region.end),
            "a free block overlaps the unused memory",
            address,
        )?;
        #[cfg(debug_assertions)]
        ensure(
            !region.log.complete() || region.log.holds(address, size),
            "a free block lies outside the heap's memory",
            address,
        )?;
        // Before its link is read, in any build: where the memory source
        // can tell.
        ensure(
            region.memory.holds(address, size) != Some(false),
            "a free block lies outside the memory the heap may read",
            address,
        )?;
        Ok(())
    }
}
