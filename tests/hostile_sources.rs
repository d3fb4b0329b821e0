//! The heap over hostile memory sources, from an adversarial review of how
//! it obtains and switches regions: sources that hand over less than
//! asked, tiny regions, more than asked, regions that do or do not continue
//! the one before, gaps of other code's memory between them (never
//! written), granules from 1 byte to 64 KiB, contiguous or not, whole or
//! not, zeroed or not; many banks claimed at odd offsets and sizes; requests
//! near `isize::MAX` and alignments to a quarter of the address space. On
//! every policy, with the shadow model and `verify()` after every step.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr::NonNull;

use lite_alloc::lite_alloc;
use lite_alloc_tests::{Bank, Env, Plan, Rng, check_random_ops, scaled, seeds};
use std::sync::Mutex;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[repr(C, align(65536))]
struct Bytes<const N: usize>(UnsafeCell<[u8; N]>);
// SAFETY: reached only through the raw pointers a source hands out.
unsafe impl<const N: usize> Sync for Bytes<N> {}

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
            static BYTES: Bytes<TOTAL> = Bytes(UnsafeCell::new([0; TOTAL]));
            // SAFETY: every region lies in `BYTES`, is handed out once and
            // continues the one before.
            unsafe impl lite_alloc::memory::Memory for $name {
                const INIT: Self = $name { used: 0 };
                const GRANULE: usize = $granule;
                fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                    let len = bytes.div_ceil($granule) * $granule;
                    if len > TOTAL - self.used {
                        return None;
                    }
                    let base = UnsafeCell::raw_get(&raw const BYTES.0).cast::<u8>();
                    let start = NonNull::new(base.wrapping_add(self.used))?;
                    self.used += len;
                    Some(NonNull::slice_from_raw_parts(start, len))
                }
            }
        };
    };
}

/// The state of a chaotic source: where it has handed out up to, its
/// generator, the regions handed out and the gaps between them (filled
/// with a canary the heap must never write), and whether it refused a
/// request since the model last asked.
struct Chaos {
    used: usize,
    rng: u64,
    ours: Vec<(usize, usize)>,
    gaps: Vec<(usize, usize)>,
    refused: bool,
}

impl Chaos {
    const NEW: Self = Chaos {
        used: 0,
        rng: 1,
        ours: Vec::new(),
        gaps: Vec::new(),
        refused: false,
    };

    /// The next number of its xorshift generator.
    fn draw(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

/// What the gaps between a chaotic source's regions hold.
const CANARY: u8 = 0xC5;

/// A contiguous source that hands out regions of surprising sizes (often
/// less than asked, sometimes tiny, sometimes more) and sometimes leaves a
/// gap of canary bytes before a region (other code grew memory), at odd
/// offsets.
macro_rules! chaotic {
    ($name:ident, total = $total:expr, granule = $granule:expr) => {
        chaotic!(
            $name,
            total = $total,
            granule = $granule,
            contiguous = true,
            whole = false,
            zeroed = true
        );
    };
    ($name:ident, total = $total:expr, granule = $granule:expr, contiguous = $contig:expr, whole = $whole:expr, zeroed = $zeroed:expr) => {
        struct $name;
        impl $name {
            fn state() -> &'static Mutex<Chaos> {
                static S: Mutex<Chaos> = Mutex::new(Chaos::NEW);
                &S
            }
            fn base() -> *mut u8 {
                UnsafeCell::raw_get(&raw const Self::bytes().0).cast::<u8>()
            }
            fn bytes() -> &'static Bytes<{ $total }> {
                static BYTES: Bytes<{ $total }> = Bytes(UnsafeCell::new([0; $total]));
                &BYTES
            }
        }
        // SAFETY: every region lies in one static, is handed out once, and
        // only continues the one before when it starts where it ended.
        unsafe impl lite_alloc::memory::Memory for $name {
            const INIT: Self = $name;
            const GRANULE: usize = $granule;
            const ZEROED: bool = $zeroed;
            const CONTIGUOUS: bool = $contig;
            const WHOLE: bool = $whole;
            fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                let mut s = Self::state().lock().unwrap();
                let g: usize = $granule;
                let r = s.draw();
                let gap = match r % 4 {
                    0 => ((r >> 8) % 40) as usize * g,
                    _ => 0,
                };
                // A whole source's region never starts where the last ended.
                let gap = if $whole && s.used > 0 && gap == 0 {
                    g
                } else {
                    gap
                };
                let asked = bytes.div_ceil(g) * g;
                let len = match (r >> 16) % 6 {
                    0 => g * (1 + ((r >> 24) % 3) as usize),
                    1 => (asked / 2).max(g) / g * g,
                    2 => asked + g * ((r >> 24) % 4) as usize,
                    _ => asked,
                };
                if s.used + gap + len > $total {
                    s.refused = true;
                    return None;
                }
                let base = Self::base();
                let start = base.wrapping_add(s.used + gap);
                // SAFETY: inside the static, handed to no one.
                unsafe {
                    base.wrapping_add(s.used).write_bytes(CANARY, gap);
                    start.write_bytes(if $zeroed { 0 } else { 0xAB }, len);
                }
                if gap > 0 {
                    let at = base as usize + s.used;
                    s.gaps.push((at, gap));
                }
                s.ours.push((start as usize, len));
                s.used += gap + len;
                Some(NonNull::slice_from_raw_parts(NonNull::new(start)?, len))
            }
        }
    };
}

