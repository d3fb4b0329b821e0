//! The wasm smoke test: builds the demo for `wasm32-unknown-unknown` with its
//! two global allocators (`lite_alloc::Default`'s configuration with
//! statistics; with large blocks reused and in-place realloc), runs it under
//! Node, and checks every workload's result against the same function run on
//! the host.
//!
//! Needs `node` and the `wasm32-unknown-unknown` target; a missing tool is a
//! failure, not a skip. `scripts/test.sh` installs the target.

use std::path::{Path, PathBuf};

use lite_alloc_tests::workspace;
use std::process::Command;

/// Builds the demo and returns the path of its `.wasm`.
fn build_demo(features: &[&str], dir: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = workspace().join("target").join(dir);
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace())
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "wasm-demo",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for feature in features {
        command.args(["--features", feature]);
    }
    let status = command.status().expect("cannot run cargo");
    assert!(
        status.success(),
        "building the wasm demo failed; is the target installed? (`rustup target add wasm32-unknown-unknown`)"
    );
    target_dir.join("wasm32-unknown-unknown/release/wasm_demo.wasm")
}

/// Runs the demo under Node and returns its `name args = result` lines.
fn run_demo(wasm: &Path) -> String {
    let output = Command::new("node")
        .arg(workspace().join("examples/wasm-demo/run.mjs"))
        .arg(wasm)
        .arg("--check")
        .output()
        .expect("`node` not found: install Node.js (18 or later) to run the wasm tests");
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Checks each line against the host, and that the workloads all ran.
fn check(output: &str) {
    let mut ran = Vec::new();
    for line in output.lines() {
        let (call, result) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let result: u64 = result.parse().unwrap();
        let mut words = call.split(' ');
        let name = words.next().unwrap();
        let args: Vec<u32> = words.map(|w| w.parse().unwrap()).collect();
        let expected = match (name, args.as_slice()) {
            ("vec_push", &[n]) => wasm_demo::vec_push(n),
            ("string_build", &[n]) => wasm_demo::string_build(n),
            ("btree_churn", &[n]) => wasm_demo::btree_churn(n),
            ("box_trees", &[depth, rounds]) => wasm_demo::box_trees(depth, rounds),
            ("pages", &[]) => {
                assert!(
                    result > 0 && result < 1024,
                    "the demo should need little memory: {result} pages"
                );
                continue;
            }
            _ => panic!("unknown workload {line:?}"),
        };
        assert_eq!(
            result, expected,
            "{name}{args:?} gave a different result on wasm"
        );
        ran.push(name);
    }
    assert_eq!(
        ran,
        ["vec_push", "string_build", "btree_churn", "box_trees"]
    );
}

#[test]
#[cfg_attr(miri, ignore = "spawns cargo and node")]
fn demo_runs_on_wasm_with_the_documented_design() {
    check(&run_demo(&build_demo(&[], "wasm-smoke")));
}

#[test]
#[cfg_attr(miri, ignore = "spawns cargo and node")]
fn demo_runs_on_wasm_with_large_blocks_reused() {
    check(&run_demo(&build_demo(&["reuse"], "wasm-smoke-reuse")));
}

/// The demo prints the allocator's statistics, and they show what reuse
/// changes: large blocks leaked without it, reused with it.
#[test]
#[cfg_attr(miri, ignore = "spawns cargo and node")]
fn demo_prints_statistics() {
    let human = |dir: &str, features: &[&str]| {
        let output = Command::new("node")
            .arg(workspace().join("examples/wasm-demo/run.mjs"))
            .arg(build_demo(features, dir))
            .output()
            .expect("`node` not found");
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let documented = human("wasm-smoke", &[]);
    let reuse = human("wasm-smoke-reuse", &["reuse"]);
    let last_stats = |text: &str| {
        text.lines()
            .rev()
            .find(|l| l.contains("in use"))
            .unwrap()
            .to_string()
    };
    let number_after = |line: &str, what: &str| -> u64 {
        let rest = &line[line
            .find(what)
            .unwrap_or_else(|| panic!("{what} in {line}"))
            + what.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    let (d, r) = (last_stats(&documented), last_stats(&reuse));
    assert!(
        number_after(&d, "leaked ") > 100_000,
        "the documented design leaks large blocks: {d}"
    );
    assert_eq!(number_after(&r, "leaked "), 0, "{r}");
    assert!(number_after(&r, "reused ") > 0, "{r}");
    assert!(
        number_after(&r, "obtained ") < number_after(&d, "obtained "),
        "{d}\n{r}"
    );
}
