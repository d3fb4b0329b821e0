//! `lite-alloc-tune TRACE [OPTIONS]`: see `--help`, and the crate's README.
//!
//! Reads a trace recorded with `lite_alloc::record::Recorder`, replays it on
//! `wasm32-wasip1` under Node.js against candidate configurations (each the
//! real allocator, compiled from the lite-alloc sources embedded in this
//! tool) and against dlmalloc, and prints the `#[lite_alloc(...)]` line to
//! use, or the ready-made type that is best, with its predicted peak memory
//! next to dlmalloc's, `lite_alloc::General`'s and `lite_alloc::Default`'s,
//! and why.

mod analysis;
mod candidates;
mod embedded;
mod plot;
mod script;
mod target;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lite_alloc_tune::trace::Trace;

use analysis::Profile;
use candidates::{Candidate, DEFAULT_BINS, GROWTHS, Large};
use script::Script;
use target::{Outcome, Replayer};

const PAGE: usize = 65536;

/// `println!` that returns an error where `println!` would panic: when the
/// reader of the output has gone (`lite-alloc-tune TRACE | head`), the
/// tool stops, and `main` exits quietly.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

const HELP: &str = "\
lite-alloc-tune: recommends a lite-alloc configuration for a program, from a
trace of its allocations (recorded with lite_alloc::record::Recorder).

Usage: lite-alloc-tune TRACE [OPTIONS]

Every candidate configuration, and dlmalloc, is replayed on wasm32-wasip1
under Node.js: the real allocator, compiled from the lite-alloc sources
built into this tool, serves the recorded requests in their order. It needs
cargo with the wasm32-wasip1 target (rustup target add wasm32-wasip1) and
Node.js 20 or later.

