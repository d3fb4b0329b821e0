//! The checked mode at its edges, from an adversarial review: misuses
//! found while memory runs out, writes through stale pointers after the
//! quarantine, double frees after it, the spares of a heap that never
//! reuses large blocks, requests near `isize::MAX`, a hook that re-enters.
//! Each test says which claim it checks.
//!
//! CI runs a subset under Miri on i686, chosen by name (`scripts/test.sh`):
//! the tests that fill memory until it runs out, clear tens of kilobytes
//! or grow the table under a re-entering hook (over two minutes there) are
//! named outside it (as is the stale link into a gap between claimed
//! regions, which reads the whole gap back), and run natively on the host
//! and on i686.
//!
//! The misuses are made on memory of the types' own arenas, as in
//! `tests/checked.rs`, or on memory the tests hand over (claimed regions,
//! banks of a memory source of their own).

use std::alloc::{GlobalAlloc, Layout};
use std::cell::RefCell;

use lite_alloc::check::{self, Kind, Misuse, QUARANTINE_BLOCKS};
use lite_alloc::lite_alloc;
use lite_alloc::stats::Stats;

use lite_alloc_tests::misuses::{record, serial, take};
use lite_alloc_tests::{all_equal, count_other};

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// Allocates blocks of `layout` from `a` until it returns null: the
/// blocks, live, for the caller to free with `layout`.
fn until_null(a: &impl GlobalAlloc, layout: Layout) -> Vec<*mut u8> {
    let mut blocks = Vec::new();
    loop {
        // SAFETY: a valid layout, not zero-sized (every caller's).
        let block = unsafe { a.alloc(layout) };
        if block.is_null() {
            return blocks;
        }
        blocks.push(block);
    }
}

/// Bins only, 1 MiB: `lite_alloc::Default`'s line.
#[lite_alloc(check, memory = arena(1 << 20))]
struct Flushed;

/// "Each misuse is reported once" (docs/checked.md, "When a hook
/// returns"): when memory runs out, `flush` releases every quarantined
/// block, counts every use after free it finds, but returns (and so
/// reports) only the first. Two blocks written after they were freed: the
/// hook hears of one, `checks().misuses` counts two.
#[test]
fn flush_reports_every_use_after_free() {
    let _serial = serial();
    let before = Flushed::checks().misuses;
    // SAFETY: live blocks of the arena; the writes after free are the
    // misuses under test, on memory of the arena.
    unsafe {
        let a = Flushed.alloc(layout(24));
        let b = Flushed.alloc(layout(24));
        assert!(!a.is_null() && !b.is_null());
        Flushed.dealloc(a, layout(24));
        Flushed.dealloc(b, layout(24));
        a.write(1);
        b.write(2);
        // More than the arena holds: the quarantine is flushed first.
        let huge = Flushed.alloc(layout(2 << 20));
        assert!(huge.is_null());
    }
    let seen = take();
    let counted = Flushed::checks().misuses - before;
    assert_eq!(counted, 2, "both writes after free were found");
    assert_eq!(
        seen.len(),
        counted,
        "every misuse found is reported to the hook: {seen:#?}"
    );
}

/// Bins only, a second one (the states of the tests stay apart).
#[lite_alloc(check, memory = arena(4 << 20))]
struct Released;

/// Pushes every freed block out of `heap`'s quarantine (a checked type):
/// as many blocks of 40 bytes, allocated and freed.
fn push_out(heap: &impl GlobalAlloc) {
    let blocks: Vec<_> = (0..QUARANTINE_BLOCKS)
        // SAFETY: a valid layout.
        .map(|_| unsafe { heap.alloc(layout(40)) })
        .collect();
    for block in blocks {
        assert!(!block.is_null());
        // SAFETY: live blocks with their layout.
        unsafe { heap.dealloc(block, layout(40)) };
    }
}

/// A double free after the block left the quarantine: the table keeps no
/// history of released blocks, so it is a pointer no block starts at, and
/// the message says it may have been freed already (it said "outside every
/// block the allocator holds", which was wrong: it is in the heap).
#[test]
fn double_free_after_release_is_reported_as_untracked() {
    let _serial = serial();
    // SAFETY: a live block, freed twice: the misuse under test (the
    // second free is reported and ignored).
    unsafe {
        let block = Released.alloc(layout(24));
        assert!(!block.is_null());
        Released.dealloc(block, layout(24));
        push_out(&Released);
        assert!(take().is_empty());
        Released.dealloc(block, layout(24));
    }
    let seen = take();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].kind, Kind::ForeignPointer, "{}", seen[0]);
    assert!(
        seen[0]
            .to_string()
            .ends_with("or freed and already released from the quarantine)"),
        "{}",
        seen[0]
    );
    Released::verify();
}

/// Bins only, a third one.
#[lite_alloc(check, memory = arena(4 << 20))]
struct Stale;

/// A live block of `size` bytes, and a stale write that links it from the
/// heap's free list: another block of `size` bytes is freed, leaves the
/// quarantine for the list (its first word is its link), and its old
/// owner writes the live block's address there. The live block's first
/// word is null (its owner's own, legitimate write), so the list ends
/// after it. Returns the stale block and the live one; nothing reported.
///
/// # Safety
///
/// `heap` is a checked type whose blocks of 40 bytes lie in bins; the
/// caller holds `serial()`.
unsafe fn stale_link(heap: &impl GlobalAlloc, size: usize) -> (*mut u8, *mut u8) {
    // SAFETY: live blocks; the stale write is the misuse under test, on
    // the heap's memory.
    unsafe {
        let victim = heap.alloc(layout(size));
        let live = heap.alloc(layout(size));
        assert!(!victim.is_null() && !live.is_null());
        live.cast::<usize>().write(0);
        heap.dealloc(victim, layout(size));
        push_out(heap);
        assert!(take().is_empty());
        victim.cast::<*mut u8>().write(live);
        (victim, live)
    }
}

/// Makes `heap` hand out a live block: a write through a stale pointer,
/// after the block left the quarantine, lands in the heap's free list (the
/// block's first word is its link). Returns the stale block, the live one
/// and the block handed out first, and checks the report: a use after free
/// naming the live block. The request that found it is served all the
/// same, from memory the heap's lists never held.
///
/// # Safety
///
/// `heap` is a checked type whose blocks of 24 and 40 bytes lie in bins;
/// the caller holds `serial()`.
unsafe fn poison(heap: &impl GlobalAlloc) -> (*mut u8, *mut u8, *mut u8) {
    // SAFETY: the caller's promise; then live blocks with their layouts.
    unsafe {
        let (victim, live) = stale_link(heap, 24);
        let first = heap.alloc(layout(24));
        let second = heap.alloc(layout(24));
        let seen = take();
        assert!(
            second != live,
            "alloc handed out the live block {live:p} again (first {first:p})"
        );
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
        assert_eq!(seen[0].block.map(|b| b.address), Some(live.addr()));
        assert!(
            seen[0].to_string().contains("again while it is live"),
            "{}",
            seen[0]
        );
        assert!(!second.is_null());
        heap.dealloc(second, layout(24));
        (victim, live, first)
    }
}

/// "they never forgive a corrupted heap": a stale write that makes the
/// heap hand out a block still live, as a fresh one, would give it two
/// owners. The layer knows every live block (its table), so it is caught
/// on the `alloc` where it happens; from then on the heap's lists are not
/// used, and the layer goes on checking every call.
#[test]
fn a_live_block_is_never_handed_out_twice() {
    let _serial = serial();
    // SAFETY: live blocks with their layouts, but for the misuses under
    // test.
    unsafe {
        let (victim, live, first) = poison(&Stale);
        let (small, large) = (Stale.alloc(layout(24)), Stale.alloc_zeroed(layout(4096)));
        for (block, size) in [(small, 24), (large, 4096)] {
            assert!(!block.is_null());
            for other in [victim, live, first] {
                assert!(
                    block.addr() >= other.addr() + 24 || block.addr() + size <= other.addr(),
                    "{block:p} overlaps {other:p}"
                );
            }
        }
        assert!(all_equal(std::slice::from_raw_parts(large, 4096), 0));
        let moved = Stale.realloc(small, layout(24), 100);
        assert!(!moved.is_null());
        Stale::verify();
        // Every call is checked as ever (none gives memory back to the
        // heap): a wrong layout, a double free.
        Stale.dealloc(first, layout(25));
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::WrongLayout, "{}", seen[0]);
        Stale.dealloc(live, layout(24));
        Stale.dealloc(first, layout(24));
        Stale.dealloc(moved, layout(100));
        Stale.dealloc(large, layout(4096));
        assert!(take().is_empty());
        Stale.dealloc(live, layout(24));
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::DoubleFree, "{}", seen[0]);
        // Through the quarantine and out of it (kept out of the heap).
        for _ in 0..2 * QUARANTINE_BLOCKS {
            let block = Stale.alloc(layout(24));
            assert!(!block.is_null());
            Stale.dealloc(block, layout(24));
        }
        assert_eq!(Stale::checks().live_blocks, 0);
        Stale::verify();
        assert!(take().is_empty());
    }
}

/// Bins only, with the counters.
#[lite_alloc(check, stats, memory = arena(4 << 20))]
struct StaleStats;

/// A poisoned heap's counters stay sound: the bin whose list was written
/// through a stale pointer, which handed out one block more than was
/// freed into it, does not count a free block below zero; and what is kept
/// out of the heap from then on is counted as leaked, each block with its
/// canary, as it leaves the quarantine.
#[test]
fn a_poisoned_heap_counts_what_it_keeps_out() {
    let _serial = serial();
    // SAFETY: the caller's promise for `poison`; then live blocks with
    // their layouts.
    unsafe {
        poison(&StaleStats);
        let stats = StaleStats::stats();
        let bin = stats.bin(32).expect("a bin of 32 bytes");
        assert!(bin.free <= 1, "{bin:?}");
        let (leaked, queued) = (stats.leaked, StaleStats::checks().quarantined_bytes);
        push_out(&StaleStats);
        let released = queued + QUARANTINE_BLOCKS * (40 + check::CANARY)
            - StaleStats::checks().quarantined_bytes;
        assert!(released > 0);
        assert_eq!(StaleStats::stats().leaked - leaked, released);
        StaleStats::verify();
    }
    assert!(take().is_empty());
}

/// Bins in front of chunks, on memory the program hands over, which is not
/// zeroed.
#[lite_alloc(bins = [16, 32, 64, 128], large = coalesce, realloc, check, memory = claimed)]
struct StaleClaimed;

/// On a poisoned heap whose memory is not zeroed, `alloc_zeroed` still
/// clears what it hands out.
#[test]
fn a_poisoned_heap_zeroes_what_memory_does_not() {
    let _serial = serial();
    const BYTES: usize = 1 << 20;
    let region: &'static mut [u8] = Box::leak(vec![0xAA; BYTES].into_boxed_slice());
    // SAFETY: a region of its own, used by nothing else from now on; then
    // live blocks with their layouts, but for the misuse under test.
    unsafe {
        StaleClaimed.claim(region.as_mut_ptr(), BYTES);
        poison(&StaleClaimed);
        for size in [24, 100, 4096, 70_000] {
            let block = StaleClaimed.alloc_zeroed(layout(size));
            assert!(!block.is_null());
            let dirty = count_other(std::slice::from_raw_parts(block, size), 0);
            assert_eq!(dirty, 0, "alloc_zeroed({size}) on a poisoned heap");
            block.write_bytes(0x55, size);
            StaleClaimed.dealloc(block, layout(size));
        }
        StaleClaimed::verify();
    }
    assert!(take().is_empty());
}

/// Bins in front of chunks, on two regions the program hands over.
#[lite_alloc(large = coalesce, check, memory = claimed)]
struct StaleTwoRegions;

