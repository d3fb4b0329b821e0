//! `large = coalesce`: blocks no bin serves are chunks with boundary tags,
//! split when too big and merged with free neighbours when freed, so that
//! freed memory serves requests of any size. With no bins (`bins = []`),
//! every block is a chunk, as in dlmalloc.
//!
//! # Layout
//!
//! * A chunk is a header word and a payload, `GRAIN`-aligned, of a size
//!   that is a multiple of `GRAIN` (two words: 8 bytes on wasm32, 16 on
//!   64-bit targets); see [`tag`] for every word. A request of `n` bytes
//!   takes a chunk of `n` plus the header, rounded up to it (and at least
//!   `MIN_CHUNK`, four words): a 12-byte request takes 16 bytes on wasm32,
//!   a 20-byte one 24. Requests aligned to more than `GRAIN` take a chunk
//!   `align` bytes larger, with a marker before the block that leads back to
//!   the chunk.
//! * A free chunk holds the next and previous free chunk of its list in its
//!   first two payload words (doubly linked, so that a neighbour can be
//!   taken out of its list when merged), and its size in its last word.
//! * Free chunks are listed by size: four lists per power of two (the grid
//!   of [`class_of`]), each holding chunks of at least its size, and a
//!   bitmap of the lists that are not empty, so that a request takes the
//!   head of the first non-empty list at or above its size, in constant
//!   time.
//! * Bins, if there are any, are carved from slabs ([`slab`]): chunks in use
//!   forever, so that every chunk's neighbours are chunks with headers.
//! * The unused memory `[top, end)` follows the last chunk, which is always
//!   in use (a free chunk there joins it). A region's first chunk starts
//!   where its payload is `GRAIN`-aligned (`skip`), so `top + WORD` stays
//!   `GRAIN`-aligned; and `WORD` bytes at the end of a region stay free
//!   (`TAIL`), so that a region given up (other code grew memory in between)
//!   can be closed with a fence: a header in use, of size 0.
//!
//! # Invariants (with those of the heap)
//!
//! 6. Every chunk of a region lies between its first chunk and `top` (or
//!    the fence that closed the region), one after the other; no two free
//!    chunks are next to each other; every free chunk is in the list of its
//!    size, with its footer written, and each list's bit is set exactly
//!    when the list is not empty.
//! 7. A header's bit 1 is set exactly when the chunk before it is free
//!    (never on the first chunk of its region); a free chunk's header is
//!    its size, with no flag set.
//!
//! [`class_of`]: super::super::class::class_of

mod check;
mod lists;
mod slab;
pub mod tag;

use core::ptr::{self, NonNull, null_mut};

use super::super::check::Corruption;
use super::super::class;
use super::super::region::HighWater;
use super::super::{Config, Heap};
use super::LargeBlocks;
use crate::stats::Record;
use lists::floor_list;
use tag::{GRAIN, Header, WORD, chunk_of, chunk_size, footer, payload};

/// The number of chunk lists: four for each power of two from 16 bytes up.
pub const CHUNK_LISTS: usize = 4 * (usize::BITS - 4) as usize;

/// A word of the bitmap of lists that hold a chunk. On wasm32, whose
/// 64-bit integers are as native as its 32-bit ones, 64 bits: its 112 lists
/// then take two words instead of four, fewer for the search and for the
/// speed build's test for an empty heap to look at, and less code.
/// Elsewhere the register's width: on thumb a 64-bit word takes two
/// registers, and more code.
///
/// The tests on i686 run the 32-bit words that thumb runs; wasm32's are
/// run by the same tests on `wasm32-wasip1` and by the wasm suite, under
/// Node, with the heap's checks after every operation.
#[cfg(target_arch = "wasm32")]
type MapWord = u64;
/// See the other definition.
#[cfg(not(target_arch = "wasm32"))]
type MapWord = usize;

/// Bits in a word of the bitmap.
const MAP_BITS: usize = MapWord::BITS as usize;

/// Words of the bitmap: at least `CHUNK_LISTS + 1` bits, so that the
/// search from the list after any size's own (at most `CHUNK_LISTS`)
/// starts in a word of the bitmap without a bounds check. The bits from
/// `CHUNK_LISTS` up are never set.
const MAP_WORDS: usize = (CHUNK_LISTS + 1).div_ceil(MAP_BITS);
const _: () = assert!(CHUNK_LISTS < MAP_WORDS * MAP_BITS);
const _: () = assert!(MAP_WORDS.is_power_of_two());

/// Blocks no bin serves are chunks with boundary tags, split and merged;
/// bins carve from slabs.
pub struct Chunks;

