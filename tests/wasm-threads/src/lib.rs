//! lite-alloc on wasm32 with threads: the `atomics` target feature, where
//! `sync = spin` (the default) is a real spin lock and the module's memory
//! is shared between Web Workers (Node's worker threads). Node instantiates
//! this module once per worker over one shared memory (`run.mjs`); each
//! worker runs random calls on one heap at a time while the others run
//! theirs on the same heap, checks every block it holds as it goes, and
//! hands blocks to the other workers to free (through `EXCHANGE`). Then the
//! main thread frees what was left in the exchange and walks the heap
//! (`verify()`).
//!
//! Five heaps, one of each kind: `lite_alloc::Default` (bins only), large
//! blocks reused, `lite_alloc::General` (chunks only), a bin in front of
//! chunks, and chunks in the checked mode, all over `memory.grow`
//! (`memory = wasm`): the pages one worker's call adds, the others' calls
//! use.
//!
//! `cargo +nightly build --release` (in this folder), then `node run.mjs
//! target/wasm32-unknown-unknown/release/lite_alloc_wasm_threads_tests.wasm`;
//! `tests/wasm_threads.rs` runs both, built for speed with debug assertions
//! and for size without.
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicU64, Ordering};

/// Odd bins (blocks of 12 and 40 bytes), large blocks reused by class,
/// realloc in place.
#[lite_alloc::lite_alloc(bins = [12, 24, 40], large = reuse, realloc)]
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

/// The heap numbered `heap` (0 to 4).
fn heap(heap: u32) -> &'static dyn GlobalAlloc {
    match heap {
        0 => &BINS,
        1 => &REUSE,
        2 => &CHUNKS,
        3 => &BIN_IN_FRONT,
        _ => &CHECKED,
    }
}

/// Walks heap `heap`: panics (a trap) at a broken invariant.
#[unsafe(no_mangle)]
pub extern "C" fn verify(heap: u32) {
    match heap {
        0 => lite_alloc::Default::verify(),
        1 => Reuse::verify(),
        2 => lite_alloc::General::verify(),
        3 => BinInFront::verify(),
        _ => Checked::verify(),
    }
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

/// Blocks on their way from one worker to another: each slot holds a block's
/// address in its low 32 bits, its size (under 2^24) and the log of its
/// alignment above (`Block::pack`; 0: empty). A worker swaps a block it
/// holds in and holds what it takes out, so that blocks are freed and
/// resized by other threads than the one that allocated them.
static EXCHANGE: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];

/// A block held, with its layout.
#[derive(Clone, Copy)]
struct Block {
    ptr: *mut u8,
    size: usize,
    align: usize,
}

impl Block {
    const NONE: Block = Block {
        ptr: core::ptr::null_mut(),
        size: 0,
        align: 1,
    };

    /// The layout it was allocated or last resized with.
    fn layout(&self) -> Layout {
        Layout::from_size_align(self.size, self.align).unwrap()
    }

    /// The byte the block holds at offset `i`: a function of its address,
    /// so that any worker can check a block it was handed, and a block
    /// written over by another would read differently.
    fn byte(&self, i: usize) -> u8 {
        ((self.ptr.addr() >> 2) as u8 ^ (i as u8).wrapping_mul(31)) | 1
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

    /// The block as a word of the exchange; its address exposed, for the
    /// worker that takes it out to make a pointer of.
    fn pack(&self) -> u64 {
        self.ptr.expose_provenance() as u64
            | (self.size as u64) << 32
            | (self.align.trailing_zeros() as u64) << 56
    }

    /// The block `pack` made `word` of.
    fn unpack(word: u64) -> Block {
        Block {
            ptr: core::ptr::with_exposed_provenance_mut(word as u32 as usize),
            size: (word >> 32) as usize & 0xff_ffff,
            align: 1 << (word >> 56),
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

/// `calls` random calls on heap `heap_number` (see `heap`), from `seed`:
/// allocations (some zeroed) of 1 B to 4 KiB aligned to 1 to 64, frees,
/// reallocations, and blocks swapped through the exchange. Every block is
/// checked before it is freed, resized or handed on, and every block held
/// is freed at the end. 0 when every block read back as written, else what
/// failed.
#[unsafe(no_mangle)]
pub extern "C" fn run(heap_number: u32, seed: u32, calls: u32) -> u32 {
    let heap = heap(heap_number);
    let mut x = seed | 1;
    let mut held = [Block::NONE; 48];
    for _ in 0..calls {
        let slot = next(&mut x) as usize % held.len();
        let block = held[slot];
        let choice = next(&mut x) % 8;
        let r = next(&mut x);
        // Mostly small blocks, some up to 4 KiB.
        let size = if r % 4 == 0 {
            r as usize >> 20
        } else {
            (r >> 8) as usize % 96
        } + 1;
        let align = 1 << (r % 7);
        if block.ptr.is_null() {
            let layout = Layout::from_size_align(size, align).unwrap();
            let zeroed = choice == 0;
            // SAFETY: a layout of non-zero size.
            let ptr = unsafe {
                if zeroed {
                    heap.alloc_zeroed(layout)
                } else {
                    heap.alloc(layout)
                }
            };
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
            let block = Block { ptr, size, align };
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
                unsafe { heap.dealloc(block.ptr, block.layout()) };
                held[slot] = Block::NONE;
            }
            // Resized.
            4 | 5 => {
                // SAFETY: as above; `size` is not zero.
                let ptr = unsafe { heap.realloc(block.ptr, block.layout(), size) };
                if ptr.is_null() {
                    return NULL;
                }
                let moved = Block {
                    ptr,
                    size,
                    align: block.align,
                };
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
                let word =
                    EXCHANGE[r as usize % EXCHANGE.len()].swap(block.pack(), Ordering::AcqRel);
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
        unsafe { heap.dealloc(block.ptr, block.layout()) };
    }
    0
}

/// Frees the blocks left in the exchange, on heap `heap_number` (once the
/// workers are done): 0, or `CHANGED` if one was not as its last holder left it.
#[unsafe(no_mangle)]
pub extern "C" fn drain(heap_number: u32) -> u32 {
    let heap = heap(heap_number);
    for slot in &EXCHANGE {
        let word = slot.swap(0, Ordering::AcqRel);
        if word != 0 {
            let block = Block::unpack(word);
            if !block.intact() {
                return CHANGED;
            }
            // SAFETY: a block no worker holds any more, with its layout.
            unsafe { heap.dealloc(block.ptr, block.layout()) };
        }
    }
    0
}