/// A poisoned heap carves whole grains at the largest alignment, whatever
/// the request's: `top` stays aligned, and the fence that closes a region
/// when the next one opens is written aligned (Miri checks the write).
#[test]
fn a_poisoned_heap_keeps_its_top_aligned() {
    let _serial = serial();
    let banks: [&'static mut [u8]; 2] =
        [(); 2].map(|()| Box::leak(vec![0u8; 64 << 10].into_boxed_slice()));
    // SAFETY: regions of their own, used by nothing else from now on; then
    // live blocks with their layouts, but for the misuse under test.
    unsafe {
        for bank in banks {
            StaleTwoRegions.claim(bank.as_mut_ptr(), bank.len());
        }
        poison(&StaleTwoRegions);
        let odd = StaleTwoRegions.alloc(Layout::from_size_align(1, 1).unwrap());
        assert!(!odd.is_null());
        assert_eq!(odd.addr() % 16, 0, "{odd:p}");
        // Too large for what is left of the first region: the second opens.
        let next = StaleTwoRegions.alloc(layout(60 << 10));
        assert!(!next.is_null());
        StaleTwoRegions::verify();
    }
    assert!(take().is_empty());
}

/// Large blocks reused in size classes.
#[lite_alloc(check, large = reuse, memory = arena(4 << 20))]
struct StaleTable;

/// The checked layer's table grows in a block of the heap: a stale write
/// that makes the heap hand out a live block for it is caught as for any
/// other request, before a byte of it is written.
#[test]
fn the_table_never_grows_into_a_live_block() {
    let _serial = serial();
    // The size class of the table's block when it grows to 2048 slots of
    // three words (4096 on 32-bit targets).
    const SIZE: usize = 49152 - check::CANARY;
    // SAFETY: live blocks with their layouts, but for the misuse under
    // test.
    unsafe {
        let (victim, live) = stale_link(&StaleTable, SIZE);
        // Past its first word, the live block's owner's bytes.
        live.add(size_of::<usize>())
            .write_bytes(0x5A, SIZE - size_of::<usize>());
        let again = StaleTable.alloc(layout(SIZE));
        assert_eq!(again, victim);
        let many: Vec<_> = (0..1500).map(|_| StaleTable.alloc(layout(40))).collect();
        assert!(many.iter().all(|block| !block.is_null()));
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
        assert_eq!(seen[0].block.map(|b| b.address), Some(live.addr()));
        let changed = count_other(std::slice::from_raw_parts(live.add(8), SIZE - 8), 0x5A);
        assert_eq!(
            changed, 0,
            "the table was written into the live block {live:p}"
        );
        StaleTable::verify();
        for block in many {
            StaleTable.dealloc(block, layout(40));
        }
        StaleTable.dealloc(again, layout(SIZE));
        StaleTable.dealloc(live, layout(SIZE));
        StaleTable::verify();
    }
    assert!(take().is_empty());
}

/// In-place realloc, large blocks reused.
#[lite_alloc(check, large = reuse, realloc, memory = arena(1 << 20))]
struct ReuseHuge;

/// In-place realloc, bins in front of chunks.
#[lite_alloc(bins = [16, 32, 64, 128, 256], large = coalesce, realloc, check, memory = arena(1 << 20))]
struct CoalesceHuge;

/// In-place realloc, no bins.
#[lite_alloc(bins = [], large = coalesce, realloc, check, memory = arena(1 << 20))]
struct NoBinsHuge;

/// Bins only with in-place realloc (`Default` with the crate feature
/// `realloc`).
#[lite_alloc(check, realloc, memory = arena(1 << 20))]
struct LeakHuge;

/// Out of memory is null, never a panic, for every size a `Layout` allows
/// (32-bit targets: run with `--target i686-unknown-linux-gnu`): `alloc`,
/// `alloc_zeroed` and `realloc` near `isize::MAX`, where the canary
/// pushes the size over.
fn huge<A: GlobalAlloc>(a: &A, verify: fn()) {
    let max = isize::MAX as usize;
    for size in [
        max,
        max - 1,
        max - 7,
        max - 8,
        max - 9,
        max - 15,
        max - 16,
        max - 4095,
        max / 2 + 1,
        max / 2,
        usize::MAX / 4,
    ] {
        for align in [1, 8, 16, 4096] {
            let Ok(layout) = Layout::from_size_align(size, align) else {
                continue;
            };
            // SAFETY: valid layouts, not zero-sized; the blocks are freed.
            unsafe {
                assert!(a.alloc(layout).is_null(), "alloc {layout:?}");
                assert!(a.alloc_zeroed(layout).is_null(), "alloc_zeroed {layout:?}");
                let small = Layout::from_size_align(24, align).unwrap();
                let block = a.alloc(small);
                assert!(!block.is_null());
                let grown = a.realloc(block, small, size);
                assert!(grown.is_null(), "realloc to {size} ({align})");
                a.dealloc(block, small);
            }
        }
    }
    verify();
    assert!(take().is_empty());
}

#[test]
fn huge_requests_are_null() {
    let _serial = serial();
    huge(&ReuseHuge, ReuseHuge::verify);
    huge(&CoalesceHuge, CoalesceHuge::verify);
    huge(&NoBinsHuge, NoBinsHuge::verify);
    huge(&LeakHuge, LeakHuge::verify);
    huge(&Flushed, Flushed::verify);
}

/// `lite_alloc::Default`'s design, checked, in a 1 MiB arena.
#[lite_alloc(check, memory = arena(1 << 20))]
struct DefaultChecked;

/// The same, unchecked.
#[lite_alloc(memory = arena(1 << 20))]
struct DefaultPlain;

/// "in a memory that cannot grow, a checked type runs out sooner only by
/// the share the table and the canaries take" (docs/checked.md). With
/// `Default`'s bins, the canary makes a request of 121 to 128 bytes (a
/// `Vec<u8>` doubling through capacity 128, a `String::with_capacity(128)`)
/// a large block, which is never reused: a loop that allocates and frees
/// one such block runs forever unchecked and runs out of memory checked,
/// by far more than the canaries' share.
#[test]
fn a_loop_of_128_byte_blocks_does_not_run_out() {
    let _serial = serial();
    let layout = layout(128);
    for round in 0..20_000 {
        // SAFETY: a valid layout; each block is freed at once.
        unsafe {
            let plain = DefaultPlain.alloc(layout);
            assert!(!plain.is_null(), "unchecked, round {round}");
            DefaultPlain.dealloc(plain, layout);
            let checked = DefaultChecked.alloc(layout);
            assert!(
                !checked.is_null(),
                "checked: out of memory in round {round} of alloc(128)/dealloc(128), \
                 where the unchecked type holds one block"
            );
            DefaultChecked.dealloc(checked, layout);
        }
    }
    assert!(take().is_empty());
}

/// Small arenas: memory runs out (the table cannot grow), then recovers.
#[lite_alloc(check, memory = arena(65536))]
struct SmallLeak;
#[lite_alloc(check, large = reuse, realloc, memory = arena(65536))]
struct SmallReuse;
#[lite_alloc(bins = [], large = coalesce, realloc, check, memory = arena(65536))]
struct SmallChunks;

/// Fills the arena with blocks of `size` until null, frees them all (in
/// an interleaved order), and does it again: the second fill holds as many
/// blocks as the first (the quarantine is flushed, the table kept), no
/// misuse is reported, and the invariants hold.
fn oom_then_recover<A: GlobalAlloc>(a: &A, verify: fn(), size: usize, align: usize) {
    let layout = Layout::from_size_align(size, align).unwrap();
    let fill = || {
        let mut blocks = Vec::new();
        loop {
            // SAFETY: a valid layout.
            let block = unsafe { a.alloc(layout) };
            if block.is_null() {
                break blocks;
            }
            // SAFETY: the block holds `size` bytes.
            unsafe { block.write_bytes(0x5A, size) };
            blocks.push(block);
        }
    };
    let mut counts = Vec::new();
    for _ in 0..3 {
        let blocks = fill();
        counts.push(blocks.len());
        verify();
        let (even, odd): (Vec<_>, Vec<_>) =
            blocks.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        for (_, &block) in even.into_iter().chain(odd) {
            // SAFETY: live blocks with their layout.
            unsafe { a.dealloc(block, layout) };
        }
        verify();
    }
    let seen = take();
    assert!(seen.is_empty(), "{seen:#?}");
    assert!(
        counts[0] > 0,
        "{} size {size} align {align}: none fits",
        std::any::type_name::<A>()
    );
    assert!(
        counts[1] >= counts[0] && counts[2] >= counts[0],
        "{}: blocks of {size} (align {align}) before running out, fill after fill: {counts:?}",
        std::any::type_name::<A>()
    );
}

#[test]
fn memory_runs_out_then_recovers() {
    let _serial = serial();
    for (size, align) in [(8, 8), (24, 8), (100, 4), (1000, 8), (5000, 16), (1, 4096)] {
        // Bins never give memory back to other sizes: each size starts
        // from an empty arena (and `reset` is checked on the way).
        // SAFETY: no block of these types is live.
        unsafe {
            SmallReuse::reset();
            SmallChunks::reset();
            SmallLeak::reset();
        }
        oom_then_recover(&SmallReuse, SmallReuse::verify, size, align);
        oom_then_recover(&SmallChunks, SmallChunks::verify, size, align);
        if size <= 100 && align <= 16 {
            // Bins only: large blocks are never reused, by design.
            oom_then_recover(&SmallLeak, SmallLeak::verify, size, align);
        }
    }
}

/// Many live blocks: the table grows (doubling) and shrinks its clusters
/// by backward shifts; every block is found, in any order of frees.
#[lite_alloc(check, large = reuse, memory = arena(16 << 20))]
struct Many;

#[test]
fn table_holds_many_blocks() {
    let _serial = serial();
    let mut blocks = Vec::new();
    let mut state = 0x1234_5678_u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    for round in 0..4 {
        while blocks.len() < 6000 {
            let size = 1 + next() % 300;
            let layout = Layout::from_size_align(size, 1 << (next() % 5)).unwrap();
            // SAFETY: a valid layout.
            let block = unsafe { Many.alloc(layout) };
            assert!(!block.is_null());
            blocks.push((block, layout));
        }
        // Free a random two thirds.
        let mut kept = Vec::new();
        for (block, layout) in blocks.drain(..) {
            if next() % 3 == 0 {
                kept.push((block, layout));
            } else {
                // SAFETY: live blocks with their layouts.
                unsafe { Many.dealloc(block, layout) };
            }
        }
        blocks = kept;
        Many::verify();
        let seen = take();
        assert!(seen.is_empty(), "round {round}: {seen:#?}");
    }
    for (block, layout) in blocks {
        // SAFETY: as above.
        unsafe { Many.dealloc(block, layout) };
    }
    Many::verify();
    assert!(take().is_empty());
}

/// In-place realloc (grown at the top, shrunk within its class or chunk),
/// then a write of exactly one byte past the new size: caught at the
/// `dealloc`, and nothing reported before it.
fn in_place_then_overrun<A: GlobalAlloc>(a: &A, verify: fn()) {
    for (from, to) in [
        (3000, 2990),
        (3000, 3100),
        (3000, 6000),
        (24, 20),
        (24, 40),
        (100, 10),
        (10, 100),
        (200, 130),
        (5000, 100),
    ] {
        let old = layout(from);
        // SAFETY: valid layouts; the one-byte overrun is the misuse under
        // test, on memory of the arena (the canary's first byte).
        unsafe {
            let block = a.alloc(old);
            assert!(!block.is_null());
            block.write_bytes(0x11, from);
            let moved = a.realloc(block, old, to);
            assert!(!moved.is_null(), "{from} -> {to}");
            assert!(
                all_equal(std::slice::from_raw_parts(moved, from.min(to)), 0x11),
                "{from} -> {to}: the bytes were kept"
            );
            moved.write_bytes(0x22, to);
            verify();
            let seen = take();
            assert!(seen.is_empty(), "{from} -> {to}: {seen:#?}");
            let saved = moved.add(to).replace(0x00);
            a.dealloc(moved, layout(to));
            let seen = take();
            assert!(
                seen.len() == 1 && seen[0].kind == Kind::Overrun && seen[0].offset == Some(to),
                "{} {from} -> {to} (in place: {}): a write of one byte past the new size: {seen:#?}",
                std::any::type_name::<A>(),
                moved == block
            );
            moved.add(to).write(saved);
            a.dealloc(moved, layout(to));
            assert!(take().is_empty());
        }
    }
    verify();
}

#[test]
fn in_place_realloc_keeps_the_canary() {
    let _serial = serial();
    in_place_then_overrun(&ReuseHuge, ReuseHuge::verify);
    in_place_then_overrun(&CoalesceHuge, CoalesceHuge::verify);
    in_place_then_overrun(&NoBinsHuge, NoBinsHuge::verify);
    in_place_then_overrun(&LeakHuge, LeakHuge::verify);
}

/// The type the hook uses.
#[lite_alloc(check, large = reuse, realloc, memory = arena(1 << 20))]
struct Reentered;

thread_local! {
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A hook that records, allocates and frees from the allocator that called
/// it, and (once) misuses it itself.
fn reentering(misuse: &Misuse) {
    record(misuse);
    let depth = DEPTH.with(|d| d.replace(d.get() + 1));
    // SAFETY: a valid layout; the nested double free is a misuse, reported
    // and ignored.
    unsafe {
        let l = layout(48);
        let block = Reentered.alloc(l);
        assert!(!block.is_null());
        block.write_bytes(0x33, 48);
        let grown = Reentered.realloc(block, l, 4000);
        assert!(!grown.is_null());
        Reentered.dealloc(grown, layout(4000));
        if depth == 0 {
            Reentered.dealloc(grown, layout(4000));
        }
    }
    Reentered::verify();
    DEPTH.with(|d| d.set(depth));
}

#[test]
fn a_hook_may_allocate_and_misuse() {
    let _serial = serial();
    check::set_hook(reentering);
    let before = Reentered::checks();
    // SAFETY: the double free is the misuse under test.
    unsafe {
        let l = layout(24);
        let block = Reentered.alloc(l);
        Reentered.dealloc(block, l);
        Reentered.dealloc(block, l);
    }
    check::set_hook(record);
    let seen = take();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert!(seen.iter().all(|m| m.kind == Kind::DoubleFree));
    Reentered::verify();
    let after = Reentered::checks();
    assert_eq!(after.live_blocks, before.live_blocks);
    assert_eq!(after.misuses, before.misuses + 2);
    assert!(take().is_empty());
}

/// `alloc_zeroed` after blocks went through the quarantine (filled with the
/// freed pattern) and back to the heap: every byte asked for reads as zero,
/// on each kind of heap, with the blocks reused.
/// `exact`: whether freed blocks come back at their addresses (not for
/// chunks, which merge); `leak`: large blocks are never reused.
fn zeroed_after_reuse<A: GlobalAlloc>(a: &A, verify: fn(), exact: bool, leak: bool) {
    for (size, align) in [
        (8, 8),
        (24, 8),
        (100, 8),
        (120, 8),
        (129, 8),
        (3000, 8),
        (3000, 64),
        (20, 256),
    ] {
        let l = Layout::from_size_align(size, align).unwrap();
        // SAFETY: valid layouts; live blocks freed with their layouts.
        unsafe {
            let blocks: Vec<_> = (0..QUARANTINE_BLOCKS + 8).map(|_| a.alloc(l)).collect();
            for &block in &blocks {
                assert!(!block.is_null());
                block.write_bytes(0x77, size);
            }
            for &block in &blocks {
                a.dealloc(block, l);
            }
            // Another size pushes them out of the quarantine.
            let other = Layout::from_size_align(56, 8).unwrap();
            let pushers: Vec<_> = (0..QUARANTINE_BLOCKS).map(|_| a.alloc(other)).collect();
            for &block in &pushers {
                a.dealloc(block, other);
            }
            let again: Vec<_> = (0..QUARANTINE_BLOCKS + 8)
                .map(|_| a.alloc_zeroed(l))
                .collect();
            let reused = again.iter().filter(|b| blocks.contains(b)).count();
            for &block in &again {
                assert!(!block.is_null());
                let bytes = std::slice::from_raw_parts(block, size);
                assert!(
                    all_equal(bytes, 0),
                    "{} alloc_zeroed({size}, {align}) at {block:p} (reused: {}): {:x?}",
                    std::any::type_name::<A>(),
                    blocks.contains(&block),
                    &bytes[..size.min(32)]
                );
            }
            // Recycled blocks are what this checks (a large block of the
            // bins-only design is never reused).
            assert!(
                !exact || reused > 0 || (leak && (size + 8 > 128 || align > 16)),
                "{} ({size}, {align}): no block reused",
                std::any::type_name::<A>()
            );
            for &block in &again {
                a.dealloc(block, l);
            }
        }
        verify();
        let seen = take();
        assert!(seen.is_empty(), "{seen:#?}");
    }
}

#[lite_alloc(check, large = reuse, realloc, memory = arena(16 << 20))]
struct ZReuse;
#[lite_alloc(bins = [16, 32, 64, 128, 256], large = coalesce, realloc, check, memory = arena(16 << 20))]
struct ZCoalesce;
#[lite_alloc(bins = [], large = coalesce, realloc, check, memory = arena(16 << 20))]
struct ZNoBins;
#[lite_alloc(check, realloc, memory = arena(16 << 20))]
struct ZLeak;

#[test]
fn alloc_zeroed_after_the_quarantine() {
    let _serial = serial();
    zeroed_after_reuse(&ZReuse, ZReuse::verify, true, false);
    zeroed_after_reuse(&ZCoalesce, ZCoalesce::verify, false, false);
    zeroed_after_reuse(&ZNoBins, ZNoBins::verify, false, false);
    zeroed_after_reuse(&ZLeak, ZLeak::verify, true, true);
}

/// A `realloc` that cannot be served (memory exhausted, the table full)
/// returns null and leaves the block as it was: live, its bytes kept,
/// freeable with its old layout, nothing reported.
fn realloc_out_of_memory<A: GlobalAlloc>(a: &A, verify: fn()) {
    let small = layout(40);
    // SAFETY: valid layouts; every block is freed with its layout.
    unsafe {
        let block = a.alloc(small);
        assert!(!block.is_null());
        block.write_bytes(0x3C, 40);
        let filler = until_null(a, small);
        for size in [41, 200, 4000, 60000, 1 << 20] {
            let moved = a.realloc(block, small, size);
            if !moved.is_null() {
                // Served in place or from memory the quarantine gave back:
                // shrink it back where it can be.
                assert_eq!(
                    moved,
                    block,
                    "{} realloc to {size} moved with memory exhausted",
                    std::any::type_name::<A>()
                );
                let back = a.realloc(moved, layout(size), 40);
                assert_eq!(back, block);
                continue;
            }
            assert!(all_equal(std::slice::from_raw_parts(block, 40), 0x3C));
        }
        verify();
        a.dealloc(block, small);
        for b in filler {
            a.dealloc(b, small);
        }
    }
    verify();
    let seen = take();
    assert!(seen.is_empty(), "{seen:#?}");
}

#[test]
fn realloc_out_of_memory_leaves_the_block() {
    let _serial = serial();
    // SAFETY: no block of these types is live.
    unsafe {
        SmallReuse::reset();
        SmallChunks::reset();
        SmallLeak::reset();
    }
    realloc_out_of_memory(&SmallReuse, SmallReuse::verify);
    realloc_out_of_memory(&SmallChunks, SmallChunks::verify);
    realloc_out_of_memory(&SmallLeak, SmallLeak::verify);
}

/// `Default`'s line: the spares (blocks of 121 to 128 bytes, which the
/// canary makes large) are kept by the layer, and a free of a spare is a
/// double free.
#[lite_alloc(check, memory = arena(1 << 20))]
struct Spares;

/// Frees `blocks` and pushes them out of `Spares`' quarantine.
fn spare_out(blocks: &[*mut u8], size: usize) {
    for &block in blocks {
        // SAFETY: live blocks with their layout.
        unsafe { Spares.dealloc(block, layout(size)) };
    }
    push_out(&Spares);
}

#[test]
fn spares_are_reused_and_checked() {
    let _serial = serial();
    // SAFETY: blocks of the arena; the misuses under test are a free of a
    // spare, a write to a spare, and a write to a spare's link.
    unsafe {
        let blocks: Vec<_> = (0..3).map(|_| Spares.alloc(layout(128))).collect();
        assert!(blocks.iter().all(|b| !b.is_null()));
        spare_out(&blocks, 128);
        assert_eq!(Spares::checks().spare_blocks, 3);
        Spares::verify();
        assert!(take().is_empty());

        // A second free of a spare is a double free, and changes nothing.
        Spares.dealloc(blocks[0], layout(128));
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::DoubleFree, "{}", seen[0]);
        assert_eq!(Spares::checks().spare_blocks, 3);

        // Handed out again, last freed first, for any size that spills.
        let again = Spares.alloc(layout(121));
        assert_eq!(again, blocks[2]);
        Spares.dealloc(again, layout(121));

        // A write to a spare (past its link) is found when it is handed
        // out again; it is never handed out.
        let spare = blocks[1];
        spare.add(40).write(7);
        let next = Spares.alloc(layout(128));
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
        assert_eq!(seen[0].offset, Some(40));
        assert_ne!(next, spare);
        assert!(!next.is_null());
        Spares::verify();

        // A write to a spare's link: the spares after it are dropped, none
        // handed out, the state consistent.
        Spares.dealloc(next, layout(128));
        let more: Vec<_> = (0..3).map(|_| Spares.alloc(layout(128))).collect();
        spare_out(&more, 128);
        let spares = Spares::checks().spare_blocks;
        assert!(spares >= 3, "{spares}");
        more[2].cast::<usize>().write(0x1234_5670);
        let taken = Spares.alloc(layout(128));
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
        assert_eq!(seen[0].block.map(|b| b.address), Some(more[2].addr()));
        assert!(!taken.is_null() && taken != more[2]);
        assert_eq!(Spares::checks().spare_blocks, 0);
        Spares::verify();
        Spares.dealloc(taken, layout(128));
        Spares::verify();
        assert!(take().is_empty());
    }
}

// The poisoned heap at its edges, and the spares with a full table.

/// Large blocks reused in size classes, with the counters.
#[lite_alloc(check, stats, large = reuse, memory = arena(4 << 20))]
struct StaleClassStats;

/// As `a_poisoned_heap_counts_what_it_keeps_out`, for a large class's
/// list: the list written through a stale pointer hands out one block more
/// than was freed into it; `large_free` must not wrap below zero.
#[test]
fn a_poisoned_large_class_counts_no_free_below_zero() {
    let _serial = serial();
    // Class 2048 (with the canary), apart from the table's old blocks.
    const SIZE: usize = 2000;
    // SAFETY: the caller's promise for `stale_link`; then live blocks.
    unsafe {
        let (victim, live) = stale_link(&StaleClassStats, SIZE);
        // The table's old blocks wait in their classes' lists: taken, so
        // that the victim is the only free large block.
        for class in [768, 1536, 3072, 6144, 12288, 24576] {
            assert!(
                !StaleClassStats
                    .alloc(layout(class - check::CANARY))
                    .is_null()
            );
        }
        let before = StaleClassStats::stats().large_free;
        assert_eq!(before, 2048, "only the victim is free");
        let again = StaleClassStats.alloc(layout(SIZE));
        assert_eq!(again, victim);
        let next = StaleClassStats.alloc(layout(SIZE));
        assert!(!next.is_null() && next != live);
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].block.map(|b| b.address), Some(live.addr()));
        let stats = StaleClassStats::stats();
        assert!(
            stats.large_free <= before,
            "large_free {:#x} after the poisoning (was {before})",
            stats.large_free
        );
        StaleClassStats::verify();
    }
    assert!(take().is_empty());
}

/// Bins only, for the realloc below.
#[lite_alloc(check, memory = arena(4 << 20))]
struct StaleRealloc;

/// A `realloc` that moves, whose new block is the live block a stale
/// link makes the heap hand out (the poisoning, reported), and whose old
/// block, queued, pushes out a quarantined block written after it was
/// freed: two misuses, each to be reported once.
#[test]
fn a_poisoning_realloc_reports_the_quarantine_too() {
    let _serial = serial();
    let before = StaleRealloc::checks().misuses;
    // SAFETY: live blocks with their layouts, but for the misuses under
    // test (a stale write to a released block, a write to a freed one).
    unsafe {
        let (victim, _live) = stale_link(&StaleRealloc, 24);
        let old = StaleRealloc.alloc(layout(56));
        assert!(!old.is_null());
        assert_eq!(StaleRealloc.alloc(layout(24)), victim);
        // The quarantine, full of these, oldest first.
        let queued: Vec<_> = (0..QUARANTINE_BLOCKS)
            .map(|_| StaleRealloc.alloc(layout(40)))
            .collect();
        for &block in &queued {
            StaleRealloc.dealloc(block, layout(40));
        }
        assert!(take().is_empty());
        queued[0].write(1);
        // Bin 32: the heap's list hands out the live block.
        let moved = StaleRealloc.realloc(old, layout(56), 20);
        assert!(!moved.is_null());
    }
    let seen = take();
    let counted = StaleRealloc::checks().misuses - before;
    assert_eq!(counted, 2, "{seen:#?}");
    assert_eq!(
        seen.len(),
        counted,
        "every misuse counted is reported: {seen:#?}"
    );
}

/// The three policies for large blocks, each poisoned below (room for the
/// padding of blocks aligned to 1 and 2 MiB, wherever the arena lies).
#[lite_alloc(check, memory = arena(8 << 20))]
struct PoisonedLeak;
#[lite_alloc(check, large = reuse, realloc, memory = arena(8 << 20))]
struct PoisonedReuse;
#[lite_alloc(check, large = coalesce, realloc, memory = arena(8 << 20))]
struct PoisonedChunks;

