//! Real programs, for the benchmark: each drives real crates the way an
//! application would, and prints a checksum of its output, which must be the
//! same under every allocator.
//!
//!   real json FILE      parse a JSON document into `serde_json::Value` and
//!                       serialise it back
//!   real regex FILE     thirty regexes over the file's text
//!   real syn FILE       parse a Rust file with syn and print it back, ten times
//!   real kv             a key-value cache: a million gets and puts, values of
//!                       1 B to 64 KiB
//!
//! Built for `wasm32-wasip1` and run under `node:wasi` by `bench/run.mjs`;
//! with the `record` feature, each run streams a trace of its allocations to
//! `/out/<program>.trace` (for `lite-alloc-tune`) as it goes, through the
//! recorder's fixed buffer.

use std::collections::HashMap;

use quote::ToTokens;

/// With `record`: the target's default allocator, every request recorded.
#[cfg(feature = "record")]
#[global_allocator]
static RECORDER: lite_alloc::record::Recorder<std::alloc::System> =
    lite_alloc::record::Recorder::new(std::alloc::System);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // First thing: from here on the trace streams out to the file (what
    // the runtime allocated before main is in the recorder's buffer).
    #[cfg(feature = "record")]
    RECORDER
        .stream_to_file(
            std::fs::File::create(format!("/out/{}.trace", args[1]))
                .expect("a directory preopened at /out"),
        )
        .expect("writing the trace to /out");
    let file = || std::fs::read_to_string(&args[2]).expect("the input file");
    let checksum = match args.get(1).map(String::as_str) {
        Some("json") => json(&file()),
        Some("regex") => regexes(&file()),
        Some("syn") => syn_roundtrip(&file()),
        Some("kv") => kv_cache(),
        _ => panic!("usage: real json|regex|syn FILE, or real kv"),
    };
    println!("{checksum}");
    if let Some(stats) = lite_alloc_bench_allocators::report() {
        eprintln!("{stats:?}");
    }
    #[cfg(feature = "record")]
    RECORDER.finish().expect("writing the trace to /out");
}

/// FNV-1a, to fold output into a checksum.
fn fnv(bytes: &[u8], mut hash: u64) -> u64 {
    for &b in bytes {
        hash = (hash ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    hash
}

const FNV: u64 = 0xcbf2_9ce4_8422_2325;

/// A JSON round trip: the whole document becomes a tree of values (many
/// small strings, vectors and maps), then one long string again.
fn json(text: &str) -> u64 {
    let value: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
    let out = serde_json::to_string(&value).expect("serialisable");
    fnv(out.as_bytes(), FNV) ^ out.len() as u64
}

/// Thirty regexes, compiled and run over the text: match counts, and for
/// some the matched strings counted in a map.
fn regexes(text: &str) -> u64 {
    const PATTERNS: [&str; 30] = [
        r"[A-Za-z]+",
        r"\d+",
        r"\d+\.\d+(\.\d+)?",
        r#""[^"]*""#,
        r#"https?://[^\s"]+"#,
        r"[a-z]+_[a-z_]+",
        r"[A-Z][a-z]+[A-Z][A-Za-z]*",
        r"\b(true|false|null)\b",
        r#""version_added":\s*"([^"]+)""#,
        r#""version_removed":\s*"([^"]+)""#,
        r#""(chrome|firefox|safari|edge|opera)[a-z_]*""#,
        r"(?i)deprecated",
        r"(?i)experimental",
        r"\{\s*\}",
        r"\[\s*\]",
        r"[aeiou]{3,}",
        r"\w+ing\b",
        r"\b\w{12,}\b",
        r"[^\x00-\x7F]+",
        r"\s{2,}",
        r"[,:]\s*\d",
        r"\bapi\.[A-Za-z]+",
        r"css\.[a-z-]+",
        r"#[a-z0-9-]+",
        r"\b[A-Z]{2,}\b",
        r"(?m)^\s*\}",
        r#""__compat""#,
        r"mdn_url",
        r"spec_url",
        r"\b(\w+)-(\w+)-(\w+)\b",
    ];
    let mut hash = FNV;
    for (i, pattern) in PATTERNS.iter().enumerate() {
        let re = regex::Regex::new(pattern).expect("a valid pattern");
        if re.captures_len() > 1 && i % 2 == 0 {
            let mut counts: HashMap<String, u64> = HashMap::new();
            for captures in re.captures_iter(text) {
                if let Some(group) = captures.get(1) {
                    *counts.entry(group.as_str().to_owned()).or_default() += 1;
                }
            }
            let mut entries: Vec<_> = counts.into_iter().collect();
            entries.sort();
            for (key, count) in entries {
                hash = fnv(key.as_bytes(), hash) ^ count;
            }
        } else {
            hash = hash.wrapping_mul(31) ^ re.find_iter(text).count() as u64;
        }
    }
    hash
}

/// A Rust file parsed into a syntax tree and printed back, ten times.
fn syn_roundtrip(source: &str) -> u64 {
    let mut hash = FNV;
    for _ in 0..10 {
        let file = syn::parse_file(source).expect("valid Rust");
        let printed = file.to_token_stream().to_string();
        hash = fnv(printed.as_bytes(), hash) ^ file.items.len() as u64;
    }
    hash
}

/// A cache of 4096 keys: a million operations, 30% puts of values of
/// log-uniform sizes from 1 B to 64 KiB (replacing the key's value), 70%
/// gets.
fn kv_cache() -> u64 {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut cache: HashMap<u32, Vec<u8>> = HashMap::new();
    let mut hash = 0u64;
    for op in 0..1_000_000u64 {
        let key = (next() % 4096) as u32;
        if next() % 10 < 3 {
            let log = next() % 17;
            let len = 1 + (next() % (1 << log)) as usize;
            cache.insert(key, vec![op as u8; len]);
        } else if let Some(value) = cache.get(&key) {
            hash = hash.wrapping_add(value.len() as u64 ^ value[value.len() / 2] as u64);
        }
    }
    hash ^ cache.len() as u64
}
