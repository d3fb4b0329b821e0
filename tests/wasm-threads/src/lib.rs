//! lite-alloc on wasm32 with threads: the `atomics` target feature, where
//! `sync = spin` (the default) is a real spin lock and the module's memory
//! is shared between Web Workers (Node's worker threads). Node instantiates
//! this module once per worker over one shared memory (`run.mjs`); the
//! workers make random calls on one heap at once, or on every heap at once,
//! check every block they hold as they go, and hand blocks to each other to
//! free and resize (through `EXCHANGE`). Then the main thread frees what was
//! left in the exchange, walks each heap (`verify()`) and allocates from it
//! once more.
//!
//! Five heaps, one of each kind: `lite_alloc::Default` (bins only), large
//! blocks reused (first over the module's initial free memory,
//! `heap_base`), `lite_alloc::General` (chunks only), a bin in front of
//! chunks, and chunks in the checked mode, all over `memory.grow`
//! (`memory = wasm`): when every heap runs at once, each grows the memory
//! while the others use it.
//!
//! Then `stale_view`: a thread spins in a loop with no call while another
//! makes a heap take pages it grew and frees blocks of them into its bins;
//! the first then resizes a block and allocates a zeroed one, which copy
//! into and clear those blocks. V8 keeps a stale memory size in the
//! spinning thread's instance in most rounds, and only the heap making the
//! thread see all of its memory keeps that copy and clear from trapping.
//! Once on a heap over wasm memory, once on one over claimed memory whose
//! current region ends below the grown pages.
//!
//! `cargo +nightly build --release` (in this folder), then `node run.mjs
//! target/wasm32-unknown-unknown/release/lite_alloc_wasm_threads_tests.wasm`;
//! `tests/wasm_threads.rs` runs both, built for speed with debug assertions
//! and for size without.
#![no_std]
#![feature(stdarch_wasm_atomic_wait)]

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::Ordering::{AcqRel, Relaxed, SeqCst};
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64};

/// Odd bins (blocks of 12 and 40 bytes), large blocks reused by class,
/// realloc in place; its first region the free memory the module starts
/// with (`heap_base`), taken by whichever worker's call comes first.
#[lite_alloc::lite_alloc(bins = [12, 24, 40], large = reuse, realloc, heap_base)]
struct Reuse;

/// A bin of 8 bytes in front of chunks, whose slabs are chunks too.
#[lite_alloc::lite_alloc(bins = [8], large = coalesce, realloc, growth = 1/32)]
struct BinInFront;

/// `General`'s configuration in the checked mode: a misuse or a corrupted
/// block panics with its report (a trap here).
#[lite_alloc::lite_alloc(bins = [], large = coalesce, realloc, growth = 1/32, check)]
struct Checked;

/// Bins only, as shipped.
static BINS: lite_alloc::Default = lite_alloc::Default::new();
static REUSE: Reuse = Reuse::new();
/// Every block a chunk, as shipped.
static CHUNKS: lite_alloc::General = lite_alloc::General::new();
static BIN_IN_FRONT: BinInFront = BinInFront::new();
static CHECKED: Checked = Checked::new();

/// The heaps, numbered 0 to 4 in this order.
const HEAPS: usize = 5;
/// `run`'s heap number for every heap at once: each allocation on one
/// chosen at random.
const EVERY: u32 = HEAPS as u32;

/// The heap numbered `heap`.
fn heap(heap: usize) -> &'static dyn GlobalAlloc {
    match heap {
        0 => &BINS,
        1 => &REUSE,
        2 => &CHUNKS,
        3 => &BIN_IN_FRONT,
        _ => &CHECKED,
    }
}

/// Calls in progress on each heap, and calls that began while another was
/// in progress on the same heap (and so waited for its lock): how much the
/// workers' calls met, which a run needs for the lock to be tested at all.
static INSIDE: [AtomicU32; HEAPS] = [const { AtomicU32::new(0) }; HEAPS];
static MET: [AtomicU32; HEAPS] = [const { AtomicU32::new(0) }; HEAPS];