Options:
  --svg FILE       also write the histogram of request sizes, with the bins
                   recommended and Default's, as an SVG chart
  --also ARGS      also replay this configuration, given as the attribute's
                   arguments (\"bins = [24, 48], large = reuse\") or the
                   whole attribute, on wasm memory, the default; repeatable
  --workdir DIR    where the replay programs are built and run (default:
                   lite-alloc-tune-USER in the system's temporary directory)
  --node PATH      the Node.js to run the replays with (default: node)
  --jobs N         replays run at the same time (default: 1)
  -h, --help       print this help
  -V, --version    print the version

Environment:
  CARGO            the cargo that builds the replay programs (default: cargo)
  CARGO_TARGET_DIR cargo's target directory for them (default: DIR/target)
";

struct Args {
    trace: PathBuf,
    svg: Option<PathBuf>,
    also: Vec<String>,
    workdir: PathBuf,
    node: PathBuf,
    jobs: usize,
}

enum Parsed {
    Run(Args),
    Print(String),
}

fn args() -> Result<Parsed, String> {
    let usage = |what: &str| {
        format!("{what}\n\nUsage: lite-alloc-tune TRACE [OPTIONS] (--help lists them)")
    };
    let mut trace = None;
    let mut svg = None;
    let mut also = Vec::new();
    let mut workdir = None;
    let mut node = PathBuf::from("node");
    let mut jobs = 1;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .ok_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match arg.to_str() {
            Some("--svg") => svg = Some(value("--svg")?.into()),
            Some("--workdir") => workdir = Some(value("--workdir")?.into()),
            Some("--node") => node = value("--node")?.into(),
            Some("--jobs") => {
                jobs = value("--jobs")?
                    .to_str()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| usage("--jobs takes a whole number, at least 1"))?
            }
            Some("--also") => also.push(
                value("--also")?
                    .into_string()
                    .map_err(|_| usage("--also takes text"))?,
            ),
            Some("-h" | "--help") => return Ok(Parsed::Print(HELP.into())),
            Some("-V" | "--version") => {
                return Ok(Parsed::Print(format!(
                    "lite-alloc-tune {}\n",
                    env!("CARGO_PKG_VERSION")
                )));
            }
            Some(flag) if flag.starts_with('-') => {
                return Err(usage(&format!("unknown option {flag}")));
            }
            _ if trace.is_none() => trace = Some(PathBuf::from(arg)),
            _ => return Err(usage("one trace at a time")),
        }
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default();
    Ok(Parsed::Run(Args {
        trace: trace.ok_or_else(|| usage("which trace?"))?,
        svg,
        also,
        workdir: workdir.unwrap_or_else(|| {
            let name = if user.is_empty() {
                "lite-alloc-tune".to_string()
            } else {
                format!("lite-alloc-tune-{user}")
            };
            std::env::temp_dir().join(name)
        }),
        node,
        jobs,
    }))
}

fn main() -> ExitCode {
    match args() {
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(args)) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error)
                if error
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
            {
                // The output's reader has gone: nothing to tell it.
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

/// `bytes` in the unit that reads best: B, KiB or MiB.
fn amount(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", bytes as f64 / (1 << 10) as f64)
    } else {
        format!("{bytes} B")
    }
}

fn percent(part: f64, whole: f64) -> String {
    if whole == 0.0 {
        "n/a".into()
    } else {
        format!("{:.1}%", part / whole * 100.0)
    }
}

/// An absolute path: relative ones are taken from the current directory.
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

/// One allocator replayed, and its prediction.
struct Replayed {
    /// `None`: dlmalloc.
    candidate: Option<Candidate>,
    outcome: Outcome,
    /// Predicted peak pages of the program: its own and the allocator's.
    pages: usize,
}

impl Replayed {
    fn name(&self) -> String {
        match &self.candidate {
            None => "dlmalloc (wasi-libc's malloc: Rust's default on wasm32-wasip1)".into(),
            Some(c) => match (c.ready_made(), c.arguments()) {
                (Some(ready), _) => format!("{ready} ({})", or_none(&c.arguments())),
                (None, args) => args,
            },
        }
    }

    fn hit_rate(&self) -> String {
        match (self.outcome.bin_hits, self.outcome.bin_misses) {
            (Some(h), Some(m)) if h + m > 0 => percent(h as f64, (h + m) as f64),
            (Some(_), Some(_)) => "-".into(),
            _ => "-".into(),
        }
    }

    fn rounding(&self) -> String {
        match self.outcome.rounding_at_peak {
            Some(r) => percent(r as f64, self.outcome.peak_requested as f64),
            None => "-".into(),
        }
    }
}

fn or_none(args: &str) -> &str {
    if args.is_empty() {
        "no arguments"
    } else {
        args
    }
}

/// How much less peak memory `large = coalesce` must reach, against the
/// best configuration without it, to be worth its code (several hundred
/// bytes more on wasm32).
const COALESCE_SAVES: f64 = 0.05;

/// The candidate to recommend, among `replayed` (dlmalloc is not one): the
/// least peak memory, except that one with less code (no coalescing, then
/// fewer bins, then doubling bins: the fastest lookup) or coarser growth
/// (fewer `memory.grow` calls) wins when its peak is within a page or 0.5%
/// of the least. Coalescing is only chosen when it saves
/// [`COALESCE_SAVES`] against the best without it.
fn choose(replayed: &[Replayed]) -> usize {
    let lite: Vec<usize> = (0..replayed.len())
        .filter(|&i| replayed[i].candidate.is_some())
        .collect();
    let ok: Vec<usize> = lite
        .iter()
        .copied()
        .filter(|&i| replayed[i].outcome.failed == 0)
        .collect();
    let pool = if ok.is_empty() { lite } else { ok };
    let candidate = |i: usize| replayed[i].candidate.as_ref().unwrap();
    let best_of = |coalesce: bool| {
        let pool: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&i| (candidate(i).large == Large::Coalesce) == coalesce)
            .collect();
        let least = pool.iter().map(|&i| replayed[i].pages).min()?;
        let tolerance = 1.max(least / 200);
        pool.into_iter()
            .filter(|&i| replayed[i].pages <= least + tolerance)
            .min_by_key(|&i| {
                let c = candidate(i);
                (
                    c.bins.len(),
                    !c.doubling(),
                    std::cmp::Reverse(c.growth.map_or(0, |n| PAGE / n)),
                    replayed[i].pages,
                )
            })
    };
    match (best_of(false), best_of(true)) {
        (Some(plain), Some(coalescing))
            if (replayed[coalescing].pages as f64)
                < replayed[plain].pages as f64 * (1.0 - COALESCE_SAVES) =>
        {
            coalescing
        }
        (Some(plain), _) => plain,
        (None, coalescing) => coalescing.expect("the pool is never empty"),
    }
}

