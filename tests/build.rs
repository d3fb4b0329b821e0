//! Generates the configuration space that `tests/configs.rs` runs the
//! shadow model on: `LITE_ALLOC_CONFIGS` configurations (64 unless set),
//! from a fixed seed, valid on the target being built for, and every eighth
//! of them again with `check`.

use std::fmt::Write;

include!("configs/generate.rs");

/// The seed of the configuration space.
const SEED: u64 = 0x0001_17EA_110C;

fn main() {
    println!("cargo::rerun-if-changed=configs/generate.rs");
    println!("cargo::rerun-if-env-changed=LITE_ALLOC_CONFIGS");
    let count = match std::env::var("LITE_ALLOC_CONFIGS") {
        Ok(n) => n.parse().expect("LITE_ALLOC_CONFIGS is a whole number"),
        Err(_) => 64,
    };
    let bits: u64 = std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH")
        .expect("cargo sets the pointer width")
        .parse()
        .expect("a number");
    let mut out = String::new();
    for (i, config) in generate(SEED, count, bits / 8).iter().enumerate() {
        writeln!(
            out,
            "config!(config_{i:03}, stats = {}, realloc = {}, {});",
            config.stats,
            config.realloc,
            config.arguments()
        )
        .unwrap();
        // Every eighth again in the checked mode: no misuse reported for
        // the model's correct calls, whatever the configuration.
        if i % 8 == 0 {
            writeln!(
                out,
                "config!(config_{i:03}_checked, stats = {}, realloc = {}, {}, check);",
                config.stats,
                config.realloc,
                config.arguments()
            )
            .unwrap();
        }
    }
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("configs.rs");
    std::fs::write(path, out).unwrap();
}