/// On a poisoned heap (bump only, sizes rounded to grains, alignment at
/// least `MAX_BIN_ALIGN`): requests near `isize::MAX` are null, large
/// alignments are honoured, blocks from before the poisoning move intact.
fn poisoned_edges<A: GlobalAlloc>(a: &A, verify: fn()) {
    // SAFETY: the caller holds `serial()`; live blocks with their layouts.
    unsafe {
        let early = a.alloc(Layout::from_size_align(3000, 4096).unwrap());
        assert!(!early.is_null());
        early.write_bytes(0x42, 3000);
        poison(a);
        huge(a, verify);
        let mut held = Vec::new();
        for (size, align) in [(1, 1), (1, 1 << 20), (100, 1 << 21), (17, 64), (5000, 32)] {
            let l = Layout::from_size_align(size, align).unwrap();
            let b = a.alloc_zeroed(l);
            assert!(!b.is_null(), "{l:?}");
            assert!(b.addr().is_multiple_of(align), "{b:p} {l:?}");
            assert!(all_equal(std::slice::from_raw_parts(b, size), 0));
            b.write_bytes(0x99, size);
            held.push((b, l));
        }
        let l = Layout::from_size_align(3000, 4096).unwrap();
        let grown = a.realloc(early, l, 9000);
        assert!(!grown.is_null() && grown.addr().is_multiple_of(4096));
        assert!(all_equal(std::slice::from_raw_parts(grown, 3000), 0x42));
        let l = Layout::from_size_align(9000, 4096).unwrap();
        let shrunk = a.realloc(grown, l, 10);
        assert!(!shrunk.is_null() && shrunk.addr().is_multiple_of(4096));
        assert!(all_equal(std::slice::from_raw_parts(shrunk, 10), 0x42));
        held.push((shrunk, Layout::from_size_align(10, 4096).unwrap()));
        verify();
        for (b, l) in held {
            a.dealloc(b, l);
        }
        push_out(a);
        verify();
        // Last, as they may take the rest of the arena (whether an address
        // so aligned lies in it depends on where the arena is, which Miri
        // chooses at random): aligned, or null.
        for shift in [23, 26, usize::BITS - 2] {
            let l = Layout::from_size_align(1, 1 << shift).unwrap();
            let b = a.alloc(l);
            assert!(b.addr().is_multiple_of(1 << shift), "{b:p} {l:?}");
            if !b.is_null() {
                a.dealloc(b, l);
            }
        }
        verify();
    }
    assert!(take().is_empty());
}

#[test]
fn a_poisoned_heap_at_its_edges() {
    let _serial = serial();
    poisoned_edges(&PoisonedLeak, PoisonedLeak::verify);
    poisoned_edges(&PoisonedReuse, PoisonedReuse::verify);
    poisoned_edges(&PoisonedChunks, PoisonedChunks::verify);
}

/// `Default`'s line: blocks of 121 to 128 bytes are spares.
#[lite_alloc(check, memory = arena(1536 << 10))]
struct PoisonedSpares;
/// The same, where the table, not the blocks, runs out of memory first
/// (its entries are three words).
#[cfg_attr(target_pointer_width = "64", lite_alloc(check, memory = arena(2 << 20)))]
#[cfg_attr(target_pointer_width = "32", lite_alloc(check, memory = arena(3 << 20)))]
struct SparesTable;

/// Fills `a` with blocks of 128 bytes until null, frees them, twice
/// (after poisoning it with `poisoned`): the counts.
fn fill_twice<A: GlobalAlloc>(a: &A, poisoned: bool) -> Vec<usize> {
    let l = layout(128);
    let mut counts = Vec::new();
    // SAFETY: the caller holds `serial()`; live blocks with their layout.
    unsafe {
        if poisoned {
            poison(a);
        }
        for _ in 0..2 {
            let blocks = until_null(a, l);
            counts.push(blocks.len());
            for block in blocks {
                a.dealloc(block, l);
            }
        }
    }
    counts
}

/// "When memory runs out, the quarantine is emptied (and checked) before
/// an allocation returns null": on a poisoned heap too, where the blocks
/// it holds that the canary made large become spares and serve the
/// request. The second fill holds as many blocks as the first.
#[test]
fn memory_running_out_when_poisoned_empties_the_quarantine() {
    let _serial = serial();
    let counts = fill_twice(&PoisonedSpares, true);
    assert!(counts[1] >= counts[0], "fill after fill: {counts:?}");
    PoisonedSpares::verify();
    assert!(take().is_empty());
}

/// The same, no poisoning: the spares fill the table, which cannot grow;
/// a spare, whose slot is freed as it is taken, must still be handed out.
#[test]
fn a_full_table_still_hands_out_what_was_spared() {
    let _serial = serial();
    let counts = fill_twice(&SparesTable, false);
    assert!(counts[1] >= counts[0], "fill after fill: {counts:?}");
    SparesTable::verify();
    assert!(take().is_empty());
}

/// Large blocks reused in size classes: the table's block comes from a
/// class's list.
#[lite_alloc(check, large = reuse, memory = arena(4 << 20))]
struct TableHook;

/// A hook that, while it hears of a misuse, allocates from the same type
/// (enough to make its table grow again), frees, and once frees twice.
fn table_hook(misuse: &Misuse) {
    record(misuse);
    let depth = DEPTH.with(|d| d.replace(d.get() + 1));
    // SAFETY: valid layouts; the nested double free is a misuse, reported
    // and ignored.
    unsafe {
        let blocks: Vec<_> = (0..3000).map(|_| TableHook.alloc(layout(16))).collect();
        assert!(blocks.iter().all(|b| !b.is_null()));
        for &b in &blocks {
            TableHook.dealloc(b, layout(16));
        }
        if depth == 0 {
            TableHook.dealloc(blocks[2999], layout(16));
        }
    }
    TableHook::verify();
    DEPTH.with(|d| d.set(depth));
}

/// The poisoning found as the table grows, reported to a hook that
/// re-enters: every misuse reported once, the table and the blocks sound.
#[test]
fn table_growth_poisoned_under_a_reentrant_reporter() {
    let _serial = serial();
    const SIZE: usize = 49152 - check::CANARY;
    // SAFETY: as in `the_table_never_grows_into_a_live_block`.
    unsafe {
        let (victim, live) = stale_link(&TableHook, SIZE);
        live.add(size_of::<usize>())
            .write_bytes(0x5A, SIZE - size_of::<usize>());
        assert_eq!(TableHook.alloc(layout(SIZE)), victim);
        check::set_hook(table_hook);
        let many: Vec<_> = (0..1500).map(|_| TableHook.alloc(layout(40))).collect();
        check::set_hook(record);
        assert!(many.iter().all(|b| !b.is_null()));
        let seen = take();
        assert_eq!(seen.len(), 2, "{seen:#?}");
        assert_eq!(seen[0].block.map(|b| b.address), Some(live.addr()));
        assert_eq!(seen[1].kind, Kind::DoubleFree, "{}", seen[1]);
        assert!(all_equal(
            std::slice::from_raw_parts(live.add(8), SIZE - 8),
            0x5A
        ));
        TableHook::verify();
        for b in many {
            TableHook.dealloc(b, layout(40));
        }
        TableHook.dealloc(live, layout(SIZE));
        TableHook.dealloc(victim, layout(SIZE));
        push_out(&TableHook);
        TableHook::verify();
    }
    assert!(take().is_empty());
}

#[lite_alloc(check, large = reuse, memory = arena(4 << 20))]
struct TopReuse;
#[lite_alloc(check, large = coalesce, memory = arena(4 << 20))]
struct TopChunks;

/// A large block given back to the bump pointer before the poisoning, its
/// bytes dirty; then `alloc_zeroed` on the poisoned heap, carved there.
fn zeroed_over_the_old_top<A: GlobalAlloc>(a: &A, verify: fn()) {
    // SAFETY: the caller holds `serial()`; live blocks with their layouts.
    unsafe {
        // The table grown, the bins warm.
        let warm: Vec<_> = (0..1200)
            .flat_map(|_| [(a.alloc(layout(24)), 24), (a.alloc(layout(40)), 40)])
            .collect();
        for &(b, size) in &warm {
            a.dealloc(b, layout(size));
        }
        let big = a.alloc(layout(20000));
        big.write_bytes(0xAA, 20000);
        a.dealloc(big, layout(20000));
        push_out(a);
        poison(a);
        let z = a.alloc_zeroed(layout(30000));
        assert!(!z.is_null());
        let dirty = count_other(std::slice::from_raw_parts(z, 30000), 0);
        assert_eq!(dirty, 0, "{z:p} (old block {big:p})");
        a.dealloc(z, layout(30000));
        verify();
    }
    assert!(take().is_empty());
}

#[test]
fn alloc_zeroed_clears_an_old_top_once_poisoned() {
    let _serial = serial();
    zeroed_over_the_old_top(&TopReuse, TopReuse::verify);
    zeroed_over_the_old_top(&TopChunks, TopChunks::verify);
}

// Calls that find two misuses, nested and on two threads; a written spare
// before a sound one.

/// Sets up `n` moving `realloc`s on `a` (bins only, `Default`'s line), each
/// of which finds two misuses: a spare written past its link (taken for
/// the new block of 128 bytes) and a quarantined block written after it
/// was freed (pushed out by the old block). Returns the old blocks (24
/// bytes each).
///
/// # Safety
///
/// The caller holds `serial()`; `a` is a fresh bins-only checked type.
unsafe fn two_misuse_reallocs(a: &impl GlobalAlloc, n: usize) -> Vec<*mut u8> {
    // SAFETY: live blocks with their layouts, but for the writes after
    // free, the misuses under test, on memory of the arena.
    unsafe {
        let spares: Vec<_> = (0..n).map(|_| a.alloc(layout(128))).collect();
        for &s in &spares {
            a.dealloc(s, layout(128));
        }
        push_out(a);
        for &s in &spares {
            s.add(40).write(7);
        }
        let olds: Vec<_> = (0..n).map(|_| a.alloc(layout(24))).collect();
        let queued: Vec<_> = (0..QUARANTINE_BLOCKS)
            .map(|_| a.alloc(layout(40)))
            .collect();
        for &q in &queued {
            a.dealloc(q, layout(40));
        }
        for &q in &queued[..n] {
            q.write(1);
        }
        assert!(take().is_empty());
        olds
    }
}

#[lite_alloc(check, memory = arena(4 << 20))]
struct Extras;

thread_local! {
    static OLDS: RefCell<Vec<*mut u8>> = const { RefCell::new(Vec::new()) };
}

/// Records, and while old blocks are left, moves one with a `realloc` that
/// finds two misuses (so the hook nests).
fn nesting_hook(misuse: &Misuse) {
    record(misuse);
    if let Some(old) = OLDS.with(|o| o.borrow_mut().pop()) {
        // SAFETY: a live block with its layout.
        let _ = unsafe { Extras.realloc(old, layout(24), 128) };
    }
}

/// Three nested calls (each `realloc`'s hook makes the next) of two
/// misuses each: six counted, each reported once.
#[test]
fn nested_calls_each_report_their_misuses() {
    let _serial = serial();
    let before = Extras::checks().misuses;
    // SAFETY: as in `two_misuse_reallocs`.
    unsafe {
        let olds = two_misuse_reallocs(&Extras, 3);
        OLDS.with(|o| *o.borrow_mut() = olds[1..].to_vec());
        check::set_hook(nesting_hook);
        let moved = Extras.realloc(olds[0], layout(24), 128);
        check::set_hook(record);
        assert!(!moved.is_null());
    }
    let seen = take();
    let counted = Extras::checks().misuses - before;
    assert_eq!(counted, 6, "{seen:#?}");
    assert_eq!(
        seen.len(),
        counted,
        "every misuse counted is reported: {seen:#?}"
    );
}

#[lite_alloc(check, memory = arena(4 << 20))]
struct Crossing;

static PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
thread_local! {
    static PAUSER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Records; on the pausing thread, the first time, waits in the hook until
/// the other thread is done.
fn pausing_hook(misuse: &Misuse) {
    use std::sync::atomic::Ordering::SeqCst;
    record(misuse);
    if PAUSER.with(|p| p.replace(false)) {
        PAUSED.store(true, SeqCst);
        while !DONE.load(SeqCst) {
            std::thread::yield_now();
        }
    }
}

/// A call's misuses are reported on its own thread, even when another
/// thread's misused call runs while the first one's hook does.
#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn a_call_reports_its_misuses_on_its_own_thread() {
    use std::sync::atomic::Ordering::SeqCst;
    let _serial = serial();
    // SAFETY: as in `two_misuse_reallocs`.
    let olds = unsafe { two_misuse_reallocs(&Crossing, 1) };
    check::set_hook(pausing_hook);
    let other = std::thread::spawn(|| {
        while !PAUSED.load(SeqCst) {
            std::thread::yield_now();
        }
        let mut foreign = [0u64; 4];
        // SAFETY: a foreign pointer, the misuse under test: reported and
        // ignored.
        unsafe { Crossing.dealloc(foreign.as_mut_ptr().cast(), layout(24)) };
        let seen = take();
        DONE.store(true, SeqCst);
        seen
    });
    PAUSER.with(|p| p.set(true));
    // SAFETY: a live block with its layout.
    let moved = unsafe { Crossing.realloc(olds[0], layout(24), 128) };
    let theirs = other.join().unwrap();
    check::set_hook(record);
    assert!(!moved.is_null());
    let mine = take();
    assert_eq!(
        mine.len(),
        2,
        "the realloc found two misuses; this thread heard {mine:#?}; the other thread's dealloc heard {theirs:#?}"
    );
}

/// `Default`'s line in a small arena.
#[lite_alloc(check, memory = arena(256 << 10))]
struct SpareAfterBad;

/// Two spares, the first on the list written past its link; memory then
/// runs out. A request of 128 bytes finds the written spare (reported),
/// and must then be served by the next one, which is sound.
#[test]
fn a_written_spare_does_not_hide_the_next_one() {
    let _serial = serial();
    // SAFETY: live blocks with their layouts, but for the write to a
    // spare, the misuse under test.
    unsafe {
        let blocks: Vec<_> = (0..2).map(|_| SpareAfterBad.alloc(layout(128))).collect();
        for &b in &blocks {
            SpareAfterBad.dealloc(b, layout(128));
        }
        push_out(&SpareAfterBad);
        assert_eq!(SpareAfterBad::checks().spare_blocks, 2);
        blocks[1].add(40).write(7);
        // Memory used up, the largest blocks first (never freed).
        for size in [4096, 129, 120] {
            until_null(&SpareAfterBad, layout(size));
        }
        assert!(take().is_empty());
        assert_eq!(SpareAfterBad::checks().spare_blocks, 2);
        let got = SpareAfterBad.alloc(layout(128));
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
        assert!(
            !got.is_null(),
            "alloc(128) returned null while a sound spare waits: spare_blocks = {}; \
             the next alloc(128) gives {:p}",
            SpareAfterBad::checks().spare_blocks,
            SpareAfterBad.alloc(layout(128))
        );
    }
}

/// A block of `size` bytes between two live ones (so that it merges with
/// neither), freed and pushed out of the quarantine into the heap's lists,
/// where its first two words are a free chunk's links; then its old owner
/// writes `stale(live)` over both, `live` being a live block of `size`
/// bytes filled with `0xab`. Returns the stale block, the live one and the
/// block before the stale one; nothing reported.
///
/// # Safety
///
/// `heap` is a checked type with `large = coalesce` whose blocks of `size`
/// bytes are chunks; the caller holds `serial()`.
unsafe fn stale_chunk_link(
    heap: &impl GlobalAlloc,
    size: usize,
    stale: fn(*mut u8) -> usize,
) -> (*mut u8, *mut u8, *mut u8) {
    // SAFETY: live blocks with their layout; the stale writes are the
    // misuse under test, on the heap's memory.
    unsafe {
        let before = heap.alloc(layout(size));
        let victim = heap.alloc(layout(size));
        let after = heap.alloc(layout(size));
        let live = heap.alloc(layout(size));
        assert!(![before, victim, after, live].contains(&std::ptr::null_mut()));
        live.write_bytes(0xab, size);
        heap.dealloc(victim, layout(size));
        push_out(heap);
        assert!(take().is_empty());
        let words = victim.cast::<usize>();
        words.write(stale(live));
        words.add(1).write(stale(live));
        (victim, live, before)
    }
}

/// What a stale write may put in a free chunk's links: the header address
/// of a live block (the word before it, as the heap's own links are), the
/// live block's own address, an address far from the heap.
const STALE: [fn(*mut u8) -> usize; 3] = [
    |live| live.addr() - size_of::<usize>(),
    |live| live.addr(),
    |_| 0x1000,
];

/// The stale links each test below writes: all of [`STALE`] natively; under
/// Miri, for time, the live block's header and the address far from the
/// heap (a link into the live block's bytes is read within the heap's
/// memory, as one to its header is).
fn stale_links() -> impl Iterator<Item = fn(*mut u8) -> usize> {
    STALE
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| !cfg!(miri) || i != 1)
        .map(|(_, stale)| stale)
}

/// The chunk size serving a request of `n` bytes (as the heap rounds it).
fn chunk_for(n: usize) -> usize {
    let w = size_of::<usize>();
    ((n + w + 2 * w - 1) & !(2 * w - 1)).max(4 * w)
}

/// The header of a free chunk of `size` bytes, as the heap writes it: its
/// size and no flag (free, after a chunk in use, no marker), so that a
/// stale write forging one looks exactly like the heap's own.
fn free_header(size: usize) -> usize {
    size
}

/// A freed block's memory split again: a block of 1000 bytes between two
/// others (the one after it, `live`, of 4000 bytes, filled with 0xab),
/// freed and pushed out of the quarantine, then a request of 200 bytes
/// that takes its start. Returns `live` and the rest, a free chunk: its
/// header, inside the old block (a pointer derived from the old block's),
/// and its size.
///
/// # Safety
///
/// `heap` is a checked type of `bins = []` and `large = coalesce`, reset
/// or not used before, whose serial lock the caller holds.
unsafe fn split_a_freed_block(heap: &impl GlobalAlloc) -> (*mut u8, *mut usize, usize) {
    let w = size_of::<usize>();
    let canary = check::CANARY;
    // SAFETY: live blocks with their layout (the caller's promise for the
    // heap); the header read is the heap's word inside the old block.
    unsafe {
        let _before = heap.alloc(layout(1000));
        let victim = heap.alloc(layout(1000));
        let live = heap.alloc(layout(4000));
        assert!(![victim, live].contains(&std::ptr::null_mut()));
        live.write_bytes(0xab, 4000);
        heap.dealloc(victim, layout(1000));
        push_out(heap);
        assert!(take().is_empty());
        assert_eq!(live.addr(), victim.addr() + chunk_for(1000 + canary));
        let split = heap.alloc(layout(200));
        assert_eq!(split, victim, "the freed chunk, split");
        let rest = victim.addr() - w + chunk_for(200 + canary);
        let size = chunk_for(1000 + canary) - chunk_for(200 + canary);
        let header = victim.add(rest - victim.addr()).cast::<usize>();
        assert_eq!(header.read(), free_header(size), "the rest's header");
        (live, header, size)
    }
}

