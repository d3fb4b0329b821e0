//! The benchmark workloads on the host, for regressions.
//!
//! The workloads allocate through the global allocator, so the global
//! allocator here is a switch: while a workload runs it allocates from the
//! allocator under test, and every other time (criterion's own bookkeeping)
//! from the system's. Frees and reallocations go to whichever allocator owns
//! the block, found by its address. After each run the allocator under test
//! is reset (outside the timed part), so configurations that never reuse
//! large blocks start every run afresh, as a fresh wasm instance does.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use lite_alloc::lite_alloc;
use lite_alloc::memory::Memory;

/// The allocators under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Under {
    /// The system allocator (glibc's malloc on Linux), for reference.
    System,
    /// `lite_alloc::Default`'s configuration.
    Default,
    /// Default's bins with `large = reuse, realloc`.
    Reuse,
    /// The benchmark's tuned configuration.
    Tuned,
}

impl Under {
    /// Every allocator under test.
    pub const ALL: [Under; 4] = [Under::System, Under::Default, Under::Reuse, Under::Tuned];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Under::System => "system",
            Under::Default => "lite-default",
            Under::Reuse => "lite-reuse-realloc",
            Under::Tuned => "lite-tuned",
        }
    }
}

/// Bytes of each allocator's region: untouched pages of a static cost
/// nothing on the host.
const REGION: usize = 1 << 29;

/// A memory source over a static array of its own, handed out from the start
/// again after `reset`; `contains` tells its blocks apart from others'.
macro_rules! region {
    ($name:ident) => {
        /// The memory of one allocator under test.
        pub struct $name {
            used: usize,
        }

        impl $name {
            fn storage() -> *mut u8 {
                static mut STORAGE: [u8; REGION] = [0; REGION];
                (&raw mut STORAGE).cast()
            }

            /// Whether `block` lies in this region.
            pub fn contains(block: *mut u8) -> bool {
                let start = Self::storage().addr();
                (start..start + REGION).contains(&block.addr())
            }
        }

        // SAFETY: each byte of the static is handed out once until `reset`,
        // which the allocator calls only when no block is live; the regions
        // are one array.
        unsafe impl Memory for $name {
            const INIT: Self = $name { used: 0 };
            fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                if bytes > REGION - self.used {
                    return None;
                }
                let start = NonNull::new(Self::storage().wrapping_add(self.used))?;
                self.used += bytes;
                Some(NonNull::slice_from_raw_parts(start, bytes))
            }
            fn reset(&mut self) {
                self.used = 0;
            }
        }
    };
}

region!(DefaultRegion);
region!(ReuseRegion);
region!(TunedRegion);

/// `lite_alloc::Default`'s configuration, over its region.
#[lite_alloc(memory = DefaultRegion)]
pub struct DefaultAlloc;

/// Default's bins, large blocks reused, in-place realloc.
#[lite_alloc(memory = ReuseRegion, large = reuse, realloc)]
pub struct ReuseAlloc;

/// The tuned configuration of the wasm benchmark (without `heap_base`, which
/// is wasm-only).
#[lite_alloc(memory = TunedRegion, bins = [8, 16, 32, 64, 128, 256], large = reuse, realloc)]
pub struct TunedAlloc;

thread_local! {
    /// The allocator that serves new blocks on this thread.
    static CURRENT: Cell<Under> = const { Cell::new(Under::System) };
    /// Blocks of the allocator under test that are live.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn current() -> Under {
    CURRENT.try_with(Cell::get).unwrap_or(Under::System)
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

/// The allocator owning `block`.
fn owner(block: *mut u8) -> Under {
    if DefaultRegion::contains(block) {
        Under::Default
    } else if ReuseRegion::contains(block) {
        Under::Reuse
    } else if TunedRegion::contains(block) {
        Under::Tuned
    } else {
        Under::System
    }
}

/// The global allocator of the benchmark: see the crate's documentation.
pub struct Switch;

// SAFETY: every call goes to one real allocator: new blocks to the current
// one, everything else to the block's owner, which allocated it.
unsafe impl GlobalAlloc for Switch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe {
            match current() {
                Under::System => System.alloc(layout),
                under => {
                    count(1);
                    match under {
                        Under::Default => DefaultAlloc.alloc(layout),
                        Under::Reuse => ReuseAlloc.alloc(layout),
                        _ => TunedAlloc.alloc(layout),
                    }
                }
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe {
            match current() {
                Under::System => System.alloc_zeroed(layout),
                under => {
                    count(1);
                    match under {
                        Under::Default => DefaultAlloc.alloc_zeroed(layout),
                        Under::Reuse => ReuseAlloc.alloc_zeroed(layout),
                        _ => TunedAlloc.alloc_zeroed(layout),
                    }
                }
            }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: forwarded to the block's owner.
        unsafe {
            match owner(block) {
                Under::System => return System.dealloc(block, layout),
                Under::Default => DefaultAlloc.dealloc(block, layout),
                Under::Reuse => ReuseAlloc.dealloc(block, layout),
                Under::Tuned => TunedAlloc.dealloc(block, layout),
            }
        }
        count(-1);
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded to the block's owner.
        unsafe {
            match owner(block) {
                Under::System => System.realloc(block, layout, new_size),
                Under::Default => DefaultAlloc.realloc(block, layout, new_size),
                Under::Reuse => ReuseAlloc.realloc(block, layout, new_size),
                Under::Tuned => TunedAlloc.realloc(block, layout, new_size),
            }
        }
    }
}

#[global_allocator]
static GLOBAL: Switch = Switch;

/// Runs `workload` once with `under` serving its blocks; returns the time it
/// took and its checksum. The allocator is reset afterwards.
///
/// # Panics
///
/// If a block the workload allocated outlives it (then resetting would not
/// be sound).
pub fn measure(under: Under, workload: fn() -> u64) -> (Duration, u64) {
    CURRENT.set(under);
    let start = Instant::now();
    let checksum = black_box(workload());
    let elapsed = start.elapsed();
    CURRENT.set(Under::System);
    let live = LIVE.get();
    assert_eq!(
        live, 0,
        "{live} blocks outlived the workload under {under:?}"
    );
    // SAFETY: no block of the allocator under test is live (checked above).
    unsafe {
        match under {
            Under::System => {}
            Under::Default => DefaultAlloc::reset(),
            Under::Reuse => ReuseAlloc::reset(),
            Under::Tuned => TunedAlloc::reset(),
        }
    }
    (elapsed, checksum)
}
