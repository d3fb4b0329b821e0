//! Heap statistics (`#[lite_alloc(stats)]`).
//!
//! With the `stats` flag the generated type keeps counters and gains an
//! associated `stats()` returning a [`Stats`]; without it the heap records
//! into [`NoStats`], whose methods are empty, so there is no code and no
//! state at all.
//!
//! ```
//! #[lite_alloc::lite_alloc(stats, memory = arena(65536))]
//! struct Counted;
//!
//! use core::alloc::{GlobalAlloc, Layout};
//! let layout = Layout::from_size_align(24, 8).unwrap();
//! unsafe {
//!     let block = Counted.alloc(layout);
//!     Counted.dealloc(block, layout);
//!     let again = Counted.alloc(layout);
//!     let stats = Counted::stats();
//!     assert_eq!(stats.in_use, 24);
//!     assert_eq!(stats.bin(32).unwrap().hits, 1);
//!     Counted.dealloc(again, layout);
//! }
//! ```

use core::fmt;

/// The most bins a configuration may have.
pub const MAX_BINS: usize = 64;

/// What one allocator type has done so far (a snapshot).
///
/// Byte counts are of the requests as made (`Layout::size`) where they say
/// "requested", and of memory as carved otherwise. Once the checked mode
/// has seen the heap hand out a block twice (its free lists written through
/// a stale pointer), the free lists are no longer used, and what the
/// counters say of them is what they held then, never below zero.
#[derive(Clone, Copy)]
pub struct Stats {
    /// Bytes requested by the blocks that are live now.
    pub in_use: usize,
    /// The most `in_use` has been.
    pub peak_in_use: usize,
    /// Bytes of the blocks that are live now, at their full size: the bin's
    /// or the large class's. `in_use_capacity - in_use` is what rounding
    /// costs now.
    pub in_use_capacity: usize,
    /// Bytes obtained from the memory source: wasm pages, regions of another
    /// allocator, or all of an arena (handed over whole at the first
    /// allocation), whether used or not: of an arena, [`bumped`](Self::bumped)
    /// says how much the blocks took.
    pub obtained: usize,
    /// Bytes carved from the bump pointer and not given back (blocks at their
    /// bin's or class's full size, and alignment padding).
    pub bumped: usize,
    /// Bytes of freed blocks larger than every bin (or aligned beyond what a
    /// bin guarantees) that are never reused: `large = leak` (lite-alloc
    /// 0.1.0's four-bin design) leaks them; `large = reuse` does not. In
    /// the checked mode, once it has seen the heap hand out a block twice
    /// (its lists written through a stale pointer), every block freed from
    /// then on too, canary included, as it leaves the quarantine: the
    /// heap's lists are no longer used. With `large = coalesce`, once it
    /// has found a free chunk's words so written, the free chunks its lists
    /// then forget, and the block (or the tail of a block shrunk in place)
    /// whose free found them and was refused.
    pub leaked: usize,
    /// With `large = reuse` or `coalesce`: bytes of large blocks waiting in
    /// free lists.
    pub large_free: usize,
    /// With `large = reuse` or `coalesce`: large allocations served from a
    /// free list.
    pub large_hits: u64,
    /// With `large = reuse` or `coalesce`: large blocks given back to the
    /// bump pointer because they were the last carved.
    pub large_to_top: u64,
    /// Allocations (and reallocations) that returned null for want of
    /// memory. In a checked type, a `realloc` of a block it reports as
    /// misused returns null too, and is counted among the misuses
    /// ([`Checks::misuses`](crate::check::Checks::misuses)), not here.
    pub failed: u64,
    bins: [BinStats; MAX_BINS],
    bin_count: usize,
}

/// One bin's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinStats {
    /// The bin's block size.
    pub size: usize,
    /// Blocks in its free list now.
    pub free: usize,
    /// Allocations served from its free list.
    pub hits: u64,
    /// Allocations that found its list empty and carved a new block.
    pub misses: u64,
}

impl Stats {
    /// Each bin's counters, smallest bin first.
    pub fn bins(&self) -> &[BinStats] {
        &self.bins[..self.bin_count]
    }

    /// The counters of the bin whose blocks are `size` bytes, if there is one.
    pub fn bin(&self, size: usize) -> Option<&BinStats> {
        self.bins().iter().find(|bin| bin.size == size)
    }
}

impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stats")
            .field("in_use", &self.in_use)
            .field("peak_in_use", &self.peak_in_use)
            .field("in_use_capacity", &self.in_use_capacity)
            .field("obtained", &self.obtained)
            .field("bumped", &self.bumped)
            .field("leaked", &self.leaked)
            .field("large_free", &self.large_free)
            .field("large_hits", &self.large_hits)
            .field("large_to_top", &self.large_to_top)
            .field("failed", &self.failed)
            .field("bins", &self.bins())
            .finish()
    }
}

