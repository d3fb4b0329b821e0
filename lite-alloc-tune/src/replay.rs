//! Replaying a trace against a generated allocator, over a simulated wasm
//! memory: the allocator's own code serves every recorded request, in the
//! recorded order, and its statistics say what memory it needed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};

use lite_alloc::Stats;
use lite_alloc::memory::Memory;

use crate::trace::{Event, Trace};

/// The simulated address space: wasm32's 4 GiB.
pub const SPACE: usize = 4 << 30;
/// The simulated memory grows in wasm pages.
pub const PAGE: usize = 65536;

static BASE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

/// The start of the simulated memory: 4 GiB reserved once from the system
/// (pages the replay never touches are never backed).
fn base() -> *mut u8 {
    let base = BASE.load(Ordering::Acquire);
    if !base.is_null() {
        return base;
    }
    // SAFETY: a valid, non-zero layout.
    let fresh = unsafe { System.alloc(Layout::from_size_align(SPACE, PAGE).unwrap()) };
    assert!(
        !fresh.is_null(),
        "cannot reserve 4 GiB for the simulated memory"
    );
    match BASE.compare_exchange(
        std::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => fresh,
        Err(other) => {
            // SAFETY: `fresh` was just allocated with this layout and not used.
            unsafe { System.dealloc(fresh, Layout::from_size_align(SPACE, PAGE).unwrap()) };
            other
        }
    }
}

/// A wasm memory simulated in 4 GiB of the host's: grows by whole pages from
/// the start, never shrinks; `reset` starts over. The candidates of one
/// replay run use it one after the other.
pub struct SimMemory {
    used: usize,
}

// SAFETY: each page of the reserved space is handed out once until `reset`,
// which the allocator calls when no block is live; the regions are one
// allocation, continuing each other. They are not zeroed after a reset, so
// `ZEROED` is not claimed.
unsafe impl Memory for SimMemory {
    const INIT: Self = SimMemory { used: 0 };
    const GRANULE: usize = PAGE;
    fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
        let bytes = bytes.div_ceil(PAGE) * PAGE;
        if bytes > SPACE - self.used {
            return None;
        }
        let start = NonNull::new(base().wrapping_add(self.used))?;
        self.used += bytes;
        Some(NonNull::slice_from_raw_parts(start, bytes))
    }
    fn reset(&mut self) {
        self.used = 0;
    }
}

/// What replaying a trace against one configuration measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Bytes of simulated memory the allocator obtained: its peak.
    pub peak_bytes: usize,
    /// The most bytes the program's live blocks requested at once.
    pub peak_requested: usize,
    /// At that moment, the bytes of those blocks beyond what was requested
    /// (rounding up to bins and classes).
    pub rounding_at_peak: usize,
    /// Allocations served from a bin's free list, and those that found it
    /// empty.
    pub bin_hits: u64,
    /// See `bin_hits`.
    pub bin_misses: u64,
    /// Bytes of large blocks freed and never reused.
    pub leaked: usize,
    /// Requests the allocator could not serve in 4 GiB (the recording's own
    /// failures are not replayed).
    pub failed: u64,
}

/// Replays `trace` against `alloc`, whose statistics `stats` reads. Frees
/// every block still live at the end; the caller resets the allocator.
///
/// # Safety
///
/// `alloc` is used by nothing else during the replay.
pub unsafe fn replay<A: GlobalAlloc>(
    trace: &Trace,
    alloc: &A,
    stats: impl Fn() -> Stats,
) -> Outcome {
    let mut live: HashMap<usize, (*mut u8, Layout)> = HashMap::with_capacity(1 << 16);
    let (mut requested, mut peak, mut rounding) = (0usize, 0usize, 0usize);
    let mut failed = 0;
    // Reading the statistics at every new peak would be slow: at most when
    // the peak grew by 1/256 since the last reading.
    let mut sampled_peak = 0usize;
    for event in &trace.events {
        match *event {
            Event::Alloc {
                address,
                size,
                align,
                zeroed,
            } => {
                if address == 0 {
                    continue;
                }
                let Ok(layout) = Layout::from_size_align(size.max(1), align) else {
                    continue;
                };
                // SAFETY: a valid, non-zero-sized layout.
                let block = unsafe {
                    if zeroed {
                        alloc.alloc_zeroed(layout)
                    } else {
                        alloc.alloc(layout)
                    }
                };
                if block.is_null() {
                    failed += 1;
                    continue;
                }
                if let Some((old, old_layout)) = live.insert(address, (block, layout)) {
                    // A recording that missed a free: let the block go.
                    // SAFETY: a live block of `alloc` with its layout.
                    unsafe { alloc.dealloc(old, old_layout) };
                    requested -= old_layout.size();
                }
                requested += layout.size();
            }
            Event::Dealloc { address } => {
                if let Some((block, layout)) = live.remove(&address) {
                    // SAFETY: a live block of `alloc` with its layout.
                    unsafe { alloc.dealloc(block, layout) };
                    requested -= layout.size();
                }
            }
            Event::Realloc { from, to, size } => {
                if to == 0 {
                    continue;
                }
                let Some((block, layout)) = live.remove(&from) else {
                    continue;
                };
                let new_size = size.max(1);
                // SAFETY: a live block of `alloc` with its layout, and a new
                // size that was valid for it in the recorded program.
                let new = unsafe { alloc.realloc(block, layout, new_size) };
                if new.is_null() {
                    failed += 1;
                    live.insert(from, (block, layout));
                    continue;
                }
                let new_layout = Layout::from_size_align(new_size, layout.align()).unwrap();
                live.insert(to, (new, new_layout));
                requested = requested - layout.size() + new_size;
            }
        }
        if requested > peak {
            peak = requested;
            if peak - sampled_peak > sampled_peak / 256 {
                sampled_peak = peak;
                let s = stats();
                rounding = s.in_use_capacity - s.in_use;
            }
        }
    }
    let s = stats();
    for (_, (block, layout)) in live {
        // SAFETY: a live block of `alloc` with its layout.
        unsafe { alloc.dealloc(block, layout) };
    }
    let (bin_hits, bin_misses) = s
        .bins()
        .iter()
        .fold((0, 0), |(h, m), b| (h + b.hits, m + b.misses));
    Outcome {
        peak_bytes: s.obtained,
        peak_requested: peak,
        rounding_at_peak: rounding,
        bin_hits,
        bin_misses,
        leaked: s.leaked,
        failed,
    }
}
