//! The checked mode (`#[lite_alloc(check)]`): a layer above the heap's
//! paths, which the heap itself never calls. A checked type's static is a
//! [`CheckedGlobal`] instead of a [`Global`]: the same heap behind the same
//! lock, and beside it the layer's [`State`], which wraps every call.
//!
//! * **A table of blocks** (`table`): every block handed out and not yet
//!   released, by address, with the layout it was allocated with. A
//!   `dealloc` or `realloc` looks its pointer up: a pointer that is not
//!   there is foreign, whatever memory it points to (nothing is read at
//!   it); one that is there but freed is a double free; a layout that is
//!   not the recorded one is wrong. The table lives in memory the heap
//!   hands out, grown (doubled) before a block is handed out, so that
//!   recording it cannot fail.
//! * **A canary**: every block is [`CANARY`] bytes larger than asked, and
//!   those bytes hold a pattern, checked when the block is freed or
//!   reallocated (and by `verify()`).
//! * **A quarantine**: a freed block is filled with [`FREED`] and its
//!   table entry marked freed; it waits in a ring of the latest
//!   [`QUARANTINE_BLOCKS`] (at most [`QUARANTINE_BYTES`] bytes besides the
//!   newest) and is checked when it leaves it, just before the heap really
//!   frees it. A block is never released during its own `dealloc`, so the
//!   heap never writes into memory the caller may still hold a protected
//!   pointer to.
//!
//! The heap's own accounting (`stats`) counts the requested sizes, as for
//! an unchecked type; the canaries, the table and the quarantine are the
//! layer's, and show only in what was carved and obtained.
//!
//! A misuse is found under the lock, returned out of it, and reported
//! (`check::report`) once the lock is released: the hook may allocate.

mod table;

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::{self, null_mut};

use super::check::{Corruption, ensure};
use super::{Config, Global, Heap, LargeBlocks};
use crate::check::{
    self, Block, CANARY, CANARY_PATTERN, Call, Checks, FREED, Kind, Misuse, QUARANTINE_BLOCKS,
    QUARANTINE_BYTES,
};
use crate::memory::Memory;
use crate::stats::{Counters, Record, Stats};
use table::{Entry, MIN_SLOTS, Table};

/// The static of a checked allocator type: its heap and lock, and the
/// checked layer's state.
pub struct CheckedGlobal<C: Config<N>, const N: usize> {
    global: Global<C, N>,
    state: UnsafeCell<State>,
}

// SAFETY: the state, like the heap, is only reached inside `Global::with`,
// under the heap's lock.
unsafe impl<C: Config<N>, const N: usize> Sync for CheckedGlobal<C, N> {}

/// What the checked layer keeps: the table, the quarantine, counts.
pub struct State {
    /// The type's path, for messages.
    name: &'static str,
    table: Table,
    /// The quarantine: addresses of freed blocks, oldest at `oldest`.
    ring: [usize; QUARANTINE_BLOCKS],
    oldest: usize,
    queued: usize,
    /// Bytes of the blocks in the quarantine, canaries included.
    queued_bytes: usize,
    /// Bytes requested by the live blocks.
    live_bytes: usize,
    misuses: usize,
}

/// The call being checked: what a misuse found during it names.
#[derive(Clone, Copy)]
struct Site {
    call: Call,
    /// The pointer passed (0 for `alloc`).
    pointer: usize,
    layout: Option<Layout>,
}

/// The size of the heap's block for a request of `size` bytes aligned to
/// `align`: with the canary, if that is still a valid layout.
#[inline]
fn inner_size(size: usize, align: usize) -> Option<usize> {
    let inner = size.checked_add(CANARY)?;
    Layout::from_size_align(inner, align).ok().map(|_| inner)
}

/// The first byte of `[block, block + len)` that is not `byte`.
///
/// # Safety
///
/// The range is valid for reads.
unsafe fn first_other(block: *const u8, len: usize, byte: u8) -> Option<usize> {
    // Word by word, then the bytes of the word that differs.
    let word = usize::from_ne_bytes([byte; size_of::<usize>()]);
    let mut at = 0;
    while at + size_of::<usize>() <= len {
        // SAFETY: inside the range (the caller's promise); unaligned reads.
        if unsafe { block.add(at).cast::<usize>().read_unaligned() } != word {
            break;
        }
        at += size_of::<usize>();
    }
    // SAFETY: as above.
    (at..len).find(|&i| unsafe { block.add(i).read() } != byte)
}

