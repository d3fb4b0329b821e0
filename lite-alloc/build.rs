//! Conditions the crate tests, each under one name:
//!
//! * `single_threaded_wasm`: wasm32 without the `atomics` target feature
//!   (one thread and no interrupts, so an allocator needs no lock there).
//! * `opt_level_size`: lite-alloc itself is built for size (its own
//!   `opt-level` is `"s"` or `"z"`; the crate that instantiates the heap may
//!   differ, and `-C opt-level` in RUSTFLAGS is not seen): a helper that
//!   several paths call is then kept out of line, one copy instead of one
//!   per caller, and the chunks' shortcuts for speed are left out (a chunk
//!   carved before the call to `bump`, a test for a heap with no free chunk
//!   before the search, a chunk carved while none is free and the last
//!   chunk freed into the unused memory in the caller itself, a free chunk
//!   at its list's head grown in place), and the high-water mark (chunks'
//!   and `large = reuse`'s) is written on every carve, as a maximum, rather
//!   than only when a carve raises it.
//!   What the heap does is the same.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(single_threaded_wasm)");
    println!("cargo::rustc-check-cfg=cfg(opt_level_size)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if arch == "wasm32" && !features.split(',').any(|feature| feature == "atomics") {
        println!("cargo::rustc-cfg=single_threaded_wasm");
    }
    // Cargo gives the build script the opt-level of the profile the crate
    // is built with (a per-package override included).
    if matches!(std::env::var("OPT_LEVEL").as_deref(), Ok("s" | "z")) {
        println!("cargo::rustc-cfg=opt_level_size");
    }
}
