//! A benchmark module: each workload of `lite-alloc-bench-workloads` exported
//! as `run_<name>`, returning its checksum, and `ops_<name>`, the number of
//! operations its time is divided by, over the global allocator that this
//! crate's dependency `lite-alloc-bench-allocators` was built to choose.
//! `bench/run.mjs` instantiates it afresh for every run.

// Links the crate that declares the global allocator.
use lite_alloc_bench_allocators as _;
use lite_alloc_bench_workloads as workloads;

macro_rules! export {
    ($($index:literal: $name:literal, $run:ident, $ops:ident;)*) => {
        $(
            #[doc = concat!("Runs the `", $name, "` workload; returns its checksum.")]
            #[unsafe(no_mangle)]
            pub extern "C" fn $run() -> u64 {
                (workloads::ALL[$index].run)()
            }

            #[doc = concat!("The number of operations of the `", $name, "` workload.")]
            #[unsafe(no_mangle)]
            pub extern "C" fn $ops() -> u64 {
                workloads::ALL[$index].ops
            }
        )*

        // Every workload is exported, under its own name.
        const _: () = {
            let names = [$($name),*];
            assert!(names.len() == workloads::ALL.len(), "every workload exported");
            let mut i = 0;
            while i < names.len() {
                assert!(same(workloads::ALL[i].name, names[i]), "export names out of order");
                i += 1;
            }
        };
    };
}

export! {
    0: "cycle", run_cycle, ops_cycle;
    1: "sequential", run_sequential, ops_sequential;
    2: "fragmentation", run_fragmentation, ops_fragmentation;
    3: "vec_push", run_vec_push, ops_vec_push;
    4: "btree", run_btree, ops_btree;
    5: "small_objects", run_small_objects, ops_small_objects;
    6: "zeroed", run_zeroed, ops_zeroed;
    7: "long_running", run_long_running, ops_long_running;
    8: "ratchet", run_ratchet, ops_ratchet;
    9: "random_actions", run_random_actions, ops_random_actions;
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
