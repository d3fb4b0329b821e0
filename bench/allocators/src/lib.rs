//! The global allocator of a benchmark module (wasm32), chosen by exactly one
//! feature of this crate. With none, the module keeps Rust's default global
//! allocator: dlmalloc on wasm32.
//!
//! Every peer is set up the way its documentation tells wasm users to.
#![no_std]

/// The features that choose an allocator; at most one may be on.
const CHOSEN: usize = cfg!(feature = "lite-default") as usize
    + cfg!(feature = "lite-default-realloc") as usize
    + cfg!(feature = "lite-tuned") as usize
    + cfg!(feature = "lite-reuse") as usize
    + cfg!(feature = "lite-reuse-realloc") as usize
    + cfg!(feature = "lite-stats") as usize
    + cfg!(feature = "lite-heap-base") as usize
    + cfg!(feature = "lite-reuse-stats") as usize
    + cfg!(feature = "lite-general") as usize
    + cfg!(feature = "lite-coalesce") as usize
    + cfg!(feature = "lite-small-bin") as usize
    + cfg!(feature = "lite-bins-reuse") as usize
    + cfg!(feature = "tuned-json") as usize
    + cfg!(feature = "tuned-regex") as usize
    + cfg!(feature = "tuned-syn") as usize
    + cfg!(feature = "candidate") as usize
    + cfg!(feature = "published") as usize
    + cfg!(feature = "published-realloc") as usize
    + cfg!(feature = "wee-alloc") as usize
    + cfg!(feature = "lol-free-list") as usize
    + cfg!(feature = "lol-leaking") as usize
    + cfg!(feature = "talc") as usize
    + cfg!(feature = "rlsf") as usize
    + cfg!(feature = "rlsf-small") as usize
    + cfg!(feature = "wasmalloc") as usize
    + cfg!(feature = "bump") as usize;
/// The checked mode's features.
const CHOSEN_CHECKED: usize = cfg!(feature = "lite-default-checked") as usize
    + cfg!(feature = "lite-general-checked") as usize;
const _: () = assert!(
    matches!(CHOSEN + CHOSEN_CHECKED, 0 | 1),
    "choose at most one allocator feature"
);

#[cfg(any(feature = "lite-default", feature = "lite-default-realloc"))]
#[global_allocator]
static ALLOC: lite_alloc::Default = lite_alloc::Default::new();

/// The tuned configuration: doubling bins from 8 bytes (the workloads' boxes
/// are 8 to 48 bytes, B-tree leaves 228), large blocks reused, in-place
/// realloc, and the module's initial free memory used first.
#[cfg(feature = "lite-tuned")]
#[lite_alloc::lite_alloc(bins = [8, 16, 32, 64, 128, 256], large = reuse, realloc, heap_base)]
pub struct Tuned;

#[cfg(feature = "lite-tuned")]
#[global_allocator]
static ALLOC: Tuned = Tuned::new();

/// Default's configuration, and large blocks reused.
#[cfg(feature = "lite-reuse")]
#[lite_alloc::lite_alloc(large = reuse)]
pub struct Options;

/// Default's configuration, large blocks reused, in-place realloc.
#[cfg(feature = "lite-reuse-realloc")]
#[lite_alloc::lite_alloc(large = reuse, realloc)]
pub struct Options;

/// Default's configuration, and statistics.
#[cfg(feature = "lite-stats")]
#[lite_alloc::lite_alloc(stats)]
pub struct Options;

/// Default's configuration, starting with the module's free memory.
#[cfg(feature = "lite-heap-base")]
#[lite_alloc::lite_alloc(heap_base)]
pub struct Options;

/// Default's bins, large blocks reused, in-place realloc and statistics (for
/// analysis: see `report`).
#[cfg(feature = "lite-reuse-stats")]
#[lite_alloc::lite_alloc(large = reuse, realloc, stats)]
pub struct Options;

#[cfg(any(
    feature = "lite-reuse",
    feature = "lite-reuse-realloc",
    feature = "lite-stats",
    feature = "lite-heap-base",
    feature = "lite-reuse-stats"
))]
#[global_allocator]
static ALLOC: Options = Options::new();

#[cfg(feature = "lite-general")]
#[global_allocator]
static ALLOC: lite_alloc::General = lite_alloc::General::new();

/// `lite_alloc::Default` in the checked mode (lite-alloc's feature
/// `check`).
#[cfg(feature = "lite-default-checked")]
#[global_allocator]
static ALLOC: lite_alloc::Default = lite_alloc::Default::new();

/// `lite_alloc::General` in the checked mode.
#[cfg(feature = "lite-general-checked")]
#[global_allocator]
static ALLOC: lite_alloc::General = lite_alloc::General::new();

/// Five bins in front of the chunks of `large = coalesce`: the fastest small
/// blocks, at some memory (bins keep what they hold) and 339 B more code
/// than `lite_alloc::General`.
#[cfg(feature = "lite-coalesce")]
#[lite_alloc::lite_alloc(bins = [16, 32, 64, 128, 256], large = coalesce, realloc, growth = 1/32)]
pub struct Coalescing;

#[cfg(feature = "lite-coalesce")]
#[global_allocator]
static ALLOC: Coalescing = Coalescing::new();

