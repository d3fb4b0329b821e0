//! The checked mode (`#[lite_alloc(check)]`): a layer above the heap's
//! paths, which the heap itself never calls. A checked type's static is a
//! [`CheckedGlobal`] instead of a [`Global`]: the same heap behind the same
//! lock, and beside it the layer's [`State`], which wraps every call.
//!
//! * **A table of blocks** (`table`): every block handed out and not yet
//!   released, by address, with the layout it was allocated with. A
//!   `dealloc` or `realloc` looks its pointer up: a pointer that is not
//!   there is foreign, whatever memory it points to (nothing is read at
//!   it); one that is there but freed is a double free; a layout that is
//!   not the recorded one is wrong. The table lives in memory the heap
//!   hands out, grown (doubled) before a block is handed out, so that
//!   recording it cannot fail.
//! * **A canary**: every block is [`CANARY`] bytes larger than asked, and
//!   those bytes hold a pattern, checked when the block is freed or
//!   reallocated (and by `verify()`).
//! * **A quarantine**: a freed block is filled with [`FREED`] and its
//!   table entry marked freed; it waits in a ring of the latest
//!   [`QUARANTINE_BLOCKS`] (at most [`QUARANTINE_BYTES`] bytes besides the
//!   newest) and is checked when it leaves it, just before the heap really
//!   frees it. A block is never released during its own `dealloc`, so the
//!   heap never writes into memory the caller may still hold a protected
//!   pointer to.
//!
//! The heap's own accounting (`stats`) counts the requested sizes, as for
//! an unchecked type; the canaries, the table and the quarantine are the
//! layer's, and show only in what was carved and obtained.
//!
//! A misuse is found under the lock, returned out of it, and reported
//! (`check::report`) once the lock is released: the hook may allocate.
//!
//! Here: `CheckedGlobal` and the layer's `State`; the checked calls in
//! `calls`, the quarantine in `quarantine`, what `verify()` adds in
//! `verify`, the table in `table`, and in `blind` what the layer does once
//! the table's own slots are found written.
//!
//! [`FREED`]: crate::check::FREED
//! [`QUARANTINE_BYTES`]: crate::check::QUARANTINE_BYTES

// A `Misuse` is what the hook receives, by value: without an allocator of
// its own the layer cannot box it, and it moves out of a call only when a
// misuse was found.
#![allow(
    clippy::result_large_err,
    reason = "a misuse is returned by value; it cannot be boxed here"
)]

mod blind;
mod calls;
mod quarantine;
mod table;
mod verify;

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::null_mut;

use super::{Config, Global, Heap, LargeBlocks};
use crate::check::{
    self, Block, CANARY, CANARY_PATTERN, Call, Checks, Kind, Misuse, QUARANTINE_BLOCKS,
};
use crate::stats::{Counters, Stats};
use table::Table;

/// The static of a checked allocator type: its heap and lock, and the
/// checked layer's state.
pub struct CheckedGlobal<C: Config<N>, const N: usize> {
    global: Global<C, N>,
    state: UnsafeCell<State>,
}

// SAFETY: the state, like the heap, is only reached inside `Global::with`,
// under the heap's lock.
unsafe impl<C: Config<N>, const N: usize> Sync for CheckedGlobal<C, N> {}

