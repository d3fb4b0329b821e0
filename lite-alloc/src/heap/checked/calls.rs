//! The checked layer's calls: `alloc`, `dealloc` and `realloc` checked
//! and recorded, with the table grown before a block is handed out.

use core::alloc::Layout;
use core::num::NonZeroUsize;
use core::ptr::{self, null_mut};

use super::table::{Entry, MIN_SLOTS};
use super::{Site, State, Step, first_other_than_canary, inner_size, spilled};
use crate::check::{Block, CANARY, CANARY_PATTERN, Call, Kind, Misuse};
use crate::heap::{Config, Heap, LargeBlocks, MAX_BIN_ALIGN};
use crate::memory::Memory;
use crate::stats::Record;

impl State {
    /// Makes room in the table for one more block, growing it in memory
    /// from the heap; false when there is none. Interrupted (`Err`) when
    /// the heap hands out a block the layer knows for the table: it is
    /// poisoned, and the call, made again, grows the table from its unused
    /// memory.
    pub(super) fn reserve<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        site: Site,
    ) -> Result<bool, Misuse> {
        if self.table.has_room() {
            return Ok(true);
        }
        // Every block is moved, and the sum of their seals made again from
        // them: slots found written now, never later.
        if !self.table.intact() {
            return Err(self.table_written(site));
        }
        let count = match self.table.slots() {
            0 => MIN_SLOTS,
            slots => match slots.checked_mul(2) {
                Some(count) => count,
                None => return Ok(false),
            },
        };
        let Some(bytes) = count.checked_mul(size_of::<Entry>()) else {
            return Ok(false);
        };
        let align = align_of::<Entry>();
        if Layout::from_size_align(bytes, align).is_err() {
            return Ok(false);
        }
        // SAFETY: a valid layout, not zero-sized.
        let slots = unsafe { self.heap_alloc(heap, bytes, align, false) };
        // A chunk whose words a stale pointer wrote was left alone, and
        // the block (if any) is sound: the call, made again, grows the
        // table from the unused memory; the block is kept out, counted as
        // the heap counts what it never reuses.
        if let Some(misuse) = self.broke(heap, site) {
            if !slots.is_null() {
                heap.stats.leaked(bytes);
            }
            return Err(misuse);
        }
        if slots.is_null() {
            return Ok(false);
        }
        if let Some(slot) = self.table.find(slots.addr()) {
            // Checked before a byte of it is written.
            return Err(self.poisoned_by(slot, site));
        }
        // The heap's word before the old table, before the heap follows it.
        let written = self.table_header_change(heap);
        // SAFETY: the block was just handed out for `bytes` bytes, aligned
        // for entries; zeroed, every slot is empty.
        let (old, old_bytes) = unsafe {
            slots.write_bytes(0, bytes);
            self.table.move_to(slots.cast(), count)
        };
        self.table_tag = if C::Large::TAGGED && !self.poisoned {
            // SAFETY: the block was just handed out for `bytes` and `align`.
            unsafe { C::Large::tag(heap, slots, bytes, align) }
        } else {
            0
        };
        if let Some(at) = written {
            // Never given back (the heap would follow the word): kept out,
            // counted as the heap counts what it never reuses.
            heap.stats.leaked(old_bytes);
            return Err(self.table_header_misuse(at, site));
        }
        // A poisoned heap takes nothing back (see `poisoned`).
        if !old.is_null() && !self.poisoned {
            // SAFETY: the old table's block, handed out by `alloc_plain`
            // for `old_bytes` and this alignment, used by nothing else now.
            if let Some(misuse) = unsafe { self.heap_dealloc(heap, old, old_bytes, align, site) } {
                return Err(misuse);
            }
        }
        Ok(true)
    }

    /// The heap found, during this call, a free chunk's words written
    /// through a stale pointer (`LargeBlocks::broken`: with `large =
    /// coalesce`, before it took the chunk out of its list), the first
    /// time: it left the chunk alone and emptied its lists, and it is
    /// poisoned now (see `poisoned`). The misuse: a use after free, of a
    /// block the layer no longer knows.
    pub(super) fn broke<C: Config<N>, const N: usize>(
        &mut self,
        heap: &Heap<C, N>,
        site: Site,
    ) -> Option<Misuse> {
        if self.poisoned || !<C::Large as LargeBlocks>::broken(&heap.large) {
            return None;
        }
        self.poisoned = true;
        Some(self.misuse(Kind::UseAfterFree, site, None))
    }

    /// The heap handed out the block of the table's `slot`: a freed
    /// block's link in its lists was written after it left the quarantine,
    /// and the lists cannot be trusted any more. From now on they are not
    /// used (see `poisoned`). The misuse: a use after free naming that
    /// block; or, the table not intact, the table written (the slot may be
    /// one a stale write filled).
    fn poisoned_by(&mut self, slot: usize, site: Site) -> Misuse {
        if !self.table.intact() {
            return self.table_written(site);
        }
        self.poisoned = true;
        let entry = self.table.entry(slot);
        let known = Some(Block {
            address: entry.address,
            layout: entry.layout(),
            freed: entry.freed(),
        });
        self.misuse(Kind::UseAfterFree, site, known)
    }

    /// What the heap's word before the block at `address`, handed out for
    /// `size` bytes (the caller's) and `align`, holds now
    /// (`LargeBlocks::tag`).
    ///
    /// # Safety
    ///
    /// The block is live in the heap: handed out, or resized in place, for
    /// `inner_size(size, align)` bytes and `align`.
    pub(super) unsafe fn tag<C: Config<N>, const N: usize>(
        &self,
        heap: &Heap<C, N>,
        address: usize,
        size: usize,
        align: usize,
    ) -> usize {
        // A poisoned heap's blocks come from its unused memory, carved as
        // no chunk is, and are never compared.
        if !C::Large::TAGGED || self.poisoned {
            return 0;
        }
        // No overflow, and not spilled: the block holds its canary, and a
        // policy that keeps headers reuses its blocks.
        debug_assert!(!spilled::<C, N>(size, align));
        let inner = size + CANARY;
        // SAFETY: the caller's promise.
        unsafe { C::Large::tag(heap, heap.region.at(address), inner, align) }
    }

    /// Where the heap's word before the block of `entry` (live, or freed
    /// and still in the quarantine: the heap's in either case) changed
    /// since the block was handed out (`LargeBlocks::changed`), if it did.
    pub(super) fn header_change<C: Config<N>, const N: usize>(
        heap: &Heap<C, N>,
        entry: &Entry,
    ) -> Option<usize> {
        let align = entry.align();
        // As in `tag`.
        let inner = entry.size + CANARY;
        let block = heap.region.at(entry.address);
        // SAFETY: a block of the table not yet given back to the heap,
        // handed out (or resized in place) for `inner` bytes and `align`,
        // tagged then.
        unsafe { C::Large::changed(heap, block, inner, align, entry.tag()) }
    }

    /// Where the heap's word before the table's own block changed since
    /// the table moved there (as `header_change` for a block of the
    /// table), if it did. A poisoned heap is not looked at.
    pub(super) fn table_header_change<C: Config<N>, const N: usize>(
        &self,
        heap: &Heap<C, N>,
    ) -> Option<usize> {
        let (slots, bytes) = self.table.memory();
        if !C::Large::TAGGED || self.poisoned || slots.is_null() {
            return None;
        }
        // SAFETY: the table's block, handed out by the heap (not poisoned
        // then, or it would be now) for `bytes` and the entries' alignment,
        // tagged then (`reserve`).
        unsafe {
            C::Large::changed(
                heap,
                heap.region.at(slots.addr()),
                bytes,
                align_of::<Entry>(),
                self.table_tag,
            )
        }
    }

    /// The heap's word at `at`, before the table's own block, was found
    /// written: the heap is poisoned, and the misuse names the word and
    /// no block (the block whose memory it was is released).
    pub(super) fn table_header_misuse(&mut self, at: usize, site: Site) -> Misuse {
        self.poisoned = true;
        let mut misuse = self.misuse(Kind::UseAfterFree, site, None);
        misuse.header = NonZeroUsize::new(at);
        misuse
    }

    /// Whether the heap's word before the block in `slot` changed since
    /// the block was handed out (`header_change`): a pointer to a block
    /// freed earlier, whose memory this one now holds, wrote it, and the
    /// heap would follow it when the block comes back. Then the heap is
    /// poisoned (see `poisoned`: it takes nothing back), and the misuse
    /// names the block and the word. A poisoned heap is not looked at.
    pub(super) fn header_written<C: Config<N>, const N: usize>(
        &mut self,
        heap: &Heap<C, N>,
        slot: usize,
        site: Site,
    ) -> Option<Misuse> {
        if !C::Large::TAGGED || self.poisoned {
            return None;
        }
        let entry = self.table.entry(slot);
        let at = Self::header_change(heap, &entry)?;
        // The tag compared is the entry's: the table written, not the word.
        if !self.table.intact() {
            return Some(self.table_written(site));
        }
        Some(self.header_misuse(&entry, at, site))
    }

    /// The heap's word at `at`, before the block of `entry`, was found
    /// written: the heap is poisoned, and the misuse names both.
    pub(super) fn header_misuse(&mut self, entry: &Entry, at: usize, site: Site) -> Misuse {
        self.poisoned = true;
        let known = Some(Block {
            address: entry.address,
            layout: entry.layout(),
            freed: entry.freed(),
        });
        let mut misuse = self.misuse(Kind::UseAfterFree, site, known);
        // Not 0: a word of the heap's memory.
        misuse.header = NonZeroUsize::new(at);
        misuse
    }

    /// Gives `block` back to the heap, which is not poisoned. Merging it
    /// with a free neighbour, the heap may find the neighbour's words
    /// written through a stale pointer: then it leaves the block alone,
    /// which is kept out, counted as the heap counts what it never reuses,
    /// and the misuse is returned (`broke`).
    ///
    /// # Safety
    ///
    /// `block` was handed out by the heap for `size` bytes and `align` (by
    /// `heap_alloc` or `resize`), and nothing uses it any more.
    #[inline(always)]
    pub(super) unsafe fn heap_dealloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        block: *mut u8,
        size: usize,
        align: usize,
        site: Site,
    ) -> Option<Misuse> {
        debug_assert!(!self.poisoned);
        // SAFETY: the caller's promise.
        unsafe { heap.dealloc_inner(block, size, align) };
        let broke = self.broke(heap, site);
        if broke.is_some() {
            heap.stats.leaked(size);
        }
        broke
    }

    /// A block of `size` bytes aligned to `align` from the heap, its first
    /// `size` bytes zero with `zeroed` (null: out of memory): from its
    /// lists or its unused memory as ever, or, once it is poisoned (its
    /// lists cannot be trusted), from its unused memory only.
    ///
    /// # Safety
    ///
    /// `size` and `align` make a valid layout, not zero-sized.
    pub(super) unsafe fn heap_alloc<C: Config<N>, const N: usize>(
        &self,
        heap: &mut Heap<C, N>,
        size: usize,
        align: usize,
        zeroed: bool,
    ) -> *mut u8 {
        // What the memory source zeroes, the heap need not.
        let zero = if zeroed && <C::Memory as Memory>::ZEROED {
            size
        } else {
            0
        };
        // SAFETY: a valid layout, not zero-sized (the caller's promise),
        // within `bump`'s bound (rounded up by less than a grain).
        let block = unsafe {
            match (self.poisoned, zero != 0) {
                // Whole grains at the largest alignment any policy carves
                // at, so that `top` stays aligned for the fence a later
                // region's `close` writes there.
                (true, _) => match size.checked_next_multiple_of(MAX_BIN_ALIGN) {
                    Some(whole) => heap.bump(whole, align.max(MAX_BIN_ALIGN), zero),
                    None => null_mut(),
                },
                (false, true) => heap.alloc_inner::<true>(size, align),
                (false, false) => heap.alloc_plain(size, align),
            }
        };
        if zeroed && zero == 0 && !block.is_null() {
            // SAFETY: the block holds `size` bytes.
            unsafe { block.write_bytes(0, size) };
        }
        block
    }

    /// A block of `inner` bytes aligned to `align` from the heap, zero with
    /// `zeroed`; null when memory runs out. When the heap hands out a block
    /// the layer knows, that misuse (the heap is poisoned), and the request
    /// served all the same, from memory the heap's lists never held (see
    /// `poisoned`), so that a hook that returns lets the program go on.
    ///
    /// # Safety
    ///
    /// `inner` is an `inner_size::<C, N>(size, align)`: with `align`, a
    /// valid layout, not zero-sized.
    unsafe fn carve<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        inner: usize,
        align: usize,
        zeroed: bool,
        site: Site,
    ) -> (*mut u8, Option<Misuse>) {
        // SAFETY: `inner` is a valid layout's size, not zero (the caller's
        // promise).
        let block = unsafe { self.heap_alloc(heap, inner, align, zeroed) };
        if block.is_null() {
            // The heap may have left a chunk alone on the way (below).
            return (null_mut(), self.broke(heap, site));
        }
        let Some(slot) = self.table.find(block.addr()) else {
            // A chunk whose words a stale pointer wrote was left alone (the
            // block comes from elsewhere, sound).
            return (block, self.broke(heap, site));
        };
        // A block the layer knows: live, waiting in the quarantine or a
        // spare.
        let poisoned = self.poisoned_by(slot, site);
        // SAFETY: as above.
        let block = unsafe { self.heap_alloc(heap, inner, align, zeroed) };
        (block, Some(poisoned))
    }

    /// `alloc` (and `alloc_zeroed`): the block, and a misuse found on the
    /// way; interrupted by a misuse found while emptying the quarantine.
    ///
    /// # Safety
    ///
    /// `layout.size()` is not zero.
    pub(super) unsafe fn alloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        layout: Layout,
        zeroed: bool,
    ) -> Step<*mut u8> {
        let (size, align) = (layout.size(), layout.align());
        let site = Site {
            call: Call::Alloc,
            pointer: 0,
            layout: Some(layout),
        };
        if self.blind || self.table.damaged() {
            // SAFETY: forwarded from the caller.
            return unsafe { self.blind_alloc(heap, layout, zeroed, site) };
        }
        let Some(inner) = inner_size::<C, N>(size, align) else {
            heap.stats.failed();
            return Ok((null_mut(), None));
        };
        let (block, found) = self.room_and_block(heap, size, inner, align, zeroed, site)?;
        if block.is_null() {
            heap.stats.failed();
            return Ok((null_mut(), found));
        }
        // The table found written on the way (the heap handed out a block
        // its slots claim): the layer is blind, and records nothing more.
        if self.blind {
            heap.allocated(size, align);
            return Ok((block, found));
        }
        // SAFETY: the block holds `inner >= size + CANARY` bytes; the table
        // has room.
        unsafe { self.handed_out(heap, block, size, align) };
        // Its entry found no empty slot: the table was written (the block,
        // sound, is handed out all the same). With a misuse already found,
        // the next call reports it.
        if self.table.damaged() && found.is_none() {
            return Ok((block, Some(self.table_written(site))));
        }
        Ok((block, found))
    }

    /// A block for `size` bytes aligned to `align` and its canary (`inner`
    /// bytes), its first `size` bytes zeroed with `zeroed`, with room in the
    /// table for its entry: a spare for a request the canary spilled, else
    /// from the heap (`carve`), emptying the quarantine when memory runs
    /// out; interrupted by a misuse found while emptying it or growing the
    /// table.
    fn room_and_block<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        size: usize,
        inner: usize,
        align: usize,
        zeroed: bool,
        site: Site,
    ) -> Step<*mut u8> {
        let mut flushed = false;
        loop {
            // A spare first: taking it frees its own slot in the table,
            // which a full table that cannot grow then has for it. One
            // found written interrupts the call, which, made again, takes
            // the next.
            if spilled::<C, N>(size, align) {
                let (spare, misuse) = self.take_spare(heap, align, site);
                if let Some(misuse) = misuse {
                    return Err(misuse);
                }
                if !spare.is_null() {
                    if zeroed {
                        // SAFETY: a spare holds `inner` bytes, `size` of
                        // them requested.
                        unsafe { spare.write_bytes(0, size) };
                    }
                    return Ok((spare, None));
                }
            }
            if self.reserve(heap, site)? {
                // SAFETY: `inner` is `inner_size(size, align)`, as both
                // callers (`alloc`, `realloc`) compute it.
                let (block, found) = unsafe { self.carve(heap, inner, align, zeroed, site) };
                // A block, or the heap found poisoned by this very call
                // (reported with its result, null or not: emptying the
                // quarantine could find a second misuse, which would
                // interrupt the call and lose the first).
                if !block.is_null() || found.is_some() {
                    return Ok((block, found));
                }
            }
            // Out of memory, for the table or the block: the quarantine's
            // blocks first, once (on a poisoned heap too, where they go
            // back to no list but may become spares), then again.
            if flushed || self.queued == 0 {
                return Ok((null_mut(), None));
            }
            if let Some(misuse) = self.flush(heap, site) {
                return Err(misuse);
            }
            flushed = true;
        }
    }

    /// Records a block just handed out for `size` bytes aligned to `align`:
    /// its canary, its entry (the table has room), the accounting.
    ///
    /// # Safety
    ///
    /// `block` holds `size + CANARY` bytes, with the heap's provenance.
    pub(super) unsafe fn handed_out<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        block: *mut u8,
        size: usize,
        align: usize,
    ) {
        debug_assert!(self.table.find(block.addr()).is_none());
        // SAFETY: the canary's bytes lie in the block (the caller's promise).
        unsafe { ptr::copy_nonoverlapping(CANARY_PATTERN.as_ptr(), block.add(size), CANARY) };
        // SAFETY: the block was just handed out for `size` (with the
        // canary) and `align`.
        let tag = unsafe { self.tag(heap, block.addr(), size, align) };
        self.table
            .insert(Entry::live(block.addr(), size, align, tag));
        self.live_bytes += size;
        heap.allocated(size, align);
    }

    /// Checks that `block` is a live block allocated with `layout`, its
    /// canary intact; its slot, or the misuse.
    pub(super) fn validate<C: Config<N>, const N: usize>(
        &mut self,
        heap: &Heap<C, N>,
        site: Site,
    ) -> Result<usize, Misuse> {
        let address = site.pointer;
        let Some(slot) = self.table.find(address) else {
            // The table is scanned only once it is known intact.
            if !self.table.intact() {
                return Err(self.table_written(site));
            }
            let block = self.containing(address);
            return Err(self.misuse(Kind::ForeignPointer, site, block));
        };
        let entry = self.table.entry(slot);
        let known = || {
            Some(Block {
                address,
                layout: entry.layout(),
                freed: entry.freed(),
            })
        };
        if entry.freed() {
            return Err(self.through_table(Kind::DoubleFree, site, known()));
        }
        // The words themselves, not the layout they would make: an entry a
        // stale write reached may make none (`Entry::layout`), and the size
        // compared is the one the quarantine fills.
        let layout = site.layout.unwrap_or(Layout::new::<u8>());
        if (entry.size, entry.align()) != (layout.size(), layout.align()) {
            return Err(self.through_table(Kind::WrongLayout, site, known()));
        }
        // SAFETY: a live block of this heap holds its canary after its
        // `size` bytes; read with the heap's provenance (the caller's
        // pointer covers only the requested bytes).
        let changed = unsafe { first_other_than_canary(heap.region.at(address + entry.size)) };
        match changed {
            None => Ok(slot),
            // The entry says the block is live: through the table too (a
            // stale write may have cleared a freed block's state).
            Some(at) => {
                let mut misuse = self.through_table(Kind::Overrun, site, known());
                if !self.blind {
                    misuse.offset = Some(entry.size + at);
                }
                Err(misuse)
            }
        }
    }

    /// A misuse found in what the table says of the caller's pointer (freed,
    /// another layout, live with its canary changed): that misuse when the
    /// table is intact; else the table written (the layer goes blind), and
    /// the caller's call is made again, blind.
    fn through_table(&mut self, kind: Kind, site: Site, block: Option<Block>) -> Misuse {
        if self.table.intact() {
            self.misuse(kind, site, block)
        } else {
            self.table_written(site)
        }
    }

    /// The block (live or freed) whose bytes, canary included, hold
    /// `address`, if any: a scan of the table, on the error path only.
    pub(super) fn containing(&self, address: usize) -> Option<Block> {
        self.table
            .entries()
            .map(|(_, entry)| entry)
            .find(|entry| {
                // Saturating: the table is intact, but this runs on error
                // paths, where a wrap would only misname the block.
                address > entry.address
                    && address - entry.address < entry.size.saturating_add(CANARY)
            })
            .map(|entry| Block {
                address: entry.address,
                layout: entry.layout(),
                freed: entry.freed(),
            })
    }

    /// `dealloc`: a misuse, or the block goes to the quarantine.
    /// Interrupted when the heap's header of the block was written through
    /// a stale pointer (`header_written`): the heap is poisoned, and the
    /// call, made again, frees the block into the quarantine, from which a
    /// poisoned heap takes nothing back.
    ///
    /// # Safety
    ///
    /// `block` is the caller's pointer, valid for `layout.size()` bytes if
    /// it is a live block of this heap (as `validate` checks).
    pub(super) unsafe fn dealloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        block: *mut u8,
        layout: Layout,
    ) -> Step<()> {
        let site = Site {
            call: Call::Dealloc,
            pointer: block.addr(),
            layout: Some(layout),
        };
        if self.blind || self.table.damaged() {
            return self.blind_dealloc(heap, layout, site);
        }
        let slot = match self.validate(heap, site) {
            Ok(slot) => slot,
            // The table found written: made again, blind.
            Err(misuse) if self.blind => return Err(misuse),
            Err(misuse) => return Ok(((), Some(misuse))),
        };
        if let Some(misuse) = self.header_written(heap, slot, site) {
            return Err(misuse);
        }
        heap.freed(layout.size(), layout.align());
        // SAFETY: a live block, validated, that the caller gives up.
        Ok(((), unsafe { self.quarantine(heap, slot, block, site) }))
    }

    /// `realloc`: the block (or null, the old one untouched) with a second
    /// misuse to report after the first, and the first; interrupted by a
    /// misuse found while emptying the quarantine.
    ///
    /// # Safety
    ///
    /// As for `dealloc`; `new_size` is not zero.
    pub(super) unsafe fn realloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        block: *mut u8,
        layout: Layout,
        new_size: usize,
    ) -> Step<(*mut u8, Option<Misuse>)> {
        let site = Site {
            call: Call::Realloc { new_size },
            pointer: block.addr(),
            layout: Some(layout),
        };
        if self.blind || self.table.damaged() {
            // SAFETY: forwarded from the caller.
            return unsafe { self.blind_realloc(heap, block, layout, new_size, site) };
        }
        let slot = match self.validate(heap, site) {
            Ok(slot) => slot,
            // As in `dealloc`.
            Err(misuse) if self.blind => return Err(misuse),
            Err(misuse) => return Ok(((null_mut(), None), Some(misuse))),
        };
        // As in `dealloc`: made again, the block moves.
        if let Some(misuse) = self.header_written(heap, slot, site) {
            return Err(misuse);
        }
        let (old_size, align) = (layout.size(), layout.align());
        let Some(new_inner) = inner_size::<C, N>(new_size, align) else {
            heap.stats.failed();
            return Ok(((null_mut(), None), None));
        };
        // A poisoned heap's lists cannot be trusted: blocks move.
        if C::REALLOC_IN_PLACE && !self.poisoned {
            // The block's size in the heap: what `alloc` asked for it (a
            // valid layout's, as when it was allocated).
            let Some(old_inner) = inner_size::<C, N>(old_size, align) else {
                return Ok(((null_mut(), None), None));
            };
            // SAFETY: a live block of this heap, handed out for `old_inner`
            // bytes and `align`; the new size is a valid layout's.
            let in_place = unsafe { C::Large::resize(heap, block, old_inner, new_inner, align) };
            // Growing into a free neighbour, or shrinking (the tail merges
            // with one), it may have found the neighbour's words written:
            // reported with the result (the block is sound), or before the
            // call is made again to move.
            let broke = self.broke(heap, site);
            if !in_place && let Some(misuse) = broke {
                return Err(misuse);
            }
            if in_place {
                heap.freed(old_size, align);
                heap.allocated(new_size, align);
                let address = block.addr();
                let block = heap.region.at(address);
                // SAFETY: the block now holds `new_inner >= new_size +
                // CANARY` bytes.
                unsafe {
                    ptr::copy_nonoverlapping(CANARY_PATTERN.as_ptr(), block.add(new_size), CANARY)
                };
                self.live_bytes = self.live_bytes - old_size + new_size;
                // SAFETY: the block was just resized in place for
                // `new_inner` bytes and `align`.
                let tag = unsafe { self.tag(heap, address, new_size, align) };
                self.table
                    .update(slot, Entry::live(address, new_size, align, tag));
                return Ok(((block, None), broke));
            }
        }
        // Moves: the new block, then the old one to the quarantine.
        let (new, found) = self.room_and_block(heap, new_size, new_inner, align, false, site)?;
        if new.is_null() {
            heap.stats.failed();
            return Ok(((null_mut(), None), found));
        }
        // As in `alloc`: blind, the block moves as `blind_realloc` moves it.
        if self.blind {
            // SAFETY: the old block is live (validated) and holds `old_size`
            // bytes, the new one `new_inner`; they do not overlap.
            unsafe { ptr::copy_nonoverlapping(block, new, old_size.min(new_size)) };
            heap.allocated(new_size, align);
            self.blind_freed(heap, layout);
            return Ok(((new, None), found));
        }
        // SAFETY: both blocks are valid for the bytes copied and do not
        // overlap (the old one is live); the new one holds `new_inner`.
        unsafe {
            ptr::copy_nonoverlapping(block, new, old_size.min(new_size));
            self.handed_out(heap, new, new_size, align);
        }
        heap.freed(old_size, align);
        // The table may have moved: the old block's slot again. Validated,
        // the block is in an intact table; with the new block's entry found
        // no empty slot, the table was written, and the old block is left
        // alone (not found then, that is why).
        let second = match self.table.find(block.addr()) {
            // SAFETY: the old block, live and validated, which the caller
            // gives up now that its bytes are copied.
            Some(slot) if !self.table.damaged() => unsafe {
                self.quarantine(heap, slot, block, site)
            },
            _ => Some(self.table_written(site)),
        };
        // A misuse found by the quarantine comes second, when the new block
        // found one (the heap poisoned).
        match found {
            None => Ok(((new, None), second)),
            Some(_) => Ok(((new, second), found)),
        }
    }
}
