//! Every unit test of the documented design, ported to run against
//! `lite_alloc::Default` and against the same configuration generated with and
//! without the `realloc` flag.
//!
//! Each allocator type has global state, so the tests of one type take its
//! lock and start from `reset()`.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::Mutex;

use lite_alloc::lite_alloc;

/// The default configuration, `realloc` moving.
#[lite_alloc]
struct Moving;

/// The default configuration with in-place realloc.
#[lite_alloc(realloc)]
struct InPlace;

/// Runs `test` on a freshly reset allocator, one test at a time per type.
fn fresh<A: GlobalAlloc>(lock: &Mutex<()>, alloc: A, reset: unsafe fn(), test: impl FnOnce(&A)) {
    let _guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: the lock is held, and no block from an earlier test is used
    // after this point.
    unsafe { reset() };
    test(&alloc);
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn small_alloc_reuse(a: &impl GlobalAlloc) {
    let l = layout(16, 8);
    unsafe {
        let p1 = a.alloc(l);
        assert!(!p1.is_null());
        *p1 = 0xAA;
        a.dealloc(p1, l);
        let p2 = a.alloc(l);
        assert_eq!(p1, p2, "a freed 16-byte block is handed out again (LIFO)");
    }
}

fn cross_bin_isolation(a: &impl GlobalAlloc) {
    unsafe {
        let l0 = layout(10, 1);
        let l1 = layout(20, 1);
        let p0 = a.alloc(l0);
        let p1 = a.alloc(l1);
        assert_ne!(p0, p1);
        a.dealloc(p0, l0);
        let p2 = a.alloc(l1);
        assert_ne!(p0, p2, "a 32-byte request must not get a 16-byte block");
        let p3 = a.alloc(l0);
        assert_eq!(p0, p3, "a 16-byte request reuses the freed 16-byte block");
    }
}

fn large_alloc_bypass(a: &impl GlobalAlloc) {
    let l = layout(200, 16);
    unsafe {
        let p1 = a.alloc(l);
        assert!(!p1.is_null());
        a.dealloc(p1, l);
        let p2 = a.alloc(l);
        assert_ne!(p1, p2, "blocks over 128 bytes are never reused");
    }
}

fn memory_growth(a: &impl GlobalAlloc) {
    let l = layout(40 * 1024, 16);
    unsafe {
        let p1 = a.alloc(l);
        let p2 = a.alloc(l);
        assert!(!p1.is_null() && !p2.is_null());
        assert_ne!(p1, p2);
        let distance = (p2 as usize).abs_diff(p1 as usize);
        assert!(distance >= 40 * 1024, "blocks {p1:p} and {p2:p} overlap");
    }
}

fn high_alignment(a: &impl GlobalAlloc) {
    let l = layout(32, 128);
    unsafe {
        let p = a.alloc(l);
        assert!(!p.is_null());
        assert_eq!(p as usize % 128, 0);
        a.dealloc(p, l);
    }
}

fn realloc_shrink(a: &impl GlobalAlloc, in_place: bool) {
    let l = layout(100, 16);
    unsafe {
        let p = a.alloc(l);
        p.write_bytes(0xCC, 100);
        let q = a.realloc(p, l, 80);
        if in_place {
            assert_eq!(p, q, "shrinking within the 128-byte block stays in place");
        } else {
            assert_ne!(p, q, "without in-place realloc the block moves");
        }
        assert_eq!(*q, 0xCC);
    }
}

fn realloc_grow_large_at_top(a: &impl GlobalAlloc, in_place: bool) {
    let l = layout(256, 16);
    unsafe {
        let p = a.alloc(l);
        p.write_bytes(0xAA, 256);
        let q = a.realloc(p, l, 512);
        if in_place {
            assert_eq!(p, q, "the last block carved grows in place");
        } else {
            assert_ne!(p, q);
        }
        assert_eq!(*q, 0xAA);
        assert_eq!(*q.add(255), 0xAA);
    }
}

fn realloc_move(a: &impl GlobalAlloc) {
    unsafe {
        let _ = a.alloc(layout(64, 16));
        let l = layout(256, 16);
        let p = a.alloc(l);
        let _ = a.alloc(layout(64, 16));
        p.write_bytes(0xBB, 256);
        let q = a.realloc(p, l, 512);
        assert_ne!(p, q, "a block below the top must move to grow");
        assert_eq!(*q, 0xBB);
    }
}

macro_rules! seed_tests {
    ($module:ident, $ty:ty, $new:expr, in_place = $in_place:expr) => {
        mod $module {
            use super::*;
            static LOCK: Mutex<()> = Mutex::new(());
            fn run(test: impl FnOnce(&$ty)) {
                fresh(&LOCK, $new, <$ty>::reset, test)
            }
            #[test]
            fn small_alloc_reuse() {
                run(|a| super::small_alloc_reuse(a));
            }
            #[test]
            fn cross_bin_isolation() {
                run(|a| super::cross_bin_isolation(a));
            }
            #[test]
            fn large_alloc_bypass() {
                run(|a| super::large_alloc_bypass(a));
            }
            #[test]
            fn memory_growth() {
                run(|a| super::memory_growth(a));
            }
            #[test]
            fn high_alignment() {
                run(|a| super::high_alignment(a));
            }
            #[test]
            fn realloc_shrink() {
                run(|a| super::realloc_shrink(a, $in_place));
            }
            #[test]
            fn realloc_grow_large_at_top() {
                run(|a| super::realloc_grow_large_at_top(a, $in_place));
            }
            #[test]
            fn realloc_move() {
                run(|a| super::realloc_move(a));
            }
        }
    };
}

// `lite_alloc::Default` itself, in whichever mode the crate feature selects
// (the test script runs the suite once without and once with `realloc`).
seed_tests!(
    default,
    lite_alloc::Default,
    lite_alloc::Default::new(),
    in_place = cfg!(feature = "realloc")
);
seed_tests!(moving, Moving, Moving::new(), in_place = false);
seed_tests!(in_place, InPlace, InPlace::new(), in_place = true);
