//! The trace format: its header and each record's encoding (see the
//! [module documentation](super)).

use core::alloc::Layout;

/// The bytes a trace starts with.
pub const MAGIC: [u8; 4] = *b"LATR";
/// The trace format's version.
pub const VERSION: u8 = 2;

/// Kinds of records: the low three bits of a record's first byte (see the
/// [module documentation](crate::record)).
pub mod tag {
    /// `alloc`.
    pub const ALLOC: u8 = 0;
    /// `alloc_zeroed`.
    pub const ALLOC_ZEROED: u8 = 1;
    /// `dealloc`.
    pub const DEALLOC: u8 = 2;
    /// `realloc` that moved the block, or failed.
    pub const REALLOC: u8 = 3;
    /// `realloc` that kept the block where it was.
    pub const REALLOC_IN_PLACE: u8 = 4;
    /// The program's memory when recording started (wasm only).
    pub const MEMORY: u8 = 5;
    /// The trace stops here: memory for it, or writing it, failed.
    pub const TRUNCATED: u8 = 6;
    /// The trace ends here, complete.
    pub const END: u8 = 7;
    /// The mask of the kind in a record's first byte.
    pub const KIND: u8 = 7;
    /// An allocation's first byte holds the logarithm of its alignment
    /// shifted by this many bits; when it is [`ALIGN_ESCAPE`], the logarithm
    /// follows in a byte of its own.
    pub const ALIGN_SHIFT: u32 = 3;
    /// See [`ALIGN_SHIFT`].
    pub const ALIGN_ESCAPE: u8 = 31;
}

/// One record, encoded.
#[derive(Default)]
pub(super) struct Record {
    bytes: [u8; 32],
    len: usize,
}

impl Record {
    pub(super) fn byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    pub(super) fn varint(&mut self, mut value: u64) {
        loop {
            let low = (value & 0x7F) as u8;
            value >>= 7;
            if value == 0 {
                self.byte(low);
                return;
            }
            self.byte(low | 0x80);
        }
    }

    /// An address, as its difference from the previous one.
    pub(super) fn address(&mut self, address: usize, previous: &mut usize) {
        let delta = address.wrapping_sub(*previous) as isize as i64;
        self.varint(((delta << 1) ^ (delta >> 63)) as u64);
        *previous = address;
    }

    /// An allocation: its kind and alignment, address and size.
    pub(super) fn allocation(
        &mut self,
        kind: u8,
        layout: Layout,
        block: *mut u8,
        previous: &mut usize,
    ) {
        let log = layout.align().trailing_zeros() as u8;
        if log < tag::ALIGN_ESCAPE {
            self.byte(kind | log << tag::ALIGN_SHIFT);
        } else {
            self.byte(kind | tag::ALIGN_ESCAPE << tag::ALIGN_SHIFT);
            self.byte(log);
        }
        self.address(block.addr(), previous);
        self.varint(layout.size() as u64);
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The start of every trace.
pub(super) fn header() -> [u8; 6] {
    let [m0, m1, m2, m3] = MAGIC;
    [m0, m1, m2, m3, VERSION, size_of::<usize>() as u8]
}
