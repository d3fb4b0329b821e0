//! How a generated allocator keeps calls from several threads apart
//! (`sync = ...`).
//!
//! The attribute's `sync = ...` argument (see
//! [`lite_alloc`](macro@crate::lite_alloc)) chooses [`Spin`] (the default),
//! [`CriticalSection`] or [`Unsynchronized`] (`sync = none`).
//!
//! On `wasm32` without the `atomics` target feature there is one thread, so
//! every choice compiles to no lock at all: the type is `Sync` at zero cost.
//! `sync = none` elsewhere is a compile error, not a warning in prose.

/// Mutual exclusion for one allocator's state.
///
/// # Safety
///
/// While one call of [`with`](Lock::with) runs its closure, no call of
/// `with` on the same lock from another thread, core or interrupt handler
/// runs its closure, and each closure sees the writes of the closures that
/// ran before it. A call made from inside the closure itself may run its
/// closure (critical sections nest) or never return (a spin lock): the
/// allocator never makes one, and its `Memory` contract forbids memory
/// sources to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot guard a lite-alloc allocator here",
    label = "not a lock in this build",
    note = "`sync = spin` (the default) needs atomic compare-and-swap, which `thumbv6m` lacks; `sync = critical_section` needs lite-alloc's crate feature `critical-section` (and a critical-section implementation linked in); `sync = none` is only sound on wasm32 without the `atomics` target feature (one thread)"
)]
pub unsafe trait Lock {
    /// The unlocked state.
    const NEW: Self;
    /// Runs `f` with the lock held.
    fn with<R>(&self, f: impl FnOnce() -> R) -> R;
}

/// No lock: for targets with a single thread and no interrupts that allocate.
///
/// It implements [`Lock`] only on `wasm32` without the `atomics` target
/// feature.
#[derive(Debug)]
pub struct Unsynchronized {
    _private: (),
}

// SAFETY: without the `atomics` feature a wasm module runs on one thread and
// has no interrupts, so two closures never run at once.
#[cfg(single_threaded_wasm)]
unsafe impl Lock for Unsynchronized {
    const NEW: Self = Unsynchronized { _private: () };
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }
}

/// The lock of `sync = spin`: a spin lock on hosts and multi-threaded targets;
/// no lock at all on single-threaded wasm.
#[cfg(single_threaded_wasm)]
pub type Spin = Unsynchronized;
/// The lock of `sync = spin`: a spin lock on hosts and multi-threaded targets;
/// no lock at all on single-threaded wasm.
#[cfg(all(target_has_atomic = "8", not(single_threaded_wasm)))]
pub type Spin = SpinLock;
/// The lock of `sync = spin`. This target has no atomic compare-and-swap
/// (`thumbv6m`, say): use `sync = critical_section` here.
#[cfg(all(not(target_has_atomic = "8"), not(single_threaded_wasm)))]
pub type Spin = NoCompareAndSwap;

/// Stands in for [`Spin`] on targets without atomic compare-and-swap; it is
/// no [`Lock`], so `sync = spin` fails to compile there.
#[derive(Debug)]
pub struct NoCompareAndSwap {
    _private: (),
}

/// The lock of `sync = critical_section`: the `critical-section` crate's
/// critical section; no lock at all on single-threaded wasm.
#[cfg(single_threaded_wasm)]
pub type CriticalSection = Unsynchronized;
/// The lock of `sync = critical_section`: the `critical-section` crate's
/// critical section; no lock at all on single-threaded wasm.
#[cfg(all(feature = "critical-section", not(single_threaded_wasm)))]
pub type CriticalSection = CsLock;
/// The lock of `sync = critical_section`. Enable the `critical-section`
/// feature of lite-alloc to use it on this target.
#[cfg(all(not(feature = "critical-section"), not(single_threaded_wasm)))]
pub type CriticalSection = CriticalSectionFeatureDisabled;

/// Stands in for [`CriticalSection`] when the `critical-section` feature is
/// off; it is no [`Lock`], so `sync = critical_section` fails to compile.
#[derive(Debug)]
pub struct CriticalSectionFeatureDisabled {
    _private: (),
}

#[cfg(all(target_has_atomic = "8", not(single_threaded_wasm)))]
pub use spin::SpinLock;

#[cfg(all(target_has_atomic = "8", not(single_threaded_wasm)))]
mod spin {
    use super::Lock;
    use core::sync::atomic::AtomicBool;
    use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

    /// A spin lock on an atomic flag.
    ///
    /// Never use it on a target where an interrupt handler allocates: the
    /// handler would spin forever on a lock its own core holds. Use
    /// `sync = critical_section` there.
    #[derive(Debug)]
    pub struct SpinLock {
        locked: AtomicBool,
    }

    // SAFETY: `with` runs its closure only after swapping the flag from false
    // to true with Acquire ordering, and sets it back with Release ordering
    // afterwards, so closures never overlap and each sees the previous one's
    // writes. The allocator's closures never unwind. (Miri's data-race
    // detector checks both orderings: `threads_are_kept_apart` in
    // `tests/properties.rs` fails with either made `Relaxed`.)
    unsafe impl Lock for SpinLock {
        const NEW: Self = SpinLock {
            locked: AtomicBool::new(false),
        };
        #[inline]
        fn with<R>(&self, f: impl FnOnce() -> R) -> R {
            while self
                .locked
                .compare_exchange_weak(false, true, Acquire, Relaxed)
                .is_err()
            {
                while self.locked.load(Relaxed) {
                    core::hint::spin_loop();
                }
            }
            let result = f();
            self.locked.store(false, Release);
            result
        }
    }
}

/// A lock that runs its closure inside `critical_section::with`.
#[cfg(all(feature = "critical-section", not(single_threaded_wasm)))]
#[derive(Debug)]
pub struct CsLock {
    _private: (),
}

#[cfg(all(feature = "critical-section", not(single_threaded_wasm)))]
// SAFETY: the `critical-section` crate guarantees that a critical section
// runs with no other thread, core or interrupt handler in one; sections on
// one core nest, which the `Lock` contract allows for calls from inside the
// closure.
unsafe impl Lock for CsLock {
    const NEW: Self = CsLock { _private: () };
    #[inline]
    fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        critical_section::with(|_| f())
    }
}
