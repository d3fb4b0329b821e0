//! Recording a program and tuning it, as a user would: the tool replays the
//! trace with the real allocator and recommends a configuration that needs
//! less memory than `lite_alloc::Default`, with reasons, and draws the
//! histogram.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;

use lite_alloc::record::Recorder;

/// A program whose small blocks are 40 and 48 bytes (Default rounds them up
/// to 64), and whose large buffers come and go (Default never reuses them).
fn record() -> Vec<u8> {
    let recorder = Recorder::new(System);
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
    let mut trace = Vec::new();
    recorder.for_each_chunk(|bytes| trace.extend_from_slice(bytes));
    trace
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
    let dir = std::env::temp_dir().join(format!("lite-alloc-tune-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (trace, svg) = (dir.join("program.trace"), dir.join("sizes.svg"));
    std::fs::write(&trace, record()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lite-alloc-tune"))
        .arg(&trace)
        .arg("--svg")
        .arg(&svg)
        .arg("--also")
        .arg("bins = [64, 128], large = reuse")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let recommended = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Recommended"))
        .nth(2)
        .unwrap()
        .trim();
    assert!(
        recommended.starts_with("#[lite_alloc::lite_alloc("),
        "{stdout}"
    );
    assert!(
        recommended.contains("40") && recommended.contains("48"),
        "bins fit the sizes used: {stdout}"
    );
    assert!(recommended.contains("large = reuse"), "{stdout}");
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
