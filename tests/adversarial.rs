//! Adversarial memory sources and requests: the shadow model over sources
//! that hand over regions at odd addresses, shorter and longer than asked,
//! with gaps (other code's memory, filled with a canary) and refusals, in
//! granules or bytes, of separate regions or not, whole or not, reading as
//! zero or not (other bytes then), with `verify()` after every step; a
//! region too short for anything; requests near `isize::MAX` with
//! alignments up to a quarter of the address space, and a source in
//! granules asked again for less; claimed banks of which one is too small
//! for a request.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;
use std::sync::Mutex;

use lite_alloc::lite_alloc;
use lite_alloc_tests::{Bank, Bytes, Plan, Regions, RegionsEnv, Rng, check_ops, seeds};

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

const CANARY: u8 = 0xC3;

/// A contiguous source over a static of `$total` bytes handing out whole
/// granules of `$granule` bytes (rounding each request up, as the `Memory`
/// contract describes), from where the last region ended.
macro_rules! granular {
    ($name:ident, total = $total:expr, granule = $granule:expr) => {
        struct $name {
            used: usize,
        }
        const _: () = {
            const TOTAL: usize = $total;
            static BYTES: Bytes<TOTAL> = Bytes::new();
            // SAFETY: every region lies in `BYTES`, is handed out once and
            // continues the one before.
            unsafe impl lite_alloc::memory::Memory for $name {
                const INIT: Self = $name { used: 0 };
                const GRANULE: usize = $granule;
                fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                    let len = bytes.div_ceil($granule) * $granule;
                    BYTES.next_region(&mut self.used, len)
                }
            }
        };
    };
}

/// The state of a chaotic source: a cursor, a generator, the regions handed
/// over and the gaps left.
struct Chaos {
    base: usize,
    total: usize,
    used: usize,
    rng: u64,
    ours: Vec<(usize, usize)>,
    gaps: Vec<(usize, usize)>,
    refused: bool,
}

impl Chaos {
    const fn new(seed: u64) -> Self {
        Chaos {
            base: 0,
            total: 0,
            used: 0,
            rng: seed | 1,
            ours: Vec::new(),
            gaps: Vec::new(),
            refused: false,
        }
    }
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A region for `bytes`, in `[base, base + total)`, from a source
    /// described by `source`: gaps and lengths in whole granules; a whole
    /// source's later region never where the one before ended; a region
    /// that does not read as zero holds other bytes.
    fn grow(
        &mut self,
        base: *mut u8,
        total: usize,
        bytes: usize,
        source: Source,
    ) -> Option<NonNull<[u8]>> {
        self.base = base.addr();
        self.total = total;
        if self.below(16) == 0 {
            self.refused = true;
            return None;
        }
        // A gap: other code's memory.
        let mut gap = match self.below(8) {
            0 => 1 + self.below(15) as usize,
            1 => 4096 + self.below(8) as usize,
            _ => 0,
        }
        .next_multiple_of(source.granule);
        if source.whole && self.used > 0 && gap == 0 {
            gap = source.granule;
        }
        let len = match self.below(6) {
            0 => 1 + self.below(40) as usize,
            1 => (bytes / 2).max(1),
            2 => bytes + self.below(100) as usize,
            _ => bytes,
        }
        .next_multiple_of(source.granule);
        if self.used + gap + len > total {
            self.refused = true;
            return None;
        }
        if gap > 0 {
            // SAFETY: inside the static, never handed out.
            unsafe { base.add(self.used).write_bytes(CANARY, gap) };
            self.gaps.push((self.used, gap));
        }
        self.used += gap;
        let start = base.wrapping_add(self.used);
        if !source.zeroed {
            // SAFETY: inside the static, handed to no one yet.
            unsafe { start.write_bytes(0xAB, len) };
        }
        self.ours.push((start.addr(), len));
        self.used += len;
        Some(NonNull::slice_from_raw_parts(NonNull::new(start)?, len))
    }
    fn gaps_intact(&self, base: *const u8) -> bool {
        self.gaps.iter().all(|&(off, len)| {
            (0..len).all(|i| {
                // SAFETY: inside the static; the allocator must not use it.
                unsafe { *base.add(off + i) == CANARY }
            })
        })
    }
}

