//! The firmware size probe. With `exports` and one allocator feature, `_start`
//! sets up the heap (where the allocator needs that) and calls alloc, realloc
//! and dealloc through the global allocator with arguments it cannot predict;
//! without `exports` it only loops, and its size is the baseline that
//! `bench/run.mjs` subtracts. It is linked and measured, never run.
#![no_std]
#![no_main]

// Links the critical-section implementation of a single-core Cortex-M.
use cortex_m as _;

/// Inputs and output the optimiser cannot see through (volatile accesses).
static mut IO: [usize; 4] = [0; 4];

fn input(i: usize) -> usize {
    // SAFETY: the program has one thread; volatile keeps the read opaque.
    unsafe { (&raw const IO[i]).read_volatile() }
}

fn output(value: usize) {
    // SAFETY: as for `input`.
    unsafe { (&raw mut IO[3]).write_volatile(value) }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// The heap of the peers that are handed one at start-up.
#[cfg(any(feature = "llff", feature = "tlsf", feature = "linked-list"))]
static mut HEAP: [u8; HEAP_BYTES] = [0; HEAP_BYTES];
#[allow(dead_code)]
const HEAP_BYTES: usize = 16 * 1024;

#[cfg(feature = "lite-default")]
#[global_allocator]
static ALLOC: lite_alloc::Default = lite_alloc::Default::new();

#[cfg(feature = "lite-cs")]
#[lite_alloc::lite_alloc(memory = arena(HEAP_BYTES), sync = critical_section)]
struct Alloc;

#[cfg(feature = "lite-cs-realloc")]
#[lite_alloc::lite_alloc(memory = arena(HEAP_BYTES), sync = critical_section, realloc)]
struct Alloc;

#[cfg(feature = "lite-general-cs")]
include!(concat!(env!("OUT_DIR"), "/general.rs"));

#[cfg(any(
    feature = "lite-cs",
    feature = "lite-cs-realloc",
    feature = "lite-general-cs"
))]
#[global_allocator]
static ALLOC: Alloc = Alloc::new();

#[cfg(feature = "llff")]
#[global_allocator]
static ALLOC: embedded_alloc::LlffHeap = embedded_alloc::LlffHeap::empty();

#[cfg(feature = "tlsf")]
#[global_allocator]
static ALLOC: embedded_alloc::TlsfHeap = embedded_alloc::TlsfHeap::empty();

#[cfg(feature = "linked-list")]
#[global_allocator]
static ALLOC: linked_list_allocator::LockedHeap = linked_list_allocator::LockedHeap::empty();

#[cfg(feature = "talc")]
#[global_allocator]
static ALLOC: talc::TalcLock<spinning_top::RawSpinlock, talc::source::Claim> =
    talc::TalcLock::new(unsafe {
        static mut ARENA: [u8; HEAP_BYTES] = [0; HEAP_BYTES];
        // SAFETY: the arena is the allocator's alone.
        talc::source::Claim::array(&raw mut ARENA)
    });

/// Hands the static heap to the peers that need it.
fn init() {
    #[cfg(any(feature = "llff", feature = "tlsf"))]
    // SAFETY: called once, before any allocation; the heap is the allocator's.
    unsafe {
        ALLOC.init(&raw mut HEAP as usize, HEAP_BYTES)
    };
    #[cfg(feature = "linked-list")]
    // SAFETY: called once, before any allocation; the heap is the allocator's.
    unsafe {
        ALLOC.lock().init(&raw mut HEAP as *mut u8, HEAP_BYTES)
    };
}

/// The entry point.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    #[cfg(feature = "exports")]
    {
        extern crate alloc;
        use alloc::alloc::{Layout, alloc, dealloc, realloc};
        init();
        loop {
            // SAFETY: the layouts are valid for the inputs the probe is
            // measured with; it is never run.
            unsafe {
                let layout = Layout::from_size_align_unchecked(input(0), input(1));
                let block = alloc(layout);
                let block = realloc(block, layout, input(2));
                let layout = Layout::from_size_align_unchecked(input(2), input(1));
                dealloc(block, layout);
                output(block as usize);
            }
        }
    }
    #[cfg(not(feature = "exports"))]
    {
        let _ = init;
        loop {
            output(input(0));
        }
    }
}