impl State {
    const fn new(name: &'static str) -> Self {
        State {
            name,
            table: Table::EMPTY,
            ring: [0; QUARANTINE_BLOCKS],
            oldest: 0,
            queued: 0,
            queued_bytes: 0,
            live_bytes: 0,
            misuses: 0,
        }
    }

    /// A misuse caught now, during `site`, counted.
    fn misuse(&mut self, kind: Kind, site: Site, block: Option<Block>) -> Misuse {
        self.misuses += 1;
        let mut misuse = Misuse::new(kind, self.name, site.call, site.pointer, site.layout);
        misuse.block = block;
        misuse
    }

    /// Makes room in the table for one more block, growing it in memory
    /// from the heap; false when there is none.
    fn reserve<C: Config<N>, const N: usize>(&mut self, heap: &mut Heap<C, N>) -> bool {
        if self.table.has_room() {
            return true;
        }
        let count = match self.table.slots() {
            0 => MIN_SLOTS,
            slots => match slots.checked_mul(2) {
                Some(count) => count,
                None => return false,
            },
        };
        let Some(bytes) = count.checked_mul(size_of::<Entry>()) else {
            return false;
        };
        let align = align_of::<Entry>();
        if Layout::from_size_align(bytes, align).is_err() {
            return false;
        }
        // SAFETY: a valid layout, not zero-sized.
        let slots = unsafe { heap.alloc_plain(bytes, align) };
        if slots.is_null() {
            return false;
        }
        // SAFETY: the block was just handed out for `bytes` bytes, aligned
        // for entries; zeroed, every slot is empty.
        let (old, old_bytes) = unsafe {
            slots.write_bytes(0, bytes);
            self.table.move_to(slots.cast(), count)
        };
        if !old.is_null() {
            // SAFETY: the old table's block, handed out by `alloc_plain`
            // for `old_bytes` and this alignment, used by nothing else now.
            unsafe { heap.dealloc_inner(old, old_bytes, align) };
        }
        true
    }

    /// A block for `size` bytes aligned to `align` and its canary, the
    /// first `size` bytes zeroed with `zeroed`; null when memory runs out.
    ///
    /// # Safety
    ///
    /// `inner` is `inner_size(size, align)`.
    unsafe fn carve<C: Config<N>, const N: usize>(
        heap: &mut Heap<C, N>,
        size: usize,
        inner: usize,
        align: usize,
        zeroed: bool,
    ) -> *mut u8 {
        // SAFETY: `inner` is a valid layout's size, not zero (the caller's
        // promise).
        unsafe {
            if zeroed && <C::Memory as Memory>::ZEROED {
                heap.alloc_inner::<true>(inner, align)
            } else {
                let block = heap.alloc_plain(inner, align);
                if zeroed && !block.is_null() {
                    block.write_bytes(0, size);
                }
                block
            }
        }
    }

