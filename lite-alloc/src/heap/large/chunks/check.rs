//! Invariants 6 and 7 checked: every list and bitmap bit, every free chunk
//! and its neighbours, the slab, and (with debug assertions, which keep the
//! regions) every chunk of every region.

use super::super::super::check::{Corruption, ensure};
use super::super::super::{Config, Heap};
use super::lists::floor_list;
#[cfg(debug_assertions)]
use super::tag::Header;
use super::tag::{self, GRAIN, MIN_CHUNK, WORD, footer, next_link, prev_link};
use super::{CHUNK_LISTS, Chunks, MAP_BITS, MAP_WORDS};
use crate::memory::Memory;
use crate::stats::Record;

impl<C: Config<N, Large = Chunks>, const N: usize> Heap<C, N> {
    /// Checks invariants 6 and 7.
    pub(super) fn check_chunks(&self) -> Result<(), Corruption> {
        let (free_chunks, free_bytes) = self.check_lists()?;
        ensure(
            self.stats
                .large_free()
                .is_none_or(|bytes| bytes == free_bytes),
            "the statistics count other free bytes in the chunk lists",
            free_bytes,
        )
        // A list cut short (a link zeroed by a stale write) holds fewer.
        .map_err(Corruption::in_free)?;
        let slab = &self.large.slab;
        ensure(
            slab.next.is_null() || slab.next.addr() <= slab.end,
            "the slab ends before its next block",
            slab.next.addr(),
        )?;
        #[cfg(debug_assertions)]
        {
            self.check_slab_headers()?;
            self.walk_regions(free_chunks)?;
            self.check_bins_in_slabs()?;
        }
        let _ = free_chunks;
        Ok(())
    }

    /// Every slab's header is the one the heap wrote when it took the
    /// slab (with debug assertions, which keep the slabs): before the walk
    /// of the regions meets it. A slab is in use for good, and its header
    /// is no block's of the checked layer's: changed (but for the flag of
    /// the chunk before), a stale pointer into a block freed earlier,
    /// whose memory the slab now holds, wrote it (`in_free`).
    #[cfg(debug_assertions)]
    fn check_slab_headers(&self) -> Result<(), Corruption> {
        for (payload, end) in self.large.slabs.iter() {
            let chunk = payload - WORD;
            // `end` is where `want` bytes from `chunk` end; the chunk may
            // be a grain longer (`split_chunk` splits off no less than a
            // chunk).
            let want = end - chunk;
            // SAFETY: the header of a slab, a chunk in use of this heap.
            let word = unsafe { self.header(chunk) }.0 & !Header::PREV_FREE;
            ensure(
                word == want | Header::IN_USE || word == (want + GRAIN) | Header::IN_USE,
                "a slab's header is not the one the heap wrote",
                chunk,
            )
            .map_err(Corruption::in_free)?;
        }
        Ok(())
    }

    /// Every free block of a bin lies wholly inside a slab (with debug
    /// assertions, which keep every slab). The bins' lists were walked and
    /// checked (`Heap::check`).
    #[cfg(debug_assertions)]
    fn check_bins_in_slabs(&self) -> Result<(), Corruption> {
        for (i, list) in self.bins.iter().enumerate() {
            let size = Self::bin_size(i);
            // SAFETY: `Heap::check` checked every block of the list before.
            unsafe {
                list.walk(|block| {
                    ensure(
                        self.large.slabs.holds(block.addr(), size) != Some(false),
                        "a bin's free block lies outside every slab",
                        block.addr(),
                    )
                })
            }?;
        }
        Ok(())
    }