/// The first address at or after `addr` where a chunk's header may lie
/// (the word before a payload aligned to the grain, two words).
fn header_from(addr: usize) -> usize {
    let w = size_of::<usize>();
    (addr + w).next_multiple_of(2 * w) - w
}

/// Checks what `stale_chunk_link` set up, after the calls that took the
/// chunk out of its list: one use after free reported, naming no block
/// (the layer does not know the chunk's block any more), the live block
/// not written, and the heap still serving and checking calls.
fn caught_stale_link<A: GlobalAlloc>(heap: &A, live: *mut u8, size: usize, verify: fn()) {
    let seen = take();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
    assert_eq!(seen[0].block, None, "{}", seen[0]);
    assert!(
        seen[0].to_string().contains("a free chunk's words"),
        "{}",
        seen[0]
    );
    // SAFETY: the live block, `size` bytes, and new blocks with their
    // layout.
    unsafe {
        let bytes = std::slice::from_raw_parts(live, size);
        assert!(
            all_equal(bytes, 0xab),
            "the heap wrote into the live block: {bytes:?}"
        );
        let blocks: Vec<_> = (0..8).map(|_| heap.alloc(layout(size))).collect();
        assert!(!blocks.contains(&std::ptr::null_mut()));
        for block in blocks {
            heap.dealloc(block, layout(size));
        }
        heap.dealloc(live, layout(size));
    }
    verify();
    assert!(take().is_empty());
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 20))]
struct StaleTaken;

/// The same on memory the program hands over, whose regions are separate
/// objects: the check reads only in those the source says it handed over
/// (`Memory::holds`).
#[lite_alloc(bins = [], large = coalesce, check, memory = claimed)]
struct StaleTakenClaimed;

/// The same on the target's default memory: wasm memory on wasm32 (the
/// check asks it whether an address lies in linear memory), the type's
/// own arena elsewhere.
#[lite_alloc(bins = [], large = coalesce, check)]
struct StaleTakenDefault;

/// Docs/checked.md: with `large = coalesce`, a stale write into a free
/// chunk's links is caught when the heap takes the chunk out of its list,
/// before it writes through them. The reviewer's case: a request takes the
/// chunk (its links then named a live block, which the heap wrote into,
/// and later failed inside itself on a header of size 0).
#[test]
fn a_stale_chunk_link_is_caught_when_the_chunk_is_taken() {
    let _serial = serial();
    const BYTES: usize = 1 << 20;
    let region: &'static mut [u8] = Box::leak(vec![0; BYTES].into_boxed_slice());
    // SAFETY: a region of its own, used by nothing else from now on (a
    // `reset` hands it back to the type).
    unsafe { StaleTakenClaimed.claim(region.as_mut_ptr(), BYTES) };
    for stale in stale_links() {
        // SAFETY: a coalescing checked type; the serial lock is held; then
        // blocks with their layout.
        unsafe {
            StaleTaken::reset();
            taken(&StaleTaken, stale, StaleTaken::verify);
            StaleTakenClaimed::reset();
            taken(&StaleTakenClaimed, stale, StaleTakenClaimed::verify);
            StaleTakenDefault::reset();
            taken(&StaleTakenDefault, stale, StaleTakenDefault::verify);
        }
    }
}

/// The stale chunk heads its size's list: the next request of that size
/// takes it.
///
/// # Safety
///
/// As for `stale_chunk_link`.
unsafe fn taken<A: GlobalAlloc>(heap: &A, stale: fn(*mut u8) -> usize, verify: fn()) {
    // SAFETY: the caller's promise; then a block with its layout.
    unsafe {
        let (_, live, _) = stale_chunk_link(heap, 200, stale);
        let block = heap.alloc(layout(200));
        assert!(!block.is_null());
        heap.dealloc(block, layout(200));
        caught_stale_link(heap, live, 200, verify);
    }
}

#[lite_alloc(bins = [16, 32, 64, 128], large = coalesce, check, memory = arena(1 << 20))]
struct StaleMerged;

/// As above, when the chunk is taken out of its list to merge with a
/// neighbour freed after it (the block after it, pushed out of the
/// quarantine in turn).
#[test]
fn a_stale_chunk_link_is_caught_when_a_neighbour_merges() {
    let _serial = serial();
    for stale in stale_links() {
        // SAFETY: a coalescing checked type; the serial lock is held; then
        // blocks with their layout.
        unsafe {
            StaleMerged::reset();
            let (victim, live, _) = stale_chunk_link(&StaleMerged, 200, stale);
            // The block after the stale one.
            let after = victim.add(chunk_for(200 + lite_alloc::check::CANARY));
            StaleMerged.dealloc(after, layout(200));
            push_out(&StaleMerged);
            caught_stale_link(&StaleMerged, live, 200, StaleMerged::verify);
        }
    }
}

#[lite_alloc(bins = [], large = coalesce, realloc, check, memory = arena(1 << 20))]
struct StaleGrown;

/// As above, when the block before the chunk would grow into it in place.
#[test]
fn a_stale_chunk_link_is_caught_when_a_block_grows_into_it() {
    let _serial = serial();
    for stale in stale_links() {
        // SAFETY: a coalescing checked type; the serial lock is held; then
        // blocks with their layout.
        unsafe {
            StaleGrown::reset();
            let (_, live, before) = stale_chunk_link(&StaleGrown, 200, stale);
            // It moves rather than grow into the chunk.
            let grown = StaleGrown.realloc(before, layout(200), 300);
            assert!(!grown.is_null() && grown != before, "{grown:p}");
            StaleGrown.dealloc(grown, layout(300));
            caught_stale_link(&StaleGrown, live, 200, StaleGrown::verify);
        }
    }
}

#[lite_alloc(bins = [], large = coalesce, check, memory = claimed)]
struct StaleGap;

/// A stale link into memory between two claimed regions, which the
/// program keeps for itself: a free chunk in each region puts it between
/// the chunks the heap listed, and the source says it is not the heap's
/// (`Memory::holds`), so the link is rejected, and nothing is written
/// there. (From a review: "cannot tell" and "not mine" were one answer, and
/// the heap wrote into the gap.)
#[test]
fn a_stale_link_into_a_gap_between_claimed_regions() {
    let _serial = serial();
    const PART: usize = 256 << 10;
    let buffer: &'static mut [u8] = Box::leak(vec![0u8; 4 * PART].into_boxed_slice());
    let base = buffer.as_mut_ptr();
    // SAFETY: the claimed parts are used by nothing else; the gap is the
    // program's own; then blocks with their layouts, but for the misuse
    // under test.
    unsafe {
        StaleGap.claim(base, PART);
        StaleGap.claim(base.add(2 * PART), 2 * PART);
        let gap = base.add(PART);
        gap.write_bytes(0x5a, PART);
        // In the first region: a victim between two live blocks.
        let before = StaleGap.alloc(layout(200));
        let victim = StaleGap.alloc(layout(200));
        let after = StaleGap.alloc(layout(200));
        assert!(after.addr() < gap.addr());
        // Too large for the rest of the first region: the second opens.
        let big = StaleGap.alloc(layout(PART));
        assert!(big.addr() > gap.addr() + PART, "{big:p}");
        // In the second: a chunk of another size between live ones.
        let low = StaleGap.alloc(layout(1000));
        let high = StaleGap.alloc(layout(1000));
        let last = StaleGap.alloc(layout(1000));
        assert!(high.addr() > gap.addr() + PART);
        StaleGap.dealloc(victim, layout(200));
        StaleGap.dealloc(high, layout(1000));
        push_out(&StaleGap);
        assert!(take().is_empty());
        // The victim heads its list; its next is now a chunk header in
        // the gap (payload aligned to the grain).
        let target = header_from(gap.addr() + PART / 2 - size_of::<usize>());
        victim.cast::<usize>().write(target);
        let taken = StaleGap.alloc(layout(200));
        assert!(!taken.is_null());
        // Word by word (Miri interprets each read).
        let word = u64::from_ne_bytes([0x5a; 8]);
        let written: Vec<usize> = (0..PART / 8)
            .filter(|&i| gap.cast::<u64>().add(i).read_unaligned() != word)
            .map(|i| i * 8)
            .collect();
        assert!(
            written.is_empty(),
            "the heap wrote into memory it was never given, at {:?}",
            &written[..written.len().min(16)]
        );
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!((seen[0].kind, seen[0].block), (Kind::UseAfterFree, None));
        for (block, size) in [(before, 200), (after, 200), (big, PART), (low, 1000)] {
            StaleGap.dealloc(block, layout(size));
        }
        StaleGap.dealloc(last, layout(1000));
        StaleGap.dealloc(taken, layout(200));
        StaleGap::verify();
    }
    assert!(take().is_empty());
}

/// A source of two separate allocated objects, handed over whole, one
/// after the other, each found by `provenance`, and which says which
/// addresses the heap may read (`holds`).
struct TwoBanks {
    given: usize,
}

static BANKS: [std::sync::atomic::AtomicPtr<u8>; 2] =
    [const { std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()) }; 2];
const BANK: usize = 64 << 10;

impl TwoBanks {
    /// The bank holding `[addr, addr + len)`.
    fn bank(addr: usize, len: usize) -> Option<*mut u8> {
        BANKS
            .iter()
            .map(|bank| bank.load(std::sync::atomic::Ordering::Relaxed))
            .find(|start| addr >= start.addr() && addr + len <= start.addr() + BANK)
    }
}

// SAFETY: each bank is a leaked allocation of its own, handed over once;
// `provenance` gives an address the provenance of the bank holding it.
unsafe impl lite_alloc::memory::Memory for TwoBanks {
    const INIT: Self = TwoBanks { given: 0 };
    const WHOLE: bool = true;
    fn grow(&mut self, _: usize) -> Option<std::ptr::NonNull<[u8]>> {
        let bank = BANKS.get(self.given)?;
        self.given += 1;
        let start = std::ptr::NonNull::new(bank.load(std::sync::atomic::Ordering::Relaxed))?;
        Some(std::ptr::NonNull::slice_from_raw_parts(start, BANK))
    }
    fn provenance(&self, hint: *mut u8, addr: usize) -> *mut u8 {
        Self::bank(addr, 0)
            .map_or(hint, |start| start)
            .with_addr(addr)
    }
    fn holds(&self, addr: usize, len: usize) -> Option<bool> {
        Some(Self::bank(addr, len).is_some())
    }
    fn reset(&mut self) {
        self.given = 0;
    }
}

#[lite_alloc(bins = [], large = coalesce, check, memory = TwoBanks)]
struct StaleBanks;

/// A stale link to an address between two banks that are separate
/// objects: rejected without a read there (Miri would report one: it lies
/// outside every allocation). (From a review: the check asked a source
/// whose regions are separate objects nothing, and read between them.)
#[test]
fn a_stale_chunk_link_between_separate_banks() {
    let _serial = serial();
    let banks: [*mut u8; 2] =
        [(); 2].map(|()| Box::leak(vec![0u8; BANK].into_boxed_slice()).as_mut_ptr());
    for (slot, bank) in BANKS.iter().zip(banks) {
        slot.store(bank, std::sync::atomic::Ordering::Relaxed);
    }
    let in_bank = |p: *mut u8, i: usize| p >= banks[i] && p < banks[i].wrapping_add(BANK);
    // SAFETY: blocks with their layouts, but for the misuse under test.
    unsafe {
        // The victim between two live blocks, so that it merges with
        // neither.
        let before = StaleBanks.alloc(layout(200));
        let victim = StaleBanks.alloc(layout(200));
        let after = StaleBanks.alloc(layout(200));
        // Bank 0 filled with blocks of 1000 bytes, until they land in bank
        // 1 (blocks may still come from bank 0's free chunks): `high`
        // there, and a live block after it, so that `high` is a free chunk
        // once freed.
        let mut filled = Vec::new();
        let mut in_bank_1 = || loop {
            let block = StaleBanks.alloc(layout(1000));
            assert!(!block.is_null());
            if in_bank(block, 1) {
                return block;
            }
            filled.push(block);
        };
        let first = in_bank_1();
        let high = in_bank_1();
        let last = in_bank_1();
        assert!(
            in_bank(victim, 0) && in_bank(high, 1) && in_bank(last, 1),
            "{banks:?} {victim:p} {high:p} {last:p}"
        );
        StaleBanks.dealloc(victim, layout(200));
        StaleBanks.dealloc(high, layout(1000));
        push_out(&StaleBanks);
        assert!(take().is_empty());
        // Just past the lower bank: between the chunks the heap listed,
        // outside both banks (their order is the system allocator's).
        let lower = banks[0].min(banks[1]).addr();
        let target = header_from(lower + BANK);
        assert!(TwoBanks::bank(target, 1).is_none());
        victim.cast::<usize>().write(target);
        let taken = StaleBanks.alloc(layout(200));
        assert!(!taken.is_null());
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!((seen[0].kind, seen[0].block), (Kind::UseAfterFree, None));
        let _ = (before, after, filled, first, last);
    }
    assert!(take().is_empty());
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 20))]
struct StaleVerified;

#[lite_alloc(check, memory = arena(1 << 20))]
struct StaleVerifiedBins;

/// `verify()` before any call takes the chunk out of its list: the damage
/// is in a free list, which a stale write made, so it is a use after free
/// (reported, the heap poisoned), not the heap's fault (it panicked with
/// "heap corrupted", from a review). The same for a bin's list, whose
/// block's first word is its link. The live block is not written, and
/// calls go on.
#[test]
fn a_stale_link_found_by_verify_is_a_use_after_free() {
    let _serial = serial();
    for stale in stale_links() {
        // SAFETY: a coalescing checked type; the serial lock is held; then
        // blocks with their layout.
        unsafe {
            StaleVerified::reset();
            let (_, live, _) = stale_chunk_link(&StaleVerified, 200, stale);
            StaleVerified::verify();
            let seen = take();
            assert_eq!(seen.len(), 1, "{seen:#?}");
            assert!(
                seen[0]
                    .to_string()
                    .contains("verify() found the heap's free lists damaged"),
                "{}",
                seen[0]
            );
            caught_verified(&StaleVerified, live, 200);
            StaleVerified::verify();
            assert!(take().is_empty());
        }
    }
    // A bin's list that a stale write sends outside the heap's memory (one
    // sent to a live block reads as a list through it: found when the
    // heap hands that block out, `a_live_block_is_never_handed_out_twice`).
    // SAFETY: as above.
    unsafe {
        StaleVerifiedBins::reset();
        let (victim, live) = stale_link(&StaleVerifiedBins, 24);
        victim.cast::<usize>().write(0x1000);
        StaleVerifiedBins::verify();
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!((seen[0].kind, seen[0].block), (Kind::UseAfterFree, None));
        caught_verified(&StaleVerifiedBins, live, 24);
        StaleVerifiedBins::verify();
        assert!(take().is_empty());
    }
}

/// After `verify()` reported a damaged free list: blocks still come (from
/// memory the lists never held), and the live block can be freed.
///
/// # Safety
///
/// `live` is a live block of `heap`, `size` bytes.
unsafe fn caught_verified<A: GlobalAlloc>(heap: &A, live: *mut u8, size: usize) {
    // SAFETY: the caller's promise; new blocks with their layout.
    unsafe {
        let blocks: Vec<_> = (0..8).map(|_| heap.alloc(layout(size))).collect();
        assert!(!blocks.contains(&std::ptr::null_mut()));
        assert!(!blocks.contains(&live));
        for block in blocks {
            heap.dealloc(block, layout(size));
        }
        heap.dealloc(live, layout(size));
    }
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 20))]
struct StaleSize;

/// A stale write into a free chunk's header: a freed block's memory split
/// again, the rest of it a free chunk whose header lies inside the old
/// block, where its old owner writes a size that reaches into a live
/// block. The request that takes the chunk finds its footer elsewhere and
/// leaves it alone (it wrote the rest of it into the live block, from a
/// review).
#[test]
fn a_stale_chunk_size_is_caught_when_the_chunk_is_taken() {
    let _serial = serial();
    let w = size_of::<usize>();
    // SAFETY: the serial lock is held; the type is this test's alone. The
    // stale write is the misuse under test, on the heap's memory.
    unsafe {
        let (live, header, _) = split_a_freed_block(&StaleSize);
        let forged = live.addr() + 1024 + w - header.addr();
        header.write(free_header(forged));
        let block = StaleSize.alloc(layout(500));
        assert!(!block.is_null());
        caught_stale_link(&StaleSize, live, 4000, StaleSize::verify);
    }
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 20))]
struct StaleFreeFlag;

/// A stale write that flips one flag of a listed free chunk's header (in
/// use, the chunk before free, a marker's), whose header lies inside the
/// old block: `verify()` reports a use after free, for each of the three
/// (the marker's flag made it panic with the heap's own corruption, from
/// a review: the lists' check did not look at it, and the walk of the
/// regions does not say its findings may be a stale write's).
#[test]
fn a_stale_flag_in_a_free_chunks_header_is_reported_by_verify() {
    let _serial = serial();
    for bit in 0..3 {
        // SAFETY: the serial lock is held, the type reset and this test's
        // alone. The stale write is the misuse under test, inside the
        // freed block's memory.
        unsafe {
            StaleFreeFlag::reset();
            let (_, header, size) = split_a_freed_block(&StaleFreeFlag);
            header.write(free_header(size) ^ 1 << bit);
            StaleFreeFlag::verify();
            let seen = take();
            assert_eq!(seen.len(), 1, "bit {bit}: {seen:#?}");
            assert_eq!(seen[0].kind, Kind::UseAfterFree, "bit {bit}: {}", seen[0]);
        }
    }
}

#[cfg(target_pointer_width = "64")]
#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 20))]
struct StaleOffGrain;