    /// `alloc` (and `alloc_zeroed`): the block, and a misuse found while
    /// emptying the quarantine for memory.
    ///
    /// # Safety
    ///
    /// `layout.size()` is not zero.
    unsafe fn alloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        layout: Layout,
        zeroed: bool,
    ) -> (*mut u8, Option<Misuse>) {
        let (size, align) = (layout.size(), layout.align());
        let site = Site {
            call: Call::Alloc,
            pointer: 0,
            layout: Some(layout),
        };
        let mut found = None;
        let Some(inner) = inner_size(size, align) else {
            heap.stats.failed();
            return (null_mut(), None);
        };
        if !self.reserve(heap) {
            found = self.flush(heap, site);
            if !self.reserve(heap) {
                heap.stats.failed();
                return (null_mut(), found);
            }
        }
        // SAFETY: `inner` is `inner_size(size, align)`.
        let mut block = unsafe { Self::carve(heap, size, inner, align, zeroed) };
        if block.is_null() && self.queued > 0 {
            // Out of memory: the quarantine's blocks first.
            found = found.or(self.flush(heap, site));
            // SAFETY: as above.
            block = unsafe { Self::carve(heap, size, inner, align, zeroed) };
        }
        if block.is_null() {
            heap.stats.failed();
            return (null_mut(), found);
        }
        // SAFETY: the block holds `inner = size + CANARY` bytes.
        unsafe { self.handed_out(heap, block, size, align) };
        (block, found)
    }

    /// Records a block just handed out for `size` bytes aligned to `align`:
    /// its canary, its entry (the table has room), the accounting.
    ///
    /// # Safety
    ///
    /// `block` holds `size + CANARY` bytes, with the heap's provenance.
    unsafe fn handed_out<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        block: *mut u8,
        size: usize,
        align: usize,
    ) {
        // SAFETY: the canary's bytes lie in the block (the caller's promise).
        unsafe { ptr::copy_nonoverlapping(CANARY_PATTERN.as_ptr(), block.add(size), CANARY) };
        self.table.insert(Entry::live(block.addr(), size, align));
        self.live_bytes += size;
        heap.allocated(size, align);
    }

    /// Checks that `block` is a live block allocated with `layout`, its
    /// canary intact; its slot, or the misuse.
    fn validate<C: Config<N>, const N: usize>(
        &mut self,
        heap: &Heap<C, N>,
        site: Site,
    ) -> Result<usize, Misuse> {
        let address = site.pointer;
        let Some(slot) = self.table.find(address) else {
            let block = self.containing(address);
            return Err(self.misuse(Kind::ForeignPointer, site, block));
        };
        let entry = self.table.entry(slot);
        let known = Some(Block {
            address,
            layout: entry.layout(),
            freed: entry.freed(),
        });
        if entry.freed() {
            return Err(self.misuse(Kind::DoubleFree, site, known));
        }
        if Some(entry.layout()) != site.layout {
            return Err(self.misuse(Kind::WrongLayout, site, known));
        }
        // SAFETY: a live block of this heap holds its canary after its
        // `size` bytes; read with the heap's provenance (the caller's
        // pointer covers only the requested bytes).
        let changed = unsafe { first_other_than_canary(heap.region.at(address + entry.size)) };
        match changed {
            None => Ok(slot),
            Some(at) => {
                let mut misuse = self.misuse(Kind::Overrun, site, known);
                misuse.offset = Some(entry.size + at);
                Err(misuse)
            }
        }
    }

    /// The block (live or freed) whose bytes, canary included, hold
    /// `address`, if any: a scan of the table, on the error path only.
    fn containing(&self, address: usize) -> Option<Block> {
        self.table
            .entries()
            .map(|(_, entry)| entry)
            .find(|entry| address > entry.address && address - entry.address < entry.size + CANARY)
            .map(|entry| Block {
                address: entry.address,
                layout: entry.layout(),
                freed: entry.freed(),
            })
    }

    /// `dealloc`: a misuse, or the block goes to the quarantine.
    ///
    /// # Safety
    ///
    /// `block` is the caller's pointer, valid for `layout.size()` bytes if
    /// it is a live block of this heap (as `validate` checks).
    unsafe fn dealloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        block: *mut u8,
        layout: Layout,
    ) -> Option<Misuse> {
        let site = Site {
            call: Call::Dealloc,
            pointer: block.addr(),
            layout: Some(layout),
        };
        let slot = match self.validate(heap, site) {
            Ok(slot) => slot,
            Err(misuse) => return Some(misuse),
        };
        heap.freed(layout.size(), layout.align());
        // SAFETY: a live block, validated, that the caller gives up.
        unsafe { self.quarantine(heap, slot, block, site) }
    }

    /// Fills the live block in `slot` (the caller's pointer `block`) with
    /// `FREED`, marks it freed and queues it, then releases the oldest
    /// blocks over the quarantine's bounds (never this one).
    ///
    /// # Safety
    ///
    /// The block in `slot` is live, `block` the caller's pointer to it
    /// (valid for its size), and the caller gives it up.
    unsafe fn quarantine<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        slot: usize,
        block: *mut u8,
        site: Site,
    ) -> Option<Misuse> {
        let mut entry = self.table.entry(slot);
        // The requested bytes through the caller's pointer, which may still
        // be protected in the caller (a `Box` being dropped); the canary,
        // which it does not cover, through the heap's.
        // SAFETY: the block holds `size + CANARY` bytes.
        unsafe {
            block.write_bytes(FREED, entry.size);
            heap.region
                .at(entry.address + entry.size)
                .write_bytes(FREED, CANARY);
        }
        self.live_bytes -= entry.size;
        entry.set_freed();
        self.table.update(slot, entry);
        let mut found = None;
        if self.queued == QUARANTINE_BLOCKS {
            found = self.release_oldest(heap, site);
        }
        self.ring[(self.oldest + self.queued) % QUARANTINE_BLOCKS] = entry.address;
        self.queued += 1;
        self.queued_bytes += entry.size + CANARY;
        while found.is_none() && self.queued > 1 && self.queued_bytes > QUARANTINE_BYTES {
            found = self.release_oldest(heap, site);
        }
        found
    }

    /// Takes the oldest block out of the quarantine: checks that it still
    /// holds `FREED` only and frees it in the heap; a block written since it
    /// was freed is reported and never freed (it stays out of circulation:
    /// a stale pointer may write to it again).
    fn release_oldest<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        site: Site,
    ) -> Option<Misuse> {
        debug_assert!(self.queued > 0);
        let address = self.ring[self.oldest % QUARANTINE_BLOCKS];
        self.oldest = (self.oldest + 1) % QUARANTINE_BLOCKS;
        self.queued -= 1;
        let Some(slot) = self.table.find(address) else {
            debug_assert!(false, "a quarantined block is in the table");
            return None;
        };
        let entry = self.table.entry(slot);
        let inner = entry.size + CANARY;
        self.queued_bytes -= inner;
        self.table.remove(slot);
        let block = heap.region.at(address);
        // SAFETY: the block holds `inner` bytes, freed by its owner: no one
        // else's pointer to it is in use (or the misuse is reported).
        match unsafe { first_other(block, inner, FREED) } {
            None => {
                // SAFETY: handed out by the heap for `inner` bytes and the
                // entry's alignment, freed by its owner; the heap's own
                // pointer to it.
                unsafe { heap.dealloc_inner(block, inner, entry.align()) };
                None
            }
            Some(at) => {
                let block = Some(Block {
                    address,
                    layout: entry.layout(),
                    freed: true,
                });
                let mut misuse = self.misuse(Kind::UseAfterFree, site, block);
                misuse.offset = Some(at);
                Some(misuse)
            }
        }
    }

    /// Releases every block in the quarantine (memory ran out); the first
    /// block found written after it was freed.
    fn flush<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        site: Site,
    ) -> Option<Misuse> {
        let mut found = None;
        while self.queued > 0 {
            let misuse = self.release_oldest(heap, site);
            found = found.or(misuse);
        }
        found
    }

    /// `realloc`: the block (or null, the old one untouched), and a misuse.
    ///
    /// # Safety
    ///
    /// As for `dealloc`; `new_size` is not zero.
    unsafe fn realloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        block: *mut u8,
        layout: Layout,
        new_size: usize,
    ) -> (*mut u8, Option<Misuse>) {
        let site = Site {
            call: Call::Realloc { new_size },
            pointer: block.addr(),
            layout: Some(layout),
        };
        let slot = match self.validate(heap, site) {
            Ok(slot) => slot,
            Err(misuse) => return (null_mut(), Some(misuse)),
        };
        let (old_size, align) = (layout.size(), layout.align());
        let Some(new_inner) = inner_size(new_size, align) else {
            heap.stats.failed();
            return (null_mut(), None);
        };
        if C::REALLOC_IN_PLACE {
            // SAFETY: a live block of this heap, handed out for `old_size +
            // CANARY` bytes and `align`; the new size is a valid layout's.
            let in_place =
                unsafe { C::Large::resize(heap, block, old_size + CANARY, new_inner, align) };
            if in_place {
                heap.freed(old_size, align);
                heap.allocated(new_size, align);
                let address = block.addr();
                let block = heap.region.at(address);
                // SAFETY: the block now holds `new_size + CANARY` bytes.
                unsafe {
                    ptr::copy_nonoverlapping(CANARY_PATTERN.as_ptr(), block.add(new_size), CANARY)
                };
                self.live_bytes = self.live_bytes - old_size + new_size;
                self.table
                    .update(slot, Entry::live(address, new_size, align));
                return (block, None);
            }
        }
        // Moves: the new block, then the old one to the quarantine.
        let mut found = None;
        if !self.reserve(heap) {
            found = self.flush(heap, site);
            if !self.reserve(heap) {
                heap.stats.failed();
                return (null_mut(), found);
            }
        }
        // SAFETY: `new_inner` is `inner_size(new_size, align)`.
        let mut new = unsafe { Self::carve(heap, new_size, new_inner, align, false) };
        if new.is_null() && self.queued > 0 {
            found = found.or(self.flush(heap, site));
            // SAFETY: as above.
            new = unsafe { Self::carve(heap, new_size, new_inner, align, false) };
        }
        if new.is_null() {
            heap.stats.failed();
            return (null_mut(), found);
        }
        // SAFETY: both blocks are valid for the bytes copied and do not
        // overlap (the old one is live); the new one holds `new_inner`.
        unsafe {
            ptr::copy_nonoverlapping(block, new, old_size.min(new_size));
            self.handed_out(heap, new, new_size, align);
        }
        heap.freed(old_size, align);
        // The table may have moved: the old block's slot again.
        let slot = self.table.find(block.addr());
        debug_assert!(slot.is_some());
        if let Some(slot) = slot {
            // SAFETY: the old block, live and validated, which the caller
            // gives up now that its bytes are copied.
            found = found.or(unsafe { self.quarantine(heap, slot, block, site) });
        }
        (new, found)
    }

    /// Checks every live block's canary and every quarantined block's
    /// filling: the first misuse.
    fn scan<C: Config<N>, const N: usize>(&mut self, heap: &Heap<C, N>) -> Option<Misuse> {
        let mut found = None;
        for (_, entry) in self.table.entries() {
            // SAFETY: every block in the table holds `size + CANARY` bytes
            // of the heap's memory.
            let (kind, changed) = unsafe {
                if entry.freed() {
                    let block = heap.region.at(entry.address);
                    let changed = first_other(block, entry.size + CANARY, FREED);
                    (Kind::UseAfterFree, changed)
                } else {
                    let canary = heap.region.at(entry.address + entry.size);
                    let changed = first_other_than_canary(canary).map(|at| entry.size + at);
                    (Kind::Overrun, changed)
                }
            };
            if let Some(at) = changed {
                found = Some((kind, entry, at));
                break;
            }
        }
        let (kind, entry, at) = found?;
        let site = Site {
            call: Call::Verify,
            pointer: entry.address,
            layout: None,
        };
        let block = Some(Block {
            address: entry.address,
            layout: entry.layout(),
            freed: entry.freed(),
        });
        let mut misuse = self.misuse(kind, site, block);
        misuse.offset = Some(at);
        Some(misuse)
    }

    /// Checks the layer's own invariants: every block in the table is found
    /// where it is, aligned, in the heap's memory; the quarantine holds
    /// exactly the freed blocks, and the counts agree.
    fn check<C: Config<N>, const N: usize>(&self, heap: &Heap<C, N>) -> Result<(), Corruption> {
        let (mut live, mut freed, mut freed_bytes, mut live_bytes) = (0, 0, 0, 0);
        for (slot, entry) in self.table.entries() {
            ensure(
                self.table.find(entry.address) == Some(slot),
                "a block of the checked layer's table is not found where it is",
                entry.address,
            )?;
            ensure(
                entry.address.is_multiple_of(entry.align()),
                "a block of the checked layer's table is misaligned",
                entry.address,
            )?;
            #[cfg(debug_assertions)]
            ensure(
                !heap.region.log.complete()
                    || heap.region.log.holds(entry.address, entry.size + CANARY),
                "a block of the checked layer's table lies outside the heap's memory",
                entry.address,
            )?;
            if entry.freed() {
                freed += 1;
                freed_bytes += entry.size + CANARY;
            } else {
                live += 1;
                live_bytes += entry.size;
            }
        }
        let _ = heap;
        ensure(
            freed == self.queued && freed_bytes == self.queued_bytes,
            "the quarantine's counts differ from the freed blocks in the table",
            freed,
        )?;
        ensure(
            live + freed == self.table.used() && live_bytes == self.live_bytes,
            "the checked layer counts other live blocks than its table",
            live,
        )?;
        for i in 0..self.queued {
            let address = self.ring[(self.oldest + i) % QUARANTINE_BLOCKS];
            let entry = self.table.find(address).map(|slot| self.table.entry(slot));
            ensure(
                entry.is_some_and(|entry| entry.freed()),
                "the quarantine holds a block that is not a freed block of the table",
                address,
            )?;
        }
        Ok(())
    }

    fn checks(&self) -> Checks {
        Checks {
            live_blocks: self.table.used() - self.queued,
            live_bytes: self.live_bytes,
            quarantined_blocks: self.queued,
            quarantined_bytes: self.queued_bytes,
            misuses: self.misuses,
        }
    }
}

