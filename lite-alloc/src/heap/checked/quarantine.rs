//! The quarantine: freed blocks filled with `FREED`, held in a ring of the
//! latest ones, and checked when they leave it for the heap.

use super::{Site, State, first_other};
use crate::check::{Block, CANARY, FREED, Kind, Misuse, QUARANTINE_BLOCKS, QUARANTINE_BYTES};
use crate::heap::{Config, Heap};

impl State {
    /// Fills the live block in `slot` (the caller's pointer `block`) with
    /// `FREED`, marks it freed and queues it, then releases the oldest
    /// blocks over the quarantine's bounds (never this one).
    ///
    /// # Safety
    ///
    /// The block in `slot` is live, `block` the caller's pointer to it
    /// (valid for its size), and the caller gives it up.
    pub(super) unsafe fn quarantine<C: Config<N>, const N: usize>(
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
    pub(super) fn release_oldest<C: Config<N>, const N: usize>(
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
    pub(super) fn flush<C: Config<N>, const N: usize>(
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
}
