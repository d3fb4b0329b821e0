//! How every kind of heap deals with what its memory source does: regions
//! shorter than asked (the allocator asks again), regions anywhere (above
//! or below the ones before), and a source that calls back into its own
//! allocator (refused with null, never a second reference to the heap).

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;
use std::sync::Mutex;

use lite_alloc::lite_alloc;
use lite_alloc_tests::{Bytes, Plan, Regions, RegionsEnv, Rng, all_equal, check_ops};

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Defines `$name`, a memory source over a static of its own (aligned to
/// 64 KiB; `$name::base()` is its first byte) that first hands over
/// `$first` bytes at `$offset` into it, then what is asked, from where the
/// first region ended.
macro_rules! short_first_region {
    ($name:ident, first = $first:expr, offset = $offset:expr) => {
        struct $name {
            used: usize,
        }
        const _: () = {
            const TOTAL: usize = 1 << 20;
            static BYTES: Bytes<TOTAL> = Bytes::new();
            impl $name {
                #[allow(dead_code)]
                fn base() -> *mut u8 {
                    BYTES.base()
                }
            }
            // SAFETY: every region lies in `BYTES`, is handed out once
            // (`used` only grows), and continues the one before.
            unsafe impl lite_alloc::memory::Memory for $name {
                const INIT: Self = $name { used: $offset };
                fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                    let len = if self.used == $offset { $first } else { bytes };
                    BYTES.next_region(&mut self.used, len)
                }
            }
        };
    };
}

/// The `Memory` contract accepts a region shorter than asked: the heap asks
/// again, and the two regions form one. Every kind of heap, with a first
/// region from 1 to 40 bytes at every offset from a 16-aligned address (as
/// `__heap_base` to the end of the initial memory may be on wasm32).
macro_rules! short_first_region_is_not_out_of_memory {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            macro_rules! case {
                ($first:expr, $offset:expr) => {{
                    short_first_region!(Short, first = $first, offset = $offset);
                    #[lite_alloc(memory = Short, page = 4096, $($args)*)]
                    struct A;
                    // SAFETY: `A` is this case's alone; every block is freed.
                    unsafe {
                        for (size, align) in [(8, 1), (24, 8), (200, 16), (5000, 64)] {
                            let l = layout(size, align);
                            let p = A.alloc(l);
                            assert!(
                                !p.is_null(),
                                "first region of {} bytes at offset {}: {size} bytes aligned to {align} got null",
                                $first, $offset
                            );
                            assert_eq!(p as usize % align, 0);
                            p.write_bytes(0x5A, size);
                            A.dealloc(p, l);
                        }
                    }
                }};
            }
            macro_rules! offsets {
                ($first:expr) => {
                    case!($first, 0);
                    case!($first, 4);
                    case!($first, 8);
                    case!($first, 12);
                };
            }
            offsets!(1);
            offsets!(8);
            offsets!(16);
            offsets!(24);
            offsets!(40);
        }
    };
}

short_first_region_is_not_out_of_memory!(short_first_region_bins,);
short_first_region_is_not_out_of_memory!(short_first_region_reuse, large = reuse, realloc);
short_first_region_is_not_out_of_memory!(short_first_region_coalesce, large = coalesce, realloc);
short_first_region_is_not_out_of_memory!(
    short_first_region_chunks,
    bins = [],
    large = coalesce,
    realloc
);

