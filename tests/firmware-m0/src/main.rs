//! lite-alloc on a Cortex-M0 (`thumbv6m-none-eabi`), the smallest chip it
//! serves: no compare-and-swap, so every heap is locked with the
//! `critical-section` crate, and no unaligned access, so a header or a link
//! written at an address that is not a multiple of its size faults.
//!
//! Five heaps, one of each kind (bins only, large blocks reused, chunks
//! only, a bin in front of chunks, and chunks in the checked mode), each
//! with an arena of its own, run random calls (allocations, zeroed ones,
//! frees and reallocations of 1 B to a quarter of the arena, aligned to up
//! to 64) while the SysTick interrupt fires every 100 cycles, frees the
//! block it allocated last time and allocates another on the same heap.
//! After each call the program checks every live block's contents, that no
//! two overlap, and the heap's own invariants (`verify()`, which with debug
//! assertions walks every chunk). Then everything is freed, and the heap of
//! chunks only must serve nearly its whole arena again (a bin's slabs stay
//! with their bin).
//!
//! `cargo run --release` (in this folder) runs it under QEMU's micro:bit
//! board; it prints what it did over semihosting and exits with success or
//! failure. `tests/firmware.rs` runs it.
#![no_std]
#![no_main]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};

/// Each heap's arena: small, so that the workload runs it out.
const ARENA: usize = 2048;

/// `lite_alloc::Default`'s configuration.
#[lite_alloc::lite_alloc(memory = arena(ARENA), sync = critical_section)]
struct Bins;

/// Odd bins (not powers of two, so blocks of 12 and 40 bytes), large blocks
/// reused by class, realloc in place.
#[lite_alloc::lite_alloc(bins = [12, 24, 40], large = reuse, realloc, memory = arena(ARENA), sync = critical_section)]
struct Reuse;

/// `lite_alloc::General`'s configuration (less its `growth`, which an arena
/// ignores): every block a chunk.
#[lite_alloc::lite_alloc(bins = [], large = coalesce, realloc, memory = arena(ARENA), sync = critical_section)]
struct Chunks;

/// A bin of 8 bytes in front of chunks, whose slabs are chunks too.
#[lite_alloc::lite_alloc(bins = [8], large = coalesce, realloc, memory = arena(ARENA), sync = critical_section)]
struct BinInFront;

/// `General`'s configuration in the checked mode: every call checked, freed
/// blocks quarantined and poisoned. A misuse would panic with its report.
#[lite_alloc::lite_alloc(bins = [], large = coalesce, realloc, check, memory = arena(ARENA), sync = critical_section)]
struct Checked;

static BINS: Bins = Bins::new();
static REUSE: Reuse = Reuse::new();
static CHUNKS: Chunks = Chunks::new();
static BIN_IN_FRONT: BinInFront = BinInFront::new();
static CHECKED: Checked = Checked::new();

/// The heap the interrupt uses: 1 to 5, the number of the heap under test;
/// 0 for none.
static UNDER_TEST: AtomicUsize = AtomicUsize::new(0);
/// Blocks the interrupt allocated, checked and freed.
static TICKS_SERVED: AtomicU32 = AtomicU32::new(0);
/// Interrupts that found the heap out of memory.
static TICKS_REFUSED: AtomicU32 = AtomicU32::new(0);