    /// Walks every list: each chunk is free, anchored, of a size this list
    /// holds, with its footer, doubly linked, between neighbours in use, and
    /// the list's bit says whether it has one. The free chunks and their
    /// bytes.
    fn check_lists(&self) -> Result<(usize, usize), Corruption> {
        let (mut chunks, mut bytes) = (0, 0);
        for list in 0..CHUNK_LISTS {
            let head = self.large.lists[list].addr();
            ensure(
                (head != 0) == self.map_bit(list),
                "a list's bit disagrees with the list",
                list,
            )?;
            let (mut chunk, mut prev) = (head, 0);
            let (mut saved, mut power, mut steps) = (0, 1usize, 0usize);
            while chunk != 0 {
                ensure(chunk != saved, "a chunk list loops", chunk).map_err(Corruption::in_free)?;
                self.check_free_chunk(chunk, list, prev)
                    .map_err(Corruption::in_free)?;
                // SAFETY: checked to be a free chunk of this heap.
                let size = unsafe { self.header(chunk) }.size();
                (chunks, bytes) = (chunks + 1, bytes + size);
                steps += 1;
                if steps == power {
                    (saved, power, steps) = (chunk, power.saturating_mul(2), 0);
                }
                prev = chunk;
                // SAFETY: as above: a free chunk of this heap, whose first
                // payload word is a link.
                chunk = unsafe { self.read(next_link(chunk)) };
            }
        }
        // The bits past the last list stay clear: `chunk_alloc` would take
        // one for a list and read past the heads.
        for bit in CHUNK_LISTS..MAP_WORDS * MAP_BITS {
            ensure(
                !self.map_bit(bit),
                "a bitmap bit past the last list is set",
                bit,
            )?;
        }
        Ok((chunks, bytes))
    }

    /// Whether bit `bit` of the bitmap is set: list `bit`'s, or a spare bit
    /// past the last list.
    fn map_bit(&self, bit: usize) -> bool {
        self.large.map[bit / MAP_BITS] >> (bit % MAP_BITS) & 1 == 1
    }

    /// Checks the chunk at `chunk` in list `list`, after `prev` (0: the
    /// head), before its links are followed.
    fn check_free_chunk(&self, chunk: usize, list: usize, prev: usize) -> Result<(), Corruption> {
        ensure(tag::anchored(chunk), "a free chunk is misaligned", chunk)?;
        #[cfg(debug_assertions)]
        {
            let log = &self.region.log;
            ensure(
                !log.complete() || log.holds(chunk, MIN_CHUNK),
                "a free chunk lies outside the heap's memory",
                chunk,
            )?;
        }
        // In any build: where the memory source can tell.
        ensure(
            self.region.memory.holds(chunk, MIN_CHUNK) != Some(false),
            "a free chunk lies outside the memory the heap may read",
            chunk,
        )?;
        // SAFETY: an anchored address the lists name; with debug assertions
        // checked to lie in the heap's memory, and where the memory source
        // can tell, in memory the heap may read. (Else `check` trusts the
        // lists to name memory of the heap.)
        let header = unsafe { self.header(chunk) };
        let size = header.size();
        ensure(!header.in_use(), "a chunk in a free list is in use", chunk)?;
        ensure(
            header.prev_in_use(),
            "a free chunk follows a free chunk",
            chunk,
        )?;
        // A free chunk's header is its size alone (invariant 7), which the
        // heap reads without a mask: a marker's flag there would make it
        // split the chunk off the grain.
        ensure(
            !header.is_marker(),
            "a free chunk's header has a marker's flag",
            chunk,
        )?;
        ensure(
            size >= MIN_CHUNK && size.is_multiple_of(GRAIN) && floor_list(size) == list,
            "a free chunk's size does not belong in its list",
            chunk,
        )?;
        // Its footer and the next chunk's header, before they are read.
        ensure(
            chunk
                .checked_add(size)
                .is_some_and(|end| end.checked_add(WORD).is_some())
                && self.region.memory.holds(chunk, size + WORD) != Some(false),
            "a free chunk ends outside the memory the heap may read",
            chunk,
        )?;
        // SAFETY: the chunk's own words, and the header of the one after it
        // (a free chunk is never the last).
        unsafe {
            ensure(
                self.read(footer(chunk, size)) == size,
                "a free chunk's footer is not its size",
                chunk,
            )?;
            ensure(
                self.read(prev_link(chunk)) == prev,
                "a free chunk's link back is wrong",
                chunk,
            )?;
            ensure(
                chunk + size != self.region.top.addr(),
                "a free chunk is the last one",
                chunk,
            )?;
            let after = self.header(chunk + size);
            ensure(
                after.in_use() && !after.prev_in_use(),
                "the chunk after a free chunk is free, or says the free one is in use",
                chunk + size,
            )
        }
    }