/// A memory source that allocates from its own allocator while it grows
/// (which its `Memory` contract forbids): the inner call must be refused
/// with null, not reach the heap a second time.
macro_rules! reentry_is_refused {
    ($test:ident, $($args:tt)*) => {
        #[test]
        #[cfg(debug_assertions)]
        fn $test() {
            use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
            static INNER: AtomicUsize = AtomicUsize::new(1);
            static ENTERED: AtomicBool = AtomicBool::new(false);
            struct Reentrant;
            const TOTAL: usize = 1 << 20;
            static BYTES: Bytes<TOTAL> = Bytes::new();
            // SAFETY: hands out each half of `BYTES` once. It breaks the
            // contract's rule against calling into its own allocator on
            // purpose: that is what this test is about.
            unsafe impl lite_alloc::memory::Memory for Reentrant {
                const INIT: Self = Reentrant;
                fn grow(&mut self, _bytes: usize) -> Option<NonNull<[u8]>> {
                    let base = BYTES.base();
                    if ENTERED.swap(true, SeqCst) {
                        // Asked from inside the inner call, had it reached
                        // the heap: the second half, so that it would
                        // succeed.
                        let half = NonNull::new(base.wrapping_add(TOTAL / 2))?;
                        return Some(NonNull::slice_from_raw_parts(half, TOTAL / 2));
                    }
                    // SAFETY: a valid layout.
                    let inner = unsafe { A.alloc(layout(8, 8)) };
                    INNER.store(inner as usize, SeqCst);
                    Some(NonNull::slice_from_raw_parts(NonNull::new(base)?, TOTAL / 2))
                }
            }
            #[lite_alloc(memory = Reentrant, $($args)*)]
            struct A;
            // SAFETY: `A` is this test's alone.
            let outer = unsafe { A.alloc(layout(8, 8)) };
            assert!(!outer.is_null(), "the outer call gets its block");
            assert_eq!(INNER.load(SeqCst), 0, "the call from inside `grow` got null");
            // SAFETY: as above; the block was allocated with this layout.
            unsafe { A.dealloc(outer, layout(8, 8)) };
        }
    };
}

reentry_is_refused!(reentry_refused_bins, sync = critical_section);
reentry_is_refused!(
    reentry_refused_reuse,
    sync = critical_section,
    large = reuse
);
reentry_is_refused!(
    reentry_refused_chunks,
    sync = critical_section,
    bins = [],
    large = coalesce
);

/// A first region in the last bytes of the address space, `$len` bytes from
/// `usize::MAX - $below`: too short for a chunk's alignment (its start plus
/// the skip to the first chunk would wrap to address 0), or ending at the
/// very top (its end would wrap). The heap uses none of it (its bytes are
/// never touched, so it is not real memory here) and asks again, for the
/// same request.
/// `whole`: the source says it hands over all it has at once
/// ([`Memory::WHOLE`](lite_alloc::memory::Memory::WHOLE)), yet has a second
/// region; the heap opens it anew all the same.
macro_rules! region_at_the_top_of_the_address_space {
    ($test:ident, whole = $whole:expr, below = $below:expr, len = $len:expr, $($args:tt)*) => {
        #[test]
        fn $test() {
            struct TopThenReal {
                calls: usize,
            }
            const TOTAL: usize = 1 << 20;
            static BYTES: Bytes<TOTAL> = Bytes::new();
            // SAFETY (for this test only): the first region is not memory,
            // and the heap must not touch it; the second is `BYTES`, once.
            unsafe impl lite_alloc::memory::Memory for TopThenReal {
                const INIT: Self = TopThenReal { calls: 0 };
                const WHOLE: bool = $whole;
                fn grow(&mut self, _bytes: usize) -> Option<NonNull<[u8]>> {
                    self.calls += 1;
                    match self.calls {
                        1 => {
                            let start = NonNull::new(std::ptr::without_provenance_mut(usize::MAX - $below))?;
                            Some(NonNull::slice_from_raw_parts(start, $len))
                        }
                        2 => {
                            let base = BYTES.base();
                            Some(NonNull::slice_from_raw_parts(NonNull::new(base)?, TOTAL))
                        }
                        _ => None,
                    }
                }
            }
            #[lite_alloc(memory = TopThenReal, $($args)*)]
            struct A;
            // SAFETY: `A` is this test's alone; the block is freed with its
            // layout.
            unsafe {
                let l = layout(40, 8);
                let p = A.alloc(l);
                assert!(!p.is_null());
                let inside = p as usize >= BYTES.base() as usize;
                assert!(inside, "the block lies in the real region: {p:p}");
                p.write_bytes(1, 40);
                A.dealloc(p, l);
            }
            A::verify();
        }
    };
}

/// The first region's placement: 5 bytes from 6 below the top (short), and
/// 4096 bytes that end at the top.
macro_rules! region_at_the_top_each {
    ($short:ident, $at_top:ident, whole = $whole:expr, $($args:tt)*) => {
        region_at_the_top_of_the_address_space!($short, whole = $whole, below = 6, len = 5, $($args)*);
        region_at_the_top_of_the_address_space!($at_top, whole = $whole, below = 4095, len = 4096, $($args)*);
    };
}