/// The model's view of a chaotic source: blocks lie inside what it handed
/// over (regions that continue each other count as one), and after every
/// step the heap's invariants hold (`verify`) and no gap was written.
struct ChaosEnv {
    state: &'static Mutex<Chaos>,
    /// The source's static, with its provenance.
    base: *mut u8,
    verify: fn(),
}

impl Env for ChaosEnv {
    fn owns(&self, block: *const u8, len: usize) -> bool {
        let s = self.state.lock().unwrap();
        let (a, e) = (block as usize, block as usize + len);
        let mut ours = s.ours.clone();
        ours.sort();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (start, len) in ours {
            match merged.last_mut() {
                Some(last) if last.1 == start => last.1 = start + len,
                _ => merged.push((start, start + len)),
            }
        }
        merged.iter().any(|&(s0, s1)| s0 <= a && e <= s1)
    }
    fn refused(&self) -> bool {
        std::mem::replace(&mut self.state.lock().unwrap().refused, false)
    }
    fn between(&self, _rng: &mut Rng<'_>) {
        self.state.lock().unwrap().refused = false;
    }
    fn after(&self, _step: usize, _live: usize, _nulls: usize) {
        (self.verify)();
        let s = self.state.lock().unwrap();
        for &(at, len) in &s.gaps {
            let gap = self.base.wrapping_add(at - self.base.addr());
            // SAFETY: gaps lie in the static, which nothing else frees.
            let bytes = unsafe { std::slice::from_raw_parts(gap, len) };
            assert!(
                bytes.iter().all(|&b| b == CANARY),
                "a gap at {at:#x}+{len} was written"
            );
        }
    }
}

/// A test of the model on a type over a chaotic source (by default
/// contiguous, not whole, zeroed, 8 MiB): random calls of up to `max`
/// bytes aligned up to `2^align_log2`, `LITE_ALLOC_MODEL_SEEDS` seeds.
macro_rules! chaos_test {
    ($test:ident, granule = $granule:expr, align_log2 = $al:expr, max = $max:expr, $($args:tt)*) => {
        chaos_test!($test, src(contiguous = true, whole = false, zeroed = true, total = 1 << 23), granule = $granule, align_log2 = $al, max = $max, $($args)*);
    };
    ($test:ident, src(contiguous = $c:expr, whole = $w:expr, zeroed = $z:expr), granule = $granule:expr, align_log2 = $al:expr, max = $max:expr, $($args:tt)*) => {
        chaos_test!($test, src(contiguous = $c, whole = $w, zeroed = $z, total = 1 << 23), granule = $granule, align_log2 = $al, max = $max, $($args)*);
    };
    ($test:ident, src(contiguous = $c:expr, whole = $w:expr, zeroed = $z:expr, total = $total:expr), granule = $granule:expr, align_log2 = $al:expr, max = $max:expr, $($args:tt)*) => {
        #[test]
        fn $test() {
            chaotic!(Src, total = $total, granule = $granule, contiguous = $c, whole = $w, zeroed = $z);
            #[lite_alloc(memory = Src, $($args)*)]
            struct A;
            for seed in seeds(1) {
                {
                    let mut s = Src::state().lock().unwrap();
                    s.rng = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
                    s.used = 0;
                    s.ours.clear();
                    s.gaps.clear();
                }
                let env = ChaosEnv { state: Src::state(), base: Src::base(), verify: A::verify };
                let plan = Plan { seed, ops: scaled(3000), max_size: $max, max_align_log2: $al, max_live: 60 };
                // SAFETY: `A` is this test's alone; `check_random_ops` frees
                // every block it allocates before the reset.
                unsafe {
                    check_random_ops(&A, &plan, &env);
                    A::reset();
                }
            }
        }
    };
}