/// As above, but the stale write forges a whole free chunk that reaches no
/// live block: its header and footer agree, its links are the real chunk's,
/// and only its size is off the grain (a word short of it). The heap does
/// not take it: split, it would leave a chunk whose payload is not aligned
/// to the grain. Only 64-bit targets can say it: a grain there is 16 bytes,
/// and a size 8 bytes off it leaves the flag bits clear; on 32-bit targets,
/// a size a word (4 bytes) off the grain sets the marker flag, and the
/// header is refused for that alone.
#[cfg(target_pointer_width = "64")]
#[test]
fn a_stale_chunk_size_off_the_grain_is_caught_when_the_chunk_is_taken() {
    let _serial = serial();
    let w = size_of::<usize>();
    // SAFETY: the serial lock is held; the type is this test's alone. The
    // stale writes are the misuse under test, inside the freed block's
    // memory.
    unsafe {
        let (live, header, size) = split_a_freed_block(&StaleOffGrain);
        let forged = size - w;
        header.write(free_header(forged));
        header.byte_add(forged - w).write(forged);
        let block = StaleOffGrain.alloc(layout(500));
        assert!(!block.is_null());
        caught_stale_link(&StaleOffGrain, live, 4000, StaleOffGrain::verify);
    }
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 20))]
struct StaleOneWay;

/// A stale write into a free chunk's next link that names another free
/// chunk, sound in every word of its own, which does not link back to it
/// (it is the head of a list of its own). The request that takes the chunk
/// leaves both alone: unlinking it would write its previous link into the
/// other chunk.
#[test]
fn a_stale_link_to_a_free_chunk_that_does_not_link_back_is_caught() {
    let _serial = serial();
    let w = size_of::<usize>();
    // SAFETY: live blocks with their layout; the stale write is the misuse
    // under test, inside the freed block's memory.
    unsafe {
        let blocks: Vec<_> = [1000, 1000, 1000, 2000, 1000]
            .into_iter()
            .map(|size| StaleOneWay.alloc(layout(size)))
            .collect();
        assert!(!blocks.contains(&std::ptr::null_mut()));
        let [_before, victim, _between, other, live] = blocks[..] else {
            unreachable!()
        };
        live.write_bytes(0xab, 1000);
        StaleOneWay.dealloc(victim, layout(1000));
        StaleOneWay.dealloc(other, layout(2000));
        push_out(&StaleOneWay);
        assert!(take().is_empty());
        // Two lists of one chunk each: the victim's next link is 0.
        assert_eq!(victim.cast::<usize>().read(), 0);
        victim.cast::<usize>().write(other.addr() - w);
        let block = StaleOneWay.alloc(layout(1000));
        assert!(!block.is_null());
        caught_stale_link(&StaleOneWay, live, 1000, StaleOneWay::verify);
    }
}

#[lite_alloc(large = reuse, check, stats, memory = arena(1 << 20))]
struct CutShort;

/// A stale write that zeroes a link in a large class's list cuts the list
/// short: every block it still holds is sound, but the statistics count a
/// free block more than the list holds. `verify()` finds it: a use after
/// free naming no block. The blocks the list lost are leaked, the others
/// are freed as before.
#[test]
fn a_large_class_list_cut_short_is_found_by_verify() {
    let _serial = serial();
    // SAFETY: live blocks with their layout; the stale write is the misuse
    // under test, on a freed block.
    unsafe {
        let blocks: Vec<_> = (0..5).map(|_| CutShort.alloc(layout(1000))).collect();
        assert!(!blocks.contains(&std::ptr::null_mut()));
        CutShort.dealloc(blocks[1], layout(1000));
        CutShort.dealloc(blocks[3], layout(1000));
        push_out(&CutShort);
        CutShort::verify();
        assert!(take().is_empty());
        // The list: the block freed last, then the first.
        let link = blocks[3].cast::<usize>();
        assert_eq!(link.read(), blocks[1].addr());
        link.write(0);
        CutShort::verify();
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!((seen[0].kind, seen[0].block), (Kind::UseAfterFree, None));
        for i in [0, 2, 4] {
            CutShort.dealloc(blocks[i], layout(1000));
        }
        CutShort::verify();
        assert!(take().is_empty());
    }
}

#[lite_alloc(bins = [], large = coalesce, check, stats, memory = arena(1 << 20))]
struct StaleFooter;

/// A stale write into a free chunk's footer (inside an old block, as
/// above), which a neighbour freed after it follows back to merge: to a
/// live block's middle, outside the heap, to address 0, or below it (a
/// size larger than the chunk's own address: followed, the subtraction
/// wraps).
/// It is not merged with (the heap wrote a header and links into the live
/// block, or read outside its memory and faulted, from a review). The
/// block left alone, and the free chunks the lists forget then, count as
/// leaked.
#[test]
fn a_stale_chunk_footer_is_caught_when_a_neighbour_merges() {
    let _serial = serial();
    let w = size_of::<usize>();
    let canary = lite_alloc::check::CANARY;
    // The stale footer, from the live block before and the chunk whose
    // footer it is: the size that leads from the chunk to its target.
    let footers: [fn(usize, usize) -> usize; 5] = [
        |before, chunk| chunk - (before + 512 - size_of::<usize>()),
        |_, chunk| chunk - 0x1000,
        |_, chunk| chunk,
        |_, chunk| chunk + 2 * size_of::<usize>(),
        |_, _| usize::MAX & !15,
    ];
    // Under Miri, for time, one footer of each path: into a live block,
    // outside the heap's memory, below address 0.
    for (i, stale) in footers.into_iter().enumerate() {
        if cfg!(miri) && ![0, 1, 3].contains(&i) {
            continue;
        }
        // SAFETY: live blocks with their layout; the stale write is the
        // misuse under test, on the heap's memory.
        unsafe {
            StaleFooter::reset();
            // Blocks to push the quarantine out twice, allocated first so
            // that none lies among the blocks below.
            let pool: Vec<_> = (0..2 * QUARANTINE_BLOCKS)
                .map(|_| StaleFooter.alloc(layout(40)))
                .collect();
            assert!(!pool.contains(&std::ptr::null_mut()));
            let (first, second) = pool.split_at(QUARANTINE_BLOCKS);
            let before = StaleFooter.alloc(layout(1000));
            let victim = StaleFooter.alloc(layout(1000));
            let guard = StaleFooter.alloc(layout(4000));
            assert!(![before, victim, guard].contains(&std::ptr::null_mut()));
            before.write_bytes(0xab, 1000);
            StaleFooter.dealloc(victim, layout(1000));
            push_out(&StaleFooter);
            assert!(take().is_empty());
            // The freed chunk split in two blocks; the first freed again,
            // out of the quarantine: a free chunk whose footer lies inside
            // the old block, just before the second.
            let x = StaleFooter.alloc(layout(200));
            let y = StaleFooter.alloc(layout(200));
            assert_eq!(x, victim);
            assert_eq!(y.addr(), x.addr() + chunk_for(200 + canary));
            StaleFooter.dealloc(x, layout(200));
            for &block in first {
                StaleFooter.dealloc(block, layout(40));
            }
            assert!(take().is_empty());
            let footer = y.addr() - 2 * w;
            victim
                .add(footer - victim.addr())
                .cast::<usize>()
                .write(stale(before.addr(), y.addr() - w));
            // The second freed, out of the quarantine: it merges back.
            StaleFooter.dealloc(y, layout(200));
            // The call that found the footer released the second block
            // from the quarantine, and no other.
            let (was, now) = around_the_report(&StaleFooter, second, StaleFooter::stats, || {
                StaleFooter::checks().misuses
            });
            let leaked = was.leaked + was.large_free + 200 + canary;
            assert_eq!(now.leaked, leaked, "{was:?}\n{now:?}");
            assert_eq!(now.large_free, 0, "{now:?}");
            caught_stale_link(&StaleFooter, before, 1000, StaleFooter::verify);
            StaleFooter.dealloc(guard, layout(4000));
        }
    }
}

/// Frees `blocks`, live blocks of 40 bytes of `heap` (a checked type with
/// statistics, which has reported no misuse), in turn: the statistics
/// before and after the free that reported the first misuse. Panics if
/// none did.
///
/// # Safety
///
/// The blocks are `heap`'s, live, of 40 bytes.
unsafe fn around_the_report(
    heap: &impl GlobalAlloc,
    blocks: &[*mut u8],
    stats: fn() -> Stats,
    misuses: fn() -> usize,
) -> (Stats, Stats) {
    assert_eq!(misuses(), 0);
    let mut found = None;
    for &block in blocks {
        let was = stats();
        // SAFETY: the caller's promise.
        unsafe { heap.dealloc(block, layout(40)) };
        if found.is_none() && misuses() == 1 {
            found = Some((was, stats()));
        }
    }
    found.expect("a misuse reported")
}

/// Carves two blocks of 200 bytes, `a` then `b`, out of an old block of
/// 1000 freed and out of the quarantine, so that `b`'s header lies in the
/// old block's memory (where a stale pointer to it writes): returns `a`
/// (the old block's address), `b`, and a block after them to free last.
///
/// # Safety
///
/// `heap` is a checked type with `bins = []` and `large = coalesce`; the
/// caller holds `serial()`.
unsafe fn carved_twice(heap: &impl GlobalAlloc) -> (*mut u8, *mut u8, *mut u8) {
    // SAFETY: live blocks with their layout.
    unsafe {
        // Blocks to push the quarantine out, allocated first so that the
        // table has grown (and freed its old blocks) before the old block
        // is carved.
        let pool: Vec<_> = (0..QUARANTINE_BLOCKS)
            .map(|_| heap.alloc(layout(40)))
            .collect();
        let old = heap.alloc(layout(1000));
        let guard = heap.alloc(layout(4000));
        assert!(!pool.contains(&std::ptr::null_mut()));
        assert!(![old, guard].contains(&std::ptr::null_mut()));
        heap.dealloc(old, layout(1000));
        for block in pool {
            heap.dealloc(block, layout(40));
        }
        assert!(take().is_empty());
        let a = heap.alloc(layout(200));
        let b = heap.alloc(layout(200));
        assert_eq!(a, old);
        assert_eq!(b.addr(), a.addr() + chunk_for(200 + check::CANARY));
        (a, b, guard)
    }
}

#[lite_alloc(bins = [], large = coalesce, realloc, check, memory = arena(1 << 20))]
struct StaleNeighbour;

/// A stale write over the header of a live block (through the old block
/// whose memory it now lies in) before the block ahead of it grows: that
/// block moves (its neighbour is in use, and its written size is not added
/// to anything: it overflowed, from a review), and the written header is
/// found when its block is freed.
#[test]
fn a_block_grows_next_to_a_stale_live_header() {
    let _serial = serial();
    let w = size_of::<usize>();
    // SAFETY: a checked coalescing type, the lock held; live blocks with
    // their layout; the stale write is the misuse under test, inside the
    // freed block's memory.
    unsafe {
        let (a, b, guard) = carved_twice(&StaleNeighbour);
        a.add(b.addr() - w - a.addr())
            .cast::<usize>()
            .write(usize::MAX);
        let grown = StaleNeighbour.realloc(a, layout(200), 400);
        assert!(!grown.is_null());
        assert_ne!(grown, a, "grown into a block in use");
        assert!(take().is_empty());
        StaleNeighbour.dealloc(b, layout(200));
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
        StaleNeighbour.dealloc(grown, layout(400));
        StaleNeighbour.dealloc(guard, layout(4000));
        StaleNeighbour::verify();
        assert!(take().is_empty());
    }
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 20))]
struct StaleFlag;

/// A stale write that flips, in a live block's header, only the flag that
/// says the chunk before is free (the checked layer's record of the
/// header leaves it out, as the heap changes it): `verify()` reports a use
/// after free there (it panicked with the heap's own corruption, from a
/// review), and freeing the block instead reads the chunk before's words,
/// finds no free chunk there and reports it too. Then calls go on.
/// `verify()` compares the flag with the chunk before only with debug
/// assertions: without them, only the pass that frees the block runs.
#[test]
fn a_stale_write_into_a_headers_flag_for_the_chunk_before() {
    let _serial = serial();
    let w = size_of::<usize>();
    let passes: &[bool] = if cfg!(debug_assertions) {
        &[true, false]
    } else {
        &[false]
    };
    for &verify_first in passes {
        // SAFETY: as above.
        unsafe {
            StaleFlag::reset();
            let (a, b, guard) = carved_twice(&StaleFlag);
            let header = a.add(b.addr() - w - a.addr()).cast::<usize>();
            header.write(header.read() ^ 2);
            if verify_first {
                StaleFlag::verify();
                let seen = take();
                assert_eq!(seen.len(), 1, "{seen:#?}");
                assert_eq!((seen[0].kind, seen[0].block), (Kind::UseAfterFree, None));
                assert_eq!(seen[0].pointer, b.addr() - w, "{}", seen[0]);
            }
            StaleFlag.dealloc(b, layout(200));
            push_out(&StaleFlag);
            let seen = take();
            assert_eq!(seen.len(), usize::from(!verify_first), "{seen:#?}");
            StaleFlag.dealloc(a, layout(200));
            StaleFlag.dealloc(guard, layout(4000));
            push_out(&StaleFlag);
            StaleFlag::verify();
            assert!(take().is_empty());
        }
    }
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 20))]
struct StaleOverLive;

/// Two stale writes inside an old block: a listed free chunk's size grown
/// over the live block after it (to a size of the same list) and a footer
/// to match, in the live block's last words. Its links are the heap's own.
/// The request that takes the chunk finds, after the size written, a
/// header that does not follow a free chunk, and leaves the chunk alone
/// (it handed out the live block and wrote the rest's header into it,
/// from a review).
#[test]
fn a_free_chunk_grown_over_a_live_block_is_caught_when_it_is_taken() {
    let _serial = serial();
    let w = size_of::<usize>();
    let canary = check::CANARY;
    // A request whose chunk is 1024 bytes.
    let middle = 1024 - w - canary;
    assert_eq!(chunk_for(middle + canary), 1024);
    // SAFETY: live blocks with their layout; the stale writes are the
    // misuse under test, inside the freed block's memory.
    unsafe {
        let pool: Vec<_> = (0..QUARANTINE_BLOCKS)
            .map(|_| StaleOverLive.alloc(layout(40)))
            .collect();
        assert!(!pool.contains(&std::ptr::null_mut()));
        let old = StaleOverLive.alloc(layout(3000));
        let guard = StaleOverLive.alloc(layout(4000));
        assert!(![old, guard].contains(&std::ptr::null_mut()));
        StaleOverLive.dealloc(old, layout(3000));
        push_out(&StaleOverLive);
        let first = StaleOverLive.alloc(layout(200));
        let freed = StaleOverLive.alloc(layout(middle));
        let live = StaleOverLive.alloc(layout(200));
        assert_eq!(first, old);
        assert_eq!(live.addr(), freed.addr() + 1024);
        live.write_bytes(0xab, 200);
        StaleOverLive.dealloc(freed, layout(middle));
        for block in pool {
            StaleOverLive.dealloc(block, layout(40));
        }
        assert!(take().is_empty());
        // The freed chunk, grown over the live block: still in its list.
        let grown = 1024 + chunk_for(200 + canary);
        let chunk = freed.addr() - w;
        let at = |addr: usize| old.add(addr - old.addr()).cast::<usize>();
        at(chunk).write(free_header(grown));
        at(chunk + grown - w).write(grown);
        let block = StaleOverLive.alloc(layout(1100));
        assert!(!block.is_null());
        assert!(
            block.addr() + 1100 <= live.addr() || live.addr() + 200 <= block.addr(),
            "{block:p} handed out over the live block {live:p}"
        );
        caught_stale_link(&StaleOverLive, live, 200, StaleOverLive::verify);
    }
}

#[lite_alloc(bins = [], large = coalesce, realloc, check, stats, memory = arena(1 << 20))]
struct RefusedCounted;

/// What a refused free leaves alone counts as leaked, with the free chunks
/// the lists forget then: a block freed between two free chunks merges
/// with the one before it (taken out of its list) and finds the one after
/// it written through a stale pointer; and a block shrunk in place frees a
/// tail that finds the same (the tail is then a chunk no one owns). A tail
/// that is not refused is free, not leaked.
#[test]
fn what_a_refused_free_leaves_alone_counts_as_leaked() {
    let _serial = serial();
    let canary = check::CANARY;
    let pool = |n: usize| -> Vec<*mut u8> {
        // SAFETY: a valid layout.
        let blocks: Vec<_> = (0..n)
            .map(|_| unsafe { RefusedCounted.alloc(layout(40)) })
            .collect();
        assert!(!blocks.contains(&std::ptr::null_mut()));
        blocks
    };
    // SAFETY: live blocks with their layout; the stale writes are the
    // misuse under test, inside freed blocks' memory.
    unsafe {
        // Merged with the chunk before, then refused.
        let (first, second) = (pool(QUARANTINE_BLOCKS), pool(QUARANTINE_BLOCKS));
        let front = RefusedCounted.alloc(layout(100));
        let x = RefusedCounted.alloc(layout(1000));
        let b = RefusedCounted.alloc(layout(200));
        let y = RefusedCounted.alloc(layout(3000));
        let guard = RefusedCounted.alloc(layout(4000));
        assert!(![front, x, b, y, guard].contains(&std::ptr::null_mut()));
        assert_eq!(b.addr(), x.addr() + chunk_for(1000 + canary));
        assert_eq!(y.addr(), b.addr() + chunk_for(200 + canary));
        RefusedCounted.dealloc(x, layout(1000));
        RefusedCounted.dealloc(y, layout(3000));
        for block in first {
            RefusedCounted.dealloc(block, layout(40));
        }
        assert!(take().is_empty());
        y.cast::<usize>().write(0x1230);
        RefusedCounted.dealloc(b, layout(200));
        let (was, now) = around_the_report(&RefusedCounted, &second, RefusedCounted::stats, || {
            RefusedCounted::checks().misuses
        });
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
        // The chunk before counted with the lists' (it was one of them).
        assert_eq!(now.large_free, 0, "{now:?}");
        let leaked = was.leaked + was.large_free + 200 + canary;
        assert_eq!(now.leaked, leaked, "{was:?}\n{now:?}");

        // A tail freed as the heap wrote it: free, not leaked.
        let tail = chunk_for(1000 + canary) - chunk_for(200 + canary);
        RefusedCounted::reset();
        let a = RefusedCounted.alloc(layout(1000));
        let guard = RefusedCounted.alloc(layout(4000));
        assert!(!a.is_null() && !guard.is_null());
        let was = RefusedCounted::stats();
        assert_eq!(RefusedCounted.realloc(a, layout(1000), 200), a);
        let now = RefusedCounted::stats();
        assert_eq!(now.large_free, was.large_free + tail, "{was:?}\n{now:?}");
        assert_eq!(now.leaked, was.leaked, "{was:?}\n{now:?}");
        assert!(take().is_empty());

        // A tail refused.
        RefusedCounted::reset();
        let first = pool(QUARANTINE_BLOCKS);
        let front = RefusedCounted.alloc(layout(100));
        let a = RefusedCounted.alloc(layout(1000));
        let y = RefusedCounted.alloc(layout(3000));
        let guard = RefusedCounted.alloc(layout(4000));
        assert!(![front, a, y, guard].contains(&std::ptr::null_mut()));
        assert_eq!(y.addr(), a.addr() + chunk_for(1000 + canary));
        RefusedCounted.dealloc(y, layout(3000));
        for block in first {
            RefusedCounted.dealloc(block, layout(40));
        }
        assert!(take().is_empty());
        y.cast::<usize>().write(0x1230);
        let was = RefusedCounted::stats();
        let shrunk = RefusedCounted.realloc(a, layout(1000), 200);
        let now = RefusedCounted::stats();
        assert_eq!(shrunk, a, "shrunk in place");
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
        assert_eq!(now.large_free, 0, "{now:?}");
        assert_eq!(
            now.leaked,
            was.leaked + was.large_free + tail,
            "{was:?}\n{now:?}"
        );
    }
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 20))]
struct ZeroedLink;