region_at_the_top_each!(
    top_region_chunks,
    ends_at_top_chunks,
    whole = false,
    bins = [],
    large = coalesce
);
region_at_the_top_each!(
    top_region_coalesce,
    ends_at_top_coalesce,
    whole = false,
    large = coalesce
);
region_at_the_top_each!(
    top_region_bins,
    ends_at_top_bins,
    whole = false,
    page = 4096
);
region_at_the_top_each!(
    top_region_whole_chunks,
    ends_at_top_whole_chunks,
    whole = true,
    bins = [],
    large = coalesce
);
region_at_the_top_each!(top_region_whole_bins, ends_at_top_whole_bins, whole = true,);

/// An arena is zero when handed over, and its `reset` zeroes again only the
/// part the heap used: a block that `alloc_zeroed` takes from fresh memory
/// after a reset (no `memset`) reads as zero all the same, wherever the
/// blocks before the reset had been, including memory a freed chunk gave
/// back to the bump pointer.
macro_rules! arena_reset_zeroes_what_was_used {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            // A quarter of the bytes under Miri, which reads each one slowly.
            const SCALE: usize = if cfg!(miri) { 4 } else { 1 };
            #[lite_alloc(memory = arena((64 << 10) / SCALE), $($args)*)]
            struct A;
            // Large blocks, then small ones, written all over; the last
            // large one freed (with chunks, it goes back to the bump
            // pointer, and the memory past the pointer is no longer fresh).
            let sizes = [(8 << 10) / SCALE, (4 << 10) / SCALE, 24, 100, 300, (16 << 10) / SCALE];
            for round in 0..3 {
                // SAFETY: `A` is this test's alone; blocks are freed with
                // their layouts, and only their own bytes are written.
                unsafe {
                    let mut live = Vec::new();
                    for &size in &sizes {
                        let l = layout(size, 8);
                        let p = A.alloc_zeroed(l);
                        assert!(!p.is_null(), "round {round}: {size} B");
                        let bytes = std::slice::from_raw_parts(p, size);
                        assert!(
                            all_equal(bytes, 0),
                            "round {round}: a {size}-byte zeroed block has a byte set"
                        );
                        p.write_bytes(0xA5, size);
                        live.push((p, l));
                    }
                    let (last, l) = live.pop().unwrap();
                    A.dealloc(last, l);
                    A::verify();
                    A::reset();
                }
            }
        }
    };
}

arena_reset_zeroes_what_was_used!(arena_reset_leak,);
arena_reset_zeroes_what_was_used!(arena_reset_reuse, large = reuse);
arena_reset_zeroes_what_was_used!(arena_reset_coalesce, large = coalesce);
arena_reset_zeroes_what_was_used!(arena_reset_general, bins = [], large = coalesce);

/// A contiguous source may hand over a region below an earlier one. Where
/// freed blocks go back to the unused memory, the heap's mark of the memory
/// it ever carved is then above the whole region: a block carved there,
/// written, freed back to the bump pointer and carved again by
/// `alloc_zeroed` reads as zero all the same; `verify()` accepts the heap;
/// and `reset` tells the source an address inside the latest region, at or
/// past what was written there.
macro_rules! region_below_an_earlier_one {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            use std::sync::atomic::{AtomicUsize, Ordering};
            // A higher region, then a lower one, 4 KiB each.
            const REGIONS: [(usize, usize); 2] = [(0x4_0000, 0x1000), (0x1_0000, 0x1000)];
            static BYTES: Bytes<{ 1 << 20 }> = Bytes::new();
            static USED: AtomicUsize = AtomicUsize::new(usize::MAX);
            struct Falling {
                next: usize,
            }
            // SAFETY: every region lies in `BYTES`, is handed out once until
            // `reset`, overlaps no other and never starts where another
            // ended; `BYTES` is zero until the heap writes it.
            unsafe impl lite_alloc::memory::Memory for Falling {
                const INIT: Self = Falling { next: 0 };
                const ZEROED: bool = true;
                fn grow(&mut self, _bytes: usize) -> Option<NonNull<[u8]>> {
                    let &(offset, len) = REGIONS.get(self.next)?;
                    self.next += 1;
                    let start = NonNull::new(BYTES.base().wrapping_add(offset))?;
                    Some(NonNull::slice_from_raw_parts(start, len))
                }
                fn reset_used(&mut self, used: usize) {
                    USED.store(used, Ordering::Relaxed);
                    self.next = 0;
                }
            }
            #[lite_alloc(memory = Falling, page = 4096, $($args)*)]
            struct A;
            let l = layout(3000, 8);
            let (lower, lower_end) = {
                let (offset, len) = REGIONS[1];
                let start = BYTES.base().addr() + offset;
                (start, start + len)
            };
            // SAFETY: `A` is this test's alone; blocks are freed with their
            // layouts, and only their own bytes are written.
            unsafe {
                let high = A.alloc(l);
                assert!(!high.is_null(), "the higher region");
                high.write_bytes(0xA5, 3000);
                let low = A.alloc(l);
                assert!((lower..lower_end).contains(&low.addr()), "the block is not in the lower region");
                low.write_bytes(0xA5, 3000);
                A.dealloc(low, l);
                A::verify();
                let again = A.alloc_zeroed(l);
                assert!((lower..lower_end).contains(&again.addr()), "the block is not in the lower region");
                assert!(
                    all_equal(std::slice::from_raw_parts(again, 3000), 0),
                    "a zeroed block from the lower region has a byte set"
                );
                again.write_bytes(0xA5, 3000);
                A::verify();
                A.dealloc(again, l);
                A.dealloc(high, l);
                A::reset();
            }
            let used = USED.load(Ordering::Relaxed);
            assert!(
                used <= lower_end && used >= lower + 3000,
                "reset told the source {used:#x}, outside [{:#x}, {lower_end:#x}] where the lower region was written",
                lower + 3000
            );
        }
    };
}