/// The state of [`Chunks`].
pub struct ChunkState {
    /// The head of each list: null, or a free chunk of at least the list's
    /// lower bound ([`class_of`](super::super::class::class_of)) and below
    /// the next list's.
    lists: [*mut u8; CHUNK_LISTS],
    /// Which lists hold a chunk (a bit each).
    map: [MapWord; MAP_WORDS],
    /// Where bins carve next.
    slab: slab::Slab,
    /// Every slab, for `check`.
    #[cfg(debug_assertions)]
    slabs: slab::SlabLog,
    /// In a checked type (`Config::CHECKED`), the lowest address of a chunk
    /// put in a list so far, and one past the highest such chunk's end (0
    /// and 0: none yet): a link to anywhere else is not one the heap
    /// wrote. Never written otherwise.
    span: (usize, usize),
    /// In a checked type, a free chunk's words (its links, size or footer)
    /// were found to be other than the heap wrote: a stale pointer wrote
    /// them. The lists were emptied then, and the checked layer uses them
    /// no more (see `may_unlink`). Never set otherwise.
    broken: bool,
}

impl ChunkState {
    /// Empties every list, as a checked type's `may_unlink` does when a
    /// chunk's words are not the heap's, and says so (`broken`): the free
    /// chunks are forgotten, and the layer above takes no more from the
    /// lists.
    fn forget(&mut self) {
        self.lists = [null_mut(); CHUNK_LISTS];
        self.map = [0; MAP_WORDS];
        self.broken = true;
    }
}

#[cfg(test)]
impl ChunkState {
    /// Sets the bitmap's first bit past the last list, as a bug would.
    pub(in crate::heap) fn set_spare_bit(&mut self) {
        self.map[CHUNK_LISTS / MAP_BITS] |= 1 << (CHUNK_LISTS % MAP_BITS);
    }
}

// SAFETY: chunks are carved from the bump pointer at `chunk_size(size)` (at
// least the payload asked for, aligned to `GRAIN`) or taken from a list,
// which holds only free chunks of at least its size (invariant 6); a chunk
// in use is no one else's until freed; over-aligned blocks lie inside a
// chunk `align` bytes larger. Slabs are chunks in use for good, and a bin
// block is carved wholly inside one. `close` writes its fence in the word
// `TAIL` keeps free.
unsafe impl LargeBlocks for Chunks {
    type State = ChunkState;
    const INIT: Self::State = ChunkState {
        lists: [null_mut(); CHUNK_LISTS],
        map: [0; MAP_WORDS],
        slab: slab::Slab::EMPTY,
        #[cfg(debug_assertions)]
        slabs: slab::SlabLog::EMPTY,
        span: (0, 0),
        broken: false,
    };
    type Fresh = HighWater;
    const SERVES_ALL: bool = true;
    const TAIL: usize = WORD;
    const SLACK: usize = GRAIN - 1 + WORD;

    #[inline(always)]
    fn capacity<C: Config<N, Large = Self>, const N: usize>(size: usize, _: usize) -> usize {
        chunk_size(size)
    }

