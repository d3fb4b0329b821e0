//! The checked mode on correct programs, from an adversarial review: it
//! reports nothing (random valid workloads of `alloc`, `alloc_zeroed`,
//! `realloc` and `dealloc` on nine configurations, contents checked, with
//! `verify()`), and what it reports of a misuse is exact (every alignment
//! from 1 to 4096 against sizes from 1 byte to 64 KiB: an overrun by one
//! byte, after `realloc` too, and a write after free, each with its kind,
//! pointer and offset). `REVIEW_OPS` and `REVIEW_SEEDS` make the workloads
//! longer.

use std::alloc::{GlobalAlloc, Layout};

use lite_alloc::check;
use lite_alloc::lite_alloc;
use lite_alloc_tests::{Rng, all_equal};

use lite_alloc_tests::misuses::{serial, take};

#[lite_alloc(bins = [16, 32, 64, 128], check, memory = arena(ARENA))]
struct FBinsLeak;
#[lite_alloc(bins = [16, 32, 64, 128], realloc, check, memory = arena(ARENA))]
struct FBinsLeakRealloc;
#[lite_alloc(bins = [8, 12, 24, 40, 100], realloc, check, memory = arena(ARENA))]
struct FOddLeakRealloc;
#[lite_alloc(bins = [8, 12, 24, 40, 100], large = reuse, realloc, check, memory = arena(ARENA))]
struct FOddReuseRealloc;
#[lite_alloc(bins = [12, 20, 36], large = reuse, check, memory = arena(ARENA))]
struct FOddReuse;
#[lite_alloc(bins = [24, 40, 72, 136], large = coalesce, realloc, check, memory = arena(ARENA))]
struct FOddCoalesce;
#[lite_alloc(bins = [], large = coalesce, realloc, growth = 1/32, check, memory = arena(ARENA))]
struct FNoBins;
#[lite_alloc(bins = [8], realloc, check, memory = arena(ARENA))]
struct FOneBinLeak;
#[lite_alloc(bins = [4096], realloc, check, memory = arena(ARENA))]
struct FBigBinLeak;

const ARENA: usize = 8 << 20;

const ALIGNS: [usize; 13] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/// A layout for the workloads: mostly small sizes, some up to 5000 bytes,
/// and sizes at the edges of bins, of the spares and of a page (with
/// `small`, sizes for bins-only types, which never reuse large blocks).
fn random_layout(rng: &mut Rng, align: usize, small: bool) -> Layout {
    if small {
        let size = match rng.below(10) {
            0..=7 => 1 + rng.below(140) as usize,
            8 => [1, 4, 8, 12, 16, 24, 92, 100, 120, 121, 127, 128][rng.below(12) as usize],
            _ => 1 + rng.below(600) as usize,
        };
        return Layout::from_size_align(size, align).unwrap();
    }
    let size = match rng.below(10) {
        0..=5 => 1 + rng.below(200) as usize,
        6..=7 => 1 + rng.below(5000) as usize,
        8 => 4096 - 16 + rng.below(32) as usize,
        _ => [1, 4, 8, 12, 16, 24, 120, 121, 127, 128, 129, 136][rng.below(12) as usize],
    };
    Layout::from_size_align(size, align).unwrap()
}

/// Fills a block's `size` bytes with `tag`.
fn fill(block: *mut u8, size: usize, tag: u8) {
    // SAFETY: the block holds `size` bytes.
    unsafe { block.write_bytes(tag, size) };
}

/// Whether a block's `size` bytes all hold `tag`.
fn holds(block: *const u8, size: usize, tag: u8) -> bool {
    // SAFETY: the block holds `size` bytes.
    all_equal(unsafe { std::slice::from_raw_parts(block, size) }, tag)
}