/// Adds one to a count only the interrupt writes (a load and a store: the
/// Cortex-M0 has no atomic read-modify-write).
fn bump(count: &AtomicU32) {
    count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Ends the run under QEMU with `status` (semihosting).
fn exit(status: debug::ExitStatus) -> ! {
    debug::exit(status);
    loop {
        cortex_m::asm::wfi();
    }
}

fn fail(what: &str) -> ! {
    hprintln!("FAIL {}", what);
    exit(debug::EXIT_FAILURE)
}

fn check(ok: bool, what: &str) {
    if !ok {
        fail(what);
    }
}

/// A small generator (xorshift32): the same calls on every run.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// The byte at `i` of a block filled with `seed`.
fn pattern(seed: u8, i: usize) -> u8 {
    seed.wrapping_add(i as u8).wrapping_mul(31)
}

/// Writes the block's pattern.
///
/// # Safety
///
/// `p` is valid for writes of `size` bytes.
unsafe fn fill(p: *mut u8, size: usize, seed: u8) {
    for i in 0..size {
        // SAFETY: `i < size`, inside the block (the caller's promise).
        unsafe { p.add(i).write(pattern(seed, i)) };
    }
}

/// Whether the block's first `size` bytes still hold its pattern.
///
/// # Safety
///
/// `p` is valid for reads of `size` bytes.
unsafe fn intact(p: *const u8, size: usize, seed: u8) -> bool {
    // SAFETY: `i < size`, inside the block (the caller's promise).
    (0..size).all(|i| unsafe { p.add(i).read() } == pattern(seed, i))
}

/// A block the workload holds.
#[derive(Clone, Copy)]
struct Live {
    ptr: *mut u8,
    layout: Layout,
    seed: u8,
}

/// What a workload did.
#[derive(Default)]
struct Tally {
    allocated: u32,
    refused: u32,
    freed: u32,
    resized_in_place: u32,
    moved: u32,
}

/// Blocks live at once, at most.
const SLOTS: usize = 40;

/// A request: mostly small, sometimes up to a quarter of the arena; aligned
/// to 1 to 8 mostly, sometimes to 16, 32 or 64.
fn layout(rng: &mut Rng) -> Layout {
    let size = if rng.below(4) == 0 {
        65 + rng.below(ARENA as u32 / 4 - 64) as usize
    } else {
        1 + rng.below(64) as usize
    };
    let align = if rng.below(8) == 0 {
        16 << rng.below(3)
    } else {
        1 << rng.below(4)
    };
    Layout::from_size_align(size, align).unwrap()
}

/// Whether `[p, p + size)` overlaps no live block but the one in `slot`
/// (the block being resized, or none).
fn apart(live: &[Option<Live>], slot: usize, p: *mut u8, size: usize) -> bool {
    live.iter().enumerate().all(|(i, other)| match other {
        Some(other) if i != slot => {
            p.addr() + size <= other.ptr.addr()
                || other.ptr.addr() + other.layout.size() <= p.addr()
        }
        _ => true,
    })
}

/// Runs `steps` random calls on `heap`, with `verify` after each.
fn workload<A: GlobalAlloc>(heap: &A, verify: fn(), steps: u32, rng: &mut Rng) -> Tally {
    let mut live: [Option<Live>; SLOTS] = [None; SLOTS];
    let mut tally = Tally::default();
    for step in 0..steps {
        let slot = rng.below(SLOTS as u32) as usize;
        let seed = step as u8;
        match live[slot] {
            None => {
                let layout = layout(rng);
                let zeroed = rng.below(4) == 0;
                // SAFETY: a layout of non-zero size.
                let p = unsafe {
                    if zeroed {
                        heap.alloc_zeroed(layout)
                    } else {
                        heap.alloc(layout)
                    }
                };
                if p.is_null() {
                    tally.refused += 1;
                } else {
                    check(p.addr() % layout.align() == 0, "a block aligned");
                    if zeroed {
                        // SAFETY: a block of `layout.size()` bytes.
                        let zero = (0..layout.size()).all(|i| unsafe { p.add(i).read() } == 0);
                        check(zero, "a zeroed block reads as zero");
                    }
                    check(
                        apart(&live, slot, p, layout.size()),
                        "a new block overlaps none in use",
                    );
                    // SAFETY: the block just allocated.
                    unsafe { fill(p, layout.size(), seed) };
                    live[slot] = Some(Live {
                        ptr: p,
                        layout,
                        seed,
                    });
                    tally.allocated += 1;
                }
            }
            Some(block) => {
                // SAFETY: a live block of `block.layout`.
                check(
                    unsafe { intact(block.ptr, block.layout.size(), block.seed) },
                    "a live block's contents",
                );
                if rng.below(3) == 0 {
                    let new_size = layout(rng).size();
                    // SAFETY: a live block of this heap, its layout, a
                    // non-zero size.
                    let p = unsafe { heap.realloc(block.ptr, block.layout, new_size) };
                    if p.is_null() {
                        // The block stays as it was.
                        tally.refused += 1;
                        verify();
                        continue;
                    }
                    let kept = block.layout.size().min(new_size);
                    // SAFETY: the block's first `kept` bytes moved with it.
                    check(
                        unsafe { intact(p, kept, block.seed) },
                        "a reallocated block keeps its contents",
                    );
                    check(
                        p.addr() % block.layout.align() == 0,
                        "a resized block aligned",
                    );
                    if p == block.ptr {
                        tally.resized_in_place += 1;
                    } else {
                        tally.moved += 1;
                    }
                    let layout = Layout::from_size_align(new_size, block.layout.align()).unwrap();
                    check(
                        apart(&live, slot, p, new_size),
                        "a resized block overlaps none in use",
                    );
                    // SAFETY: the resized block.
                    unsafe { fill(p, new_size, seed) };
                    live[slot] = Some(Live {
                        ptr: p,
                        layout,
                        seed,
                    });
                } else {
                    // SAFETY: a live block of this heap, its layout.
                    unsafe { heap.dealloc(block.ptr, block.layout) };
                    live[slot] = None;
                    tally.freed += 1;
                }
            }
        }
        verify();
    }
    for block in live.iter().flatten() {
        // SAFETY: a live block of `block.layout`.
        check(
            unsafe { intact(block.ptr, block.layout.size(), block.seed) },
            "a live block's contents at the end",
        );
        // SAFETY: a live block of this heap, its layout.
        unsafe { heap.dealloc(block.ptr, block.layout) };
        tally.freed += 1;
    }
    verify();
    tally
}

/// The interrupt's block.
const HELD_LAYOUT: Layout = match Layout::from_size_align(20, 4) {
    Ok(layout) => layout,
    Err(_) => panic!(),
};
/// The block the interrupt holds until its next run, of `HELD_LAYOUT`, on
/// the heap under test; null when none.
static HELD: AtomicPtr<u8> = AtomicPtr::new(null_mut());

/// Frees the interrupt's block, after checking its contents.
fn release_held<A: GlobalAlloc>(heap: &A) {
    // A load and a store: the Cortex-M0 has no atomic swap, and only one of
    // the interrupt and the program runs this at a time.
    let held = HELD.load(Ordering::Relaxed);
    HELD.store(null_mut(), Ordering::Relaxed);
    if !held.is_null() {
        // SAFETY: the interrupt's live block, of `HELD_LAYOUT`.
        check(
            unsafe { intact(held, HELD_LAYOUT.size(), 0xA5) },
            "the interrupt's block",
        );
        // SAFETY: as above, on this heap.
        unsafe { heap.dealloc(held, HELD_LAYOUT) };
    }
}

/// What the interrupt does, between two of the workload's calls (the
/// critical section keeps it out of them): frees the block it allocated
/// last time, and allocates and fills another, which stays among the
/// workload's blocks until its next run.
fn interrupt_block<A: GlobalAlloc>(heap: &A) {
    release_held(heap);
    // SAFETY: a layout of non-zero size.
    let p = unsafe { heap.alloc(HELD_LAYOUT) };
    if p.is_null() {
        bump(&TICKS_REFUSED);
        return;
    }
    // SAFETY: the block just allocated.
    unsafe { fill(p, HELD_LAYOUT.size(), 0xA5) };
    HELD.store(p, Ordering::Relaxed);
    bump(&TICKS_SERVED);
}

#[exception]
fn SysTick() {
    match UNDER_TEST.load(Ordering::Relaxed) {
        1 => interrupt_block(&BINS),
        2 => interrupt_block(&REUSE),
        3 => interrupt_block(&CHUNKS),
        4 => interrupt_block(&BIN_IN_FRONT),
        5 => interrupt_block(&CHECKED),
        _ => {}
    }
}

/// Runs the workload on heap number `n`, prints its tally, and checks that
/// it did something of each kind.
fn test<A: GlobalAlloc>(n: usize, name: &str, heap: &A, verify: fn(), realloc: bool) {
    let served = TICKS_SERVED.load(Ordering::Relaxed);
    let refused = TICKS_REFUSED.load(Ordering::Relaxed);
    UNDER_TEST.store(n, Ordering::Relaxed);
    let tally = workload(heap, verify, 3000, &mut Rng(0x1234_5678 ^ n as u32));
    UNDER_TEST.store(0, Ordering::Relaxed);
    release_held(heap);
    verify();
    let served = TICKS_SERVED.load(Ordering::Relaxed) - served;
    let refused = TICKS_REFUSED.load(Ordering::Relaxed) - refused;
    hprintln!(
        "{}: {} allocated, {} refused, {} freed, {} resized in place, {} moved; the interrupt's blocks: {} ({} refused)",
        name,
        tally.allocated,
        tally.refused,
        tally.freed,
        tally.resized_in_place,
        tally.moved,
        served,
        refused
    );
    check(tally.allocated > 500, "the workload allocated");
    check(tally.refused > 0, "the workload ran the arena out");
    check(
        served > 100,
        "the interrupt allocated on the heap under test",
    );
    if realloc {
        check(tally.resized_in_place > 0, "blocks resized in place");
    }
}

/// After everything is freed, a heap that merges free chunks holds one
/// free chunk again: a block of nearly the whole arena fits.
fn whole_again<A: GlobalAlloc>(name: &str, heap: &A, verify: fn()) {
    let layout = Layout::from_size_align(ARENA - 64, 8).unwrap();
    // SAFETY: a layout of non-zero size.
    let p = unsafe { heap.alloc(layout) };
    check(
        !p.is_null(),
        "nearly the whole arena after every block was freed",
    );
    verify();
    // SAFETY: the block just allocated, its layout.
    unsafe { heap.dealloc(p, layout) };
    verify();
    hprintln!(
        "{}: {} B in one block after every block was freed",
        name,
        layout.size()
    );
}

/// The word the free stack is painted with.
const PAINT: u32 = 0x5A5A_5A5A;
/// Stack left unused at the deepest point, at the least.
const STACK_MARGIN: usize = 512;

unsafe extern "C" {
    /// The first byte of RAM after the program's statics (`cortex-m-rt`):
    /// the stack, which grows down from the end of RAM, must stop above it.
    static __sheap: u32;
}

/// Paints the free stack, from the statics' end up to below the current
/// frame, so that [`stack_margin`] can tell how deep the stack went (it
/// would otherwise grow into the heaps' statics without a fault).
fn paint_stack() {
    let start = (&raw const __sheap).addr();
    let end = cortex_m::register::msp::read() as usize - 256;
    for address in (start..end).step_by(4) {
        // SAFETY: free RAM between the statics and the stack's frames,
        // which nothing uses yet (the stack grows down into it later).
        unsafe { core::ptr::with_exposed_provenance_mut::<u32>(address).write_volatile(PAINT) };
    }
}

/// The bytes of the painted stack never written.
fn stack_margin() -> usize {
    let start = (&raw const __sheap).addr();
    let untouched = (start..)
        .step_by(4)
        // SAFETY: RAM below the current frame, painted by `paint_stack`.
        .take_while(
            |&a| unsafe { core::ptr::with_exposed_provenance::<u32>(a).read_volatile() } == PAINT,
        )
        .count();
    untouched * 4
}

#[entry]
fn main() -> ! {
    paint_stack();
    let mut peripherals = cortex_m::Peripherals::take().unwrap();
    // SysTick on the processor's clock, every 100 cycles.
    peripherals.SYST.set_clock_source(SystClkSource::Core);
    peripherals.SYST.set_reload(100);
    peripherals.SYST.clear_current();
    peripherals.SYST.enable_counter();
    peripherals.SYST.enable_interrupt();

    test(1, "bins", &BINS, Bins::verify, false);
    test(2, "large blocks reused", &REUSE, Reuse::verify, true);
    test(3, "chunks", &CHUNKS, Chunks::verify, true);
    whole_again("chunks", &CHUNKS, Chunks::verify);
    test(
        4,
        "a bin in front of chunks",
        &BIN_IN_FRONT,
        BinInFront::verify,
        true,
    );
    test(5, "checked chunks", &CHECKED, Checked::verify, true);

    let margin = stack_margin();
    hprintln!("stack: {} B never used", margin);
    check(
        margin >= STACK_MARGIN,
        "the stack kept clear of the statics",
    );
    hprintln!("cortex-m0: all checks passed");
    exit(debug::EXIT_SUCCESS)
}

/// A fault (an unaligned access, a bad address) ends the run with failure
/// rather than a hang.
#[exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    hprintln!("hard fault at pc {:#x}", frame.pc());
    exit(debug::EXIT_FAILURE)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    exit(debug::EXIT_FAILURE)
}