chaos_test!(
    chaos_leak,
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    realloc
);
chaos_test!(
    chaos_leak_g,
    granule = 4096,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    realloc,
    growth = 1 / 2
);
chaos_test!(
    chaos_reuse,
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    large = reuse,
    realloc
);
chaos_test!(
    chaos_reuse_g,
    granule = 16,
    align_log2 = 13,
    max = 20000,
    page = 1,
    large = reuse,
    realloc,
    growth = 1 / 1
);
chaos_test!(
    chaos_coalesce,
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    large = coalesce,
    realloc
);
chaos_test!(
    chaos_coalesce_odd,
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 1,
    large = coalesce,
    realloc,
    bins = [12, 16, 8192]
);
chaos_test!(
    chaos_chunks,
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 1,
    bins = [],
    large = coalesce,
    realloc
);
chaos_test!(
    chaos_chunks_g,
    granule = 65536,
    align_log2 = 17,
    max = 200000,
    page = 65536,
    bins = [],
    large = coalesce,
    realloc,
    growth = 1 / 4
);

chaos_test!(
    nc_leak,
    src(contiguous = false, whole = false, zeroed = false),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    realloc
);
chaos_test!(
    nc_reuse,
    src(contiguous = false, whole = false, zeroed = true),
    granule = 16,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    large = reuse,
    realloc,
    growth = 1 / 2
);
chaos_test!(
    nc_coalesce,
    src(contiguous = false, whole = false, zeroed = true),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 1,
    large = coalesce,
    realloc,
    bins = [12, 16, 8192]
);
chaos_test!(
    nc_chunks,
    src(contiguous = false, whole = false, zeroed = false),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 1,
    bins = [],
    large = coalesce,
    realloc
);
chaos_test!(
    w_leak,
    src(contiguous = true, whole = true, zeroed = true),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    realloc
);
chaos_test!(
    w_reuse,
    src(contiguous = true, whole = true, zeroed = true),
    granule = 4096,
    align_log2 = 13,
    max = 20000,
    large = reuse,
    realloc
);
chaos_test!(
    w_coalesce,
    src(contiguous = true, whole = true, zeroed = true),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    large = coalesce,
    realloc,
    bins = [16, 8192]
);
chaos_test!(
    w_chunks,
    src(contiguous = false, whole = true, zeroed = true),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    bins = [],
    large = coalesce,
    realloc
);
chaos_test!(
    z_chunks,
    src(contiguous = true, whole = false, zeroed = false),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 1,
    bins = [],
    large = coalesce,
    realloc
);
chaos_test!(
    z_reuse,
    src(contiguous = true, whole = false, zeroed = false),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 1,
    large = reuse,
    realloc
);

/// Blocks must lie wholly inside one claimed part, never across two.
struct Parts(Vec<(usize, usize)>);
impl Env for Parts {
    fn owns(&self, block: *const u8, len: usize) -> bool {
        let (a, e) = (block as usize, block as usize + len);
        self.0.iter().any(|&(s, n)| a >= s && e <= s + n)
    }
}

