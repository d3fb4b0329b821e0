//! `cargo run -p lite-alloc-tune -- TRACE [--svg FILE] [--also ARGS]... [--workdir DIR]`
//!
//! Reads a trace recorded with `lite_alloc::record::Recorder`, replays it
//! against candidate configurations with the real allocator, and prints the
//! `#[lite_alloc(...)]` line to use, its predicted peak memory, bin hit rate
//! and rounding next to `lite_alloc::Default`'s, and why. `--svg` also writes
//! the size histogram with the bins chosen; `--also "bins = [...], ..."`
//! replays a configuration of yours beside the candidates.

mod analysis;
mod candidates;
mod evaluate;
mod plot;

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use lite_alloc_tune::replay::{Outcome, PAGE};
use lite_alloc_tune::trace::Trace;

use analysis::Profile;
use candidates::{Candidate, DEFAULT_BINS};

struct Args {
    trace: PathBuf,
    svg: Option<PathBuf>,
    also: Vec<String>,
    workdir: PathBuf,
}

fn args() -> Result<Args, String> {
    let usage = "usage: lite-alloc-tune TRACE [--svg FILE] [--also \"ATTRIBUTE ARGUMENTS\"]... [--workdir DIR]";
    let mut trace = None;
    let mut svg = None;
    let mut also = Vec::new();
    let mut workdir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/lite-alloc-tune");
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--svg") => svg = Some(args.next().ok_or(usage)?.into()),
            Some("--workdir") => workdir = args.next().ok_or(usage)?.into(),
            Some("--also") => {
                also.push(args.next().ok_or(usage)?.into_string().map_err(|_| usage)?)
            }
            Some("-h" | "--help") => return Err(usage.into()),
            _ if trace.is_none() => trace = Some(PathBuf::from(arg)),
            _ => return Err(usage.into()),
        }
    }
    Ok(Args {
        trace: trace.ok_or(usage)?,
        svg,
        also,
        workdir,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn pages(bytes: usize) -> usize {
    bytes.div_ceil(PAGE)
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn percent(part: f64, whole: f64) -> String {
    if whole == 0.0 {
        "0%".into()
    } else {
        format!("{:.1}%", part / whole * 100.0)
    }
}

fn hit_rate(o: &Outcome) -> String {
    percent(o.bin_hits as f64, (o.bin_hits + o.bin_misses) as f64)
}

/// How much less peak memory `large = coalesce` must reach, against the
/// best configuration without it, to be worth its code (about 1 KB more on
/// wasm32).
const COALESCE_SAVES: f64 = 0.05;

/// The candidate to recommend: the least peak memory, except that one with
/// fewer bins (less code), then doubling bins (the fastest lookup), wins
/// when its peak is within a page or 1% of the least. Coalescing candidates
/// are only chosen when they save [`COALESCE_SAVES`] of the best other one.
fn choose(candidates: &[Candidate], outcomes: &[Outcome]) -> usize {
    let ok: Vec<usize> = (0..candidates.len())
        .filter(|&i| outcomes[i].failed == 0)
        .collect();
    let pool = if ok.is_empty() {
        (0..candidates.len()).collect()
    } else {
        ok
    };
    let best_of = |coalesce: bool| {
        let pool: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&i| candidates[i].coalesce == coalesce)
            .collect();
        let least = pool.iter().map(|&i| outcomes[i].peak_bytes).min()?;
        let tolerance = PAGE.max(least / 100);
        pool.into_iter()
            .filter(|&i| outcomes[i].peak_bytes <= least + tolerance)
            .min_by_key(|&i| {
                (
                    candidates[i].bins.len(),
                    !candidates[i].doubling(),
                    outcomes[i].peak_bytes,
                )
            })
    };
    match (best_of(false), best_of(true)) {
        (Some(plain), Some(coalescing))
            if (outcomes[coalescing].peak_bytes as f64)
                < outcomes[plain].peak_bytes as f64 * (1.0 - COALESCE_SAVES) =>
        {
            coalescing
        }
        (Some(plain), _) => plain,
        (None, coalescing) => coalescing.expect("the pool is never empty"),
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let args = args()?;
    let trace = Trace::read(&args.trace)?;
    let profile = Profile::of(&trace);
    if profile.allocations == 0 {
        return Err("the trace holds no allocation".into());
    }
    println!(
        "Trace {}: {} events ({} allocations, {} frees, {} reallocs), recorded with {}-bit pointers{}",
        args.trace.display(),
        trace.events.len(),
        profile.allocations,
        profile.frees,
        profile.reallocs,
        trace.pointer_bytes as u32 * 8,
        if trace.truncated {
            " (truncated: the recording ran out of memory)"
        } else {
            ""
        }
    );
    println!(
        "Requests: half are at most {} B, 90% at most {} B, 99% at most {} B; the largest {} B; {} aligned beyond 16. Live at the peak: {}.",
        profile.percentile(0.5),
        profile.percentile(0.9),
        profile.percentile(0.99),
        profile.largest,
        profile.over_aligned,
        mib(profile.peak_requested)
    );
    let mut candidates = candidates::for_profile(&profile);
    for arguments in &args.also {
        candidates.push(Candidate::given(arguments)?);
    }
    println!(
        "Replaying {} candidate configurations with the real allocator ...",
        candidates.len()
    );
    let outcomes = evaluate::evaluate(
        &candidates,
        &std::fs::canonicalize(&args.trace)?,
        &args.workdir,
    )?;
    let best = choose(&candidates, &outcomes);
    let (chosen, o, d) = (&candidates[best], &outcomes[best], &outcomes[0]);

    println!("\nRecommended:\n\n    {}\n", chosen.attribute());
    println!(
        "  predicted peak memory   {} pages ({}); lite_alloc::Default: {} pages ({}), {}",
        pages(o.peak_bytes),
        mib(o.peak_bytes),
        pages(d.peak_bytes),
        mib(d.peak_bytes),
        if o.peak_bytes < d.peak_bytes {
            format!(
                "{} less",
                percent((d.peak_bytes - o.peak_bytes) as f64, d.peak_bytes as f64)
            )
        } else {
            "the same".into()
        }
    );
    println!(
        "  bin hit rate            {}; Default: {}",
        hit_rate(o),
        hit_rate(d)
    );
    println!(
        "  lost to rounding        {} at the peak ({} of the live bytes); Default: {} ({})",
        mib(o.rounding_at_peak),
        percent(o.rounding_at_peak as f64, o.peak_requested as f64),
        mib(d.rounding_at_peak),
        percent(d.rounding_at_peak as f64, d.peak_requested as f64),
    );

    println!("\nWhy:");
    if chosen.bins.is_empty() {
        println!(
            "  - no bins: every block is a chunk with a one-word header, in steps of two words, so nothing is lost rounding up to a bin, and memory freed in one size serves every other"
        );
    } else if chosen.bins != DEFAULT_BINS {
        // Against Default's bins with the same options, when it was replayed.
        let same_options = candidates.iter().zip(&outcomes).find(|(c, _)| {
            c.bins == DEFAULT_BINS
                && c.large_reuse == chosen.large_reuse
                && c.coalesce == chosen.coalesce
                && c.realloc == chosen.realloc
                && c.growth == chosen.growth
        });
        let bins = candidates::list(&chosen.bins);
        match same_options {
            Some((_, other)) if other.peak_bytes > o.peak_bytes + PAGE => println!(
                "  - bins [{bins}] ({}): they fit the sizes live at the peak better than Default's [{}]: {} pages less with the same options",
                chosen.origin,
                candidates::list(&DEFAULT_BINS),
                pages(other.peak_bytes) - pages(o.peak_bytes)
            ),
            _ if chosen.bins.len() < DEFAULT_BINS.len() => println!(
                "  - bins [{bins}] ({}): as little memory as Default's [{}], with fewer bins (less code, a shorter lookup)",
                chosen.origin,
                candidates::list(&DEFAULT_BINS)
            ),
            _ => println!(
                "  - bins [{bins}] ({}): the least memory of the candidates",
                chosen.origin
            ),
        }
    }
    let largest = chosen.bins.last().copied().unwrap_or(0);
    let freed_large = profile.large_frees(largest);
    if chosen.coalesce && chosen.bins.is_empty() {
        println!(
            "  - large = coalesce: the program frees {} in blocks of many sizes; free neighbours merge and chunks split: at least {:.0}% less than any configuration with bins and no coalescing, for about 800 B more code than `large = reuse`",
            mib(freed_large as usize),
            COALESCE_SAVES * 100.0
        );
    } else if chosen.coalesce {
        // Against the same configuration without coalescing, when replayed.
        let plain = candidates.iter().zip(&outcomes).find(|(c, _)| {
            c.bins == chosen.bins
                && !c.coalesce
                && c.realloc == chosen.realloc
                && c.growth == chosen.growth
        });
        let saved = match plain {
            Some((_, p)) if p.peak_bytes > o.peak_bytes => format!(
                "{} pages less than `large = reuse` with the same bins",
                pages(p.peak_bytes) - pages(o.peak_bytes)
            ),
            _ => format!(
                "at least {:.0}% less than any configuration without it",
                COALESCE_SAVES * 100.0
            ),
        };
        println!(
            "  - large = coalesce: the program frees {} in blocks over {largest} bytes; free neighbours merge and blocks split, so one size's memory serves another: {saved}, for about 1 KB more code",
            mib(freed_large as usize)
        );
    } else if chosen.large_reuse {
        println!(
            "  - large = reuse: the program frees {} in blocks over {largest} bytes, which the documented design never reuses (Default leaks {})",
            mib(freed_large as usize),
            mib(d.leaked)
        );
    } else if profile.large_frees(128) > 0 {
        println!(
            "  - large blocks are leaked: the program frees little in blocks over {largest} bytes"
        );
    }
    if chosen.realloc {
        println!(
            "  - realloc: {} reallocations grow a block; the last block carved grows in place, without a copy",
            profile.growing_reallocs
        );
    }
    if chosen.growth {
        println!(
            "  - growth = 1/{}: the program's live memory reaches {}; grown a wasm page at a time, that is {} `memory.grow` calls, each a garbage collection in V8 at this size; by a thirty-second of what it has, a few dozen",
            candidates::GROWTH,
            mib(profile.peak_requested),
            pages(o.peak_bytes)
        );
    }
    if o.failed > 0 {
        println!(
            "  - note: even this configuration ran out of the simulated 4 GiB {} times",
            o.failed
        );
    }
    println!(
        "\nEvery candidate (peak memory in 64 KiB pages, replayed over a simulated wasm memory):\n"
    );
    println!(
        "  {:>6}  {:>9}  {:>9}  attribute arguments",
        "pages", "hit rate", "rounding"
    );
    for (i, (c, o)) in candidates.iter().zip(&outcomes).enumerate() {
        println!(
            "  {:>6}  {:>9}  {:>9}  {}{}{}",
            pages(o.peak_bytes),
            hit_rate(o),
            percent(o.rounding_at_peak as f64, o.peak_requested as f64),
            if c.arguments().is_empty() {
                "(none: lite_alloc::Default)".into()
            } else {
                c.arguments()
            },
            if o.failed > 0 {
                format!("  ({} requests failed)", o.failed)
            } else {
                String::new()
            },
            if i == best { "  <- recommended" } else { "" }
        );
    }
    if let Some(svg) = args.svg {
        let title = format!(
            "Request sizes of {}",
            args.trace.file_name().unwrap_or_default().to_string_lossy()
        );
        std::fs::write(
            &svg,
            plot::histogram(&profile, &chosen.bins, &DEFAULT_BINS, &title),
        )?;
        println!("\nWrote the size histogram to {}", svg.display());
    }
    Ok(())
}