region_below_an_earlier_one!(region_below_an_earlier_one_reuse, large = reuse);
region_below_an_earlier_one!(
    region_below_an_earlier_one_chunks,
    bins = [],
    large = coalesce
);
region_below_an_earlier_one!(
    region_below_an_earlier_one_bins_and_chunks,
    large = coalesce,
    realloc
);

/// A contiguous zeroed source whose regions land anywhere in its static:
/// in a free slot (above or below the regions before, often too short for
/// the heap to use), or continuing the previous region. Its `reset_used`
/// checks that the latest region is untouched from `used` on, then clears
/// only what the heap may have written, as an arena does.
struct Scatter {
    rng: u64,
    taken: [bool; Scatter::SLOTS],
    /// The regions handed over since the last reset, `(start, len)`.
    regions: Vec<(usize, usize)>,
    /// Where the previous region's slot ends, less its guard.
    limit: usize,
    refused: bool,
    /// What `reset_used` found wrong.
    failures: Vec<String>,
}

impl Scatter {
    const SLOT: usize = 128 << 10;
    const SLOTS: usize = 16;
    /// Bytes at the end of every slot that no region covers, so that no
    /// region starts where one in another slot ended.
    const GUARD: usize = 256;

    const fn new() -> Self {
        Scatter {
            rng: 1,
            taken: [false; Scatter::SLOTS],
            regions: Vec::new(),
            limit: 0,
            refused: false,
            failures: Vec::new(),
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn grow(&mut self, base: *mut u8, bytes: usize, whole: bool) -> Option<NonNull<[u8]>> {
        if self.below(20) == 0 {
            self.refused = true;
            return None;
        }
        let len = bytes
            + if self.below(4) == 0 {
                self.below(5000) as usize
            } else {
                0
            };
        // A whole source's regions never continue each other.
        let next = self.regions.last().map(|&(start, len)| start + len);
        let (start, len) = match next {
            Some(next) if !whole && self.below(3) == 0 && next + len <= self.limit => (next, len),
            _ => {
                let free: Vec<usize> = (0..Self::SLOTS).filter(|&i| !self.taken[i]).collect();
                let offset = self.below(64) as usize;
                let len = if self.below(10) == 0 {
                    1 + self.below(24) as usize
                } else {
                    len
                };
                if free.is_empty() || offset + len + Self::GUARD > Self::SLOT {
                    self.refused = true;
                    return None;
                }
                let slot = free[self.below(free.len() as u64) as usize];
                self.taken[slot] = true;
                self.limit = base.addr() + (slot + 1) * Self::SLOT - Self::GUARD;
                (base.addr() + slot * Self::SLOT + offset, len)
            }
        };
        self.regions.push((start, len));
        let start = NonNull::new(base.wrapping_add(start - base.addr()))?;
        Some(NonNull::slice_from_raw_parts(start, len))
    }

    fn reset_used(&mut self, base: *mut u8, used: usize) {
        let regions = std::mem::take(&mut self.regions);
        self.taken = [false; Self::SLOTS];
        let Some((&(start, len), earlier)) = regions.split_last() else {
            return;
        };
        let end = start + len;
        let from = used.clamp(start, end);
        // SAFETY: the latest region lies in the static, and nothing uses it
        // any more.
        let rest = unsafe {
            std::slice::from_raw_parts(base.wrapping_add(from - base.addr()), end - from)
        };
        if !all_equal(rest, 0) {
            self.failures.push(format!(
                "reset_used({used:#x}), but the latest region [{start:#x}, {end:#x}) was written after it"
            ));
        }
        // SAFETY: as above, for every region handed over.
        unsafe {
            base.wrapping_add(start - base.addr())
                .write_bytes(0, from - start);
            for &(start, len) in earlier {
                base.wrapping_add(start - base.addr()).write_bytes(0, len);
            }
        }
    }
}

impl Regions for Scatter {
    fn regions(&self) -> &[(usize, usize)] {
        &self.regions
    }
    fn refused(&mut self) -> &mut bool {
        &mut self.refused
    }
}

/// The shadow model over a [`Scatter`] source, every kind of heap: zeroed
/// blocks read as zero wherever their region lies, `verify()` accepts the
/// heap after every step, and `reset` tells the source where its latest
/// region is still as handed over.
macro_rules! regions_anywhere {
    ($test:ident, whole = $whole:expr, $($args:tt)*) => {
        #[test]
        #[cfg_attr(
            miri,
            ignore = "minutes under Miri; natively on every target (`region_below_an_earlier_one` runs under Miri)"
        )]
        fn $test() {
            static BYTES: Bytes<{ Scatter::SLOT * Scatter::SLOTS }> = Bytes::new();
            static SCATTER: Mutex<Scatter> = Mutex::new(Scatter::new());
            struct Src;
            // SAFETY: every region lies in `BYTES` and overlaps no other
            // until `reset`; one starts where another ended only when it
            // continues the previous one, and never for a whole source (the
            // guards between slots); `BYTES` reads as zero where handed
            // over (`reset_used` clears what the heap may have written).
            unsafe impl lite_alloc::memory::Memory for Src {
                const INIT: Self = Src;
                const ZEROED: bool = true;
                const WHOLE: bool = $whole;
                fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                    SCATTER.lock().unwrap().grow(BYTES.base(), bytes, $whole)
                }
                fn reset_used(&mut self, used: usize) {
                    SCATTER.lock().unwrap().reset_used(BYTES.base(), used);
                }
            }
            #[lite_alloc(memory = Src, $($args)*)]
            struct A;
            let env = RegionsEnv { source: &SCATTER, verify: A::verify };
            for seed in 0..40_u64 {
                SCATTER.lock().unwrap().rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for (max_size, align) in [(300, 5), (6000, 6), (70_000, 12)] {
                    let plan = Plan { seed, ops: 1500, max_size, max_align_log2: align, max_live: 60 };
                    // SAFETY: `A` is this test's alone; the model frees every
                    // block before `reset`.
                    unsafe {
                        check_ops(&A, &plan, &env, &mut Rng::new(seed));
                        A::reset();
                    }
                    let failures = std::mem::take(&mut SCATTER.lock().unwrap().failures);
                    assert!(failures.is_empty(), "seed {seed}: {failures:#?}");
                }
            }
        }
    };
}

