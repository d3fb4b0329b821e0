//! The options beyond the documented design: `stats`, `alloc_zeroed` that
//! skips fresh memory, and `large = reuse`. (`heap_base` is wasm-only: see
//! `tests/wasm-suite`.)

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

use lite_alloc::lite_alloc;
use lite_alloc::memory::Memory;
use lite_alloc_tests::all_equal;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Every counter, after a sequence whose effect is known exactly.
#[test]
fn stats_count_every_event() {
    #[lite_alloc(stats, memory = arena(1 << 20))]
    struct Counted;
    let (small, large) = (layout(20, 8), layout(1000, 8));
    unsafe {
        let a = Counted.alloc(small); // bin 32: a miss
        let b = Counted.alloc(small); // a miss
        Counted.dealloc(a, small);
        let c = Counted.alloc(small); // a hit
        assert_eq!(c, a);
        let big = Counted.alloc(large); // large: carved
        Counted.dealloc(big, large); // never reused: leaked
        let grown = Counted.realloc(b, small, 100); // moves to bin 128
        let s = Counted::stats();
        assert_eq!(s.in_use, 20 + 100);
        assert_eq!(s.peak_in_use, 20 + 20 + 1000);
        assert_eq!(s.in_use_capacity, 32 + 128, "the bins' full sizes");
        assert_eq!(s.obtained, 1 << 20, "the arena, handed over whole");
        // Two blocks of 32, one of 1000 (at offset 64), then 8 bytes of
        // padding to align the block of 128 to 16.
        assert_eq!(s.bumped, 32 + 32 + 1000 + 8 + 128);
        assert_eq!(s.leaked, 1000);
        assert_eq!(s.failed, 0);
        let bin32 = s.bin(32).unwrap();
        assert_eq!((bin32.hits, bin32.misses, bin32.free), (1, 2, 1), "{s:?}");
        let bin128 = s.bin(128).unwrap();
        assert_eq!((bin128.hits, bin128.misses, bin128.free), (0, 1, 0));
        assert_eq!(s.bins().len(), 4);
        assert_eq!(s.bins()[0].size, 16);

        // A request the arena cannot serve.
        assert!(Counted.alloc(layout(2 << 20, 8)).is_null());
        assert!(Counted.realloc(grown, layout(100, 8), 2 << 20).is_null());
        assert_eq!(Counted::stats().failed, 2);
        Counted.dealloc(c, small);
        Counted.dealloc(grown, layout(100, 8));
        assert_eq!(Counted::stats().in_use, 0);

        Counted::reset();
        let s = Counted::stats();
        assert_eq!(
            (s.in_use, s.peak_in_use, s.obtained, s.failed),
            (0, 0, 0, 0)
        );
    }
}

/// `Display`: every counter on one line, bins last.
#[test]
fn stats_display_as_one_line() {
    #[lite_alloc(stats, memory = arena(1 << 20))]
    struct Shown;
    let (small, large) = (layout(20, 8), layout(1000, 8));
    unsafe {
        let a = Shown.alloc(small);
        Shown.dealloc(a, small);
        let b = Shown.alloc(small);
        let big = Shown.alloc(large);
        Shown.dealloc(big, large);
        assert!(Shown.alloc(layout(2 << 20, 8)).is_null());
        assert_eq!(
            Shown::stats().to_string(),
            "in use 20 B (peak 1020 B, 32 B in blocks), obtained 1048576 B, carved 1032 B, leaked 1000 B, \
             large free 0 B (0 reused, 0 back to the top), 1 failed; \
             bins 16/32/64/128 B: hits 0/1/0/0, misses 0/1/0/0, free 0/0/0/0"
        );
        Shown.dealloc(b, small);
    }

    #[lite_alloc(stats, bins = [], large = coalesce, memory = arena(1 << 20))]
    struct NoBins;
    unsafe {
        let block = NoBins.alloc(large);
        let line = NoBins::stats().to_string();
        assert!(line.starts_with("in use 1000 B (peak 1000 B, "), "{line}");
        assert!(line.ends_with("0 failed; no bins"), "{line}");
        NoBins.dealloc(block, large);
    }
}

/// The counters of `large = reuse`: blocks in the lists, reuse, and blocks
/// given back to the bump pointer.
#[test]
fn stats_count_large_reuse() {
    #[lite_alloc(stats, large = reuse, memory = arena(1 << 20))]
    struct Counted;
    let large = layout(1000, 8); // class 1024
    unsafe {
        let a = Counted.alloc(large);
        let b = Counted.alloc(large);
        Counted.dealloc(a, large); // not the last: into the list
        assert_eq!(Counted::stats().large_free, 1024);
        let c = Counted.alloc(large); // reused
        assert_eq!(c, a);
        Counted.dealloc(b, large); // the last carved: back to the bump pointer
        let s = Counted::stats();
        assert_eq!((s.large_free, s.large_hits, s.large_to_top), (0, 1, 1));
        assert_eq!(
            (s.in_use, s.in_use_capacity),
            (1000, 1024),
            "the class's size"
        );
        assert_eq!(s.leaked, 0);
        assert_eq!(s.bumped, 1024, "only `c` is still carved");
        Counted.dealloc(c, large);
    }
}