/// What the checked layer keeps: the table, the quarantine, the spares,
/// counts.
pub struct State {
    /// The type's path, for messages.
    name: &'static str,
    table: Table,
    /// The quarantine: the freed blocks, oldest at `oldest`.
    ring: [Queued; QUARANTINE_BLOCKS],
    oldest: usize,
    queued: usize,
    /// Bytes of the blocks in the quarantine, canaries included.
    queued_bytes: usize,
    /// Bytes requested by the live blocks.
    live_bytes: usize,
    misuses: usize,
    /// The spares: blocks of requests that only the canary made large, in
    /// a heap that never reuses large blocks (`spilled`). They left the
    /// quarantine and wait here to serve such a request again, as the bin
    /// would have without the canary: the address of the first (0: none),
    /// each holding the next in its first word, each in the table marked
    /// spare.
    spare: usize,
    spares: usize,
    /// The heap handed out a block the layer knows (live, freed or spare):
    /// its lists were written through a stale pointer after a block left
    /// the quarantine. Reported once; from then on the heap's lists are
    /// not used: blocks are carved from its unused memory (past every
    /// block it holds, or more from the memory source), never given back
    /// to the heap (leaked when they leave the quarantine), and never
    /// resized in place. The layer checks them as ever. The report itself
    /// needs memory (std's panic formats its message, and may print a
    /// backtrace, with the program's allocator, which may be this one).
    poisoned: bool,
    /// The tag of the heap's word before the table's own block
    /// (`LargeBlocks::tag`), recorded when the table moved there: no entry
    /// covers that block, whose memory may have been a block freed
    /// earlier, and the heap follows the word when the table moves again.
    table_tag: usize,
    /// The table's own slots were found written (`Table::intact`), through
    /// a pointer to the block freed earlier whose memory the table took
    /// over, or past the end of the block before it. Reported once; from
    /// then on the layer has no table to tell the blocks apart, and checks
    /// and reports nothing more: the table, the quarantine and the spares
    /// are forgotten (never given back, counted as leaked), the heap is
    /// poisoned, blocks are carved from its unused memory without a canary
    /// or an entry, and a freed block is leaked (`blind_alloc` and the
    /// others of `blind`).
    blind: bool,
}

/// A block in the quarantine: its address, and its entry's seal
/// (`Entry::seal`) when it was queued, compared when it leaves (the entry
/// does not change while it waits), so that a size a stale write changed
/// in the table is never followed.
#[derive(Clone, Copy)]
struct Queued {
    address: usize,
    seal: usize,
}

/// What `alloc` and `realloc` give back under the lock: the result and a
/// misuse to report, or (`Err`) a misuse found while emptying the
/// quarantine for memory, taking a spare or growing the table, to report
/// before the call is made again. (A `realloc` that moves may find a
/// second misuse, as the old block enters the quarantine: its result
/// carries it.)
type Step<R> = Result<(R, Option<Misuse>), Misuse>;

/// The call being checked: what a misuse found during it names.
#[derive(Clone, Copy)]
struct Site {
    call: Call,
    /// The pointer passed (0 for `alloc`).
    pointer: usize,
    layout: Option<Layout>,
}

/// The size of the heap's block for a request of `size` bytes aligned to
/// `align`: with the canary (a spare's size for a spilled request), if
/// that is still a valid layout.
#[inline]
fn inner_size<C: Config<N>, const N: usize>(size: usize, align: usize) -> Option<usize> {
    let inner = if spilled::<C, N>(size, align) {
        C::BINS[N - 1] + CANARY
    } else {
        size.checked_add(CANARY)?
    };
    Layout::from_size_align(inner, align).ok().map(|_| inner)
}

/// Whether a request goes to a bin without the canary and, with it, to a
/// heap's large blocks that are never reused: such blocks are the layer's
/// spares once freed, so that a checked type does not leak what the
/// unchecked one reuses. By size (past the largest bin) or by alignment (no
/// bin of the size with the canary carves at it: with bins of 16 and 24
/// bytes, only the first aligned to 16, a request of 16 bytes aligned to
/// 16); either way the spares' size, the largest bin's and the canary,
/// holds it.
#[inline]
fn spilled<C: Config<N>, const N: usize>(size: usize, align: usize) -> bool {
    !<C::Large as LargeBlocks>::REUSES
        && Heap::<C, N>::bin(size, align).is_some()
        && Heap::<C, N>::bin(size + CANARY, align).is_none()
}

/// The first byte of `[block, block + len)` that is not `byte`.
///
/// # Safety
///
/// The range is valid for reads.
unsafe fn first_other(block: *const u8, len: usize, byte: u8) -> Option<usize> {
    // Word by word, then the bytes of the word that differs.
    let word = usize::from_ne_bytes([byte; size_of::<usize>()]);
    let mut at = 0;
    while at + size_of::<usize>() <= len {
        // SAFETY: inside the range (the caller's promise); unaligned reads.
        if unsafe { block.add(at).cast::<usize>().read_unaligned() } != word {
            break;
        }
        at += size_of::<usize>();
    }
    // SAFETY: as above.
    (at..len).find(|&i| unsafe { block.add(i).read() } != byte)
}