/// The first byte of the canary at `canary` that changed.
///
/// # Safety
///
/// `canary` is valid for `CANARY` bytes.
unsafe fn first_other_than_canary(canary: *const u8) -> Option<usize> {
    // SAFETY: the caller's promise.
    let bytes = unsafe { canary.cast::<[u8; CANARY]>().read_unaligned() };
    (0..CANARY).find(|&i| bytes[i] != CANARY_PATTERN[i])
}

impl<C: Config<N>, const N: usize> CheckedGlobal<C, N> {
    /// A checked allocator, named `name` in its messages, that has obtained
    /// no memory yet.
    pub const fn new(name: &'static str) -> Self {
        Self {
            global: Global::new(),
            state: UnsafeCell::new(State::new(name)),
        }
    }

    /// Runs `f` on the heap and the layer's state under the lock;
    /// `refused` when the heap is in use by this thread (see
    /// `Global::with`).
    #[inline]
    fn with<R>(
        &self,
        refused: impl FnOnce() -> R,
        f: impl FnOnce(&mut Heap<C, N>, &mut State) -> R,
    ) -> R {
        self.global.with(refused, |heap| {
            // SAFETY: the lock is held, and the state, like the heap, is only
            // reached here: this is the only reference to it.
            f(heap, unsafe { &mut *self.state.get() })
        })
    }

