//! The configuration space: the fuzzer's first byte chooses one of the
//! generated configurations (`fuzz/build.rs`, the first of those
//! `tests/configs.rs` runs), the rest drives the model on it.
#![no_main]

#[macro_use]
#[path = "common.rs"]
mod common;

/// With `stats`, the bytes in use are checked after every step too. (A type
/// without `stats` has no `stats()`.)
macro_rules! check_stats {
    (true, $alloc:ident, $step:expr, $live_bytes:expr) => {{
        let in_use = $alloc::stats().in_use;
        assert_eq!(in_use, $live_bytes, "step {}: stats count {in_use} bytes in use", $step);
    }};
    (false, $alloc:ident, $step:expr, $live_bytes:expr) => {{
        let _ = ($step, $live_bytes);
    }};
}

macro_rules! config {
    ($name:ident, stats = $stats:tt, $($args:tt)*) => {
        mod $name {
            lite_alloc_tests::sim_memory!(pub Mem, 16 << 20);
            #[lite_alloc::lite_alloc(memory = Mem, $($args)*)]
            pub struct A;
            pub fn run(data: &[u8]) {
                fuzz_run!(A, Mem, data, |step, live_bytes, _| {
                    A::verify();
                    check_stats!($stats, A, step, live_bytes);
                });
            }
        }
    };
}

include!(concat!(env!("OUT_DIR"), "/configs.rs"));

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&choice, rest)) = data.split_first() {
        RUNS[choice as usize % RUNS.len()](rest);
    }
});
