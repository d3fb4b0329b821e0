//! A simulated wasm linear memory: a static array grown a page at a time, by
//! the allocator under test and by "foreign" code (another allocator, a
//! runtime) between its calls. Foreign pages are filled with a canary so a
//! test can prove the allocator never wrote to them.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::Mutex;

/// The simulated page size: the wasm page.
pub const PAGE: usize = 65536;
/// What foreign pages are filled with.
pub const CANARY: u8 = 0xF0;

/// The bytes of a simulated memory: a static of their own, reached only
/// through a raw pointer (a reference to them all would be retagged by Miri on
/// every use, which makes Miri very slow).
#[repr(C, align(65536))]
pub struct Storage<const BYTES: usize>(UnsafeCell<[u8; BYTES]>);

// SAFETY: only reached through the raw pointer a `Sim` keeps; see `Sim`.
unsafe impl<const BYTES: usize> Sync for Storage<BYTES> {}

impl<const BYTES: usize> Storage<BYTES> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Storage(UnsafeCell::new([0; BYTES]))
    }
}

/// One simulated memory of `BYTES` bytes.
pub struct Sim<const BYTES: usize> {
    base: *mut u8,
    state: Mutex<State>,
}

struct State {
    pages: usize,
    /// The memory the allocator grew, as ranges `[start, end)` in address
    /// order, adjacent regions joined (pages are taken in address order).
    /// Kept joined as it grows: the model asks of every block it places
    /// whether it lies in one, which is then a binary search rather than a
    /// sort of every region (slow under Miri).
    ours: Vec<(usize, usize)>,
    /// Each region foreign code grew, as a pointer (to read its canary).
    foreign: Vec<(*mut u8, usize)>,
    /// Whether a grow by the allocator was refused since the last look.
    refused: bool,
}

// SAFETY: the pointers only locate foreign pages of the static storage; the
// state is only touched with the mutex held.
unsafe impl Send for State {}

// SAFETY: the storage is only reached through raw pointers: regions handed to
// the allocator (used under its lock) and foreign pages written here while the
// state mutex is held.
unsafe impl<const BYTES: usize> Sync for Sim<BYTES> {}

impl<const BYTES: usize> Sim<BYTES> {
    /// A memory over `storage`.
    ///
    /// # Safety
    ///
    /// `storage` points to a static `Storage` that nothing else uses.
    pub const unsafe fn new(storage: *const Storage<BYTES>) -> Self {
        Sim {
            // SAFETY: `storage` points to a static (the caller's promise); no
            // reference is made.
            base: UnsafeCell::raw_get(unsafe { &raw const (*storage).0 }).cast::<u8>(),
            state: Mutex::new(State {
                pages: 0,
                ours: Vec::new(),
                foreign: Vec::new(),
                refused: false,
            }),
        }
    }

    fn base(&self) -> *mut u8 {
        self.base
    }

    /// Takes `pages` pages from the end; returns their start.
    fn take(&self, state: &mut State, pages: usize) -> Option<*mut u8> {
        if pages == 0 || (state.pages + pages) * PAGE > BYTES {
            return None;
        }
        let start = self.base().wrapping_add(state.pages * PAGE);
        state.pages += pages;
        Some(start)
    }

    /// `memory.grow` by the allocator: whole pages, at least `bytes`, zeroed
    /// as fresh wasm pages are (the storage is reused after `reset`).
    pub fn grow(&self, bytes: usize) -> Option<NonNull<[u8]>> {
        let mut state = self.state.lock().unwrap();
        let pages = bytes.div_ceil(PAGE);
        let Some(start) = self.take(&mut state, pages) else {
            state.refused = true;
            return None;
        };
        // SAFETY: the pages were just taken and belong to no one else.
        unsafe { start.write_bytes(0, pages * PAGE) };
        let (start_addr, end) = (start as usize, start as usize + pages * PAGE);
        match state.ours.last_mut() {
            Some(last) if last.1 == start_addr => last.1 = end,
            last => {
                assert!(
                    last.is_none_or(|last| last.1 < start_addr),
                    "pages taken out of order"
                );
                state.ours.push((start_addr, end));
            }
        }
        Some(NonNull::slice_from_raw_parts(
            NonNull::new(start)?,
            pages * PAGE,
        ))
    }

    /// `memory.grow` by someone else: the pages get the canary.
    pub fn grow_foreign(&self, pages: usize) -> bool {
        let mut state = self.state.lock().unwrap();
        let Some(start) = self.take(&mut state, pages) else {
            return false;
        };
        // SAFETY: the pages were just taken and belong to no one else.
        unsafe { start.write_bytes(CANARY, pages * PAGE) };
        state.foreign.push((start, pages * PAGE));
        true
    }

