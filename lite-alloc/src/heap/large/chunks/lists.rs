//! The free chunks' lists: four per power of two, doubly linked through
//! the chunks, and a bitmap of the lists that hold a chunk.

use super::super::super::class::class_of;
use super::super::super::{Config, Heap};
use super::tag::{
    GRAIN, Header, MIN_CHUNK, NEXT, PREV, WORD, anchored, footer, next_link, prev_link,
};
use super::{CHUNK_LISTS, Chunks, MAP_BITS, MAP_WORDS, MapWord};
use crate::memory::Memory;
use crate::stats::Record;

/// List `list`'s bit in its word of the bitmap.
///
/// On ARM, a shift by a register takes the register's low byte as it is,
/// so that `1 << (list % MAP_BITS)` keeps its mask, an instruction; a
/// rotation is taken modulo the word's bits, so 1 rotated right by
/// `-list` needs a negation instead, of half the bytes (on thumb, where
/// inserting and unlinking share the code). Elsewhere the shift: its
/// mask is free where shifts mask their amount themselves (wasm32, x86),
/// and the rotation would cost the negation.
#[inline(always)]
fn list_bit(list: usize) -> MapWord {
    if cfg!(target_arch = "arm") {
        list_bit_by_rotation(list)
    } else {
        1 << (list % MAP_BITS)
    }
}

/// `list_bit` on ARM: 1 rotated right by `-list`. The rotation is modulo
/// `MAP_BITS`, whatever the truncation leaves above it.
#[inline(always)]
fn list_bit_by_rotation(list: usize) -> MapWord {
    (1 as MapWord).rotate_right(list.wrapping_neg() as u32)
}

/// The list holding free chunks of `size` bytes (at least 16): the largest
/// whose lower bound `size` reaches.
///
/// Inserting a chunk, taking one out, the search for a fit and `check`
/// each compute it (and, built for speed, growing a free chunk in place):
/// when the crate is built for size, they share one copy (a call each);
/// built for speed, each has its own.
#[cfg_attr(opt_level_size, inline(never))]
#[cfg_attr(not(opt_level_size), inline(always))]
pub(super) fn floor_list(size: usize) -> usize {
    // The grid's classes from 16 bytes up.
    if cfg!(target_arch = "arm") {
        floor_list_by_zeros(size)
    } else {
        class_of(size).0 - 16
    }
}

/// `class_of(size).0 - 16` for `floor_list` on ARM, which counts leading
/// zeros (one instruction from ARMv7-M up, a call to compiler_builtins on
/// ARMv6-M, with either formula): the size's top three bits `m` are
/// shifted to the top of the word by its leading zeros and back down,
/// rather than down by `log2(size) - 2`, a difference thumb computes
/// before shifting by it (either shift amount is masked, as the compiler
/// cannot tell it is below the word's bits). Elsewhere `class_of`'s: x86
/// finds the highest bit set, `log2` itself, and would compute the leading
/// zeros from it, more instructions in the speed build.
#[inline(always)]
fn floor_list_by_zeros(size: usize) -> usize {
    let zeros = size.leading_zeros();
    let m = (size << zeros) >> (usize::BITS - 3);
    4 * (usize::BITS - 1 - zeros) as usize + m - 4 - 16
}

