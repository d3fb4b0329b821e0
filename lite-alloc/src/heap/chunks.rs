//! `large = coalesce`: large blocks as chunks with boundary tags, split when
//! too big and merged with free neighbours when freed, so that freed memory
//! serves requests of any size. With no bins (`bins = []`), every block is
//! a chunk, as in dlmalloc.
//!
//! # Layout
//!
//! ```text
//!            one chunk of `size` bytes (a multiple of `GRAIN`)
//!   ┌────────┬─────────────────────────────────────┬────────┐
//!   │ header │ payload (GRAIN-aligned) ...          │ footer │ next chunk's header ...
//!   └────────┴─────────────────────────────────────┴────────┘
//!   ▲ chunk   ▲ block handed out                     ▲ free chunks only: `size`
//! ```
//!
//! * `GRAIN` is two words: 8 bytes on wasm32, 16 on 64-bit targets. A
//!   request of `n` bytes takes a chunk of `n` plus the header, rounded up
//!   to it (and at least `MIN_CHUNK`, four words): a 12-byte request takes
//!   16 bytes on wasm32, a 20-byte one 24. Requests aligned to more than
//!   `GRAIN` take a chunk `align` bytes larger, with a marker before the
//!   block that leads back to the chunk.
//! * The header is one word before the payload: the chunk's size, bit 0 set
//!   when the chunk is in use, bit 1 set when the chunk before it is (so that
//!   its footer is only read when it is free).
//! * A free chunk holds the next and previous free chunk of its list in its
//!   first two payload words (doubly linked, so that a neighbour can be
//!   taken out of its list when merged), and its size in its last word.
//! * Free chunks are listed by size: four lists per power of two, each
//!   holding chunks of at least its size, and a bitmap of the lists that are
//!   not empty, so that a request takes the head of the first non-empty list
//!   at or above its size, in constant time.
//! * Bins, if there are any, are carved from slabs: chunks in use forever,
//!   so that every chunk's neighbours are chunks with headers.
//! * The unused memory `[top, end)` follows the last chunk, which is always
//!   in use (a free chunk there joins it). `top + WORD` stays
//!   `GRAIN`-aligned, and `WORD` bytes at the end of a region stay free, so
//!   that a region given up (other code grew memory in between) can be
//!   closed with a fence: a header in use, of size 0.
//!
//! # Invariants (with those of the heap)
//!
//! 6. Every chunk of a region lies between its first chunk and `top` (or
//!    the fence that closed the region), one after the other; no two free
//!    chunks are next to each other; every free chunk is in the list of its
//!    size, with its footer written.
//! 7. A header's bit 1 is set exactly when the chunk before it is in use (or
//!    it is the first chunk of its region).

use core::ptr::{self, null_mut};

use super::{Config, Heap};
use crate::stats::Record;

/// Bytes of a word: headers, footers and links.
pub(super) const WORD: usize = size_of::<usize>();
/// The unit of chunk sizes, and the alignment of every payload: two words
/// (8 bytes on wasm32, 16 on 64-bit targets), as in dlmalloc. Requests
/// aligned to more take the over-aligned path.
pub(super) const GRAIN: usize = 2 * WORD;
/// The header bits that are flags, not size: sizes are multiples of
/// `GRAIN`, at least 8.
const FLAGS: usize = 7;
/// Header bit: the chunk is in use.
const IN_USE: usize = 1;
/// Header bit: the chunk before is in use.
const PREV_IN_USE: usize = 2;
/// Marker bit, before an over-aligned block: the word is not a header but
/// the distance back to the payload of the chunk holding the block.
const OFFSET: usize = 4;
/// The smallest chunk: a header, two links and a footer (two grains).
pub(super) const MIN_CHUNK: usize = 4 * WORD;
/// Bytes of a slab, from which bins carve their blocks.
const SLAB: usize = 8 * 1024;