/// A memory source that breaks the `ZEROED` promise on purpose: its bytes
/// are 0xAB. `alloc_zeroed` blocks that read 0xAB were not cleared (fresh
/// memory, as intended); recycled ones must read zero. Each test gets one of
/// its own.
macro_rules! dirty_memory {
    ($name:ident) => {
        struct $name {
            given: bool,
        }

        // SAFETY (for this test only): the region is handed out once and
        // nothing else uses it; it is not zeroed, although `ZEROED` says so,
        // to show which blocks `alloc_zeroed` clears.
        unsafe impl Memory for $name {
            const INIT: Self = $name { given: false };
            const ZEROED: bool = true;
            fn grow(&mut self, _bytes: usize) -> Option<NonNull<[u8]>> {
                // Page-aligned, as a real memory's regions are; reached
                // only through a raw pointer.
                #[repr(align(4096))]
                #[allow(dead_code)]
                struct Storage([u8; 1 << 16]);
                static mut DIRTY: Storage = Storage([0xAB; 1 << 16]);
                if std::mem::replace(&mut self.given, true) {
                    return None;
                }
                let start = NonNull::new((&raw mut DIRTY).cast::<u8>())?;
                Some(NonNull::slice_from_raw_parts(start, 1 << 16))
            }
        }
    };
}

fn bytes(block: *mut u8, len: usize) -> Vec<u8> {
    // SAFETY: the callers pass live blocks of at least `len` bytes.
    unsafe { std::slice::from_raw_parts(block, len).to_vec() }
}

#[test]
fn alloc_zeroed_clears_only_recycled_blocks() {
    dirty_memory!(Dirty);
    #[lite_alloc(memory = Dirty, page = 4096)]
    struct Zeroing;
    unsafe {
        let small = layout(24, 8);
        let fresh = Zeroing.alloc_zeroed(small);
        assert_eq!(
            bytes(fresh, 24),
            [0xAB; 24],
            "fresh memory is not cleared again"
        );
        fresh.write_bytes(7, 24);
        Zeroing.dealloc(fresh, small);
        let recycled = Zeroing.alloc_zeroed(small);
        assert_eq!(recycled, fresh);
        assert_eq!(bytes(recycled, 24), [0; 24], "a recycled block is cleared");

        let big = layout(3000, 16);
        let fresh_big = Zeroing.alloc_zeroed(big);
        assert_eq!(bytes(fresh_big, 3000), [0xAB; 3000]);
    }
}

/// With `large = reuse`, a block given back to the bump pointer is used
/// memory: carving over it again clears the part that was used.
#[test]
fn alloc_zeroed_clears_memory_given_back_to_the_bump_pointer() {
    dirty_memory!(Dirty);
    #[lite_alloc(memory = Dirty, page = 4096, large = reuse)]
    struct Zeroing;
    unsafe {
        let big = layout(2000, 16); // class 2048
        let a = Zeroing.alloc(big);
        a.write_bytes(7, 2000);
        Zeroing.dealloc(a, big); // back to the bump pointer
        // A larger block over it: the first 2048 bytes were used, the rest
        // is fresh.
        let b = Zeroing.alloc_zeroed(layout(3000, 16)); // class 3072
        assert_eq!(b, a);
        let contents = bytes(b, 3000);
        assert!(all_equal(&contents[..2048], 0), "used memory cleared");
        assert!(
            all_equal(&contents[2048..], 0xAB),
            "fresh memory left alone"
        );
        // A block from a class list is cleared.
        let c = Zeroing.alloc(big);
        let _last = Zeroing.alloc(big);
        c.write_bytes(9, 2000);
        Zeroing.dealloc(c, big);
        let d = Zeroing.alloc_zeroed(big);
        assert_eq!(d, c);
        assert_eq!(bytes(d, 2000), [0; 2000]);
    }
}

/// A freed large block serves the next request of its class; without
/// `large = reuse` it is never reused.
#[test]
fn large_blocks_are_reused_by_class() {
    #[lite_alloc(large = reuse, memory = arena(1 << 20))]
    struct Reusing;
    unsafe {
        let a = Reusing.alloc(layout(1000, 8));
        let _keep = Reusing.alloc(layout(8, 8));
        Reusing.dealloc(a, layout(1000, 8));
        // 897..=1024 share a class.
        assert_eq!(Reusing.alloc(layout(897, 4)), a);
        let b = Reusing.alloc(layout(1025, 8));
        assert_ne!(b, a, "another class");
        // Over-aligned blocks are reused when the head is aligned enough.
        let over = layout(300, 4096);
        let x = Reusing.alloc(over);
        let _keep = Reusing.alloc(layout(8, 8));
        Reusing.dealloc(x, over);
        assert_eq!(Reusing.alloc(over), x);
    }
}

