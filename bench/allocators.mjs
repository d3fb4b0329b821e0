// What the benchmark compares: each allocator is one feature of the crate
// `lite-alloc-bench-allocators` (bench/allocators), which declares the module's
// global allocator. No feature: Rust's default, dlmalloc.

/// `tunedFor`: what lite-alloc-tune recommends for that real program
/// (scripts/tune.sh), a case study in the report. `leaks`: never frees, so only a lower bound, not a contender. `ancestor`:
/// the documented design as published, ours, so not counted as a peer.
/// `inPlace`: ours with in-place realloc. `largeReuse`: ours with
/// `large = reuse` (or `coalesce`). `general`: `lite_alloc::General`, checked
/// against the targets. `frontier`: a design of the general-purpose line,
/// a row of the report's frontier table (code, speed, memory per design).
/// `real: false`: not run on the real programs (never frees,
/// or too slow for them: lol_alloc's free list is walked on every request).
/// `wasiWithoutBuildScript`: a crate whose build script cargo rejects on
/// wasm32-wasip1 (see build.mjs, `buildReal`).
export const ALLOCATORS = [
  { id: 'lite-default', label: 'lite_alloc::Default', features: ['lite-default'], ours: true },
  { id: 'lite-default-realloc', label: 'lite_alloc::Default, `realloc`', features: ['lite-default-realloc'], ours: true, inPlace: true, real: false },
  { id: 'lite-reuse', label: 'lite-alloc, `large = reuse`', features: ['lite-reuse'], ours: true, largeReuse: true, real: false },
  { id: 'lite-reuse-realloc', label: 'lite-alloc, `large = reuse, realloc`', features: ['lite-reuse-realloc'], ours: true, largeReuse: true, inPlace: true },
  { id: 'lite-stats', label: 'lite-alloc, `stats`', features: ['lite-stats'], ours: true, real: false },
  { id: 'lite-heap-base', label: 'lite-alloc, `heap_base`', features: ['lite-heap-base'], ours: true, real: false },
  { id: 'lite-general', label: 'lite_alloc::General', features: ['lite-general'], ours: true, largeReuse: true, inPlace: true, general: true, frontier: true },
  { id: 'lite-small-bin', label: 'lite-alloc, a bin of 8 B, `large = coalesce`', features: ['lite-small-bin'], ours: true, largeReuse: true, inPlace: true, frontier: true },
  { id: 'lite-coalesce', label: 'lite-alloc, five bins, `large = coalesce`', features: ['lite-coalesce'], ours: true, largeReuse: true, inPlace: true, frontier: true },
  { id: 'lite-bins-reuse', label: 'lite-alloc, five bins, `large = reuse`', features: ['lite-bins-reuse'], ours: true, largeReuse: true, inPlace: true, frontier: true },
  { id: 'tuned-json', label: 'lite-alloc, tuned for `json`', features: ['tuned-json'], ours: true, largeReuse: true, inPlace: true, tunedFor: 'json' },
  { id: 'tuned-regex', label: 'lite-alloc, tuned for `regex`', features: ['tuned-regex'], ours: true, largeReuse: true, inPlace: true, tunedFor: 'regex' },
  { id: 'tuned-syn', label: 'lite-alloc, tuned for `syn`', features: ['tuned-syn'], ours: true, largeReuse: true, inPlace: true, tunedFor: 'syn' },
  { id: 'lite-tuned', label: 'lite-alloc, tuned', features: ['lite-tuned'], ours: true, largeReuse: true, inPlace: true },
  // The checked mode (`check`): what checking costs. `checked`: not in the
  // chart or the targets, which are about the allocators as shipped.
  { id: 'lite-default-checked', label: 'lite_alloc::Default, `check`', features: ['lite-default-checked'], ours: true, checked: true },
  { id: 'lite-general-checked', label: 'lite_alloc::General, `check`', features: ['lite-general-checked'], ours: true, checked: true },
  { id: 'dlmalloc', label: 'dlmalloc (Rust default)', features: [] },
  { id: 'talc', label: 'talc 5.1', features: ['talc'] },
  { id: 'rlsf', label: 'rlsf 0.2 GlobalTlsf', features: ['rlsf'] },
  { id: 'rlsf-small', label: 'rlsf 0.2 SmallGlobalTlsf', features: ['rlsf-small'] },
  // wasmalloc: size-class pages in the manner of mimalloc, wasm32 only.
  { id: 'wasmalloc', label: 'wasmalloc 0.1', features: ['wasmalloc'], wasiWithoutBuildScript: 'wasmalloc' },
  { id: 'wee-alloc', label: 'wee_alloc 0.4.5', features: ['wee-alloc'] },
  { id: 'lol-free-list', label: 'lol_alloc 0.4 FreeList', features: ['lol-free-list'], real: false },
  { id: 'published', label: 'lite-alloc 0.1.0 (published)', features: ['published'], ancestor: true },
  { id: 'published-realloc', label: 'lite-alloc 0.1.0, `realloc`', features: ['published-realloc'], ancestor: true, real: false },
  { id: 'lol-leaking', label: 'lol_alloc 0.4 Leaking', features: ['lol-leaking'], leaks: true, real: false },
  { id: 'bump', label: 'bump pointer (lower bound)', features: ['bump'], leaks: true, real: false },
];

