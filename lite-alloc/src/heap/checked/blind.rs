//! The checked layer once its table's slots were found written
//! (`State::blind`): one report, then no table, and no checks.

use core::alloc::Layout;
use core::num::NonZeroUsize;
use core::ptr::{self, null_mut};

use super::table::Table;
use super::{Site, State, Step};
use crate::check::{CANARY, Kind, Misuse};
use crate::heap::{Config, Heap};
use crate::stats::Record;

impl State {
    /// The table's slots were found written, during `site`: the heap is
    /// poisoned and the layer goes blind (see `blind`). The misuse names
    /// the table and no block; it is the layer's last.
    #[cold]
    pub(super) fn table_written(&mut self, site: Site) -> Misuse {
        debug_assert!(!self.blind);
        self.blind = true;
        self.poisoned = true;
        let mut misuse = self.misuse(Kind::UseAfterFree, site, None);
        misuse.table = NonZeroUsize::new(self.table.memory().0.addr());
        misuse
    }

    /// Forgets the table, the quarantine and the spares once the layer is
    /// blind, at the end of the call that found the table written: their
    /// blocks never go back to the poisoned heap, and are counted as the
    /// heap counts what it never reuses. Nothing is read from the table.
    /// Run after every call once blind: the first forgets, and the layer
    /// then holds nothing for the others to forget.
    #[cold]
    #[inline(never)]
    pub(super) fn forget<C: Config<N>, const N: usize>(&mut self, heap: &mut Heap<C, N>) {
        debug_assert!(self.blind);
        let (_, table_bytes) = self.table.memory();
        // A spare's block holds the largest bin and the canary (`spilled`:
        // there are bins when there are spares).
        let spare = C::BINS.last().map_or(0, |&largest| largest + CANARY);
        let spare_bytes = self.spares.wrapping_mul(spare);
        heap.stats.leaked(
            table_bytes
                .wrapping_add(self.queued_bytes)
                .wrapping_add(spare_bytes),
        );
        self.table = Table::EMPTY;
        self.table_tag = 0;
        (self.oldest, self.queued, self.queued_bytes) = (0, 0, 0);
        (self.spare, self.spares) = (0, 0);
        self.live_bytes = 0;
    }

    /// `alloc` once the table was found written: a call that finds it
    /// first (a block of an earlier call found no empty slot in it,
    /// `Table::damaged`) is interrupted by that misuse, and made again;
    /// blind, a block from the heap's unused memory, as every block of a
    /// poisoned heap, with neither a canary nor an entry.
    ///
    /// # Safety
    ///
    /// `layout.size()` is not zero.
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn blind_alloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        layout: Layout,
        zeroed: bool,
        site: Site,
    ) -> Step<*mut u8> {
        if !self.blind {
            return Err(self.table_written(site));
        }
        // SAFETY: a valid layout, not zero-sized (the caller's promise).
        let block = unsafe { self.heap_alloc(heap, layout.size(), layout.align(), zeroed) };
        if block.is_null() {
            heap.stats.failed();
        } else {
            heap.allocated(layout.size(), layout.align());
        }
        Ok((block, None))
    }

    /// `dealloc` once the table was found written: as `blind_alloc`; blind,
    /// the block, whichever it is, is leaked (a poisoned heap takes nothing
    /// back).
    #[cold]
    #[inline(never)]
    pub(super) fn blind_dealloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        layout: Layout,
        site: Site,
    ) -> Step<()> {
        if !self.blind {
            return Err(self.table_written(site));
        }
        self.blind_freed(heap, layout);
        Ok(((), None))
    }

    /// A block allocated with `layout` freed once blind: leaked, counted as
    /// freed (a double free, unseen now, is counted twice).
    pub(super) fn blind_freed<C: Config<N>, const N: usize>(
        &self,
        heap: &mut Heap<C, N>,
        layout: Layout,
    ) {
        heap.freed(layout.size(), layout.align());
        heap.stats.leaked(layout.size());
    }

    /// `realloc` once the table was found written: as `blind_alloc`;
    /// blind, the block moves to one from `blind_alloc`, and the old one is
    /// leaked: null when memory runs out or the new size makes no valid
    /// layout, the old block untouched.
    ///
    /// # Safety
    ///
    /// `block` is live, allocated with `layout` (nothing checks it now);
    /// `new_size` is not zero.
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn blind_realloc<C: Config<N>, const N: usize>(
        &mut self,
        heap: &mut Heap<C, N>,
        block: *mut u8,
        layout: Layout,
        new_size: usize,
        site: Site,
    ) -> Step<(*mut u8, Option<Misuse>)> {
        if !self.blind {
            return Err(self.table_written(site));
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            heap.stats.failed();
            return Ok(((null_mut(), None), None));
        };
        // SAFETY: `new_size` is not zero (the caller's promise).
        let (new, _) = unsafe { self.blind_alloc(heap, new_layout, false, site)? };
        if !new.is_null() {
            // SAFETY: the old block is valid for `layout.size()` bytes (the
            // caller's promise), the new one for `new_size`, and they do
            // not overlap (the new one was just carved).
            unsafe { ptr::copy_nonoverlapping(block, new, layout.size().min(new_size)) };
            self.blind_freed(heap, layout);
        }
        Ok(((new, None), None))
    }
}
