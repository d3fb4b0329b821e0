//! The checked layer's table of blocks: every block handed out and not yet
//! released from the quarantine, by address, with its layout. Open
//! addressing with linear probing, at most half full, in memory the heap
//! hands out (the layer grows it: see `State::reserve`).

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

    pub fn align(&self) -> usize {
        1 << (self.meta >> STATE_BITS & 63)
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

    /// The layout the block was allocated with.
    pub fn layout(&self) -> Layout {
        // SAFETY: recorded from a valid `Layout` (the alignment a power of
        // two, the size rounded up to it at most `isize::MAX`).
        unsafe { Layout::from_size_align_unchecked(self.size, self.align()) }
    }
}

/// The table: `mask + 1` slots (a power of two, or none), `used` of them
/// holding a block.
pub struct Table {
    slots: *mut Entry,
    mask: usize,
    /// `usize::BITS` minus the log2 of the slot count: the hash's shift.
    shift: u32,
    used: usize,
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
        const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
        let golden = (GOLDEN >> (64 - usize::BITS)) as usize;
        (address >> 2).wrapping_mul(golden) >> self.shift
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

    /// The slot holding `address`, if any.
    pub fn find(&self, address: usize) -> Option<usize> {
        if self.slots.is_null() || address == 0 {
            return None;
        }
        let mut slot = self.home(address);
        loop {
            let entry = self.get(slot);
            if entry.address == address {
                return Some(slot);
            }
            if entry.address == 0 {
                return None;
            }
            slot = (slot + 1) & self.mask;
        }
    }

    /// The block in `slot` (found with `find`).
    pub fn entry(&self, slot: usize) -> Entry {
        self.get(slot)
    }

    /// Replaces the block in `slot` with `entry`, at the same address.
    pub fn update(&mut self, slot: usize, entry: Entry) {
        debug_assert_eq!(self.get(slot).address, entry.address);
        self.set(slot, entry);
    }

    /// Adds a block whose address is not in the table.
    ///
    /// # Panics
    ///
    /// Never, when [`has_room`](Self::has_room) held (checked with debug
    /// assertions).
    pub fn insert(&mut self, entry: Entry) {
        debug_assert!(self.has_room() && entry.address != 0);
        let mut slot = self.home(entry.address);
        while self.get(slot).address != 0 {
            slot = (slot + 1) & self.mask;
        }
        self.set(slot, entry);
        self.used += 1;
    }

    /// Takes the block in `slot` out, shifting back the blocks after it
    /// that would otherwise no longer be found (no tombstones).
    pub fn remove(&mut self, slot: usize) {
        let mut hole = slot;
        let mut next = (hole + 1) & self.mask;
        loop {
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
                hole = next;
            }
            next = (next + 1) & self.mask;
        }
        self.set(hole, Entry::EMPTY);
        self.used -= 1;
    }

    /// Moves every block into `slots`, `count` empty slots (a power of two,
    /// zeroed), and returns the old memory and its size in bytes.
    ///
    /// # Safety
    ///
    /// `slots` is valid for `count` entries, aligned, and zeroed; `count`
    /// is a power of two larger than twice the blocks.
    pub unsafe fn move_to(&mut self, slots: *mut Entry, count: usize) -> (*mut u8, usize) {
        debug_assert!(count.is_power_of_two() && count >= 2 * self.used);
        let old = core::mem::replace(
            self,
            Table {
                slots,
                mask: count - 1,
                shift: usize::BITS - count.trailing_zeros(),
                used: 0,
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