    /// Walks every chunk of every region kept, from its first to its
    /// `top` (the current one) or its fence: sizes, bit 1 against the
    /// chunk before, no two free chunks in a row, the last chunk in use,
    /// and as many free chunks as the lists hold.
    #[cfg(debug_assertions)]
    fn walk_regions(&self, listed: usize) -> Result<(), Corruption> {
        let log = &self.region.log;
        let mut free = 0;
        let mut slab_found = self.large.slab.next.is_null();
        for region in log.entries() {
            let stop = if region.stop == 0 {
                self.region.top.addr()
            } else {
                region.stop
            };
            // The first chunk: where the bump pointer started (`skip`).
            let mut chunk = region.start;
            if chunk >= stop {
                continue;
            }
            let mut prev_in_use = true;
            while chunk < stop {
                // SAFETY: a chunk of this region: the first, or where the
                // one before ended (checked to be before `stop`).
                let header = unsafe { self.header(chunk) };
                let size = header.size();
                ensure(
                    !header.is_marker() && size >= MIN_CHUNK && size.is_multiple_of(GRAIN),
                    "a chunk's header has no chunk's size",
                    chunk,
                )?;
                ensure(
                    chunk.checked_add(size).is_some_and(|end| end <= stop),
                    "a chunk passes its region's top",
                    chunk,
                )?;
                // A word a stale pointer may have written (`in_free`):
                // the checked layer's record of a header leaves this flag
                // out.
                ensure(
                    header.prev_in_use() == prev_in_use,
                    "a header's bit 1 disagrees with the chunk before",
                    chunk,
                )
                .map_err(Corruption::in_free)?;
                ensure(
                    header.in_use() || prev_in_use,
                    "two free chunks in a row",
                    chunk,
                )?;
                let slab = &self.large.slab;
                if header.in_use()
                    && chunk < slab.next.addr()
                    && slab.end <= chunk + size
                    && slab.next.addr() <= slab.end
                {
                    slab_found = true;
                }
                free += usize::from(!header.in_use());
                prev_in_use = header.in_use();
                chunk += size;
            }
            if region.stop == 0 {
                // A free chunk before `top` joins the unused memory. (In a
                // region given up, the last chunk may be free: the fence
                // follows it.)
                ensure(prev_in_use, "the last chunk is free", chunk)?;
            } else {
                // SAFETY: the word `TAIL` kept free, where `close` wrote.
                let fence = unsafe { self.header(stop) };
                ensure(
                    fence.in_use() && fence.size() == 0,
                    "a region given up has no fence",
                    stop,
                )?;
            }
        }
        if log.complete() {
            ensure(
                free == listed,
                "the lists hold another number of free chunks than the regions",
                free,
            )
            // As for the statistics' count, above.
            .map_err(Corruption::in_free)?;
            ensure(
                slab_found,
                "the slab lies in no chunk in use",
                self.large.slab.next.addr(),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::super::class::class_of;
    use super::super::lists::floor_list;
    use super::*;

    #[test]
    fn lists_bound_their_chunks() {
        // Every size up to 64 KiB, and those around each power of two above.
        let around = (16..usize::BITS - 1).flat_map(|e| {
            let p = 1usize << e;
            [p - 8, p, p + 8, p + p / 4 - 8, p + p / 4]
        });
        for size in (16..1 << 16).step_by(8).chain(around) {
            let floor = floor_list(size);
            assert!(floor < CHUNK_LISTS);
            // Every chunk of the list after `floor` holds more than `size`:
            // `chunk_alloc` searches from there when `floor`'s head does not
            // fit.
            let next_bound = class_of(size).1;
            assert!(next_bound > size, "{size}");
            assert_eq!(floor_list(next_bound), floor + 1, "{size}");
            assert_eq!(floor_list(next_bound - 1), floor, "{size}");
        }
        // The last list is the largest size's: `find` may be asked to search
        // from the one after it, which the bitmap has room for.
        assert_eq!(floor_list(usize::MAX), CHUNK_LISTS - 1);
    }
}
