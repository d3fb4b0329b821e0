//! Recording programs and tuning them, as a user would: the tool replays the
//! trace on wasm32-wasip1 under Node.js with the real allocators and
//! recommends a configuration, with reasons; its predictions are the pages
//! the program really ends with when built with each configuration; it
//! runs from anywhere, writes nowhere but its work directory and cargo's
//! target directory, and documents every flag.
//!
//! These tests need cargo with the wasm32-wasip1 target and Node.js, as the
//! tool does: they fail, saying so, without them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::Command;

use lite_alloc::record::Recorder;

/// The trace of `program`, run on the host with a recorder.
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

/// A work directory the tests share, so that what the replays compile once
/// (lite-alloc's macros and their dependencies) is reused.
fn workdir() -> PathBuf {
    std::env::temp_dir().join("lite-alloc-tune-tests")
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lite-alloc-{name}-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `command`; its standard output, or a panic with everything it said.
fn output(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The tool's output on the trace at `path`, given `args` too.
fn tune_file(path: &Path, args: &[&std::ffi::OsStr]) -> String {
    output(
        Command::new(env!("CARGO_BIN_EXE_lite-alloc-tune"))
            .arg(path)
            .arg("--workdir")
            .arg(workdir())
            .args(args),
    )
}

/// The tool's output on `trace`, given `args` too.
fn tune(dir: &Path, trace: Vec<u8>, args: &[&std::ffi::OsStr]) -> String {
    let path = dir.join("program.trace");
    std::fs::write(&path, trace).unwrap();
    tune_file(&path, args)
}

/// The recommended attribute line in the tool's output (also when it is a
/// ready-made type's, which the tool names).
fn recommended(stdout: &str) -> &str {
    let line = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Recommended"))
        .find(|l| l.contains("#[lite_alloc::lite_alloc"))
        .unwrap_or_else(|| panic!("no recommendation in:\n{stdout}"));
    line[line.find("#[lite_alloc::lite_alloc").unwrap()..].trim_end_matches([')', ':'])
}

/// One row of the tool's table of every configuration replayed.
#[derive(Debug)]
struct Row {
    pages: usize,
    /// The attribute's arguments; `None` for dlmalloc.
    arguments: Option<String>,
    recommended: bool,
}

/// The rows of the tool's table.
fn rows(stdout: &str) -> Vec<Row> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("Every configuration replayed"))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let pages = fields.first()?.parse().ok()?;
            // pages, vs dlmalloc, grows, replay ms, hit rate, rounding,
            // then the configuration.
            let name = fields[6..].join(" ");
            let recommended = name.ends_with("<- recommended");
            let name = name.trim_end_matches("<- recommended").trim();
            let arguments = if name.starts_with("dlmalloc") {
                None
            } else if let Some(rest) = name.strip_prefix("lite_alloc::") {
                // `lite_alloc::General (ARGS)`, `lite_alloc::Default (no arguments)`.
                let args = &rest[rest.find('(').unwrap() + 1..rest.rfind(')').unwrap()];
                Some(if args == "no arguments" { "" } else { args }.to_string())
            } else {
                Some(name.to_string())
            };
            Some(Row {
                pages,
                arguments,
                recommended,
            })
        })
        .collect()
}

/// The predicted pages of the row whose configuration is `arguments`.
fn predicted(rows: &[Row], arguments: Option<&str>) -> usize {
    rows.iter()
        .find(|r| r.arguments.as_deref() == arguments)
        .unwrap_or_else(|| panic!("no row for {arguments:?} in {rows:?}"))
        .pages
}