    #[inline(always)]
    fn carve_bin<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        size: usize,
        align: usize,
        zero: usize,
    ) -> *mut u8 {
        heap.slab_carve(size, align, zero)
    }

    #[inline(always)]
    fn alloc<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        size: usize,
        align: usize,
        zero: usize,
    ) -> *mut u8 {
        // Built for speed, a chunk carved from the unused memory while no
        // chunk is free (a program that frees what it allocated last) is
        // carved here, in the caller, without a call into the heap: the
        // call would cost more than the carving. Anything else, and a
        // region without room, is `alloc_chunk`'s.
        #[cfg(not(opt_level_size))]
        if align <= GRAIN
            && heap.no_free_chunk()
            && let Some(payload) = heap.carve_chunk(chunk_size(size), zero)
        {
            return payload.as_ptr();
        }
        // Chunks align their payloads to `GRAIN`, and more only when asked.
        heap.alloc_chunk(size, align, zero)
    }

    #[inline(always)]
    unsafe fn free<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        block: *mut u8,
        size: usize,
        _: usize,
    ) {
        // Built for speed, the last chunk joins the unused memory here, in
        // the caller, as `alloc` carves it.
        //
        // SAFETY: as below.
        #[cfg(not(opt_level_size))]
        if unsafe { heap.free_at_top(block) } {
            return;
        }
        // SAFETY: a block no bin serves is a chunk in use (or lies in one),
        // which the caller gives up.
        unsafe { heap.chunk_free((block, size)) };
    }

    #[inline(always)]
    unsafe fn resize<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        block: *mut u8,
        old_size: usize,
        new_size: usize,
        align: usize,
    ) -> bool {
        // A chunk resizes in place (shrinking frees its tail, growing takes
        // its free neighbour or the unused memory), unless it would become a
        // bin block: then it moves. Bin blocks lie in slabs and never grow:
        // one stays where it is exactly when the new size is of its own bin
        // (freed with that size, it goes back to the list it was carved
        // for, and so is aligned for it).
        if let Some(bin) = Heap::<C, N>::bin(old_size, align) {
            return Heap::<C, N>::bin(new_size, align) == Some(bin);
        }
        let payload = heap.region.at(block.addr());
        // SAFETY: a large block aligned to at most `GRAIN` is the payload
        // of a chunk in use, the caller's (over-aligned ones, inside a
        // larger chunk, move).
        align <= GRAIN
            && Heap::<C, N>::bin(new_size, align).is_none()
            && unsafe { heap.chunk_resize(payload, new_size) }
    }

    #[inline(always)]
    fn skip(start: usize) -> usize {
        // To where a chunk's payload is `GRAIN`-aligned.
        start.wrapping_add(WORD).wrapping_neg() & (GRAIN - 1)
    }

    #[inline(always)]
    unsafe fn close(top: *mut u8, end: usize) {
        // Every region keeps a word of room at its end (`TAIL`: see
        // `Heap::grow` and `bump`): the fence goes there, so that its last
        // chunk never looks past it. Before the first region there is
        // nothing to close.
        if end != 0 {
            // SAFETY: the word lies in `[top, end)`, the heap's, aligned.
            unsafe { top.cast::<Header>().write(Header::FENCE) };
        }
    }

    fn check<C: Config<N, Large = Self>, const N: usize>(
        heap: &Heap<C, N>,
    ) -> Result<(), Corruption> {
        heap.check_chunks()
    }

    #[inline(always)]
    fn broken(state: &ChunkState) -> bool {
        state.broken
    }

    const TAGGED: bool = true;

    /// The tag describes exactly what the heap wrote before the block,
    /// with the size the layout already gives left out. Bit 0: whether a
    /// marker lies there (an over-aligned block inside its chunk, which
    /// always has one); bit 1: whether the chunk is a grain longer than the
    /// block's chunk size (`need`: split from a larger chunk only when the
    /// rest makes a chunk, so that is all it can be); above, a marker's
    /// distance in grains. A distance that does not fit (from a grain short
    /// of 32 MiB up, on 32-bit targets: only a block aligned to 32 MiB or
    /// more has one) is `UNTAGGED`: such blocks are not checked. (A block
    /// aligned so far whose chunk's payload happens to lie nearer, less
    /// than that distance before it, is tagged and checked like any.)
    #[inline(always)]
    unsafe fn tag<C: Config<N, Large = Self>, const N: usize>(
        heap: &Heap<C, N>,
        block: *mut u8,
        size: usize,
        align: usize,
    ) -> usize {
        if Heap::<C, N>::bin(size, align).is_some() {
            // A bin block, in a slab: no word of its own.
            return 0;
        }
        let before = chunk_of(block.addr());
        let need = need(size, align);
        // SAFETY: a live block no bin serves is a chunk's payload, after
        // its header, or an over-aligned block inside one, after its
        // marker, which leads back to the chunk's payload (the caller's
        // promise): the heap's words, as it wrote them.
        let (word, header) = unsafe {
            let word = heap.header(before);
            let header = if word.is_marker() {
                heap.header(before - word.size())
            } else {
                word
            };
            (word, header)
        };
        let longer = header.size() - need;
        debug_assert!(longer == 0 || longer == GRAIN, "{longer}");
        let longer = usize::from(longer != 0) << 1;
        if !word.is_marker() {
            return longer;
        }
        let grains = word.size() / GRAIN;
        if grains >= UNTAGGED >> 2 {
            return UNTAGGED;
        }
        grains << 2 | longer | 1
    }

    unsafe fn changed<C: Config<N, Large = Self>, const N: usize>(
        heap: &Heap<C, N>,
        block: *mut u8,
        size: usize,
        align: usize,
        tag: usize,
    ) -> Option<usize> {
        if tag == UNTAGGED || Heap::<C, N>::bin(size, align).is_some() {
            return None;
        }
        // What the chunk's header says when the block is as tagged (the
        // flag of the chunk before aside, which its neighbour changes).
        let header = (need(size, align) + (tag >> 1 & 1) * GRAIN) | Header::IN_USE;
        let before = chunk_of(block.addr());
        // SAFETY: as in `tag`: the word before the block is the heap's.
        let word = unsafe { heap.read(before) };
        if tag & 1 == 0 {
            return (word & !Header::PREV_FREE != header).then_some(before);
        }
        // The marker, exactly, before it is followed: then the chunk lies
        // where it did.
        let distance = (tag >> 2) * GRAIN;
        if word != distance | Header::OFFSET {
            return Some(before);
        }
        let chunk = before - distance;
        // SAFETY: the header of the chunk in use holding the block.
        let word = unsafe { heap.read(chunk) };
        (word & !Header::PREV_FREE != header).then_some(chunk)
    }
}

/// The tag of a block that is not checked (see `tag`): no other tag has all
/// its bits set.
const UNTAGGED: usize = (1 << super::TAG_BITS) - 1;

/// What `bump` or `carve` is asked to clear of a chunk whose payload's
/// first `zero` bytes must read as zero: counted from the chunk's start,
/// its header (written afterwards) included; nothing when `zero` is 0.
#[inline(always)]
fn zero_from_chunk(zero: usize) -> usize {
    if zero > 0 { zero + WORD } else { 0 }
}