/// What a chaotic source is, besides chaotic: its granule, whether its
/// regions may continue each other (`Memory::CONTIGUOUS`), whether it is a
/// whole source (`Memory::WHOLE`), whether its regions read as zero.
#[derive(Clone, Copy)]
struct Source {
    granule: usize,
    contiguous: bool,
    whole: bool,
    zeroed: bool,
}

impl Regions for Chaos {
    fn regions(&self) -> &[(usize, usize)] {
        &self.ours
    }
    fn refused(&mut self) -> &mut bool {
        &mut self.refused
    }
}

/// A test of the shadow model on a type (`$args`) over a chaotic source of
/// 8 MiB, contiguous, in bytes (or as `source(...)` says: its granule,
/// whether its regions may continue each other, whether it is whole, its
/// size).
macro_rules! chaos {
    ($(#[$attr:meta])* $test:ident, seed = $seed:expr, zeroed = $zeroed:expr,
     source(granule = $granule:expr, contiguous = $contiguous:expr, whole = $whole:expr, total = $total:expr),
     $($args:tt)*) => {
        #[test]
        $(#[$attr])*
        fn $test() {
            const TOTAL: usize = $total;
            const SOURCE: Source = Source {
                granule: $granule,
                contiguous: $contiguous,
                whole: $whole,
                zeroed: $zeroed,
            };
            static BYTES: Bytes<TOTAL> = Bytes::new();
            static CHAOS: Mutex<Chaos> = Mutex::new(Chaos::new($seed));
            struct Src;
            // SAFETY: every region lies in `BYTES` and is handed out once;
            // adjacent regions lie in the same array (a whole source's never
            // adjacent, `Chaos::grow`).
            unsafe impl lite_alloc::memory::Memory for Src {
                const INIT: Self = Src;
                const GRANULE: usize = SOURCE.granule;
                const CONTIGUOUS: bool = SOURCE.contiguous;
                const WHOLE: bool = SOURCE.whole;
                const ZEROED: bool = SOURCE.zeroed;
                fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                    let base = BYTES.base();
                    CHAOS.lock().unwrap().grow(base, TOTAL, bytes, SOURCE)
                }
                fn reset(&mut self) {
                    let base = BYTES.base();
                    let mut chaos = CHAOS.lock().unwrap();
                    // SAFETY: nothing uses the bytes handed out any more.
                    unsafe { base.write_bytes(0, chaos.used) };
                    chaos.used = 0;
                    chaos.ours.clear();
                    chaos.gaps.clear();
                }
            }
            #[lite_alloc(memory = Src, $($args)*)]
            struct A;
            let env = RegionsEnv { source: &CHAOS, verify: A::verify };
            for seed in seeds($seed * 1000) {
                // SAFETY: every block was freed.
                unsafe { A::reset() };
                CHAOS.lock().unwrap().rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                // The last, blocks to 200 KB aligned to 128 KiB, natively
                // only (Miri takes minutes a plan).
                let plans = [(300, 5), (6000, 6), (70_000, 12), (200_000, 17)];
                for (max_size, align) in &plans[..if cfg!(miri) { 3 } else { 4 }] {
                    let (max_size, align) = (*max_size, *align);
                    let plan = Plan { seed, ops: if cfg!(miri) { 150 } else { 6000 }, max_size, max_align_log2: align, max_live: 100 };
                    // SAFETY: `A` is this test's alone.
                    unsafe { check_ops(&A, &plan, &env, &mut Rng::new(seed)) };
                    assert!(CHAOS.lock().unwrap().gaps_intact(BYTES.base()), "seed {seed}: the allocator wrote into a gap");
                }
            }
        }
    };
    ($(#[$attr:meta])* $test:ident, seed = $seed:expr, zeroed = $zeroed:expr, $($args:tt)*) => {
        chaos!(
            $(#[$attr])* $test,
            seed = $seed,
            zeroed = $zeroed,
            source(granule = 1, contiguous = true, whole = false, total = 8 << 20),
            $($args)*
        );
    };
}

chaos!(chaos_leak_default, seed = 1, zeroed = true, page = 64);
chaos!(
    chaos_leak_odd,
    seed = 2,
    zeroed = true,
    bins = [12, 20, 28, 100],
    page = 100,
    realloc
);
chaos!(
    #[cfg(target_pointer_width = "32")]
    chaos_leak_small,
    seed = 3,
    zeroed = true,
    bins = [4, 8],
    page = 7,
    realloc
);
chaos!(
    chaos_reuse_default,
    seed = 4,
    zeroed = true,
    large = reuse,
    realloc,
    page = 64
);
chaos!(
    #[cfg(target_pointer_width = "32")]
    chaos_reuse_small,
    seed = 5,
    zeroed = true,
    bins = [4],
    large = reuse,
    realloc,
    page = 3
);
chaos!(
    chaos_reuse_odd,
    seed = 6,
    zeroed = true,
    bins = [12, 24, 40],
    large = reuse,
    realloc,
    page = 50,
    growth = 1 / 2
);
chaos!(
    chaos_reuse_stats,
    seed = 7,
    zeroed = true,
    bins = [8, 24, 8192],
    large = reuse,
    realloc,
    stats,
    page = 1000
);
chaos!(
    chaos_chunks_none,
    seed = 8,
    zeroed = true,
    bins = [],
    large = coalesce,
    realloc,
    page = 64
);
chaos!(
    chaos_chunks_default,
    seed = 9,
    zeroed = true,
    large = coalesce,
    realloc,
    page = 64
);
chaos!(
    chaos_chunks_8k,
    seed = 10,
    zeroed = true,
    bins = [16, 32, 64, 128, 8192],
    large = coalesce,
    realloc,
    page = 4096
);
chaos!(
    #[cfg(target_pointer_width = "32")]
    chaos_chunks_odd,
    seed = 11,
    zeroed = true,
    bins = [4, 12, 20, 36],
    large = coalesce,
    realloc,
    stats,
    page = 5
);
chaos!(
    chaos_chunks_none_growth,
    seed = 12,
    zeroed = false,
    bins = [],
    large = coalesce,
    realloc,
    stats,
    page = 1,
    growth = 1 / 3
);
chaos!(
    chaos_reuse_notzero,
    seed = 13,
    zeroed = false,
    bins = [16, 48],
    large = reuse,
    realloc,
    page = 1
);
chaos!(
    chaos_leak_small64,
    seed = 3,
    zeroed = true,
    bins = [8, 16],
    page = 7,
    realloc
);
chaos!(
    chaos_reuse_small64,
    seed = 5,
    zeroed = true,
    bins = [8],
    large = reuse,
    realloc,
    page = 3
);
chaos!(
    chaos_chunks_grain_bins,
    seed = 14,
    zeroed = true,
    bins = [8, 24],
    large = coalesce,
    realloc,
    page = 3
);
chaos!(
    chaos_chunks_odd64,
    seed = 11,
    zeroed = true,
    bins = [8, 12, 20, 36],
    large = coalesce,
    realloc,
    stats,
    page = 5
);

// Sources in granules, of separate regions, whole, and small enough to run
// out, every policy and checked (from a review of region growth).
chaos!(
    granular_leak,
    seed = 15,
    zeroed = true,
    source(
        granule = 4096,
        contiguous = true,
        whole = false,
        total = 8 << 20
    ),
    realloc,
    page = 4096,
    growth = 1 / 2
);
chaos!(
    granular_reuse,
    seed = 16,
    zeroed = true,
    source(
        granule = 16,
        contiguous = true,
        whole = false,
        total = 8 << 20
    ),
    large = reuse,
    realloc,
    page = 1,
    growth = 1 / 1
);
chaos!(
    granular_chunks,
    seed = 17,
    zeroed = true,
    source(
        granule = 65536,
        contiguous = true,
        whole = false,
        total = 8 << 20
    ),
    bins = [],
    large = coalesce,
    realloc,
    page = 65536,
    growth = 1 / 4
);
chaos!(
    separate_leak,
    seed = 18,
    zeroed = false,
    source(
        granule = 1,
        contiguous = false,
        whole = false,
        total = 8 << 20
    ),
    realloc,
    page = 4096
);
chaos!(
    separate_reuse,
    seed = 19,
    zeroed = true,
    source(
        granule = 16,
        contiguous = false,
        whole = false,
        total = 8 << 20
    ),
    large = reuse,
    realloc,
    page = 4096,
    growth = 1 / 2
);
chaos!(
    separate_coalesce,
    seed = 20,
    zeroed = true,
    source(
        granule = 1,
        contiguous = false,
        whole = false,
        total = 8 << 20
    ),
    large = coalesce,
    realloc,
    page = 1,
    bins = [12, 16, 8192]
);
chaos!(
    separate_chunks,
    seed = 21,
    zeroed = false,
    source(
        granule = 1,
        contiguous = false,
        whole = false,
        total = 8 << 20
    ),
    bins = [],
    large = coalesce,
    realloc,
    page = 1
);
chaos!(
    whole_leak,
    seed = 22,
    zeroed = true,
    source(
        granule = 1,
        contiguous = true,
        whole = true,
        total = 8 << 20
    ),
    realloc
);
chaos!(
    whole_reuse,
    seed = 23,
    zeroed = true,
    source(
        granule = 4096,
        contiguous = true,
        whole = true,
        total = 8 << 20
    ),
    large = reuse,
    realloc
);
chaos!(
    whole_coalesce,
    seed = 24,
    zeroed = true,
    source(
        granule = 1,
        contiguous = true,
        whole = true,
        total = 8 << 20
    ),
    large = coalesce,
    realloc,
    bins = [16, 8192]
);
chaos!(
    whole_separate_chunks,
    seed = 25,
    zeroed = true,
    source(
        granule = 1,
        contiguous = false,
        whole = true,
        total = 8 << 20
    ),
    bins = [],
    large = coalesce,
    realloc
);
chaos!(
    small_leak,
    seed = 26,
    zeroed = true,
    source(
        granule = 1,
        contiguous = true,
        whole = false,
        total = 1 << 17
    ),
    realloc,
    page = 4096
);
chaos!(
    small_reuse,
    seed = 27,
    zeroed = false,
    source(
        granule = 16,
        contiguous = true,
        whole = false,
        total = 1 << 17
    ),
    large = reuse,
    realloc,
    page = 4096,
    growth = 1 / 2
);
chaos!(
    small_coalesce,
    seed = 28,
    zeroed = true,
    source(
        granule = 1,
        contiguous = true,
        whole = false,
        total = 1 << 17
    ),
    large = coalesce,
    realloc,
    page = 4096,
    bins = [12, 16, 8192]
);
chaos!(
    small_separate_chunks,
    seed = 29,
    zeroed = true,
    source(
        granule = 1,
        contiguous = false,
        whole = false,
        total = 1 << 17
    ),
    bins = [],
    large = coalesce,
    realloc,
    page = 4096
);
chaos!(
    small_whole_separate_chunks,
    seed = 30,
    zeroed = true,
    source(
        granule = 1,
        contiguous = false,
        whole = true,
        total = 1 << 17
    ),
    bins = [],
    large = coalesce,
    realloc
);
chaos!(
    small_granular_chunks,
    seed = 31,
    zeroed = true,
    source(
        granule = 4096,
        contiguous = true,
        whole = false,
        total = 1 << 18
    ),
    bins = [],
    large = coalesce,
    realloc,
    page = 12288,
    growth = 1 / 1
);
chaos!(
    checked_coalesce,
    seed = 32,
    zeroed = true,
    source(
        granule = 1,
        contiguous = true,
        whole = false,
        total = 8 << 20
    ),
    large = coalesce,
    realloc,
    check,
    page = 1,
    bins = [12, 16, 8192]
);
chaos!(
    checked_separate_chunks,
    seed = 33,
    zeroed = false,
    source(
        granule = 1,
        contiguous = false,
        whole = false,
        total = 8 << 20
    ),
    bins = [],
    large = coalesce,
    realloc,
    check,
    page = 1
);
chaos!(
    checked_granular_reuse,
    seed = 34,
    zeroed = true,
    source(
        granule = 16,
        contiguous = true,
        whole = false,
        total = 8 << 20
    ),
    large = reuse,
    realloc,
    check,
    page = 4096
);
chaos!(
    checked_small_leak,
    seed = 35,
    zeroed = true,
    source(
        granule = 1,
        contiguous = true,
        whole = false,
        total = 1 << 17
    ),
    realloc,
    check,
    page = 4096
);

// Bins of a few bytes, with a large bin past a page, on 32-bit targets.
chaos!(
    #[cfg(target_pointer_width = "32")]
    small_bins_leak_8k,
    seed = 36,
    zeroed = true,
    realloc,
    page = 1,
    bins = [4, 12, 20, 8196]
);
chaos!(
    #[cfg(target_pointer_width = "32")]
    small_bins_reuse_8k,
    seed = 37,
    zeroed = true,
    large = reuse,
    realloc,
    page = 1,
    bins = [4, 12, 20, 8196]
);
chaos!(
    #[cfg(target_pointer_width = "32")]
    small_bins_separate_reuse,
    seed = 38,
    zeroed = false,
    source(
        granule = 8,
        contiguous = false,
        whole = false,
        total = 8 << 20
    ),
    large = reuse,
    realloc,
    page = 1,
    bins = [8, 24, 40]
);
chaos!(
    #[cfg(target_pointer_width = "32")]
    small_bins_coalesce_8k,
    seed = 39,
    zeroed = true,
    large = coalesce,
    realloc,
    page = 1,
    bins = [4, 12, 20, 8196]
);
chaos!(
    #[cfg(target_pointer_width = "32")]
    pow_bins_coalesce,
    seed = 40,
    zeroed = true,
    large = coalesce,
    realloc,
    page = 1,
    bins = [4, 8, 16, 32, 64, 8192]
);

/// A source whose first region is shorter than a chunk's `skip` plus its
/// tail word (a few bytes at `offset` from a 64 KiB boundary), and which has
/// nothing more: allocation returns null, the heap is untouched, and
/// `verify()` finds it valid (it once reported the unused region corrupt).
macro_rules! tiny_then_nothing {
    ($test:ident, first = $first:expr, offset = $offset:expr, $($args:tt)*) => {
        #[test]
        fn $test() {
            const TOTAL: usize = 1 << 16;
            static BYTES: Bytes<TOTAL> = Bytes::new();
            struct Tiny {
                given: bool,
            }
            // SAFETY: one region of `BYTES`, handed out once.
            unsafe impl lite_alloc::memory::Memory for Tiny {
                const INIT: Self = Tiny { given: false };
                fn grow(&mut self, _bytes: usize) -> Option<NonNull<[u8]>> {
                    if std::mem::replace(&mut self.given, true) {
                        return None;
                    }
                    let base = BYTES.base();
                    let start = NonNull::new(base.wrapping_add($offset))?;
                    Some(NonNull::slice_from_raw_parts(start, $first))
                }
            }
            #[lite_alloc(memory = Tiny, $($args)*)]
            struct A;
            A::verify();
            // SAFETY: `A` is this test's alone.
            let p = unsafe { A.alloc(layout(8, 8)) };
            assert!(p.is_null(), "there is no room for a chunk");
            // Nothing was carved, nothing written: the heap is as valid as
            // before the call.
            A::verify();
        }
    };
}

tiny_then_nothing!(
    tiny_region_then_nothing_general,
    first = 4,
    offset = 0,
    bins = [],
    large = coalesce
);
tiny_then_nothing!(
    tiny_region_then_nothing_coalesce_bins,
    first = 6,
    offset = 0,
    large = coalesce
);

/// Requests near `isize::MAX` and alignments up to 2^30 (on 32-bit the
/// largest a `Layout` of a non-zero size allows): null, no overflow panic
/// (debug builds check arithmetic), and the heap intact afterwards.
macro_rules! extremes {
    ($test:ident, source = granular, $($args:tt)*) => {
        #[test]
        fn $test() {
            granular!(G, total = 1 << 16, granule = 4096);
            #[lite_alloc(memory = G, $($args)*)]
            struct A;
            extremes_on(&A, A::verify);
        }
    };
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            #[lite_alloc(memory = arena(1 << 20), $($args)*)]
            struct A;
            extremes_on(&A, A::verify);
        }
    };
}

/// The requests of `extremes!` on `a`.
fn extremes_on<A: GlobalAlloc>(a: &A, verify: fn()) {
    let max = isize::MAX as usize;
    let top_align = 1usize << (usize::BITS - 2);
    let mut layouts = vec![];
    for align in [1, 2, 8, 16, 32, 4096, 1 << 20, top_align] {
        for size in [
            max - align + 1,
            max / 2,
            max / 2 + 1,
            max / 4 * 3,
            top_align,
            top_align + 1,
            (1 << 21) + 3,
        ] {
            if let Ok(l) = Layout::from_size_align(size, align) {
                layouts.push(l);
            }
        }
    }
    // Just below `isize::MAX`, where rounding to a page or a granule wraps.
    for k in [1, 7, 8, 15, 16, 4095, 65536, 1 << 20] {
        layouts.push(layout(max - k, 1));
    }
    // SAFETY: `a` is the test's alone; blocks with their layouts.
    unsafe {
        for &l in &layouts {
            assert!(a.alloc(l).is_null(), "{l:?}");
            verify();
            assert!(a.alloc_zeroed(l).is_null(), "{l:?}");
            verify();
            for small in [1usize, 20, 200, 5000] {
                if small > l.size() {
                    continue;
                }
                let sl = Layout::from_size_align(small, l.align()).unwrap();
                let p = a.alloc(sl);
                if p.is_null() {
                    continue;
                }
                assert!(
                    a.realloc(p, sl, l.size()).is_null(),
                    "{sl:?} -> {}",
                    l.size()
                );
                verify();
                a.dealloc(p, sl);
                verify();
            }
        }
    }
}

extremes!(extremes_leak, realloc);
extremes!(extremes_reuse, large = reuse, realloc);
extremes!(
    extremes_reuse_growth,
    bins = [8, 24],
    large = reuse,
    realloc,
    growth = 1 / 1,
    page = 1073741824
);
extremes!(
    extremes_chunks,
    large = coalesce,
    realloc,
    page = 1073741824
);
extremes!(
    extremes_general,
    bins = [],
    large = coalesce,
    realloc,
    growth = 1 / 2
);
extremes!(
    extremes_leak_bigpage,
    bins = [1073741824],
    realloc,
    page = 1073741824,
    growth = 1 / 1
);
// A source in granules of 4096 bytes (the requests above round to them).
extremes!(extremes_granular_leak, source = granular, realloc);
extremes!(
    extremes_granular_chunks,
    source = granular,
    bins = [],
    large = coalesce,
    realloc,
    page = 1073741824,
    growth = 1 / 1
);

/// `Claimed` promises each region is "used by the heap once it needs memory
/// and the region can hold the request". Bank B (a few hundred bytes) cannot
/// hold a 400-byte request: C serves it, and B must still serve later,
/// smaller blocks before the heap runs out. (The heap once asked the source
/// only for what the current region lacked, was handed B, found it too small
/// for the request, and abandoned it: a claimed source is now asked for all
/// a request needs, `Memory::CONTIGUOUS`.)
macro_rules! claimed_region_wasted {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            #[lite_alloc(memory = claimed, $($args)*)]
            struct Board;
            static A: Bank<1024> = Bank::new();
            static B: Bank<384> = Bank::new();
            static C: Bank<8192> = Bank::new();
            unsafe {
                Board.claim(A.start(), 1024);
                Board.claim(B.start(), 384);
                Board.claim(C.start(), 8192);
                // Nearly all of A.
                let p1 = Board.alloc(layout(800, 16));
                assert!(A.holds(p1, 800), "the first block lies in A");
                // B cannot hold 400 bytes: C serves it.
                let p2 = Board.alloc(layout(400, 16));
                assert!(C.holds(p2, 400), "the second block lies in C");
                // Use up everything: B, which has never held a block, must
                // serve some of these before the heap gives up.
                let mut in_b = 0;
                let mut blocks = 0;
                for size in [1024, 256, 64, 16] {
                    loop {
                        let p = Board.alloc(layout(size, 8));
                        if p.is_null() {
                            break;
                        }
                        blocks += 1;
                        in_b += usize::from(B.holds(p, size));
                    }
                }
                Board::verify();
                assert!(blocks > 0);
                assert!(
                    in_b > 0,
                    "out of memory ({blocks} blocks) with bank B never used: it was handed over for a request it could not hold, and abandoned"
                );
            }
        }
    };
}