#[test]
#[cfg_attr(miri, ignore = "runs cargo and node")]
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
    let line = recommended(&stdout);
    assert!(
        line.contains("40") && line.contains("48"),
        "bins fit the sizes used: {stdout}"
    );
    assert!(
        line.contains("large = reuse"),
        "coalescing saves nothing here, so it is not worth its code: {stdout}"
    );
    let rows = rows(&stdout);
    let ours = rows.iter().find(|r| r.recommended).unwrap().pages;
    let default = predicted(&rows, Some(""));
    assert!(
        ours < default,
        "{ours} pages against Default's {default}: {stdout}"
    );
    assert!(
        stdout.contains("Why:") && stdout.contains("never reuses"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Recorded on a 64-bit host"),
        "a host trace is said to be one: {stdout}"
    );
    predicted(&rows, Some("bins = [64, 128], large = reuse"));
    predicted(&rows, None);
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "runs cargo and node")]
fn recommends_coalescing_when_freed_memory_must_serve_other_sizes() {
    let dir = scratch("tune-coalesce");
    let stdout = tune(&dir, record(changing_sizes), &[]);
    let line = recommended(&stdout);
    assert!(line.contains("large = coalesce"), "{stdout}");
    let rows = rows(&stdout);
    let ours = rows.iter().find(|r| r.recommended).unwrap().pages;
    // 1.2 MB live at most: about 19 pages with coalescing, 37 or more
    // without (the 3000-byte blocks cannot hold the 6000-byte ones).
    assert!(
        ours <= 22 && ours < predicted(&rows, Some("")),
        "{ours} pages: {stdout}"
    );
    // Memory freed in one size must serve another: no bins at all, every
    // block a chunk, needs the least, and the tool says why, with figures
    // that agree with its table.
    assert!(line.contains("bins = []"), "{stdout}");
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

/// The tool, on a trace of `small_and_passing` written in `dir`, with a
/// work directory of its own there (`dir/work`), not yet run.
fn tool_in(dir: &Path) -> Command {
    let path = dir.join("program.trace");
    std::fs::write(&path, record(small_and_passing)).unwrap();
    let mut tool = Command::new(env!("CARGO_BIN_EXE_lite-alloc-tune"));
    tool.arg(&path).arg("--workdir").arg(dir.join("work"));
    tool
}

/// The output's reader gone before the tool writes (`lite-alloc-tune
/// TRACE | head`, `head` done): the tool stops quietly, without a panic.
#[test]
#[cfg_attr(miri, ignore = "runs the tool")]
fn stops_quietly_when_its_output_is_closed() {
    let dir = scratch("tune-closed-output");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = tool_in(&dir).stdout(writer).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(stderr.is_empty(), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A histogram that cannot be written is refused before anything is
/// built or replayed, with its path.
#[test]
#[cfg_attr(miri, ignore = "runs the tool")]
fn refuses_a_histogram_it_cannot_write_before_replaying() {
    let dir = scratch("tune-svg-nowhere");
    let svg = dir.join("missing/sizes.svg");
    let output = tool_in(&dir).arg("--svg").arg(&svg).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&*svg.to_string_lossy()), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing replayed");
    assert!(!dir.join("work").exists(), "nothing built");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 64-bit program's requests that wasm32 cannot hold (an alignment of
/// 2^40, 3 GiB) fail in every replay, dlmalloc's too, and are counted so:
/// the replay makes no layout of them.
#[test]
#[cfg_attr(miri, ignore = "runs cargo and node")]
fn requests_wasm32_cannot_hold_fail_in_the_replay() {
    let dir = scratch("tune-64-bit");
    #[rustfmt::skip]
    let trace = vec![
        b'L', b'A', b'T', b'R', 2, 8,
        3 << 3, 128, 64, 40, // 40 bytes aligned to 8, at 4096
        31 << 3, 40, 128, 64, 64, // 64 bytes aligned to 2^40, at 8192
        3 << 3, 128, 128, 128, 1, 128, 128, 128, 128, 12, // 3 GiB, at 8192 + 2^20
        7,
    ];
    let stdout = tune(&dir, trace, &[]);
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Every configuration replayed"))
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(rows.len() > 3, "{stdout}");
    for row in rows {
        assert!(row.contains("(2 requests failed)"), "{row}\n{stdout}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The workspace's root (this crate sits in it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The test program (tests/program), copied into `dir` to be built there
/// against this checkout's lite-alloc, with the workspace's lockfile.
fn program_package(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/program");
    let package = dir.join("program");
    std::fs::create_dir_all(package.join("src")).unwrap();
    let manifest = std::fs::read_to_string(source.join("Cargo.toml"))
        .unwrap()
        .replace(
            "LITE_ALLOC_PATH",
            &root().join("lite-alloc").display().to_string(),
        );
    std::fs::write(package.join("Cargo.toml"), manifest).unwrap();
    for file in ["build.rs", "run.mjs", "src/main.rs"] {
        std::fs::copy(source.join(file), package.join(file)).unwrap();
    }
    std::fs::copy(root().join("Cargo.lock"), package.join("Cargo.lock")).unwrap();
    package
}

/// The test program built with `allocator` (see its build.rs), run: the
/// pages of memory it ended with.
fn build_and_run(package: &Path, allocator: &str) -> usize {
    let target = workdir().join("program-target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    output(
        Command::new(cargo)
            .args(["build", "--quiet", "--release", "--target", "wasm32-wasip1"])
            .arg("--manifest-path")
            .arg(package.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .env("LITE_ALLOC_TEST_ALLOCATOR", allocator),
    );
    let wasm = target.join("wasm32-wasip1/release/lite-alloc-tune-test-program.wasm");
    let out = package.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let pages = output(
        Command::new("node")
            .args(["--no-warnings", "--no-turbo-fast-api-calls"])
            .arg(package.join("run.mjs"))
            .arg(&wasm)
            .arg(&out),
    );
    pages
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pages: {pages:?}"))
}

/// The tool's predictions are the pages the program ends with on wasm32,
/// within 2% (or a page), for dlmalloc, Default, General, the recommended
/// configuration and the best of each other shape (bins with large blocks
/// reused, bins in front of chunks); and the recording itself streams out
/// of the program.
#[test]
#[cfg_attr(miri, ignore = "runs cargo and node")]
fn predictions_are_the_pages_measured_on_wasm32() {
    let dir = scratch("tune-predictions");
    let package = program_package(&dir);
    let recording_pages = build_and_run(&package, "record");
    let trace = package.join("out/program.trace");
    let stdout = tune_file(&trace, &[]);
    assert!(
        stdout.contains("recorded with 32-bit pointers") && !stdout.contains("no end mark"),
        "{stdout}"
    );
    let rows = rows(&stdout);
    let best_of = |shape: &dyn Fn(&str) -> bool| {
        rows.iter()
            .filter(|r| r.arguments.as_deref().is_some_and(shape))
            .min_by_key(|r| r.pages)
            .and_then(|r| r.arguments.clone())
    };
    let general = best_of(&|a| a.starts_with("bins = [], large = coalesce, realloc, growth"));
    let mut checked: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        rows.iter()
            .find(|r| r.recommended)
            .unwrap()
            .arguments
            .clone(),
        best_of(&|a| a.contains("large = reuse")),
        best_of(&|a| a.contains("large = coalesce") && !a.starts_with("bins = []")),
    ];
    checked.push(general.clone());
    checked.dedup();
    assert!(general.is_some(), "General is replayed: {stdout}");
    let mut report = String::new();
    let mut wrong = Vec::new();
    for arguments in &checked {
        let predicted = predicted(&rows, arguments.as_deref());
        let measured = build_and_run(&package, arguments.as_deref().unwrap_or("dlmalloc"));
        let name = arguments.as_deref().unwrap_or("dlmalloc");
        report.push_str(&format!(
            "{name}: predicted {predicted}, measured {measured}\n"
        ));
        if predicted.abs_diff(measured) > 1.max(measured / 50) {
            wrong.push(name.to_string());
        }
    }
    assert!(
        wrong.is_empty(),
        "predictions off for {wrong:?}:\n{report}\n{stdout}"
    );
    // The recorder's trace went out as the program ran: the recording
    // run needs no more memory than dlmalloc alone, and a page for the
    // recorder's buffer.
    let dlmalloc = predicted(&rows, None);
    assert!(
        recording_pages <= dlmalloc + 1,
        "recording took {recording_pages} pages, dlmalloc alone {dlmalloc}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The tool, copied out of the build and run from a directory outside any
/// checkout, with the system's temporary directory and cargo's target
/// directory set elsewhere: it works, and writes its work there and there
/// only.
#[test]
#[cfg_attr(miri, ignore = "runs cargo and node")]
fn runs_from_anywhere_and_writes_where_it_is_told() {
    let dir = scratch("tune-anywhere");
    let (bin, tmp, target, elsewhere) = (
        dir.join("bin"),
        dir.join("tmp"),
        dir.join("cargo-target"),
        dir.join("elsewhere"),
    );
    for d in [&bin, &tmp, &elsewhere] {
        std::fs::create_dir_all(d).unwrap();
    }
    let tool = bin.join("lite-alloc-tune");
    std::fs::copy(env!("CARGO_BIN_EXE_lite-alloc-tune"), &tool).unwrap();
    std::fs::write(elsewhere.join("program.trace"), record(changing_sizes)).unwrap();
    let before = std::fs::read_dir(&elsewhere).unwrap().count();
    let stdout = output(
        Command::new(&tool)
            .arg("program.trace")
            .current_dir(&elsewhere)
            .env_remove("CARGO_MANIFEST_DIR")
            .env("TMPDIR", &tmp)
            .env("CARGO_TARGET_DIR", &target),
    );
    assert!(
        recommended(&stdout).contains("large = coalesce"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        before,
        "nothing written in the current directory"
    );
    let work: Vec<PathBuf> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        work.len() == 1
            && work[0]
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("lite-alloc-tune"),
        "one work directory in the temporary directory: {work:?}"
    );
    assert!(
        !work[0].join("target").exists(),
        "cargo's output goes to CARGO_TARGET_DIR"
    );
    let replays = std::fs::read_dir(target.join("wasm32-wasip1/release"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with("replay-") && name.ends_with(".wasm")
        })
        .count();
    assert!(
        replays >= 1,
        "the replay program was built in CARGO_TARGET_DIR"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--help` documents every flag the tool takes (read from its source).
#[test]
#[cfg_attr(miri, ignore = "runs the tool")]
fn help_lists_every_flag() {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs")).unwrap();
    let mut flags = Vec::new();
    for part in source.split("Some(\"").skip(1) {
        let flag = &part[..part.find('"').unwrap()];
        if flag.starts_with('-') {
            flags.push(flag.to_string());
        }
    }
    for part in source.split("| \"").skip(1) {
        let flag = &part[..part.find('"').unwrap()];
        if flag.starts_with('-') {
            flags.push(flag.to_string());
        }
    }
    assert!(flags.len() >= 7, "flags found in the source: {flags:?}");
    let help = output(Command::new(env!("CARGO_BIN_EXE_lite-alloc-tune")).arg("--help"));
    for flag in &flags {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(flag.as_str())
                    || l.contains(&format!(", {flag}"))),
            "{flag} is not in --help:\n{help}"
        );
    }
    assert!(help.contains("CARGO_TARGET_DIR"), "{help}");
}