/// The chunk size `alloc_chunk` asks for a block of `size` bytes aligned to
/// `align`: `chunk_size(size)`, and `align` more for an over-aligned block.
#[inline(always)]
fn need(size: usize, align: usize) -> usize {
    chunk_size(size) + (align & !(2 * GRAIN - 1))
}

impl<C: Config<N, Large = Chunks>, const N: usize> Heap<C, N> {
    /// The word at `address`, with the heap's provenance.
    #[inline(always)]
    pub(super) fn word(&self, address: usize) -> *mut usize {
        self.region.at(address).cast()
    }

    /// The word `offset` bytes after `chunk`: written this way rather than
    /// as one address so that the offset stays a constant of the access
    /// (on wasm32, the load's or store's immediate).
    ///
    /// # Safety
    ///
    /// Both addresses lie in one region of this heap (the current one may
    /// be several of the memory source's, each continuing the one before).
    #[inline(always)]
    pub(super) unsafe fn field(&self, chunk: usize, offset: usize) -> *mut usize {
        // SAFETY: the caller's promise; a region is one allocated object,
        // also when the source's regions continue each other (the `Memory`
        // contract), and `word` gives `chunk` its provenance.
        unsafe { self.word(chunk).byte_add(offset) }
    }

    /// Reads the word at `address`.
    ///
    /// # Safety
    ///
    /// `address` is a header, footer or link word of a chunk of this heap.
    #[inline(always)]
    pub(super) unsafe fn read(&self, address: usize) -> usize {
        // SAFETY: the caller's promise; the heap's pointers reach all of its
        // memory (invariant 4).
        unsafe { self.word(address).read() }
    }

    /// Reads the header of the chunk at `chunk`.
    ///
    /// # Safety
    ///
    /// `chunk` is a chunk of this heap (or a fence).
    #[inline(always)]
    pub(super) unsafe fn header(&self, chunk: usize) -> Header {
        // SAFETY: the caller's promise.
        Header(unsafe { self.read(chunk) })
    }

    /// Writes the word at `address`, which no live block covers.
    ///
    /// # Safety
    ///
    /// As for `read`.
    #[inline(always)]
    pub(super) unsafe fn put(&self, address: usize, value: usize) {
        // SAFETY: the caller's promise; the heap's pointers reach all of its
        // memory (invariant 4).
        unsafe { self.word(address).write(value) }
    }

    /// Writes the word at `address`.
    ///
    /// # Safety
    ///
    /// As for `read`, and no live block covers the word, except one whose
    /// caller's pointer and length are `caller`: then the word is written
    /// through that pointer when the block covers it (the caller's pointer
    /// may still be protected: a `Box` being dropped).
    #[inline(always)]
    pub(super) unsafe fn write(&self, address: usize, value: usize, caller: (*mut u8, usize)) {
        let (block, len) = caller;
        // The word's offset into the block, which wraps to more than any
        // block's length when the word lies before it: one comparison, so
        // that the compiler sees that both pointers below hold `address`
        // and stores without a test (with two, it keeps the test and
        // selects a pointer at run time on targets with strict provenance).
        let offset = address.wrapping_sub(block.addr());
        let inside = offset < len.saturating_sub(WORD - 1);
        debug_assert_eq!(
            inside,
            address >= block.addr() && offset + WORD <= len,
            "the word is inside the caller's block exactly when it starts at or after it and ends within it"
        );
        let target = if inside {
            block.wrapping_add(offset).cast::<usize>()
        } else {
            self.word(address)
        };
        // SAFETY: the caller's promise; either pointer reaches the word.
        unsafe { target.write(value) };
    }

    /// A large block as a chunk: its payload, or, for a request aligned to
    /// more than `GRAIN`, a block inside a chunk `align` bytes larger.
    ///
    /// One call to `chunk_alloc` serves both, its size and what it clears
    /// chosen by arithmetic: built for size, a branch with a call in each
    /// arm costs more bytes.
    #[inline(never)]
    fn alloc_chunk(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
        // `align` when it is more than `GRAIN` (a power of two, so at least
        // twice it), else 0.
        let extra = align & !(2 * GRAIN - 1);
        debug_assert_eq!(extra, if align > GRAIN { align } else { 0 });
        // An over-aligned block is cleared where it lies, once aligned.
        let payload_zero = zero * usize::from(extra == 0);
        // No overflow: `size` rounded up to `align` is at most `isize::MAX`
        // (a `Layout`'s).
        let payload = self.chunk_alloc(chunk_size(size) + extra, payload_zero);
        // Null when `chunk_alloc` found none: tested here only on its
        // path that returns `None` (once inlined, built for size), not on
        // every path, as it would be if the chunk's payload could be null.
        let payload = payload.map_or(null_mut(), NonNull::as_ptr);
        if extra == 0 || payload.is_null() {
            return payload;
        }
        // SAFETY: `align` is a power of two (a `Layout`'s) above `GRAIN`
        // (`extra` is not 0), and the payload is of a chunk just handed out
        // for `chunk_size(size) + align` bytes, `size >= zero`.
        unsafe { self.align_in_chunk(payload, align, zero) }
    }

