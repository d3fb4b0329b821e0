//! Large blocks merged and split (`large = coalesce`), in-place realloc and
//! statistics, on bins whose alignments differ.
#![no_main]

#[macro_use]
#[path = "common.rs"]
mod common;

lite_alloc_tests::sim_memory!(Mem, 64 << 20);

#[lite_alloc::lite_alloc(memory = Mem, bins = [8, 24, 64, 256], large = coalesce, realloc, stats)]
struct Fuzzed;

fuzz_model!(Fuzzed, check_stats);
