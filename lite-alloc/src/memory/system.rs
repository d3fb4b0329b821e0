//! `memory = system`: regions from the operating system's allocator
//! (`std::alloc::System`), on hosts.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use super::Memory;
use super::regions::Regions;

/// The memory of a `memory = system` type, and the default memory on hosts
/// with the `std` feature: regions from `std::alloc::System` (the C
/// library's `malloc`, or the platform's heap), never from the global
/// allocator, which may be this very type.
///
/// Each region is at least as large as everything obtained before it, so
/// that memory doubles with each region: a program that needs 100 MiB in
/// 64 KiB steps holds about a dozen regions, not 1600, and finding the
/// region that holds an address (which the heap does on every free) stays
/// cheap. Regions are asked for zeroed, which large ones are for free, and
/// the pages of a region not yet used are not touched. `reset` gives every
/// region back to the system.
#[derive(Debug)]
pub struct System {
    regions: Regions,
    /// Bytes obtained so far.
    obtained: usize,
}

/// The alignment regions are asked for (any would do: the heap aligns its
/// blocks within a region).
const ALIGN: usize = 16;

/// Bytes added to what the heap asks for: the region's record, and the
/// padding the heap may need to align its first block after it.
const ROOM: usize = 64;

impl System {
    /// A zeroed region of `bytes` from the system, recorded.
    fn obtain(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
        let layout = Layout::from_size_align(bytes, ALIGN).ok()?;
        // SAFETY: `bytes` is not zero (the heap asks for at least a byte,
        // and a header is added).
        let start = unsafe { std::alloc::System.alloc_zeroed(layout) };
        if start.is_null() {
            return None;
        }
        // SAFETY: a fresh allocation, the allocator's alone. Aligned to 16,
        // it starts with its record, which `reset` relies on.
        let Some(part) = (unsafe { self.regions.add(start, bytes, true, true) }) else {
            // SAFETY: just allocated with this layout.
            unsafe { std::alloc::System.dealloc(start, layout) };
            return None;
        };
        // No overflow: the regions are disjoint parts of the address space.
        self.obtained = self.obtained.saturating_add(bytes);
        Some(part)
    }
}

// SAFETY: every region is a fresh zeroed allocation of the system's,
// recorded and handed to the heap once, and freed only by `reset`, when no
// block in it is used. Regions are separate allocated objects:
// `provenance` finds the one holding an address, and the record at the
// start of each keeps the part handed over from starting where another's
// ends.
unsafe impl Memory for System {
    const INIT: Self = System {
        regions: Regions::EMPTY,
        obtained: 0,
    };
    const ZEROED: bool = true;

    // Each region starts with its record: none continues another.
    const CONTIGUOUS: bool = false;

    fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
        // Room for the record, and at least what was obtained so far (less
        // when the system cannot give that much).
        let wanted = bytes.checked_add(ROOM)?;
        if wanted < self.obtained
            && let Some(region) = self.obtain(self.obtained)
        {
            return Some(region);
        }
        self.obtain(wanted)
    }

    #[inline]
    fn provenance(&self, hint: *mut u8, addr: usize) -> *mut u8 {
        self.regions.provenance(hint, addr)
    }

    fn holds(&self, addr: usize, len: usize) -> Option<bool> {
        Some(self.regions.holds(addr, len))
    }

    fn reset(&mut self) {
        self.regions.drain(|start, bytes| {
            // SAFETY: a region obtained with this size and alignment, in
            // which no block is used any more (`reset`'s promise).
            unsafe {
                std::alloc::System.dealloc(start, Layout::from_size_align_unchecked(bytes, ALIGN))
            }
        });
        self.obtained = 0;
    }
}
