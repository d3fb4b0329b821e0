// What the benchmark compares: each allocator is one feature of the crate
// `lite-alloc-bench-allocators` (bench/allocators), which declares the module's
// global allocator. No feature: Rust's default, dlmalloc.

/// `tunedFor`: what lite-alloc-tune recommends for that real program
/// (scripts/tune.sh), a case study in the report. `leaks`: never frees, so only a lower bound, not a contender. `ancestor`:
/// the documented design as published, ours, so not counted as a peer.
/// `inPlace`: ours with in-place realloc. `largeReuse`: ours with
/// `large = reuse` (or `coalesce`). `general`: checked against issue 7's
/// targets. `real: false`: not run on the real programs (never frees,
/// or too slow for them: lol_alloc's free list is walked on every request).
export const ALLOCATORS = [
  { id: 'lite-default', label: 'lite_alloc::Default', features: ['lite-default'], ours: true },
  { id: 'lite-default-realloc', label: 'lite_alloc::Default, `realloc`', features: ['lite-default-realloc'], ours: true, inPlace: true, real: false },
  { id: 'lite-reuse', label: 'lite-alloc, `large = reuse`', features: ['lite-reuse'], ours: true, largeReuse: true, real: false },
  { id: 'lite-reuse-realloc', label: 'lite-alloc, `large = reuse, realloc`', features: ['lite-reuse-realloc'], ours: true, largeReuse: true, inPlace: true },
  { id: 'lite-stats', label: 'lite-alloc, `stats`', features: ['lite-stats'], ours: true, real: false },
  { id: 'lite-heap-base', label: 'lite-alloc, `heap_base`', features: ['lite-heap-base'], ours: true, real: false },
  { id: 'lite-general', label: 'lite_alloc::General', features: ['lite-general'], ours: true, largeReuse: true, inPlace: true, general: true },
  { id: 'lite-coalesce', label: 'lite-alloc, five bins, `large = coalesce`', features: ['lite-coalesce'], ours: true, largeReuse: true, inPlace: true },
  { id: 'lite-bins-reuse', label: 'lite-alloc, five bins, `large = reuse`', features: ['lite-bins-reuse'], ours: true, largeReuse: true, inPlace: true },
  { id: 'tuned-json', label: 'lite-alloc, tuned for `json`', features: ['tuned-json'], ours: true, largeReuse: true, inPlace: true, tunedFor: 'json' },
  { id: 'tuned-regex', label: 'lite-alloc, tuned for `regex`', features: ['tuned-regex'], ours: true, largeReuse: true, inPlace: true, tunedFor: 'regex' },
  { id: 'tuned-syn', label: 'lite-alloc, tuned for `syn`', features: ['tuned-syn'], ours: true, largeReuse: true, inPlace: true, tunedFor: 'syn' },
  { id: 'lite-tuned', label: 'lite-alloc, tuned', features: ['lite-tuned'], ours: true, largeReuse: true, inPlace: true },
  { id: 'dlmalloc', label: 'dlmalloc (Rust default)', features: [] },
  { id: 'talc', label: 'talc 5.1', features: ['talc'] },
  { id: 'rlsf', label: 'rlsf 0.2 GlobalTlsf', features: ['rlsf'] },
  { id: 'rlsf-small', label: 'rlsf 0.2 SmallGlobalTlsf', features: ['rlsf-small'] },
  { id: 'wee-alloc', label: 'wee_alloc 0.4.5', features: ['wee-alloc'] },
  { id: 'lol-free-list', label: 'lol_alloc 0.4 FreeList', features: ['lol-free-list'], real: false },
  { id: 'published', label: 'lite-alloc 0.1.0 (published)', features: ['published'], ancestor: true },
  { id: 'published-realloc', label: 'lite-alloc 0.1.0, `realloc`', features: ['published-realloc'], ancestor: true, real: false },
  { id: 'lol-leaking', label: 'lol_alloc 0.4 Leaking', features: ['lol-leaking'], leaks: true, real: false },
  { id: 'bump', label: 'bump pointer (lower bound)', features: ['bump'], leaks: true, real: false },
];

/// Must match the exports of bench/wasm (`run_<name>`, `ops_<name>`). The
/// first `CORE` are issue 4's, over which the geometric mean is taken; the
/// others measure what the options beyond the documented design are for.
export const WORKLOADS = ['cycle', 'sequential', 'fragmentation', 'vec_push', 'btree', 'small_objects', 'zeroed', 'long_running'];
export const CORE = 6;

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
  { id: 'llff', label: 'embedded-alloc 0.7 LlffHeap', feature: 'llff' },
  { id: 'tlsf', label: 'embedded-alloc 0.7 TlsfHeap', feature: 'tlsf' },
  { id: 'talc', label: 'talc 5.1 (spin lock)', feature: 'talc' },
  { id: 'linked-list', label: 'linked_list_allocator 0.10 LockedHeap', feature: 'linked-list' },
];

/// The targets of issue 4, checked from this run's numbers.
export const TARGETS = {
  /// Allocator code (after wasm-opt -Oz) of `Default` at most the published design's.
  defaultSizeAtMost: 'published',
  /// With in-place realloc, smaller than this peer's.
  reallocSizeBelow: 'lol-free-list',
  /// Geometric mean of time ratios to dlmalloc at most this.
  geomeanAtMost: 0.5,
  /// Workloads on which one of ours must be the fastest of all that free.
  fastestOn: ['cycle', 'sequential', 'small_objects'],
  /// In-place realloc at least as fast as this peer on vec_push.
  vecPushAtLeastAsFastAs: 'talc',
  /// Peak pages within this factor of dlmalloc's on every workload (with
  /// large-block reuse).
  pagesWithin: 1.5,
  /// Issue 7, for `lite_alloc::General`: on each real program, time and peak
  /// pages relative to dlmalloc at most these; allocator code (-Oz) below.
  generalTimeAtMost: 1.0,
  generalPagesAtMost: 1.1,
  generalCodeBelow: 1000,
};
