//! The checked mode inside wasm32: each misuse of the global allocator, on
//! a block of a bin and on a large one, with the default hook: the module
//! traps, and the host reads the message from lite-alloc's own buffer
//! (these tests install no panic hook, so `suite_message` stays empty).
//! Then the same misuses with a hook that returns: each reported once, and
//! the allocator still works (the shadow model, `verify()`).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

use lite_alloc::check::{self, Kind, Misuse, QUARANTINE_BLOCKS};
use lite_alloc_tests::{Plan, check_random_ops};

use super::{ALLOC, Under, WasmEnv};

/// A block of `size` bytes, filled.
fn block(size: usize) -> (*mut u8, Layout) {
    let layout = Layout::from_size_align(size, 8).unwrap();
    // SAFETY: a valid, non-zero layout.
    let block = unsafe { ALLOC.alloc(layout) };
    assert!(!block.is_null());
    // SAFETY: the block holds `size` bytes.
    unsafe { block.write_bytes(0x11, size) };
    (block, layout)
}

/// Frees `QUARANTINE_BLOCKS` blocks of 40 bytes: every block freed before
/// leaves the quarantine.
fn push_out() {
    let blocks: Vec<_> = (0..QUARANTINE_BLOCKS).map(|_| block(40)).collect();
    for (block, layout) in blocks {
        // SAFETY: live blocks with their layouts.
        unsafe { ALLOC.dealloc(block, layout) };
    }
}

/// The misuses, by name: each makes one, on a block of `size` bytes.
///
/// # Safety
///
/// None: the misuses under test, on memory of the allocator (linear
/// memory), which the checked mode catches.
unsafe fn misuse(which: &str, size: usize) {
    let (block, layout) = block(size);
    // SAFETY: the misuses under test (see above).
    unsafe {
        match which {
            "double_free" => {
                ALLOC.dealloc(block, layout);
                ALLOC.dealloc(block, layout);
            }
            "realloc_after_free" => {
                ALLOC.dealloc(block, layout);
                let _ = ALLOC.realloc(block, layout, size * 2);
            }
            "foreign_pointer" => {
                static OUTSIDE: [u64; 4] = [0; 4];
                ALLOC.dealloc((&raw const OUTSIDE).cast_mut().cast(), layout);
            }
            "inner_pointer" => ALLOC.dealloc(block.add(8), layout),
            "wrong_size" => ALLOC.dealloc(block, Layout::from_size_align(size + 1, 8).unwrap()),
            "wrong_align" => ALLOC.dealloc(block, Layout::from_size_align(size, 16).unwrap()),
            // With a hook that returns, the canary is put back and the
            // block freed.
            "overrun" => {
                let saved = block.add(size).replace(0);
                ALLOC.dealloc(block, layout);
                block.add(size).write(saved);
                ALLOC.dealloc(block, layout);
            }
            "realloc_overrun" => {
                let saved = block.add(size + 5).replace(0);
                let _ = ALLOC.realloc(block, layout, size * 2);
                block.add(size + 5).write(saved);
                ALLOC.dealloc(block, layout);
            }
            "use_after_free" => {
                ALLOC.dealloc(block, layout);
                block.add(3).write(0);
                push_out();
            }
            _ => unreachable!("{which}"),
        }
    }
}

/// Every misuse, and how the host runs each: `misuse_<name>` on a bin
/// block, `misuse_large_<name>` on a large one.
pub const MISUSES: [&str; 9] = [
    "double_free",
    "realloc_after_free",
    "foreign_pointer",
    "inner_pointer",
    "wrong_size",
    "wrong_align",
    "overrun",
    "realloc_overrun",
    "use_after_free",
];

macro_rules! exports {
    ($($name:ident, $large:ident, $which:literal;)*) => {
        $(
            #[unsafe(no_mangle)]
            extern "C" fn $name() {
                // SAFETY: the misuse under test, caught.
                unsafe { misuse($which, 24) }
            }
            #[unsafe(no_mangle)]
            extern "C" fn $large() {
                // SAFETY: as above.
                unsafe { misuse($which, 3000) }
            }
        )*
    };
}

exports! {
    misuse_double_free, misuse_large_double_free, "double_free";
    misuse_realloc_after_free, misuse_large_realloc_after_free, "realloc_after_free";
    misuse_foreign_pointer, misuse_large_foreign_pointer, "foreign_pointer";
    misuse_inner_pointer, misuse_large_inner_pointer, "inner_pointer";
    misuse_wrong_size, misuse_large_wrong_size, "wrong_size";
    misuse_wrong_align, misuse_large_wrong_align, "wrong_align";
    misuse_overrun, misuse_large_overrun, "overrun";
    misuse_realloc_overrun, misuse_large_realloc_overrun, "realloc_overrun";
    misuse_use_after_free, misuse_large_use_after_free, "use_after_free";
}

/// The misuses reported to `count`.
static COUNTED: [AtomicUsize; 5] = [const { AtomicUsize::new(0) }; 5];

fn count(misuse: &Misuse) {
    let kind = match misuse.kind {
        Kind::DoubleFree => 0,
        Kind::ForeignPointer => 1,
        Kind::WrongLayout => 2,
        Kind::Overrun => 3,
        Kind::UseAfterFree => 4,
        _ => unreachable!(),
    };
    COUNTED[kind].fetch_add(1, Ordering::Relaxed);
}

/// With a hook that returns, each misuse is reported once and does
/// nothing: the allocator goes on, its heap and table consistent, and the
/// shadow model runs on it without a report.
#[unsafe(no_mangle)]
extern "C" fn test_checked_hook_returns() {
    super::report_panics();
    check::set_hook(count);
    for size in [24, 3000] {
        for which in MISUSES {
            // SAFETY: the misuses under test, caught.
            unsafe { misuse(which, size) };
            Under::verify();
        }
    }
    let counted: Vec<usize> = COUNTED.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    // Double frees (2), foreign pointers (2), wrong layouts (2), overruns
    // (2), writes after free (1), for each size.
    assert_eq!(counted, [4, 4, 4, 4, 2], "misuses reported by kind");
    let before = Under::checks();
    assert_eq!(before.misuses, 18, "{before:?}");
    let plan = Plan {
        seed: 3,
        ops: 20_000,
        max_size: 20_000,
        max_align_log2: 12,
        max_live: 200,
    };
    // SAFETY: the model frees every block it allocated.
    let report = unsafe { check_random_ops(&ALLOC, &plan, &WasmEnv { foreign_every: 300 }) };
    assert_eq!(report.nulls, 0, "{report:?}");
    Under::verify();
    let after = Under::checks();
    assert_eq!(
        after.misuses, before.misuses,
        "no misuse in the model: {after:?}"
    );
}