/// A freed block that was the last one carved goes back to the bump pointer,
/// so a request of another class gets its memory.
#[test]
fn the_last_large_block_goes_back_to_the_bump_pointer() {
    #[lite_alloc(large = reuse, memory = arena(1 << 20))]
    struct Reusing;
    unsafe {
        let _first = Reusing.alloc(layout(64, 8));
        let a = Reusing.alloc(layout(1000, 8));
        Reusing.dealloc(a, layout(1000, 8));
        assert_eq!(Reusing.alloc(layout(5000, 8)), a);
    }
}

/// The growth of a `Vec` with in-place realloc and `large = reuse`: the same
/// memory serves every round (an arena of twice the last size is enough).
#[test]
fn a_growing_vec_reuses_its_memory() {
    #[lite_alloc(large = reuse, realloc, stats, memory = arena(2 << 20))]
    struct Reusing;
    unsafe {
        for _ in 0..20 {
            let mut layout = layout(16, 4);
            let mut block = Reusing.alloc(layout);
            while layout.size() < 1 << 20 {
                let new_size = layout.size() * 2;
                block = Reusing.realloc(block, layout, new_size);
                assert!(!block.is_null());
                layout = self::layout(new_size, 4);
            }
            Reusing.dealloc(block, layout);
        }
        let s = Reusing::stats();
        assert_eq!(s.failed, 0, "{s:?}");
    }
}

/// A long-running mix of sizes up to 64 KiB: with `large = reuse` memory
/// stays bounded; without it, it grows until it runs out.
#[test]
fn large_reuse_bounds_memory_of_a_long_run() {
    // Under Miri (slow) a smaller run over a smaller memory.
    const ARENA: usize = if cfg!(miri) { 1 << 20 } else { 32 << 20 };
    const OPS: usize = if cfg!(miri) { 5_000 } else { 1_000_000 };
    const MAX: usize = if cfg!(miri) { 8 << 10 } else { 64 << 10 };
    // With reuse, an arena of a few times the live peak (found below).
    const SMALL_ARENA: usize = if cfg!(miri) { 256 << 10 } else { 2 << 20 };
    #[lite_alloc(large = reuse, stats, memory = arena(SMALL_ARENA))]
    struct Reusing;
    #[lite_alloc(stats, memory = arena(ARENA))]
    struct Leaking;

    /// Keeps up to 100 blocks of log-uniform sizes live, replacing a random
    /// one at every step; returns the most bytes live at once.
    unsafe fn churn<A: GlobalAlloc>(alloc: &A) -> usize {
        let mut rng = lite_alloc_tests::Rng::new(99);
        let mut live: Vec<(*mut u8, Layout)> = Vec::new();
        let (mut bytes, mut peak) = (0, 0);
        for _ in 0..OPS {
            if live.len() == 100 {
                let (block, layout) = live.swap_remove(rng.below(100) as usize);
                bytes -= layout.size();
                unsafe { alloc.dealloc(block, layout) };
            }
            let log = rng.below(MAX.ilog2() as u64) as u32;
            let size = 1 + rng.below(1 << log) as usize;
            let layout = layout(size, 8);
            let block = unsafe { alloc.alloc(layout) };
            if block.is_null() {
                break;
            }
            live.push((block, layout));
            bytes += size;
            peak = peak.max(bytes);
        }
        for (block, layout) in live {
            unsafe { alloc.dealloc(block, layout) };
        }
        peak
    }

    unsafe {
        let peak = churn(&Reusing);
        let s = Reusing::stats();
        assert_eq!(s.failed, 0, "with reuse the small arena is enough: {s:?}");
        // The arena is used whole; what the blocks took of it is what was
        // carved.
        assert!(
            s.bumped <= 3 * peak,
            "with reuse, the memory carved is within a few times the live peak ({peak} B): {s:?}"
        );
        churn(&Leaking);
        let s = Leaking::stats();
        assert!(s.failed > 0, "without reuse the arena runs out: {s:?}");
        assert!(s.leaked > ARENA / 2, "{s:?}");
    }
}

/// A memory source over a static array that records every request made of
/// it, and can be told to refuse requests above a size (to stand for a
/// memory close to its maximum).
macro_rules! counting_memory {
    ($name:ident, $bytes:expr) => {
        struct $name {
            used: usize,
        }

        impl $name {
            fn log() -> &'static std::sync::Mutex<(Vec<usize>, usize)> {
                static LOG: std::sync::Mutex<(Vec<usize>, usize)> =
                    std::sync::Mutex::new((Vec::new(), usize::MAX));
                &LOG
            }
            /// The requests so far.
            fn requests() -> Vec<usize> {
                Self::log().lock().unwrap().0.clone()
            }
            /// Refuse requests of more than `bytes` from now on.
            #[allow(dead_code)]
            fn refuse_above(bytes: usize) {
                Self::log().lock().unwrap().1 = bytes;
            }
        }

        // SAFETY: each byte of the static array is handed out once and
        // nothing else uses it.
        unsafe impl Memory for $name {
            const INIT: Self = $name { used: 0 };
            const GRANULE: usize = 4096;
            fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                // Page-aligned, as a real memory's regions are; reached
                // only through a raw pointer.
                #[repr(align(4096))]
                #[allow(dead_code)]
                struct Storage([u8; $bytes]);
                static mut STORAGE: Storage = Storage([0; $bytes]);
                let mut log = Self::log().lock().unwrap();
                log.0.push(bytes);
                if bytes > log.1 || bytes > $bytes - self.used {
                    return None;
                }
                let start = NonNull::new((&raw mut STORAGE).cast::<u8>().wrapping_add(self.used))?;
                self.used += bytes;
                Some(NonNull::slice_from_raw_parts(start, bytes))
            }
        }
    };
}

