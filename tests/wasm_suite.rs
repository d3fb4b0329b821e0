//! The wasm suite: `tests/wasm-suite` built for `wasm32-unknown-unknown` with
//! eight global allocators (`lite_alloc::Default`; `Default` with in-place
//! realloc; bins that are not powers of two; one bin; every option beyond
//! lite-alloc 0.1.0's design: `large = reuse, realloc, stats, heap_base`;
//! `lite_alloc::General`; a 16-aligned bin of 8 KiB in front of chunks), each
//! run under Node: std workloads, foreign `memory.grow` between allocations,
//! the shadow model, alignments up to 1 MiB from the first allocation,
//! addresses near 4 GiB, and (in a module with a 64 MiB maximum) real
//! out-of-memory; with the options, the module's initial free memory. The
//! variants with chunks also built with the heap's speed build (`wasm-speed`,
//! opt-level 3, whose shortcuts the size build leaves out), running the same
//! tests. Then the checked mode, for `Default` and `General` (the crate
//! feature) and for `large = reuse` and bins in front of chunks (the
//! attribute): the same tests with no misuse reported, and each misuse
//! trapping with its message in lite-alloc's buffer, read by the host.
//!
//! Needs `node` and the `wasm32-unknown-unknown` target: a missing tool is a
//! failure, not a skip. `scripts/test.sh` installs both.

use std::path::{Path, PathBuf};

use lite_alloc_tests::{output_within, workspace};
use std::process::{Command, Stdio};
use std::time::Duration;

const TESTS: [&str; 5] = [
    "test_std_workloads",
    "test_foreign_growth",
    "test_model",
    "test_alignments_from_the_first_allocation",
    "test_near_the_top_of_memory",
];

fn build(features: &[&str]) -> PathBuf {
    build_with(features, "release")
}

/// The suite built with a cargo profile: `release` (opt-level "z", as the
/// size build ships) or `wasm-speed` (opt-level 3: the heap's speed build,
/// with the shortcuts that the size build leaves out).
fn build_with(features: &[&str], profile: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = workspace().join("target/wasm-suite");
    let status = Command::new(cargo)
        .current_dir(workspace())
        .args(["build", "--quiet", "--profile", profile])
        .args(["-p", "lite-alloc-wasm-suite"])
        .args(["--target", "wasm32-unknown-unknown", "--target-dir"])
        .arg(&target_dir)
        .args(features.iter().flat_map(|f| ["--features", f]))
        .status()
        .expect("cannot run cargo");
    assert!(
        status.success(),
        "building the wasm suite failed (is `wasm32-unknown-unknown` installed?)"
    );
    let built = target_dir.join(format!(
        "wasm32-unknown-unknown/{profile}/lite_alloc_wasm_suite.wasm"
    ));
    let kept = target_dir.join(format!(
        "suite-{}-{profile}.wasm",
        if features.is_empty() {
            "default".into()
        } else {
            features.join("+")
        }
    ));
    // Keep each variant's module: the next build overwrites the output.
    std::fs::copy(&built, &kept).unwrap();
    kept
}

/// How long one module's tests may take: a broken allocator can loop.
const DEADLINE: Duration = Duration::from_secs(180);

/// Runs `tests` of `module` under Node: whether all passed, and what it
/// printed (one line per test).
fn node(module: &Path, tests: &[&str]) -> (bool, String) {
    let child = Command::new("node")
        .arg(workspace().join("tests/wasm-suite/run.mjs"))
        .arg(module)
        .args(tests)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`node` not found: install Node.js (18 or later) to run the wasm tests");
    let output = output_within(child, DEADLINE, &module.display().to_string());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (output.status.success(), format!("{stdout}{stderr}"))
}

fn run(module: &Path, tests: &[&str]) {
    let (success, output) = node(module, tests);
    print!("{output}");
    assert!(
        success,
        "wasm tests failed in {}:\n{output}",
        module.display()
    );
    assert_eq!(
        output.lines().filter(|l| l.starts_with("ok ")).count(),
        tests.len(),
        "every test reported ok"
    );
}

