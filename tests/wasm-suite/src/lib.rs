//! Tests that run inside a wasm32 module under Node, with a generated
//! allocator as the module's global allocator. `run.mjs` instantiates a fresh
//! module for every test export, calls it, and reports a trap with the panic
//! message the module left in `suite_message`, or, in the checked mode, the
//! misuse's message that lite-alloc left in its own buffer
//! (`lite_alloc_misuse_ptr`, `lite_alloc_misuse_len`).
//!
//! Built for `wasm32-unknown-unknown` only; on other targets it is empty.
#![cfg(target_arch = "wasm32")]

use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;

use core::arch::wasm32::{memory_grow, memory_size};
use lite_alloc_tests::{Env, Plan, Rng, check_random_ops};

// `lite_alloc::Default` (checked with `checked-default`), unless another
// variant is chosen.
#[cfg(not(any(
    feature = "non-power-of-two",
    feature = "one-bin",
    feature = "options",
    feature = "coalesce",
    feature = "general",
    feature = "slab-bin",
    feature = "checked-general",
    feature = "checked-reuse",
    feature = "checked-coalesce"
)))]
type Under = lite_alloc::Default;

// Checked with `checked-general`.
#[cfg(any(feature = "general", feature = "checked-general"))]
type Under = lite_alloc::General;

/// The checked mode with large blocks reused.
#[cfg(feature = "checked-reuse")]
#[lite_alloc::lite_alloc(large = reuse, realloc, check)]
struct Under;

/// The checked mode with bins in front of chunks.
#[cfg(feature = "checked-coalesce")]
#[lite_alloc::lite_alloc(bins = [16, 32, 64, 128, 256], large = coalesce, realloc, check)]
struct Under;

#[cfg(feature = "checked")]
mod checked;

/// Bins that are not powers of two, with in-place realloc.
#[cfg(feature = "non-power-of-two")]
#[lite_alloc::lite_alloc(bins = [24, 48, 96, 4096], realloc)]
struct Under;

/// One bin.
#[cfg(feature = "one-bin")]
#[lite_alloc::lite_alloc(bins = [64])]
struct Under;

/// Every option beyond the documented design.
#[cfg(feature = "options")]
#[lite_alloc::lite_alloc(large = reuse, realloc, stats, heap_base)]
struct Under;

/// Every option, large blocks coalesced.
#[cfg(feature = "coalesce")]
#[lite_alloc::lite_alloc(large = coalesce, realloc, stats, heap_base)]
struct Under;

/// A bin of 8 KiB, aligned to 16, in front of chunks: on wasm32 a chunk's
/// payload is only 8-aligned.
#[cfg(feature = "slab-bin")]
#[lite_alloc::lite_alloc(bins = [16, 32, 64, 128, 8192], large = coalesce)]
struct Under;

#[global_allocator]
static ALLOC: Under = Under::new();

const PAGE: usize = 65536;

// ---------------------------------------------------------------------------
// Reporting failures: a panic hook leaves the message here; the trap that
// follows tells Node to read it.

static mut MESSAGE: [u8; 1024] = [0; 1024];
static mut MESSAGE_LEN: usize = 0;

fn record(text: &str) {
    let n = text.len().min(1024);
    // SAFETY: single-threaded module; nothing else touches the buffer.
    unsafe {
        (&raw mut MESSAGE)
            .cast::<u8>()
            .copy_from_nonoverlapping(text.as_ptr(), n);
        MESSAGE_LEN = n;
    }
}

/// Installs the panic hook. Tests call it first, except the one that must
/// make the module's very first allocation itself.
fn report_panics() {
    std::panic::set_hook(Box::new(|info| record(&info.to_string())));
}

#[unsafe(no_mangle)]
extern "C" fn suite_message_ptr() -> *const u8 {
    (&raw const MESSAGE).cast()
}

#[unsafe(no_mangle)]
extern "C" fn suite_message_len() -> usize {
    // SAFETY: single-threaded module.
    unsafe { MESSAGE_LEN }
}

// ---------------------------------------------------------------------------
// Memory grown by someone else.

/// Pages this module grew behind the allocator's back (address and length),
/// filled with a canary.
static FOREIGN: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());
const CANARY: u8 = 0xF0;

