//! One name for a condition the crate tests in many places:
//! `single_threaded_wasm`, wasm32 without the `atomics` target feature (one
//! thread and no interrupts, so an allocator needs no lock there).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(single_threaded_wasm)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if arch == "wasm32" && !features.split(',').any(|feature| feature == "atomics") {
        println!("cargo::rustc-cfg=single_threaded_wasm");
    }
}
