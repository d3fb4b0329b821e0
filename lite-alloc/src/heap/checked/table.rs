//! The checked layer's table of blocks: every block handed out and not yet
//! released from the quarantine, by address, with its layout. Open
//! addressing with linear probing, at most half full, in memory the heap
//! hands out (the layer grows it: see `State::reserve`).
//!
//! That memory may have been a block freed earlier, whose owner may still
//! write to it through a stale pointer: the slots are not trusted. Every
//! probe is bounded, so that slots written full never make a search loop,
//! and the table keeps, outside its slots, the count of its blocks and the
//! sum of their seals (`Entry::seal`), which [`Table::intact`] compares
//! with the slots.

use core::alloc::Layout;
use core::ptr::null_mut;

/// One block: its address (0 in an empty slot), the size it was requested
/// with, and in `meta` two bits of state, its alignment's logarithm, and
/// above them the tag of the heap's word before it when it was handed out
/// (`LargeBlocks::tag`).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Entry {
    pub address: usize,
    pub size: usize,
    meta: usize,
}

/// Bit of `meta`: the block was freed (it waits in the quarantine, or is a
/// spare).
const FREED: usize = 1;
/// Bit of `meta`, with `FREED`: the block left the quarantine and is kept
/// by the layer for reuse, on its list of spares (see `State::spare`).
const SPARE: usize = 2;
/// Bits of `meta` below the alignment's logarithm.
const STATE_BITS: u32 = 2;
/// Bits of `meta` below the tag: the state, and six for the alignment's
/// logarithm (less than 64).
const TAG_SHIFT: u32 = STATE_BITS + 6;
const _: () = assert!(TAG_SHIFT + crate::heap::TAG_BITS == usize::BITS);

impl Entry {
    /// An empty slot.
    const EMPTY: Entry = Entry {
        address: 0,
        size: 0,
        meta: 0,
    };

    /// A block handed out at `address` for `size` bytes aligned to `align`,
    /// the heap's word before it tagged `tag` (less than `1 << TAG_BITS`).
    pub fn live(address: usize, size: usize, align: usize, tag: usize) -> Self {
        debug_assert!(tag >> crate::heap::TAG_BITS == 0);
        Entry {
            address,
            size,
            meta: tag << TAG_SHIFT | (align.trailing_zeros() as usize) << STATE_BITS,
        }
    }

    /// The alignment recorded: masked to a shift that cannot overflow, as
    /// a stale write may leave any bits in `meta`.
    pub fn align(&self) -> usize {
        1 << (self.meta >> STATE_BITS & (usize::BITS as usize - 1))
    }

    /// The tag of the heap's word before the block (`LargeBlocks::tag`).
    pub fn tag(&self) -> usize {
        self.meta >> TAG_SHIFT
    }

    pub fn freed(&self) -> bool {
        self.meta & FREED != 0
    }

    pub fn set_freed(&mut self) {
        self.meta |= FREED;
    }

    /// Whether the block is one of the layer's spares (freed too).
    pub fn spare(&self) -> bool {
        self.meta & SPARE != 0
    }

    pub fn set_spare(&mut self) {
        self.meta |= FREED | SPARE;
    }

    /// The entry's three words in one, wherever it lies: the size and
    /// `meta` turned by a third and two thirds of a word, so that a stale
    /// write that changes one word changes the seal, and one that changes
    /// several, unless the bits it changes line up. The quarantine compares
    /// it when a block leaves it; the table mixes it with the slot.
    pub fn seal(&self) -> usize {
        let third = usize::BITS / 3;
        self.address ^ self.size.rotate_left(third) ^ self.meta.rotate_left(2 * third)
    }

    /// The layout the block was allocated with. An entry a stale write
    /// reached may hold a size and an alignment that make none: it reads as
    /// a byte's, and no caller's layout is compared with this (`State::
    /// validate` compares the words), only reported once the table is
    /// known intact.
    pub fn layout(&self) -> Layout {
        Layout::from_size_align(self.size, self.align()).unwrap_or(Layout::new::<u8>())
    }
}

/// Fibonacci hashing's multiplier, in a word.
const GOLDEN: usize = (0x9E37_79B9_7F4A_7C15_u64 >> (64 - usize::BITS)) as usize;

/// A bijection of a word that spreads every bit over the high half: the
/// upper half folded into the lower, then a multiplication by an odd
/// constant.
fn mix(x: usize) -> usize {
    (x ^ x >> (usize::BITS / 2)).wrapping_mul(GOLDEN)
}

/// What the block `entry` in `slot` adds to the table's sum: its seal mixed
/// with the slot, so that an entry moved to another slot (two swapped, one
/// moved into an empty slot) changes the sum, as a changed word does (`mix`
/// is a bijection: one changed term always changes the sum; several cancel
/// out by chance alone, one in `2^usize::BITS`).
fn term(slot: usize, entry: &Entry) -> usize {
    mix(entry.seal() ^ slot)
}