    /// Reports `found`, if any, and returns `result`.
    #[inline]
    fn reported<R>(result: R, found: Option<Misuse>) -> R {
        if let Some(misuse) = found {
            check::report(&misuse);
        }
        result
    }

    /// `GlobalAlloc::alloc`, checked.
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::alloc`: `layout.size()` is not zero.
    pub unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (block, found) = self.with(
            || (null_mut(), None),
            // SAFETY: forwarded from the caller.
            |heap, state| unsafe { state.alloc(heap, layout, false) },
        );
        Self::reported(block, found)
    }

    /// `GlobalAlloc::alloc_zeroed`, checked.
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::alloc_zeroed`: `layout.size()` is not zero.
    pub unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let (block, found) = self.with(
            || (null_mut(), None),
            // SAFETY: forwarded from the caller.
            |heap, state| unsafe { state.alloc(heap, layout, true) },
        );
        Self::reported(block, found)
    }

    /// `GlobalAlloc::dealloc`, checked: a block that is not a live block
    /// of this allocator with this layout, or whose canary changed, is
    /// reported and left alone.
    ///
    /// # Safety
    ///
    /// None beyond `GlobalAlloc::dealloc`'s that the checks do not catch:
    /// `block`, if it is a live block of this allocator, is valid for
    /// `layout.size()` bytes and not used afterwards.
    pub unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let found = self.with(
            || None,
            // SAFETY: forwarded from the caller.
            |heap, state| unsafe { state.dealloc(heap, block, layout) },
        );
        Self::reported((), found)
    }

    /// `GlobalAlloc::realloc`, checked: a misused block is reported and
    /// left alone, and null returned.
    ///
    /// # Safety
    ///
    /// As for `dealloc`, and `new_size` is not zero and, rounded up to
    /// `layout.align()`, does not exceed `isize::MAX`.
    pub unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (block, found) = self.with(
            || (null_mut(), None),
            // SAFETY: forwarded from the caller.
            |heap, state| unsafe { state.realloc(heap, block, layout, new_size) },
        );
        Self::reported(block, found)
    }

    /// Forgets every block and resets the memory source, the table and the
    /// quarantine.
    ///
    /// # Safety
    ///
    /// As for [`Global::reset`].
    pub unsafe fn reset(&self) {
        self.with(
            || (),
            |heap, state| {
                heap.reset();
                *state = State::new(state.name);
            },
        )
    }

    /// As [`Global::memory`].
    ///
    /// # Safety
    ///
    /// As for [`Global::memory`].
    pub unsafe fn memory(&self, f: impl FnOnce(&mut C::Memory)) {
        // SAFETY: forwarded from the caller.
        unsafe { self.global.memory(f) }
    }

    /// Checks the heap's invariants and the layer's, and panics with the
    /// first that does not hold; then checks every live block's canary and
    /// every quarantined block's filling, and reports the first misuse.
    pub fn verify(&self) {
        let (checked, found) = self.with(
            || (Ok(()), None),
            |heap, state| match heap.check().and_then(|()| state.check(heap)) {
                Ok(()) => (Ok(()), state.scan(heap)),
                Err(corruption) => (Err(corruption), None),
            },
        );
        if let Err(corruption) = checked {
            panic!("{corruption}");
        }
        Self::reported((), found)
    }

    /// What the layer holds now.
    pub fn checks(&self) -> Checks {
        self.with(Checks::default, |_, state| state.checks())
    }
}

impl<C, const N: usize> CheckedGlobal<C, N>
where
    C: Config<N, Stats = Counters<N>>,
{
    /// As [`Global::stats`].
    pub fn stats(&self) -> Stats {
        self.global.stats()
    }
}