/// Grows memory by `pages` as other code would, and fills the new pages.
fn grow_foreign(pages: usize) -> bool {
    let old = memory_grow(0, pages);
    if old == usize::MAX {
        return false;
    }
    let start = core::ptr::with_exposed_provenance_mut::<u8>(old * PAGE);
    // SAFETY: the pages were just added and belong to this test alone.
    unsafe { start.write_bytes(CANARY, pages * PAGE) };
    FOREIGN.lock().unwrap().push((old * PAGE, pages * PAGE));
    true
}

fn foreign_overlaps(block: *const u8, len: usize) -> bool {
    let (start, end) = (block as usize, block as usize + len);
    FOREIGN
        .lock()
        .unwrap()
        .iter()
        .any(|&(f, flen)| start < f + flen && f < end)
}

fn foreign_intact() -> bool {
    FOREIGN.lock().unwrap().iter().all(|&(f, len)| {
        // SAFETY: the foreign pages are this test's to read (linear memory
        // is all exposed).
        let bytes =
            unsafe { std::slice::from_raw_parts(core::ptr::with_exposed_provenance::<u8>(f), len) };
        lite_alloc_tests::all_equal(bytes, CANARY)
    })
}

/// The model's view: blocks inside linear memory and never in foreign pages;
/// foreign growth now and then.
struct WasmEnv {
    foreign_every: u64,
}

impl Env for WasmEnv {
    fn after(&self, _step: usize, _live_bytes: usize, _nulls: usize) {
        Under::verify();
    }
    fn owns(&self, block: *const u8, len: usize) -> bool {
        let end = (block as usize).checked_add(len);
        end.is_some_and(|end| end <= memory_size(0) * PAGE) && !foreign_overlaps(block, len)
    }
    fn between(&self, rng: &mut Rng<'_>) {
        if rng.below(self.foreign_every) == 0 {
            assert!(grow_foreign(1), "foreign memory.grow failed");
        }
    }
}

// ---------------------------------------------------------------------------
// The tests.

enum Tree {
    Leaf(u64),
    Node(Box<Tree>, Box<Tree>),
}

fn build(depth: u32, seed: u64) -> Tree {
    if depth == 0 {
        Tree::Leaf(seed)
    } else {
        Tree::Node(
            Box::new(build(depth - 1, seed * 2)),
            Box::new(build(depth - 1, seed * 2 + 1)),
        )
    }
}

fn sum(tree: &Tree) -> u64 {
    match tree {
        Tree::Leaf(value) => *value,
        Tree::Node(left, right) => sum(left) + sum(right),
    }
}

/// Ordinary std workloads, checked against closed forms.
#[unsafe(no_mangle)]
extern "C" fn test_std_workloads() {
    report_panics();
    let mut v = Vec::new();
    for i in 0..300_000u64 {
        v.push(i);
    }
    assert_eq!(v.iter().sum::<u64>(), 299_999 * 300_000 / 2);
    drop(v);

    let mut s = String::new();
    for i in 0..30_000u64 {
        s.push_str(&i.to_string());
        s.push(',');
    }
    let parsed: u64 = s
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>().unwrap())
        .sum();
    assert_eq!(parsed, 29_999 * 30_000 / 2);

    let n = 40_000u64;
    let mut map = BTreeMap::new();
    for i in 0..n {
        map.insert(format!("key{:08}", (i * 7919) % n), i);
    }
    for i in (0..n).step_by(2) {
        map.remove(&format!("key{i:08}"));
    }
    let expected: u64 = (0..n).filter(|i| (i * 7919) % n % 2 == 1).sum();
    assert_eq!(map.values().sum::<u64>(), expected);

    for round in 0..4u64 {
        let tree = build(14, round);
        let leaves: u64 = (0..1u64 << 14).map(|i| round * (1 << 14) + i).sum();
        assert_eq!(sum(&tree), leaves);
    }
}

