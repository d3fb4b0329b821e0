//! The default configuration (the documented design), `realloc` moving.
#![no_main]

#[macro_use]
#[path = "common.rs"]
mod common;

lite_alloc_tests::sim_memory!(Mem, 64 << 20);

#[lite_alloc::lite_alloc(memory = Mem)]
struct Fuzzed;

fuzz_model!(Fuzzed);