impl State {
    const fn new(name: &'static str) -> Self {
        State {
            name,
            table: Table::EMPTY,
            ring: [Queued {
                address: 0,
                seal: 0,
            }; QUARANTINE_BLOCKS],
            oldest: 0,
            queued: 0,
            queued_bytes: 0,
            live_bytes: 0,
            misuses: 0,
            spare: 0,
            spares: 0,
            poisoned: false,
            table_tag: 0,
            blind: false,
        }
    }

    /// A misuse caught now, during `site`, counted.
    fn misuse(&mut self, kind: Kind, site: Site, block: Option<Block>) -> Misuse {
        self.misuses += 1;
        let mut misuse = Misuse::new(kind, self.name, site.call, site.pointer, site.layout);
        misuse.block = block;
        misuse
    }
}

/// The first byte of the canary at `canary` that changed.
///
/// # Safety
///
/// `canary` is valid for `CANARY` bytes.
unsafe fn first_other_than_canary(canary: *const u8) -> Option<usize> {
    // SAFETY: the caller's promise.
    let bytes = unsafe { canary.cast::<[u8; CANARY]>().read_unaligned() };
    (0..CANARY).find(|&i| bytes[i] != CANARY_PATTERN[i])
}

impl<C: Config<N>, const N: usize> CheckedGlobal<C, N> {
    /// A checked allocator, named `name` in its messages, that has obtained
    /// no memory yet.
    pub const fn new(name: &'static str) -> Self {
        Self {
            global: Global::new(),
            state: UnsafeCell::new(State::new(name)),
        }
    }

    /// Runs `f` on the heap and the layer's state under the lock;
    /// `refused` when the heap is in use by this thread (see
    /// `Global::with`).
    #[inline]
    fn with<R>(
        &self,
        refused: impl FnOnce() -> R,
        f: impl FnOnce(&mut Heap<C, N>, &mut State) -> R,
    ) -> R {
        self.global.with(refused, |heap| {
            // SAFETY: the lock is held, and the state, like the heap, is only
            // reached here: this is the only reference to it.
            f(heap, unsafe { &mut *self.state.get() })
        })
    }

    /// Reports `found`, if any, and returns `result`.
    #[inline]
    fn reported<R>(result: R, found: Option<Misuse>) -> R {
        if let Some(misuse) = found {
            check::report(&misuse);
        }
        result
    }

    /// Makes the call `call` under the lock and reports what it found once
    /// the lock is released. A call interrupted by a misuse (`Step`'s
    /// `Err`: a block found written when the quarantine was emptied for
    /// memory, a spare found written, or the heap found poisoned as the
    /// table grew) is made again once that is reported, so that every
    /// misuse is reported, each once; every interruption took a block out
    /// of the quarantine or of the spares for good, or poisoned the heap
    /// (once, and a poisoned heap's table grows in memory no block was
    /// in), so this ends. A call that found the table written (the layer
    /// goes blind, once) forgets the table under the lock.
    fn call<R: Copy>(
        &self,
        refused: R,
        mut call: impl FnMut(&mut Heap<C, N>, &mut State) -> Step<R>,
    ) -> R {
        let mut checked = |heap: &mut Heap<C, N>, state: &mut State| {
            let step = call(heap, state);
            if state.blind {
                state.forget(heap);
            }
            step
        };
        loop {
            match self.with(|| Ok((refused, None)), &mut checked) {
                Ok((result, found)) => return Self::reported(result, found),
                Err(misuse) => check::report(&misuse),
            }
        }
    }