/// `call` on heap `number`, counted in `INSIDE` and `MET`.
fn on<R>(number: usize, call: impl FnOnce(&dyn GlobalAlloc) -> R) -> R {
    if INSIDE[number].fetch_add(1, Relaxed) > 0 {
        MET[number].fetch_add(1, Relaxed);
    }
    let result = call(heap(number));
    INSIDE[number].fetch_sub(1, Relaxed);
    result
}

/// Calls that met another on heap `heap_number` (`EVERY`: on any heap) so
/// far.
#[unsafe(no_mangle)]
pub extern "C" fn met(heap_number: u32) -> u32 {
    match heap_number as usize {
        number if number < HEAPS => MET[number].load(Relaxed),
        _ => MET.iter().map(|met| met.load(Relaxed)).sum(),
    }
}

/// Walks heap `heap_number`, panicking (a trap) at a broken invariant, then
/// allocates and frees one block there: 0, or `NULL` if it was refused (a
/// heap left refusing every call, as a re-entry guard stuck on would).
#[unsafe(no_mangle)]
pub extern "C" fn verify(heap_number: u32) -> u32 {
    match heap_number {
        0 => lite_alloc::Default::verify(),
        1 => Reuse::verify(),
        2 => lite_alloc::General::verify(),
        3 => BinInFront::verify(),
        _ => Checked::verify(),
    }
    let heap = heap(heap_number as usize);
    let layout = Layout::new::<[u64; 8]>();
    // SAFETY: a layout of non-zero size.
    let block = unsafe { heap.alloc(layout) };
    if block.is_null() {
        return NULL;
    }
    // SAFETY: the block just allocated, with its layout.
    unsafe { heap.dealloc(block, layout) };
    0
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Workers at most (`run.mjs` starts four).
const WORKERS: usize = 4;
/// Bytes of stack each worker has.
const STACK: usize = 64 * 1024;

/// The workers' stacks: each instance of the module has its own stack
/// pointer (a global), which Node sets to the top of one of these; the
/// first instance, on the main thread, keeps the linker's stack.
#[repr(C, align(16))]
struct Stacks([[u8; STACK]; WORKERS]);
static mut STACKS: Stacks = Stacks([[0; STACK]; WORKERS]);

/// The top of worker `worker`'s stack.
#[unsafe(no_mangle)]
pub extern "C" fn stack_top(worker: u32) -> usize {
    assert!((worker as usize) < WORKERS);
    // Only the address is taken: no reference to the `static mut`.
    (&raw mut STACKS).addr() + (worker as usize + 1) * STACK
}

/// Blocks on their way from one worker to another (`Block::pack`; 0:
/// empty). A worker swaps a block it holds in and holds what it takes out,
/// so that blocks are freed and resized by other threads than the one that
/// allocated them.
static EXCHANGE: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];

/// Where the next block's tag comes from.
static TAGS: AtomicU32 = AtomicU32::new(1);

/// A block held, with its layout, its heap and its tag.
#[derive(Clone, Copy)]
struct Block {
    ptr: *mut u8,
    size: usize,
    align: usize,
    heap: usize,
    /// Different for each allocation (13 bits, wrapping): two blocks handed
    /// out at the same address, one before the other is freed, hold
    /// different bytes.
    tag: u32,
}

impl Block {
    const NONE: Block = Block {
        ptr: core::ptr::null_mut(),
        size: 0,
        align: 1,
        heap: 0,
        tag: 0,
    };

    /// The layout it was allocated or last resized with.
    fn layout(&self) -> Layout {
        Layout::from_size_align(self.size, self.align).unwrap()
    }

    /// The byte the block holds at offset `i`: a function of its address
    /// and tag, so that any worker can check a block it was handed, and a
    /// block written over by another (elsewhere, or at the same address)
    /// reads differently in at least every fourth byte.
    fn byte(&self, i: usize) -> u8 {
        let mixed = (self.ptr.addr() as u32 ^ self.tag << 19).wrapping_mul(0x9e37_79b9);
        (mixed >> (8 * (i % 4))) as u8 ^ (i / 4) as u8
    }

    /// Writes every byte `byte` says.
    fn fill(&self) {
        for i in 0..self.size {
            // SAFETY: inside the block.
            unsafe { self.ptr.add(i).write(self.byte(i)) };
        }
    }

