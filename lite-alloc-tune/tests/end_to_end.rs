//! Recording a program and tuning it, as a user would: the tool replays the
//! trace with the real allocator and recommends a configuration that needs
//! less memory than `lite_alloc::Default`, with reasons, and draws the
//! histogram.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;

use lite_alloc::record::Recorder;

/// The trace of `program`, run with a recorder.
fn record(program: impl FnOnce(&Recorder<System>)) -> Vec<u8> {
    let recorder = Recorder::new(System);
    program(&recorder);
    let mut trace = Vec::new();
    recorder.for_each_chunk(|bytes| trace.extend_from_slice(bytes));
    trace
}

/// A program whose small blocks are 40 and 48 bytes (Default rounds them up
/// to 64), and whose large buffers come and go (Default never reuses them).
fn small_and_passing(recorder: &Recorder<System>) {
    let mut live = Vec::new();
    unsafe {
        for i in 0..20_000 {
            let layout = Layout::from_size_align(40 + (i % 2) * 8, 8).unwrap();
            live.push((recorder.alloc(layout), layout));
        }
        for i in 0..400 {
            let layout = Layout::from_size_align(20_000 + i * 64, 8).unwrap();
            let block = recorder.alloc(layout);
            recorder.dealloc(block, layout);
        }
        for (block, layout) in live {
            recorder.dealloc(block, layout);
        }
    }
}

/// A program that frees many 3000-byte buffers, then needs as much memory
/// again in 6000-byte ones: only merging freed neighbours lets the first
/// serve the second.
fn changing_sizes(recorder: &Recorder<System>) {
    for (count, size) in [(400, 3000), (200, 6000)] {
        let layout = Layout::from_size_align(size, 8).unwrap();
        unsafe {
            let live: Vec<_> = (0..count).map(|_| recorder.alloc(layout)).collect();
            for block in live {
                recorder.dealloc(block, layout);
            }
        }
    }
}

/// The tool's output on `trace`, given `args` too; it must succeed.
fn tune(dir: &std::path::Path, trace: Vec<u8>, args: &[&std::ffi::OsStr]) -> String {
    let path = dir.join("program.trace");
    std::fs::write(&path, trace).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lite-alloc-tune"))
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The recommended attribute line in the tool's output.
fn recommended(stdout: &str) -> &str {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("Recommended"))
        .nth(2)
        .unwrap_or_else(|| panic!("no recommendation in:\n{stdout}"))
        .trim()
}

/// A fresh directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lite-alloc-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The number after `what` in `text`.
fn number_after(text: &str, what: &str) -> usize {
    let at = text
        .find(what)
        .unwrap_or_else(|| panic!("{what:?} in:\n{text}"))
        + what.len();
    let digits: String = text[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[test]
#[cfg_attr(miri, ignore = "runs cargo")]
fn recommends_less_memory_than_default_and_says_why() {
    let dir = scratch("tune-test");
    let svg = dir.join("sizes.svg");
    let stdout = tune(
        &dir,
        record(small_and_passing),
        &[
            "--svg".as_ref(),
            svg.as_os_str(),
            "--also".as_ref(),
            "bins = [64, 128], large = reuse".as_ref(),
        ],
    );
    let recommended = recommended(&stdout);
    assert!(
        recommended.starts_with("#[lite_alloc::lite_alloc("),
        "{stdout}"
    );
    assert!(
        recommended.contains("40") && recommended.contains("48"),
        "bins fit the sizes used: {stdout}"
    );
    assert!(
        recommended.contains("large = reuse"),
        "coalescing saves nothing here, so it is not worth its code: {stdout}"
    );
    let ours = number_after(&stdout, "predicted peak memory");
    let default = number_after(&stdout, "lite_alloc::Default:");
    assert!(
        ours < default,
        "{ours} pages against Default's {default}: {stdout}"
    );
    assert!(
        stdout.contains("Why:") && stdout.contains("never reuses"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bins = [64, 128], large = reuse"),
        "the configuration given with --also is replayed: {stdout}"
    );
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "runs cargo")]
fn recommends_coalescing_when_freed_memory_must_serve_other_sizes() {
    let dir = scratch("tune-coalesce");
    let stdout = tune(&dir, record(changing_sizes), &[]);
    assert!(
        recommended(&stdout).contains("large = coalesce"),
        "{stdout}"
    );
    let ours = number_after(&stdout, "predicted peak memory");
    let default = number_after(&stdout, "lite_alloc::Default:");
    // 1.2 MB live at most: about 19 pages with coalescing, 37 or more
    // without (the 3000-byte blocks cannot hold the 6000-byte ones).
    assert!(ours <= 22 && ours < default, "{ours} pages: {stdout}");
    // Memory freed in one size must serve another: no bins at all, every
    // block a chunk, needs the least, and the tool says why.
    assert!(recommended(&stdout).contains("bins = []"), "{stdout}");
    assert!(
        stdout.contains("no bins: every block is a chunk")
            && stdout.contains("free neighbours merge and chunks split"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "runs the tool")]
fn refuses_a_file_that_is_not_a_trace() {
    let path = std::env::temp_dir().join(format!("not-a-trace-{}", std::process::id()));
    std::fs::write(&path, b"hello").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lite-alloc-tune"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a lite-alloc trace"));
    std::fs::remove_file(&path).unwrap();
}
