//! `memory = claimed`: memory handed over at run time, in one or more
//! regions (a linker-defined heap, two RAM banks).

use core::ptr::NonNull;

use super::Memory;
use super::regions::Regions;

/// The memory of a `memory = claimed` type: none until the program hands
/// some over with the type's `claim`, then the regions claimed, each used
/// by the heap once it needs memory and the region can hold the request
/// (first claimed, first used).
///
/// Every region keeps a record of three words at its start (12 bytes on
/// 32-bit targets), so that regions in different allocated objects (two RAM
/// banks) are never taken for one. A region that cannot hold its record and
/// a byte more is not used.
///
/// When a request does not fit what is left of the region in use, the heap
/// moves on to another, and the rest of the one it leaves is not used again
/// until `reset`: claim a bank in one piece rather than in several.
/// `reset` makes every region claimed available again; it forgets none.
#[derive(Debug)]
pub struct Claimed {
    regions: Regions,
}

impl Claimed {
    /// Adds `[start, start + bytes)` to the regions the heap may use.
    ///
    /// # Safety
    ///
    /// The region is valid for reads and writes, overlaps no region claimed
    /// before, and nothing else reads or writes it from now on, for as long
    /// as the allocator is used. `start` carries the provenance that allows
    /// this (a pointer to a static array, or one made from the address of a
    /// linker-defined region with `core::ptr::with_exposed_provenance_mut`).
    pub unsafe fn claim(&mut self, start: *mut u8, bytes: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.regions.add(start, bytes, false, false) };
    }
}

// SAFETY: each claimed region is handed to the heap at most once until
// `reset` (`give` marks it), never overlaps another (the caller of `claim`
// promises it) and is the allocator's alone. Regions may lie in different
// allocated objects: `provenance` finds the one holding an address, and the
// record at the start of each keeps the part handed over from starting
// where another's ends.
unsafe impl Memory for Claimed {
    const INIT: Self = Claimed {
        regions: Regions::EMPTY,
    };

    // Each region starts with its record: none continues another.
    const CONTIGUOUS: bool = false;

    #[inline]
    fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
        self.regions.give(bytes)
    }

    #[inline]
    fn provenance(&self, hint: *mut u8, addr: usize) -> *mut u8 {
        self.regions.provenance(hint, addr)
    }

    fn holds(&self, addr: usize, len: usize) -> Option<bool> {
        Some(self.regions.holds(addr, len))
    }

    fn reset(&mut self) {
        self.regions.take_back();
    }
}
