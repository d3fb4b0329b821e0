//! Replaying candidates on the target: a program in which each candidate is
//! a `#[lite_alloc]` type, compiled for `wasm32-wasip1` against the
//! embedded lite-alloc, and run under Node.js once per candidate, in a fresh
//! instance, on the trace's script. Headers, alignment and memory growth
//! are wasm32's own, and `dlmalloc` (wasi-libc's `malloc`, the default of
//! Rust programs on `wasm32-wasip1`) is replayed the same way.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::candidates::Candidate;
use crate::embedded;

/// The replay program's fixed part, and its runner under Node.
const DRIVER: &str = include_str!("../replay/main.rs");
const RUNNER: &str = include_str!("../replay/run.mjs");
/// The Rust target of the replay.
pub const TARGET: &str = "wasm32-wasip1";

/// What replaying a trace against one allocator measured on wasm32.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Pages of memory the allocator grew.
    pub pages: usize,
    /// `memory.grow` calls it made.
    pub grows: u64,
    /// The most bytes the program's live blocks requested at once.
    pub peak_requested: usize,
    /// At that moment, the bytes of those blocks beyond what was requested
    /// (rounding up to a bin or size class, chunk headers): lite-alloc only.
    pub rounding_at_peak: Option<usize>,
    /// Allocations served from a bin's free list, and those that found it
    /// empty: lite-alloc only.
    pub bin_hits: Option<u64>,
    /// See `bin_hits`.
    pub bin_misses: Option<u64>,
    /// Bytes of large blocks freed and never reused: lite-alloc only.
    pub leaked: Option<usize>,
    /// Requests the allocator could not serve in wasm32's 4 GiB.
    pub failed: u64,
    /// How long the replay took, in microseconds (the allocator's work and
    /// its `memory.grow` calls, and reading the script).
    pub micros: u64,
}

/// How to build and run replays.
pub struct Replayer {
    /// Where the embedded sources, replay packages and scripts go.
    pub workdir: PathBuf,
    /// Cargo's target directory for the replay packages.
    pub target_dir: PathBuf,
    /// The `node` to run them with, and the flags it needs.
    pub node: PathBuf,
    pub node_flags: Vec<String>,
    /// Replays run at the same time.
    pub jobs: usize,
}