/// `lite_alloc::General` with one bin, of 8 bytes, in front of its chunks:
/// the smallest blocks (a `Box<u64>`, a short string) carved from slabs at their
/// own size, where a chunk takes 16 bytes on wasm32, and freed and reused
/// without merging.
#[cfg(feature = "lite-small-bin")]
#[lite_alloc::lite_alloc(bins = [8], large = coalesce, realloc, growth = 1/32)]
pub struct SmallBin;

#[cfg(feature = "lite-small-bin")]
#[global_allocator]
static ALLOC: SmallBin = SmallBin::new();

/// Five bins and large blocks reused in size classes, with General's
/// in-place realloc and growth: the most a configuration gives under 1000
/// bytes of code.
#[cfg(feature = "lite-bins-reuse")]
#[lite_alloc::lite_alloc(bins = [16, 32, 64, 128, 256], large = reuse, realloc, growth = 1/32)]
pub struct BinsReuse;

#[cfg(feature = "lite-bins-reuse")]
#[global_allocator]
static ALLOC: BinsReuse = BinsReuse::new();

/// What `lite-alloc-tune` recommends for the real program `json`
/// (`scripts/tune.sh`; lite-alloc-tune's README: "Case studies").
#[cfg(feature = "tuned-json")]
#[lite_alloc::lite_alloc(bins = [8, 16, 24, 40, 72, 96, 128, 200, 408, 456], large = reuse, realloc, growth = 1/32)]
pub struct Tuned;

/// What `lite-alloc-tune` recommends for the real program `regex`.
#[cfg(feature = "tuned-regex")]
#[lite_alloc::lite_alloc(bins = [], large = coalesce, realloc, growth = 1/128)]
pub struct Tuned;

/// What `lite-alloc-tune` recommends for the real program `syn`.
#[cfg(feature = "tuned-syn")]
#[lite_alloc::lite_alloc(bins = [8], large = coalesce, realloc)]
pub struct Tuned;

#[cfg(any(feature = "tuned-json", feature = "tuned-regex", feature = "tuned-syn"))]
#[global_allocator]
static ALLOC: Tuned = Tuned::new();

#[cfg(feature = "candidate")]
include!(concat!(env!("OUT_DIR"), "/candidate.rs"));

/// The allocator's statistics (a configuration with `stats`).
#[cfg(any(feature = "lite-stats", feature = "lite-reuse-stats"))]
pub fn report() -> Option<lite_alloc::Stats> {
    Some(Options::stats())
}

/// No statistics: the allocator keeps none.
#[cfg(not(any(feature = "lite-stats", feature = "lite-reuse-stats")))]
pub fn report() -> Option<core::convert::Infallible> {
    None
}

#[cfg(any(feature = "published", feature = "published-realloc"))]
#[global_allocator]
static ALLOC: lite_alloc_published::single_threaded::SegregatedBumpAllocator =
    lite_alloc_published::single_threaded::SegregatedBumpAllocator::new();

#[cfg(feature = "wee-alloc")]
#[global_allocator]
static ALLOC: wee_alloc::WeeAlloc = wee_alloc::WeeAlloc::INIT;

#[cfg(feature = "lol-free-list")]
#[global_allocator]
// SAFETY: a wasm32 module without the atomics feature has one thread.
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[cfg(feature = "lol-leaking")]
#[global_allocator]
// SAFETY: a wasm32 module without the atomics feature has one thread.
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::LeakingAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::LeakingAllocator::new()) };

#[cfg(feature = "talc")]
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(feature = "rlsf")]
#[global_allocator]
static ALLOC: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

#[cfg(feature = "rlsf-small")]
#[global_allocator]
static ALLOC: rlsf::SmallGlobalTlsf = rlsf::SmallGlobalTlsf::new();

#[cfg(feature = "wasmalloc")]
#[global_allocator]
static ALLOC: wasmalloc::WasmAlloc = wasmalloc::WasmAlloc::new();

#[cfg(feature = "bump")]
#[global_allocator]
static ALLOC: bump::Bump = bump::Bump;

/// The lower bound: a bump pointer that never frees, grown a wasm page at a
/// time. Not an allocator anyone should ship (it never reuses memory).
#[cfg(feature = "bump")]
mod bump {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::Cell;

    pub struct Bump;

    /// The next free address and the end of the memory grown so far.
    struct State {
        top: Cell<usize>,
        end: Cell<usize>,
    }

    // SAFETY: a wasm32 module without the atomics feature has one thread.
    unsafe impl Sync for State {}

    static STATE: State = State {
        top: Cell::new(0),
        end: Cell::new(0),
    };

    // SAFETY: blocks are carved from pages this allocator grew, never twice;
    // out of memory (or address-space overflow) gives null.
    unsafe impl GlobalAlloc for Bump {
        #[inline]
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let (size, align) = (layout.size(), layout.align());
            let mut start = (STATE.top.get() + align - 1) & !(align - 1);
            if start + size > STATE.end.get() {
                let pages = (size + align).div_ceil(65536);
                let old = core::arch::wasm32::memory_grow(0, pages);
                if old == usize::MAX {
                    return core::ptr::null_mut();
                }
                if old * 65536 != STATE.end.get() {
                    start = (old * 65536 + align - 1) & !(align - 1);
                }
                STATE.end.set((old + pages) * 65536);
            }
            STATE.top.set(start + size);
            start as *mut u8
        }

        #[inline]
        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }
}
