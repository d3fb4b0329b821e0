//! `tests/wasm-threads`: lite-alloc on wasm32 with threads, the one wasm
//! build where `sync = spin` (the default) is a real spin lock. The module
//! is built for `wasm32-unknown-unknown` with the `atomics` target feature
//! (nightly, `core` rebuilt with it) over an imported, shared memory, and
//! run on four of Node's worker threads at once, each with its own instance
//! and stack: each kind of heap (bins only, large blocks reused, chunks
//! only, a bin in front of chunks, and chunks in the checked mode) under
//! random calls from all four, then every heap at once; blocks handed
//! between them to be freed and resized by another thread, every block's
//! contents checked as it goes, and `verify()` once they are done. The
//! calls must have met (one beginning while another was in progress on the
//! same heap) at least a thousand times in each phase. Built twice: for
//! speed with debug assertions, and for size without, as a module ships.
//! With no lock, or a lock that tests the flag and then sets it, both fail
//! (nulls from the first build's re-entry guard; blocks written over,
//! traps and hangs). A lock whose atomics are too weakly ordered would
//! pass here, wasm's atomics all being sequentially consistent: Miri's
//! data-race detector checks the orderings (`tests/properties.rs`).
//!
//! Then memory grown by one thread while another spins in a loop with no
//! call, as it does on a spin lock, in ten rounds, on a heap over wasm
//! memory and on one over claimed memory whose current region ends below
//! the grown pages: V8 keeps a stale memory size in the spinning thread's
//! instance in most rounds (which the thread reads, and counts), and its
//! `memory.copy` and `memory.fill` into the new pages trap. The heap must
//! make the thread see all of its memory before it copies into or clears
//! blocks there: without that, the speed build traps on both heaps, and
//! seeing up to the current region's end only, on the claimed one (the
//! size build reaches the copy through a call, which refreshed the size in
//! every run). A run in which the view was never stale tested nothing, and
//! fails.
//!
//! Needs nightly with `rust-src` and `node`; a missing tool is a failure,
//! not a skip. `scripts/setup.sh` installs them.

use std::process::{Command, Stdio};
use std::time::Duration;

use lite_alloc_tests::{output_within, workspace};

#[test]
#[cfg_attr(miri, ignore = "spawns cargo and node")]
fn every_kind_of_heap_shared_by_four_threads_stays_intact() {
    let dir = workspace().join("tests/wasm-threads");
    for profile in ["release", "lean"] {
        // The folder's `.cargo/config.toml` and manifest choose the target,
        // the target features, `build-std` and the profiles: nothing of the
        // outer build's environment may override them.
        let mut build = Command::new("rustup");
        build
            .current_dir(&dir)
            .args(["run", "nightly", "cargo", "build", "--quiet", "--locked"])
            .args(["--profile", profile]);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.ends_with("RUSTFLAGS")
                || ["CARGO_PROFILE_", "CARGO_TARGET_", "CARGO_BUILD_"]
                    .iter()
                    .any(|prefix| key.starts_with(prefix))
            {
                build.env_remove(&*key);
            }
        }
        let status = build
            .status()
            .expect("`rustup` not found: the wasm threads test builds with nightly");
        assert!(
            status.success(),
            "building tests/wasm-threads ({profile}) failed (is nightly with `rust-src` installed?)"
        );
        let wasm = dir
            .join("target/wasm32-unknown-unknown")
            .join(profile)
            .join("lite_alloc_wasm_threads_tests.wasm");
        let node = Command::new("node")
            .arg(dir.join("run.mjs"))
            .arg(&wasm)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("`node` not found: install Node.js 20 or later");
        // `run.mjs` gives up on a phase in which no worker finishes a round
        // for 30 s; this bounds a run that still progresses, but crawls.
        let output = output_within(node, Duration::from_secs(600), &wasm.display().to_string());
        let stdout = String::from_utf8_lossy(&output.stdout);
        print!("{stdout}");
        assert!(
            output.status.success(),
            "the wasm threads program ({profile}) failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for phase in [
            "bins",
            "large blocks reused",
            "chunks",
            "a bin in front of chunks",
            "checked chunks",
            "every heap at once",
        ] {
            let passed = |line: &str| {
                line.starts_with(&format!("{phase}: "))
                    && line.contains(" calls from 4 workers, ")
                    && line
                        .ends_with(" met another in progress: every block intact, verify() passed")
            };
            assert!(stdout.lines().any(passed), "{phase} ({profile}): {stdout}");
        }
        for memory in ["wasm memory", "claimed memory"] {
            let passed = |line: &str| {
                line.starts_with(&format!(
                    "memory grown while another thread spins, {memory}: stale in "
                )) && line.ends_with(
                    " of 10 rounds, the heap copied into and cleared blocks in the new pages",
                )
            };
            assert!(
                stdout.lines().any(passed),
                "memory grown while another thread spins, {memory} ({profile}): {stdout}"
            );
        }
        assert!(
            stdout.contains("wasm32 threads: all checks passed"),
            "{stdout}"
        );
    }
}