/// Other code grows memory between our allocations: no block reaches into
/// its pages, which keep their canary.
#[unsafe(no_mangle)]
extern "C" fn test_foreign_growth() {
    report_panics();
    let mut blocks = Vec::new();
    for round in 0..200usize {
        assert!(grow_foreign(1 + round % 3));
        for size in [16, 100, 3000, 70_000, 200_000] {
            let layout = Layout::from_size_align(size + round, 8).unwrap();
            // SAFETY: a valid, non-zero layout.
            let block = unsafe { ALLOC.alloc(layout) };
            assert!(!block.is_null());
            assert!(
                !foreign_overlaps(block, layout.size()),
                "block {block:p}+{} in foreign pages",
                layout.size()
            );
            // SAFETY: the block is ours for `layout.size()` bytes.
            unsafe { block.write_bytes(0xAB, layout.size()) };
            blocks.push((block, layout));
        }
        // Growing the newest block in place must not reach foreign pages.
        let (block, layout) = blocks.pop().unwrap();
        // SAFETY: a live block and a valid new size.
        let grown = unsafe { ALLOC.realloc(block, layout, layout.size() * 3) };
        assert!(!grown.is_null());
        assert!(
            !foreign_overlaps(grown, layout.size() * 3),
            "realloc reached foreign pages"
        );
        blocks.push((
            grown,
            Layout::from_size_align(layout.size() * 3, 8).unwrap(),
        ));
        if round % 2 == 0 {
            let (block, layout) = blocks.swap_remove(round % blocks.len());
            // SAFETY: a live block with its layout.
            unsafe { ALLOC.dealloc(block, layout) };
        }
    }
    assert!(foreign_intact(), "a foreign page was written");
}

/// The shadow model on the global allocator, with foreign growth between
/// steps.
#[unsafe(no_mangle)]
extern "C" fn test_model() {
    report_panics();
    for seed in 0..3 {
        let plan = Plan {
            seed,
            ops: 20_000,
            max_size: 20_000,
            max_align_log2: 12,
            max_live: 200,
        };
        // SAFETY: the model frees every block it allocated.
        let report = unsafe { check_random_ops(&ALLOC, &plan, &WasmEnv { foreign_every: 300 }) };
        assert_eq!(report.nulls, 0, "{report:?}");
    }
    assert!(foreign_intact(), "a foreign page was written");
}

/// Alignments from 1 to 1 MiB, starting with the module's very first
/// allocation (so no panic hook, which would allocate first).
#[unsafe(no_mangle)]
extern "C" fn test_alignments_from_the_first_allocation() {
    let mut align = 1 << 20;
    let mut blocks = Vec::new();
    let mut sizes = [1usize, 24, 1000, 70_000].into_iter().cycle();
    while align >= 1 {
        for _ in 0..3 {
            let layout = Layout::from_size_align(sizes.next().unwrap(), align).unwrap();
            // SAFETY: a valid, non-zero layout.
            let block = unsafe { ALLOC.alloc(layout) };
            if block.is_null()
                || !(block as usize).is_multiple_of(align)
                || block as usize + layout.size() > memory_size(0) * PAGE
            {
                record("a block was null, misaligned or outside memory");
                core::arch::wasm32::unreachable();
            }
            // SAFETY: the block is ours for `layout.size()` bytes.
            unsafe { block.write_bytes(0x5A, layout.size()) };
            blocks.push((block, layout));
        }
        align /= 2;
    }
    report_panics();
    for (block, layout) in blocks {
        // SAFETY: each block is still filled and ours.
        assert!(
            unsafe { std::slice::from_raw_parts(block, layout.size()) }
                .iter()
                .all(|&b| b == 0x5A)
        );
        // SAFETY: a live block with its layout.
        unsafe { ALLOC.dealloc(block, layout) };
    }
}