/// A block shrunk by `realloc` into a smaller bin or class than its own
/// moves, where blocks are reused: kept in place, it would be freed into
/// the smaller list and what it held beyond would be lost for good (a large
/// block shrunk to a few bytes, over and over, grew memory without bound).
/// Within its own bin or class it stays. (lite-alloc 0.1.0's design keeps
/// every shrunk block in place: `Default` with `realloc` still does. A
/// chunk shrinks in place, its tail freed: with no bins it stays.)
macro_rules! shrinking_keeps_capacity {
    ($test:ident, moves = $moves:expr, $($args:tt)*) => {
        #[test]
        fn $test() {
            // Memory that grew with every round would run out of the arena.
            #[lite_alloc(memory = arena(64 << 10), realloc, stats, $($args)*)]
            struct A;
            let (big, small) = (layout(10_000, 8), layout(20, 8));
            // SAFETY: `A` is this test's alone; every block is freed with
            // the layout it was last given.
            unsafe {
                let p = A.alloc(big);
                let q = A.realloc(p, big, 9_990);
                assert_eq!(q, p, "within its own class, the block stays");
                let r = A.realloc(q, layout(9_990, 8), 20);
                assert!(!r.is_null());
                assert_eq!(r != q, $moves, "into a smaller bin, the block moves");
                A.dealloc(r, small);
                for _ in 0..1000 {
                    let p = A.alloc(big);
                    let r = A.realloc(p, big, 20);
                    assert!(!r.is_null(), "memory grew: {:?}", A::stats());
                    A.dealloc(r, small);
                }
                assert_eq!(A::stats().failed, 0);
            }
        }
    };
}

shrinking_keeps_capacity!(shrinking_keeps_capacity_reuse, moves = true, large = reuse);
shrinking_keeps_capacity!(
    shrinking_keeps_capacity_coalesce,
    moves = true,
    large = coalesce
);
shrinking_keeps_capacity!(
    shrinking_keeps_capacity_chunks,
    moves = false,
    bins = [],
    large = coalesce
);

/// lite-alloc 0.1.0's in-place realloc, as `Default` with `realloc` keeps
/// it (and its docs say): the last block carved grows where it is, and
/// shrinks where it is, but is then known by its new size, which ends short
/// of the unused memory: it moves when it grows again.
#[test]
fn a_leaked_block_shrunk_in_place_moves_when_it_grows() {
    #[lite_alloc(memory = arena(64 << 10), realloc)]
    struct A;
    // SAFETY: `A` is this test's alone; every block is freed with the
    // layout it was last given.
    unsafe {
        let p = A.alloc(layout(300, 8));
        let q = A.realloc(p, layout(300, 8), 5_000);
        assert_eq!(q, p, "the last block carved grows in place");
        let r = A.realloc(q, layout(5_000, 8), 2_000);
        assert_eq!(r, q, "and shrinks in place");
        let s = A.realloc(r, layout(2_000, 8), 7_000);
        assert!(!s.is_null());
        assert_ne!(s, r, "shrunk, it no longer ends at the unused memory");
        A.dealloc(s, layout(7_000, 8));
    }
}

/// `growth = 1/4`: every request for memory is at least a quarter of what
/// was obtained before (in pages), and at least what is missing; so memory
/// grows geometrically, in few requests.
#[test]
fn growth_asks_for_a_fraction_of_what_was_obtained() {
    counting_memory!(Counting, 8 << 20);
    #[lite_alloc(memory = Counting, page = 4096, growth = 1/4, large = reuse)]
    struct Growing;
    unsafe {
        // 4 MiB in 1000-byte blocks: page at a time would be a thousand
        // requests.
        for _ in 0..4096 {
            assert!(!Growing.alloc(layout(1000, 8)).is_null());
        }
    }
    let requests = Counting::requests();
    let mut obtained = 0;
    for &bytes in &requests {
        assert!(
            bytes >= (obtained / 4).max(4096) && bytes % 4096 == 0,
            "{requests:?}"
        );
        obtained += bytes;
    }
    assert!(
        requests.len() < 40,
        "{} requests: {requests:?}",
        requests.len()
    );
}