impl<C: Config<N, Large = Chunks>, const N: usize> Heap<C, N> {
    /// Takes the free chunk at `chunk`, of `size` bytes, out of its list.
    ///
    /// The size comes first, as in `insert`: it is `floor_list`'s argument,
    /// which then finds it in the register it takes it in (built for
    /// size, fewer moves on thumb in both).
    ///
    /// # Safety
    ///
    /// `chunk` is a free chunk of this heap, of `size` bytes, in its list
    /// (in a checked type, `may_unlink` said so; after `forget`, a free
    /// chunk the lists forgot may be one, whose links lead to forgotten
    /// free chunks).
    pub(super) unsafe fn unlink(&mut self, size: usize, chunk: usize) {
        self.stats.large_taken(size);
        // SAFETY: a free chunk's first two payload words are its links, and
        // its neighbours in the list are free chunks of this heap; `list`
        // is below `CHUNK_LISTS`.
        unsafe {
            let next = self.field(chunk, NEXT).read();
            let prev = self.field(chunk, PREV).read();
            if !cfg!(opt_level_size) {
                // Built for speed, without a branch: whether the chunk
                // heads its list, and whether it ends it, are each as likely
                // as not in a program that frees in no particular order, a
                // misprediction each. Every store is made either way, to a
                // word that keeps its value when it has no other to take:
                // the word that names the chunk is the list's head or the
                // previous chunk's link; the chunk's own links stand in for
                // a next chunk it lacks (written with what they hold: the
                // chunk is read no more as a listed chunk); the bitmap's bit
                // is cleared only when the list is left empty. The list is
                // computed for every chunk, not only a head.
                let list = floor_list(size);
                // Both words hold a pointer, as a list's head does (a
                // link is read back as its address).
                let names = if prev == 0 {
                    self.large.lists.as_mut_ptr().add(list)
                } else {
                    self.field(prev, NEXT).cast::<*mut u8>()
                };
                names.write(self.region.at(next));
                let back = if next == 0 { chunk } else { next };
                self.field(back, PREV).write(prev);
                let emptied = MapWord::from((prev | next) == 0);
                *self.map_word(list) &= !(emptied << (list % MAP_BITS));
                return;
            }
            if prev == 0 {
                // Only a list's head needs its list: computed here, it is
                // neither computed for a chunk inside its list nor kept
                // across the loads above.
                let list = floor_list(size);
                *self.large.lists.get_unchecked_mut(list) = self.region.at(next);
                if next == 0 {
                    *self.map_word(list) &= !list_bit(list);
                }
            } else {
                self.field(prev, NEXT).write(next);
            }
            if next != 0 {
                self.field(next, PREV).write(prev);
            }
        }
    }

    /// In a checked type (`Config::CHECKED`; only such types call it),
    /// whether the free chunk of `size` bytes that the heap is about to
    /// take out of its list at `chunk` is what its words say: a stale
    /// pointer may have written them after its block left the quarantine
    /// (its links, or, once its memory was split again, its header or
    /// footer, which led here), and followed blindly they would make the
    /// heap write into a live block. The chunk must be `sound`, and its
    /// links must lead to its list's head or to free chunks that link back
    /// to it (`links_back`). When not, nothing of the chunk is used: every
    /// list is emptied (`ChunkState::forget`), the caller leaves the chunk
    /// alone, and the checked layer reports the misuse and uses the lists
    /// no more. The free chunks forgotten stay marked free, and count as
    /// leaked.
    pub(super) fn may_unlink(&mut self, chunk: usize, size: usize) -> bool {
        debug_assert!(C::CHECKED);
        if self.sound(chunk, size) {
            // SAFETY: a sound chunk's first two payload words are its
            // links, in memory the heap may read.
            let (next, prev) = unsafe {
                (
                    self.field(chunk, NEXT).read(),
                    self.field(chunk, PREV).read(),
                )
            };
            if self.linked(chunk, floor_list(size), next, prev) {
                return true;
            }
        }
        self.refuse()
    }

    /// `may_unlink` for the free chunk before `chunk` that a freed chunk
    /// merges with, of `before` bytes as the footer before `chunk` says: a
    /// stale footer larger than `chunk`'s own address would put that chunk
    /// below address 0, and is refused like any other.
    pub(super) fn may_unlink_before(&mut self, chunk: usize, before: usize) -> bool {
        match chunk.checked_sub(before) {
            Some(start) => self.may_unlink(start, before),
            None => self.refuse(),
        }
    }

    /// What a checked type does when a free chunk's words are not what the
    /// heap wrote: it empties every list (`ChunkState::forget`), so that
    /// the checked layer reports the misuse and uses the lists no more.
    /// Returns false, for `may_unlink`'s callers.
    fn refuse(&mut self) -> bool {
        self.large.forget();
        // The forgotten chunks are never handed out again: their bytes
        // leave the lists' count for what the heap never reuses.
        if let Some(bytes) = self.stats.large_free() {
            self.stats.large_taken(bytes);
            self.stats.leaked(bytes);
        }
        false
    }

    /// Whether a free chunk of `size` bytes may lie at `chunk`, as its own
    /// words say: of a chunk's size, where a listed chunk may lie
    /// (`readable`), its header saying free and that size, its footer that
    /// size; and the header after it saying in use, after a free chunk (a
    /// free chunk is always followed by one in use or a region's fence, so
    /// that a stale write that grows a free chunk's size and footer over a
    /// live block must also set that block's neighbour's flag, which
    /// `verify()` finds). Nothing is read before the rest holds.
    fn sound(&self, chunk: usize, size: usize) -> bool {
        if size < MIN_CHUNK || !size.is_multiple_of(GRAIN) || !self.readable(chunk, size) {
            return false;
        }
        // `readable` checked that the chunk's end does not overflow.
        let next = chunk + size;
        // The header after a listed chunk lies in the heap's memory, past
        // the end of the highest listed one too: only the source is asked.
        if self.region.memory.holds(next, WORD) == Some(false) {
            return false;
        }
        // SAFETY: `readable`: `[chunk, chunk + size)` lies between chunks
        // the heap listed, where the source says the heap may read (or
        // cannot tell, and the heap trusts its words as a type that is not
        // checked does); the word after it, as the source says.
        unsafe {
            self.header(chunk) == Header(size)
                && self.read(footer(chunk, size)) == size
                && self.header(next).flags() == Header::IN_USE | Header::PREV_FREE
        }
    }

