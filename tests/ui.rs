//! Compile tests: every accepted form of the attribute compiles (and runs),
//! and every invalid input fails with the message and span in its `.stderr`.
//!
//! The expected output is pinned to the toolchain in `rust-toolchain.toml`;
//! regenerate it there with `TRYBUILD=overwrite cargo test -p lite-alloc-tests --test ui`.

#[test]
#[cfg_attr(miri, ignore = "runs the compiler")]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    for group in [
        "args",
        "bins",
        "page",
        "memory",
        "sync",
        "large",
        "growth",
        "stats",
        "check",
        "heap_base",
        "item",
    ] {
        t.compile_fail(format!("ui/{group}/*.rs"));
    }
}
