//! The shadow model across thirty-nine configurations: every shape the
//! attribute accepts (default bins, in-place realloc on and off, bins that
//! are not powers of two, one bin, sixteen bins, bins whose alignments differ
//! and do not ascend, a two-page growth step, a memory that runs out, the
//! `critical-section` lock, large blocks reused, statistics, geometric
//! growth, large blocks coalesced behind bins of every alignment, no bins
//! at all as in `lite_alloc::General`), each over its own simulated wasm
//! memory that foreign code grows between operations. The
//! memory hands over zeroed pages and says so, so `alloc_zeroed` skips
//! clearing fresh memory: the model's zero check covers that. With `stats`,
//! the bytes in use and the failures counted are checked after every step.
//!
//! Every run has two phases: everyday sizes and alignments, where memory
//! suffices and, in the default run, no null is allowed; then extreme ones
//! (sizes up to 1 MiB, alignments up to 128 KiB), where the memory runs out
//! and null is allowed only when the memory source refused to grow. See
//! `common::check_random_ops` for what is checked after every step; the
//! heap's own invariants (`verify`) are checked after every step too (every
//! sixteenth under Miri).
//!
//! Fixed seeds by default; the long run is
//! `LITE_ALLOC_MODEL_SCALE=20 LITE_ALLOC_MODEL_SEEDS=10 cargo test --release -p lite-alloc-tests --test model`.

use lite_alloc::lite_alloc;
use lite_alloc_tests::sim::SimEnv;
use lite_alloc_tests::{Plan, check_random_ops, scaled, seeds, sim_memory};

// Under Miri, which is slow, smaller memories and blocks (see also `scaled`).
const SIM_BYTES: usize = if cfg!(miri) { 4 << 20 } else { 32 << 20 };
const EXTREME_SIZE: usize = if cfg!(miri) { 4 << 10 } else { 1 << 20 };

/// `scripts/test.sh` runs the model once more with lite-alloc built for
/// size, and says so in `LITE_ALLOC_TEST_BUILT_FOR` (`size` or `speed`): the
/// lite-alloc this binary links must then be that build, or the run tests
/// the same code twice. (lite-alloc's own unit tests check their build
/// likewise; this checks the build the test crates link.)
#[test]
fn lite_alloc_is_built_as_the_run_asked() {
    lite_alloc::__private::assert_built_for(option_env!("LITE_ALLOC_TEST_BUILT_FOR"));
}

/// Whether to check the heap's invariants after `step`: after every step,
/// but under Miri, which interprets the walk of the whole heap step by step,
/// after every sixteenth.
fn verify_now(step: usize) -> bool {
    !cfg!(miri) || step.is_multiple_of(16)
}

macro_rules! model {
    // With `stats`: after every step, the bytes in use are the bytes the
    // live blocks requested; after every phase, every null was counted.
    ($test:ident, sim = $bytes:expr, in_place = $in_place:expr, check_stats, $($args:tt)*) => {
        model!(
            @run $test, $bytes, $in_place,
            |step, live_bytes, _| {
                if verify_now(step) {
                    A::verify();
                }
                let stats = A::stats();
                assert_eq!(stats.in_use, live_bytes, "step {step}: stats count {} bytes in use", stats.in_use);
                assert!(stats.in_use_capacity >= stats.in_use, "step {step}: {stats:?}");
                if live_bytes == 0 {
                    assert_eq!(stats.in_use_capacity, 0, "step {step}: {stats:?}");
                }
            },
            |nulls: usize| assert_eq!(A::stats().failed, nulls as u64, "every null counted"),
            stats, $($args)*
        );
    };
    // After every step, the heap's own invariants (`verify`).
    ($test:ident, sim = $bytes:expr, in_place = $in_place:expr, $($args:tt)*) => {
        model!(@run $test, $bytes, $in_place, |step, _, _| if verify_now(step) { A::verify() }, |_nulls: usize| {}, $($args)*);
    };
    (@run $test:ident, $bytes:expr, $in_place:expr, $check:expr, $after_phase:expr, $($args:tt)*) => {
        #[test]
        fn $test() {
            sim_memory!(Mem, $bytes);
            #[lite_alloc(memory = Mem, $($args)*)]
            struct A;
            let env = SimEnv {
                sim: Mem::sim(),
                foreign_every: if cfg!(miri) { 20 } else { 400 },
                check: Some($check),
            };
            let mut nulls = 0;
            for seed in seeds(0x5EED) {
                // Everyday: blocks over the largest bin and over-aligned ones
                // are never reused, so sizes are kept such that memory lasts.
                let everyday = Plan { seed, ops: scaled(20_000), max_size: 6_000, max_align_log2: 10, max_live: 200 };
                // SAFETY: `A` is used by this test alone.
                let report = unsafe { check_random_ops(&A::new(), &everyday, &env) };
                assert!(report.allocations > everyday.ops / 3, "{report:?}");
                // Sized for the default run: its one seed's everyday phase
                // comes first, on fresh memory. A longer run (more
                // operations, more seeds, each after an extreme phase that
                // used the memory up) leaks more where large blocks are never
                // reused, and leaves slabs and fragments elsewhere; its nulls
                // are checked as any other (only when the memory refused).
                let default_run = seed == 0x5EED && scaled(1) == 1;
                if $bytes >= SIM_BYTES && !cfg!(miri) && default_run {
                    assert_eq!(report.nulls, 0, "memory lasts for everyday sizes: {report:?}");
                }
                if $in_place {
                    assert!(report.in_place_reallocs > 0, "in-place realloc never happened: {report:?}");
                } else {
                    assert_eq!(report.in_place_reallocs, 0, "realloc must move without the flag: {report:?}");
                }
                nulls += report.nulls;
                ($after_phase)(nulls);
                // Extreme: the memory runs out.
                let extreme = Plan { seed, ops: scaled(3_000), max_size: EXTREME_SIZE, max_align_log2: 17, max_live: 64 };
                // SAFETY: as above.
                let report = unsafe { check_random_ops(&A::new(), &extreme, &env) };
                assert!(report.allocations > extreme.ops / 3, "{report:?}");
                nulls += report.nulls;
                ($after_phase)(nulls);
            }
            assert!(env.sim.foreign_intact(), "the allocator wrote to pages grown by someone else");
            assert!(env.sim.pages() > env.sim.pages_of_allocator(), "foreign growth happened");
        }
    };
}