regions_anywhere!(regions_anywhere_leak, whole = false, page = 64);
regions_anywhere!(
    regions_anywhere_reuse,
    whole = false,
    large = reuse,
    realloc,
    page = 64
);
regions_anywhere!(
    regions_anywhere_coalesce,
    whole = false,
    large = coalesce,
    realloc,
    page = 64
);
regions_anywhere!(
    regions_anywhere_chunks_growth,
    whole = false,
    bins = [],
    large = coalesce,
    realloc,
    page = 1,
    growth = 1 / 3
);
regions_anywhere!(
    regions_anywhere_whole_chunks,
    whole = true,
    bins = [],
    large = coalesce,
    realloc
);
regions_anywhere!(
    regions_anywhere_checked,
    whole = false,
    large = coalesce,
    realloc,
    check,
    page = 64
);

/// A source that hands over all it has is asked, as any source, for whole
/// granules.
#[test]
fn whole_source_asked_for_whole_granules() {
    struct Granules {
        given: bool,
    }
    const TOTAL: usize = 1 << 16;
    static BYTES: Bytes<TOTAL> = Bytes::new();
    // SAFETY: `BYTES`, handed out once.
    unsafe impl lite_alloc::memory::Memory for Granules {
        const INIT: Self = Granules { given: false };
        const WHOLE: bool = true;
        const GRANULE: usize = 4096;
        fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
            assert_eq!(
                bytes % 4096,
                0,
                "asked for {bytes} bytes, not whole granules"
            );
            if self.given {
                return None;
            }
            self.given = true;
            let base = BYTES.base();
            Some(NonNull::slice_from_raw_parts(NonNull::new(base)?, TOTAL))
        }
    }
    #[lite_alloc(memory = Granules)]
    struct A;
    // SAFETY: `A` is this test's alone.
    unsafe { assert!(!A.alloc(layout(24, 8)).is_null()) };
}