    /// Whether every byte is what `fill` wrote.
    fn intact(&self) -> bool {
        // SAFETY: inside the block.
        (0..self.size).all(|i| unsafe { self.ptr.add(i).read() } == self.byte(i))
    }

    /// The block as a word of the exchange: its address (exposed, for the
    /// worker that takes it out to make a pointer of) in the low 32 bits,
    /// then its size (at most 4096: 13 bits), the log of its alignment (3
    /// bits), its heap (3 bits) and its tag (13 bits).
    fn pack(&self) -> u64 {
        self.ptr.expose_provenance() as u64
            | (self.size as u64) << 32
            | (self.align.trailing_zeros() as u64) << 45
            | (self.heap as u64) << 48
            | (self.tag as u64) << 51
    }

    /// The block `pack` made `word` of.
    fn unpack(word: u64) -> Block {
        Block {
            ptr: core::ptr::with_exposed_provenance_mut(word as u32 as usize),
            size: (word >> 32) as usize & 0x1fff,
            align: 1 << (word >> 45 & 7),
            heap: (word >> 48) as usize & 7,
            tag: (word >> 51) as u32,
        }
    }
}

/// xorshift32.
fn next(x: &mut u32) -> u32 {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    *x
}

/// The failures `run` reports (0: none).
const NULL: u32 = 1;
const MISALIGNED: u32 = 2;
const NOT_ZERO: u32 = 3;
const CHANGED: u32 = 4;

/// `calls` random calls on heap `heap_number` (`EVERY`: each allocation on
/// a heap chosen at random), from `seed`: allocations (some zeroed) of 1 B
/// to 4 KiB aligned to 1 to 64, frees, reallocations, and blocks swapped
/// through the exchange. Every block is checked before it is freed, resized
/// or handed on, and every block held is freed at the end. 0 when every
/// block read back as written, else what failed.
#[unsafe(no_mangle)]
pub extern "C" fn run(heap_number: u32, seed: u32, calls: u32) -> u32 {
    let mut x = seed | 1;
    let mut held = [Block::NONE; 48];
    for _ in 0..calls {
        let slot = next(&mut x) as usize % held.len();
        let block = held[slot];
        let choice = next(&mut x) % 8;
        let r = next(&mut x);
        let number = if !block.ptr.is_null() {
            block.heap
        } else if heap_number == EVERY {
            (r >> 3) as usize % HEAPS
        } else {
            heap_number as usize
        };
        // Mostly small blocks, some up to 4 KiB: fewer on `Default`, which
        // never reuses them (nor one that realloc moves), so that its
        // memory stays bounded however many rounds a phase takes.
        let large = if number == 0 { r % 64 == 0 } else { r % 4 == 0 };
        let size = if large {
            r as usize >> 20
        } else {
            (r >> 8) as usize % 96
        } + 1;
        let align = 1 << (r % 7);
        if block.ptr.is_null() {
            let layout = Layout::from_size_align(size, align).unwrap();
            let zeroed = choice == 0;
            // SAFETY: a layout of non-zero size.
            let ptr = on(number, |heap| unsafe {
                if zeroed {
                    heap.alloc_zeroed(layout)
                } else {
                    heap.alloc(layout)
                }
            });
            if ptr.is_null() {
                return NULL;
            }
            if ptr.addr() % align != 0 {
                return MISALIGNED;
            }
            // SAFETY: the block just allocated.
            if zeroed && (0..size).any(|i| unsafe { ptr.add(i).read() } != 0) {
                return NOT_ZERO;
            }
            let tag = TAGS.fetch_add(1, Relaxed) & 0x1fff;
            let block = Block {
                ptr,
                size,
                align,
                heap: number,
                tag,
            };
            block.fill();
            held[slot] = block;
            continue;
        }
        if !block.intact() {
            return CHANGED;
        }
        match choice {
            // Freed.
            0..=3 => {
                // SAFETY: a block this worker holds, with its layout.
                on(block.heap, |heap| unsafe {
                    heap.dealloc(block.ptr, block.layout())
                });
                held[slot] = Block::NONE;
            }
            // Resized.
            4 | 5 => {
                // SAFETY: as above; `size` is not zero.
                let ptr = on(block.heap, |heap| unsafe {
                    heap.realloc(block.ptr, block.layout(), size)
                });
                if ptr.is_null() {
                    return NULL;
                }
                let moved = Block { ptr, size, ..block };
                // The bytes kept, as they were written at the old address.
                for i in 0..size.min(block.size) {
                    // SAFETY: inside the resized block.
                    if unsafe { ptr.add(i).read() } != block.byte(i) {
                        return CHANGED;
                    }
                }
                moved.fill();
                held[slot] = moved;
            }
            // Handed to another worker: a block from the exchange takes its
            // place (checked), or none.
            _ => {
                // Acquire and release: the block's bytes go with it.
                let word = EXCHANGE[r as usize % EXCHANGE.len()].swap(block.pack(), AcqRel);
                held[slot] = if word == 0 {
                    Block::NONE
                } else {
                    Block::unpack(word)
                };
                if word != 0 && !held[slot].intact() {
                    return CHANGED;
                }
            }
        }
    }
    for block in held.iter().filter(|b| !b.ptr.is_null()) {
        if !block.intact() {
            return CHANGED;
        }
        // SAFETY: a block this worker holds, with its layout.
        on(block.heap, |heap| unsafe {
            heap.dealloc(block.ptr, block.layout())
        });
    }
    0
}