/// The number of chunk lists: four for each power of two from 16 bytes up.
pub const fn chunk_lists() -> usize {
    4 * (usize::BITS - 4) as usize
}

/// The list holding free chunks of `size` bytes (at least 16): the largest
/// whose lower bound `size` reaches. List `c` holds chunks of at least
/// `lower(c)` bytes.
#[inline(always)]
fn floor_list(size: usize) -> usize {
    let e = (usize::BITS - 1 - size.leading_zeros()) as usize;
    // The top three bits of `size`: 4..=7.
    let m = size >> (e - 2);
    (e - 4) * 4 + (m - 4)
}

/// The first list whose every chunk holds `size` bytes (at least 16).
#[inline(always)]
fn ceil_list(size: usize) -> usize {
    let list = floor_list(size);
    let e = (usize::BITS - 1 - size.leading_zeros()) as usize;
    // Exactly a list's lower bound: that list; otherwise the next.
    if size & ((1 << (e - 2)) - 1) == 0 {
        list
    } else {
        list + 1
    }
}

/// The chunk size serving `size` bytes: with the header, rounded up to
/// `GRAIN`.
///
/// No overflow: `size` is at most `isize::MAX` (a `Layout`'s).
#[inline(always)]
pub(super) fn chunk_size(size: usize) -> usize {
    let size = (size + WORD + (GRAIN - 1)) & !(GRAIN - 1);
    if size < MIN_CHUNK { MIN_CHUNK } else { size }
}

impl<C: Config<N, L>, const N: usize, const L: usize> Heap<C, N, L> {
    /// A word of the heap's memory, with the provenance of its region.
    #[inline(always)]
    fn word(&self, address: usize) -> *mut usize {
        crate::memory::Memory::provenance(&self.memory, self.top, address).cast()
    }

    /// Reads the word at `address`.
    ///
    /// # Safety
    ///
    /// `address` is a header, footer or link word of a chunk of this heap.
    #[inline(always)]
    unsafe fn read(&self, address: usize) -> usize {
        // SAFETY: the caller's promise; the heap's pointers reach all of its
        // memory (invariant 4).
        unsafe { self.word(address).read() }
    }