model!(defaults_moving, sim = SIM_BYTES, in_place = false,);
model!(defaults_in_place, sim = SIM_BYTES, in_place = true, realloc);
model!(
    non_power_of_two_moving,
    sim = SIM_BYTES,
    in_place = false,
    bins = [24, 48, 96, 4096]
);
model!(
    non_power_of_two_in_place,
    sim = SIM_BYTES,
    in_place = true,
    bins = [24, 48, 96, 4096],
    realloc
);
model!(
    one_bin_in_place,
    sim = SIM_BYTES,
    in_place = true,
    bins = [64],
    realloc
);
model!(
    one_odd_bin_moving,
    sim = SIM_BYTES,
    in_place = false,
    bins = [40]
);
model!(
    sixteen_bins_in_place,
    sim = SIM_BYTES,
    in_place = true,
    bins = [
        8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144
    ],
    realloc
);
model!(
    mixed_alignment_bins_in_place,
    sim = SIM_BYTES,
    in_place = true,
    bins = [8, 12, 16, 24, 40, 48, 80, 96, 160, 192],
    realloc
);
model!(
    alignment_not_ascending_in_place,
    sim = SIM_BYTES,
    in_place = true,
    bins = [16, 24, 32, 40],
    realloc
);
model!(
    two_page_step_in_place,
    sim = SIM_BYTES,
    in_place = true,
    page = 131072,
    realloc
);
model!(
    small_memory_runs_out_in_place,
    sim = 1 << 20,
    in_place = true,
    realloc
);
model!(
    critical_section_lock,
    sim = SIM_BYTES,
    in_place = false,
    sync = critical_section,
    bins = [32, 64, 96]
);

model!(
    large_reuse_moving,
    sim = SIM_BYTES,
    in_place = false,
    large = reuse
);
model!(
    large_reuse_in_place,
    sim = SIM_BYTES,
    in_place = true,
    large = reuse,
    realloc
);
model!(
    large_reuse_mixed_alignment_bins,
    sim = SIM_BYTES,
    in_place = true,
    large = reuse,
    bins = [8, 12, 16, 24, 40],
    realloc
);
model!(
    large_reuse_memory_runs_out,
    sim = 1 << 20,
    in_place = true,
    large = reuse,
    realloc
);
model!(
    stats_default_bins,
    sim = SIM_BYTES,
    in_place = false,
    check_stats,
);
model!(
    stats_large_reuse_in_place,
    sim = SIM_BYTES,
    in_place = true,
    check_stats,
    large = reuse,
    bins = [24, 48, 96, 4096],
    realloc
);

model!(
    growth_in_place,
    sim = SIM_BYTES,
    in_place = true,
    growth = 1 / 4,
    large = reuse,
    realloc
);
// Five bins, large blocks reused, realloc and growth: the most a
// configuration gives under 1000 bytes of code.
model!(
    bins_reuse_growth,
    sim = SIM_BYTES,
    in_place = true,
    bins = [16, 32, 64, 128, 256],
    large = reuse,
    realloc,
    growth = 1 / 32
);
model!(
    growth_memory_runs_out,
    sim = 1 << 20,
    in_place = true,
    growth = 1 / 2,
    large = reuse,
    realloc
);

