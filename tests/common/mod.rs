//! Helpers shared by the integration tests: a simulated wasm memory that other
//! code can grow too, and a shadow model that drives an allocator through
//! random operations while tracking every live block.

use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod misuses;
pub mod sim;

/// The workspace's root, for the tests that read its files or build its
/// crates.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies in the workspace")
        .to_path_buf()
}

/// Where the model's choices come from: a small deterministic generator
/// (xorshift64*), so failures replay, or a fuzzer's bytes.
pub struct Rng<'a> {
    state: u64,
    /// The fuzzer's input not yet used, when choices come from one.
    bytes: Option<&'a [u8]>,
}

impl Rng<'static> {
    pub fn new(seed: u64) -> Self {
        Rng {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            bytes: None,
        }
    }
}

impl<'a> Rng<'a> {
    /// Choices read from `bytes`, two at a time; once they run out, every
    /// choice is 0 and [`exhausted`](Self::exhausted) is true.
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        Rng {
            state: 0,
            bytes: Some(bytes),
        }
    }

    /// Whether a fuzzer's input is used up.
    pub fn exhausted(&self) -> bool {
        self.bytes.is_some_and(|bytes| bytes.is_empty())
    }

    pub fn next_u64(&mut self) -> u64 {
        if let Some(bytes) = &mut self.bytes {
            let (word, rest) = bytes.split_at(bytes.len().min(2));
            *bytes = rest;
            return word.iter().fold(0, |acc, &b| acc << 8 | b as u64);
        }
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// What a run of [`check_random_ops`] saw.
#[derive(Debug, Default)]
pub struct Report {
    pub allocations: usize,
    pub nulls: usize,
    pub in_place_reallocs: usize,
    pub peak_live: usize,
}

/// Limits of a random run.
pub struct Plan {
    pub seed: u64,
    pub ops: usize,
    /// Sizes are drawn up to this (log-uniformly).
    pub max_size: usize,
    /// Alignments are `1 << k` for `k <= max_align_log2`.
    pub max_align_log2: u32,
    /// Live blocks kept at most (random ones are freed first when full).
    pub max_live: usize,
}

/// How many operations a run does: `ops` normally, a hundredth (at least 50)
/// under Miri, which is slow and looks for undefined behaviour on each path
/// rather than for rare sequences (the native runs do `ops`), and `ops` times
/// `LITE_ALLOC_MODEL_SCALE` when that is set (the long run).
pub fn scaled(ops: usize) -> usize {
    if cfg!(miri) {
        return (ops / 100).max(50);
    }
    match std::env::var("LITE_ALLOC_MODEL_SCALE") {
        Ok(scale) => {
            ops * scale
                .parse::<usize>()
                .expect("LITE_ALLOC_MODEL_SCALE is a whole number")
        }
        Err(_) => ops,
    }
}

/// Extra seeds for the long run: `LITE_ALLOC_MODEL_SEEDS=N` runs seeds
/// `base..base + N` (one by default).
pub fn seeds(base: u64) -> std::ops::Range<u64> {
    let count =
        std::env::var("LITE_ALLOC_MODEL_SEEDS").map_or(1, |n| n.parse().expect("a whole number"));
    base..base + count
}

/// Asserts that a child process aborted: SIGABRT on Unix, a failure
/// elsewhere. `context` (what the child did, and its output) heads the
/// message.
pub fn assert_aborted(status: std::process::ExitStatus, context: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(6), "{context}: {status:?}");
    }
    #[cfg(not(unix))]
    assert!(!status.success(), "{context}: {status:?}");
}

