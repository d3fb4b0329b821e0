//! Generates the configuration space that `tests/configs.rs` runs the
//! shadow model on: `LITE_ALLOC_CONFIGS` configurations (64 unless set),
//! from a fixed seed (`LITE_ALLOC_CONFIGS_SEED` chooses another, so that
//! the 32-bit targets, which hold at most 128 at a time, reach past the
//! first 128), valid on the target being built for, and every eighth of
//! them again with `check`.

use std::fmt::Write;

include!("configs/generate.rs");

/// The seed of the configuration space, unless `LITE_ALLOC_CONFIGS_SEED`
/// says otherwise.
const SEED: u64 = 0x0001_17EA_110C;

fn main() {
    println!("cargo::rerun-if-changed=configs/generate.rs");
    let seed = env_number("LITE_ALLOC_CONFIGS_SEED", SEED);
    let count = env_number("LITE_ALLOC_CONFIGS", 64);
    let bits: u64 = std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH")
        .expect("cargo sets the pointer width")
        .parse()
        .expect("a number");
    let mut out = String::new();
    for (i, config) in generate(seed, count, bits / 8).iter().enumerate() {
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

/// The whole number in the environment variable `name`, or `default` when
/// it is not set; the build runs again when it changes.
fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    println!("cargo::rerun-if-env-changed={name}");
    match std::env::var(name) {
        Ok(n) => n
            .parse()
            .unwrap_or_else(|_| panic!("{name} is a whole number")),
        Err(_) => default,
    }
}