/// Near the top of the 4 GiB address space: after others grew memory past
/// 3 GiB, every request either gets null or a block wholly below 4 GiB, never
/// a wrapped address.
#[unsafe(no_mangle)]
extern "C" fn test_near_the_top_of_memory() {
    report_panics();
    // Others take memory up to 3 GiB.
    let pages = 3 * (1 << 30) / PAGE - memory_size(0);
    assert_ne!(
        memory_grow(0, pages),
        usize::MAX,
        "the engine refused to grow memory to 3 GiB"
    );
    let mut got = 0;
    for (size, align) in [
        (16usize, 8usize),
        (200, 16),
        (512 << 20, 16),
        (700 << 20, 16),
        (300 << 20, 1 << 20),
        (100 << 20, 1 << 28),
        (1 << 30, 16),
        (2040 << 20, 8),
        (usize::MAX / 2 - (1 << 20), 1 << 20),
        (64, 1 << 30),
        (16, 8),
    ] {
        let layout = Layout::from_size_align(size, align).unwrap();
        // SAFETY: a valid, non-zero layout.
        let block = unsafe { ALLOC.alloc(layout) };
        if block.is_null() {
            continue;
        }
        got += 1;
        let (start, end) = (block as u64, block as u64 + size as u64);
        assert!(
            start >= 3 << 30 || size <= 200,
            "block at {start:#x} below the foreign 3 GiB"
        );
        assert!(
            end <= memory_size(0) as u64 * PAGE as u64,
            "{size} bytes at {start:#x} end past memory"
        );
        assert_eq!(start % align as u64, 0);
        // Touch both ends: a wrapped block would land on live data.
        // SAFETY: the block is ours for `size` bytes.
        unsafe {
            block.write(1);
            block.add(size - 1).write(2);
        }
    }
    assert!(got >= 3, "small requests near the top still succeed");
}

/// `heap_base`: the module's first allocation comes from the free memory it
/// starts with (`[__heap_base, __heap_end)`), without growing memory; when
/// that is used up, memory grows and continues it; a second type with
/// `heap_base` in the same module does not get the same memory. (Makes the
/// module's first allocation itself, so no panic hook until then.)
#[cfg(any(feature = "options", feature = "coalesce"))]
#[unsafe(no_mangle)]
extern "C" fn test_heap_base() {
    // SAFETY: symbols the wasm linker defines; only their addresses are used.
    unsafe extern "C" {
        static __heap_base: u8;
        static __heap_end: u8;
    }
    let base = (&raw const __heap_base) as usize;
    let end = (&raw const __heap_end) as usize;
    let pages = memory_size(0);
    let fail = |what: &str| -> ! {
        record(what);
        core::arch::wasm32::unreachable()
    };
    if end != pages * PAGE || base >= end {
        fail("the module starts with free memory above __heap_base");
    }
    let small = Layout::from_size_align(24, 8).unwrap();
    // SAFETY: a valid, non-zero layout.
    let first = unsafe { ALLOC.alloc(small) } as usize;
    if first < base || first + 24 > end || memory_size(0) != pages {
        fail("the first block lies in the initial free memory, with no growth");
    }
    report_panics();
    let stats = Under::stats();
    assert_eq!(stats.obtained, end - ((base + 15) & !15), "{stats:?}");

    /// Another type with `heap_base`: the initial memory is taken.
    #[lite_alloc::lite_alloc(heap_base)]
    struct Second;
    // SAFETY: a valid, non-zero layout.
    let other = unsafe { Second.alloc(small) } as usize;
    assert!(
        other >= end,
        "the initial memory is handed out once: {other:#x}"
    );

    // Use up the initial memory: memory grows, and the heap continues
    // into the new pages.
    let big = Layout::from_size_align(end - first, 16).unwrap();
    // SAFETY: a valid, non-zero layout.
    let block = unsafe { ALLOC.alloc(big) } as usize;
    assert!(block != 0 && block + big.size() <= memory_size(0) * PAGE);
    assert!(memory_size(0) > pages, "memory grew");
}

/// A bin block of 8 KiB carved from a slab whose payload is 8-aligned, then
/// a chunk after the slab: the block ends before the chunk's header (it
/// once held the header in its last word, and freeing the chunk after the
/// block was filled trapped).
#[cfg(feature = "slab-bin")]
#[unsafe(no_mangle)]
extern "C" fn test_bin_block_before_a_chunk() {
    report_panics();
    for round in 0..4 {
        let mut buf = vec![0xABu8; 8192];
        let big: Vec<u64> = Vec::with_capacity(2000);
        assert!(
            buf.iter().all(|&b| b == 0xAB),
            "round {round}: the chunk after the slab wrote into the bin block"
        );
        buf.fill(0xCD);
        drop(big);
        assert!(buf.iter().all(|&b| b == 0xCD), "round {round}");
        Under::verify();
        // Leak the block, so that the next round carves a new slab.
        core::mem::forget(buf);
    }
}