#[lite_alloc(bins = [], large = coalesce, check, stats, memory = arena(1 << 20))]
struct ZeroedLinkCounted;

/// A zero written over a free chunk's link to the next, which cuts its
/// list short: `unlink` cannot tell (docs/checked.md), but `verify()`
/// finds fewer chunks in the lists than the heap holds (with debug
/// assertions, which keep the regions to walk, or statistics): a use after
/// free, not the heap's fault (it panicked with the heap's corruption, from
/// a review).
#[test]
fn a_list_cut_short_found_by_verify_is_a_use_after_free() {
    let _serial = serial();
    cut_short(&ZeroedLink, ZeroedLink::verify, cfg!(debug_assertions));
    cut_short(&ZeroedLinkCounted, ZeroedLinkCounted::verify, true);
}

/// Cuts a list of `heap` short, and checks what `verify()` says when
/// `found`, else that it says nothing.
fn cut_short<A: GlobalAlloc>(heap: &A, verify: fn(), found: bool) {
    // SAFETY: live blocks with their layout; the stale write is the misuse
    // under test, on the heap's memory.
    unsafe {
        // Blocks 1 and 3 freed, each between live blocks (merged with
        // none).
        let blocks: Vec<_> = (0..5).map(|_| heap.alloc(layout(200))).collect();
        assert!(!blocks.contains(&std::ptr::null_mut()));
        heap.dealloc(blocks[1], layout(200));
        heap.dealloc(blocks[3], layout(200));
        push_out(heap);
        verify();
        assert!(take().is_empty());
        // The list: block 3's chunk, then block 1's.
        assert_eq!(
            blocks[3].cast::<usize>().read(),
            blocks[1].addr() - size_of::<usize>()
        );
        blocks[3].cast::<usize>().write(0);
        verify();
        let seen = take();
        if found {
            assert_eq!(seen.len(), 1, "{seen:#?}");
            assert_eq!((seen[0].kind, seen[0].block), (Kind::UseAfterFree, None));
        } else {
            assert!(seen.is_empty(), "{seen:#?}");
        }
        for i in [0, 2, 4] {
            heap.dealloc(blocks[i], layout(200));
        }
        verify();
    }
    assert!(take().is_empty());
}

#[lite_alloc(bins = [16, 32, 64, 128], large = coalesce, check, stats, memory = arena(1 << 20))]
struct StaleCounted;

/// The chunks the heap forgets when it finds a chunk's words written are
/// never handed out again: they leave `large_free` for `leaked` (they
/// stayed counted as free, from a review).
#[test]
fn forgotten_chunks_count_as_leaked() {
    let _serial = serial();
    // SAFETY: a coalescing checked type; the serial lock is held; then
    // blocks with their layout.
    unsafe {
        let (_, live, _) = stale_chunk_link(&StaleCounted, 200, STALE[2]);
        let before = StaleCounted::stats();
        assert!(before.large_free > 0);
        let block = StaleCounted.alloc(layout(200));
        assert!(!block.is_null());
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        let after = StaleCounted::stats();
        assert_eq!(after.large_free, 0, "{after}");
        assert_eq!(after.leaked, before.leaked + before.large_free, "{after}");
        StaleCounted.dealloc(block, layout(200));
        StaleCounted.dealloc(live, layout(200));
    }
    assert!(take().is_empty());
}

#[lite_alloc(bins = [], large = coalesce, realloc, check, memory = arena(16 << 20))]
/// No bins, every block a chunk, as `General`.
struct StressNoBins;
#[lite_alloc(bins = [16, 32, 64, 128], large = coalesce, realloc, check, memory = arena(16 << 20))]
/// Bins carved from slabs in front of the chunks.
struct StressBins;
#[lite_alloc(large = coalesce, check, memory = arena(16 << 20))]
/// The default bins, without in-place `realloc`.
struct StressDefault;
#[lite_alloc(bins = [16, 32, 64, 128], large = coalesce, realloc, check, memory = claimed)]
/// On many claimed regions, given up and fenced as the heap moves on.
struct StressClaimed;
#[lite_alloc(bins = [], large = coalesce, realloc, check, memory = claimed)]
/// The same without bins.
struct StressClaimedNoBins;

/// Xorshift: the same sequence for a seed on every target.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mostly small sizes, some up to 150 KB.
fn stress_size(r: &mut Rng) -> usize {
    match r.below(10) {
        0..=3 => 1 + r.below(160),
        4..=6 => 1 + r.below(2048),
        7 | 8 => 1 + r.below(20_000),
        _ => 1 + r.below(150_000),
    }
}

/// Mostly up to 8, a third up to 4096.
fn stress_align(r: &mut Rng) -> usize {
    if r.below(3) == 0 {
        1 << r.below(13)
    } else {
        1 << r.below(4)
    }
}

/// Fills the `n` bytes at `p` with `tag`.
fn fill(p: *mut u8, n: usize, tag: u8) {
    // SAFETY: a live block of at least n bytes.
    unsafe { p.write_bytes(tag, n) };
}

/// `ops` random calls on `a` (a checked type), without a misuse: blocks
/// of varied sizes and alignments, freed from the front, the back or the
/// middle, reallocated smaller and larger; their contents checked, and
/// `verify()` every 4096 calls. Nothing may be reported.
fn stress<A: GlobalAlloc>(
    a: &A,
    verify: fn(),
    misuses: fn() -> usize,
    seed: u64,
    ops: usize,
    max_live: usize,
) {
    let start = misuses();
    let mut r = Rng(seed);
    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
    for i in 0..ops {
        let op = r.below(10);
        if (op < 4 && live.len() < max_live) || live.is_empty() {
            let l = Layout::from_size_align(stress_size(&mut r), stress_align(&mut r)).unwrap();
            // SAFETY: a valid layout.
            let p = unsafe {
                if r.below(4) == 0 {
                    a.alloc_zeroed(l)
                } else {
                    a.alloc(l)
                }
            };
            if !p.is_null() {
                assert_eq!(p.addr() % l.align(), 0);
                let tag = r.next() as u8;
                fill(p, l.size(), tag);
                live.push((p, l, tag));
            }
        } else if op < 7 {
            // Free: from the front, back or middle.
            let idx = match r.below(3) {
                0 => 0,
                1 => live.len() - 1,
                _ => r.below(live.len()),
            };
            let (p, l, tag) = live.swap_remove(idx);
            // SAFETY: a live block.
            unsafe {
                assert!(
                    (0..l.size()).step_by(97).all(|k| p.add(k).read() == tag),
                    "block damaged at op {i}"
                );
                a.dealloc(p, l);
            }
        } else {
            let idx = r.below(live.len());
            let (p, l, tag) = live[idx];
            let new = match r.below(4) {
                0 => (l.size() / 2).max(1),
                1 => l.size() + 1 + r.below(64),
                2 => l.size() * 2,
                _ => stress_size(&mut r),
            };
            // SAFETY: a live block with its layout.
            let q = unsafe { a.realloc(p, l, new) };
            if !q.is_null() {
                let keep = l.size().min(new);
                // SAFETY: the block, `keep` bytes kept.
                unsafe {
                    assert!(
                        (0..keep).step_by(61).all(|k| q.add(k).read() == tag),
                        "realloc lost data at op {i}"
                    )
                };
                let nl = Layout::from_size_align(new, l.align()).unwrap();
                fill(q, new, tag);
                live[idx] = (q, nl, tag);
            }
        }
        if i % 4096 == 0 {
            verify();
            assert_eq!(
                misuses() - start,
                0,
                "false positive by op {i} (seed {seed}): {:#?}",
                take()
            );
        }
    }
    // Free in a random order.
    while !live.is_empty() {
        let (p, l, _) = live.swap_remove(r.below(live.len()));
        // SAFETY: a live block.
        unsafe { a.dealloc(p, l) };
    }
    push_out(a);
    verify();
    assert_eq!(
        misuses() - start,
        0,
        "false positive (seed {seed}): {:#?}",
        take()
    );
    assert!(take().is_empty());
}