/// When memory cannot give the whole step, growth asks for just what is
/// missing, and still succeeds.
#[test]
fn growth_falls_back_to_what_is_missing() {
    counting_memory!(Counting, 8 << 20);
    #[lite_alloc(memory = Counting, page = 4096, growth = 1/2)]
    struct Growing;
    unsafe {
        assert!(!Growing.alloc(layout(1 << 20, 8)).is_null());
        Counting::refuse_above(64 << 10);
        let block = Growing.alloc(layout(60 << 10, 8));
        assert!(!block.is_null(), "{:?}", Counting::requests());
    }
    let requests = Counting::requests();
    let last = &requests[requests.len() - 2..];
    assert!(last[0] >= 512 << 10 && last[1] == 60 << 10, "{requests:?}");
}

/// Frees a block of `bytes` (kept from the unused memory by a block after
/// it), then checks that a request of 1000 bytes takes its memory, and one
/// of 4000 bytes the rest.
///
/// # Safety
///
/// `heap` is an allocator with `large = coalesce`, of which nothing was
/// allocated before, with room for `bytes` and a little more.
unsafe fn a_far_chunk_serves(heap: &impl GlobalAlloc, bytes: usize) {
    let big = layout(bytes, 8);
    unsafe {
        let block = heap.alloc(big);
        assert!(!block.is_null());
        let _last = heap.alloc(layout(1000, 8)); // keeps it from the unused memory
        heap.dealloc(block, big);
        assert_eq!(
            heap.alloc(layout(1000, 8)),
            block,
            "a free chunk of {bytes} bytes serves it"
        );
        // A chunk of 1000 bytes and a header is 1008 bytes on 32- and
        // 64-bit targets alike.
        let rest = heap.alloc(layout(4000, 8));
        assert_eq!(rest, block.wrapping_add(1008), "and its rest the next");
    }
}

