//! What `verify()` adds in the checked mode: every live block's canary and
//! every quarantined block's filling, and the layer's own invariants.

use super::{Site, State, first_other, first_other_than_canary, spilled};
use crate::check::{Block, CANARY, Call, Checks, FREED, Kind, Misuse, QUARANTINE_BLOCKS};
use crate::heap::check::{Corruption, ensure};
use crate::heap::{Config, Heap, LargeBlocks};

impl State {
    /// Checks every live block's canary and every quarantined block's
    /// filling: the first misuse.
    pub(super) fn scan<C: Config<N>, const N: usize>(
        &mut self,
        heap: &Heap<C, N>,
    ) -> Option<Misuse> {
        let mut found = None;
        for (_, entry) in self.table.entries() {
            // SAFETY: every block in the table holds `size + CANARY` bytes
            // of the heap's memory (a spare at least a word's worth: a bin's
            // size).
            let (kind, changed) = unsafe {
                if entry.freed() {
                    // A spare's first word links the next spare.
                    let skip = if entry.spare() { size_of::<usize>() } else { 0 };
                    let block = heap.region.at(entry.address + skip);
                    let changed = first_other(block, entry.size + CANARY - skip, FREED);
                    (Kind::UseAfterFree, changed.map(|at| at + skip))
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

    /// Checks the heap's word before every block of the table that the
    /// heap holds (live, or waiting in the quarantine): the first found
    /// written (see `header_written`), which poisons the heap. Before the
    /// heap's own checks, which would take it for the heap's fault.
    pub(super) fn scan_headers<C: Config<N>, const N: usize>(
        &mut self,
        heap: &Heap<C, N>,
    ) -> Option<Misuse> {
        if !C::Large::TAGGED || self.poisoned {
            return None;
        }
        if let Some(at) = self.table_header_change(heap) {
            let site = Site {
                call: Call::Verify,
                pointer: at,
                layout: None,
            };
            return Some(self.table_header_misuse(at, site));
        }
        let (entry, at) = self
            .table
            .entries()
            .filter(|(_, entry)| !entry.spare())
            .find_map(|(_, entry)| Some((entry, Self::header_change(heap, &entry)?)))?;
        let site = Site {
            call: Call::Verify,
            pointer: entry.address,
            layout: None,
        };
        Some(self.header_misuse(&entry, at, site))
    }

    /// Checks the layer's own invariants: every block in the table is found
    /// where it is, aligned, in the heap's memory; the quarantine holds
    /// exactly the freed blocks, and the counts agree.
    pub(super) fn check<C: Config<N>, const N: usize>(
        &self,
        heap: &Heap<C, N>,
    ) -> Result<(), Corruption> {
        let (mut live, mut freed, mut freed_bytes, mut live_bytes, mut spares) = (0, 0, 0, 0, 0);
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
            if entry.spare() {
                spares += 1;
                ensure(
                    spilled::<C, N>(entry.size, entry.align()),
                    "a spare of the checked layer is not of a spilled size",
                    entry.address,
                )?;
            } else if entry.freed() {
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
            live + freed + spares == self.table.used() && live_bytes == self.live_bytes,
            "the checked layer counts other live blocks than its table",
            live,
        )?;
        ensure(
            spares == self.spares,
            "the checked layer counts other spares than its table",
            spares,
        )?;
        ensure(
            !self.poisoned || self.misuses > 0,
            "the checked layer took its heap for poisoned with no misuse reported",
            0,
        )?;
        // The first spare is one (the links after it are the spares' own
        // words, checked when each is taken).
        ensure(
            self.spare == 0
                || self
                    .table
                    .find(self.spare)
                    .is_some_and(|slot| self.table.entry(slot).spare()),
            "the checked layer's first spare is not a spare of its table",
            self.spare,
        )?;
        for i in 0..self.queued {
            let queued = self.ring[(self.oldest + i) % QUARANTINE_BLOCKS];
            let entry = self
                .table
                .find(queued.address)
                .map(|slot| self.table.entry(slot));
            ensure(
                entry.is_some_and(|entry| entry.freed() && entry.seal() == queued.seal),
                "the quarantine holds a block that is not a freed block of the table",
                queued.address,
            )?;
        }
        Ok(())
    }

    pub(super) fn checks(&self) -> Checks {
        Checks {
            live_blocks: self.table.used() - self.queued - self.spares,
            live_bytes: self.live_bytes,
            quarantined_blocks: self.queued,
            quarantined_bytes: self.queued_bytes,
            spare_blocks: self.spares,
            misuses: self.misuses,
        }
    }
}