/// One line to log, bins last (their sizes, then each counter bin by bin):
///
/// ```text
/// in use 120 B (peak 1040 B, 160 B in blocks), obtained 4096 B, carved 1208 B, leaked 1000 B, large free 0 B (0 reused, 0 back to the top), 2 failed; bins 16/32/64/128 B: hits 0/1/0/0, misses 0/2/0/1, free 0/1/0/0
/// ```
///
/// It allocates nothing, so it can report the global allocator's own
/// statistics (`println!("{}", MyAlloc::stats())`).
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "in use {} B (peak {} B, {} B in blocks), obtained {} B, carved {} B, leaked {} B, large free {} B ({} reused, {} back to the top), {} failed; ",
            self.in_use,
            self.peak_in_use,
            self.in_use_capacity,
            self.obtained,
            self.bumped,
            self.leaked,
            self.large_free,
            self.large_hits,
            self.large_to_top,
            self.failed,
        )?;
        let bins = self.bins();
        if bins.is_empty() {
            return f.write_str("no bins");
        }
        /// The values of one counter, bin by bin, joined with `/`.
        fn each<T: fmt::Display>(
            f: &mut fmt::Formatter<'_>,
            bins: &[BinStats],
            value: impl Fn(&BinStats) -> T,
        ) -> fmt::Result {
            for (i, bin) in bins.iter().enumerate() {
                if i > 0 {
                    f.write_str("/")?;
                }
                write!(f, "{}", value(bin))?;
            }
            Ok(())
        }
        f.write_str("bins ")?;
        each(f, bins, |b| b.size)?;
        f.write_str(" B: hits ")?;
        each(f, bins, |b| b.hits)?;
        f.write_str(", misses ")?;
        each(f, bins, |b| b.misses)?;
        f.write_str(", free ")?;
        each(f, bins, |b| b.free)
    }
}

/// Where a heap records what it does. Every method does nothing unless the
/// implementation says otherwise: [`NoStats`] leaves them all empty.
pub trait Record: 'static {
    /// The state before anything happened.
    const INIT: Self;
    /// Whether anything is recorded: the heap skips work done only for the
    /// record (such as computing a block's capacity) when it is not.
    const ON: bool = false;
    /// `bytes` were requested and handed out, in a block of `capacity`.
    #[inline(always)]
    fn allocated(&mut self, _bytes: usize, _capacity: usize) {}
    /// A block requested with `bytes`, of `capacity`, was freed.
    #[inline(always)]
    fn freed(&mut self, _bytes: usize, _capacity: usize) {}
    /// An allocation returned null.
    #[inline(always)]
    fn failed(&mut self) {}
    /// Bin `bin` served an allocation from its free list.
    #[inline(always)]
    fn hit(&mut self, _bin: usize) {}
    /// Bin `bin` had no free block.
    #[inline(always)]
    fn miss(&mut self, _bin: usize) {}
    /// A block went into bin `bin`'s free list.
    #[inline(always)]
    fn pushed(&mut self, _bin: usize) {}
    /// `bytes` were carved from the bump pointer (padding included).
    #[inline(always)]
    fn bumped(&mut self, _bytes: usize) {}
    /// `bytes` were obtained from the memory source.
    #[inline(always)]
    fn obtained(&mut self, _bytes: usize) {}
    /// A freed block of `bytes` will never be reused.
    #[inline(always)]
    fn leaked(&mut self, _bytes: usize) {}
    /// A large block of `bytes` went into a free list.
    #[inline(always)]
    fn large_pushed(&mut self, _bytes: usize) {}
    /// A large block of `bytes` left a free list.
    #[inline(always)]
    fn large_taken(&mut self, _bytes: usize) {}
    /// A large allocation was served from a free list.
    #[inline(always)]
    fn large_hit(&mut self) {}
    /// A large block of `bytes` went back to the bump pointer.
    #[inline(always)]
    fn large_to_top(&mut self, _bytes: usize) {}
    /// The blocks counted in bin `bin`'s free list, if counted: for the
    /// heap's checks.
    fn bin_free(&self, _bin: usize) -> Option<usize> {
        None
    }
    /// The bytes counted in the free lists of large blocks, if counted: for
    /// the heap's checks.
    fn large_free(&self) -> Option<usize> {
        None
    }
}

/// Records nothing: the heap of a type without the `stats` flag.
#[derive(Debug)]
pub struct NoStats;

impl Record for NoStats {
    const INIT: Self = NoStats;
}

/// The counters of a type with the `stats` flag, for `N` bins.
#[derive(Debug)]
pub struct Counters<const N: usize> {
    in_use: usize,
    peak_in_use: usize,
    in_use_capacity: usize,
    obtained: usize,
    bumped: usize,
    leaked: usize,
    large_free: usize,
    large_hits: u64,
    large_to_top: u64,
    failed: u64,
    bins: [BinCounters; N],
}