/// The tests of `large = coalesce`, for a configuration given by its
/// arguments: with bins (carved from slabs) and without (every block a
/// chunk).
macro_rules! coalescing {
    ($module:ident, $($args:tt)*) => {
        mod $module {
            use super::*;

        /// `large = coalesce`: freed neighbours merge, so their memory serves a
        /// request of their combined size, and a large free chunk is split to serve
        /// a smaller one, the rest staying free for the next.
        #[test]
        fn coalesced_neighbours_serve_any_size() {
            #[lite_alloc($($args)*, stats, memory = arena(1 << 20))]
            struct Merging;
            unsafe {
                let (a, b) = (layout(1000, 8), layout(3000, 8));
                let first = Merging.alloc(a);
                let second = Merging.alloc(b);
                let _last = Merging.alloc(a); // keeps them from the unused memory
                Merging.dealloc(first, a);
                Merging.dealloc(second, b);
                // Both merged: one request of their size fits where they were.
                let both = Merging.alloc(layout(3900, 8));
                assert_eq!(both, first, "merged neighbours serve a larger request");
                Merging.dealloc(both, layout(3900, 8));
                // Split: a small request takes the front, the next one the rest.
                let small = Merging.alloc(layout(500, 8));
                assert_eq!(small, first);
                let rest = Merging.alloc(layout(2000, 8));
                assert!(
                    rest > small && (rest as usize) < (_last as usize),
                    "the rest of the free chunk serves it"
                );
                let s = Merging::stats();
                assert_eq!(s.leaked, 0);
                assert!(s.large_hits >= 3, "{s:?}");
            }
        }

        /// The last chunk freed joins the unused memory, with its free neighbour.
        #[test]
        fn coalesced_chunks_go_back_to_the_unused_memory() {
            #[lite_alloc($($args)*, stats, memory = arena(1 << 20))]
            struct Merging;
            unsafe {
                let l = layout(1000, 8);
                let a = Merging.alloc(l);
                let b = Merging.alloc(l);
                Merging.dealloc(a, l);
                Merging.dealloc(b, l); // merges with `a`, then with the unused memory
                let s = Merging::stats();
                assert_eq!((s.large_free, s.large_to_top), (0, 1), "{s:?}");
                assert_eq!(Merging.alloc(layout(100_000, 8)), a);
            }
        }

        /// Over-aligned blocks are served from chunks, freed, reallocated, and
        /// their memory reused.
        #[test]
        fn coalesced_over_aligned_blocks_come_and_go() {
            #[lite_alloc($($args)*, realloc, memory = arena(1 << 20))]
            struct Merging;
            unsafe {
                for align in [32usize, 256, 4096] {
                    let l = layout(100, align);
                    let block = Merging.alloc(l);
                    assert!(!block.is_null() && (block as usize).is_multiple_of(align));
                    block.write_bytes(0x5A, 100);
                    let grown = Merging.realloc(block, l, 5000);
                    assert!((grown as usize).is_multiple_of(align));
                    assert!(all_equal(&bytes(grown, 100), 0x5A));
                    Merging.dealloc(grown, layout(5000, align));
                }
                // Everything freed went back: a request of most of the arena fits.
                assert!(!Merging.alloc(layout(900 << 10, 8)).is_null());
            }
        }

        /// A request whose own list holds only smaller chunks takes one from
        /// the next list, not a smaller one and not one from further up.
        #[test]
        fn a_request_its_list_cannot_serve_takes_the_next_list() {
            #[lite_alloc($($args)*, memory = arena(1 << 20))]
            struct Listed;
            // Payloads of chunks of 256, 272 and 320 bytes: 256 and 272 share
            // the list from 256 bytes, 320 starts the next one.
            let chunk = |bytes: usize| layout(bytes - size_of::<usize>(), 8);
            unsafe {
                let low = Listed.alloc(chunk(256));
                let _apart = Listed.alloc(chunk(256));
                let next = Listed.alloc(chunk(320));
                let _last = Listed.alloc(chunk(256)); // keeps them from the unused memory
                Listed.dealloc(low, chunk(256));
                Listed.dealloc(next, chunk(320));
                assert_eq!(Listed.alloc(chunk(272)), next);
                assert_eq!(Listed.alloc(chunk(256)), low);
            }
        }

        /// A request whose list and every list near it are empty takes a
        /// free chunk from however far above, split, before memory not yet
        /// used, in every word of the bitmap that a chunk can reach: on
        /// 32-bit targets, chunks from 4 KiB, 1 MiB and 256 MiB on are in
        /// its second, third and fourth word (on 64-bit ones, chunks from 1
        /// MiB on are in the second word, and the rest need 64 GiB).
        #[test]
        fn a_request_takes_a_free_chunk_from_any_list_above() {
            #[lite_alloc($($args)*, memory = arena(16 << 10))]
            struct Kilobytes;
            #[lite_alloc($($args)*, memory = arena(4 << 20))]
            struct Megabytes;
            #[lite_alloc($($args)*, memory = arena(257 << 20))]
            struct Hundreds;
            unsafe {
                a_far_chunk_serves(&Kilobytes, 8 << 10);
                a_far_chunk_serves(&Megabytes, 2 << 20);
                a_far_chunk_serves(&Hundreds, 256 << 20);
            }
        }

        /// A free chunk that a freed neighbour merges into heads its list
        /// afterwards, as every chunk freed last does, also when it stays in
        /// the same list: the next request of that list takes it.
        #[test]
        fn a_chunk_grown_by_a_merge_heads_its_list() {
            #[lite_alloc($($args)*, memory = arena(1 << 20))]
            struct Merging;
            // Chunks of 1040, 1056 and 208 bytes on 32- and 64-bit targets;
            // the first two, and the first with the third (1248), share the
            // list from 1024 bytes.
            let (a, b, c) = (layout(1032, 8), layout(1048, 8), layout(200, 8));
            unsafe {
                let first = Merging.alloc(a);
                let after = Merging.alloc(c);
                let _apart = Merging.alloc(c);
                let other = Merging.alloc(b);
                let _last = Merging.alloc(c); // keeps them from the unused memory
                Merging.dealloc(first, a);
                Merging.dealloc(other, b); // heads the list, before `first`
                Merging.dealloc(after, c); // merges into `first`
                assert_eq!(Merging.alloc(a), first, "the merged chunk heads its list");
            }
        }

        /// In-place realloc of a chunk: shrinking frees its tail, growing takes the
        /// free chunk after it.
        #[test]
        fn coalesced_chunks_resize_in_place() {
            #[lite_alloc($($args)*, realloc, memory = arena(1 << 20))]
            struct Merging;
            unsafe {
                let (a, b) = (layout(4000, 8), layout(2000, 8));
                let block = Merging.alloc(a);
                let next = Merging.alloc(b);
                let _last = Merging.alloc(b);
                block.write_bytes(7, 4000);
                // Shrink: the tail is freed and serves the next request.
                let shrunk = Merging.realloc(block, a, 1000);
                assert_eq!(shrunk, block);
                let tail = Merging.alloc(layout(2500, 8));
                assert!(tail > block && tail < next, "the freed tail serves it");
                Merging.dealloc(tail, layout(2500, 8));
                // Grow: into the free space after it, then into `next` once freed.
                let grown = Merging.realloc(block, layout(1000, 8), 3500);
                assert_eq!(grown, block);
                Merging.dealloc(next, b);
                let grown = Merging.realloc(grown, layout(3500, 8), 5500);
                assert_eq!(grown, block, "grew into the freed neighbour");
                assert!(all_equal(&bytes(grown, 1000), 7));
            }
        }

        /// A chunk grows in place into the free chunk after it when the two
        /// make exactly the chunk it needs (found missing by mutation
        /// testing).
        #[test]
        fn a_chunk_grows_into_a_free_neighbour_of_exactly_the_size_missing() {
            #[lite_alloc($($args)*, realloc, memory = arena(1 << 20))]
            struct Merging;
            const WORD: usize = size_of::<usize>();
            // SAFETY: `Merging` is this test's alone; blocks are freed with
            // the layout they were last given.
            unsafe {
                let l = layout(1000, 8);
                let (a, b, last) = (Merging.alloc(l), Merging.alloc(l), Merging.alloc(l));
                assert!(!a.is_null() && !b.is_null() && !last.is_null());
                Merging.dealloc(b, l);
                // Two chunks of 1008 bytes: one of 2016, less its header.
                let both = 2016 - WORD;
                let grown = Merging.realloc(a, l, both);
                Merging::verify();
                assert_eq!(grown, a, "grown in place into its free neighbour");
                Merging.dealloc(grown, layout(both, 8));
                Merging.dealloc(last, l);
            }
            Merging::verify();
        }
        }
    };
}