claimed_region_wasted!(claimed_region_wasted_bins,);
claimed_region_wasted!(claimed_region_wasted_reuse, large = reuse);
claimed_region_wasted!(claimed_region_wasted_coalesce, large = coalesce);
claimed_region_wasted!(claimed_region_wasted_general, bins = [], large = coalesce);

#[test]
fn claimed_region_wasted_cause() {
    #[lite_alloc(memory = claimed, stats)]
    struct Board;
    static A: Bank<1024> = Bank::new();
    static B: Bank<384> = Bank::new();
    static C: Bank<8192> = Bank::new();
    unsafe {
        Board.claim(A.start(), 1024);
        Board.claim(B.start(), 384);
        Board.claim(C.start(), 8192);
        let p1 = Board.alloc(layout(800, 16));
        let after_a = Board::stats().obtained;
        let p2 = Board.alloc(layout(400, 16));
        assert!(A.holds(p1, 800) && C.holds(p2, 400));
        let header = 3 * size_of::<usize>();
        // What the heap obtained for the second block: C's part only, not
        // B, which cannot hold it.
        assert_eq!(
            Board::stats().obtained - after_a,
            8192 - header,
            "the heap obtained bank B ({} bytes) for a request B cannot hold",
            384 - header
        );
    }
}

/// A request that whole pages round past what the source has left asks
/// again for just what it lacks, in whole granules, also when `page` does
/// not divide the granule. From a review: with one granule of 4096 bytes
/// left and `page = 3000`, 3500 bytes asked for 6000 (two granules), and
/// the heap gave up without asking for one; so with `page = 49152` on a
/// memory of 64 KiB pages. Pages dividing the granule, or a growth step,
/// served it before too.
#[test]
fn a_page_that_does_not_divide_the_granule_asks_again_for_less() {
    granular!(OneGranule, total = 4096, granule = 4096);
    #[lite_alloc(memory = OneGranule, page = 3000)]
    struct Odd;
    granular!(OnePage, total = 65536, granule = 65536);
    #[lite_alloc(memory = OnePage, page = 49152)]
    struct OddOfWasmPages;
    granular!(Divided, total = 4096, granule = 4096);
    #[lite_alloc(memory = Divided, page = 4096)]
    struct Divides;
    granular!(Stepped, total = 4096, granule = 4096);
    #[lite_alloc(memory = Stepped, page = 3000, growth = 1/8)]
    struct WithGrowth;
    // SAFETY: each type is this test's alone; valid layouts.
    unsafe {
        assert!(!Odd.alloc(layout(3500, 16)).is_null());
        assert!(!OddOfWasmPages.alloc(layout(50000, 8)).is_null());
        assert!(!Divides.alloc(layout(3500, 16)).is_null());
        assert!(!WithGrowth.alloc(layout(3500, 16)).is_null());
    }
}