    /// `GlobalAlloc::alloc`, checked.
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::alloc`: `layout.size()` is not zero.
    pub unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { self.alloc_checked(layout, false) }
    }

    /// `alloc`, or `alloc_zeroed` with `zeroed`.
    ///
    /// # Safety
    ///
    /// As for `alloc`.
    unsafe fn alloc_checked(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        self.call(null_mut(), |heap, state| unsafe {
            state.alloc(heap, layout, zeroed)
        })
    }

    /// `GlobalAlloc::alloc_zeroed`, checked.
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::alloc_zeroed`: `layout.size()` is not zero.
    pub unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { self.alloc_checked(layout, true) }
    }

    /// `GlobalAlloc::dealloc`, checked: a block that is not a live block
    /// of this allocator with this layout, or whose canary changed, is
    /// reported and left alone.
    ///
    /// # Safety
    ///
    /// None beyond `GlobalAlloc::dealloc`'s that the checks do not catch:
    /// `block`, if it is a live block of this allocator, is valid for
    /// `layout.size()` bytes and not used afterwards.
    pub unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        self.call((), |heap, state| unsafe {
            state.dealloc(heap, block, layout)
        })
    }

    /// `GlobalAlloc::realloc`, checked: a misused block is reported and
    /// left alone, and null returned.
    ///
    /// # Safety
    ///
    /// As for `dealloc`, and `new_size` is not zero and, rounded up to
    /// `layout.align()`, does not exceed `isize::MAX`.
    pub unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let (new, second) = self.call((null_mut(), None), |heap, state| unsafe {
            state.realloc(heap, block, layout, new_size)
        });
        // After the first, which `call` reported.
        Self::reported(new, second)
    }

    /// Forgets every block and resets the memory source, the table and the
    /// quarantine.
    ///
    /// # Safety
    ///
    /// As for [`Global::reset`].
    pub unsafe fn reset(&self) {
        self.with(
            || (),
            |heap, state| {
                heap.reset();
                *state = State::new(state.name);
            },
        )
    }

    /// As [`Global::memory`].
    ///
    /// # Safety
    ///
    /// As for [`Global::memory`].
    pub unsafe fn memory(&self, f: impl FnOnce(&mut C::Memory)) {
        // SAFETY: forwarded from the caller.
        unsafe { self.global.memory(f) }
    }

    /// Checks the heap's invariants (unless a misuse poisoned it) and the
    /// layer's, and panics with the first that does not hold; then checks
    /// every live block's canary and every quarantined block's filling, and
    /// reports the first misuse. The heap's header of a block the layer
    /// holds found changed (see `header_written`), or a free list found
    /// damaged (`in_free`: in the words free blocks hold, or a header's flag
    /// for the chunk before), was written by a
    /// stale pointer after its block left the quarantine: a use after free,
    /// reported first, which poisons the heap, rather than the heap's
    /// fault. Before all that, the table's own slots found written (see
    /// `Table::intact`) are a use after free too, and the layer's last
    /// report (see `blind`): nothing in the table is followed then. A
    /// blind layer checks nothing.
    pub fn verify(&self) {
        let (checked, damaged, found) = self.with(
            || (Ok(()), None, None),
            |heap, state| {
                if state.blind {
                    return (Ok(()), None, None);
                }
                if !state.table.intact() {
                    let site = Site {
                        call: Call::Verify,
                        pointer: state.table.memory().0.addr(),
                        layout: None,
                    };
                    let misuse = state.table_written(site);
                    state.forget(heap);
                    return (Ok(()), Some(misuse), None);
                }
                // A header a stale pointer wrote poisons the heap; a
                // poisoned heap's lists lead anywhere a stale pointer
                // wrote: not walked (see `poisoned`).
                let written = state.scan_headers(heap);
                let heap_checked = if state.poisoned { Ok(()) } else { heap.check() };
                let (heap_checked, damaged) = match heap_checked {
                    Err(corruption) if corruption.in_free => {
                        state.poisoned = true;
                        let site = Site {
                            call: Call::Verify,
                            pointer: corruption.at,
                            layout: None,
                        };
                        (Ok(()), Some(state.misuse(Kind::UseAfterFree, site, None)))
                    }
                    other => (other, written),
                };
                match heap_checked.and_then(|()| state.check(heap)) {
                    Ok(()) => (Ok(()), damaged, state.scan(heap)),
                    Err(corruption) => (Err(corruption), damaged, None),
                }
            },
        );
        if let Some(misuse) = damaged {
            check::report(&misuse);
        }
        if let Err(corruption) = checked {
            panic!("{corruption}");
        }
        Self::reported((), found)
    }

    /// What the layer holds now.
    pub fn checks(&self) -> Checks {
        self.with(Checks::default, |_, state| state.checks())
    }
}

impl<C, const N: usize> CheckedGlobal<C, N>
where
    C: Config<N, Stats = Counters<N>>,
{
    /// As [`Global::stats`].
    pub fn stats(&self) -> Stats {
        self.global.stats()
    }
}