    /// A chunk of `size` bytes (a multiple of `GRAIN`, at least
    /// `MIN_CHUNK`), in use: from a list (split if much larger), else from
    /// the unused memory; its payload, or `None`. Its first `zero` payload
    /// bytes read as zero.
    fn chunk_alloc(&mut self, size: usize, zero: usize) -> Option<NonNull<u8>> {
        // The head of the list `size` itself falls in, if it is large
        // enough; else the head of the first non-empty list above it, every
        // chunk of which is. (The lists from `own` up whose every chunk
        // fits start at `own` only when `size` is `own`'s lower bound; then
        // every chunk of `own` fits too, so a head that does not is none:
        // `own` is empty, and the search starts above it either way.)
        let own = floor_list(size);
        // SAFETY: `own` is below `CHUNK_LISTS`; a list's head is null or a
        // free chunk.
        let head = unsafe { *self.large.lists.get_unchecked(own) }.addr();
        // Built for speed, a heap with no free chunk at all (a program that
        // frees what it allocated last, which joins the unused memory)
        // skips the search: a look at each bitmap word, which the compiler
        // unrolls, instead of the search's loop. Built for size, the search
        // alone finds that too.
        //
        // SAFETY: a free chunk's header.
        let list = if head != 0 && unsafe { self.header(head) }.free_size() >= size {
            Some(own)
        } else if !cfg!(opt_level_size) && self.no_free_chunk() {
            None
        } else {
            self.find(own + 1)
        };
        // The chunk and its size: from a list, or carved. Its header is
        // written below, one store for both.
        let mut taken = None;
        if let Some(list) = list {
            // SAFETY: `list` is below `CHUNK_LISTS` (`own`, or what `find`
            // returns); its head is a free chunk at least `size` bytes long
            // (checked, or in a list above `own`, whose lower bound is above
            // `size`).
            unsafe {
                let chunk = (*self.large.lists.get_unchecked(list)).addr();
                let have = self.header(chunk).free_size();
                // In a checked type, a chunk whose words a stale pointer
                // wrote is left alone, and the request carved below.
                if !C::CHECKED || self.may_unlink(chunk, have) {
                    self.unlink(have, chunk);
                    // The chunk before a free chunk is in use (invariant 6),
                    // and a free chunk is never the last one.
                    let kept = self.split_chunk(chunk, have, size);
                    self.stats.large_hit();
                    // Its payload, at least `size - WORD >= zero` bytes.
                    ptr::write_bytes(self.region.at(payload(chunk)), 0, zero);
                    taken = Some((chunk, kept));
                }
            }
        }
        let (chunk, kept) = match taken {
            Some(taken) => taken,
            None => {
                // Built for speed, the common case (the current region has
                // room) is carved here rather than in a call to `bump`;
                // built for size, one copy of it serves every caller.
                #[cfg(not(opt_level_size))]
                if let Some(payload) = self.carve_chunk(size, zero) {
                    return Some(payload);
                }
                // Carved where the memory not yet used begins: the chunk
                // before is in use (invariant 6), or there is none in this
                // region.
                let chunk = self.bump(size, 1, zero_from_chunk(zero));
                if chunk.is_null() {
                    return None;
                }
                (chunk.addr(), size)
            }
        };
        // SAFETY: the chunk's header: the chunk was just taken out of its
        // list or carved, `kept` bytes.
        unsafe { self.put(chunk, kept | Header::IN_USE) };
        // SAFETY: the payload lies inside the chunk, in memory the heap
        // obtained, where no address is 0.
        Some(unsafe { NonNull::new_unchecked(self.region.at(payload(chunk))) })
    }

    /// Whether no list holds a chunk: the bitmap of lists is empty
    /// (invariant 6). Then no free chunk can serve a request (in a checked
    /// type, the chunks a damaged list held are forgotten, out of every
    /// list, and never reused).
    #[inline(always)]
    fn no_free_chunk(&self) -> bool {
        self.large.map.iter().all(|&word| word == 0)
    }

    /// Built for speed: a chunk of `size` bytes (as for `chunk_alloc`), in
    /// use, carved from the current region's unused memory without growing
    /// it; its payload, whose first `zero` bytes read as zero. None when
    /// the region has no room for it.
    #[cfg(not(opt_level_size))]
    #[inline(always)]
    fn carve_chunk(&mut self, size: usize, zero: usize) -> Option<NonNull<u8>> {
        // Carved where the memory not yet used begins: the chunk before is
        // in use (invariant 6), or there is none in this region.
        let chunk = self.carve(size, 1, zero_from_chunk(zero)).ok()?;
        // SAFETY: the chunk was just carved, `size` bytes.
        unsafe { self.put(chunk.addr(), size | Header::IN_USE) };
        // SAFETY: the payload lies inside the chunk, in memory the heap
        // obtained, where no address is 0.
        Some(unsafe { NonNull::new_unchecked(chunk.wrapping_add(WORD)) })
    }

