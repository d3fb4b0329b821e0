//! A list of regions that are separate allocated objects (RAM banks handed
//! over at run time, blocks from the operating system's allocator), kept in
//! the regions themselves: each starts with a [`Header`] and hands the heap
//! the bytes after it.
//!
//! The header does two jobs. It records the region, so that
//! [`Regions::provenance`] can give an address inside it the region's own
//! provenance. And it keeps the part handed to the heap from ever starting
//! where another region's part ends: the heap treats a region that starts
//! where the previous one ended as its continuation, which would let a block
//! span two allocated objects.

use core::ptr::{NonNull, null_mut};

/// The start of a region: where the next region is, and where this one ends.
#[repr(C)]
struct Header {
    /// The next region of the list (null at its end).
    next: *mut Header,
    /// One past the region's last byte.
    end: usize,
    /// Whether the region was handed to the heap (until `reset`).
    given: bool,
}

/// The regions of one memory source, in a list threaded through their
/// headers.
#[derive(Debug)]
pub(crate) struct Regions {
    head: *mut Header,
}

impl Regions {
    /// No region.
    pub(crate) const EMPTY: Self = Self { head: null_mut() };

    /// Records `[start, start + bytes)`, given to the heap at once or not,
    /// at the head of the list (`first`) or at its end; the heap's part of
    /// it. `None` when the region cannot hold its header and a byte more
    /// (it is then not used), or ends past the top of the address space.
    ///
    /// # Safety
    ///
    /// The region is valid for reads and writes, overlaps no other region
    /// of the list, and nothing else uses it from now on.
    pub(crate) unsafe fn add(
        &mut self,
        start: *mut u8,
        bytes: usize,
        given: bool,
        first: bool,
    ) -> Option<NonNull<[u8]>> {
        let end = start.addr().checked_add(bytes)?;
        let pad = start.addr().wrapping_neg() & (align_of::<Header>() - 1);
        let header_end = start
            .addr()
            .checked_add(pad)?
            .checked_add(size_of::<Header>())?;
        if header_end >= end {
            return None;
        }
        // In the region (the checks above), aligned for a header.
        let header = start.wrapping_add(pad).cast::<Header>();
        let next = if first { self.head } else { null_mut() };
        // SAFETY: the header lies in the region, which the caller gives
        // over, and is aligned.
        unsafe { header.write(Header { next, end, given }) };
        if first || self.head.is_null() {
            self.head = header;
        } else {
            let mut last = self.head;
            // SAFETY: every header of the list was written by `add`.
            unsafe {
                while !(*last).next.is_null() {
                    last = (*last).next;
                }
                (*last).next = header;
            }
        }
        // SAFETY: the header was just written.
        Some(unsafe { Self::part(header) })
    }

    /// The heap's part of the region whose header is `header`.
    ///
    /// # Safety
    ///
    /// `header` is in the list.
    unsafe fn part(header: *mut Header) -> NonNull<[u8]> {
        // SAFETY: a header of the list; `add` checked that a byte follows it.
        unsafe {
            let start = header.add(1).cast::<u8>();
            let len = (*header).end - start.addr();
            NonNull::slice_from_raw_parts(NonNull::new_unchecked(start), len)
        }
    }

    /// The first region not yet given to the heap whose part holds `bytes`,
    /// now given.
    pub(crate) fn give(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
        // SAFETY: headers of the list, whose regions are not the heap's
        // until given.
        let header = self
            .find(|header, _| unsafe { !(*header).given && Self::part(header).len() >= bytes })?;
        // SAFETY: as above.
        unsafe {
            (*header).given = true;
            Some(Self::part(header))
        }
    }

    /// `addr` with the provenance of the region holding it, found from the
    /// head of the list; `hint`'s when no region holds it.
    #[inline]
    pub(crate) fn provenance(&self, hint: *mut u8, addr: usize) -> *mut u8 {
        match self.find(|header, end| addr > header.addr() && addr < end) {
            Some(header) => header.cast::<u8>().with_addr(addr),
            None => hint.with_addr(addr),
        }
    }

    /// Whether the `len` bytes at `addr` lie inside one region of the list
    /// that was handed to the heap (`Memory::holds`).
    pub(crate) fn holds(&self, addr: usize, len: usize) -> bool {
        let Some(last) = addr.checked_add(len) else {
            return false;
        };
        self.find(|header, end| {
            // SAFETY: a header of the list.
            let given = unsafe { (*header).given };
            // The heap's part starts after the header (`part`).
            given && addr >= header.addr() + size_of::<Header>() && last <= end
        })
        .is_some()
    }

    /// The first header of the list, from its head, for which `hit` (given
    /// the header and its region's end) says true.
    #[inline(always)]
    fn find(&self, mut hit: impl FnMut(*mut Header, usize) -> bool) -> Option<*mut Header> {
        let mut header = self.head;
        while !header.is_null() {
            // SAFETY: every header of the list was written by `add`; the
            // heap never hands out a header's bytes.
            let (end, next) = unsafe { ((*header).end, (*header).next) };
            if hit(header, end) {
                return Some(header);
            }
            header = next;
        }
        None
    }

    /// Makes every region available again (`Memory::reset`).
    pub(crate) fn take_back(&mut self) {
        self.for_each(|header| {
            // SAFETY: a header of the list.
            unsafe { (*header).given = false }
        });
    }

    /// Empties the list, calling `f` with each region's start and length
    /// (header included).
    #[cfg(feature = "std")]
    pub(crate) fn drain(&mut self, mut f: impl FnMut(*mut u8, usize)) {
        self.for_each(|header| {
            // SAFETY: a header of the list.
            let end = unsafe { (*header).end };
            f(header.cast(), end - header.addr());
        });
        self.head = null_mut();
    }

    /// Calls `f` on every header, reading the link before the call (`f`
    /// may free the region).
    fn for_each(&mut self, mut f: impl FnMut(*mut Header)) {
        let mut header = self.head;
        while !header.is_null() {
            // SAFETY: every header of the list was written by `add`.
            let next = unsafe { (*header).next };
            f(header);
            header = next;
        }
    }
}
