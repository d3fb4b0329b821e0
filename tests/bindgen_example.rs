//! The wasm-bindgen example: `examples/wasm-bindgen` built for
//! `wasm32-unknown-unknown` with `lite_alloc::General` as its global
//! allocator, processed by the `wasm-bindgen` command (of the very version
//! of the `wasm-bindgen` crate in Cargo.lock, which `scripts/setup.sh`
//! installs) and run under Node, its results checked against the same code
//! on the host.
//!
//! Needs `wasm-bindgen`, `node` and the `wasm32-unknown-unknown` target: a
//! missing tool is a failure, not a skip.

use lite_alloc_tests::workspace;
use std::process::Command;

/// The version of the `wasm-bindgen` crate in Cargo.lock.
fn locked_version() -> String {
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).unwrap();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            let version = lines.next().unwrap();
            return version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .unwrap()
                .to_string();
        }
    }
    panic!("no wasm-bindgen in Cargo.lock");
}

#[test]
#[cfg_attr(miri, ignore = "spawns cargo, wasm-bindgen and node")]
fn wasm_bindgen_module_runs_under_node() {
    let version = locked_version();
    let installed = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .expect("`wasm-bindgen` not found: run scripts/setup.sh, which installs wasm-bindgen-cli");
    let installed = String::from_utf8(installed.stdout).unwrap();
    assert_eq!(
        installed.trim(),
        format!("wasm-bindgen {version}"),
        "the wasm-bindgen command must match the crate in Cargo.lock: run scripts/setup.sh"
    );

    let target_dir = workspace().join("target/wasm-bindgen");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "lite-alloc-wasm-bindgen",
        ])
        .args(["--target", "wasm32-unknown-unknown", "--target-dir"])
        .arg(&target_dir)
        .status()
        .expect("cannot run cargo");
    assert!(status.success(), "building the wasm-bindgen example failed");
    let module = target_dir.join("wasm32-unknown-unknown/release/lite_alloc_wasm_bindgen.wasm");
    let pkg = target_dir.join("pkg");
    let status = Command::new("wasm-bindgen")
        .args(["--target", "nodejs", "--out-dir"])
        .arg(&pkg)
        .arg(&module)
        .status()
        .unwrap();
    assert!(status.success(), "wasm-bindgen failed");

    let output = Command::new("node")
        .arg(workspace().join("examples/wasm-bindgen/run.mjs"))
        .arg(&pkg)
        .output()
        .expect("`node` not found: install Node.js (18 or later)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    assert!(
        output.status.success(),
        "node failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The same calls on the host.
    let text =
        "the quick brown fox jumps over the lazy dog; the dog sleeps, the fox runs. ".repeat(2000);
    let top = lite_alloc_wasm_bindgen::top_words(&text, 3).replace('\n', ", ");
    assert!(stdout.contains(&format!("top_words: {top}\n")), "{top}");
    assert_eq!(top, "the 8000, dog 4000, fox 4000");
    let primes = lite_alloc_wasm_bindgen::primes(10000);
    let last = primes.last().unwrap();
    assert!(stdout.contains(&format!("primes: Uint32Array of 10000, last {last}\n")));
    assert!(stdout.contains("notes: "));
    // 200 rounds of 500 notes, freed each time: memory stays small.
    let pages: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("memory pages: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(pages > 0 && pages < 64, "{pages} pages");
}