/// `ops` random calls on `a`, a correct program's: every block's contents
/// checked before it is freed or resized, `alloc_zeroed` checked zero,
/// `verify()` every 997 calls; no misuse may be reported.
fn workload<A: GlobalAlloc>(a: &A, name: &str, seed: u64, ops: usize, verify: fn(), small: bool) {
    let max_align = if small { 16 } else { 4096 };
    let mut rng = Rng::new(seed);
    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
    let (mut nulls, mut allocs) = (0usize, 0usize);
    for op in 0..ops {
        let choice = rng.below(10);
        if choice < 4 || live.is_empty() {
            let align = ALIGNS[rng.below(ALIGNS.len() as u64) as usize].min(max_align);
            let layout = random_layout(&mut rng, align, small);
            let zeroed = rng.below(3) == 0;
            // SAFETY: a valid layout, not zero-sized.
            // SAFETY: a valid layout, not zero-sized.
            let block = unsafe {
                if zeroed {
                    a.alloc_zeroed(layout)
                } else {
                    a.alloc(layout)
                }
            };
            if block.is_null() {
                nulls += 1;
                continue;
            }
            allocs += 1;
            assert!(block.addr() % layout.align() == 0, "{name}: misaligned");
            if zeroed {
                assert!(
                    holds(block, layout.size(), 0),
                    "{name} op {op}: alloc_zeroed not zero"
                );
            }
            let tag = (op % 251) as u8;
            fill(block, layout.size(), tag);
            live.push((block, layout, tag));
        } else if choice < 7 {
            let i = rng.below(live.len() as u64) as usize;
            let (block, layout, tag) = live.swap_remove(i);
            assert!(
                holds(block, layout.size(), tag),
                "{name} op {op}: block contents changed"
            );
            // SAFETY: a live block with its layout.
            unsafe { a.dealloc(block, layout) };
        } else {
            let i = rng.below(live.len() as u64) as usize;
            let (block, layout, tag) = live[i];
            let new = random_layout(&mut rng, layout.align(), small);
            // SAFETY: a live block with its layout, valid new size.
            let moved = unsafe { a.realloc(block, layout, new.size()) };
            if moved.is_null() {
                assert!(
                    holds(block, layout.size(), tag),
                    "{name}: failed realloc changed block"
                );
                continue;
            }
            assert!(
                moved.addr() % layout.align() == 0,
                "{name}: realloc misaligned"
            );
            assert!(
                holds(moved, layout.size().min(new.size()), tag),
                "{name} op {op}: realloc lost contents"
            );
            let tag = tag.wrapping_add(1);
            fill(moved, new.size(), tag);
            live[i] = (moved, new, tag);
        }
        if op % 997 == 0 {
            verify();
        }
        let seen = take();
        assert!(
            seen.is_empty(),
            "{name} seed {seed} op {op}: false positive {seen:#?}"
        );
    }
    if std::env::var("REVIEW_VERBOSE").is_ok() {
        eprintln!(
            "{name} seed {seed}: {allocs} allocations, {nulls} nulls, {} live at the end",
            live.len()
        );
    }
    for (block, layout, tag) in live {
        assert!(holds(block, layout.size(), tag), "{name}: contents changed");
        // SAFETY: live blocks with their layouts.
        unsafe { a.dealloc(block, layout) };
    }
    verify();
    let seen = take();
    assert!(
        seen.is_empty(),
        "{name} seed {seed}: false positive {seen:#?}"
    );
}