/// The checks of a free chunk's words (`may_unlink`) and of the free
/// lists (`verify()`) take no sound heap for a damaged one: a random
/// workload on checked coalescing types reports nothing (from a review,
/// which ran it for 200000 calls and 8 seeds, in debug, release and size
/// builds; `STRESS_OPS` and `STRESS_SEEDS` set the length here).
#[test]
fn checked_coalescing_heaps_report_nothing_under_a_random_workload() {
    let _serial = serial();
    let ops: usize = std::env::var("STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000);
    let seeds: u64 = std::env::var("STRESS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for seed in 1..=seeds {
        let s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        stress(
            &StressNoBins,
            StressNoBins::verify,
            || StressNoBins::checks().misuses,
            s,
            ops,
            200,
        );
        stress(
            &StressBins,
            StressBins::verify,
            || StressBins::checks().misuses,
            s,
            ops,
            200,
        );
        stress(
            &StressDefault,
            StressDefault::verify,
            || StressDefault::checks().misuses,
            s,
            ops,
            200,
        );
        // Every block is dead: the heaps start again (a `reset`), and the
        // next seed runs on them.
        // SAFETY: no block of these types is live.
        unsafe {
            StressNoBins::reset();
            StressBins::reset();
        }
    }
}

/// The same on claimed regions: many, given up and fenced as the heap
/// moves on, each a separate object (`Memory::holds` walks them).
#[test]
fn checked_coalescing_heaps_on_claimed_regions_report_nothing() {
    let _serial = serial();
    let ops: usize = std::env::var("STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000);
    // SAFETY: regions of their own, used by nothing else from now on.
    unsafe {
        for _ in 0..24 {
            let bank: &'static mut [u8] = Box::leak(vec![0u8; 300 << 10].into_boxed_slice());
            StressClaimed.claim(bank.as_mut_ptr(), bank.len());
            let bank: &'static mut [u8] = Box::leak(vec![0u8; 300 << 10].into_boxed_slice());
            StressClaimedNoBins.claim(bank.as_mut_ptr(), bank.len());
        }
    }
    stress(
        &StressClaimed,
        StressClaimed::verify,
        || StressClaimed::checks().misuses,
        0x1234_5678_9abc_def1,
        ops,
        60,
    );
    stress(
        &StressClaimedNoBins,
        StressClaimedNoBins::verify,
        || StressClaimedNoBins::checks().misuses,
        0x0fed_cba9_8765_4321,
        ops,
        60,
    );
}

#[lite_alloc(bins = [], large = coalesce, realloc, check, memory = arena(1 << 20))]
struct HeaderWritten;

/// How the block whose header a stale write reaches comes back to the
/// heap: freed (the check at `dealloc`), freed before the write (the check
/// when it leaves the quarantine), resized (at `realloc`), or not at all
/// (`verify()`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Back {
    Freed,
    FreedFirst,
    Resized,
    Verified,
}

/// A block of 256 bytes freed and pushed out of the quarantine, whose
/// chunk then serves two blocks of 40 bytes aligned to `align`: the
/// header of the second (or, over-aligned, its marker or its chunk's
/// header: `word` 0 or 1) lies in the old block's bytes, and the old
/// block's owner writes `value(old)` there, `old` being what it held (with
/// `freed`, after the second block was freed: it waits in the quarantine).
/// Returns the second block and the address written.
///
/// # Safety
///
/// The caller holds `serial()`; this resets `HeaderWritten` first.
unsafe fn stale_header(
    align: usize,
    word: usize,
    value: fn(usize) -> usize,
    freed: bool,
) -> (*mut u8, usize) {
    let heap = &HeaderWritten;
    let big = Layout::from_size_align(256, 8).unwrap();
    let small = Layout::from_size_align(40, align).unwrap();
    // SAFETY: live blocks with their layouts; the stale write is the
    // misuse under test, inside the old block's bytes (asserted).
    unsafe {
        // The arena is aligned to 16 only, and where the linker puts it
        // decides where a 64-aligned block falls in the old one: a bigger
        // first block moves the old one 16 bytes at a time, to the same
        // place modulo 64 on every build, so that the words the test
        // writes lie alike on every build.
        let mut victim = std::ptr::null_mut();
        for more in [0, 16, 32, 48] {
            HeaderWritten::reset();
            let before = heap.alloc(layout(64 + more));
            victim = heap.alloc(big);
            let after = heap.alloc(layout(64));
            assert!(![before, victim, after].contains(&std::ptr::null_mut()));
            if victim.addr() % 64 == 16 {
                break;
            }
        }
        assert_eq!(victim.addr() % 64, 16, "{victim:p}");
        heap.dealloc(victim, big);
        push_out(heap);
        let first = heap.alloc(small);
        let second = heap.alloc(small);
        assert!(first.addr() >= victim.addr() && second.addr() < victim.addr() + 256);
        let w = size_of::<usize>();
        let marker = second.addr() - w;
        let at = if word == 0 {
            marker
        } else {
            // The over-aligned block's chunk: the marker says how far.
            let distance = second.sub(w).cast::<usize>().read();
            assert_eq!(distance & 7, 4, "a marker before the block");
            marker - (distance & !7)
        };
        assert!(
            at >= victim.addr() && at + w <= victim.addr() + 256,
            "{at:#x}"
        );
        if freed {
            heap.dealloc(second, small);
        }
        assert!(take().is_empty());
        let stale = victim.add(at - victim.addr()).cast::<usize>();
        stale.write(value(stale.read()));
        (second, at)
    }
}

/// Docs/checked.md: with `large = coalesce`, a stale write into the header
/// of a block in use (in memory a block freed earlier held) is caught
/// before the heap follows it: when the block comes back (freed, leaving
/// the quarantine, resized) or by `verify()`. One use after free naming
/// the block and the word; the call then goes on (a free, a `realloc`
/// that moves), the block never goes back to the heap, which is poisoned
/// and still serves. Without the check, the heap took the word for the
/// block's size or its marker when the block came back, and followed it.
#[test]
fn a_stale_write_into_a_live_blocks_header_is_caught() {
    let _serial = serial();
    let backs = [Back::Freed, Back::FreedFirst, Back::Resized, Back::Verified];
    let words = [(8, 0), (64, 0), (64, 1)];
    // Every way back with every word natively; under Miri, for time, each
    // way back with one word, the four covering all three.
    let cases = backs.iter().enumerate().flat_map(|(b, &back)| {
        words
            .iter()
            .enumerate()
            .filter(move |&(w, _)| !cfg!(miri) || w == b % words.len())
            .map(move |(_, &word)| (back, word))
    });
    let cases: Vec<_> = cases.collect();
    assert_eq!(cases.len(), if cfg!(miri) { 4 } else { 12 });
    for (back, (align, word)) in cases {
        // A grain more (the one other size a chunk may have for the
        // block), a size far past the heap, the header of a free chunk,
        // zero, a pointer; the old word with its top byte and its low
        // byte changed in step (the first only under Miri, for time).
        let values: [fn(usize) -> usize; 6] = [
            |old| old + 2 * size_of::<usize>(),
            |_| 0x7fff_fff0 | 1,
            |_| free_header(48),
            |_| 0,
            |_| 0x1000,
            |old| old ^ 8 ^ 8 << (usize::BITS - 8),
        ];
        for (i, value) in values[..if cfg!(miri) { 1 } else { values.len() }]
            .iter()
            .enumerate()
        {
            let small = Layout::from_size_align(40, align).unwrap();
            // SAFETY: the serial lock is held; then blocks with their
            // layouts, but for the misuse under test.
            unsafe {
                let (second, at) = stale_header(align, word, *value, back == Back::FreedFirst);
                match back {
                    Back::Freed => HeaderWritten.dealloc(second, small),
                    // Written while it waits in the quarantine.
                    Back::FreedFirst => push_out(&HeaderWritten),
                    // Reported, then made again: the block moves.
                    Back::Resized => {
                        let moved = HeaderWritten.realloc(second, small, 48);
                        assert!(!moved.is_null() && moved != second, "{moved:p}");
                        let grown = Layout::from_size_align(48, align).unwrap();
                        HeaderWritten.dealloc(moved, grown);
                    }
                    Back::Verified => HeaderWritten::verify(),
                }
                let seen = take();
                let case = format!("{back:?}, align {align}, word {word}, value {i}");
                assert_eq!(seen.len(), 1, "{case}: {seen:#?}");
                let misuse = seen[0];
                assert_eq!(misuse.kind, Kind::UseAfterFree, "{case}: {misuse}");
                assert_eq!(misuse.header.map(|h| h.get()), Some(at), "{case}: {misuse}");
                let block = misuse.block.expect("the block is named");
                assert_eq!(block.address, second.addr(), "{case}: {misuse}");
                assert_eq!(block.freed, back == Back::FreedFirst, "{case}: {misuse}");
                assert!(
                    misuse
                        .to_string()
                        .contains("the heap's header of the block at"),
                    "{case}: {misuse}"
                );
                // Poisoned, it still serves and checks.
                let blocks: Vec<_> = (0..8).map(|_| HeaderWritten.alloc(small)).collect();
                assert!(!blocks.contains(&std::ptr::null_mut()), "{case}");
                for block in blocks {
                    HeaderWritten.dealloc(block, small);
                }
                push_out(&HeaderWritten);
                HeaderWritten::verify();
                assert!(take().is_empty(), "{case}");
            }
        }
    }
}

#[lite_alloc(check, memory = arena(1 << 20))]
struct SelfLinked;

/// Docs/checked.md: a write to a spare's link is found. From a review: a
/// link set to the spare itself (a freed list node's `node.next = node`
/// through a dangling pointer) passed for a link to a spare, the block
/// handed out stayed at the list's head, and the next request took the
/// live block for a spare: it reported it as freed, dropped its entry (its
/// owner's free was then foreign) and, with no other spare, wrapped the
/// spares' count below zero, a panic out of `alloc` in debug builds. With
/// one spare and with two; each found when the spare is taken, which is
/// never handed out, and the owner of the next block frees it cleanly.
#[test]
fn a_spare_linked_to_itself_is_reported() {
    let _serial = serial();
    for spares in [1, 2] {
        // SAFETY: the serial lock is held; blocks with their layout, but
        // for the misuse under test (a write to a spare's link).
        unsafe {
            SelfLinked::reset();
            let blocks: Vec<_> = (0..spares).map(|_| SelfLinked.alloc(layout(128))).collect();
            for &block in &blocks {
                SelfLinked.dealloc(block, layout(128));
            }
            push_out(&SelfLinked);
            assert_eq!(SelfLinked::checks().spare_blocks, spares);
            assert!(take().is_empty());
            // The spare freed last heads the list.
            let stale = blocks[spares - 1];
            stale.cast::<usize>().write(stale.addr());
            let first = SelfLinked.alloc(layout(128));
            let seen = take();
            assert_eq!(seen.len(), 1, "{spares} spares: {seen:#?}");
            assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
            assert_eq!(seen[0].block.map(|b| b.address), Some(stale.addr()));
            assert!(!first.is_null() && first != stale, "{first:p}");
            first.write_bytes(0x11, 128);
            let second = SelfLinked.alloc(layout(128));
            assert!(!second.is_null() && second != first, "{second:p}");
            SelfLinked.dealloc(first, layout(128));
            SelfLinked.dealloc(second, layout(128));
            SelfLinked::verify();
            assert!(take().is_empty(), "{spares} spares");
        }
    }
}

/// Bins whose alignments differ: only the first carves at 16 bytes.
#[lite_alloc(bins = [16, 24, 40, 56], check, memory = arena(65536))]
struct AlignedSpill;

/// The same unchecked.
#[lite_alloc(bins = [16, 24, 40, 56], memory = arena(65536))]
struct AlignedSpillPlain;

/// Docs/checked.md: a checked type does not leak what the unchecked one
/// reuses. From a review: a request of 16 bytes aligned to 16 is the bin of
/// 16's; with the canary no bin carves it at 16, so it is a large block,
/// which this heap never reuses, and only requests pushed past the largest
/// bin were kept as spares: a program freeing and allocating one such block
/// ran out of a 64 KiB arena after 560 rounds. Unchecked and checked, a
/// hundred thousand rounds.
#[test]
fn an_aligned_request_spilled_by_the_canary_is_kept_as_a_spare() {
    let _serial = serial();
    let aligned = Layout::from_size_align(16, 16).unwrap();
    for checked in [false, true] {
        for round in 0..100_000 {
            // SAFETY: a valid layout; the block freed with it.
            unsafe {
                let block = if checked {
                    AlignedSpill.alloc(aligned)
                } else {
                    AlignedSpillPlain.alloc(aligned)
                };
                assert!(!block.is_null(), "checked {checked}: null at round {round}");
                assert!(block.addr().is_multiple_of(16));
                if checked {
                    AlignedSpill.dealloc(block, aligned);
                } else {
                    AlignedSpillPlain.dealloc(block, aligned);
                }
            }
        }
    }
    AlignedSpill::verify();
    assert!(take().is_empty());
    assert!(AlignedSpill::checks().spare_blocks > 0);
}

/// Blocks aligned to 32 MiB need an arena of twice that.
#[cfg(target_pointer_width = "32")]
#[lite_alloc(bins = [], large = coalesce, check, memory = arena(1 << 26))]
struct HugeAlign;

/// As above, before a block aligned to 32 MiB on a 32-bit target, whose
/// marker leads back up to that far: the marker is compared exactly
/// before it is followed. From a review: a tag that kept 24 bits, the
/// bits above folded in, let a write that changed bit 24 and bit 0 in step
/// pass, and the check then read a "header" 16 MiB before the chunk,
/// outside the heap's memory (undefined behaviour under Miri, SIGSEGV on
/// i686).
#[cfg(target_pointer_width = "32")]
#[test]
fn a_stale_write_into_a_marker_is_caught_before_it_is_followed() {
    let _serial = serial();
    let w = size_of::<usize>();
    let huge = Layout::from_size_align(40, 1 << 25).unwrap();
    // SAFETY: the serial lock is held; a block with its layout, but for
    // the misuse under test.
    unsafe {
        HugeAlign::reset();
        let block = HugeAlign.alloc(huge);
        assert!(!block.is_null());
        let marker = block.sub(w).cast::<usize>();
        let old = marker.read();
        assert_eq!(old & 7, 4, "a marker before the block");
        marker.write(old ^ 1 ^ 1 << 24);
        HugeAlign::verify();
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(seen[0].kind, Kind::UseAfterFree, "{}", seen[0]);
        assert_eq!(seen[0].header.map(|h| h.get()), Some(block.addr() - w));
    }
}

#[lite_alloc(bins = [], large = coalesce, realloc, check, memory = arena(1 << 20))]
struct Flip;
#[lite_alloc(bins = [16, 32, 64, 128], large = coalesce, realloc, check, memory = arena(1 << 20))]
struct FlipSlabs;

/// Every single-bit change (and zero, all ones, a grain more) of the header
/// before a live block, of an over-aligned block's marker and of the chunk
/// header behind it, is reported by `verify()` at that word, but bit 1 of a
/// header (the flag of the chunk before, documented as not caught). From
/// the fourth review.
fn flips<A: GlobalAlloc>(a: &A, reset: unsafe fn(), verify: fn(), name: &str) {
    let w = size_of::<usize>();
    for (size, align, which) in [
        (300usize, 8usize, 0usize),
        (300, 64, 0),
        (300, 64, 1),
        (5000, 4096, 0),
        (5000, 4096, 1),
        (3, 8, 0),
        (200, 32, 0),
        (200, 32, 1),
    ] {
        if size < 128 && name == "FlipSlabs" {
            // a bin block: no word of its own
            continue;
        }
        let bits = usize::BITS as usize;
        for change in 0..bits + 3 {
            // SAFETY: the type is reset and used by this test alone; blocks
            // with their layouts, but for the misuse under test (one word
            // before a live block, the heap's).
            unsafe {
                let l = Layout::from_size_align(size, align).unwrap();
                // A chunk in front, larger than every bin (a bin block
                // would come from the slab), then the block: an
                // over-aligned one always has a marker before it, wherever
                // the linker put the arena.
                reset();
                let pad = a.alloc(Layout::from_size_align(40, 8).unwrap());
                let front = a.alloc(Layout::from_size_align(160, 8).unwrap());
                let block = a.alloc(l);
                let after = a.alloc(Layout::from_size_align(40, 8).unwrap());
                assert!(![pad, front, block, after].contains(&std::ptr::null_mut()));
                let old = block.sub(w).cast::<usize>().read();
                assert!(
                    align == 8 || old & 4 != 0,
                    "{name}: size {size} align {align}: no marker"
                );
                let word = block.sub(w).cast::<usize>();
                let target = if which == 1 {
                    block.sub(w).sub(old & !7).cast::<usize>()
                } else {
                    word
                };
                let before = target.read();
                let new = if change < bits {
                    before ^ (1 << change)
                } else {
                    [0, usize::MAX, before.wrapping_add(16)][change - bits]
                };
                let exempt = change == 1 && !(which == 0 && old & 4 != 0);
                if exempt {
                    // bit 1 of a header: documented as not caught.
                    continue;
                }
                target.write(new);
                verify();
                let seen = take();
                let case = format!(
                    "{name}: size {size} align {align} word {which} change {change} {before:#x} -> {new:#x} (marker word {old:#x})"
                );
                assert_eq!(seen.len(), 1, "{case}: {seen:#?}");
                assert_eq!(
                    seen[0].header.map(|h| h.get()),
                    Some(target.addr()),
                    "{case}"
                );
            }
        }
    }
    // SAFETY: nothing of the type is used after.
    unsafe { reset() };
}

/// Docs/checked.md: a stale write into the header of a block in use is
/// caught, exactly (see `flips`), before and behind a marker, with bins in
/// front of the chunks too.
#[test]
fn every_bit_of_the_words_before_a_block_is_checked() {
    let _serial = serial();
    flips(&Flip, Flip::reset, Flip::verify, "Flip");
    flips(&FlipSlabs, FlipSlabs::reset, FlipSlabs::verify, "FlipSlabs");
}

/// The checked layer's own table grown into a freed block's memory: a
/// block freed and pushed out of the quarantine, its start taken again by
/// a request of 200 bytes, and the table, grown to 2048 slots, in the
/// rest, so that the header of the table's chunk lies inside the old
/// block, where its old owner writes. No list holds that chunk and no
/// entry of the table records its header. That header, as a pointer
/// through the old block (the stale pointer a test writes with).
///
/// # Safety
///
/// `heap` is a checked type with `bins = []` and `large = coalesce`, not
/// used before (or reset); the caller holds the serial lock. The blocks
/// are left live.
unsafe fn a_table_in_a_freed_block(heap: &impl GlobalAlloc) -> *mut usize {
    let w = size_of::<usize>();
    // The table's size once it doubles from 1024 slots (three words each),
    // and a freed block that holds it after a request of 200 bytes.
    let table = 2048 * 3 * w;
    let size = table + 1024;
    // SAFETY: live blocks with their layout (the caller's promise for the
    // heap); the header read is the heap's word inside the old block.
    unsafe {
        // 256 blocks, the table at 512 slots and full: the old block's
        // own entry grows it to 1024 slots, before it is carved.
        let pool: Vec<_> = (0..QUARANTINE_BLOCKS)
            .map(|_| heap.alloc(layout(40)))
            .collect();
        let old = heap.alloc(layout(size));
        let guard = heap.alloc(layout(size));
        assert!(!pool.contains(&std::ptr::null_mut()));
        assert!(![old, guard].contains(&std::ptr::null_mut()));
        // Live blocks up to 512 entries, the most 1024 slots hold, carved
        // before the old block is freed (they take what the tables left
        // free, and the unused memory).
        let pad: Vec<_> = (0..512 - QUARANTINE_BLOCKS - 2)
            .map(|_| heap.alloc(layout(40)))
            .collect();
        assert!(!pad.contains(&std::ptr::null_mut()));
        // The old block, freed and pushed out by the pool (its entry
        // leaves the table).
        heap.dealloc(old, layout(size));
        for &block in &pool {
            heap.dealloc(block, layout(40));
        }
        assert!(take().is_empty());
        // Its start taken again: 512 entries.
        let first = heap.alloc(layout(200));
        assert_eq!(first, old, "the freed chunk, split");
        let rest = old.add(chunk_for(200 + check::CANARY) - w).cast::<usize>();
        let before = rest.read();
        // One more: the table grows into the rest of the old block.
        assert!(!heap.alloc(layout(40)).is_null());
        assert!(take().is_empty());
        assert_eq!(
            rest.read(),
            chunk_for(table) | 1,
            "the table's chunk in the old block ({before:#x} there before)"
        );
        rest
    }
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(4 << 20))]
struct StaleTableHeader;

/// A stale write into the header of the chunk that holds the checked
/// layer's own table (`a_table_in_a_freed_block`). Found by `verify()`, which must report a use
/// after free, not panic with the heap's own corruption (its walk of the
/// regions found "a chunk's header has no chunk's size"); and found, with
/// no `verify()`, when the table grows again, before the heap takes its
/// old block back following the word (it read outside the heap, and the
/// process died of SIGSEGV). Then calls go on, and the table grows again
/// without following the word.
#[test]
fn a_stale_write_into_the_tables_header_is_a_use_after_free() {
    let _serial = serial();
    for verify_first in [true, false] {
        // SAFETY: the serial lock is held, the type is this test's alone,
        // reset before each pass; live blocks with their layout. The stale
        // write is the misuse under test, inside the freed block's memory.
        unsafe {
            StaleTableHeader::reset();
            let rest = a_table_in_a_freed_block(&StaleTableHeader);
            // A word of the old block's owner: 0 (no chunk's size, which
            // the walk of the regions would meet), or bytes that read as a
            // chunk in use of a size far past the heap.
            rest.write(if verify_first {
                0
            } else {
                usize::from_ne_bytes([0x41; size_of::<usize>()])
            });
            if verify_first {
                StaleTableHeader::verify();
            }
            let more: Vec<_> = (0..600)
                .map(|_| StaleTableHeader.alloc(layout(40)))
                .collect();
            assert!(!more.contains(&std::ptr::null_mut()));
            let seen = take();
            assert_eq!(seen.len(), 1, "{verify_first}: {seen:#?}");
            assert_eq!((seen[0].kind, seen[0].block), (Kind::UseAfterFree, None));
            assert_eq!(seen[0].header.map(|h| h.get()), Some(rest.addr()));
            assert!(
                seen[0]
                    .to_string()
                    .contains("the checked layer's own table"),
                "{}",
                seen[0]
            );
            StaleTableHeader::verify();
            assert!(take().is_empty());
        }
    }
    // SAFETY: nothing of the type is used after.
    unsafe { StaleTableHeader::reset() };
}

#[lite_alloc(bins = [], large = coalesce, check, memory = arena(4 << 20))]
struct StaleTableSlots;

/// Words in the table's slots once it has grown to 2048 (three words each,
/// `a_table_in_a_freed_block`).
const TABLE_WORDS: usize = 2048 * 3;

/// The call of a test that meets the table's slots written.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Finder {
    Alloc,
    Dealloc,
    Realloc,
    Verify,
    /// The block freed before the write leaves the quarantine.
    Release,
}

/// The one misuse that the table's slots found written makes, with what
/// the layer counts: a use after free naming no block and no header but
/// the table at `slots`, during `finder`'s call.
fn assert_table_written(seen: &[Misuse], slots: usize, finder: Finder, what: &str) {
    assert_eq!(seen.len(), 1, "{what}: {seen:#?}");
    let misuse = &seen[0];
    assert_eq!(
        (
            misuse.kind,
            misuse.block,
            misuse.header,
            misuse.table.map(|t| t.get())
        ),
        (Kind::UseAfterFree, None, None, Some(slots)),
        "{what}"
    );
    let call = match finder {
        Finder::Alloc => check::Call::Alloc,
        Finder::Dealloc | Finder::Release => check::Call::Dealloc,
        Finder::Realloc => check::Call::Realloc { new_size: 100 },
        Finder::Verify => check::Call::Verify,
    };
    assert_eq!(misuse.call, call, "{what}");
    assert!(
        misuse
            .to_string()
            .contains("use after free: the checked layer's own table, at "),
        "{what}: {misuse}"
    );
}

/// Whether the `len` bytes at `block` all hold `byte`.
///
/// # Safety
///
/// `block` is valid for `len` bytes.
unsafe fn filled(block: *const u8, len: usize, byte: u8) -> bool {
    // SAFETY: the caller's promise.
    count_other(unsafe { std::slice::from_raw_parts(block, len) }, byte) == 0
}

/// After the table was found written the layer checks and reports
/// nothing, and the program goes on: blocks handed out, written, moved
/// with their contents, freed (twice, unseen), and `verify()` quiet; the
/// layer holds nothing.
///
/// # Safety
///
/// The serial lock is held; `StaleTableSlots` went blind.
unsafe fn goes_on_blind(what: &str) {
    // SAFETY: blocks of the type with their layouts; the double free is
    // one that no check sees any more, of a block leaked by the first.
    unsafe {
        let more: Vec<_> = (0..64).map(|_| StaleTableSlots.alloc(layout(40))).collect();
        for (i, &block) in more.iter().enumerate() {
            assert!(!block.is_null(), "{what}");
            block.write_bytes(i as u8, 40);
        }
        let moved = StaleTableSlots.realloc(more[1], layout(40), 4000);
        assert!(!moved.is_null(), "{what}");
        assert!(filled(moved, 40, 1), "{what}: moved with its contents");
        StaleTableSlots.dealloc(moved, layout(4000));
        for (i, &block) in more.iter().enumerate().filter(|&(i, _)| i != 1) {
            assert!(filled(block, 40, i as u8), "{what}");
            StaleTableSlots.dealloc(block, layout(40));
        }
        StaleTableSlots.dealloc(more[0], layout(40));
        StaleTableSlots::verify();
    }
    assert!(take().is_empty(), "{what}");
    let checks = StaleTableSlots::checks();
    assert_eq!(
        (
            checks.live_blocks,
            checks.quarantined_blocks,
            checks.spare_blocks
        ),
        (0, 0, 0),
        "{what}"
    );
}

/// A stale write over the whole of the checked layer's own table (the
/// table in a freed block's memory: `a_table_in_a_freed_block`), with
/// bytes that read as blocks in every slot (a search for a block went on
/// for ever, and `verify()` read outside the heap's memory and crashed),
/// or with zeros (every block gone: the free of a live block was a
/// foreign pointer, and `verify()` panicked with the layer's own
/// corruption). Found by the first call that looks the table up, or whose
/// block finds no empty slot in it: one use after free naming the table
/// (a `realloc` made then moves the block with its contents), then
/// nothing more (`goes_on_blind`).
#[test]
fn a_stale_write_into_the_tables_slots_is_one_use_after_free() {
    let _serial = serial();
    let w = size_of::<usize>();
    for fill in [0x41_u8, 0] {
        let finders = [
            Finder::Alloc,
            Finder::Dealloc,
            Finder::Realloc,
            Finder::Verify,
        ];
        // Zeros leave every slot empty: a block then finds one. Under Miri
        // (minutes a pass), one call of each kind in all.
        let under_miri = |f: Finder| match f {
            Finder::Alloc | Finder::Dealloc => fill != 0,
            _ => fill == 0,
        };
        for finder in finders
            .into_iter()
            .filter(|&f| fill != 0 || f != Finder::Alloc)
            .filter(|&f| !cfg!(miri) || under_miri(f))
        {
            let what = format!("{fill:#x}, {finder:?}");
            // SAFETY: the serial lock is held, the type is this test's
            // alone, reset before each pass; live blocks with their
            // layouts. The stale write is the misuse under test, inside the
            // freed block's memory (the table lies in it).
            unsafe {
                StaleTableSlots::reset();
                let rest = a_table_in_a_freed_block(&StaleTableSlots);
                let live = StaleTableSlots.alloc(layout(40));
                assert!(!live.is_null());
                live.write_bytes(7, 40);
                let misuses = StaleTableSlots::checks().misuses;
                let slots = rest.add(1);
                slots.cast::<u8>().write_bytes(fill, TABLE_WORDS * w);
                match finder {
                    Finder::Alloc => assert!(!StaleTableSlots.alloc(layout(40)).is_null()),
                    Finder::Dealloc => StaleTableSlots.dealloc(live, layout(40)),
                    Finder::Realloc => {
                        let moved = StaleTableSlots.realloc(live, layout(40), 100);
                        assert!(!moved.is_null(), "{what}");
                        assert!(filled(moved, 40, 7), "{what}: its contents");
                    }
                    Finder::Verify | Finder::Release => StaleTableSlots::verify(),
                }
                assert_table_written(&take(), slots.addr(), finder, &what);
                assert_eq!(StaleTableSlots::checks().misuses, misuses + 1, "{what}");
                goes_on_blind(&what);
            }
        }
    }
    // SAFETY: nothing of the type is used after.
    unsafe { StaleTableSlots::reset() };
}

