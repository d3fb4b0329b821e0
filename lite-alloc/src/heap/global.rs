//! The static that holds one allocator type's state, behind its lock.

use core::alloc::Layout;
use core::cell::UnsafeCell;

use super::{Config, Heap};
use crate::stats::{Counters, Stats};
use crate::sync::Lock;

/// The static that holds one allocator type's state, behind its lock.
pub struct Global<C: Config<N, L>, const N: usize, const L: usize> {
    lock: C::Lock,
    heap: UnsafeCell<Heap<C, N, L>>,
}

// SAFETY: the heap is only reached through `Lock::with`, which by the `Lock`
// contract never runs two closures at once, so no two threads touch the heap
// (or the memory source inside it) at the same time.
unsafe impl<C: Config<N, L>, const N: usize, const L: usize> Sync for Global<C, N, L> {}

impl<C: Config<N, L>, const N: usize, const L: usize> Global<C, N, L> {
    /// An allocator that has obtained no memory yet.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self {
            lock: <C::Lock as Lock>::NEW,
            heap: UnsafeCell::new(Heap::NEW),
        }
    }

    /// Runs `f` on the heap while holding the lock.
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut Heap<C, N, L>) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: the lock is held, so this is the only reference to the
            // heap; the heap code never calls back into the allocator.
            f(unsafe { &mut *self.heap.get() })
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
        self.with(|heap| unsafe { heap.alloc(layout) })
    }

    /// [`GlobalAlloc::alloc_zeroed`](core::alloc::GlobalAlloc::alloc_zeroed).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::alloc_zeroed`: `layout.size()` is not zero.
    #[inline]
    pub unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        self.with(|heap| unsafe { heap.alloc_zeroed(layout) })
    }

    /// [`GlobalAlloc::dealloc`](core::alloc::GlobalAlloc::dealloc).
    ///
    /// # Safety
    ///
    /// As for `GlobalAlloc::dealloc`: `block` was allocated by this allocator
    /// with `layout` and is not used afterwards.
    #[inline]
    pub unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        self.with(|heap| unsafe { heap.dealloc(block, layout) })
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
        self.with(|heap| unsafe { heap.realloc(block, layout, new_size) })
    }

    /// Forgets every block and resets the memory source.
    ///
    /// # Safety
    ///
    /// No block this allocator handed out is used afterwards (they may be
    /// handed out again), and this allocator is not the global allocator of a
    /// program that still holds allocations.
    pub unsafe fn reset(&self) {
        self.with(Heap::reset)
    }
}

impl<C, const N: usize, const L: usize> Global<C, N, L>
where
    C: Config<N, L, Stats = Counters<N>>,
{
    /// What the allocator has done so far (`#[lite_alloc(stats)]`).
    pub fn stats(&self) -> Stats {
        self.with(|heap| heap.stats.snapshot(&C::BINS))
    }
}