macro_rules! random_test {
    ($test:ident, $ty:ident, $small:expr) => {
        #[test]
        fn $test() {
            let _g = serial();
            let ops: usize = std::env::var("REVIEW_OPS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(if $small { 20_000 } else { 100_000 });
            let seeds: u64 = std::env::var("REVIEW_SEEDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(3);
            for seed in 0..seeds {
                // SAFETY: nothing of the type is alive.
                unsafe { $ty::reset() };
                workload(&$ty, stringify!($ty), seed, ops, $ty::verify, $small);
                let checks = $ty::checks();
                assert_eq!(checks.live_blocks, 0, "{checks:?}");
            }
        }
    };
}

random_test!(random_bins_leak, FBinsLeak, true);
random_test!(random_bins_leak_realloc, FBinsLeakRealloc, true);
random_test!(random_odd_leak_realloc, FOddLeakRealloc, true);
random_test!(random_odd_reuse_realloc, FOddReuseRealloc, false);
random_test!(random_odd_reuse, FOddReuse, false);
random_test!(random_odd_coalesce, FOddCoalesce, false);
random_test!(random_no_bins, FNoBins, false);
random_test!(random_one_bin_leak, FOneBinLeak, true);
random_test!(random_big_bin_leak, FBigBinLeak, false);

fn l(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

// Every alignment, many sizes: overrun by one byte, realloc then overrun,
// write after free; right kind, pointer and offset; canary put back and the
// block freed without report.

#[lite_alloc(check, realloc, memory = arena(32 << 20))]
struct SLeak;
#[lite_alloc(bins = [8, 12, 24, 40, 100], check, realloc, memory = arena(32 << 20))]
struct SOddLeak;
#[lite_alloc(check, large = reuse, realloc, memory = arena(32 << 20))]
struct SReuse;
#[lite_alloc(bins = [16, 32, 64, 128, 256], large = coalesce, realloc, check, memory = arena(32 << 20))]
struct SCoalesce;
#[lite_alloc(bins = [], large = coalesce, realloc, growth = 1/32, check, memory = arena(32 << 20))]
struct SNoBins;

/// The sizes of the sweep: every size to 300 bytes, then a sample to 3000,
/// the sizes around a page, 8 KiB and 64 KiB.
fn sizes() -> Vec<usize> {
    let mut v: Vec<usize> = (1..=300).collect();
    v.extend((301..3000).step_by(37));
    v.extend(4080..=4112);
    v.extend([8184, 8192, 8200, 65536 - 8, 65536, 65536 + 1]);
    v
}

/// For every alignment, a block of each size: an overrun by one byte at
/// `dealloc` (reported with its offset, then the canary put back), a
/// `realloc` to another size, whose canary follows, the same overrun
/// again, and a write after free at varying offsets into a third of them,
/// each reported once with its block and offset when it leaves the
/// quarantine.
fn sweep<A: GlobalAlloc>(a: &A, name: &str, verify: fn()) {
    for align in ALIGNS {
        let layouts: Vec<Layout> = sizes()
            .into_iter()
            .map(|s| Layout::from_size_align(s, align).unwrap())
            .collect();
        let blocks: Vec<*mut u8> = layouts
            .iter()
            .map(|&l| {
                // SAFETY: a valid layout, not zero-sized.
                let b = unsafe { a.alloc(l) };
                assert!(!b.is_null(), "{name}: {l:?}");
                assert_eq!(b.addr() % align, 0);
                // SAFETY: the block holds `l.size()` bytes.
                unsafe { b.write_bytes(0x5A, l.size()) };
                b
            })
            .collect();
        assert!(take().is_empty());
        // One byte past the end of each: an overrun at `size`.
        for (&b, &l) in blocks.iter().zip(&layouts) {
            // SAFETY: the block's canary is in its heap block (the misuse
            // under test, undone after), and the block is live.
            unsafe {
                let saved = b.add(l.size()).read();
                b.add(l.size()).write(saved ^ 0x01);
                a.dealloc(b, l);
                let seen = take();
                assert_eq!(seen.len(), 1, "{name} {l:?}: {seen:#?}");
                assert_eq!(seen[0].kind, check::Kind::Overrun, "{name} {l:?}");
                assert_eq!(seen[0].pointer, b.addr());
                assert_eq!(seen[0].offset, Some(l.size()), "{name} {l:?}");
                b.add(l.size()).write(saved);
            }
        }
        verify();
        assert!(take().is_empty(), "{name}");
        // Realloc each to another size: the canary follows.
        let mut reallocated = Vec::new();
        for (i, (&b, &l)) in blocks.iter().zip(&layouts).enumerate() {
            let new_size = if i % 2 == 0 {
                l.size() + 1 + i % 50
            } else {
                (l.size() / 2).max(1)
            };
            // SAFETY: a live block with its layout, a valid new size.
            let n = unsafe { a.realloc(b, l, new_size) };
            assert!(!n.is_null(), "{name} realloc {l:?} -> {new_size}");
            let nl = Layout::from_size_align(new_size, align).unwrap();
            // SAFETY: the block holds `new_size` bytes.
            unsafe {
                assert!(
                    holds(n, l.size().min(new_size), 0x5A),
                    "{name} realloc lost bytes"
                );
                n.write_bytes(0x6B, new_size);
            }
            reallocated.push((n, nl));
        }
        assert!(take().is_empty(), "{name}: {:#?}", take());
        for &(b, l) in &reallocated {
            // SAFETY: as above.
            unsafe {
                let saved = b.add(l.size()).read();
                b.add(l.size()).write(saved.wrapping_add(1));
                a.dealloc(b, l);
                let seen = take();
                assert_eq!(seen.len(), 1, "{name} {l:?}: {seen:#?}");
                assert_eq!(seen[0].kind, check::Kind::Overrun, "{name} {l:?}");
                assert_eq!(seen[0].offset, Some(l.size()), "{name} {l:?}");
                b.add(l.size()).write(saved);
            }
        }
        // Freed, then written after free at a varying offset: each found
        // when it leaves the quarantine, by address and offset.
        let mut written = std::collections::HashMap::new();
        take();
        for (i, &(b, l)) in reallocated.iter().enumerate() {
            // SAFETY: a live block with its layout.
            unsafe { a.dealloc(b, l) };
            if i % 3 == 0 {
                let off = (i * 7) % l.size();
                // SAFETY: the freed block waits in the quarantine, the
                // heap's memory: the misuse under test.
                unsafe { b.add(off).write(0) };
                written.insert(b.addr(), off);
            }
        }
        // Push everything out of the quarantine.
        let mut seen = take();
        push_out_any(a);
        push_out_any(a);
        verify();
        seen.extend(take());
        let mut found = std::collections::HashMap::new();
        for m in &seen {
            assert_eq!(m.kind, check::Kind::UseAfterFree, "{name}: {m}");
            let block = m.block.expect("names its block");
            found.insert(block.address, m.offset.unwrap());
        }
        assert_eq!(found, written, "{name} align {align}");
    }
}

/// Frees more blocks than the quarantine holds: every block freed before
/// leaves it.
fn push_out_any(a: &impl GlobalAlloc) {
    let blocks: Vec<_> = (0..check::QUARANTINE_BLOCKS + 1)
        // SAFETY: a valid layout.
        .map(|_| unsafe { a.alloc(l(24)) })
        .collect();
    for b in blocks {
        assert!(!b.is_null());
        // SAFETY: live blocks with their layout.
        unsafe { a.dealloc(b, l(24)) };
    }
}

#[test]
fn sweep_leak() {
    let _g = serial();
    sweep(&SLeak, "SLeak", SLeak::verify);
}
#[test]
fn sweep_odd_leak() {
    let _g = serial();
    sweep(&SOddLeak, "SOddLeak", SOddLeak::verify);
}
#[test]
fn sweep_reuse() {
    let _g = serial();
    sweep(&SReuse, "SReuse", SReuse::verify);
}
#[test]
fn sweep_coalesce() {
    let _g = serial();
    sweep(&SCoalesce, "SCoalesce", SCoalesce::verify);
}
#[test]
fn sweep_no_bins() {
    let _g = serial();
    sweep(&SNoBins, "SNoBins", SNoBins::verify);
}
