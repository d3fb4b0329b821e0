//! The default configuration with in-place realloc (as `lite_alloc::Default` with the `realloc` feature).
#![no_main]

#[macro_use]
#[path = "common.rs"]
mod common;

lite_alloc_tests::sim_memory!(Mem, 64 << 20);

#[lite_alloc::lite_alloc(memory = Mem, realloc)]
struct Fuzzed;

fuzz_model!(Fuzzed);
