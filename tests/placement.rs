//! Where a heap places its blocks does not depend on how lite-alloc was
//! built, nor on whether the target is i686 or wasm32.
//!
//! Built for speed, the chunks take shortcuts that the size build leaves
//! out (a freed chunk grown into the free chunk before it in place, a fit
//! search skipped on an empty heap, carving inline, and carving on an empty
//! heap and freeing the last chunk in the caller); on wasm32 their bitmap
//! is in 64-bit words where i686's are 32-bit, and a taken chunk's header is
//! stored in another order. Each is meant to change the code only: the
//! benchmark measures code size on the size build and speed and memory on
//! the speed build, and the tests on i686 stand for thumb. So each case
//! here drives one heap through a fixed sequence of calls and prints a line
//! with a digest of every address it returned, as an offset into its
//! memory: `scripts/test.sh` runs this file in both builds on the host, on
//! i686 and on wasm32, and requires the same lines from both builds, and
//! from i686 and wasm32.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ptr::NonNull;

use lite_alloc::lite_alloc;
use lite_alloc_tests::{Bytes, Opaque, Plan, check_random_ops};

/// The bytes behind each case's memory: enough that no request of the
/// sequence fails (a null there is an error, so that every line describes
/// the same calls).
const MEMORY: usize = 8 << 20;

/// `scripts/test.sh` says which build it asked for: this binary must link
/// that one, or the two runs compare a build with itself.
#[test]
fn lite_alloc_is_built_as_the_run_asked() {
    lite_alloc::__private::assert_built_for(option_env!("LITE_ALLOC_TEST_BUILT_FOR"));
}

/// `inner`, with an FNV-1a digest of what each call returned: its offset
/// from `base`, or all ones for null.
struct Placed<A> {
    inner: A,
    base: usize,
    digest: Cell<u64>,
    calls: Cell<u64>,
}

impl<A> Placed<A> {
    fn new(inner: A, base: *mut u8) -> Self {
        Placed {
            inner,
            base: base.addr(),
            digest: Cell::new(0xCBF2_9CE4_8422_2325),
            calls: Cell::new(0),
        }
    }

    fn note(&self, block: *mut u8) -> *mut u8 {
        let offset = if block.is_null() {
            u64::MAX
        } else {
            block
                .addr()
                .checked_sub(self.base)
                .expect("a block below its memory") as u64
        };
        let mut digest = self.digest.get();
        for byte in offset.to_le_bytes() {
            digest = (digest ^ u64::from(byte)).wrapping_mul(0x100_0000_01B3);
        }
        self.digest.set(digest);
        self.calls.set(self.calls.get() + 1);
        block
    }
}

// SAFETY: every call is forwarded to `inner`, whose blocks are returned
// unchanged.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Placed<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's promise.
        self.note(unsafe { self.inner.alloc(layout) })
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's promise.
        self.note(unsafe { self.inner.alloc_zeroed(layout) })
    }
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller's promise.
        unsafe { self.inner.dealloc(block, layout) }
    }
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        // SAFETY: the caller's promise.
        self.note(unsafe { self.inner.realloc(block, layout, size) })
    }
}

/// `count` blocks of `size` bytes allocated one after the other, then
/// freed every other one first and the rest after, in address order (each
/// merges into the chunk freed before it: the speed build's shortcut); then
/// the same again, freed from the highest address down.
///
/// # Safety
///
/// `alloc` is used by no one else meanwhile.
unsafe fn rows<A: GlobalAlloc>(alloc: &A, size: usize, count: usize) {
    let layout = Layout::from_size_align(size, 8).unwrap();
    for ascending in [true, false] {
        let blocks: Vec<*mut u8> = (0..count)
            // SAFETY: `layout` has a size.
            .map(|_| unsafe { alloc.alloc(layout) })
            .collect();
        assert!(
            blocks.iter().all(|block| !block.is_null()),
            "memory ran out"
        );
        let mut order: Vec<usize> = (0..count).collect();
        if !ascending {
            order.reverse();
        }
        // Every other block first, then the rest: freed neighbours merge
        // both ways.
        for &i in order
            .iter()
            .step_by(2)
            .chain(order.iter().skip(1).step_by(2))
        {
            // SAFETY: allocated above with `layout`, freed once.
            unsafe { alloc.dealloc(blocks[i], layout) };
        }
    }
}

/// Defines `$source`, a memory source over `MEMORY` bytes of its own that
/// hands over what is asked, each region continuing the one before, and
/// `$base()`, the first of those bytes.
macro_rules! source {
    ($source:ident, $base:ident) => {
        struct $source {
            used: usize,
        }
        static BYTES: Bytes<MEMORY> = Bytes::new();
        fn $base() -> *mut u8 {
            BYTES.base()
        }
        // SAFETY: every region lies in `BYTES`, is handed out once (`used`
        // only grows) and continues the one before.
        unsafe impl lite_alloc::memory::Memory for $source {
            const INIT: Self = $source { used: 0 };
            fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                BYTES.next_region(&mut self.used, bytes)
            }
        }
    };
}

/// A test that runs the sequence on a type generated with `$args` and
/// prints its line.
macro_rules! placement {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            source!(Source, base);
            #[lite_alloc(memory = Source, $($args)*)]
            struct A;
            let placed = Placed::new(A::new(), base());
            let plans = [
                // Everyday sizes and alignments.
                Plan { seed: 1, ops: 20_000, max_size: 4_000, max_align_log2: 6, max_live: 300 },
                // Large blocks and over-aligned ones, a few live at once.
                Plan { seed: 2, ops: 3_000, max_size: 200_000, max_align_log2: 13, max_live: 20 },
                // Small blocks, many live.
                Plan { seed: 3, ops: 20_000, max_size: 64, max_align_log2: 4, max_live: 2_000 },
            ];
            for plan in &plans {
                // SAFETY: `A` is this test's alone; every block is freed.
                let report = unsafe { check_random_ops(&placed, plan, &Opaque) };
                assert_eq!(report.nulls, 0, "memory ran out: {report:?}");
                A::verify();
            }
            for (size, count) in [(8, 3_000), (40, 2_000), (200, 500), (3_000, 200)] {
                // SAFETY: as above.
                unsafe { rows(&placed, size, count) };
                A::verify();
            }
            println!(
                "placement {} {} {:016x}",
                stringify!($test),
                placed.calls.get(),
                placed.digest.get()
            );
        }
    };
}

placement!(
    general,
    bins = [],
    large = coalesce,
    realloc,
    growth = 1 / 32
);
placement!(no_bins_moving, bins = [], large = coalesce, page = 4096);
placement!(
    five_bins_coalesce,
    bins = [16, 32, 64, 128, 256],
    large = coalesce,
    realloc
);
placement!(
    odd_bins_coalesce,
    bins = [8, 24, 40, 8192],
    large = coalesce,
    realloc
);
placement!(reuse, large = reuse, realloc, growth = 1 / 8);
placement!(
    general_checked,
    bins = [],
    large = coalesce,
    realloc,
    growth = 1 / 32,
    check
);
placement!(
    five_bins_checked,
    bins = [16, 32, 64, 128, 256],
    large = coalesce,
    realloc,
    check
);