/// Waits for `child` (spawned with its output piped) to end, and returns
/// its output; kills it and panics, naming `what`, if it has not ended
/// within `deadline` (a hung emulator or a worker spinning on a lock).
pub fn output_within(
    mut child: std::process::Child,
    deadline: std::time::Duration,
    what: &str,
) -> std::process::Output {
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > deadline {
            child.kill().unwrap();
            panic!("{what} did not finish within {deadline:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Whether every byte of `bytes` is `byte`. Compares a page at a time, which
/// Miri does as one operation rather than byte by byte.
pub fn all_equal(bytes: &[u8], byte: u8) -> bool {
    const CHUNK: usize = 4096;
    let pattern = [byte; CHUNK];
    bytes
        .chunks(CHUNK)
        .all(|chunk| chunk == &pattern[..chunk.len()])
}

/// How many bytes of `bytes` are not `byte`: none found as fast as
/// [`all_equal`] finds them (under Miri too), counted one by one only when
/// some differ.
pub fn count_other(bytes: &[u8], byte: u8) -> usize {
    if all_equal(bytes, byte) {
        return 0;
    }
    bytes.iter().filter(|&&b| b != byte).count()
}

/// What the model knows of the allocator's memory.
pub trait Env {
    /// Whether `[block, block + len)` lies in memory the allocator obtained.
    fn owns(&self, _block: *const u8, _len: usize) -> bool {
        true
    }
    /// Asked when the allocator returned null: whether its memory source
    /// refused a request since the last time (null is only allowed then).
    fn refused(&self) -> bool {
        true
    }
    /// Runs before every step (to grow memory behind the allocator's back).
    fn between(&self, _rng: &mut Rng<'_>) {}
    /// Runs after every step, with the bytes requested by the live blocks
    /// and the nulls so far (to check the allocator's statistics).
    fn after(&self, _step: usize, _live_bytes: usize, _nulls: usize) {}
}

/// Whether `[addr, addr + len)` lies in the regions `(start, len)`, regions
/// that continue each other forming one (as the heap joins them).
pub fn in_regions(regions: &[(usize, usize)], addr: usize, len: usize) -> bool {
    let mut regions = regions.to_vec();
    regions.sort_unstable();
    let mut joined: Vec<(usize, usize)> = Vec::new();
    for (start, len) in regions {
        match joined.last_mut() {
            Some(last) if last.1 == start => last.1 = start + len,
            _ => joined.push((start, start + len)),
        }
    }
    joined
        .iter()
        .any(|&(start, end)| start <= addr && addr + len <= end)
}

/// A test's memory source, as the model sees it through [`RegionsEnv`].
pub trait Regions {
    /// The regions handed over since the last reset, `(start, len)`.
    fn regions(&self) -> &[(usize, usize)];
    /// Whether the source refused a request since the model last asked.
    fn refused(&mut self) -> &mut bool;
}

/// The model's [`Env`] over a [`Regions`] source behind a lock (its `grow`
/// runs inside the allocator): every block lies in its regions, a null
/// comes only after a refusal, and `verify` runs after every step.
pub struct RegionsEnv<T: 'static> {
    pub source: &'static std::sync::Mutex<T>,
    pub verify: fn(),
}

impl<T: Regions> Env for RegionsEnv<T> {
    fn owns(&self, block: *const u8, len: usize) -> bool {
        in_regions(self.source.lock().unwrap().regions(), block.addr(), len)
    }
    fn refused(&self) -> bool {
        std::mem::take(self.source.lock().unwrap().refused())
    }
    fn between(&self, _rng: &mut Rng<'_>) {
        *self.source.lock().unwrap().refused() = false;
    }
    fn after(&self, _step: usize, _live: usize, _nulls: usize) {
        (self.verify)();
    }
}

/// An allocator whose memory the model cannot see: any placement and any
/// null are accepted (the other checks still apply).
pub struct Opaque;
impl Env for Opaque {}

struct Live {
    block: *mut u8,
    layout: Layout,
    fill: u8,
}

fn fill_byte(rng: &mut Rng<'_>) -> u8 {
    (rng.below(254) + 1) as u8
}

/// The shadow model: drives `alloc` through random alloc / alloc_zeroed /
/// realloc / dealloc and checks after every step that live blocks never
/// overlap, are aligned, lie in memory the allocator obtained, keep their
/// contents until freed and across realloc, that zeroed memory is zero, and
/// that null comes only when the memory source refused memory. The run goes
/// on after a null.
///
/// # Safety
///
/// `alloc` is not used by anyone else during the run; every block is freed
/// before the function returns.
pub unsafe fn check_random_ops<A: GlobalAlloc>(alloc: &A, plan: &Plan, env: &dyn Env) -> Report {
    // SAFETY: forwarded from the caller.
    unsafe { check_ops(alloc, plan, env, &mut Rng::new(plan.seed)) }
}

/// [`check_random_ops`] with the choices taken from `rng` (a fuzzer's bytes,
/// say); the run ends after `plan.ops` steps or when `rng` is exhausted.
///
/// # Safety
///
/// As for [`check_random_ops`].
pub unsafe fn check_ops<A: GlobalAlloc>(
    alloc: &A,
    plan: &Plan,
    env: &dyn Env,
    rng: &mut Rng<'_>,
) -> Report {
    // Keyed by address; the pointer keeps its provenance.
    let mut live: BTreeMap<usize, Live> = BTreeMap::new();
    let mut live_bytes = 0;
    let mut report = Report::default();
    let max_log = usize::BITS - plan.max_size.leading_zeros();
    // The block placed last: growing it is what `Vec::push` does, and it is
    // the block in-place realloc can extend.
    let mut newest = None;
    let null = |report: &mut Report, step: usize, what: &str| {
        report.nulls += 1;
        assert!(
            env.refused(),
            "step {step}: {what} returned null while memory was still available"
        );
    };
    for step in 0..plan.ops {
        if rng.exhausted() {
            break;
        }
        if step > 0 {
            env.after(step - 1, live_bytes, report.nulls);
        }
        env.between(rng);
        let choice = rng.below(10);
        if (choice < 3 || live.len() >= plan.max_live) && !live.is_empty() {
            // Free a random live block.
            let nth = rng.below(live.len() as u64) as usize;
            let addr = *live.keys().nth(nth).unwrap();
            let block = live.remove(&addr).unwrap();
            live_bytes -= block.layout.size();
            unsafe {
                verify(&block, step);
                alloc.dealloc(block.block, block.layout);
            }
            continue;
        }
        if choice < 5 && !live.is_empty() {
            // Realloc the newest block half the time, otherwise a random one.
            let addr = match newest.filter(|addr| rng.below(2) == 0 && live.contains_key(addr)) {
                Some(addr) => addr,
                None => *live
                    .keys()
                    .nth(rng.below(live.len() as u64) as usize)
                    .unwrap(),
            };
            let new_size = random_size(rng, max_log, plan.max_size);
            let block = live.remove(&addr).unwrap();
            unsafe { verify(&block, step) };
            let new = unsafe { alloc.realloc(block.block, block.layout, new_size) };
            if new.is_null() {
                null(&mut report, step, "realloc");
                unsafe { verify(&block, step) };
                live.insert(addr, block);
                continue;
            }
            if new == block.block {
                report.in_place_reallocs += 1;
            }
            let layout = Layout::from_size_align(new_size, block.layout.align()).unwrap();
            let kept = block.layout.size().min(new_size);
            let slice = unsafe { std::slice::from_raw_parts(new, kept) };
            assert!(
                all_equal(slice, block.fill),
                "step {step}: realloc lost contents ({addr:#x} -> {new:p}, {} -> {new_size} bytes)",
                block.layout.size()
            );
            let fill = fill_byte(rng);
            live_bytes = live_bytes - block.layout.size() + new_size;
            unsafe { place(&mut live, new, layout, fill, env, step) };
            newest = Some(new as usize);
            continue;
        }
        // Allocate.
        let size = random_size(rng, max_log, plan.max_size);
        let align = 1usize << rng.below(plan.max_align_log2 as u64 + 1);
        let layout = Layout::from_size_align(size, align).unwrap();
        let zeroed = rng.below(4) == 0;
        let block = unsafe {
            if zeroed {
                alloc.alloc_zeroed(layout)
            } else {
                alloc.alloc(layout)
            }
        };
        report.allocations += 1;
        if block.is_null() {
            null(&mut report, step, "alloc");
            continue;
        }
        if zeroed {
            let slice = unsafe { std::slice::from_raw_parts(block, size) };
            assert!(
                all_equal(slice, 0),
                "step {step}: alloc_zeroed gave non-zero bytes"
            );
        }
        let fill = fill_byte(rng);
        live_bytes += size;
        unsafe { place(&mut live, block, layout, fill, env, step) };
        newest = Some(block as usize);
        report.peak_live = report.peak_live.max(live.len());
    }
    env.after(plan.ops, live_bytes, report.nulls);
    for (_, block) in std::mem::take(&mut live) {
        unsafe {
            verify(&block, plan.ops);
            alloc.dealloc(block.block, block.layout);
        }
    }
    report
}

fn random_size(rng: &mut Rng<'_>, max_log: u32, max: usize) -> usize {
    let log = rng.below(max_log as u64 + 1) as u32;
    let high = (1usize << log).min(max);
    (rng.below(high as u64) as usize + 1).min(max)
}

/// Checks a new block against the live ones and fills it.
unsafe fn place(
    live: &mut BTreeMap<usize, Live>,
    block: *mut u8,
    layout: Layout,
    fill: u8,
    env: &dyn Env,
    step: usize,
) {
    let addr = block as usize;
    let end = addr
        .checked_add(layout.size())
        .expect("block wraps the address space");
    assert_eq!(
        addr % layout.align(),
        0,
        "step {step}: {addr:#x} is not aligned to {}",
        layout.align()
    );
    assert!(
        env.owns(block, layout.size()),
        "step {step}: block {addr:#x}+{} outside the allocator's memory",
        layout.size()
    );
    if let Some((&before, other)) = live.range(..=addr).next_back() {
        assert!(
            before + other.layout.size() <= addr,
            "step {step}: new block {addr:#x}+{} overlaps live {before:#x}+{}",
            layout.size(),
            other.layout.size()
        );
    }
    if let Some((&after, other)) = live.range(addr..).next() {
        assert!(
            end <= after,
            "step {step}: new block {addr:#x}+{} overlaps live {after:#x}+{}",
            layout.size(),
            other.layout.size()
        );
    }
    unsafe { std::ptr::write_bytes(block, fill, layout.size()) };
    live.insert(
        addr,
        Live {
            block,
            layout,
            fill,
        },
    );
}

/// Checks that a live block still holds its fill.
unsafe fn verify(block: &Live, step: usize) {
    let slice = unsafe { std::slice::from_raw_parts(block.block, block.layout.size()) };
    if all_equal(slice, block.fill) {
        return;
    }
    if let Some(i) = slice.iter().position(|&b| b != block.fill) {
        panic!(
            "step {step}: live block {:p}+{} was overwritten at offset {i} ({:#x} instead of {:#x})",
            block.block,
            block.layout.size(),
            slice[i],
            block.fill
        );
    }
}

/// The bytes behind a test's memory source (a static of its own), reached
/// only through the raw pointers [`base`](Self::base) gives; aligned to
/// 64 KiB, the largest granule a test gives a source.
#[repr(C, align(65536))]
pub struct Bytes<const N: usize>(std::cell::UnsafeCell<[u8; N]>);

// SAFETY: only reached through the raw pointers a source hands out, under
// its allocator's lock.
unsafe impl<const N: usize> Sync for Bytes<N> {}

impl<const N: usize> Bytes<N> {
    pub const fn new() -> Self {
        Bytes(std::cell::UnsafeCell::new([0; N]))
    }

    /// The first byte.
    pub fn base(&self) -> *mut u8 {
        std::cell::UnsafeCell::raw_get(&raw const self.0).cast()
    }

    /// A source's next region: the `len` bytes at `*used`, which then
    /// counts them too, so that regions continue each other; `None` when
    /// fewer than `len` bytes are left.
    pub fn next_region(&self, used: &mut usize, len: usize) -> Option<std::ptr::NonNull<[u8]>> {
        if len > N - *used {
            return None;
        }
        let start = std::ptr::NonNull::new(self.base().wrapping_add(*used))?;
        *used += len;
        Some(std::ptr::NonNull::slice_from_raw_parts(start, len))
    }
}

impl<const N: usize> Default for Bytes<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A RAM bank for `memory = claimed`: a static array, a separate allocated
/// object, reached only through the raw pointer [`start`](Self::start)
/// gives.
#[repr(C, align(16))]
pub struct Bank<const N: usize>(std::cell::UnsafeCell<[u8; N]>);

// SAFETY: reached only through the raw pointer `start` gives, which is
// handed to one allocator.
unsafe impl<const N: usize> Sync for Bank<N> {}

impl<const N: usize> Bank<N> {
    pub const fn new() -> Self {
        Bank(std::cell::UnsafeCell::new([0; N]))
    }

    pub fn start(&self) -> *mut u8 {
        self.0.get().cast()
    }

    /// Whether `[block, block + len)` lies wholly inside the bank.
    pub fn holds(&self, block: *const u8, len: usize) -> bool {
        let start = self.start() as usize;
        (block as usize) >= start && (block as usize) + len <= start + N
    }
}

impl<const N: usize> Default for Bank<N> {
    fn default() -> Self {
        Self::new()
    }
}
