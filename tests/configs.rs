//! The shadow model over the configuration space: `LITE_ALLOC_CONFIGS`
//! random valid configurations (64 unless set; `tests/build.rs` generates
//! them from a fixed seed, for the pointer width of the target): 1 to 12
//! bins of any sizes from a pointer to 64 KiB, or none; every policy for
//! large blocks; `realloc` on and off; `page` from a pointer to 1 MiB;
//! `growth`; `stats`; and every eighth of them again with `check`. Each
//! runs on its own simulated wasm memory that foreign code grows between
//! operations, with the heap's invariants (`verify`) checked after every
//! step (every sixteenth under Miri), and with `stats` the bytes in use
//! and the nulls counted. CI runs it on the host, on
//! `i686-unknown-linux-gnu` and on `wasm32-wasip1`, 32-bit targets, where
//! headers, grains and alignments differ.
//!
//! More: `LITE_ALLOC_CONFIGS=1000 cargo test --release -p lite-alloc-tests
//! --test configs` (and `LITE_ALLOC_MODEL_SCALE`, `LITE_ALLOC_MODEL_SEEDS`
//! as for `tests/model.rs`); on the 32-bit targets at most 128, whose
//! memories fill i686's address space and one wasm32 module, and
//! `LITE_ALLOC_CONFIGS_SEED=N` (a whole number) for others than the first.

use lite_alloc::lite_alloc;
use lite_alloc_tests::sim::SimEnv;
use lite_alloc_tests::{Plan, check_random_ops, scaled, seeds, sim_memory};

// Each configuration has a memory of its own: small enough that sixty of
// them fit a 32-bit address space.
const SIM_BYTES: usize = if cfg!(miri) { 4 << 20 } else { 12 << 20 };
const EXTREME_SIZE: usize = if cfg!(miri) { 4 << 10 } else { 1 << 20 };

/// Runs the two phases of the model (everyday sizes, then extreme ones) on
/// `A`, checking after every step with `check`; returns the nulls.
fn run<A: std::alloc::GlobalAlloc>(
    alloc: &A,
    env: &SimEnv<SIM_BYTES>,
    realloc: bool,
    after_phase: impl Fn(usize),
) {
    let mut nulls = 0;
    for seed in seeds(0xC0F) {
        let everyday = Plan {
            seed,
            ops: scaled(12_000),
            max_size: 6_000,
            max_align_log2: 10,
            max_live: 200,
        };
        // SAFETY: each configuration's type is used by its test alone.
        let report = unsafe { check_random_ops(alloc, &everyday, env) };
        assert!(report.allocations > everyday.ops / 3, "{report:?}");
        if realloc {
            assert!(
                report.in_place_reallocs > 0,
                "in-place realloc never happened: {report:?}"
            );
        } else {
            assert_eq!(
                report.in_place_reallocs, 0,
                "realloc must move without the flag"
            );
        }
        nulls += report.nulls;
        after_phase(nulls);
        let extreme = Plan {
            seed,
            ops: scaled(2_000),
            max_size: EXTREME_SIZE,
            max_align_log2: 17,
            max_live: 64,
        };
        // SAFETY: as above.
        let report = unsafe { check_random_ops(alloc, &extreme, env) };
        nulls += report.nulls;
        after_phase(nulls);
    }
    assert!(
        env.sim.foreign_intact(),
        "the allocator wrote to pages grown by someone else"
    );
}

/// Whether to check the heap's invariants after `step`: after every step,
/// but under Miri, which interprets the walk of the whole heap step by step,
/// after every sixteenth.
fn verify_now(step: usize) -> bool {
    !cfg!(miri) || step.is_multiple_of(16)
}

/// With `stats`: the bytes in use after every step, and every null counted
/// after every phase. (A type without `stats` has no `stats()`.)
macro_rules! stats_checks {
    (true, $alloc:ident) => {
        (
            |step: usize, live_bytes: usize| {
                let stats = $alloc::stats();
                assert_eq!(stats.in_use, live_bytes, "step {step}: {stats:?}");
                assert!(
                    stats.in_use_capacity >= stats.in_use,
                    "step {step}: {stats:?}"
                );
            },
            |nulls: usize| assert_eq!($alloc::stats().failed, nulls as u64, "every null counted"),
        )
    };
    (false, $alloc:ident) => {
        (|_: usize, _: usize| {}, |_: usize| {})
    };
}

macro_rules! config {
    ($name:ident, stats = $stats:tt, realloc = $realloc:tt, $($args:tt)*) => {
        #[test]
        fn $name() {
            sim_memory!(Mem, SIM_BYTES);
            #[lite_alloc(memory = Mem, $($args)*)]
            struct A;
            let env = SimEnv {
                sim: Mem::sim(),
                foreign_every: if cfg!(miri) { 20 } else { 300 },
                check: Some(|step, live_bytes, _| {
                    if verify_now(step) {
                        A::verify();
                    }
                    (stats_checks!($stats, A).0)(step, live_bytes);
                }),
            };
            run(&A, &env, $realloc, stats_checks!($stats, A).1);
        }
    };
}

include!(concat!(env!("OUT_DIR"), "/configs.rs"));