/// Many banks, separate allocated objects, claimed at odd offsets and in
/// odd sizes (some too small for a chunk's skip and tail), with requests
/// aligned up to 4096: under Miri with strict provenance, every pointer
/// must carry its own bank's provenance.
macro_rules! odd_banks {
    ($test:ident, $($arg:tt)*) => {
        #[test]
        fn $test() {
            #[lite_alloc(memory = claimed, page = 1, $($arg)*)]
            struct M;
            static B0: Bank<{ 20 }> = Bank::new();
            static B1: Bank<{ 8 << 10 }> = Bank::new();
            static B2: Bank<{ 33 }> = Bank::new();
            static B3: Bank<{ 12 << 10 }> = Bank::new();
            static B4: Bank<{ 40 << 10 }> = Bank::new();
            static B5: Bank<{ 64 << 10 }> = Bank::new();
            let parts: Vec<(*mut u8, usize)> = vec![
                (B0.start().wrapping_add(1), 19),
                (B1.start().wrapping_add(3), (8 << 10) - 5),
                (B2.start().wrapping_add(7), 26),
                (B3.start().wrapping_add(12), (12 << 10) - 12),
                (B4.start().wrapping_add(5), (40 << 10) - 5),
                (B5.start(), 64 << 10),
            ];
            let env = Parts(parts.iter().map(|&(p, n)| (p as usize, n)).collect());
            // SAFETY: the banks are this test's alone, and `M` too;
            // `check_random_ops` frees every block it allocates.
            unsafe {
                for &(p, n) in &parts {
                    M.claim(p, n);
                }
                for seed in 1..=3 {
                    let plan = Plan {
                        seed,
                        ops: scaled(3000),
                        max_size: 6000,
                        max_align_log2: 12,
                        max_live: 30,
                    };
                    check_random_ops(&M, &plan, &env);
                    M::verify();
                    M::reset();
                }
            }
        }
    };
}

odd_banks!(odd_banks_bins, realloc);
odd_banks!(odd_banks_reuse, large = reuse, realloc);
odd_banks!(
    odd_banks_coalesce,
    large = coalesce,
    realloc,
    bins = [12, 16, 8192]
);
odd_banks!(odd_banks_chunks, bins = [], large = coalesce, realloc);

#[cfg(target_pointer_width = "32")]
mod bins32 {
    use super::*;
    chaos_test!(
        odd_bins_leak,
        granule = 1,
        align_log2 = 13,
        max = 20000,
        page = 1,
        realloc,
        bins = [4, 12, 20, 8196]
    );
    chaos_test!(
        odd_bins_reuse,
        granule = 1,
        align_log2 = 13,
        max = 20000,
        page = 1,
        large = reuse,
        realloc,
        bins = [4, 12, 20, 8196]
    );
    chaos_test!(
        odd_bins_reuse2,
        src(contiguous = false, whole = false, zeroed = false),
        granule = 8,
        align_log2 = 13,
        max = 20000,
        page = 1,
        large = reuse,
        realloc,
        bins = [8, 24, 40]
    );
    chaos_test!(
        odd_bins_coalesce,
        granule = 1,
        align_log2 = 13,
        max = 20000,
        page = 1,
        large = coalesce,
        realloc,
        bins = [4, 12, 20, 8196]
    );
    chaos_test!(
        pow_bins_coalesce,
        granule = 1,
        align_log2 = 13,
        max = 20000,
        page = 1,
        large = coalesce,
        realloc,
        bins = [4, 8, 16, 32, 64, 8192]
    );
}