model!(
    coalesce_moving,
    sim = SIM_BYTES,
    in_place = false,
    large = coalesce
);
model!(
    coalesce_in_place,
    sim = SIM_BYTES,
    in_place = true,
    large = coalesce,
    realloc
);
model!(
    coalesce_mixed_alignment_bins,
    sim = SIM_BYTES,
    in_place = true,
    large = coalesce,
    bins = [8, 12, 16, 24, 40],
    realloc
);
// Bins whose blocks are all multiples of a chunk's grain and carved at it
// on 32-bit targets (8 bytes): their slabs are carved without padding
// there; on 64-bit targets (a 16-byte grain) they pad.
model!(
    coalesce_grain_bins,
    sim = SIM_BYTES,
    in_place = true,
    large = coalesce,
    bins = [8, 24, 40],
    realloc
);
model!(
    coalesce_one_small_bin,
    sim = SIM_BYTES,
    in_place = true,
    large = coalesce,
    bins = [8],
    growth = 1 / 32,
    realloc
);
model!(
    coalesce_growth_stats,
    sim = SIM_BYTES,
    in_place = true,
    check_stats,
    large = coalesce,
    growth = 1 / 8,
    realloc
);
model!(
    coalesce_memory_runs_out,
    sim = 1 << 20,
    in_place = true,
    large = coalesce,
    realloc
);

// No bins: every block is a chunk (`lite_alloc::General`'s configuration
// with `growth`). Moving realloc shares its code with `coalesce_moving`.
model!(
    chunks_in_place,
    sim = SIM_BYTES,
    in_place = true,
    bins = [],
    large = coalesce,
    realloc
);
model!(
    chunks_growth_stats,
    sim = SIM_BYTES,
    in_place = true,
    check_stats,
    bins = [],
    large = coalesce,
    growth = 1 / 32,
    realloc
);
model!(
    chunks_memory_runs_out,
    sim = 1 << 20,
    in_place = true,
    bins = [],
    large = coalesce,
    realloc
);

/// An arena that runs out: many requests fail, the allocator keeps working.
#[test]
fn small_arena_survives_out_of_memory() {
    // Smaller under Miri, which runs fewer operations.
    #[lite_alloc(memory = arena(if cfg!(miri) { 8192 } else { 65536 }), realloc)]
    struct Small;
    let plan = Plan {
        seed: 7,
        ops: scaled(20_000),
        max_size: 8192,
        max_align_log2: 8,
        max_live: 64,
    };
    // SAFETY: `Small` is used by this test alone.
    let report = unsafe { check_random_ops(&Small::new(), &plan, &lite_alloc_tests::Opaque) };
    assert!(report.nulls > 0, "the arena should run out: {report:?}");
    assert!(
        report.allocations - report.nulls > plan.ops / 20,
        "and still serve requests: {report:?}"
    );
}

// A bin of 8 KiB aligned to 16 in front of chunks: on 32-bit targets a
// chunk's payload is only 8-aligned, so a slab must hold the block after
// its padding.
model!(
    coalesce_aligned_slab_sized_bin,
    sim = SIM_BYTES,
    in_place = true,
    large = coalesce,
    bins = [16, 32, 64, 128, 8192, 16384],
    realloc
);

// The checked mode (`check`), on each kind of heap: the model's correct
// calls, over every size and alignment and through memory running out,
// never reported as a misuse (the default hook would abort the run), the
// checked layer's table and quarantine consistent with the heap after
// every step (`verify()`), and with `stats` the requested bytes counted as
// for an unchecked type.
model!(
    checked_defaults_moving,
    sim = SIM_BYTES,
    in_place = false,
    check
);
model!(
    checked_large_reuse_in_place_stats,
    sim = SIM_BYTES,
    in_place = true,
    check_stats,
    large = reuse,
    realloc,
    check
);
model!(
    checked_coalesce_in_place,
    sim = SIM_BYTES,
    in_place = true,
    bins = [16, 32, 64, 128, 256],
    large = coalesce,
    realloc,
    growth = 1 / 32,
    check
);
model!(
    checked_chunks_in_place_stats,
    sim = SIM_BYTES,
    in_place = true,
    check_stats,
    bins = [],
    large = coalesce,
    realloc,
    check
);
model!(
    checked_memory_runs_out,
    sim = 1 << 20,
    in_place = true,
    large = reuse,
    realloc,
    check
);
model!(
    checked_chunks_memory_runs_out,
    sim = 1 << 20,
    in_place = true,
    bins = [],
    large = coalesce,
    realloc,
    check
);