    /// The last chunk, of `size` bytes at `chunk`, out of every list and
    /// the chunk before it in use (or none), joins the unused memory.
    #[inline(always)]
    fn join_top(&mut self, chunk: usize, size: usize) {
        debug_assert_eq!(chunk + size, self.region.top.addr());
        self.region.top = self.region.at(chunk);
        self.stats.large_to_top(size);
    }

    /// Built for speed: frees the chunk in use whose payload is `block`
    /// into the unused memory when it is the last chunk and the chunk
    /// before it is in use (or there is none), as `chunk_free` would;
    /// whether it did. Anything else, an over-aligned block among it, is
    /// left to `chunk_free`.
    ///
    /// # Safety
    ///
    /// `block` is a block no bin serves, live, which its owner gives up
    /// when this returns true.
    #[cfg(not(opt_level_size))]
    #[inline(always)]
    unsafe fn free_at_top(&mut self, block: *mut u8) -> bool {
        let chunk = chunk_of(block.addr());
        // SAFETY: the word before a live large block is its chunk's header
        // or, for an over-aligned block, a marker (the caller's promise).
        let header = unsafe { self.header(chunk) };
        // Neither a marker nor a header saying that the chunk before is
        // free: then it is the header of the block's chunk, in use.
        if header.0 & (Header::PREV_FREE | Header::OFFSET) != 0
            || chunk + header.size() != self.region.top.addr()
        {
            return false;
        }
        self.join_top(chunk, header.size());
        true
    }

    /// Cuts `[chunk, chunk + have)` to `size` bytes for a chunk in use,
    /// freeing the rest when it is a chunk's worth; the chunk's size, `size`
    /// or (nothing split off) `have`. Its header is the caller's to write,
    /// after this returns: the size and its flags, in one store that
    /// `chunk_alloc` shares with its other path (a chunk carved from the
    /// unused memory). (A chunk that grows into its free neighbour is cut
    /// as a shrinking one is, by `chunk_resize`.)
    ///
    /// # Safety
    ///
    /// `[chunk, chunk + have)` (`have >= size`) is a free chunk of this
    /// heap, just taken out of its list; a chunk of this heap follows it,
    /// whose header says that the chunk before it is free.
    unsafe fn split_chunk(&mut self, chunk: usize, have: usize, size: usize) -> usize {
        let rest = have - size;
        let split = rest >= tag::MIN_CHUNK;
        // SAFETY: the words written are the rest's words, and the next
        // chunk's header (the caller's promise). Inserting the rest reads
        // nothing of this chunk.
        unsafe {
            if split {
                // The rest is free, and the chunk after it already says so.
                // Inserted directly rather than freed: a free would look at
                // neighbours whose state is known.
                self.insert(rest, chunk + size, (null_mut(), 0));
            } else {
                self.mark_prev_in_use(chunk + have);
            }
        }
        if split { size } else { have }
    }

    /// Clears bit 1 of the header at `next`: the chunk before it is in use.
    ///
    /// # Safety
    ///
    /// `next` is a chunk header of this heap, or a fence (not `top`).
    #[inline(always)]
    unsafe fn mark_prev_in_use(&mut self, next: usize) {
        // SAFETY: a header (the caller's promise).
        unsafe { self.put(next, self.read(next) & !Header::PREV_FREE) };
    }

    /// The block aligned to `align` (more than `GRAIN`) inside the chunk
    /// whose payload is `payload`, with a marker before it that leads back
    /// to the payload; its first `zero` bytes cleared. The block is the
    /// first aligned address past the payload, also when the payload is
    /// aligned itself: there is then always a marker, and no test for
    /// one. (The chunk is `align` bytes longer than the block needs either
    /// way: the bytes skipped lie before the block instead of after it.)
    ///
    /// # Safety
    ///
    /// `align` is a power of two greater than `GRAIN`; `payload` is the
    /// payload of a chunk in use, just handed out by `chunk_alloc` for at
    /// least `chunk_size(size) + align` bytes, for the request's `size`,
    /// which is at least `zero`.
    unsafe fn align_in_chunk(&mut self, payload: *mut u8, align: usize, zero: usize) -> *mut u8 {
        // No overflow: the payload holds more than `align` bytes.
        let aligned = (payload.addr() + align) & !(align - 1);
        // From `GRAIN` to `align` bytes into the payload, a multiple of
        // `GRAIN` (both are `GRAIN`-aligned, and `align` is a larger power
        // of two), so the marker lies in the payload; the block, the
        // request's `size` bytes, ends at most `align + size` past the
        // payload, inside the chunk (`chunk_size(size) >= size + WORD`).
        //
        // SAFETY: a word of the chunk just handed out (the caller's
        // promise).
        unsafe {
            self.put(
                chunk_of(aligned),
                (aligned - payload.addr()) | Header::OFFSET,
            )
        };
        let block = self.region.at(aligned);
        // SAFETY: the block lies in the chunk, `size >= zero` bytes (the
        // caller's promise).
        unsafe { ptr::write_bytes(block, 0, zero) };
        block
    }

