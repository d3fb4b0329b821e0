//! The wasm suite: `tests/wasm-suite` built for `wasm32-unknown-unknown` with
//! eight global allocators (`lite_alloc::Default`; `Default` with in-place
//! realloc; bins that are not powers of two; one bin; every option beyond
//! lite-alloc 0.1.0's design: `large = reuse, realloc, stats, heap_base`;
//! `lite_alloc::General`; a 16-aligned bin of 8 KiB in front of chunks), each
//! run under Node: std workloads, foreign `memory.grow` between allocations,
//! the shadow model, alignments up to 1 MiB from the first allocation,
//! addresses near 4 GiB, and (in a module with a 64 MiB maximum) real
//! out-of-memory; with the options, the module's initial free memory.
//!
//! Needs `node` and the `wasm32-unknown-unknown` target: a missing tool is a
//! failure, not a skip. `scripts/test.sh` installs both.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TESTS: [&str; 5] = [
    "test_std_workloads",
    "test_foreign_growth",
    "test_model",
    "test_alignments_from_the_first_allocation",
    "test_near_the_top_of_memory",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn build(features: &[&str]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = workspace().join("target/wasm-suite");
    let status = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "lite-alloc-wasm-suite",
        ])
        .args(["--target", "wasm32-unknown-unknown", "--target-dir"])
        .arg(&target_dir)
        .args(features.iter().flat_map(|f| ["--features", f]))
        .status()
        .expect("cannot run cargo");
    assert!(
        status.success(),
        "building the wasm suite failed (is `wasm32-unknown-unknown` installed?)"
    );
    // Keep each variant's module: the next build overwrites the output.
    let built = target_dir.join("wasm32-unknown-unknown/release/lite_alloc_wasm_suite.wasm");
    let kept = target_dir.join(format!(
        "suite-{}.wasm",
        if features.is_empty() {
            "default".into()
        } else {
            features.join("+")
        }
    ));
    std::fs::copy(&built, &kept).unwrap();
    kept
}

/// How long one module's tests may take: a broken allocator can loop.
const DEADLINE: Duration = Duration::from_secs(180);

fn run(module: &Path, tests: &[&str]) {
    let mut child = Command::new("node")
        .arg(workspace().join("tests/wasm-suite/run.mjs"))
        .arg(module)
        .args(tests)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`node` not found: install Node.js (18 or later) to run the wasm tests");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > DEADLINE {
            child.kill().unwrap();
            panic!("{} did not finish in {DEADLINE:?}", module.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    assert!(
        output.status.success(),
        "wasm tests failed in {}:\n{stdout}{}",
        module.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        tests.len(),
        "every test reported ok"
    );
}

fn suite(variant: &[&str]) {
    run(&build(variant), &TESTS);
    if variant.contains(&"options") || variant.contains(&"coalesce") {
        run(&build(variant), &["test_heap_base"]);
    }
    if variant.contains(&"slab-bin") {
        run(&build(variant), &["test_bin_block_before_a_chunk"]);
    }
    let mut oom = variant.to_vec();
    oom.push("max-memory");
    run(&build(&oom), &["test_out_of_memory"]);
}

// One test runs the variants in turn: they share a target directory.
#[test]
#[cfg_attr(miri, ignore = "spawns cargo and node")]
fn wasm_suite_under_node() {
    suite(&[]);
    suite(&["default-realloc"]);
    suite(&["non-power-of-two"]);
    suite(&["one-bin"]);
    suite(&["options"]);
    suite(&["coalesce"]);
    suite(&["general"]);
    suite(&["slab-bin"]);
}
