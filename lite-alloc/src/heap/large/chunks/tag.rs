//! The words of a chunk, named: its header and the flags in it, a free
//! chunk's links and footer, the marker before an over-aligned block, and
//! the fence that closes a region.
//!
//! ```text
//!   chunk     chunk + WORD (payload)                     chunk + size - WORD
//!   ┌────────┬──────────┬──────────┬── ... ──┬────────┐
//!   │ header │ next     │ prev     │         │ footer │  free chunk
//!   └────────┴──────────┴──────────┴── ... ──┴────────┘
//!   ┌────────┬───────────────────────────────────────────┐
//!   │ header │ payload handed out ...                    │  chunk in use
//!   └────────┴───────────────────────────────────────────┘
//! ```

/// Bytes of a word: headers, footers and links.
pub const WORD: usize = size_of::<usize>();

/// The unit of chunk sizes, and the alignment of every payload: two words
/// (8 bytes on wasm32, 16 on 64-bit targets), as in dlmalloc. Requests
/// aligned to more take the over-aligned path.
pub const GRAIN: usize = 2 * WORD;

/// The smallest chunk: a header, two links and a footer (two grains).
pub const MIN_CHUNK: usize = 4 * WORD;

/// A chunk's first word: its size (a multiple of [`GRAIN`], so its three low
/// bits are free) and three flags.
///
/// | bit | name | set when |
/// |---|---|---|
/// | 0 | [`IN_USE`](Header::IN_USE) | the chunk is handed out (or a slab, or the fence) |
/// | 1 | [`PREV_FREE`](Header::PREV_FREE) | the chunk before it is free: only then is its footer read (never on a region's first chunk) |
/// | 2 | [`OFFSET`](Header::OFFSET) | not a header but a marker, the word before an over-aligned block: the rest is the distance back to its chunk's payload |
///
/// A free chunk's header is its size, with no flag set: it is not in use,
/// the chunk before it is (no two free chunks are neighbours), and it is no
/// marker. Its size is then read without a mask ([`free_size`]), and
/// written as is. (With bit 1 meaning the opposite, as in dlmalloc, every
/// free chunk would carry it.)
///
/// [`free_size`]: Header::free_size
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct Header(pub usize);

impl Header {
    /// Bit 0: the chunk is in use.
    pub const IN_USE: usize = 1;
    /// Bit 1: the chunk before is free (its footer holds its size).
    pub const PREV_FREE: usize = 2;
    /// Bit 2: a marker before an over-aligned block, not a header.
    pub const OFFSET: usize = 4;
    /// The bits that are flags, not size.
    pub const FLAGS: usize = 7;
    /// The header that closes a region the heap gave up: in use, of size 0,
    /// so that the chunk before it never merges past it.
    pub const FENCE: Header = Header(Self::IN_USE);

    /// The size of the chunk (or the distance a marker gives).
    #[inline(always)]
    pub fn size(self) -> usize {
        self.0 & !Self::FLAGS
    }

    /// The size of a free chunk, whose header is its size and no flag: the
    /// word as it is. A header that is not a free chunk's gives a value
    /// with flags, no chunk's size (which a checked type's `sound`
    /// rejects).
    #[inline(always)]
    pub fn free_size(self) -> usize {
        self.0
    }

    /// The flag bits.
    #[inline(always)]
    pub fn flags(self) -> usize {
        self.0 & Self::FLAGS
    }

    /// Whether the chunk is in use.
    #[inline(always)]
    pub fn in_use(self) -> bool {
        self.0 & Self::IN_USE != 0
    }

    /// Whether the chunk before is in use.
    #[inline(always)]
    pub fn prev_in_use(self) -> bool {
        self.0 & Self::PREV_FREE == 0
    }

    /// Whether the word is a marker before an over-aligned block.
    #[inline(always)]
    pub fn is_marker(self) -> bool {
        self.0 & Self::OFFSET != 0
    }
}

/// The payload of the chunk at `chunk`: the word after its header.
#[inline(always)]
pub const fn payload(chunk: usize) -> usize {
    chunk + WORD
}

/// The chunk whose payload is at `payload`.
#[inline(always)]
pub const fn chunk_of(payload: usize) -> usize {
    payload - WORD
}

/// Where a free chunk's link to the next free chunk of its list lies:
/// [`next_link`]'s offset.
pub const NEXT: usize = WORD;

/// Where a free chunk's link to the previous one lies: [`prev_link`]'s
/// offset.
pub const PREV: usize = 2 * WORD;

/// A free chunk's link to the next free chunk of its list: its first
/// payload word.
///
/// Added without a wrap (`unchecked_add`), which the compiler folds into
/// the access, as the offset of a wasm32 load or store.
///
/// # Safety
///
/// `chunk` is a chunk of this heap: its links lie inside it, in memory
/// the heap obtained, so the address does not overflow.
#[inline(always)]
pub const unsafe fn next_link(chunk: usize) -> usize {
    // SAFETY: the caller's promise.
    unsafe { chunk.unchecked_add(NEXT) }
}

/// A free chunk's link to the previous free chunk of its list (0 at the
/// head): its second payload word.
///
/// # Safety
///
/// As for [`next_link`].
#[inline(always)]
pub const unsafe fn prev_link(chunk: usize) -> usize {
    // SAFETY: the caller's promise.
    unsafe { chunk.unchecked_add(PREV) }
}

/// A free chunk's footer, its size: its last word.
#[inline(always)]
pub const fn footer(chunk: usize, size: usize) -> usize {
    chunk + size - WORD
}

/// The chunk size serving `size` bytes: with the header, rounded up to
/// [`GRAIN`], at least [`MIN_CHUNK`].
///
/// No overflow: `size` is at most `isize::MAX` (a `Layout`'s).
#[inline(always)]
pub const fn chunk_size(size: usize) -> usize {
    // Below `MIN_CHUNK - WORD` bytes, as many: every such size rounds up
    // to `MIN_CHUNK`.
    let size = if size < MIN_CHUNK - WORD {
        MIN_CHUNK - WORD
    } else {
        size
    };
    (size + WORD + (GRAIN - 1)) & !(GRAIN - 1)
}

/// Whether a chunk may start at `address`: its payload is then
/// `GRAIN`-aligned. Asked of addresses read from free chunks' words, which
/// a stale write may have set to anything: one whose payload would lie
/// past the top of the address space is no chunk's (rather than an
/// overflow, or a payload wrapped to 0 that looks aligned).
#[inline(always)]
pub const fn anchored(address: usize) -> bool {
    match address.checked_add(WORD) {
        Some(payload) => payload.is_multiple_of(GRAIN),
        None => false,
    }
}