coalescing!(with_bins, large = coalesce);
coalescing!(no_bins, bins = [], large = coalesce);

/// With no bins, small blocks are chunks too: freed neighbours merge and
/// serve a larger request, a larger free chunk is split for a smaller one,
/// and a request takes its size plus a header word, in steps of two words.
#[test]
fn small_chunks_merge_and_split() {
    #[lite_alloc(bins = [], large = coalesce, stats, memory = arena(1 << 20))]
    struct Chunks;
    const WORD: usize = size_of::<usize>();
    unsafe {
        let l = layout(3 * WORD, 8);
        let a = Chunks.alloc(l);
        let b = Chunks.alloc(l);
        let _keep = Chunks.alloc(l);
        // Each chunk holds three words and a header: four words.
        assert_eq!(b as usize - a as usize, 4 * WORD);
        assert_eq!(Chunks::stats().in_use_capacity, 3 * 4 * WORD);
        Chunks.dealloc(a, l);
        Chunks.dealloc(b, l);
        // Merged: eight words, enough for seven and a header.
        let both = Chunks.alloc(layout(7 * WORD, 8));
        assert_eq!(both, a, "merged neighbours serve a larger request");
        Chunks.dealloc(both, layout(7 * WORD, 8));
        // Split: one word (a four-word chunk) at the front, the rest after.
        let one = Chunks.alloc(layout(1, 1));
        let rest = Chunks.alloc(layout(3 * WORD, 8));
        assert_eq!((one, rest), (a, b), "the free chunk split in two");
        let s = Chunks::stats();
        assert!(s.large_hits >= 3, "{s:?}");
        assert!(s.bins().is_empty());
    }
}

/// A request takes the first free chunk that fits from the lists above its
/// own: a freed chunk of 128 bytes (with its header, in a list above the
/// one for 100) serves a request of 100, ahead of a smaller free chunk.
#[test]
fn a_fitting_chunk_above_the_requests_list_is_reused() {
    #[lite_alloc(bins = [], large = coalesce, stats, memory = arena(1 << 20))]
    struct Fitting;
    unsafe {
        let a = Fitting.alloc(layout(128, 8));
        let _k1 = Fitting.alloc(layout(32, 8));
        let b = Fitting.alloc(layout(32, 8));
        let _k2 = Fitting.alloc(layout(32, 8));
        assert!(!a.is_null() && !b.is_null());
        Fitting.dealloc(a, layout(128, 8));
        Fitting.dealloc(b, layout(32, 8));
        assert_eq!(Fitting.alloc(layout(100, 8)), a);
        Fitting::verify();
    }
}

/// A request whose own list has no chunk that fits searches the lists
/// above it even when every word of the lists' bitmap has a bit set (built
/// for speed, a heap with no free chunk at all skips the search, from a
/// look at each word). On wasm32 the bitmap is two 64-bit words, the
/// second from the lists of chunks of 1 MiB: with a free chunk of 2 MiB
/// and a small one, a request of 1000 bytes is cut from the large chunk,
/// not from the unused memory. (Elsewhere the bitmap has more words than
/// the two chunks fill, and the test checks the placement alone.)
#[test]
fn a_request_searches_the_lists_while_every_bitmap_word_has_a_chunk() {
    #[lite_alloc(bins = [], large = coalesce, memory = arena(4 << 20))]
    struct Mapped;
    unsafe {
        let small = Mapped.alloc(layout(32, 8));
        let _k1 = Mapped.alloc(layout(32, 8));
        let large = Mapped.alloc(layout(2 << 20, 8));
        let k2 = Mapped.alloc(layout(32, 8));
        assert!(!small.is_null() && !large.is_null() && !k2.is_null());
        Mapped.dealloc(small, layout(32, 8));
        Mapped.dealloc(large, layout(2 << 20, 8));
        assert_eq!(Mapped.alloc(layout(1000, 8)), large);
        Mapped::verify();
    }
}