/// Whether the wasm suite's feature `variant` enables `marker` (`chunks`,
/// `checked`): its manifest says, so that the module's cfgs and the tests
/// run here cannot disagree.
fn implies(variant: &str, marker: &str) -> bool {
    let manifest = workspace().join("tests/wasm-suite/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("the wasm suite's manifest");
    let prefix = format!("{variant} = [");
    let line = text
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no feature `{variant}` in {}", manifest.display()));
    line.contains(&format!("\"{marker}\""))
}

fn suite(variant: &[&str]) {
    let chunks = variant.iter().any(|v| implies(v, "chunks"));
    let checked = variant.iter().any(|v| implies(v, "checked"));
    // The chunks also in the heap's speed build, whose shortcuts (its test
    // for an empty heap looks at every word of the bitmap; a freed chunk
    // merges into its list's head in place) only opt-level 3 compiles; the
    // checked variants, for debug builds, in the size build only.
    let profiles: &[&str] = if chunks && !checked {
        &["release", "wasm-speed"]
    } else {
        &["release"]
    };
    for profile in profiles {
        let module = build_with(variant, profile);
        run(&module, &TESTS);
        if variant.contains(&"options") || variant.contains(&"coalesce") {
            run(&module, &["test_heap_base"]);
        }
        if variant.contains(&"slab-bin") {
            run(&module, &["test_bin_block_before_a_chunk"]);
        }
        if chunks {
            run(&module, &["test_a_free_chunk_in_any_bitmap_word_serves"]);
        }
        let mut oom = variant.to_vec();
        oom.push("max-memory");
        run(&build_with(&oom, profile), &["test_out_of_memory"]);
    }
}

/// The checked mode: every test of the suite with no misuse reported (the
/// default hook would trap), the misuses with a hook that returns, and each
/// misuse with the default hook: the module traps, and the host reads the
/// message, naming `allocator`, from lite-alloc's buffer.
fn checked_suite(variant: &str, allocator: &str) {
    suite(&[variant]);
    let module = build(&[variant]);
    run(&module, &["test_checked_hook_returns"]);
    let mut tests = Vec::new();
    for (name, pieces) in misuses(allocator, 24) {
        tests.push((format!("misuse_{name}"), pieces));
    }
    for (name, pieces) in misuses(allocator, 3000) {
        tests.push((format!("misuse_large_{name}"), pieces));
    }
    let names: Vec<&str> = tests.iter().map(|(name, _)| name.as_str()).collect();
    let (success, output) = node(&module, &names);
    print!("{output}");
    assert!(!success, "every misuse traps");
    for (name, pieces) in &tests {
        let prefix = format!("FAIL {name} [lite_alloc_misuse]: ");
        let message = output
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| {
                panic!("{name} trapped with a message in lite-alloc's buffer:\n{output}")
            });
        let mut rest = message;
        for piece in pieces {
            let at = rest
                .find(piece.as_str())
                .unwrap_or_else(|| panic!("{name}: {piece:?} in {message:?}"));
            rest = &rest[at + piece.len()..];
        }
    }
}

/// Each misuse the wasm module makes on a block of `size` bytes, and the
/// pieces of its message, in order.
fn misuses(allocator: &str, size: usize) -> Vec<(&'static str, Vec<String>)> {
    let head = |kind: &str| format!("lite-alloc: {allocator}: {kind}: ");
    let block = format!("({size} bytes, align 8)");
    let freed = "of the block at 0x".to_string();
    vec![
        (
            "double_free",
            vec![
                head("double free"),
                "dealloc(0x".to_string(),
                format!(", size {size}, align 8) "),
                freed.clone(),
                format!("{block}, which was already freed"),
            ],
        ),
        (
            "realloc_after_free",
            vec![
                head("double free"),
                "realloc(0x".to_string(),
                format!(", size {size}, align 8, new size {}) ", 2 * size),
                freed.clone(),
                format!("{block}, which was already freed"),
            ],
        ),
        (
            "foreign_pointer",
            vec![
                head("foreign pointer"),
                format!(
                    ", size {size}, align 8): no block of this allocator starts there (it lies in no block the allocator tracks: never handed out here, or freed and already released from the quarantine)"
                ),
            ],
        ),
        (
            "inner_pointer",
            vec![
                head("foreign pointer"),
                format!(
                    "no block of this allocator starts there (8 bytes into the live block at 0x"
                ),
                format!("{block})"),
            ],
        ),
        (
            "wrong_size",
            vec![
                head("wrong layout"),
                format!(", size {}, align 8) of the block at 0x", size + 1),
                format!(", allocated with size {size}, align 8"),
            ],
        ),
        (
            "wrong_align",
            vec![
                head("wrong layout"),
                format!(", size {size}, align 16) of the block at 0x"),
                format!(", allocated with size {size}, align 8"),
            ],
        ),
        (
            "overrun",
            vec![
                head("overrun"),
                format!(
                    "{block} was written past its end (byte {size} changed), found by dealloc(0x"
                ),
                format!(", size {size}, align 8)"),
            ],
        ),
        (
            "realloc_overrun",
            vec![
                head("overrun"),
                format!(
                    "{block} was written past its end (byte {} changed), found by realloc(0x",
                    size + 5
                ),
                format!(", size {size}, align 8, new size {})", 2 * size),
            ],
        ),
        (
            "use_after_free",
            vec![
                head("use after free"),
                format!(
                    "{block} was written after it was freed (byte 3 changed), found before it was handed out again, in dealloc(0x"
                ),
                ", size 40, align 8)".to_string(),
            ],
        ),
    ]
}

/// Held by each test while it builds and runs its variants: they share a
/// target directory, and a build overwrites the module the other runs.
static TARGET_DIR: std::sync::Mutex<()> = std::sync::Mutex::new(());

// One test runs the variants in turn.
#[test]
#[cfg_attr(miri, ignore = "spawns cargo and node")]
fn wasm_suite_under_node() {
    let _dir = TARGET_DIR.lock().unwrap_or_else(|e| e.into_inner());
    suite(&[]);
    suite(&["default-realloc"]);
    suite(&["non-power-of-two"]);
    suite(&["one-bin"]);
    suite(&["options"]);
    suite(&["coalesce"]);
    suite(&["general"]);
    suite(&["slab-bin"]);
}

/// The checked mode, in a test of its own (the run with the crate feature
/// `realloc`, which does not change these modules, skips it).
#[test]
#[cfg_attr(miri, ignore = "spawns cargo and node")]
fn wasm_suite_checked_under_node() {
    let _dir = TARGET_DIR.lock().unwrap_or_else(|e| e.into_inner());
    checked_suite("checked-default", "lite_alloc::Default");
    checked_suite("checked-general", "lite_alloc::General");
    checked_suite("checked-reuse", "lite_alloc_wasm_suite::Under");
    checked_suite("checked-coalesce", "lite_alloc_wasm_suite::Under");
}