/// A free chunk in any word of the bitmap of free lists serves a request
/// far below its list, split, before memory not yet used, and the heap's
/// checks (its bitmap among them) hold at each step. On wasm32 the bitmap's
/// words are 64 bits (32 elsewhere on 32-bit targets, which the tests on
/// i686 run): chunks from 1 MiB on are in its second word. In the checked
/// mode, whose quarantine holds a freed block back, a small block freed
/// after the big one pushes it out (the quarantine's bytes are over its
/// bound), into the heap's lists; and one round only, in the second word:
/// the quarantine would release a round's blocks during the next, as a
/// free chunk below that round's, which then serves the request first.
#[cfg(feature = "chunks")]
#[unsafe(no_mangle)]
extern "C" fn test_a_free_chunk_in_any_bitmap_word_serves() {
    report_panics();
    let request = Layout::from_size_align(64 << 10, 8).unwrap();
    #[cfg(not(feature = "checked"))]
    let rounds = [256 << 10, 2 << 20, 300 << 20];
    #[cfg(feature = "checked")]
    let rounds = [2 << 20];
    for bytes in rounds {
        let big = Layout::from_size_align(bytes, 8).unwrap();
        // SAFETY: valid, non-zero layouts; every block is freed with its
        // own.
        unsafe {
            let block = ALLOC.alloc(big);
            assert!(!block.is_null(), "{bytes} bytes");
            // Keeps the big block from the unused memory once freed.
            let last = ALLOC.alloc(request);
            assert!(!last.is_null());
            ALLOC.dealloc(block, big);
            #[cfg(feature = "checked")]
            {
                let small = Layout::from_size_align(8, 8).unwrap();
                let pusher = ALLOC.alloc(small);
                assert!(!pusher.is_null());
                ALLOC.dealloc(pusher, small);
            }
            Under::verify();
            let taken = ALLOC.alloc(request);
            assert_eq!(taken, block, "the free chunk of {bytes} bytes serves it");
            Under::verify();
            ALLOC.dealloc(taken, request);
            ALLOC.dealloc(last, request);
            Under::verify();
        }
    }
}

/// With a declared maximum, memory really runs out: null, then frees and
/// small allocations still work. (Run in a module linked with
/// `--max-memory`.)
#[unsafe(no_mangle)]
extern "C" fn test_out_of_memory() {
    report_panics();
    let big = Layout::from_size_align(1 << 20, 16).unwrap();
    let mut blocks = Vec::with_capacity(10_000);
    loop {
        // SAFETY: a valid, non-zero layout.
        let block = unsafe { ALLOC.alloc(big) };
        if block.is_null() {
            break;
        }
        blocks.push(block);
        assert!(
            blocks.len() < 5_000,
            "memory never ran out: is the module's maximum set?"
        );
    }
    assert!(!blocks.is_empty());
    // Use up what is left with small blocks, then one more must fail.
    let small = Layout::from_size_align(16, 8).unwrap();
    let mut smalls = Vec::with_capacity(1 << 16);
    loop {
        // SAFETY: a valid, non-zero layout.
        let block = unsafe { ALLOC.alloc(small) };
        if block.is_null() || smalls.len() == smalls.capacity() {
            break;
        }
        smalls.push(block);
    }
    // SAFETY: a valid layout.
    let failed = unsafe { ALLOC.alloc(Layout::from_size_align(100, 8).unwrap()) };
    if smalls.len() < smalls.capacity() {
        assert!(failed.is_null(), "memory is exhausted");
    }
    // Frees and reuse still work.
    let spare = smalls.pop().expect("some small blocks fit");
    // SAFETY: a live block with its layout; it makes room for the Vec below.
    unsafe { ALLOC.dealloc(spare, small) };
    let last = smalls.pop().expect("some small blocks fit");
    // SAFETY: a live block with its layout.
    unsafe { ALLOC.dealloc(last, small) };
    // SAFETY: as above.
    let again = unsafe { ALLOC.alloc(small) };
    assert_eq!(
        again, last,
        "a freed block is handed out again after out of memory"
    );
    // SAFETY: the block is ours.
    unsafe { again.write_bytes(7, 16) };
    let v: Vec<u8> = (0..10).collect();
    assert_eq!(v.len(), 10);
}