/// Frees the blocks left in the exchange (once the workers are done): 0,
/// or `CHANGED` if one was not as its last holder left it.
#[unsafe(no_mangle)]
pub extern "C" fn drain() -> u32 {
    for slot in &EXCHANGE {
        let word = slot.swap(0, AcqRel);
        if word != 0 {
            let block = Block::unpack(word);
            if !block.intact() {
                return CHANGED;
            }
            // SAFETY: a block no worker holds any more, with its layout.
            unsafe { heap(block.heap).dealloc(block.ptr, block.layout()) };
        }
    }
    0
}

/// `Default`'s bins over wasm memory, for `stale_view`: a heap of its
/// own, so that its memory is laid out the same in every run.
#[lite_alloc::lite_alloc(bins = [16, 32, 64, 128])]
struct Stale;
static STALE: Stale = Stale::new();

/// `Default`'s bins over memory the program claims for it, for
/// `stale_view`: its first region a static, then in each round pages the
/// growing thread grew and claimed, then another static, which lies below
/// them: the heap's current region ends below blocks it holds.
#[lite_alloc::lite_alloc(bins = [16, 32, 64, 128], memory = claimed)]
struct StaleClaimed;
static STALE_CLAIMED: StaleClaimed = StaleClaimed::new();
/// `StaleClaimed`'s first region.
static mut CLAIMED_FIRST: [u8; 4096] = [0; 4096];
/// `StaleClaimed`'s static region of each round, after the grown pages.
static mut CLAIMED_AFTER: [[u8; 32768]; STALE_ROUNDS] = [[0; 32768]; STALE_ROUNDS];

/// `stale_view`'s heap numbered `heap`: 0, over wasm memory; 1, claimed.
fn stale_heap(heap: u32) -> &'static dyn GlobalAlloc {
    if heap == 0 { &STALE } else { &STALE_CLAIMED }
}

/// `stale_view`'s rounds: each grows the heap's memory once.
const STALE_ROUNDS: usize = 10;

/// The steps of each round of `stale_view`, for its two threads to take in
/// turn.
static STEP: AtomicI32 = AtomicI32::new(0);
/// The calling thread spins, with no call, until the other has grown.
const SPINNING: i32 = 1;
/// The other thread has grown the memory and freed two blocks of the new
/// pages into the heap's bins.
const GROWN: i32 = 2;
/// A thread failed: the other stops waiting.
const FAILED: i32 = 3;
/// How far the memory reaches, in pages, once the growing thread grew it.
static GROWN_PAGES: AtomicU32 = AtomicU32::new(0);

/// Waits until `STEP` is `step`, sleeping: false if the other thread
/// failed.
fn wait_for(step: i32) -> bool {
    loop {
        let now = STEP.load(SeqCst);
        if now == step || now == FAILED {
            return now == step;
        }
        // SAFETY: `STEP` is a static, aligned and shared.
        unsafe { core::arch::wasm32::memory_atomic_wait32(STEP.as_ptr(), now, -1) };
    }
}

