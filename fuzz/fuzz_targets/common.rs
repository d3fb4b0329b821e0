// Shared by the fuzz targets: one run of the shadow model with the fuzzer's
// bytes as its choices, on a fresh allocator over a fresh simulated wasm
// memory that foreign code grows between steps.

/// Defines the target `$alloc` (declared by the caller with
/// `#[lite_alloc(memory = Mem, ...)]`) and its memory `Mem`. The heap's
/// invariants (`verify`) are checked after every step; with `check_stats`
/// (for a type with `stats`), the bytes in use too.
#[macro_export]
macro_rules! fuzz_model {
    ($alloc:ident, check_stats) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            fuzz_run!($alloc, Mem, data, |step, live_bytes, _| {
                $alloc::verify();
                let in_use = $alloc::stats().in_use;
                assert_eq!(in_use, live_bytes, "step {step}: stats count {in_use} bytes in use");
            });
        });
    };
    ($alloc:ident) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            fuzz_run!($alloc, Mem, data, |_, _, _| $alloc::verify());
        });
    };
}

/// One run of the model on `$alloc` over `$mem`, with the fuzzer's bytes
/// as its choices, `$check` after every step.
#[macro_export]
macro_rules! fuzz_run {
    ($alloc:ident, $mem:ident, $data:expr, $check:expr) => {{
        use lite_alloc_tests::sim::SimEnv;
        use lite_alloc_tests::{Plan, Rng, check_ops};
        // SAFETY: each run starts from nothing; no block of an earlier
        // run is used again.
        unsafe { $alloc::reset() };
        $mem::sim().reset();
        let env = SimEnv { sim: $mem::sim(), foreign_every: 64, check: Some($check) };
        let plan = Plan { seed: 0, ops: 10_000, max_size: 1 << 20, max_align_log2: 17, max_live: 64 };
        // SAFETY: the fuzzer is single-threaded and the model frees every
        // block it allocated.
        unsafe { check_ops(&$alloc::new(), &plan, &env, &mut Rng::from_bytes($data)) };
        assert!(env.sim.foreign_intact(), "the allocator wrote to foreign pages");
    }};
}