    /// Whether `[chunk, chunk + len)` may be (the start of) a chunk the
    /// heap listed, and be read: inside `span`, its payload aligned, and
    /// not where the memory source says the heap may not read
    /// (`Memory::holds`). Reads nothing.
    fn readable(&self, chunk: usize, len: usize) -> bool {
        let (low, high) = self.large.span;
        low <= chunk
            && chunk.checked_add(len).is_some_and(|end| end <= high)
            && anchored(chunk)
            && self.region.memory.holds(chunk, len) != Some(false)
    }

    /// Whether the free chunk at `chunk`, in list `list`, is where its
    /// links `next` and `prev` say: the list's head when `prev` is 0, else
    /// `prev`'s next; and `next`'s previous, unless `next` is 0.
    fn linked(&self, chunk: usize, list: usize, next: usize, prev: usize) -> bool {
        let back = if prev == 0 {
            // SAFETY: `list` is below `CHUNK_LISTS`.
            unsafe { self.large.lists.get_unchecked(list) }.addr() == chunk
        } else {
            self.links_back(prev, NEXT, chunk)
        };
        back && (next == 0 || self.links_back(next, PREV, chunk))
    }

    /// Whether `link`, read from a free chunk's links, may be the free
    /// chunk whose link at `offset` is `chunk`: where a listed chunk may
    /// lie (`readable`), its header saying free, its link saying `chunk`.
    /// Nothing is read before the rest holds.
    fn links_back(&self, link: usize, offset: usize, chunk: usize) -> bool {
        if !self.readable(link, MIN_CHUNK) {
            return false;
        }
        // SAFETY: `readable`: `[link, link + MIN_CHUNK)` lies between
        // chunks the heap listed, where the source says the heap may read
        // (or cannot tell, and the heap trusts the link as a type that is
        // not checked does).
        unsafe { self.header(link).flags() == 0 && self.field(link, offset).read() == chunk }
    }

    /// Makes `[chunk, chunk + size)` a free chunk at the head of its list:
    /// header (its size: no flag, as the chunk before is in use), links,
    /// footer. The size comes first, as in `unlink`.
    ///
    /// # Safety
    ///
    /// The range is this heap's and free, `size >= MIN_CHUNK` and a multiple
    /// of `GRAIN`; the chunk before it is in use (or it starts its region)
    /// and the chunk after it is in use; `caller` as for `write`. The chunk
    /// before may say so only once this returns (`split_chunk`'s caller
    /// writes its header last): no header but the list head's is read or
    /// written here.
    pub(super) unsafe fn insert(&mut self, size: usize, chunk: usize, caller: (*mut u8, usize)) {
        let list = floor_list(size);
        self.stats.large_pushed(size);
        // The list's head, read and replaced in one step, through a raw
        // pointer rather than `get_unchecked`: told by it that `list` is
        // below `CHUNK_LISTS`, the compiler drops `map_word`'s mask below
        // and addresses the bitmap through a larger constant instead, more
        // bytes on wasm32.
        //
        // SAFETY: `list` is below `CHUNK_LISTS`.
        let slot = unsafe { self.large.lists.as_mut_ptr().add(list) };
        // SAFETY: `slot` is a list head, which nothing else borrows.
        let head = unsafe { slot.replace(self.region.at(chunk)) }.addr();
        // SAFETY: the range is free and this heap's (the caller's promise),
        // a chunk of it, and the head is a free chunk of this heap.
        unsafe {
            // No flag: see `Header`.
            self.put(chunk, size);
            if !cfg!(opt_level_size) {
                // Built for speed, without a branch (whether the list was
                // empty is as likely as not in a program that frees in no
                // particular order): the old head's link back, or, with no
                // head, the chunk's own, which the store of 0 below then
                // overwrites (written as the chunk's words are: the
                // caller's block may cover it). Either is a free chunk's
                // word.
                let back = if head == 0 { chunk } else { head };
                self.write(prev_link(back), chunk, caller);
            }
            self.write(next_link(chunk), head, caller);
            self.write(prev_link(chunk), 0, caller);
            self.write(footer(chunk, size), size, caller);
            if cfg!(opt_level_size) && head != 0 {
                self.field(head, PREV).write(chunk);
            }
        }
        *self.map_word(list) |= list_bit(list);
        self.listed(chunk, size);
    }

