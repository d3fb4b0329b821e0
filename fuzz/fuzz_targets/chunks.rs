//! No bins: every block a chunk, merged and split (`lite_alloc::General`'s
//! configuration, with a faster growth step and statistics).
#![no_main]

#[macro_use]
#[path = "common.rs"]
mod common;

lite_alloc_tests::sim_memory!(Mem, 64 << 20);

#[lite_alloc::lite_alloc(memory = Mem, bins = [], large = coalesce, realloc, growth = 1/8, stats)]
struct Fuzzed;

fuzz_model!(Fuzzed, check_stats);