    /// Frees the chunk whose payload is at `caller.0` (or holds the
    /// over-aligned block there), merging it with free neighbours (or into
    /// the unused memory).
    ///
    /// The block's address comes with the pointer and length that `write`
    /// takes (one argument for both: fewer registers passed and kept on
    /// thumb): its owner's pointer and the block's length, or,
    /// for a chunk the heap frees itself, a pointer to its payload and 0,
    /// so that no word is written through it.
    ///
    /// # Safety
    ///
    /// `caller.0` is the payload of a chunk of this heap in use, or an
    /// over-aligned block inside one, which its owner gives up; `caller`
    /// is the owner's pointer and length, or the heap's pointer and 0.
    unsafe fn chunk_free(&mut self, caller: (*mut u8, usize)) {
        // SAFETY: headers, footers and links of this heap's chunks (the
        // caller's promise and invariants 6 and 7).
        unsafe {
            let mut chunk = chunk_of(caller.0.addr());
            let mut header = self.header(chunk);
            if header.is_marker() {
                // An over-aligned block: the chunk's payload lies before it,
                // as far as the marker says. The marker is that distance (a
                // multiple of `GRAIN`) with `OFFSET` set and no other flag,
                // so its word less `OFFSET` is the distance, without a
                // mask (on wasm32, where `OFFSET` is a word, the chunk is
                // then the block's address less the marker's word).
                debug_assert_eq!(header.0 - Header::OFFSET, header.size());
                chunk -= header.0 - Header::OFFSET;
                header = self.header(chunk);
            }
            let mut size = header.size();
            if !header.prev_in_use() {
                let before = self.read(chunk - WORD);
                // In a checked type, a footer or free chunk before whose
                // words a stale pointer wrote is not merged with: the
                // block is left as it is (the heap is poisoned).
                if C::CHECKED && !self.may_unlink_before(chunk, before) {
                    return;
                }
                chunk -= before;
                size += before;
                // Built for speed, the free chunk before grows in place when
                // it heads its list and the sum stays there (blocks freed in
                // address order each merge into the last): only its size
                // changes.
                if !cfg!(opt_level_size) && self.grow_free(chunk, before, size, caller) {
                    return;
                }
                self.unlink(before, chunk);
            }
            let next = chunk + size;
            if next == self.region.top.addr() {
                // The last chunk: it joins the unused memory.
                self.join_top(chunk, size);
                return;
            }
            let after = self.header(next);
            // As above; the chunk before, merged with and out of its list,
            // is left alone too, never reused (the caller counts the
            // block itself).
            if C::CHECKED && !after.in_use() && !self.may_unlink(next, after.free_size()) {
                self.stats.leaked(size - header.size());
                return;
            }
            if !after.in_use() {
                self.unlink(after.free_size(), next);
                size += after.free_size();
            }
            // The chunk after says that this one is free. Written also when
            // it was free and merged with, one store for both paths and no
            // branch: its header is then a word inside the merged chunk
            // (`MIN_CHUNK` or more past its start, so past its links, and
            // before its footer), which nothing reads.
            self.put(next, after.0 | Header::PREV_FREE);
            self.insert(size, chunk, caller);
        }
    }

    /// Makes the free chunk at `chunk`, of `before` bytes, `size` bytes
    /// long where it is, when it heads its list, `size` falls in the same
    /// list and the chunk after the new size is in use (not the unused
    /// memory); whether it did. The heap is then exactly as `unlink` and
    /// `insert` would leave it: the chunk heads the same list, with the
    /// same links. (Grown in place further down its list, it would be
    /// found after the chunks freed later than it, where `insert` puts it
    /// before them: the speed build would place blocks other than the size
    /// build does.)
    ///
    /// # Safety
    ///
    /// `chunk` is a free chunk of this heap, of `before` bytes, in its
    /// list; `[chunk + before, chunk + size)` is a chunk in use that its
    /// owner gives up (`caller`, as for `write`), and a chunk or the unused
    /// memory follows it.
    #[inline(always)]
    unsafe fn grow_free(
        &mut self,
        chunk: usize,
        before: usize,
        size: usize,
        caller: (*mut u8, usize),
    ) -> bool {
        let next = chunk + size;
        let list = floor_list(before);
        // The shift of `before`'s class (see `class_of`): `size`, more
        // than `before`, falls in the same list exactly when no bit from
        // there up differs (a higher power of two, or other top bits). One
        // test on what the list's computation already has, rather than the
        // class of `size`.
        let shift = class::log2(before) - 2;
        debug_assert_eq!((size ^ before) >> shift == 0, list == floor_list(size));
        // The three tests are words that are 0 when the test passes, joined
        // into one, and one branch: each alone is as likely as not in a
        // program that frees in no particular order, a misprediction each,
        // where the whole is almost always false there (and almost always
        // true in one that frees in address order). (Joined as booleans,
        // the compiler branches on each again.) The header after the merged
        // chunk is read from the chunk itself when the merged chunk ends at
        // the unused memory, which has no header there: a free chunk's
        // header, which says not in use, so the test fails.
        //
        // SAFETY: `list` is below `CHUNK_LISTS`; the header of the chunk
        // after, when it is one, else the free chunk's own (the caller's
        // promise); the merged chunk's header and footer.
        unsafe {
            let after = if next == self.region.top.addr() {
                chunk
            } else {
                next
            };
            let after = self.header(after);
            let not_head = self.large.lists.get_unchecked(list).addr() ^ chunk;
            let other_list = (size ^ before) >> shift;
            let after_free = !after.0 & Header::IN_USE;
            if not_head | other_list | after_free != 0 {
                return false;
            }
            self.put(next, after.0 | Header::PREV_FREE);
            self.stats.large_taken(before);
            self.stats.large_pushed(size);
            // A free chunk's header: its size (the chunk before it is in
            // use, invariant 6).
            self.put(chunk, size);
            self.write(footer(chunk, size), size, caller);
        }
        self.listed(chunk, size);
        true
    }

