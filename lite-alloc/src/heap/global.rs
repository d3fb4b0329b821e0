//! The static that holds one allocator type's state, behind its lock: the
//! only place a `&mut Heap` is made.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::null_mut;

use super::{Config, Heap};
use crate::stats::{Counters, Record, Stats};
use crate::sync::Lock;

/// The static that holds one allocator type's state, behind its lock.
pub struct Global<C: Config<N>, const N: usize> {
    lock: C::Lock,
    heap: UnsafeCell<Heap<C, N>>,
    /// Whether a call is inside the heap: a memory source that calls back
    /// into its own allocator (which the `Memory` contract forbids) gets
    /// null rather than a second reference to the heap. Kept with debug
    /// assertions, where it costs a byte and two stores a call.
    #[cfg(debug_assertions)]
    busy: core::cell::Cell<bool>,
}

// SAFETY: the heap (and `busy`) are only reached through `Lock::with`, which
// by the `Lock` contract never runs two closures at once, so no two threads
// touch the heap (or the memory source inside it) at the same time.
unsafe impl<C: Config<N>, const N: usize> Sync for Global<C, N> {}

impl<C: Config<N>, const N: usize> Global<C, N> {
    /// An allocator that has obtained no memory yet.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self {
            lock: <C::Lock as Lock>::NEW,
            heap: UnsafeCell::new(Heap::NEW),
            #[cfg(debug_assertions)]
            busy: core::cell::Cell::new(false),
        }
    }

    /// Runs `f` on the heap while holding the lock; `refused` instead when
    /// the heap is already in use by this thread (a memory source calling
    /// back), which is only detected with debug assertions.
    #[inline(always)]
    pub(super) fn with<R>(
        &self,
        refused: impl FnOnce() -> R,
        f: impl FnOnce(&mut Heap<C, N>) -> R,
    ) -> R {
        self.lock.with(|| {
            #[cfg(debug_assertions)]
            if self.busy.replace(true) {
                return refused();
            }
            #[cfg(not(debug_assertions))]
            let _ = refused;
            // SAFETY: the lock is held and the heap is not in use by an
            // outer call of this thread (checked with debug assertions;
            // the `Memory` contract forbids a source to call back), so this
            // is the only reference to it.
            let heap = unsafe { &mut *self.heap.get() };
            // Memory another thread grew while this one waited for the
            // lock: seen before the heap copies or fills any of it, so
            // only once the lock is held (`memory::see_up_to`).
            #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
            heap.see_memory();
            let result = f(heap);
            #[cfg(debug_assertions)]
            self.busy.set(false);
            result
        })
    }

    /// [`GlobalAlloc::alloc`](core::alloc::GlobalAlloc::alloc).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::alloc`: `layout.size()` is not zero.
    #[inline]
    pub unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        self.with(null_mut, |heap| unsafe { heap.alloc(layout) })
    }

    /// [`GlobalAlloc::alloc_zeroed`](core::alloc::GlobalAlloc::alloc_zeroed).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::alloc_zeroed`: `layout.size()` is not zero.
    #[inline]
    pub unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        self.with(null_mut, |heap| unsafe { heap.alloc_zeroed(layout) })
    }

    /// [`GlobalAlloc::dealloc`](core::alloc::GlobalAlloc::dealloc). A block
    /// freed from inside a memory source's `grow` is leaked (debug
    /// assertions only).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::dealloc`: `block` was allocated by this allocator
    /// with `layout` and is not used afterwards.
    #[inline]
    pub unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        self.with(|| (), |heap| unsafe { heap.dealloc(block, layout) })
    }

    /// [`GlobalAlloc::realloc`](core::alloc::GlobalAlloc::realloc).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::realloc`: `block` was allocated by this allocator
    /// with `layout`; `new_size` is not zero and, rounded up to
    /// `layout.align()`, does not exceed `isize::MAX`.
    #[inline]
    pub unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        self.with(null_mut, |heap| unsafe {
            heap.realloc(block, layout, new_size)
        })
    }

    /// Forgets every block and resets the memory source.
    ///
    /// # Safety
    ///
    /// No block this allocator handed out is used afterwards (they may be
    /// handed out again), and this allocator is not the global allocator of a
    /// program that still holds allocations.
    pub unsafe fn reset(&self) {
        self.with(|| (), Heap::reset)
    }

    /// Runs `f` on the memory source while holding the lock (to hand it
    /// memory at run time: `memory = claimed`). Ignored when called from
    /// inside the heap (with debug assertions).
    ///
    /// # Safety
    ///
    /// `f` does not use this allocator: the locks of single-threaded wasm
    /// and of `critical-section` let a nested call in, which would reach
    /// the heap while `f` holds its memory source.
    pub unsafe fn memory(&self, f: impl FnOnce(&mut C::Memory)) {
        self.with(|| (), |heap| f(&mut heap.region.memory))
    }

    /// Checks the heap's invariants (`Heap::check`, which lists them) and
    /// panics, after releasing the lock, with the first that does not hold.
    pub fn verify(&self) {
        if let Err(corruption) = self.with(|| Ok(()), |heap| heap.check()) {
            panic!("{corruption}");
        }
    }
}

impl<C, const N: usize> Global<C, N>
where
    C: Config<N, Stats = Counters<N>>,
{
    /// What the allocator has done so far (`#[lite_alloc(stats)]`).
    pub fn stats(&self) -> Stats {
        self.with(
            || Counters::INIT.snapshot(&C::BINS),
            |heap| heap.stats.snapshot(&C::BINS),
        )
    }
}