/// Whether the histogram can go to `path`, asked before the replays rather
/// than found out after them.
fn svg_destination(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!(
            "--svg {}: a directory; give the file to write",
            path.display()
        ));
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(format!(
            "--svg {}: there is no directory {}",
            path.display(),
            parent.display()
        ));
    }
    Ok(())
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    if let Some(svg) = &args.svg {
        svg_destination(svg)?;
    }
    let trace = Trace::read(&args.trace)?;
    let profile = Profile::of(&trace);
    if profile.allocations == 0 {
        return Err("the trace holds no allocation".into());
    }
    let base = trace.memory.map_or(0, |m| m.base_pages());
    let bytes = std::fs::metadata(&args.trace)?.len();
    out!(
        "Trace {}: {bytes} bytes, {:.1} an allocation; {} events ({} allocations, {} frees, {} reallocs), recorded with {}-bit pointers",
        args.trace.display(),
        bytes as f64 / profile.allocations as f64,
        trace.events.len(),
        profile.allocations,
        profile.frees,
        profile.reallocs,
        trace.pointer_bytes as u32 * 8,
    );
    if trace.truncated {
        out!(
            "Warning: the trace is cut short: memory for the trace, or writing it, failed as the program ran. Its last events are missing, and what follows describes only the part recorded."
        );
    } else if !trace.complete {
        out!(
            "Warning: the trace has no end mark: the program did not call `finish`, or the file was cut short. Its last events may be missing, and what follows describes only the part recorded."
        );
    }
    match trace.memory {
        Some(_) => out!(
            "The program starts with {base} pages of static data and stack (without the recorder's buffer): included in every prediction."
        ),
        None if trace.pointer_bytes == 4 => out!(
            "The trace does not say what memory the program starts with: the pages predicted are the allocator's alone."
        ),
        None => out!(
            "Recorded on a {}-bit host: requests are the host's sizes, not wasm32's; record the program on wasm32 for exact predictions. The pages predicted are the allocator's alone.",
            trace.pointer_bytes as u32 * 8
        ),
    }
    out!(
        "Requests: half are at most {} B, 90% at most {} B, 99% at most {} B; the largest {} B; {} aligned beyond 16. Live at the peak: {}.",
        profile.percentile(0.5),
        profile.percentile(0.9),
        profile.percentile(0.99),
        profile.largest,
        profile.over_aligned,
        amount(profile.peak_requested)
    );
    let growth = candidates::growth_for(&profile);
    let mut list = candidates::for_profile(&profile, growth);
    for arguments in &args.also {
        let mut given = Candidate::parse(arguments, "given with --also")?;
        if let Some(same) = list.iter_mut().find(|c| **c == given) {
            same.origin = given.origin;
        } else {
            given.origin = "given with --also".into();
            list.push(given);
        }
    }

    let workdir = absolute(&args.workdir)?;
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => absolute(Path::new(&dir))?,
        _ => workdir.join("target"),
    };
    let replayer = Replayer::new(workdir.clone(), target_dir, args.node.clone(), args.jobs)?;
    let script = Script::of(&trace);
    if script.unknown > 0 {
        out!(
            "Left out: {} frees and reallocations of blocks the trace never allocated (allocated before the recording began, or a damaged trace).",
            script.unknown
        );
    }
    let scripts = workdir.join("scripts");
    std::fs::create_dir_all(&scripts)?;
    sweep_scripts(&scripts, std::time::SystemTime::now());
    let script_path = scripts.join(format!("{}.script", std::process::id()));
    std::fs::write(&script_path, &script.bytes)?;
    let result = replay_all(&replayer, &script_path, list, base, &profile);
    let _ = std::fs::remove_file(&script_path);
    let replayed = result?;
    report(&args, &trace, &profile, &replayed, base)
}