    /// Resizes the chunk whose payload is `payload` in place for `new_size`
    /// bytes: shrinking frees its tail; growing takes the free chunk after
    /// it (and frees what it does not need, as shrinking does), or the
    /// unused memory. False when it cannot.
    ///
    /// # Safety
    ///
    /// `payload` is the payload of a chunk of this heap in use.
    unsafe fn chunk_resize(&mut self, payload: *mut u8, new_size: usize) -> bool {
        let mut want = chunk_size(new_size);
        let chunk = chunk_of(payload.addr());
        // SAFETY: this chunk's header and its neighbour's (invariant 6).
        unsafe {
            let header = self.header(chunk);
            let mut size = header.size();
            let next = chunk + size;
            if want > size && next == self.region.top.addr() {
                // The last chunk: carve what is missing from the unused
                // memory, if it continues this region.
                let carved = self.grow_top(want - size);
                if !Self::grown_at(carved, next) {
                    // Null, or carved at the start of a new region (other
                    // code grew memory in between): those bytes are lost,
                    // and the region's chunks start after them (no chunk
                    // looks back past a first chunk, whose bit 1 is clear).
                    #[cfg(debug_assertions)]
                    if !carved.is_null() {
                        self.region.log.skipped(self.region.top.addr());
                    }
                    return false;
                }
            } else {
                if want > size {
                    let after = self.header(next);
                    // A chunk in use is not grown into, and its size is not
                    // read: in a checked type a stale pointer may have
                    // written its header (found when its block comes back),
                    // and a size added blindly could overflow. Nor is, in a
                    // checked type, a free chunk after whose words a stale
                    // pointer wrote.
                    if after.in_use() || C::CHECKED && !self.may_unlink(next, after.free_size()) {
                        return false;
                    }
                    let total = size + after.free_size();
                    if total < want {
                        return false;
                    }
                    self.unlink(after.free_size(), next);
                    // The chunk takes the free chunk whole, and is then cut
                    // below as a shrinking chunk is: one copy of the cut
                    // (built for size, `split_chunk` is then inlined into
                    // its one caller). The chunk after the free one (a free
                    // chunk is never the last) now follows this one, in
                    // use; freeing a tail says again that the chunk before
                    // it is free.
                    self.mark_prev_in_use(chunk + total);
                    size = total;
                }
                let rest = size - want;
                if rest < tag::MIN_CHUNK {
                    // Nothing worth freeing: the chunk keeps its size (or
                    // all it grew to), its header written below as it was
                    // (or with that size).
                    want = size;
                } else {
                    // The tail, a chunk's worth, is freed. Its header says
                    // that the chunk before it is in use, so the free does
                    // not look back at this chunk, whose header takes the
                    // new size below, as when it grows into the unused
                    // memory (one store for both).
                    self.put(chunk + want, rest | Header::IN_USE);
                    self.chunk_free((self.region.at(tag::payload(chunk + want)), 0));
                    // In a checked type, the free may have found the free
                    // chunk after the tail written (the lists were sound
                    // before: the checked layer resizes in place only then),
                    // and left the tail alone: no one's, never reused.
                    if C::CHECKED && self.large.broken {
                        self.stats.leaked(rest);
                    }
                }
            }
            // The header's flags as they were: nothing above writes this
            // chunk's header (the words written are the unused memory's,
            // the free neighbour's links, the headers after this chunk and
            // the tail's words). Built for size on a target with registers,
            // read again here rather than kept from the start: across the
            // calls in between (`bump`, `unlink`, `chunk_free`) the header
            // took a register that survives calls, moved in and out around
            // each, and one load is less code there. On wasm32, whose
            // locals cost nothing to keep, the load is a byte more.
            let header = if cfg!(opt_level_size) && !cfg!(target_arch = "wasm32") {
                self.header(chunk)
            } else {
                header
            };
            self.put(chunk, want | header.flags());
            true
        }
    }
}