impl Replayer {
    /// Checks that Node.js is there; the flags it needs for WASI.
    pub fn new(
        workdir: PathBuf,
        target_dir: PathBuf,
        node: PathBuf,
        jobs: usize,
    ) -> Result<Replayer, Box<dyn Error>> {
        let missing = |e: std::io::Error| {
            format!(
                "lite-alloc-tune replays on {TARGET} under Node.js (20 or later), and cannot run `{}`: {e}. Install Node.js, or give its path with --node",
                node.display()
            )
        };
        let version = Command::new(&node)
            .arg("--version")
            .output()
            .map_err(missing)?;
        let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        let major: u32 = version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| {
                format!(
                    "`{} --version` said {version:?}, not a Node.js version",
                    node.display()
                )
            })?;
        // The runner passes WASI's `version` option, which Node added in
        // 19.8 (before 20 WASI also needed a flag); the replays are tested
        // on 20.
        if major < 20 {
            return Err(format!(
                "Node.js 20 or later is needed, found {version} (`{}`)",
                node.display()
            )
            .into());
        }
        // Node 20's WASI can crash after a run unless V8's fast API calls
        // are off (nodejs/node#46777): off, where V8 has the flag.
        let options = Command::new(&node)
            .arg("--v8-options")
            .output()
            .map_err(missing)?;
        let mut node_flags = vec!["--no-warnings".to_string()];
        if String::from_utf8_lossy(&options.stdout).contains("turbo-fast-api-calls") {
            node_flags.push("--no-turbo-fast-api-calls".into());
        }
        std::fs::create_dir_all(&workdir).map_err(|e| {
            format!(
                "cannot create the work directory {}: {e}",
                workdir.display()
            )
        })?;
        Ok(Replayer {
            workdir,
            target_dir,
            node,
            node_flags,
            jobs: jobs.max(1),
        })
    }

    /// Builds the replay program of `candidates` (and dlmalloc, last);
    /// its module.
    pub fn build(&self, candidates: &[Candidate]) -> Result<PathBuf, Box<dyn Error>> {
        let sources = embedded::unpack(&self.workdir)?;
        let generated = candidates_source(candidates);
        let name = format!(
            "replay-{:016x}",
            fingerprint(&[DRIVER, &generated, &format!("{:x}", embedded::FINGERPRINT)].concat())
        );
        let package = self.workdir.join(&name);
        std::fs::create_dir_all(package.join("src"))?;
        write_whole(&package.join("Cargo.toml"), &manifest(&name, &sources))?;
        write_whole(&package.join("src/main.rs"), DRIVER)?;
        write_whole(&package.join("src/candidates.rs"), &generated)?;
        if let Some(lock) = embedded::LOCK
            && !package.join("Cargo.lock").exists()
        {
            write_whole(&package.join("Cargo.lock"), &String::from_utf8_lossy(lock))?;
        }
        let (mut command, toolchain) = cargo();
        let output = command
            .args(["build", "--quiet", "--release", "--target", TARGET])
            .arg("--manifest-path")
            .arg(package.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&self.target_dir)
            .current_dir(&package)
            .output()
            .map_err(|e| {
                format!(
                    "cannot run cargo ({:?}) to build the replay program: {e}",
                    command.get_program()
                )
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let hint = if stderr.contains("target may not be installed")
                || stderr.contains("can't find crate for `std`")
            {
                format!(
                    "\nThe replay runs on {TARGET}: install the target with `rustup target add {TARGET}{}`.",
                    toolchain.map_or(String::new(), |t| format!(" --toolchain {t}"))
                )
            } else {
                String::new()
            };
            return Err(format!(
                "building the replay program in {} failed:\n{stderr}{hint}",
                package.display()
            )
            .into());
        }
        Ok(self
            .target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{name}.wasm")))
    }

    /// Replays `script` with the program `module` against candidates
    /// `which` (numbers in the list it was built from; dlmalloc is the
    /// number after the last candidate); their outcomes, in that order.
    pub fn run(
        &self,
        module: &Path,
        script: &Path,
        which: &[usize],
    ) -> Result<Vec<Outcome>, Box<dyn Error>> {
        let runner = self
            .workdir
            .join(format!("run-{:016x}.mjs", fingerprint(RUNNER)));
        if !runner.exists() {
            write_whole(&runner, RUNNER)?;
        }
        let mut outcomes = vec![None; which.len()];
        let per_job = which.len().div_ceil(self.jobs);
        let results: Vec<Result<String, String>> = std::thread::scope(|scope| {
            let jobs: Vec<_> = which
                .chunks(per_job.max(1))
                .map(|part| {
                    let runner = &runner;
                    scope.spawn(move || {
                        let output = Command::new(&self.node)
                            .args(&self.node_flags)
                            .arg(runner)
                            .arg(module)
                            .arg(script)
                            .args(part.iter().map(usize::to_string))
                            .output()
                            .map_err(|e| format!("cannot run {}: {e}", self.node.display()))?;
                        if !output.status.success() {
                            return Err(format!(
                                "the replay failed ({}):\n{}",
                                output.status,
                                String::from_utf8_lossy(&output.stderr)
                            ));
                        }
                        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
                    })
                })
                .collect();
            jobs.into_iter().map(|j| j.join().unwrap()).collect()
        });
        for stdout in results {
            for line in stdout?.lines() {
                let (i, outcome) = parse_line(line)?;
                let at = which
                    .iter()
                    .position(|&w| w == i)
                    .ok_or_else(|| format!("the replay printed candidate {i}, not asked for"))?;
                outcomes[at] = Some(outcome);
            }
        }
        outcomes
            .into_iter()
            .zip(which)
            .map(|(o, i)| {
                o.ok_or_else(|| format!("the replay printed nothing for candidate {i}").into())
            })
            .collect()
    }
}

/// The cargo that builds the replay programs, with the toolchain to build
/// them with; its name, when rustup chose it. That is the toolchain of the
/// cargo that runs this tool (`CARGO`, set by `cargo run` and `cargo test`:
/// its own `rustc`), or else the one rustup takes in the current directory
/// (the replay is built elsewhere, in the work directory, where rustup would
/// take its default).
fn cargo() -> (Command, Option<String>) {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    if std::env::var_os("RUSTC").is_some() {
        return (command, None);
    }
    if let Some(cargo) = std::env::var_os("CARGO") {
        let rustc =
            Path::new(&cargo).with_file_name(format!("rustc{}", std::env::consts::EXE_SUFFIX));
        if rustc.is_file() {
            command.env("RUSTC", rustc);
            return (command, None);
        }
    }
    if std::env::var_os("RUSTUP_TOOLCHAIN").is_some() {
        return (command, None);
    }
    let toolchain = Command::new("rustup")
        .args(["show", "active-toolchain"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .map(str::to_string)
        });
    if let Some(name) = &toolchain {
        command.env("RUSTUP_TOOLCHAIN", name);
    }
    (command, toolchain)
}

/// One line of the replay program's output.
fn parse_line(line: &str) -> Result<(usize, Outcome), Box<dyn Error>> {
    let fields: Vec<&str> = line.split(' ').collect();
    let bad = || format!("unexpected replay output {line:?}");
    let [
        i,
        pages,
        grows,
        requested,
        rounding,
        hits,
        misses,
        leaked,
        failed,
        micros,
    ] = fields[..]
    else {
        return Err(bad().into());
    };
    let number = |s: &str| s.parse::<u64>().map_err(|_| bad());
    let optional = |s: &str| -> Result<Option<u64>, String> {
        if s == "-" {
            Ok(None)
        } else {
            number(s).map(Some)
        }
    };
    Ok((
        number(i)? as usize,
        Outcome {
            pages: number(pages)? as usize,
            grows: number(grows)?,
            peak_requested: number(requested)? as usize,
            rounding_at_peak: optional(rounding)?.map(|v| v as usize),
            bin_hits: optional(hits)?,
            bin_misses: optional(misses)?,
            leaked: optional(leaked)?.map(|v| v as usize),
            failed: number(failed)?,
            micros: number(micros)?,
        },
    ))
}

/// The generated part of the replay program: the candidates, numbered, and
/// dlmalloc after them.
fn candidates_source(candidates: &[Candidate]) -> String {
    let mut src = String::from("//! Generated by lite-alloc-tune: the candidates, numbered.\n\n");
    for (i, candidate) in candidates.iter().enumerate() {
        let args = candidate.arguments();
        let comma = if args.is_empty() { "" } else { ", " };
        let _ = writeln!(
            src,
            "#[lite_alloc::lite_alloc(stats{comma}{args})]\nstruct C{i};\n"
        );
    }
    src.push_str(
        "/// Replays the script against candidate `which`.\n\
         pub fn replay(which: usize, script: &mut crate::Script, table: *mut *mut u8) -> Option<crate::Outcome> {\n\
         \x20   Some(match which {\n",
    );
    for i in 0..candidates.len() {
        let _ = writeln!(
            src,
            "        {i} => crate::replay(script, table, &C{i}, Some(C{i}::stats)),"
        );
    }
    let _ = writeln!(
        src,
        "        {} => crate::replay(script, table, &std::alloc::System, None),\n\
         \x20       _ => return None,\n\
         \x20   }})\n}}",
        candidates.len()
    );
    src
}

/// The replay package's manifest; `name` is also its binary's.
fn manifest(name: &str, sources: &Path) -> String {
    format!(
        "[package]\n\
         name = \"{name}\"\n\
         version = \"0.0.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\n\
         [workspace]\n\n\
         [dependencies]\n\
         lite-alloc = {{ path = {:?} }}\n\n\
         [profile.release]\n\
         opt-level = 3\n\
         debug = false\n\
         panic = \"abort\"\n",
        sources.join("lite-alloc").display().to_string(),
    )
}

/// FNV-1a: a name for a text that is the same in every run.
pub fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `contents` to `path` whole or not at all (another run of the tool
/// may be reading it: it writes the same bytes).
pub fn write_whole(path: &Path, contents: &str) -> std::io::Result<()> {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&partial, contents)?;
    std::fs::rename(&partial, path)
}
