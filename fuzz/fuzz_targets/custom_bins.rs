//! Bins that are not powers of two and whose alignments differ, in-place realloc, a two-page step.
#![no_main]

#[macro_use]
#[path = "common.rs"]
mod common;

lite_alloc_tests::sim_memory!(Mem, 64 << 20);

#[lite_alloc::lite_alloc(memory = Mem, bins = [12, 24, 40, 96, 4096], page = 131072, realloc)]
struct Fuzzed;

fuzz_model!(Fuzzed);