/// A fresh table in a freed block's memory (`a_table_in_a_freed_block`),
/// and a live block of 40 bytes: the table's slots, the block, and its
/// slot.
///
/// # Safety
///
/// As for `a_table_in_a_freed_block`, on `StaleTableSlots`.
unsafe fn a_block_in_a_table_in_a_freed_block() -> (*mut usize, *mut u8, usize) {
    // SAFETY: the caller's promise; the words read are the table's.
    unsafe {
        StaleTableSlots::reset();
        let rest = a_table_in_a_freed_block(&StaleTableSlots);
        let live = StaleTableSlots.alloc(layout(40));
        assert!(!live.is_null());
        let slots = rest.add(1);
        let slot = (0..TABLE_WORDS / 3)
            .find(|&i| slots.add(3 * i).read() == live.addr())
            .expect("the block's entry");
        (slots, live, slot)
    }
}

/// A stale write into one word of a block's entry in the table: its size,
/// made far larger than the heap, or its alignment and state (`meta`),
/// every bit set. Found, where the layer followed it, before it is: by
/// `verify()` (which read the block's canary that far past it), by the
/// block's free (a wrong layout, said so, where the layout was right; with
/// `meta` written, a layout of an alignment past any, which was undefined
/// behaviour, and on 32-bit targets a shift that overflowed), and, the
/// block freed before the write, as it leaves the quarantine (the layer
/// read that many bytes for the filling, and would have given the heap a
/// block of that size).
#[test]
fn a_stale_write_into_an_entry_of_the_table_is_one_use_after_free() {
    let _serial = serial();
    for (word, value) in [(1, usize::MAX / 4), (2, usize::MAX)] {
        let finders = [Finder::Verify, Finder::Dealloc, Finder::Release];
        // Under Miri (minutes a pass), each call once in all.
        let under_miri = |f: Finder| (f == Finder::Dealloc) == (word == 2);
        for finder in finders
            .into_iter()
            .filter(|&f| !cfg!(miri) || under_miri(f))
        {
            let what = format!("word {word}, {finder:?}");
            // SAFETY: as above; the slot written is the block's own.
            unsafe {
                let (slots, live, slot) = a_block_in_a_table_in_a_freed_block();
                if finder == Finder::Release {
                    StaleTableSlots.dealloc(live, layout(40));
                }
                assert!(take().is_empty());
                let misuses = StaleTableSlots::checks().misuses;
                slots.add(3 * slot + word).write(value);
                match finder {
                    Finder::Verify => StaleTableSlots::verify(),
                    Finder::Dealloc => StaleTableSlots.dealloc(live, layout(40)),
                    // The blocks the quarantine holds, the block first, pushed
                    // out by as many.
                    _ => push_out(&StaleTableSlots),
                }
                assert_table_written(&take(), slots.addr(), finder, &what);
                assert_eq!(StaleTableSlots::checks().misuses, misuses + 1, "{what}");
                goes_on_blind(&what);
            }
        }
    }
    // SAFETY: nothing of the type is used after.
    unsafe { StaleTableSlots::reset() };
}

/// A stale write of `0xFF` over three words of the table: one block's size
/// and `meta`, and the address of the block in the next slot, which is
/// then freed. Found by that free, whose search for the block scanned the
/// table for a block holding the pointer (an overflow in the size with
/// debug assertions) before it knew the table written.
#[test]
fn a_stale_write_into_two_neighbouring_entries_is_one_use_after_free() {
    let _serial = serial();
    // SAFETY: as above; the words written are the table's.
    unsafe {
        let (slots, _, _) = a_block_in_a_table_in_a_freed_block();
        // Blocks of the test's own (the table has room for them, and does
        // not grow), one of which is the next block: after a block at a
        // lower address if one is (the scan for the block holding a
        // foreign pointer then met the written size), else after any.
        let ours: Vec<_> = (0..256)
            .map(|_| StaleTableSlots.alloc(layout(40)))
            .collect();
        let pairs: Vec<_> = (0..TABLE_WORDS / 3 - 1)
            .filter_map(|i| {
                let (a, b) = (slots.add(3 * i).read(), slots.add(3 * i + 3).read());
                let next = ours.iter().find(|block| block.addr() == b)?;
                (a != 0).then_some((i, *next, a < b))
            })
            .collect();
        let (first, next, _) = *pairs
            .iter()
            .find(|pair| pair.2)
            .or(pairs.first())
            .expect("a block of ours in the slot after another's");
        let size = slots.add(3 * first + 4).read();
        let misuses = StaleTableSlots::checks().misuses;
        slots
            .add(3 * first + 1)
            .cast::<u8>()
            .write_bytes(0xFF, 3 * size_of::<usize>());
        StaleTableSlots.dealloc(next, layout(size));
        assert_table_written(&take(), slots.addr(), Finder::Dealloc, "0xFF");
        assert_eq!(StaleTableSlots::checks().misuses, misuses + 1);
        goes_on_blind("0xFF");
        StaleTableSlots::reset();
    }
}

/// A stale write that moves a block's entry to an empty slot of the table
/// (the old owner's records swapped): every word as it was, the count and
/// the sum of the entries' seals too, were the seals not mixed with their
/// slots. Found by the block's free (which reported a foreign pointer) and
/// by `verify()` (which panicked: "a block of the checked layer's table is
/// not found where it is").
#[test]
fn a_stale_write_into_the_table_that_moves_an_entry_is_one_use_after_free() {
    let _serial = serial();
    for finder in [Finder::Dealloc, Finder::Verify] {
        let what = format!("{finder:?}");
        // SAFETY: as above; the words swapped are the table's.
        unsafe {
            let (slots, live, slot) = a_block_in_a_table_in_a_freed_block();
            let n = TABLE_WORDS / 3;
            // An empty slot far from the block's home.
            let empty = (1..n)
                .map(|d| (slot + n / 2 + d) % n)
                .find(|&i| slots.add(3 * i).read() == 0)
                .expect("an empty slot");
            for word in 0..3 {
                std::ptr::swap(slots.add(3 * slot + word), slots.add(3 * empty + word));
            }
            match finder {
                Finder::Dealloc => StaleTableSlots.dealloc(live, layout(40)),
                _ => StaleTableSlots::verify(),
            }
            assert_table_written(&take(), slots.addr(), finder, &what);
            goes_on_blind(&what);
        }
    }
    // SAFETY: nothing of the type is used after.
    unsafe { StaleTableSlots::reset() };
}

/// A stale write into every empty slot of the table of records whose
/// address is the block the heap hands out next, as an old owner that
/// stored the heap's pointers would leave; then a `realloc` that moves.
/// The heap hands out a block the table claims: the table is found
/// written, and the call, blind from then on, moved the block and went on
/// recording it, finding the table written a second time (a failed debug
/// assertion under the lock, which was then never released; two reports
/// without debug assertions).
#[test]
fn a_stale_write_into_the_tables_slots_found_by_a_moving_realloc() {
    let _serial = serial();
    // SAFETY: as above; the words written are the table's.
    unsafe {
        // Where the block lands when it moves, on a table not written.
        let (_, live, _) = a_block_in_a_table_in_a_freed_block();
        let guard = StaleTableSlots.alloc(layout(40));
        let landing = StaleTableSlots.realloc(live, layout(40), 100);
        assert!(!guard.is_null() && !landing.is_null() && landing != live);
        assert!(take().is_empty());
        // The same, with the table written.
        let (slots, live, _) = a_block_in_a_table_in_a_freed_block();
        assert_eq!(StaleTableSlots.alloc(layout(40)), guard);
        live.write_bytes(7, 40);
        for i in 0..TABLE_WORDS / 3 {
            if slots.add(3 * i).read() == 0 {
                slots.add(3 * i).write(landing.addr());
                slots.add(3 * i + 1).write(40);
            }
        }
        let moved = StaleTableSlots.realloc(live, layout(40), 100);
        assert!(
            !moved.is_null() && filled(moved, 40, 7),
            "moved with its contents"
        );
        assert_table_written(&take(), slots.addr(), Finder::Realloc, "realloc");
        goes_on_blind("realloc");
        StaleTableSlots::reset();
    }
}

/// A stale write that clears the freed state of a quarantined block's
/// entry; then the block is freed again. The layer reported an overrun of
/// a live block (its canary holds the freed pattern), found through the
/// table before it knew the table written, and then, as the block left
/// the quarantine, the table written: two reports for one write, the first
/// wrong.
#[test]
fn a_stale_write_into_an_entrys_state_is_one_use_after_free() {
    let _serial = serial();
    // SAFETY: as above; the word written is the block's own entry's.
    unsafe {
        let (slots, live, slot) = a_block_in_a_table_in_a_freed_block();
        StaleTableSlots.dealloc(live, layout(40));
        assert!(take().is_empty());
        let meta = slots.add(3 * slot + 2);
        meta.write(meta.read() & !1);
        StaleTableSlots.dealloc(live, layout(40));
        assert_table_written(&take(), slots.addr(), Finder::Dealloc, "state");
        push_out(&StaleTableSlots);
        assert!(take().is_empty());
        goes_on_blind("state");
        StaleTableSlots::reset();
    }
}

/// Bins only (`Default`'s line): large blocks never reused, spares kept.
#[lite_alloc(check, memory = arena(1 << 20))]
struct StaleSpareEntry;

/// A write past the end of a block, skipping its canary, into the table
/// the layer grew just above it, that copies the first spare's entry into
/// the next empty slot of its cluster. Taking the spare removed its entry,
/// left the copy, and handed the block out while the table claimed it (a
/// failed debug assertion under the lock, which was then never released).
/// The table is found written as the spare is taken. Natively only: the
/// test reads the table's words at addresses it computes.
#[test]
#[cfg_attr(miri, ignore = "reads the table at computed addresses")]
fn a_write_that_copies_a_spares_entry_is_one_use_after_free() {
    let _serial = serial();
    let w = size_of::<usize>();
    // SAFETY: blocks of the type with their layouts; the write past the
    // end of `below` is the misuse under test, inside the type's arena,
    // whose provenance the block carries.
    unsafe {
        StaleSpareEntry::reset();
        let spares: Vec<_> = (0..3).map(|_| StaleSpareEntry.alloc(layout(128))).collect();
        for &spare in &spares {
            StaleSpareEntry.dealloc(spare, layout(128));
        }
        push_out(&StaleSpareEntry);
        assert_eq!(StaleSpareEntry::checks().spare_blocks, 3);
        assert!(take().is_empty());
        // Blocks of 200 bytes until the table grows right above one.
        let (below, start, end) = {
            let mut p = StaleSpareEntry.alloc(layout(200));
            loop {
                let q = StaleSpareEntry.alloc(layout(200));
                assert!(!q.is_null());
                if q.addr() - p.addr() > 1024 {
                    break (p, p.addr() + 208, q.addr());
                }
                p = q;
            }
        };
        let word = |i: usize| {
            below
                .add(start + i * w - below.addr())
                .cast::<usize>()
                .read()
        };
        let words = (end - start) / w;
        let head = spares[2].addr();
        let at = (0..words)
            .step_by(3)
            .find(|&i| word(i) == head && word(i + 1) == 128)
            .expect("the first spare's entry");
        let mut empty = at / 3;
        while word(3 * empty) != 0 {
            empty = (empty + 1) % (words / 3);
        }
        for k in 0..3 {
            let copied = word(at + k);
            below
                .add(start + (3 * empty + k) * w - below.addr())
                .cast::<usize>()
                .write(copied);
        }
        let block = StaleSpareEntry.alloc(layout(128));
        assert!(
            !block.is_null() && block.addr() != head,
            "not the spare the table claims"
        );
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!(
            (seen[0].kind, seen[0].block, seen[0].call),
            (Kind::UseAfterFree, None, check::Call::Alloc)
        );
        assert!(seen[0].table.is_some(), "{}", seen[0]);
        StaleSpareEntry.dealloc(block, layout(128));
        StaleSpareEntry::verify();
        assert!(take().is_empty());
        StaleSpareEntry::reset();
    }
}

#[cfg(debug_assertions)]
#[lite_alloc(bins = [16, 32, 64, 128], large = coalesce, check, memory = arena(4 << 20))]
struct StaleSlabHeader;

/// As `a_stale_write_into_the_tables_header_is_a_use_after_free`, for a
/// slab (a chunk in use for good, that bins carve from): a freed block's
/// memory split again, and a new slab takes the rest, its header inside
/// the old block. Only builds with debug assertions keep the slabs, and
/// compare their headers.
#[cfg(debug_assertions)]
#[test]
fn a_stale_write_into_a_slabs_header_is_a_use_after_free() {
    let _serial = serial();
    let w = size_of::<usize>();
    let canary = check::CANARY;
    // SAFETY: as above.
    unsafe {
        let pool: Vec<_> = (0..QUARANTINE_BLOCKS)
            .map(|_| StaleSlabHeader.alloc(layout(40)))
            .collect();
        let old = StaleSlabHeader.alloc(layout(80000));
        let guard = StaleSlabHeader.alloc(layout(80000));
        assert!(!pool.contains(&std::ptr::null_mut()));
        assert!(![old, guard].contains(&std::ptr::null_mut()));
        StaleSlabHeader.dealloc(old, layout(80000));
        for &block in &pool {
            StaleSlabHeader.dealloc(block, layout(40));
        }
        assert!(take().is_empty());
        let first = StaleSlabHeader.alloc(layout(45000));
        assert_eq!(first, old, "the freed chunk, split");
        let rest = old.add(chunk_for(45000 + canary) - w).cast::<usize>();
        // Bin blocks until a slab takes the rest.
        let mut bins = Vec::new();
        while rest.read() & 1 == 0 {
            let block = StaleSlabHeader.alloc(layout(100));
            assert!(!block.is_null());
            bins.push(block);
            assert!(bins.len() < 1000, "no slab in the old block");
        }
        assert!(take().is_empty());
        assert_eq!(
            rest.read(),
            chunk_for(8 * 1024) | 1,
            "a slab in the old block"
        );
        rest.write(0);
        StaleSlabHeader::verify();
        let seen = take();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert_eq!((seen[0].kind, seen[0].block), (Kind::UseAfterFree, None));
        assert_eq!(seen[0].pointer, rest.addr(), "{}", seen[0]);
        // Calls go on.
        for block in bins {
            StaleSlabHeader.dealloc(block, layout(100));
        }
        StaleSlabHeader::verify();
        assert!(take().is_empty());
    }
    // SAFETY: nothing of the type is used after.
    unsafe { StaleSlabHeader::reset() };
}

/// A program that writes past the end of the last block carved (an overrun
/// through its canary and on) into the memory still fresh: `verify()`
/// reports the overrun, the program's misuse (`Kind::Overrun`), rather than
/// panicking with the heap's corruption (`Heap::check` reads fresh memory
/// only in types that are not checked).
#[lite_alloc(check, large = coalesce, memory = arena(1 << 20))]
struct FreshOverrunCoalesce;
#[lite_alloc(check, large = reuse, memory = arena(1 << 20))]
struct FreshOverrunReuse;
#[lite_alloc(check, large = leak, memory = arena(1 << 20))]
struct FreshOverrunLeak;

fn overrun_into_fresh<A: GlobalAlloc>(a: &A, verify: fn()) -> Option<String> {
    let size = 1000;
    // SAFETY: a valid layout; the overrun is the misuse under test, on
    // memory of the type's own arena (past the last block carved).
    let block = unsafe { a.alloc(layout(size)) };
    assert!(!block.is_null());
    verify();
    assert!(take().is_empty());
    // SAFETY: as above: 96 bytes from the block's end, in the arena.
    let saved: Vec<u8> = unsafe { std::slice::from_raw_parts(block.add(size), 96).to_vec() };
    // SAFETY: the same 96 bytes: the overrun under test.
    unsafe { block.add(size).write_bytes(0x55, 96) };
    let verified = std::panic::catch_unwind(verify);
    let seen = take();
    // SAFETY: as above: the bytes put back, and the block freed.
    unsafe {
        block.add(size).copy_from_nonoverlapping(saved.as_ptr(), 96);
        a.dealloc(block, layout(size));
    }
    let name = std::any::type_name::<A>();
    if verified.is_err() {
        return Some(format!(
            "{name}: verify() panicked (heap corruption) on a program's overrun"
        ));
    }
    if !(seen.len() == 1 && seen[0].kind == Kind::Overrun) {
        return Some(format!("{name}: {seen:?}"));
    }
    None
}

#[test]
fn an_overrun_into_fresh_memory_is_an_overrun() {
    let _serial = serial();
    let failures: Vec<String> = [
        overrun_into_fresh(&FreshOverrunCoalesce, FreshOverrunCoalesce::verify),
        overrun_into_fresh(&FreshOverrunReuse, FreshOverrunReuse::verify),
        overrun_into_fresh(&FreshOverrunLeak, FreshOverrunLeak::verify),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A stale write puts `usize::MAX` in a free chunk's next link: `verify()`
/// reports a use after free (the list's walk finds a link that no chunk
/// has), rather than overflowing where it asks whether a chunk may start
/// there (`anchored`, before anything is read at the link).
#[lite_alloc(check, large = coalesce, memory = arena(4 << 20))]
struct WrappedLink;

#[test]
fn a_link_near_the_top_of_memory_is_a_use_after_free() {
    let _serial = serial();
    // SAFETY: live blocks with their layouts; the stale write is the
    // misuse under test, on memory of the arena (the freed chunk's link).
    unsafe {
        push_out(&WrappedLink);
        let before = WrappedLink.alloc(layout(2000));
        let victim = WrappedLink.alloc(layout(2000));
        let guard = WrappedLink.alloc(layout(2000));
        assert!(!before.is_null() && !victim.is_null() && !guard.is_null());
        WrappedLink.dealloc(victim, layout(2000));
        push_out(&WrappedLink);
        assert!(take().is_empty());
        WrappedLink::verify();
        victim.cast::<usize>().write(usize::MAX);
    }
    let verified = std::panic::catch_unwind(WrappedLink::verify);
    let seen = take();
    assert!(verified.is_ok(), "verify() panicked on a stale link");
    assert!(
        seen.len() == 1 && seen[0].kind == Kind::UseAfterFree,
        "{seen:#?}"
    );
}
