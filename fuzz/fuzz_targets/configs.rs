//! The configuration space: the fuzzer's first byte chooses one of the
//! generated configurations (`fuzz/build.rs`, the first of those
//! `tests/configs.rs` runs), the rest drives the model on it.
#![no_main]

#[macro_use]
#[path = "common.rs"]
mod common;

macro_rules! config {
    ($name:ident, stats = true, $($args:tt)*) => {
        mod $name {
            lite_alloc_tests::sim_memory!(pub Mem, 16 << 20);
            #[lite_alloc::lite_alloc(memory = Mem, $($args)*)]
            pub struct A;
            pub fn run(data: &[u8]) {
                fuzz_run!(A, Mem, data, |step, live_bytes, _| {
                    A::verify();
                    let in_use = A::stats().in_use;
                    assert_eq!(in_use, live_bytes, "step {step}: stats count {in_use} bytes in use");
                });
            }
        }
    };
    ($name:ident, stats = false, $($args:tt)*) => {
        mod $name {
            lite_alloc_tests::sim_memory!(pub Mem, 16 << 20);
            #[lite_alloc::lite_alloc(memory = Mem, $($args)*)]
            pub struct A;
            pub fn run(data: &[u8]) {
                fuzz_run!(A, Mem, data, |_, _, _| A::verify());
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
