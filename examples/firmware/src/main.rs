//! lite-alloc in firmware: a Cortex-M4 program whose global allocator is a
//! generated type with no memory of its own until the program hands it two
//! linker-defined regions at start-up with `claim` (8 KiB of RAM and 64 KiB
//! of a second RAM bank), locked with the `critical-section` crate
//! (interrupt-safe on a single core).
//!
//! `cargo run --release` (in this folder) runs it under QEMU; it prints what
//! it did over semihosting and exits with success or failure.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::fmt::Write;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

/// Small bins for small firmware objects; memory handed over at run time.
#[lite_alloc::lite_alloc(bins = [8, 16, 32, 64, 128], memory = claimed, sync = critical_section, realloc)]
struct FirmwareAlloc;

#[global_allocator]
static ALLOC: FirmwareAlloc = FirmwareAlloc::new();

// The heap's regions, as `memory.x` defines them: only their addresses are
// used.
unsafe extern "C" {
    static _heap_start: u8;
    static _heap_end: u8;
    static _psram_heap_start: u8;
    static _psram_heap_end: u8;
}

/// The region between two linker symbols, as a pointer and a length. The
/// memory there is no Rust object (the linker reserved it), so the pointer
/// takes the exposed provenance of memory outside the program's own, as
/// for any address the hardware defines.
fn region(start: *const u8, end: *const u8) -> (*mut u8, usize) {
    let (start, end) = (start.addr(), end.addr());
    (core::ptr::with_exposed_provenance_mut(start), end - start)
}

fn check(ok: bool, what: &str) {
    if !ok {
        hprintln!("FAIL {}", what);
        debug::exit(debug::EXIT_FAILURE);
    }
}

#[entry]
fn main() -> ! {
    // No memory yet: an allocation is null, not a crash.
    let small_block = Layout::from_size_align(16, 4).unwrap();
    // SAFETY: a valid, non-zero layout.
    check(
        unsafe { ALLOC.alloc(small_block) }.is_null(),
        "null before `claim`",
    );

    let ram = region(&raw const _heap_start, &raw const _heap_end);
    let psram = region(&raw const _psram_heap_start, &raw const _psram_heap_end);
    // SAFETY: the linker reserved both regions for the heap (memory.x), they
    // do not overlap, and nothing else uses them.
    unsafe {
        ALLOC.claim(ram.0, ram.1);
        ALLOC.claim(psram.0, psram.1);
    }
    hprintln!("claimed {} B of RAM and {} B of PSRAM", ram.1, psram.1);

    // A growing vector (in-place realloc at the top of the heap).
    let mut v: Vec<u32> = Vec::new();
    for i in 0..1000 {
        v.push(i);
    }
    let sum: u32 = v.iter().sum();
    check(sum == 499_500, "vec sum");
    hprintln!("vec: 1000 pushes, sum {}", sum);
    drop(v);

    // Strings and a map.
    let mut map = BTreeMap::new();
    for i in 0..50u32 {
        let mut key = String::new();
        let _ = write!(key, "sensor-{i}");
        map.insert(key, i * i);
    }
    let total: u32 = map.values().sum();
    check(total == 40_425, "map total");
    hprintln!("map: 50 entries, total {}", total);
    drop(map);

    // A block larger than the RAM region: the heap moves on to PSRAM.
    let mut samples: Vec<u16> = Vec::with_capacity(8 * 1024);
    samples.extend((0..8 * 1024).map(|i| i as u16));
    let at = samples.as_ptr().addr();
    check(
        at >= psram.0.addr() && at + 16 * 1024 <= psram.0.addr() + psram.1,
        "a 16 KiB block in PSRAM",
    );
    check(
        samples.iter().map(|&s| s as u32).sum::<u32>() == 33_550_336,
        "samples sum",
    );
    hprintln!("16 KiB of samples in PSRAM at {:#x}", at);
    drop(samples);

    // Out of memory is a null, not a crash, and the allocator goes on.
    let huge = Layout::from_size_align(128 * 1024, 8).unwrap();
    // SAFETY: a valid, non-zero layout.
    let p = unsafe { ALLOC.alloc(huge) };
    check(p.is_null(), "a request larger than every region gets null");
    let mut small = Vec::new();
    check(
        small.try_reserve(16).is_ok(),
        "small allocations still work",
    );
    small.extend_from_slice(b"still working");
    hprintln!(
        "out of memory: null for 128 KiB, then {} bytes allocated",
        small.len()
    );

    hprintln!("firmware: all checks passed");
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
