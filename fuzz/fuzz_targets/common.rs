// Shared by the fuzz targets: one run of the shadow model with the fuzzer's
// bytes as its choices, on a fresh allocator over a fresh simulated wasm
// memory that foreign code grows between steps.

/// Defines the target `$alloc` (declared by the caller with
/// `#[lite_alloc(memory = Mem, ...)]`) and its memory `Mem`. With
/// `check_stats` (for a type with `stats`), the bytes in use are checked
/// against the model's after every step.
#[macro_export]
macro_rules! fuzz_model {
    ($alloc:ident, check_stats) => {
        fuzz_model!(@target $alloc, Some(|step, live_bytes, _| {
            let in_use = $alloc::stats().in_use;
            assert_eq!(in_use, live_bytes, "step {step}: stats count {in_use} bytes in use");
        }));
    };
    ($alloc:ident) => {
        fuzz_model!(@target $alloc, None);
    };
    (@target $alloc:ident, $check:expr) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            use lite_alloc_tests::sim::SimEnv;
            use lite_alloc_tests::{Plan, Rng, check_ops};
            // SAFETY: each run starts from nothing; no block of an earlier
            // run is used again.
            unsafe { $alloc::reset() };
            Mem::sim().reset();
            let env = SimEnv { sim: Mem::sim(), foreign_every: 64, check: $check };
            let plan = Plan { seed: 0, ops: 10_000, max_size: 1 << 20, max_align_log2: 17, max_live: 64 };
            // SAFETY: the fuzzer is single-threaded and the model frees every
            // block it allocated.
            unsafe { check_ops(&$alloc::new(), &plan, &env, &mut Rng::from_bytes(data)) };
            assert!(env.sim.foreign_intact(), "the allocator wrote to foreign pages");
        });
    };
}