/// The table: `mask + 1` slots (a power of two, or none), `used` of them
/// holding a block.
pub struct Table {
    slots: *mut Entry,
    mask: usize,
    /// `usize::BITS` minus the log2 of the slot count: the hash's shift.
    shift: u32,
    used: usize,
    /// The wrapping sum of the blocks' seals, each mixed with its slot
    /// (`term`).
    sealed: usize,
    /// A block found no empty slot within the probes an intact table needs
    /// (`insert`): its slots were written.
    damaged: bool,
}

/// The smallest table.
pub const MIN_SLOTS: usize = 64;

impl Table {
    /// No slots.
    pub const EMPTY: Self = Table {
        slots: null_mut(),
        mask: 0,
        shift: 0,
        used: 0,
        sealed: 0,
        damaged: false,
    };

    /// Blocks in the table.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Slots in the table (0 before the first block).
    pub fn slots(&self) -> usize {
        if self.slots.is_null() {
            0
        } else {
            self.mask + 1
        }
    }

    /// The table's memory, and its size in bytes.
    pub fn memory(&self) -> (*mut u8, usize) {
        (self.slots.cast(), self.slots() * size_of::<Entry>())
    }

    /// Whether one more block fits while keeping the table at most half
    /// full.
    pub fn has_room(&self) -> bool {
        (self.used + 1) * 2 <= self.slots()
    }

    /// The slot where the search for `address` starts (Fibonacci hashing
    /// of the address without its always-zero low bits).
    fn home(&self, address: usize) -> usize {
        (address >> 2).wrapping_mul(GOLDEN) >> self.shift
    }

    fn get(&self, slot: usize) -> Entry {
        debug_assert!(slot <= self.mask);
        // SAFETY: `slot <= mask`, inside the table's memory.
        unsafe { self.slots.add(slot).read() }
    }

    fn set(&mut self, slot: usize, entry: Entry) {
        debug_assert!(slot <= self.mask);
        // SAFETY: as in `get`.
        unsafe { self.slots.add(slot).write(entry) }
    }

    /// Whether the slots hold what the layer put there: `used` blocks
    /// whose seals, each mixed with its slot, add up to the sum kept
    /// outside them, and no block found without an empty slot (`damaged`).
    /// A walk of every slot: on error paths only, before a misuse found
    /// through the table is reported, and wherever the layer walks the
    /// table anyway.
    pub fn intact(&self) -> bool {
        let (mut count, mut sum) = (0usize, 0usize);
        for slot in 0..self.slots() {
            let entry = self.get(slot);
            if entry.address != 0 {
                count += 1;
                sum = sum.wrapping_add(term(slot, &entry));
            }
        }
        !self.damaged && count == self.used && sum == self.sealed
    }

    /// Whether a block found no empty slot (see `damaged`).
    pub fn damaged(&self) -> bool {
        self.damaged
    }

    /// The slot holding `address`, if any. In an intact table the blocks
    /// from `address`'s home slot up to the first empty one are at most
    /// `used`, so the search ends within `used + 1` probes: one that does
    /// not has met slots written (and `intact` says so).
    pub fn find(&self, address: usize) -> Option<usize> {
        if self.slots.is_null() || address == 0 {
            return None;
        }
        let mut slot = self.home(address);
        for _ in 0..=self.used {
            let entry = self.get(slot);
            if entry.address == address {
                return Some(slot);
            }
            if entry.address == 0 {
                return None;
            }
            slot = (slot + 1) & self.mask;
        }
        None
    }

    /// The block in `slot` (found with `find`).
    pub fn entry(&self, slot: usize) -> Entry {
        self.get(slot)
    }

    /// Replaces the block in `slot` with `entry`, at the same address.
    pub fn update(&mut self, slot: usize, entry: Entry) {
        let old = self.get(slot);
        debug_assert_eq!(old.address, entry.address);
        self.sealed = self
            .sealed
            .wrapping_sub(term(slot, &old))
            .wrapping_add(term(slot, &entry));
        self.set(slot, entry);
    }

    /// Adds a block whose address is not in the table, in the first empty
    /// slot from its home. In an intact table with room, one of the first
    /// `used + 1`; when none is, the slots were written: the block is not
    /// added, and the table is `damaged`.
    ///
    /// # Panics
    ///
    /// Never, when [`has_room`](Self::has_room) held (checked with debug
    /// assertions).
    pub fn insert(&mut self, entry: Entry) {
        debug_assert!(self.has_room() && entry.address != 0);
        let mut slot = self.home(entry.address);
        for _ in 0..=self.used {
            if self.get(slot).address == 0 {
                self.set(slot, entry);
                self.used += 1;
                self.sealed = self.sealed.wrapping_add(term(slot, &entry));
                return;
            }
            slot = (slot + 1) & self.mask;
        }
        self.damaged = true;
    }

