//! lite-alloc in firmware: a Cortex-M4 program whose global allocator is a
//! generated type with a 16 KiB static arena, grown 1 KiB at a time, locked
//! with the `critical-section` crate (interrupt-safe on a single core).
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

/// Small bins for small firmware objects.
#[lite_alloc::lite_alloc(bins = [8, 16, 32, 64, 128], memory = arena(16 * 1024), page = 1024, sync = critical_section, realloc)]
struct FirmwareAlloc;

#[global_allocator]
static ALLOC: FirmwareAlloc = FirmwareAlloc::new();

fn check(ok: bool, what: &str) {
    if !ok {
        hprintln!("FAIL {}", what);
        debug::exit(debug::EXIT_FAILURE);
    }
}

#[entry]
fn main() -> ! {
    // A growing vector (in-place realloc at the top of the arena).
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

    // Out of memory is a null, not a crash, and the allocator goes on.
    let huge = Layout::from_size_align(64 * 1024, 8).unwrap();
    // SAFETY: a valid, non-zero layout.
    let p = unsafe { ALLOC.alloc(huge) };
    check(p.is_null(), "a request larger than the arena gets null");
    let mut small = Vec::new();
    check(
        small.try_reserve(16).is_ok(),
        "small allocations still work",
    );
    small.extend_from_slice(b"still working");
    hprintln!(
        "out of memory: null for 64 KiB, then {} bytes allocated",
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