    /// In a checked type, widens `span` to hold the free chunk of `size`
    /// bytes at `chunk`, put in a list or grown there. Nothing otherwise.
    #[inline(always)]
    pub(super) fn listed(&mut self, chunk: usize, size: usize) {
        if C::CHECKED {
            let (low, high) = &mut self.large.span;
            if *low == 0 || chunk < *low {
                *low = chunk;
            }
            // No overflow: the chunk lies in memory the heap obtained.
            *high = (*high).max(chunk + size);
        }
    }

    /// The word of the bitmap holding list `list`'s bit.
    #[inline(always)]
    fn map_word(&mut self, list: usize) -> &mut MapWord {
        // The index masked, which `MAP_WORDS` (a power of two) makes a
        // no-op for every list: fewer bytes than the division alone on
        // wasm32, where the compiler cannot see that `list` is small. On
        // ARM the mask is an instruction of its own (an extraction of the
        // bits, where the division alone is a shift of half its bytes).
        let word = if cfg!(target_arch = "arm") {
            list / MAP_BITS
        } else {
            (list / MAP_BITS) & (MAP_WORDS - 1)
        };
        debug_assert_eq!(word, list / MAP_BITS);
        // SAFETY: `word` is below `MAP_WORDS`: masked to it, or, on ARM,
        // `list / MAP_BITS` for a list below `CHUNK_LISTS` (every caller
        // passes `floor_list` of a size, whose largest, at `usize::MAX`, is
        // `CHUNK_LISTS - 1`, as `check.rs`'s tests assert), and
        // `CHUNK_LISTS < MAP_WORDS * MAP_BITS` (asserted at compile time).
        unsafe { self.large.map.get_unchecked_mut(word) }
    }

    /// The first list at or after `list` that holds a chunk: below
    /// `CHUNK_LISTS`, as only those lists' bits are ever set.
    pub(super) fn find(&self, list: usize) -> Option<usize> {
        debug_assert!(list <= CHUNK_LISTS);
        let bits = MAP_BITS;
        // One loop over the words from `list`'s own: each word shifted
        // right by `list`'s bit in it, which drops the lists before
        // `list`, and `list` moved to the next word's first list when
        // none is left (shifted by 0 then). A first word masked before
        // the loop, and the loop over the words after it, took a second
        // load of a word and a second test: more code on thumb and on
        // wasm32, built for size.
        let mut list = list;
        loop {
            let set = *self.large.map.get(list / bits)? >> (list % bits);
            if set != 0 {
                return Some(list + set.trailing_zeros() as usize);
            }
            list = (list | (bits - 1)) + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    /// `floor_list`'s computation on ARM gives `class_of`'s list for every
    /// chunk size (it runs on ARM alone, and is tested here).
    #[test]
    fn the_leading_zeros_give_the_list() {
        use super::super::super::super::class::class_of;
        // Every size up to 1 MiB, and around each power of two above.
        let around = (20..usize::BITS).flat_map(|e| {
            let p = 1usize << e;
            [p - 8, p - 1, p, p + 1, p + p / 4 - 1, p + p / 4]
        });
        for size in (16..1 << 20).chain(around).chain([usize::MAX]) {
            assert_eq!(
                super::floor_list_by_zeros(size),
                class_of(size).0 - 16,
                "{size}"
            );
        }
    }

    /// `scripts/test.sh` runs the tests once more with lite-alloc built for
    /// size, and says so in `LITE_ALLOC_TEST_BUILT_FOR` (`size` or
    /// `speed`): the code under test must then be that build's, or the run
    /// tests the same code twice.
    #[test]
    fn opt_level_size_follows_the_build() {
        crate::__private::assert_built_for(option_env!("LITE_ALLOC_TEST_BUILT_FOR"));
    }

    /// `list_bit`'s rotation on ARM and its shift elsewhere give the same
    /// bit for every list.
    #[test]
    fn a_lists_bit_is_its_rotation() {
        use super::super::{CHUNK_LISTS, MAP_BITS};
        for list in 0..=CHUNK_LISTS {
            let rotated = super::list_bit_by_rotation(list);
            assert_eq!(rotated, 1 << (list % MAP_BITS), "{list}");
            assert_eq!(super::list_bit(list), rotated, "{list}");
        }
    }
}
