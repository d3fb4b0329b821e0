//! A benchmark module: each workload of `lite-alloc-bench-workloads` exported
//! as `run_<name>`, returning its checksum, and `ops_<name>`, the number of
//! operations its time is divided by, over the global allocator that this
//! crate's dependency `lite-alloc-bench-allocators` was built to choose.
//! `bench/run.mjs` instantiates it afresh for every run.

// Links the crate that declares the global allocator.
use lite_alloc_bench_allocators as _;
use lite_alloc_bench_workloads as workloads;

macro_rules! export {
    ($($index:literal: $run:ident, $ops:ident;)*) => {$(
        #[doc = concat!("Runs workload ", $index, "; returns its checksum.")]
        #[unsafe(no_mangle)]
        pub extern "C" fn $run() -> u64 {
            (workloads::ALL[$index].run)()
        }

        #[doc = concat!("The number of operations of workload ", $index, ".")]
        #[unsafe(no_mangle)]
        pub extern "C" fn $ops() -> u64 {
            workloads::ALL[$index].ops
        }
    )*};
}

export! {
    0: run_cycle, ops_cycle;
    1: run_sequential, ops_sequential;
    2: run_fragmentation, ops_fragmentation;
    3: run_vec_push, ops_vec_push;
    4: run_btree, ops_btree;
    5: run_small_objects, ops_small_objects;
}

// The names above must follow `workloads::ALL`.
const _: () = {
    let names = [
        "cycle",
        "sequential",
        "fragmentation",
        "vec_push",
        "btree",
        "small_objects",
    ];
    let mut i = 0;
    while i < names.len() {
        assert!(
            same(workloads::ALL[i].name, names[i]),
            "export names out of order"
        );
        i += 1;
    }
};

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
