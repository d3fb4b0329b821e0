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
//! `cargo +nightly build --release` (in this folder), then `node run.mjs
//! target/wasm32-unknown-unknown/release/lite_alloc_wasm_threads_tests.wasm`;
//! `tests/wasm_threads.rs` runs both, built for speed with debug assertions
//! and for size without.
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::Ordering::{AcqRel, Relaxed};
use core::sync::atomic::{AtomicU32, AtomicU64};

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