chaos_test!(
    small_leak,
    src(
        contiguous = true,
        whole = false,
        zeroed = true,
        total = 1 << 17
    ),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    realloc
);
chaos_test!(
    small_reuse,
    src(
        contiguous = true,
        whole = false,
        zeroed = false,
        total = 1 << 17
    ),
    granule = 16,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    large = reuse,
    realloc,
    growth = 1 / 2
);
chaos_test!(
    small_coalesce,
    src(
        contiguous = true,
        whole = false,
        zeroed = true,
        total = 1 << 17
    ),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    large = coalesce,
    realloc,
    bins = [12, 16, 8192]
);
chaos_test!(
    small_chunks,
    src(
        contiguous = false,
        whole = false,
        zeroed = true,
        total = 1 << 17
    ),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    bins = [],
    large = coalesce,
    realloc
);
chaos_test!(
    small_chunks_w,
    src(
        contiguous = false,
        whole = true,
        zeroed = true,
        total = 1 << 17
    ),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    bins = [],
    large = coalesce,
    realloc
);
chaos_test!(
    small_chunks_g,
    src(
        contiguous = true,
        whole = false,
        zeroed = true,
        total = 1 << 18
    ),
    granule = 4096,
    align_log2 = 13,
    max = 20000,
    page = 12288,
    bins = [],
    large = coalesce,
    realloc,
    growth = 1 / 1
);

/// Requests near `isize::MAX`, and alignments up to a quarter of the
/// address space, on every policy and kind of source: null, never an
/// overflow (tests build with overflow checks).
macro_rules! huge_requests {
    ($test:ident, $($arg:tt)*) => {
        #[test]
        fn $test() {
            granular!(G, total = 1 << 16, granule = 4096);
            #[lite_alloc(memory = G, realloc, $($arg)*)]
            struct A;
            let max = isize::MAX as usize;
            let mut layouts = vec![];
            for k in [0usize, 1, 7, 8, 15, 16, 4095, 65536, 1 << 20] {
                layouts.push(layout(max - k, 1));
            }
            for a in [32usize, 4096, 1 << 16, 1 << 20, 1 << (usize::BITS - 2)] {
                layouts.push(layout(1, a));
                layouts.push(layout(max / 2, a));
                layouts.push(layout((max - a + 1) / a * a, a));
            }
            // SAFETY: `A` is this test's alone; blocks served are freed
            // with their layouts.
            unsafe {
                let small = A.alloc(layout(24, 8));
                assert!(!small.is_null());
                for l in layouts {
                    let fits = l.size() < 1 << 16 && l.align() < 1 << 16;
                    let p = A.alloc(l);
                    assert!(p.is_null() || fits, "{l:?} served");
                    if !p.is_null() { assert_eq!(p as usize % l.align(), 0); A.dealloc(p, l); }
                    let p = A.alloc_zeroed(l);
                    assert!(p.is_null() || fits, "{l:?} served");
                    if !p.is_null() { assert_eq!(p as usize % l.align(), 0); A.dealloc(p, l); }
                    if l.align() <= 16 {
                        let q = A.realloc(small, layout(24, 8), l.size());
                        assert!(q.is_null(), "realloc to {l:?} served");
                    }
                }
                A::verify();
            }
        }
    };
}

huge_requests!(huge_leak,);
huge_requests!(huge_reuse, large = reuse);
huge_requests!(huge_coalesce, large = coalesce);
huge_requests!(huge_chunks, bins = [], large = coalesce);
huge_requests!(huge_leak_g, page = 1 << 30, growth = 1 / 1);
huge_requests!(
    huge_chunks_g,
    bins = [],
    large = coalesce,
    page = 1 << 30,
    growth = 1 / 1
);
huge_requests!(
    huge_bigbins_reuse,
    bins = [16, 32, 1073741824],
    large = reuse
);
huge_requests!(
    huge_bigbins_coalesce,
    bins = [16, 32, 1073741824],
    large = coalesce
);

chaos_test!(
    checked_coalesce,
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 1,
    large = coalesce,
    realloc,
    check,
    bins = [12, 16, 8192]
);
chaos_test!(
    checked_chunks_nc,
    src(contiguous = false, whole = false, zeroed = false),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 1,
    bins = [],
    large = coalesce,
    realloc,
    check
);
chaos_test!(
    checked_reuse,
    granule = 16,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    large = reuse,
    realloc,
    check
);
chaos_test!(
    checked_leak_small,
    src(
        contiguous = true,
        whole = false,
        zeroed = true,
        total = 1 << 17
    ),
    granule = 1,
    align_log2 = 13,
    max = 20000,
    page = 4096,
    realloc,
    check
);

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