/// Waits until `STEP` is `step`, spinning in a loop with no call, as a
/// thread waiting for a spin lock does: false if the other thread failed.
/// Inlined, as the lock's loop is: out of line in the size build, the
/// view after it was never stale.
#[inline(always)]
fn spin_until(step: i32) -> bool {
    loop {
        let now = STEP.load(SeqCst);
        if now == step || now == FAILED {
            return now == step;
        }
        core::hint::spin_loop();
    }
}

/// Moves `STEP` on to `step` and wakes the other thread.
fn step(step: i32) {
    STEP.store(step, SeqCst);
    // SAFETY: as above.
    unsafe { core::arch::wasm32::memory_atomic_notify(STEP.as_ptr(), 1) };
}

/// `failure` after telling the other thread, which then stops waiting.
fn failed(failure: u32) -> u32 {
    step(FAILED);
    failure
}

/// `stale_view_call` on the heap over wasm memory.
#[unsafe(no_mangle)]
pub extern "C" fn stale_view_call_wasm() -> u32 {
    stale_view_call(0)
}

/// `stale_view_call` on the heap over claimed memory. Each heap has a
/// function of its own: V8 kept the stale size in most rounds of a
/// function's first run, and seldom in a later run.
#[unsafe(no_mangle)]
pub extern "C" fn stale_view_call_claimed() -> u32 {
    stale_view_call(1)
}

/// Sets `stale_view`'s steps back, before each heap's pair of threads
/// begins.
#[unsafe(no_mangle)]
pub extern "C" fn stale_view_begin() {
    STEP.store(0, SeqCst);
}

/// `stale_view`, the thread that calls. In each round it allocates a
/// block, spins (no call) while the other thread makes the heap take pages
/// it grew and frees two blocks of them into the heap's bins, notes
/// whether its instance still sees the memory's old size (`memory.size`
/// below the new one), then resizes its block (the copy lands in the first
/// of the two) and allocates a zeroed block (cleared in the second); it
/// keeps both until the end, so that the bins are empty for the next
/// round. The rounds in which its view was stale, times 256, plus 0 if
/// every block kept its bytes, or `NULL`, `NOT_ZERO` or `CHANGED`. With a
/// stale view, a copy or clear into the new pages traps unless the heap
/// makes the thread see them first. Inlined into each export, where `heap`
/// is a constant: the calls into the heap are then the heap's own code,
/// inlined as a program's would be, not calls through `dyn`.
#[inline(always)]
fn stale_view_call(heap: u32) -> u32 {
    if heap == 1 {
        // SAFETY: a static that only this heap uses, claimed once.
        unsafe { STALE_CLAIMED.claim((&raw mut CLAIMED_FIRST).cast(), 4096) };
    }
    let heap = stale_heap(heap);
    // Sizes the compiler does not know, so that the copy and the clear
    // stay the bulk operations they are for sizes found at run time.
    let small = Layout::from_size_align(core::hint::black_box(16), 8).unwrap();
    let resized = Layout::from_size_align(core::hint::black_box(32), 8).unwrap();
    let zeroed = Layout::from_size_align(core::hint::black_box(64), 8).unwrap();
    let bytes = *b"kept across grow";
    let mut kept = [(core::ptr::null_mut::<u8>(), core::ptr::null_mut::<u8>()); STALE_ROUNDS];
    let mut stale = 0;
    for round in &mut kept {
        // SAFETY: a layout of non-zero size.
        let block = unsafe { heap.alloc(small) };
        if block.is_null() {
            return failed(NULL);
        }
        // SAFETY: the block just allocated, of 16 bytes.
        unsafe { block.copy_from_nonoverlapping(bytes.as_ptr(), 16) };
        step(SPINNING);
        if !spin_until(GROWN) {
            return 0;
        }
        if core::arch::wasm32::memory_size(0) < GROWN_PAGES.load(SeqCst) as usize {
            stale += 1;
        }
        // SAFETY: the block, with its layout; the new size is not zero.
        let moved = unsafe { heap.realloc(block, small, resized.size()) };
        // SAFETY: a layout of non-zero size.
        let clear = unsafe { heap.alloc_zeroed(zeroed) };
        if moved.is_null() || clear.is_null() {
            return failed(NULL);
        }
        // SAFETY: the blocks, of 32 and 64 bytes.
        unsafe {
            if core::slice::from_raw_parts(moved, 16) != bytes {
                return failed(CHANGED);
            }
            if core::slice::from_raw_parts(clear, 64)
                .iter()
                .any(|&b| b != 0)
            {
                return failed(NOT_ZERO);
            }
        }
        *round = (moved, clear);
    }
    for &(moved, clear) in &kept {
        // SAFETY: the blocks, with their layouts.
        unsafe {
            heap.dealloc(moved, resized);
            heap.dealloc(clear, zeroed);
        }
    }
    stale << 8
}

