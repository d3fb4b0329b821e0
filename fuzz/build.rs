//! Generates the configurations the `configs` target chooses among (the
//! first `FUZZ_CONFIGS` of the configuration space `tests/configs.rs`
//! runs), for the pointer width of the target.

use std::fmt::Write;

include!("../tests/configs/generate.rs");

/// The seed of the configuration space (as in `tests/build.rs`).
const SEED: u64 = 0x0001_17EA_110C;
/// Configurations the fuzzer chooses among.
const FUZZ_CONFIGS: usize = 32;

fn main() {
    println!("cargo::rerun-if-changed=../tests/configs/generate.rs");
    let bits: u64 = std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH")
        .expect("cargo sets the pointer width")
        .parse()
        .expect("a number");
    let mut out = String::new();
    let configs = generate(SEED, FUZZ_CONFIGS, bits / 8);
    for (i, config) in configs.iter().enumerate() {
        writeln!(
            out,
            "config!(config_{i:03}, stats = {}, {});",
            config.stats,
            config.arguments()
        )
        .unwrap();
    }
    let runs: Vec<String> = (0..configs.len()).map(|i| format!("config_{i:03}::run")).collect();
    writeln!(out, "const RUNS: [fn(&[u8]); {}] = [{}];", runs.len(), runs.join(", ")).unwrap();
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("configs.rs");
    std::fs::write(path, out).unwrap();
}