/// Must match the exports of bench/wasm (`run_<name>`, `ops_<name>`). The
/// first `CORE` are the micro-benchmarks over which the geometric mean is
/// taken; `zeroed` and `long_running` measure what the options beyond the
/// documented design are for; `RATCHET` are the patterns that users of
/// other allocators reported needing many times the memory for, reported
/// beside the mean (time) and checked for their peak pages.
export const WORKLOADS = ['cycle', 'sequential', 'fragmentation', 'vec_push', 'btree', 'small_objects', 'zeroed', 'long_running', 'ratchet', 'random_actions'];
export const CORE = 6;
export const RATCHET = ['ratchet', 'random_actions'];

/// The real programs (bench/real, wasm32-wasip1 under node:wasi): the
/// argument that selects each, and its input file.
export const REAL_PROGRAMS = [
  { name: 'json', what: 'serde_json round trip of an 18.8 MB document', input: 'json' },
  { name: 'regex', what: 'thirty regexes over the same 18.8 MB of text', input: 'json' },
  { name: 'syn', what: "syn parses a 142 KB Rust file and prints it back, ten times", input: 'syn' },
  { name: 'kv', what: 'a key-value cache: a million operations, values of 1 B to 64 KiB', input: null },
];

/// The firmware probe's features (bench/firmware-probe).
export const FIRMWARE_ALLOCATORS = [
  { id: 'lite-default', label: 'lite_alloc::Default (spin lock)', feature: 'lite-default', ours: true },
  { id: 'lite-cs', label: 'lite-alloc, `sync = critical_section`', feature: 'lite-cs', ours: true },
  { id: 'lite-cs-realloc', label: 'lite-alloc, `sync = critical_section, realloc`', feature: 'lite-cs-realloc', ours: true },
  // General's configuration (its attribute's arguments, whatever they are).
  { id: 'lite-general-cs', label: 'lite_alloc::General\'s configuration, `sync = critical_section`', feature: 'lite-general-cs', ours: true },
  { id: 'llff', label: 'embedded-alloc 0.7 LlffHeap', feature: 'llff' },
  { id: 'tlsf', label: 'embedded-alloc 0.7 TlsfHeap', feature: 'tlsf' },
  { id: 'talc', label: 'talc 5.1 (spin lock)', feature: 'talc' },
  { id: 'linked-list', label: 'linked_list_allocator 0.10 LockedHeap', feature: 'linked-list' },
];

/// The targets, checked from this run's numbers (bench/report.mjs,
/// `checkTargets`). Ratios are to dlmalloc's medians in the same run.
export const TARGETS = {
  /// `lite_alloc::General`'s allocator code after wasm-opt -Oz, at most.
  generalCodeAtMost: 1000,
  /// On every real program: General's time and peak pages at most these
  /// times dlmalloc's, and fewer `memory.grow` calls than dlmalloc.
  generalRealTimeAtMost: 0.95,
  generalRealPagesAtMost: 1.0,
  /// General's geometric mean over the `CORE` micro-benchmarks, at most.
  generalGeomeanAtMost: 0.6,
  /// General's peak pages on each of `RATCHET`, at most this times dlmalloc's.
  generalRatchetPagesAtMost: 1.1,
  /// Firmware (thumbv7em, `sync = critical_section`): `.text` of General's
  /// configuration under this, and the allocator's own code (memcpy and the
  /// other mem* builtins excluded) of Default's configuration under this.
  firmware: { general: { id: 'lite-general-cs', textBelow: 900 }, default: { id: 'lite-cs', ownBelow: 350 } },
  /// Nothing else worse: every other row of ours against the baseline
  /// (bench/results/baseline.json, a full run of the benchmark before the
  /// work on these targets, its commit inside): code size no larger, micro
  /// geometric mean within `noise` of it, peak pages on the `CORE`
  /// micro-benchmarks and the real programs no more; firmware `.text` no
  /// larger.
  baseline: 'baseline.json',
  noise: 0.1,
};