/// `stale_view`, the thread that grows the memory. In each round, once the
/// other spins, it makes the heap take new pages (see `grow_into`), then
/// allocates a block of 32 and one of 64 bytes there, writes over the
/// second, and frees both into the heap's bins. 0, or `NULL`.
#[unsafe(no_mangle)]
pub extern "C" fn stale_view_grow(heap: u32) -> u32 {
    let resized = Layout::from_size_align(32, 8).unwrap();
    let zeroed = Layout::from_size_align(64, 8).unwrap();
    for round in 0..STALE_ROUNDS {
        if !wait_for(SPINNING) {
            return 0;
        }
        let Some(grown) = grow_into(heap, round) else {
            return failed(NULL);
        };
        // Blocks in the new pages: any of the bins' taken elsewhere (the
        // claimed heap's static regions) are left allocated.
        let in_grown = |layout| loop {
            // SAFETY: a layout of non-zero size.
            let block = unsafe { stale_heap(heap).alloc(layout) };
            if block.is_null() || block.addr() >= grown {
                break block;
            }
        };
        let blocks = [in_grown(resized), in_grown(zeroed)];
        if blocks.iter().any(|block| block.is_null()) {
            return failed(NULL);
        }
        // SAFETY: the blocks just allocated, with their layouts.
        unsafe {
            blocks[1].write_bytes(0xa5, 64);
            stale_heap(heap).dealloc(blocks[0], resized);
            stale_heap(heap).dealloc(blocks[1], zeroed);
        }
        if heap == 1 {
            // The claimed heap leaves the grown pages for the static region
            // after them, below them: more than their region has left.
            // SAFETY: a layout of non-zero size.
            if unsafe { STALE_CLAIMED.alloc(Layout::from_size_align(25_000, 8).unwrap()) }.is_null()
            {
                return failed(NULL);
            }
        }
        GROWN_PAGES.store(core::arch::wasm32::memory_size(0) as u32, SeqCst);
        step(GROWN);
    }
    0
}

/// Makes `stale_view`'s heap `heap` carve from pages grown now: where they
/// start, or `None`. Over wasm memory, a block larger than its region has
/// left makes it grow the memory; the claimed heap is handed two pages
/// this thread grows, then the round's static region, and a block that
/// fills most of the pages (110,000 of 131,072 bytes).
fn grow_into(heap: u32, round: usize) -> Option<usize> {
    if heap == 0 {
        let before = core::arch::wasm32::memory_size(0) << 16;
        // SAFETY: a layout of non-zero size; the block is freed at once
        // (the heap never reuses blocks this large).
        unsafe {
            let layout = Layout::from_size_align(70_000, 8).unwrap();
            let block = STALE.alloc(layout);
            if block.is_null() {
                return None;
            }
            STALE.dealloc(block, layout);
        }
        return Some(before);
    }
    let old = core::arch::wasm32::memory_grow(0, 2);
    if old == usize::MAX {
        return None;
    }
    let grown: *mut u8 = core::ptr::with_exposed_provenance_mut(old << 16);
    // SAFETY: pages this thread just grew, which nothing else uses, and
    // the round's static region, only this heap's; each claimed once.
    unsafe {
        STALE_CLAIMED.claim(grown, 2 << 16);
        STALE_CLAIMED.claim((&raw mut CLAIMED_AFTER[round]).cast(), 32768);
    }
    let layout = Layout::from_size_align(110_000, 8).unwrap();
    // SAFETY: a layout of non-zero size; left allocated.
    if unsafe { STALE_CLAIMED.alloc(layout) }.is_null() {
        return None;
    }
    Some(old << 16)
}
