//! `memory = system`: regions from the operating system's allocator,
//! separate allocated objects (Miri with strict provenance checks that
//! every pointer the heap derives carries the provenance of its region),
//! each at least as large as everything obtained before it.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

use lite_alloc::lite_alloc;
use lite_alloc_tests::{Opaque, Plan, all_equal, check_random_ops, scaled};

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// Far beyond the 8 MiB a host arena has, in few regions: memory obtained
/// stays within twice what is live.
#[test]
fn grows_far_and_in_few_regions() {
    #[lite_alloc(memory = system, stats)]
    struct Host;
    let (count, size) = if cfg!(miri) {
        (6, 64 << 10)
    } else {
        (40, 1 << 20)
    };
    unsafe {
        let blocks: Vec<*mut u8> = (0..count).map(|_| Host.alloc(layout(size))).collect();
        for (i, &block) in blocks.iter().enumerate() {
            assert!(!block.is_null());
            block.write_bytes(i as u8, size);
        }
        let mut sorted = blocks.clone();
        sorted.sort();
        assert!(
            sorted
                .windows(2)
                .all(|w| w[0] as usize + size <= w[1] as usize),
            "no overlap"
        );
        let obtained = Host::stats().obtained;
        assert!(
            obtained >= count * size && obtained <= 2 * count * size + (1 << 20),
            "{obtained} B obtained for {} B",
            count * size
        );
        for (i, &block) in blocks.iter().enumerate() {
            assert_eq!(*block.add(size - 1), i as u8);
            Host.dealloc(block, layout(size));
        }
        // `reset` gives every region back, and the heap starts over.
        Host::reset();
        assert_eq!(Host::stats().obtained, 0);
        let block = Host.alloc(layout(100));
        assert!(!block.is_null());
        Host.dealloc(block, layout(100));
    }
}

/// Fresh regions are zero (the source asks for them zeroed), so
/// `alloc_zeroed` is; recycled blocks are cleared.
#[test]
fn zeroed_memory_is_zero() {
    #[lite_alloc(memory = system, large = reuse)]
    struct Zeroed;
    // Under Miri, which is slow, smaller blocks.
    let size = if cfg!(miri) { 8 << 10 } else { 300 << 10 };
    let l = layout(size);
    unsafe {
        let a = Zeroed.alloc_zeroed(l);
        assert!(all_equal(std::slice::from_raw_parts(a, size), 0));
        a.write_bytes(0xFF, size);
        let b = Zeroed.alloc(layout(64));
        Zeroed.dealloc(a, l);
        let c = Zeroed.alloc_zeroed(l);
        assert_eq!(a, c, "reused");
        assert!(all_equal(std::slice::from_raw_parts(c, size), 0));
        Zeroed.dealloc(c, l);
        Zeroed.dealloc(b, layout(64));
    }
}

/// The shadow model on system memory, for a heap of each kind, with a small
/// `page` so that memory comes in many regions and blocks are freed into
/// lists that cross them.
macro_rules! model_on_system_memory {
    ($test:ident, $($arg:tt)*) => {
        #[test]
        fn $test() {
            #[lite_alloc(memory = system, page = 4096, $($arg)*)]
            struct Model;
            // One seed and smaller blocks under Miri, which is slow.
            let seeds = if cfg!(miri) { 1 } else { 2 };
            for seed in 1..=seeds {
                let plan = Plan {
                    seed,
                    ops: scaled(5000),
                    max_size: if cfg!(miri) { 4096 } else { 16384 },
                    max_align_log2: 8,
                    max_live: 60,
                };
                // SAFETY: only this test uses `Model`, and the run frees
                // every block.
                let report = unsafe { check_random_ops(&Model, &plan, &Opaque) };
                assert_eq!(report.nulls, 0);
                // SAFETY: no block is alive.
                unsafe { Model::reset() };
            }
        }
    };
}

model_on_system_memory!(model_bins, realloc);
model_on_system_memory!(model_large_reuse, large = reuse, realloc);
model_on_system_memory!(model_coalesce, large = coalesce, realloc);
model_on_system_memory!(
    model_chunks,
    bins = [],
    large = coalesce,
    realloc,
    growth = 1 / 32
);

/// Every region obtained serves a block: one obtained for a request must
/// hold it whole (the system's regions never continue each other), not
/// just what the current region lacks, or it is abandoned unused.
#[test]
fn every_region_obtained_is_used() {
    use lite_alloc::memory::{Memory, System};
    static REGIONS: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());
    struct Recorded(System);
    // SAFETY: forwards to `System`, recording the regions.
    unsafe impl Memory for Recorded {
        const INIT: Self = Recorded(System::INIT);
        const ZEROED: bool = <System as Memory>::ZEROED;
        const CONTIGUOUS: bool = <System as Memory>::CONTIGUOUS;
        const GRANULE: usize = <System as Memory>::GRANULE;
        fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
            let region = self.0.grow(bytes)?;
            REGIONS
                .lock()
                .unwrap()
                .push((region.cast::<u8>().as_ptr().addr(), region.len()));
            Some(region)
        }
        fn provenance(&self, hint: *mut u8, addr: usize) -> *mut u8 {
            self.0.provenance(hint, addr)
        }
        fn reset(&mut self) {
            self.0.reset()
        }
    }
    #[lite_alloc(memory = Recorded)]
    struct S;
    unsafe {
        let small = S.alloc(Layout::from_size_align(8, 8).unwrap());
        let big = S.alloc(Layout::from_size_align(200_000, 16).unwrap());
        assert!(!small.is_null() && !big.is_null());
        let regions = REGIONS.lock().unwrap().clone();
        let used = |&(start, len): &(usize, usize)| {
            [small, big]
                .iter()
                .any(|&p| p.addr() >= start && p.addr() < start + len)
        };
        let unused: Vec<_> = regions.iter().filter(|r| !used(r)).collect();
        assert!(
            unused.is_empty(),
            "regions obtained from the system and never carved from: {unused:?} (all: {regions:?})"
        );
        S.dealloc(big, Layout::from_size_align(200_000, 16).unwrap());
        S.dealloc(small, Layout::from_size_align(8, 8).unwrap());
    }
}