    /// Writes the word at `address`, which no live block covers.
    ///
    /// # Safety
    ///
    /// As for `read`.
    #[inline(always)]
    unsafe fn put(&self, address: usize, value: usize) {
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
    unsafe fn write(&self, address: usize, value: usize, caller: (*mut u8, usize)) {
        let (block, len) = caller;
        let inside = address >= block.addr() && address + WORD <= block.addr() + len;
        let target = if inside {
            block.wrapping_add(address - block.addr()).cast::<usize>()
        } else {
            self.word(address)
        };
        // SAFETY: the caller's promise; either pointer reaches the word.
        unsafe { target.write(value) };
    }

    /// Takes the free chunk at `chunk`, of `size` bytes, out of its list.
    ///
    /// # Safety
    ///
    /// `chunk` is a free chunk of this heap, of `size` bytes, in its list.
    unsafe fn unlink(&mut self, chunk: usize, size: usize) {
        let list = floor_list(size);
        self.stats.large_taken(size);
        // SAFETY: a free chunk's first two payload words are its links.
        unsafe {
            let next = self.read(chunk + WORD);
            let prev = self.read(chunk + 2 * WORD);
            if prev == 0 {
                *self.large.get_unchecked_mut(list) = self.word(next).cast();
                if next == 0 {
                    *self.map_word(list) &= !(1 << (list % usize::BITS as usize));
                }
            } else {
                self.put(prev + WORD, next);
            }
            if next != 0 {
                self.put(next + 2 * WORD, prev);
            }
        }
    }

    /// Makes `[chunk, chunk + size)` a free chunk at the head of its list:
    /// header (the chunk before is in use), links, footer.
    ///
    /// # Safety
    ///
    /// The range is this heap's and free, `size >= MIN_CHUNK` and a multiple
    /// of 16; the chunk before it is in use (or it starts its region) and the
    /// chunk after it is in use; `caller` as for `write`.
    unsafe fn insert(&mut self, chunk: usize, size: usize, caller: (*mut u8, usize)) {
        let list = floor_list(size);
        self.stats.large_pushed(size);
        // SAFETY: `list` is below `chunk_lists()`, which is `L` (`Config`).
        let head = unsafe { *self.large.get_unchecked(list) }.addr();
        // SAFETY: the range is free and this heap's (the caller's promise).
        unsafe {
            self.put(chunk, size | PREV_IN_USE);
            self.write(chunk + WORD, head, caller);
            self.write(chunk + 2 * WORD, 0, caller);
            self.write(chunk + size - WORD, size, caller);
            if head != 0 {
                self.put(head + 2 * WORD, chunk);
            }
            *self.large.get_unchecked_mut(list) = self.word(chunk).cast();
        }
        *self.map_word(list) |= 1 << (list % usize::BITS as usize);
    }

    /// The word of the bitmap holding list `list`'s bit.
    #[inline(always)]
    fn map_word(&mut self, list: usize) -> &mut usize {
        // SAFETY: `list` is below `chunk_lists()`, at most `4 * usize::BITS`:
        // the map has four words.
        unsafe { self.map.get_unchecked_mut(list / usize::BITS as usize) }
    }

    /// The first list at or after `list` that holds a chunk.
    fn find(&self, list: usize) -> Option<usize> {
        let bits = usize::BITS as usize;
        let mut word = list / bits;
        let mut set = *self.map.get(word)? & (!0 << (list % bits));
        loop {
            if set != 0 {
                return Some(word * bits + set.trailing_zeros() as usize);
            }
            word += 1;
            set = *self.map.get(word)?;
        }
    }

    /// A chunk of `size` bytes (a multiple of `GRAIN`, at least
    /// `MIN_CHUNK`), in use: from a list (split if much larger), else from
    /// the unused memory; its payload, or null. Its first `zero` payload
    /// bytes read as zero.
    pub(super) fn chunk_alloc(&mut self, size: usize, zero: usize) -> *mut u8 {
        // The head of the list `size` itself falls in, if it is large
        // enough; else the first list whose every chunk is.
        let own = floor_list(size);
        // SAFETY: `own` is below `L`; a list's head is null or a free chunk.
        let head = unsafe { *self.large.get_unchecked(own) }.addr();
        // SAFETY: a free chunk's header.
        let list = if head != 0 && unsafe { self.read(head) } & !FLAGS >= size {
            Some(own)
        } else {
            self.find(ceil_list(size))
        };
        if let Some(list) = list {
            // SAFETY: `list` is below `L`; its head is a free chunk at least
            // `size` bytes long (checked, or a list above `ceil_list(size)`).
            unsafe {
                let chunk = (*self.large.get_unchecked(list)).addr();
                let have = self.read(chunk) & !FLAGS;
                self.unlink(chunk, have);
                // The chunk before a free chunk is in use (invariant 6), and
                // a free chunk is never the last one.
                let payload = self.use_chunk(chunk, have, size, PREV_IN_USE);
                self.stats.large_hit();
                ptr::write_bytes(payload, 0, zero);
                return payload;
            }
        }
        // Carved where the memory not yet used begins: the chunk before is in
        // use (invariant 6).
        let chunk = self.bump(size, 1, if zero > 0 { zero + WORD } else { 0 });
        if chunk.is_null() {
            return null_mut();
        }
        // SAFETY: the chunk was just carved, `size` bytes.
        unsafe { self.put(chunk.addr(), size | IN_USE | PREV_IN_USE) };
        chunk.wrapping_add(WORD)
    }

    /// Makes `[chunk, chunk + have)` a chunk in use for `size` bytes,
    /// freeing the rest when it is a chunk's worth; its payload. `prev` is
    /// the header's `PREV_IN_USE` bit (its other bits are ignored).
    ///
    /// # Safety
    ///
    /// `[chunk, chunk + have)` (`have >= size`) is this heap's, free or the
    /// caller's chunk, and out of every list; a chunk of this heap follows
    /// it, whose header says that the chunk before it is free (it followed a
    /// free chunk); `prev` tells whether the chunk before `chunk` is in use.
    unsafe fn use_chunk(&mut self, chunk: usize, have: usize, size: usize, prev: usize) -> *mut u8 {
        let (flags, rest) = (IN_USE | (prev & PREV_IN_USE), have - size);
        // SAFETY: the words written are this chunk's header, the rest's
        // words, and the next chunk's header (the caller's promise).
        unsafe {
            if rest >= MIN_CHUNK {
                self.put(chunk, size | flags);
                // The rest is free, and the chunk after it already says so.
                // Inserted directly rather than through `chunk_shrink`: 7%
                // less time for syn's round trip on wasm32, for 60 B.
                self.insert(chunk + size, rest, (null_mut(), 0));
            } else {
                self.put(chunk, have | flags);
                self.mark_prev_in_use(chunk + have);
            }
        }
        self.word(chunk + WORD).cast()
    }

    /// Sets bit 1 of the header at `next`.
    ///
    /// # Safety
    ///
    /// `next` is a chunk header of this heap (not `top`).
    #[inline(always)]
    unsafe fn mark_prev_in_use(&mut self, next: usize) {
        // SAFETY: a header (the caller's promise).
        unsafe { self.put(next, self.read(next) | PREV_IN_USE) };
    }

    /// A block of `size` bytes aligned to `align` (more than `GRAIN`):
    /// inside a chunk `align` bytes larger, with a marker before it that
    /// leads back to the chunk's payload when it is not the payload itself.
    pub(super) fn chunk_alloc_aligned(
        &mut self,
        size: usize,
        align: usize,
        zero: usize,
    ) -> *mut u8 {
        // No overflow: `size` rounded up to `align` is at most `isize::MAX`
        // (a `Layout`'s).
        let payload = self.chunk_alloc(chunk_size(size) + align, 0);
        if payload.is_null() {
            return payload;
        }
        let aligned = (payload.addr() + align - 1) & !(align - 1);
        if aligned != payload.addr() {
            // At least `GRAIN` bytes into the payload, a multiple of it away
            // (both are `GRAIN`-aligned, and `align` is more); the
            // block, `size` bytes, still ends inside the chunk (`align` more
            // than needed).
            // SAFETY: a word of the chunk just handed out.
            unsafe { self.put(aligned - WORD, (aligned - payload.addr()) | OFFSET) };
        }
        let block = self.word(aligned).cast();
        // SAFETY: the block lies in the chunk, `size >= zero` bytes.
        unsafe { ptr::write_bytes(block, 0, zero) };
        block
    }

    /// Frees the chunk whose payload is `payload`, merging it with free
    /// neighbours (or into the unused memory).
    ///
    /// # Safety
    ///
    /// `payload` is the payload of a chunk of this heap in use, which its
    /// owner gives up; `caller` is the owner's pointer and length, or null.
    pub(super) unsafe fn chunk_free(&mut self, payload: *mut u8, caller: (*mut u8, usize)) {
        // SAFETY: headers, footers and links of this heap's chunks (the
        // caller's promise and invariants 6 and 7).
        unsafe {
            let mut chunk = payload.addr() - WORD;
            let mut header = self.read(chunk);
            if header & OFFSET != 0 {
                // An over-aligned block: the chunk's payload lies before it.
                chunk -= header & !FLAGS;
                header = self.read(chunk);
            }
            let mut size = header & !FLAGS;
            if header & PREV_IN_USE == 0 {
                let before = self.read(chunk - WORD);
                chunk -= before;
                self.unlink(chunk, before);
                size += before;
            }
            let next = chunk + size;
            if next == self.top.addr() {
                // The last chunk: it joins the unused memory.
                self.top = self.top.with_addr(chunk);
                self.stats.large_to_top(size);
                return;
            }
            let after = self.read(next);
            if after & IN_USE == 0 {
                self.unlink(next, after & !FLAGS);
                size += after & !FLAGS;
            } else {
                self.put(next, after & !PREV_IN_USE);
            }
            self.insert(chunk, size, caller);
        }
    }

    /// Frees the tail of the chunk in use at `chunk` beyond `size` bytes
    /// when it is a chunk's worth.
    ///
    /// # Safety
    ///
    /// `chunk` is a chunk of this heap in use, of at least `size` bytes.
    unsafe fn chunk_shrink(&mut self, chunk: usize, size: usize) {
        // SAFETY: this chunk's header, and the words of its tail.
        unsafe {
            let header = self.read(chunk);
            let rest = (header & !FLAGS) - size;
            if rest >= MIN_CHUNK {
                self.put(chunk, size | (header & FLAGS));
                self.put(chunk + size, rest | IN_USE | PREV_IN_USE);
                self.chunk_free(self.word(chunk + size + WORD).cast(), (null_mut(), 0));
            }
        }
    }

    /// Resizes the chunk whose payload is `payload` in place for `new_size`
    /// bytes: shrinking frees its tail; growing takes the free chunk after
    /// it, or the unused memory. False when it cannot.
    ///
    /// # Safety
    ///
    /// `payload` is the payload of a chunk of this heap in use.
    pub(super) unsafe fn chunk_resize(&mut self, payload: *mut u8, new_size: usize) -> bool {
        let want = chunk_size(new_size);
        let chunk = payload.addr() - WORD;
        // SAFETY: this chunk's header and its neighbour's (invariant 6).
        unsafe {
            let header = self.read(chunk);
            let size = header & !FLAGS;
            if want <= size {
                self.chunk_shrink(chunk, want);
                return true;
            }
            let next = chunk + size;
            if next == self.top.addr() {
                // The last chunk: carve what is missing from the unused
                // memory, if it continues this region.
                if self.bump(want - size, 1, 0).addr() != next {
                    return false;
                }
                self.put(chunk, want | (header & FLAGS));
                return true;
            }
            let after = self.read(next);
            let total = size + (after & !FLAGS);
            if after & IN_USE != 0 || total < want {
                return false;
            }
            self.unlink(next, after & !FLAGS);
            // A free chunk is never the last one: a chunk follows.
            self.use_chunk(chunk, total, want, header);
            true
        }
    }

    /// Carves a block of `size` bytes aligned to `align` (at most 16) from
    /// the current slab, taking a new slab (a chunk in use for good) when it
    /// is too small. Its first `zero` bytes read as zero.
    pub(super) fn slab_carve(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
        let pad = self.slab.addr().wrapping_neg() & (align - 1);
        if self.slab.is_null() || pad + size > self.slab_end - self.slab.addr() {
            // No overflow: bins are at most a quarter of the address space.
            let want = chunk_size(if size > SLAB { size } else { SLAB });
            let payload = self.chunk_alloc(want, 0);
            if payload.is_null() {
                return payload;
            }
            self.slab = payload;
            // The payload, up to the next chunk's header. Blocks carved from
            // a chunk that was used before are cleared below.
            self.slab_end = payload.addr() + want - WORD;
        }
        let pad = self.slab.addr().wrapping_neg() & (align - 1);
        let block = self.slab.wrapping_add(pad);
        self.slab = block.wrapping_add(size);
        // A slab may come from memory used before: clear what is asked to be
        // zero (bins are small).
        // SAFETY: the block was just carved from the slab, `size >= zero`.
        unsafe { ptr::write_bytes(block, 0, zero) };
        block
    }
}