/// A source that hands over all it has, yet has more regions, each exactly
/// what it is asked for and never continuing the one before (as its safety
/// requirements say). The heap opens each anew, so it asks for all a
/// request needs in a region of its own (its worst padding and the
/// policy's slack), not for what the current region lacks: asked for less,
/// such a source would be called again and again and never fit the block.
macro_rules! whole_source_with_exact_regions {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            struct Exact {
                used: usize,
                calls: usize,
            }
            const TOTAL: usize = 1 << 20;
            static BYTES: Bytes<TOTAL> = Bytes::new();
            // SAFETY: every region lies in `BYTES` and is handed out once
            // (`used` only grows), 64 bytes after the one before.
            unsafe impl lite_alloc::memory::Memory for Exact {
                const INIT: Self = Exact { used: 0, calls: 0 };
                const WHOLE: bool = true;
                fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
                    self.calls += 1;
                    assert!(self.calls <= 64, "asked {} times, the last for {bytes} B", self.calls);
                    if bytes > TOTAL - self.used {
                        return None;
                    }
                    let base = BYTES.base();
                    let start = NonNull::new(base.wrapping_add(self.used))?;
                    self.used += bytes + 64;
                    Some(NonNull::slice_from_raw_parts(start, bytes))
                }
            }
            #[lite_alloc(memory = Exact, $($args)*)]
            struct A;
            // SAFETY: `A` is this test's alone; blocks are freed with their
            // layouts, and only their own bytes are written.
            unsafe {
                let mut live = Vec::new();
                for (i, size) in [100, 24, 3000, 8, 100, 9000, 40].into_iter().enumerate() {
                    let l = layout(size, if i % 2 == 0 { 8 } else { 32 });
                    let p = A.alloc(l);
                    assert!(!p.is_null(), "{size} B");
                    p.write_bytes(0xA5, size);
                    live.push((p, l));
                }
                A::verify();
                for (p, l) in live {
                    A.dealloc(p, l);
                }
            }
            A::verify();
        }
    };
}

whole_source_with_exact_regions!(whole_exact_regions_leak,);
whole_source_with_exact_regions!(whole_exact_regions_reuse, large = reuse);
whole_source_with_exact_regions!(whole_exact_regions_coalesce, large = coalesce);
whole_source_with_exact_regions!(whole_exact_regions_chunks, bins = [], large = coalesce);

/// Bins in front of chunks carve their blocks from slabs of 8 KiB; memory
/// short of that (an arena of 4 KiB, the last bytes of a memory) still
/// serves them, from a slab of just the block: the arena fills up before a
/// bin request gets null.
macro_rules! bins_on_less_than_a_slab {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            #[lite_alloc(memory = arena(4096), large = coalesce, stats, $($args)*)]
            struct A;
            // SAFETY: `A` is this test's alone; blocks are freed with their
            // layouts, and only their own bytes are written.
            unsafe {
                let mut live = Vec::new();
                let mut size = 8;
                loop {
                    let l = layout(size, 8);
                    let p = A.alloc(l);
                    if p.is_null() {
                        break;
                    }
                    p.write_bytes(0xA5, size);
                    live.push((p, l));
                    size = size % 128 + 24;
                }
                A::verify();
                let held: usize = live.iter().map(|(_, l)| l.size()).sum();
                assert!(held >= 2560, "{held} B of 4096 held in bins: {:?}", A::stats());
                for (p, l) in live.drain(..).rev() {
                    A.dealloc(p, l);
                }
                A::verify();
                let p = A.alloc(layout(100, 8));
                assert!(!p.is_null(), "a bin request after every block was freed");
                A.dealloc(p, layout(100, 8));
            }
        }
    };
}

