//! The quarantine: freed blocks filled with `FREED`, held in a ring of the
//! latest ones, and checked when they leave it for the heap.

use core::ptr::null_mut;

use super::{Queued, Site, State, first_other, inner_size, spilled};
use crate::check::{Block, CANARY, FREED, Kind, Misuse, QUARANTINE_BLOCKS, QUARANTINE_BYTES};
use crate::heap::{Config, Heap};
use crate::stats::Record;

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
        self.ring[(self.oldest + self.queued) % QUARANTINE_BLOCKS] = Queued {
            address: entry.address,
            seal: entry.seal(),
        };
        self.queued += 1;
        self.queued_bytes += entry.size + CANARY;
        while found.is_none() && self.queued > 1 && self.queued_bytes > QUARANTINE_BYTES {
            found = self.release_oldest(heap, site);
        }
        found
    }

    /// Takes the oldest block out of the quarantine: checks that it still
    /// holds `FREED` only and frees it in the heap (or keeps it as a spare);
    /// a block written since it was freed is reported and never freed (it
    /// stays out of circulation: a stale pointer may write to it again).
    /// Its entry not found, or not the one queued, the table was written
    /// (the layer goes blind), and nothing of the entry is followed.
    pub(super) fn release_oldest<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        site: Site,
    ) -> Option<Misuse> {
        debug_assert!(self.queued > 0);
        let Queued { address, seal } = self.ring[self.oldest % QUARANTINE_BLOCKS];
        self.oldest = (self.oldest + 1) % QUARANTINE_BLOCKS;
        self.queued -= 1;
        let Some(slot) = self.table.find(address) else {
            return Some(self.table_written(site));
        };
        let mut entry = self.table.entry(slot);
        if entry.seal() != seal {
            return Some(self.table_written(site));
        }
        let filled = entry.size + CANARY;
        self.queued_bytes -= filled;
        let block = heap.region.at(address);
        // SAFETY: the block holds `filled` bytes, freed by its owner: no one
        // else's pointer to it is in use (or the misuse is reported).
        if let Some(at) = unsafe { first_other(block, filled, FREED) } {
            self.table.remove(slot);
            let block = Some(Block {
                address,
                layout: entry.layout(),
                freed: true,
            });
            let mut misuse = self.misuse(Kind::UseAfterFree, site, block);
            misuse.offset = Some(at);
            return Some(misuse);
        }
        if spilled::<C, N>(entry.size, entry.align()) {
            // A spare: its first word links the next.
            // SAFETY: the block holds at least a word (a bin's size), the
            // heap's pointer to it, used by no one else.
            unsafe { block.cast::<usize>().write_unaligned(self.spare) };
            self.spare = address;
            self.spares += 1;
            entry.set_spare();
            self.table.update(slot, entry);
            return None;
        }
        // The heap's word before it, which a stale pointer may have written
        // while it waited: checked before the heap follows it. Found
        // written, the heap is poisoned, and the block kept out as below.
        let written = self.header_written(heap, slot, site);
        self.table.remove(slot);
        let inner = inner_size::<C, N>(entry.size, entry.align());
        debug_assert!(inner.is_some());
        if let Some(inner) = inner {
            if self.poisoned {
                // The heap takes nothing back (see `poisoned`): kept out of
                // it, and counted as the heap counts what it never reuses.
                heap.stats.leaked(inner);
            } else {
                // SAFETY: handed out by the heap for `inner` bytes and the
                // entry's alignment, freed by its owner; the heap's own
                // pointer to it.
                return unsafe { self.heap_dealloc(heap, block, inner, entry.align(), site) };
            }
        }
        written
    }

    /// Releases the quarantine's blocks, oldest first, until it is empty
    /// or a block is found written after it was freed: that misuse (the
    /// call is interrupted, reports it and is made again, so that every
    /// misuse is reported).
    pub(super) fn flush<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        site: Site,
    ) -> Option<Misuse> {
        while self.queued > 0 {
            if let Some(misuse) = self.release_oldest(heap, site) {
                return Some(misuse);
            }
        }
        None
    }

    /// The first spare aligned to `align`, taken off the list (null: none,
    /// or the first is not aligned enough), and a misuse: a spare written
    /// after it left the quarantine, never handed out. Such a spare's link
    /// cannot be trusted: the spares after it are dropped from the list
    /// and the table, never to be handed out (memory lost, not corrupted).
    pub(super) fn take_spare<C: Config<N>, const N: usize>(
        &mut self,
        heap: &Heap<C, N>,
        align: usize,
        site: Site,
    ) -> (*mut u8, Option<Misuse>) {
        let address = self.spare;
        if address == 0 || !address.is_multiple_of(align) {
            return (null_mut(), None);
        }
        // The spare's entry, not found or not a spare's, was written in the
        // table: its size (which bounds the read below) is not followed.
        let found = self
            .table
            .find(address)
            .map(|slot| (slot, self.table.entry(slot)));
        let Some((slot, entry)) =
            found.filter(|(_, entry)| entry.spare() && spilled::<C, N>(entry.size, entry.align()))
        else {
            return (null_mut(), Some(self.table_written(site)));
        };
        let block = heap.region.at(address);
        // SAFETY: a spare holds `size + CANARY` bytes, the first word the
        // link, the rest `FREED` as it left the quarantine.
        let (next, changed) = unsafe {
            let word = size_of::<usize>();
            let next = block.cast::<usize>().read_unaligned();
            let changed =
                first_other(block.add(word), entry.size + CANARY - word, FREED).map(|at| at + word);
            (next, changed)
        };
        // A link to the spare itself (a stale pointer's `node.next = node`)
        // would put the block handed out now back at the list's head.
        let linked = next == 0
            || next != address
                && self
                    .table
                    .find(next)
                    .is_some_and(|slot| self.table.entry(slot).spare());
        self.table.remove(slot);
        // Still found, its entry was copied into the table by a stale
        // write: the block is not handed out while the table claims it.
        if self.table.find(address).is_some() {
            return (null_mut(), Some(self.table_written(site)));
        }
        self.spares -= 1;
        self.spare = next;
        if changed.is_none() && linked {
            return (block, None);
        }
        // The link to a spare not found, or the spare found changed, may be
        // the table's slots written rather than the spare.
        if !self.table.intact() {
            return (null_mut(), Some(self.table_written(site)));
        }
        if !linked {
            self.drop_spares();
        }
        let known = Some(Block {
            address,
            layout: entry.layout(),
            freed: true,
        });
        let mut misuse = self.misuse(Kind::UseAfterFree, site, known);
        misuse.offset = Some(changed.unwrap_or(0));
        (null_mut(), Some(misuse))
    }

    /// Forgets every spare (their list was written through a stale
    /// pointer): out of the table, never handed out.
    fn drop_spares(&mut self) {
        loop {
            let spare = self.table.entries().find(|(_, entry)| entry.spare());
            let Some((slot, _)) = spare else { break };
            self.table.remove(slot);
        }
        self.spare = 0;
        self.spares = 0;
    }
}