#[derive(Debug, Clone, Copy)]
struct BinCounters {
    /// Blocks pushed into the list; those in it now are these less the
    /// hits ([`free`](Self::free)).
    pushed: u64,
    hits: u64,
    misses: u64,
}

impl BinCounters {
    /// Blocks in the list now. At least zero: in the checked mode, a list
    /// written through a stale pointer may hand out more blocks than were
    /// pushed into it, until the layer sees one handed out twice.
    fn free(&self) -> usize {
        self.pushed.saturating_sub(self.hits) as usize
    }
}

impl<const N: usize> Counters<N> {
    /// A snapshot, with the bins' sizes.
    pub fn snapshot(&self, sizes: &[usize; N]) -> Stats {
        let mut bins = [BinStats::default(); MAX_BINS];
        for ((out, counters), &size) in bins.iter_mut().zip(&self.bins).zip(sizes) {
            *out = BinStats {
                size,
                free: counters.free(),
                hits: counters.hits,
                misses: counters.misses,
            };
        }
        Stats {
            in_use: self.in_use,
            peak_in_use: self.peak_in_use,
            in_use_capacity: self.in_use_capacity,
            obtained: self.obtained,
            bumped: self.bumped,
            leaked: self.leaked,
            large_free: self.large_free,
            large_hits: self.large_hits,
            large_to_top: self.large_to_top,
            failed: self.failed,
            bins,
            bin_count: N.min(MAX_BINS),
        }
    }

    /// The counters of bin `bin` (every index the heap passes is below `N`).
    fn bin(&mut self, bin: usize) -> Option<&mut BinCounters> {
        self.bins.get_mut(bin)
    }
}

// Counts wrap rather than overflow: a program that allocates for long enough
// sees them wrap, never a panic inside the allocator. Byte counts cannot
// exceed the address space.
impl<const N: usize> Record for Counters<N> {
    const INIT: Self = Counters {
        in_use: 0,
        peak_in_use: 0,
        in_use_capacity: 0,
        obtained: 0,
        bumped: 0,
        leaked: 0,
        large_free: 0,
        large_hits: 0,
        large_to_top: 0,
        failed: 0,
        bins: [BinCounters {
            pushed: 0,
            hits: 0,
            misses: 0,
        }; N],
    };
    const ON: bool = true;
    fn allocated(&mut self, bytes: usize, capacity: usize) {
        self.in_use = self.in_use.wrapping_add(bytes);
        self.peak_in_use = self.peak_in_use.max(self.in_use);
        self.in_use_capacity = self.in_use_capacity.wrapping_add(capacity);
    }
    fn freed(&mut self, bytes: usize, capacity: usize) {
        self.in_use = self.in_use.wrapping_sub(bytes);
        self.in_use_capacity = self.in_use_capacity.wrapping_sub(capacity);
    }
    fn failed(&mut self) {
        self.failed = self.failed.wrapping_add(1);
    }
    fn hit(&mut self, bin: usize) {
        if let Some(counters) = self.bin(bin) {
            counters.hits = counters.hits.wrapping_add(1);
        }
    }
    fn miss(&mut self, bin: usize) {
        if let Some(counters) = self.bin(bin) {
            counters.misses = counters.misses.wrapping_add(1);
        }
    }
    fn pushed(&mut self, bin: usize) {
        if let Some(counters) = self.bin(bin) {
            counters.pushed = counters.pushed.wrapping_add(1);
        }
    }
    fn bumped(&mut self, bytes: usize) {
        self.bumped = self.bumped.wrapping_add(bytes);
    }
    fn obtained(&mut self, bytes: usize) {
        self.obtained = self.obtained.wrapping_add(bytes);
    }
    fn leaked(&mut self, bytes: usize) {
        self.leaked = self.leaked.wrapping_add(bytes);
    }
    fn large_pushed(&mut self, bytes: usize) {
        self.large_free = self.large_free.wrapping_add(bytes);
    }
    fn large_taken(&mut self, bytes: usize) {
        // At least zero, as a bin's count: in the checked mode a list
        // written through a stale pointer may hand out more than was freed
        // into it, until the layer sees a block handed out twice.
        self.large_free = self.large_free.saturating_sub(bytes);
    }
    fn large_hit(&mut self) {
        self.large_hits = self.large_hits.wrapping_add(1);
    }
    fn large_to_top(&mut self, bytes: usize) {
        self.bumped = self.bumped.wrapping_sub(bytes);
        self.large_to_top = self.large_to_top.wrapping_add(1);
    }
    fn bin_free(&self, bin: usize) -> Option<usize> {
        self.bins.get(bin).map(BinCounters::free)
    }
    fn large_free(&self) -> Option<usize> {
        Some(self.large_free)
    }
}