bins_on_less_than_a_slab!(bins_on_less_than_a_slab_coalesce,);
bins_on_less_than_a_slab!(bins_on_less_than_a_slab_realloc, realloc);

/// A source that hands over all it has does so whatever it is asked (the
/// heap asks for a block's worst padding too): a block as large as the
/// whole buffer is served when the buffer is aligned for it.
macro_rules! whole_buffer_serves_its_size {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            #[lite_alloc(memory = arena(4096), $($args)*)]
            struct A;
            // SAFETY: `A` is this test's alone; the block is freed with its
            // layout.
            unsafe {
                let l = layout(4096, 16);
                let p = A.alloc(l);
                assert!(!p.is_null(), "a 4096-byte block from a 4096-byte arena");
                p.write_bytes(0xA5, 4096);
                A.dealloc(p, l);
            }
        }
    };
}

whole_buffer_serves_its_size!(whole_buffer_serves_its_size_leak,);
whole_buffer_serves_its_size!(whole_buffer_serves_its_size_reuse, large = reuse);

/// The `Memory` contract forbids a region that starts where a region before
/// the previous one ended: the heap, which knows only its current region,
/// would take a block ending there for the last one it carved (with `large
/// = reuse`, freed back to the bump pointer; with in-place realloc, grown
/// across). With debug assertions, `verify()` reports such a source. Here:
/// region A, then C elsewhere, then B where A ended. (Where a panic
/// unwinds: the test catches `verify()`'s.)
#[cfg(all(debug_assertions, panic = "unwind"))]
macro_rules! region_after_an_older_one_is_reported {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            struct OutOfOrder {
                next: usize,
            }
            const REGIONS: [(usize, usize); 3] = [(0x1_0000, 0x1000), (0x4_0000, 0x1000), (0x1_1000, 0x1000)];
            static BYTES: Bytes<{ 1 << 20 }> = Bytes::new();
            // SAFETY: every region lies in `BYTES`, is handed out once and
            // overlaps no other (the third breaks the contract on purpose,
            // which the heap then reports).
            unsafe impl lite_alloc::memory::Memory for OutOfOrder {
                const INIT: Self = OutOfOrder { next: 0 };
                fn grow(&mut self, _bytes: usize) -> Option<NonNull<[u8]>> {
                    let &(offset, len) = REGIONS.get(self.next)?;
                    self.next += 1;
                    let start = NonNull::new(BYTES.base().wrapping_add(offset))?;
                    Some(NonNull::slice_from_raw_parts(start, len))
                }
            }
            #[lite_alloc(memory = OutOfOrder, page = 4096, $($args)*)]
            struct A;
            // One block to a region.
            let l = layout(3000, 16);
            // SAFETY: `A` is this test's alone; its blocks are left to it.
            unsafe {
                assert!(!A.alloc(l).is_null(), "region A");
                assert!(!A.alloc(l).is_null(), "region C");
                A::verify();
                assert!(!A.alloc(l).is_null(), "region B");
            }
            let report = std::panic::catch_unwind(|| A::verify())
                .expect_err("verify() accepted a region that starts where an older one ended");
            let message = report.downcast_ref::<String>().map_or("", String::as_str);
            assert!(
                message.contains("starts where a region before the previous one ended"),
                "{message}"
            );
        }
    };
}

#[cfg(all(debug_assertions, panic = "unwind"))]
region_after_an_older_one_is_reported!(region_after_an_older_one_is_reported_leak,);
#[cfg(all(debug_assertions, panic = "unwind"))]
region_after_an_older_one_is_reported!(region_after_an_older_one_is_reported_reuse, large = reuse);
#[cfg(all(debug_assertions, panic = "unwind"))]
region_after_an_older_one_is_reported!(
    region_after_an_older_one_is_reported_chunks,
    bins = [],
    large = coalesce
);