    /// Whether `[addr, addr + len)` lies in pages the allocator grew.
    pub fn owned_by_allocator(&self, addr: usize, len: usize) -> bool {
        let state = self.state.lock().unwrap();
        let end = addr + len;
        // The only range that may hold it: the first that ends at or after
        // `addr` (the ranges are apart, in address order).
        let i = state.ours.partition_point(|&(_, stop)| stop < addr);
        state
            .ours
            .get(i)
            .is_some_and(|&(start, stop)| start <= addr && end <= stop)
    }

    /// Whether every foreign page still holds only the canary.
    pub fn foreign_intact(&self) -> bool {
        let state = self.state.lock().unwrap();
        state.foreign.iter().all(|&(start, len)| {
            // SAFETY: foreign pages lie in the storage and nothing writes them
            // while the state mutex is held (unless the allocator is broken,
            // which is what this checks).
            crate::all_equal(unsafe { std::slice::from_raw_parts(start, len) }, CANARY)
        })
    }

    /// Forgets every page, as a fresh memory (for fuzzing, after the
    /// allocator's own `reset`).
    pub fn reset(&self) {
        let mut state = self.state.lock().unwrap();
        state.pages = 0;
        state.ours.clear();
        state.foreign.clear();
        state.refused = false;
    }

    /// Whether a grow by the allocator was refused since the last call.
    pub fn take_refused(&self) -> bool {
        std::mem::replace(&mut self.state.lock().unwrap().refused, false)
    }

    /// Pages grown so far, by anyone.
    pub fn pages(&self) -> usize {
        self.state.lock().unwrap().pages
    }

    /// Pages the allocator grew.
    pub fn pages_of_allocator(&self) -> usize {
        self.state
            .lock()
            .unwrap()
            .ours
            .iter()
            .map(|&(start, end)| (end - start) / PAGE)
            .sum()
    }
}

/// Defines a memory source type backed by its own [`Sim`] of `$bytes` bytes.
#[macro_export]
macro_rules! sim_memory {
    ($vis:vis $name:ident, $bytes:expr) => {
        $vis struct $name;

        impl $name {
            /// This type's simulated memory.
            pub fn sim() -> &'static $crate::sim::Sim<{ $bytes }> {
                static STORAGE: $crate::sim::Storage<{ $bytes }> = $crate::sim::Storage::new();
                // SAFETY: `STORAGE` is this memory's alone.
                static SIM: $crate::sim::Sim<{ $bytes }> = unsafe { $crate::sim::Sim::new(&raw const STORAGE) };
                &SIM
            }
        }

        // SAFETY: `Sim::grow` hands out fresh, zeroed pages of its own static
        // array, each once, and never wraps; adjacent regions lie in the same
        // array.
        unsafe impl ::lite_alloc::memory::Memory for $name {
            const INIT: Self = $name;
            const GRANULE: usize = $crate::sim::PAGE;
            const ZEROED: bool = true;
            fn grow(&mut self, bytes: usize) -> Option<::std::ptr::NonNull<[u8]>> {
                Self::sim().grow(bytes)
            }
        }
    };
}

/// The model's view of an allocator on a [`Sim`]: blocks must lie in pages it
/// grew, null only after a refused grow, and foreign code grows a page before
/// a step with probability `1 / foreign_every` (never when it is 0).
pub struct SimEnv<const BYTES: usize> {
    pub sim: &'static Sim<BYTES>,
    pub foreign_every: u64,
    /// Run after every step with the step, the bytes the live blocks
    /// requested and the nulls so far (to check statistics).
    pub check: Option<fn(usize, usize, usize)>,
}

impl<const BYTES: usize> crate::Env for SimEnv<BYTES> {
    fn after(&self, step: usize, live_bytes: usize, nulls: usize) {
        if let Some(check) = self.check {
            check(step, live_bytes, nulls);
        }
    }
    fn owns(&self, block: *const u8, len: usize) -> bool {
        self.sim.owned_by_allocator(block as usize, len)
    }
    fn refused(&self) -> bool {
        self.sim.take_refused()
    }
    fn between(&self, rng: &mut crate::Rng<'_>) {
        // A refusal counts for the step it happens in, not for later ones.
        self.sim.take_refused();
        if self.foreign_every != 0 && rng.below(self.foreign_every) == 0 {
            self.sim.grow_foreign(1);
        }
    }
}