/// How old a replay script left in the work directory may get: a run
/// removes its own as it ends, but one stopped from outside (Ctrl-C, a
/// signal) cannot, and no replay runs this long.
const STALE_SCRIPT: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Removes the replay scripts in `dir` older than [`STALE_SCRIPT`] at
/// `now`, which runs stopped from outside left behind.
fn sweep_scripts(dir: &Path, now: std::time::SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > STALE_SCRIPT);
        if stale && path.extension().is_some_and(|e| e == "script") {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Replays the candidates and dlmalloc; then, for programs that grow
/// memory by a fraction, the best candidates with finer fractions.
fn replay_all(
    replayer: &Replayer,
    script: &Path,
    list: Vec<Candidate>,
    base: usize,
    profile: &Profile,
) -> Result<Vec<Replayed>, Box<dyn Error>> {
    out!(
        "Replaying {} configurations and dlmalloc on {} under Node.js ...",
        list.len(),
        target::TARGET
    );
    let module = replayer.build(&list)?;
    let which: Vec<usize> = (0..=list.len()).collect();
    let outcomes = replayer.run(&module, script, &which)?;
    let mut replayed: Vec<Replayed> = outcomes
        .into_iter()
        .enumerate()
        .map(|(i, outcome)| Replayed {
            candidate: list.get(i).cloned(),
            pages: base + outcome.pages,
            outcome,
        })
        .collect();
    // Finer growth for the best few (and General's line with it).
    if candidates::growth_for(profile).is_some() {
        let mut ranked: Vec<&Replayed> = replayed
            .iter()
            .filter(|r| r.candidate.is_some() && r.outcome.failed == 0)
            .collect();
        ranked.sort_by_key(|r| r.pages);
        let mut finer: Vec<Candidate> = Vec::new();
        for r in ranked.iter().take(3) {
            let c = r.candidate.as_ref().unwrap();
            for &n in &GROWTHS[1..] {
                let variant = Candidate {
                    origin: format!("{}, finer growth", c.origin),
                    ..c.with_growth(Some(n))
                };
                if !finer.contains(&variant)
                    && !replayed
                        .iter()
                        .any(|r| r.candidate.as_ref() == Some(&variant))
                {
                    finer.push(variant);
                }
            }
        }
        if !finer.is_empty() {
            out!(
                "Replaying the best with finer growth: {} configurations ...",
                finer.len()
            );
            let module = replayer.build(&finer)?;
            let which: Vec<usize> = (0..finer.len()).collect();
            let outcomes = replayer.run(&module, script, &which)?;
            for (c, outcome) in finer.into_iter().zip(outcomes) {
                replayed.push(Replayed {
                    candidate: Some(c),
                    pages: base + outcome.pages,
                    outcome,
                });
            }
        }
    }
    Ok(replayed)
}

fn report(
    args: &Args,
    trace: &Trace,
    profile: &Profile,
    replayed: &[Replayed],
    base: usize,
) -> Result<(), Box<dyn Error>> {
    let best = choose(replayed);
    let r = &replayed[best];
    let chosen = r.candidate.as_ref().unwrap();
    let dlmalloc = replayed
        .iter()
        .find(|r| r.candidate.is_none())
        .expect("dlmalloc is replayed");
    let ready = |name: &str| {
        replayed
            .iter()
            .find(|r| r.candidate.as_ref().and_then(Candidate::ready_made) == Some(name))
    };
    let default = ready("lite_alloc::Default").expect("Default is replayed");
    let general = ready("lite_alloc::General");

    match chosen.ready_made() {
        Some(name) => out!(
            "\nRecommended: {name}, a ready-made type (the same as {}):\n\n    #[global_allocator]\n    static ALLOC: {name} = {name}::new();\n",
            chosen.attribute()
        ),
        None => out!(
            "\nRecommended:\n\n    {}\n    pub struct MyAlloc;\n\n    #[global_allocator]\n    static ALLOC: MyAlloc = MyAlloc::new();\n",
            chosen.attribute()
        ),
    }
    let against = |other: &Replayed| {
        let (a, b) = (r.pages as f64, other.pages as f64);
        if other.pages == 0 && r.pages > 0 {
            // It grew no page: the replay's own memory served it.
            "n/a (it needed no page of its own)".into()
        } else if r.pages < other.pages {
            format!("{} fewer with this", percent(b - a, b))
        } else if r.pages == other.pages {
            "the same".into()
        } else {
            format!("{} more with this", percent(a - b, b))
        }
    };
    let own = if trace.memory.is_some() {
        format!(", the program's own {base} included")
    } else {
        String::new()
    };
    out!(
        "  predicted peak memory   {} pages ({}){own}",
        r.pages,
        amount(r.pages * PAGE)
    );
    let mut others = vec![("dlmalloc", dlmalloc)];
    if let Some(g) = general.filter(|g| !std::ptr::eq(*g, r)) {
        others.push(("lite_alloc::General", g));
    }
    if !std::ptr::eq(default, r) {
        others.push(("lite_alloc::Default", default));
    }
    for (name, other) in others {
        out!(
            "  {name:<23} {} pages{}: {}",
            other.pages,
            if other.outcome.failed > 0 {
                format!(" ({} requests failed)", other.outcome.failed)
            } else {
                String::new()
            },
            against(other)
        );
    }
    out!(
        "  lower bound             {} pages: {}the bytes live at the peak, with nothing lost at all",
        base + (profile.peak_requested).div_ceil(PAGE),
        if trace.memory.is_some() {
            "the program's own and "
        } else {
            ""
        }
    );
    out!(
        "  memory.grow calls       {}; dlmalloc: {}",
        r.outcome.grows,
        dlmalloc.outcome.grows
    );
    out!(
        "  replay time             {:.0} ms; dlmalloc: {:.0} ms (the allocator's work on this trace, memory.grow included)",
        r.outcome.micros as f64 / 1000.0,
        dlmalloc.outcome.micros as f64 / 1000.0
    );
    let rounding = r.outcome.rounding_at_peak.unwrap_or(0);
    out!(
        "  bin hit rate            {}; Default: {}",
        r.hit_rate(),
        default.hit_rate()
    );
    out!(
        "  rounding and headers    {} at the peak ({} of the live bytes); Default: {} ({})",
        amount(rounding),
        r.rounding(),
        amount(default.outcome.rounding_at_peak.unwrap_or(0)),
        default.rounding()
    );

    out!("\nWhy:");
    if let Some(name) = chosen.ready_made() {
        out!("  - this is {name}'s configuration: nothing to generate");
    }
    let with_bins_of = |bins: &[usize]| {
        replayed
            .iter()
            .filter(|o| {
                o.candidate.as_ref().is_some_and(|c| {
                    c.bins == bins
                        && c.large == chosen.large
                        && c.realloc == chosen.realloc
                        && c.growth == chosen.growth
                })
            })
            .min_by_key(|o| o.pages)
    };
    if chosen.bins.is_empty() {
        out!(
            "  - no bins: every block is a chunk, with a one-word header and rounded up to two words: {} at the peak ({} of the live bytes), and memory freed in one size serves every other",
            amount(rounding),
            r.rounding()
        );
    } else if chosen.large == Large::Coalesce {
        // Bins in front of chunks: against no bins, with the same options.
        let bins = candidates::list(&chosen.bins);
        let largest = chosen.bins.last().copied().unwrap_or(0);
        match with_bins_of(&[]) {
            Some(none) if none.pages > r.pages => out!(
                "  - bins [{bins}] in front of chunks ({}): blocks of up to {largest} bytes take no header and are rounded up to their bin only: {} pages fewer than no bins with the same options; {} of the live bytes lost to rounding and headers at the peak",
                chosen.origin,
                none.pages - r.pages,
                r.rounding()
            ),
            _ => out!(
                "  - bins [{bins}] in front of chunks ({}): the least memory of the candidates; {} of the live bytes lost to rounding and headers at the peak",
                chosen.origin,
                r.rounding()
            ),
        }
    } else if chosen.bins != DEFAULT_BINS {
        let bins = candidates::list(&chosen.bins);
        match with_bins_of(&DEFAULT_BINS) {
            Some(other) if other.pages > r.pages => out!(
                "  - bins [{bins}] ({}): they fit the sizes live at the peak better than Default's [{}]: {} pages fewer with the same options; {} of the live bytes lost to rounding and headers at the peak",
                chosen.origin,
                candidates::list(&DEFAULT_BINS),
                other.pages - r.pages,
                r.rounding()
            ),
            _ if chosen.bins.len() < DEFAULT_BINS.len() => out!(
                "  - bins [{bins}] ({}): as little memory as Default's [{}], with fewer bins (less code, a shorter lookup)",
                chosen.origin,
                candidates::list(&DEFAULT_BINS)
            ),
            _ => out!(
                "  - bins [{bins}] ({}): the least memory of the candidates; {} of the live bytes lost to rounding and headers at the peak",
                chosen.origin,
                r.rounding()
            ),
        }
    }
    let largest = chosen.bins.last().copied().unwrap_or(0);
    let freed_large = profile.large_frees(largest);
    match chosen.large {
        Large::Coalesce => {
            let plain = replayed
                .iter()
                .filter(|o| {
                    o.candidate
                        .as_ref()
                        .is_some_and(|c| c.large != Large::Coalesce && o.outcome.failed == 0)
                })
                .min_by_key(|o| o.pages);
            let saved = match plain {
                Some(p) if p.pages > r.pages => format!(
                    "{} pages ({}) fewer than the best configuration without it",
                    p.pages - r.pages,
                    percent((p.pages - r.pages) as f64, p.pages as f64)
                ),
                _ => "no configuration without it does better".into(),
            };
            out!(
                "  - large = coalesce: the program frees {} in blocks {}; free neighbours merge and chunks split, so memory freed in one size serves another: {saved}",
                amount(freed_large as usize),
                if largest == 0 {
                    "of many sizes".to_string()
                } else {
                    format!("over {largest} bytes")
                }
            );
        }
        Large::Reuse => out!(
            "  - large = reuse: the program frees {} in blocks over {largest} bytes, which the documented design never reuses (Default leaks {})",
            amount(freed_large as usize),
            amount(default.outcome.leaked.unwrap_or(0))
        ),
        Large::Leak if profile.large_frees(128) > 0 => out!(
            "  - large blocks are leaked: the program frees little in blocks over {largest} bytes"
        ),
        Large::Leak => {}
    }
    if chosen.realloc {
        out!(
            "  - realloc: {} reallocations grow a block; the last block carved, or one with free memory after it, grows in place, without a copy",
            profile.growing_reallocs
        );
    }
    if let Some(n) = chosen.growth {
        let variants: Vec<String> = replayed
            .iter()
            .filter_map(|o| {
                let c = o.candidate.as_ref()?;
                (*c != *chosen && c.with_growth(None) == chosen.with_growth(None)).then(|| {
                    format!(
                        "{}: {} pages, {} calls",
                        c.growth
                            .map_or("a page at a time".into(), |n| format!("1/{n}")),
                        o.pages,
                        o.outcome.grows
                    )
                })
            })
            .collect();
        out!(
            "  - growth = 1/{n}: live memory reaches {}; grown a page at a time, that would be about {} `memory.grow` calls (each a garbage collection in V8 at this size), {} with this{}",
            amount(profile.peak_requested),
            r.outcome.pages,
            r.outcome.grows,
            if variants.is_empty() {
                String::new()
            } else {
                format!(" (other growth: {})", variants.join("; "))
            }
        );
    }
    if r.outcome.failed > 0 {
        out!(
            "  - note: even this configuration ran out of wasm32's 4 GiB {} times",
            r.outcome.failed
        );
    }
    let dl = dlmalloc.pages as f64;
    out!(
        "\nEvery configuration replayed (predicted peak memory in 64 KiB pages{own}; hit rate: the allocations a bin's free list served, of those bins took; rounding: the bytes lost to rounding up and headers at the peak, of the bytes live then; `-`: not kept by dlmalloc, or no bins):\n"
    );
    out!(
        "  {:>6}  {:>10}  {:>6}  {:>9}  {:>8}  {:>8}  configuration",
        "pages",
        "vs dlmalloc",
        "grows",
        "replay ms",
        "hit rate",
        "rounding"
    );
    let mut order: Vec<usize> = (0..replayed.len()).collect();
    // dlmalloc first, then the candidates in the order replayed.
    order.sort_by_key(|&i| replayed[i].candidate.is_some());
    for i in order {
        let o = &replayed[i];
        out!(
            "  {:>6}  {:>10}  {:>6}  {:>9.0}  {:>8}  {:>8}  {}{}{}",
            o.pages,
            if o.candidate.is_none() {
                "-".to_string()
            } else if dl == 0.0 {
                // dlmalloc grew no page (the replay's own memory served it).
                "n/a".to_string()
            } else {
                format!("{:+.1}%", (o.pages as f64 - dl) / dl * 100.0)
            },
            o.outcome.grows,
            o.outcome.micros as f64 / 1000.0,
            o.hit_rate(),
            o.rounding(),
            o.name(),
            if o.outcome.failed > 0 {
                format!("  ({} requests failed)", o.outcome.failed)
            } else {
                String::new()
            },
            if i == best { "  <- recommended" } else { "" }
        );
    }
    if let Some(svg) = &args.svg {
        let title = format!(
            "Request sizes of {}",
            args.trace.file_name().unwrap_or_default().to_string_lossy()
        );
        std::fs::write(
            svg,
            plot::histogram(profile, &chosen.bins, &DEFAULT_BINS, &title),
        )
        .map_err(|e| format!("cannot write the histogram to {}: {e}", svg.display()))?;
        out!("\nWrote the size histogram to {}", svg.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_their_own_unit() {
        assert_eq!(amount(0), "0 B");
        assert_eq!(amount(1023), "1023 B");
        assert_eq!(amount(1536), "1.5 KiB");
        assert_eq!(amount(5 << 20), "5.0 MiB");
    }

    /// A histogram that cannot be written is refused before the replays,
    /// with the path in the message.
    #[test]
    fn the_histogram_path_is_checked_first() {
        let dir = std::env::temp_dir().join(format!("lite-alloc-tune-svg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(svg_destination(&dir.join("sizes.svg")).is_ok());
        assert!(
            svg_destination(Path::new("sizes.svg")).is_ok(),
            "the current directory"
        );
        let error = svg_destination(&dir).unwrap_err();
        assert!(error.contains("a directory") && error.contains(&*dir.to_string_lossy()));
        let missing = dir.join("no such dir/sizes.svg");
        let error = svg_destination(&missing).unwrap_err();
        assert!(error.contains("there is no directory") && error.contains("no such dir"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Scripts that runs stopped from outside left behind go once they are
    /// a day old; newer ones (another run's, replaying now) and other files
    /// stay.
    #[test]
    fn stale_scripts_are_swept() {
        let dir =
            std::env::temp_dir().join(format!("lite-alloc-tune-sweep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let now = std::time::SystemTime::now();
        let made = |name: &str, age: u64| {
            let path = dir.join(name);
            let file = std::fs::File::create(&path).unwrap();
            file.set_modified(now - std::time::Duration::from_secs(age))
                .unwrap();
            path
        };
        let old = made("1.script", 25 * 3600);
        let running = made("2.script", 3600);
        let other = made("notes.txt", 25 * 3600);
        sweep_scripts(&dir, now);
        assert!(!old.exists());
        assert!(running.exists() && other.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