/// A source that hands over all it has (`WHOLE`) is asked, for a chunk,
/// exactly the chunk's worst case in a region of its own: the chunk, the
/// padding that aligns its payload to the grain (`GRAIN - 1` at most) and
/// the word kept free at the region's end. Asking less could leave the
/// block unserved by a region that holds it; asking more would make a
/// source of exactly that size refuse it.
#[test]
fn whole_source_asked_for_a_chunk_and_its_slack_exactly() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const WORD: usize = size_of::<usize>();
    const GRAIN: usize = 2 * WORD;
    // A 1000-byte request takes a chunk of 1008 bytes on 64-bit and 32-bit
    // targets alike (its header, rounded up to the grain).
    const WORST: usize = 1008 + (GRAIN - 1) + WORD;
    static ASKED: AtomicUsize = AtomicUsize::new(0);
    static BYTES: Bytes<WORST> = Bytes::new();
    struct Tight {
        given: bool,
    }
    // SAFETY: one region, all of `BYTES`, handed out once.
    unsafe impl lite_alloc::memory::Memory for Tight {
        const INIT: Self = Tight { given: false };
        const WHOLE: bool = true;
        fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
            ASKED.store(bytes, Ordering::Relaxed);
            if std::mem::replace(&mut self.given, true) {
                return None;
            }
            let start = NonNull::new(BYTES.base())?;
            Some(NonNull::slice_from_raw_parts(start, WORST))
        }
    }
    #[lite_alloc(memory = Tight, bins = [], large = coalesce)]
    struct A;
    // SAFETY: `A` is this test's alone; the block is freed with its layout.
    unsafe {
        let l = layout(1000, 8);
        let p = A.alloc(l);
        assert!(!p.is_null(), "a source of {WORST} B refused the block");
        assert_eq!(
            ASKED.load(Ordering::Relaxed),
            WORST,
            "bytes asked for a 1008-byte chunk"
        );
        p.write_bytes(0xA5, 1000);
        A::verify();
        A.dealloc(p, l);
    }
    A::verify();
}

/// A first region just long enough for a chunk region's skip and tail
/// (`GRAIN` bytes from a grain-aligned start: a word skipped, a word of
/// tail) is opened, with no room; the next region, which continues it,
/// extends it, and the first chunk's payload lies one grain in. Given up
/// instead, it would be lost, and the chunk placed a grain further (found
/// missing by mutation testing).
#[test]
fn a_region_of_just_its_skip_and_tail_is_used() {
    const GRAIN: usize = 2 * size_of::<usize>();
    short_first_region!(Short, first = GRAIN, offset = 0);
    #[lite_alloc(memory = Short, page = 4096, bins = [], large = coalesce)]
    struct A;
    let l = layout(1000, 8);
    // SAFETY: `A` is this test's alone; the block is freed with its layout.
    let offset = unsafe {
        let p = A.alloc(l);
        assert!(!p.is_null());
        p.write_bytes(0xA5, 1000);
        A.dealloc(p, l);
        p.addr() - Short::base().addr()
    };
    A::verify();
    assert_eq!(offset, GRAIN, "the first chunk's payload");
}

/// A source whose regions continue each other is asked only for what the
/// current region lacks (the block less the room left there), in whole
/// pages: with 16 bytes used of a first page, a block of 4096 bytes lacks
/// 16, so one more page is asked for, and a source with exactly one page
/// left serves it. Asking for the block plus the room left (two pages, and
/// then, refused, for 8176 bytes in place of the 16 missing) would leave
/// the block unserved (found missing by mutation testing).
#[test]
fn contiguous_source_asked_for_what_the_region_lacks() {
    use std::sync::Mutex;
    const PAGE: usize = 4096;
    const TOTAL: usize = 2 * PAGE;
    static ASKED: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    static BYTES: Bytes<TOTAL> = Bytes::new();
    struct TwoPages {
        used: usize,
    }
    // SAFETY: every region lies in `BYTES`, is handed out once (`used`
    // only grows), and continues the one before.
    unsafe impl lite_alloc::memory::Memory for TwoPages {
        const INIT: Self = TwoPages { used: 0 };
        fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
            ASKED.lock().unwrap().push(bytes);
            BYTES.next_region(&mut self.used, bytes)
        }
    }
    #[lite_alloc(memory = TwoPages, page = 4096)]
    struct A;
    let (small, big) = (layout(16, 8), layout(PAGE, 8));
    // SAFETY: `A` is this test's alone; blocks are freed with their
    // layouts, and only their own bytes are written.
    unsafe {
        let p = A.alloc(small);
        assert!(!p.is_null());
        let q = A.alloc(big);
        assert!(!q.is_null(), "a block that the page left holds got null");
        q.write_bytes(0xA5, PAGE);
        A::verify();
        A.dealloc(q, big);
        A.dealloc(p, small);
    }
    A::verify();
    assert_eq!(
        *ASKED.lock().unwrap(),
        [PAGE, PAGE],
        "bytes asked of the source"
    );
}