/// An over-aligned block whose chunk's payload is already aligned starts
/// `align` bytes past the payload, after a marker that leads back to it:
/// the chunk's `align` extra bytes lie before the block, as when the
/// payload is not aligned, and the block ends inside the chunk.
#[test]
fn an_over_aligned_block_at_an_aligned_payload_starts_past_it() {
    #[lite_alloc(bins = [], large = coalesce, memory = arena(1 << 20))]
    struct Aligned;
    let w = size_of::<usize>();
    unsafe {
        // Where the unused memory begins: a block carved there and freed
        // goes back to it.
        let probe = Aligned.alloc(layout(8, 8));
        assert!(!probe.is_null());
        Aligned.dealloc(probe, layout(8, 8));
        // A chunk there (payloads are multiples of the two-word grain)
        // after which the next chunk's payload is a multiple of 64: of
        // `c` bytes, for a request of `c - w`.
        let mut c = (64 - probe as usize % 64) % 64;
        if c < 4 * w {
            c += 64;
        }
        let before = Aligned.alloc(layout(c - w, 8));
        assert_eq!(before, probe);
        let block = Aligned.alloc(layout(8, 64));
        let payload = probe as usize + c;
        assert_eq!(block as usize, payload + 64);
        // The marker: the distance back to the payload, and bit 2.
        assert_eq!(block.sub(w).cast::<usize>().read(), 64 | 4);
        // The chunk (its header a word before the payload) is `align`
        // bytes longer than an 8-byte request's, the smallest chunk (four
        // words): the next chunk's payload follows it.
        let after = Aligned.alloc(layout(8, 8));
        assert_eq!(after as usize, payload - w + 64 + 4 * w + w);
        Aligned.dealloc(after, layout(8, 8));
        Aligned.dealloc(block, layout(8, 64));
        Aligned.dealloc(before, layout(c - w, 8));
        Aligned::verify();
    }
}

/// A bin's blocks are carved at the largest power of two dividing its
/// size, up to 16: a block of 64 bytes after one of 24 starts 32 bytes
/// after it (24, padded to 16), not at the next multiple of 64.
#[test]
fn bins_carve_at_most_sixteen_aligned() {
    #[lite_alloc(bins = [24, 64], stats, memory = arena(1 << 20))]
    struct Carved;
    unsafe {
        let a = Carved.alloc(layout(24, 8));
        let b = Carved.alloc(layout(64, 8));
        assert!(!a.is_null() && !b.is_null());
        assert_eq!(b as usize - a as usize, 32);
        assert_eq!(Carved::stats().bumped, 24 + 8 + 64);
        Carved.dealloc(a, layout(24, 8));
        Carved.dealloc(b, layout(64, 8));
    }
}

/// Shrunk in place, a chunk frees its tail when the tail makes a chunk,
/// exactly the smallest one too, where the next request of that size finds
/// it.
#[test]
fn a_chunk_shrunk_in_place_frees_a_tail_of_the_smallest_chunk() {
    #[lite_alloc(bins = [], large = coalesce, realloc, memory = arena(64 << 10))]
    struct Shrunk;
    let w = size_of::<usize>();
    let min_chunk = 4 * w;
    // The chunk for a request of `n` bytes: with its header, rounded up to
    // the grain (two words), at least four words.
    let chunk_for = |n: usize| ((n + w + 2 * w - 1) & !(2 * w - 1)).max(min_chunk);
    unsafe {
        let a = Shrunk.alloc(layout(1000, 8));
        let guard = Shrunk.alloc(layout(1000, 8));
        assert!(!a.is_null() && !guard.is_null());
        // Shrunk by exactly the smallest chunk.
        let kept = chunk_for(1000) - min_chunk - w;
        assert_eq!(chunk_for(kept), chunk_for(1000) - min_chunk);
        let shrunk = Shrunk.realloc(a, layout(1000, 8), kept);
        assert_eq!(shrunk, a, "a chunk shrinks in place");
        let tail = Shrunk.alloc(layout(min_chunk - w, 8));
        assert_eq!(
            tail.addr(),
            a.addr() + chunk_for(kept),
            "the tail, the smallest chunk, was freed and is reused"
        );
        Shrunk.dealloc(tail, layout(min_chunk - w, 8));
        Shrunk.dealloc(shrunk, layout(kept, 8));
        Shrunk.dealloc(guard, layout(1000, 8));
        Shrunk::verify();
    }
}

/// With `large = reuse` and `realloc`, the last block carved grows where it
/// is into a larger bin or class: the bytes after it are carved from the
/// unused memory.
#[test]
fn a_reused_block_grows_in_place_at_the_top() {
    #[lite_alloc(large = reuse, realloc, memory = arena(64 << 10))]
    struct AtTop;
    unsafe {
        let p = AtTop.alloc(layout(20, 8)); // bin 32, the last block carved
        assert!(!p.is_null());
        let q = AtTop.realloc(p, layout(20, 8), 100); // bin 128
        assert_eq!(q, p, "into a larger bin");
        let r = AtTop.realloc(q, layout(100, 8), 1000); // class 1024
        assert_eq!(r, q, "into a large class");
        let s = AtTop.realloc(r, layout(1000, 8), 3000); // class 3072
        assert_eq!(s, r, "into a larger class");
        AtTop.dealloc(s, layout(3000, 8));
    }
}