    /// Takes the block in `slot` out, shifting back the blocks after it
    /// that would otherwise no longer be found (no tombstones). The walk
    /// ends at the first empty slot, within `used` slots in an intact
    /// table (its blocks are at most `used`), and after `used` in any.
    pub fn remove(&mut self, slot: usize) {
        let removed = self.get(slot);
        self.sealed = self.sealed.wrapping_sub(term(slot, &removed));
        let mut hole = slot;
        let mut next = (hole + 1) & self.mask;
        for _ in 0..self.used {
            let entry = self.get(next);
            if entry.address == 0 {
                break;
            }
            // The entry may fill the hole unless its home lies cyclically
            // in `(hole, next]`.
            let home = self.home(entry.address);
            let stays = if hole <= next {
                hole < home && home <= next
            } else {
                hole < home || home <= next
            };
            if !stays {
                self.set(hole, entry);
                self.sealed = self
                    .sealed
                    .wrapping_sub(term(next, &entry))
                    .wrapping_add(term(hole, &entry));
                hole = next;
            }
            next = (next + 1) & self.mask;
        }
        self.set(hole, Entry::EMPTY);
        // Saturating: in a table whose slots were written, `find` may give
        // a slot that no block of the count holds.
        self.used = self.used.saturating_sub(1);
    }

    /// Moves every block into `slots`, `count` empty slots (a power of two,
    /// zeroed), and returns the old memory and its size in bytes. The table
    /// is intact (the caller checked): the sum is made again from the
    /// blocks moved, so that slots written before would pass for sound.
    ///
    /// # Safety
    ///
    /// `slots` is valid for `count` entries, aligned, and zeroed; `count`
    /// is a power of two larger than twice the blocks.
    pub unsafe fn move_to(&mut self, slots: *mut Entry, count: usize) -> (*mut u8, usize) {
        debug_assert!(count.is_power_of_two() && count >= 2 * self.used && self.intact());
        let old = core::mem::replace(
            self,
            Table {
                slots,
                mask: count - 1,
                shift: usize::BITS - count.trailing_zeros(),
                used: 0,
                sealed: 0,
                damaged: false,
            },
        );
        for slot in 0..old.slots() {
            let entry = old.get(slot);
            if entry.address != 0 {
                self.insert(entry);
            }
        }
        old.memory()
    }

    /// Every block, in slot order.
    pub fn entries(&self) -> impl Iterator<Item = (usize, Entry)> + '_ {
        (0..self.slots())
            .map(|slot| (slot, self.get(slot)))
            .filter(|(_, entry)| entry.address != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, Table};

    const SLOTS: usize = 64;

    /// A table over `slots` holding 20 blocks.
    fn table(slots: &mut [Entry; SLOTS]) -> Table {
        let mut table = Table::EMPTY;
        // SAFETY: `SLOTS` empty entries, aligned, a power of two.
        unsafe { table.move_to(slots.as_mut_ptr(), SLOTS) };
        for i in 1..=20 {
            table.insert(Entry::live(i * 64, i, 8, i));
        }
        table
    }

    /// Any bit of any word written in a slot that holds a block, or of an
    /// empty slot's address, is seen; an empty slot's other words are never
    /// read (the slot stays empty), and are not.
    #[test]
    fn every_written_word_is_seen() {
        let words = size_of::<Entry>() / size_of::<usize>();
        for word in 0..SLOTS * words {
            for bit in [0, 5, usize::BITS - 1] {
                let mut slots = [Entry::EMPTY; SLOTS];
                let table = table(&mut slots);
                assert!(table.intact());
                let (slot, at) = (word / words, word % words);
                // SAFETY: a word of the table's slots, written as a stale
                // pointer would.
                let held = unsafe {
                    let slot = table.slots.add(slot);
                    let held = (*slot).address != 0;
                    *slot.cast::<usize>().add(at) ^= 1 << bit;
                    held
                };
                assert_eq!(table.intact(), !held && at != 0, "word {word}, bit {bit}");
            }
        }
    }

    /// An entry moved to another slot, every word as it was, is seen: a
    /// block's seal is mixed with its slot.
    #[test]
    fn a_moved_entry_is_seen() {
        let mut slots = [Entry::EMPTY; SLOTS];
        let table = table(&mut slots);
        let full = (0..SLOTS).find(|&i| table.get(i).address != 0).unwrap();
        for empty in (0..SLOTS).filter(|&i| table.get(i).address == 0) {
            // SAFETY: two slots of the table, swapped as a stale pointer
            // would, then put back.
            unsafe {
                core::ptr::swap(table.slots.add(full), table.slots.add(empty));
                assert!(!table.intact(), "{full} to {empty}");
                core::ptr::swap(table.slots.add(full), table.slots.add(empty));
            }
        }
        assert!(table.intact());
    }

    /// Slots written full: no search, insertion or removal goes on for
    /// ever, and the table says it was written.
    #[test]
    fn written_full_it_ends() {
        let mut slots = [Entry::EMPTY; SLOTS];
        let mut table = table(&mut slots);
        // SAFETY: the table's slots, every byte written.
        unsafe {
            table
                .slots
                .cast::<u8>()
                .write_bytes(0x41, size_of::<[Entry; SLOTS]>())
        };
        assert!(!table.intact());
        assert_eq!(table.find(64), None);
        table.insert(Entry::live(4096, 8, 8, 0));
        assert!(table.damaged() && table.used() == 20);
        table.remove(3);
        assert_eq!(table.used(), 19);
    }
}
