//! `Heap::check` sees what breaks a documented invariant: each test builds
//! a valid heap, breaks one invariant by hand (as a bug in the heap would),
//! and expects `check` to report it.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::NonNull;

use super::class::carve_align;
use super::{Chunks, Config, Heap, Reuse, large_classes};
use crate::memory::Memory;
use crate::stats::NoStats;
use crate::sync::Spin;

const BINS: [usize; 4] = [16, 32, 64, 128];

/// The bins' lookup: the first bin that fits the size and the alignment.
fn class(size: usize, align: usize) -> usize {
    let mut i = 0;
    while i < BINS.len() && (BINS[i] < size || carve_align(BINS[i]) < align) {
        i += 1;
    }
    i
}

/// One region of a static array, of its own per source type.
macro_rules! source {
    ($name:ident) => {
        source!($name, contiguous = true);
    };
    ($name:ident, contiguous = $contiguous:expr) => {
        struct $name;
        const _: () = {
            const TOTAL: usize = 1 << 16;
            #[repr(C, align(64))]
            struct Bytes(UnsafeCell<[u8; TOTAL]>);
            // SAFETY: reached only through the pointer `grow` hands out.
            unsafe impl Sync for Bytes {}
            static BYTES: Bytes = Bytes(UnsafeCell::new([0; TOTAL]));
            // SAFETY: one region of `BYTES`, handed out once (each test
            // has a source type of its own).
            unsafe impl Memory for $name {
                const INIT: Self = $name;
                const ZEROED: bool = true;
                const CONTIGUOUS: bool = $contiguous;
                fn grow(&mut self, _bytes: usize) -> Option<NonNull<[u8]>> {
                    static GIVEN: core::sync::atomic::AtomicBool =
                        core::sync::atomic::AtomicBool::new(false);
                    if GIVEN.swap(true, core::sync::atomic::Ordering::Relaxed) {
                        return None;
                    }
                    let start = NonNull::new(UnsafeCell::raw_get(&raw const BYTES.0).cast::<u8>())?;
                    Some(NonNull::slice_from_raw_parts(start, TOTAL))
                }
            }
        };
    };
}

/// `Cfg`: the four bins over the large-block policy `$large`, with the
/// memory source `$source`.
macro_rules! config {
    ($large:ty, $source:ident) => {
        struct Cfg;
        // SAFETY: `class` names only bins that fit; the bins are valid.
        unsafe impl Config<4> for Cfg {
            const BINS: [usize; 4] = BINS;
            const PAGE: usize = 4096;
            const REALLOC_IN_PLACE: bool = true;
            const CHECKED: bool = false;
            const GROWTH: usize = 0;
            type Large = $large;
            type Memory = $source;
            type Lock = Spin;
            type Stats = NoStats;
            fn class(size: usize, align: usize) -> usize {
                class(size, align)
            }
        }
    };
}

/// Invariant 5: where blocks go back to the bump pointer, no block was
/// carved from the current region at or above both the high-water mark and
/// `top`, which `alloc_zeroed` relies on to skip clearing memory. A bug
/// that lowers the mark below a block freed back to the bump pointer: from
/// a source of separate regions, `top` is then above the mark; from a
/// contiguous one, whose regions leave the mark below them, the region log
/// (kept with debug assertions) knows how far blocks were carved, and in
/// any build the block's bytes show in the fresh memory of a source that
/// promises it zeroed.
macro_rules! check_sees_the_mark_lowered {
    ($(#[$attr:meta])* $test:ident, contiguous = $contiguous:expr) => {
        #[test]
        $(#[$attr])*
        fn $test() {
            source!(MarkSource, contiguous = $contiguous);
            config!(Reuse<{ large_classes(128) }>, MarkSource);
            let mut heap = Heap::<Cfg, 4>::NEW;
            let large = Layout::from_size_align(1000, 8).unwrap();
            // SAFETY: valid layouts; the block is freed once.
            unsafe {
                let block = heap.alloc(large);
                assert!(!block.is_null());
                block.write_bytes(0xAB, 1000);
                // The last block carved: it goes back to the bump pointer,
                // below the mark.
                heap.dealloc(block, large);
            }
            assert_eq!(heap.check(), Ok(()));
            // The bug:
            heap.region.fresh.0 = heap.region.top.addr() - 16;
            let checked = heap.check();
            // What it leads to: dirty bytes handed out as zeroed memory.
            // SAFETY: a valid layout; 1000 bytes were allocated.
            let dirty = unsafe { heap.alloc_zeroed(large) };
            assert_eq!(
                // SAFETY: the block was just handed out, 1000 bytes.
                unsafe { dirty.read() },
                0xAB,
                "the broken mark hands out dirty bytes as zeroed"
            );
            assert!(
                checked.is_err(),
                "`check` accepts a high-water mark below a block carved (invariant 5)"
            );
        }
    };
}

check_sees_the_mark_lowered!(check_sees_the_mark_lowered_below_top, contiguous = false);
check_sees_the_mark_lowered!(
    check_sees_the_mark_lowered_below_a_block_carved,
    contiguous = true
);

/// Invariant 5, in any build: from a source that promises zeroed memory,
/// the fresh memory reads as zero, as `alloc_zeroed` takes it to. A byte
/// set there (by a source that hands over memory it says is zeroed, or a
/// write past `top`) is handed out as zeroed memory.
#[test]
fn check_sees_a_byte_set_in_fresh_memory() {
    source!(DirtySource);
    config!(Chunks, DirtySource);
    let mut heap = Heap::<Cfg, 4>::NEW;
    let large = Layout::from_size_align(1000, 8).unwrap();
    // SAFETY: a valid layout.
    let first = unsafe { heap.alloc(large) };
    assert!(!first.is_null());
    assert_eq!(heap.check(), Ok(()));
    // The bug: a byte set where the next chunk's payload will start.
    let top = heap.region.top;
    let word = size_of::<usize>();
    // SAFETY: the region holds many more blocks past `top`.
    unsafe { top.add(word).write(0xAB) };
    let checked = heap.check();
    // SAFETY: a valid layout.
    let dirty = unsafe { heap.alloc_zeroed(large) };
    assert_eq!(dirty.addr(), top.addr() + word);
    assert_eq!(
        // SAFETY: the block was just handed out, 1000 bytes.
        unsafe { dirty.read() },
        0xAB,
        "the byte set is handed out as zeroed"
    );
    let corruption = checked.expect_err("`check` accepts a byte set in fresh memory (invariant 5)");
    assert_eq!(corruption.at, top.addr() + word);
}

/// Invariant 5, with debug assertions: only carving raises `top`. A bug that
/// moves it past unused memory without raising the mark would hand that
/// memory out later as fresh.
#[test]
#[cfg(debug_assertions)]
fn check_sees_top_raised_without_carving() {
    source!(RaisedSource);
    config!(Reuse<{ large_classes(128) }>, RaisedSource);
    let mut heap = Heap::<Cfg, 4>::NEW;
    let large = Layout::from_size_align(1000, 8).unwrap();
    // SAFETY: a valid layout.
    let first = unsafe { heap.alloc(large) };
    assert!(!first.is_null());
    // The bug: `top` moves past a block's worth of memory, uncarved.
    let skipped = heap.region.top;
    let capacity = Heap::<Cfg, 4>::capacity(1000, 8);
    heap.region.top = heap.region.at(skipped.addr() + capacity);
    let checked = heap.check();
    // What it leads to: those bytes, written as a block and freed back to
    // the bump pointer, handed out again as zeroed memory.
    // SAFETY: the bytes lie in the region (the first block fits it many
    // times); the block is freed with its layout.
    let dirty = unsafe {
        skipped.write_bytes(0xAB, 1000);
        heap.dealloc(skipped, large);
        heap.alloc_zeroed(large)
    };
    assert_eq!(dirty, skipped);
    assert_eq!(
        // SAFETY: the block was just handed out, 1000 bytes.
        unsafe { dirty.read() },
        0xAB,
        "the moved `top` hands out dirty bytes as zeroed"
    );
    assert!(
        checked.is_err(),
        "`check` accepts `top` raised without carving (invariant 5)"
    );
}

/// A chunk of 1000 bytes freed before another, still in use: one free
/// chunk in its list, valid (`check` says so). Its block's address.
fn one_free_chunk<C: Config<4, Large = Chunks>>(heap: &mut Heap<C, 4>) -> *mut u8 {
    let large = Layout::from_size_align(1000, 8).unwrap();
    // SAFETY: a valid layout; the block is freed once.
    let block = unsafe {
        let (block, _last) = (heap.alloc(large), heap.alloc(large));
        assert!(!block.is_null());
        heap.dealloc(block, large);
        block
    };
    assert_eq!(heap.check(), Ok(()));
    block
}

/// With `large = coalesce`, the bitmap's bits past the last list stay
/// clear: a request that found one would take it for a list and read a
/// list head past the last.
#[test]
fn check_sees_a_bitmap_bit_past_the_last_list() {
    source!(BitmapSource);
    config!(Chunks, BitmapSource);
    let mut heap = Heap::<Cfg, 4>::NEW;
    one_free_chunk(&mut heap);
    heap.large.set_spare_bit();
    assert!(
        heap.check().is_err(),
        "`check` accepts a bitmap bit past the last list"
    );
}

/// Invariant 7: a free chunk's header is its size alone, which the heap
/// reads without a mask. A marker's flag there (as a bug might leave) is
/// reported by the lists' check, in every build: the next request would
/// split the chunk off the grain. (With debug assertions the walk of the
/// regions sees it too, later: the message says which check it was.)
#[test]
fn check_sees_a_flag_in_a_free_chunks_header() {
    source!(FlagSource);
    config!(Chunks, FlagSource);
    let mut heap = Heap::<Cfg, 4>::NEW;
    let block = one_free_chunk(&mut heap);
    // SAFETY: the free chunk's header, the heap's word before the block,
    // which the test breaks.
    unsafe {
        let header = block.sub(size_of::<usize>()).cast::<usize>();
        header.write(header.read() | 4);
    }
    let found = heap.check().map_err(|corruption| corruption.what);
    assert_eq!(
        found,
        Err("a free chunk's header has a marker's flag"),
        "`check` accepts a free chunk whose header has a flag set"
    );
}

/// With `large = coalesce`, bin blocks are carved wholly inside a slab, a
/// chunk in use for good; a bin block outside one (overlapping another
/// chunk, as a 16-aligned bin of 8 KiB once did on 32-bit targets) is
/// corruption.
// `check` knows where the slabs lie only with debug assertions, which keep
// a log of them.
#[cfg(debug_assertions)]
#[test]
fn check_sees_a_bin_block_outside_every_slab() {
    source!(SlabSource);
    config!(Chunks, SlabSource);
    let mut heap = Heap::<Cfg, 4>::NEW;
    let small = Layout::from_size_align(16, 16).unwrap();
    let large = Layout::from_size_align(1000, 16).unwrap();
    // SAFETY: valid layouts.
    let (bin_block, chunk) = unsafe { (heap.alloc(small), heap.alloc(large)) };
    assert!(!bin_block.is_null() && !chunk.is_null());
    assert_eq!(heap.check(), Ok(()));
    // A bug that puts a block inside a chunk in use into a bin's list (as
    // a bin block carved past its slab would be when freed):
    let reclaimed = heap.region.at(chunk.addr());
    // SAFETY: the chunk's payload holds 1000 bytes, aligned to 16.
    unsafe { heap.bins[0].push(chunk, 16, reclaimed) };
    assert!(
        heap.check().is_err(),
        "`check` accepts a bin's free block inside a chunk handed out, outside every slab"
    );
}

/// Invariant 3: every free block lies in memory the heap obtained. A block
/// in a bin's list outside every region (here in a static of its own,
/// which a source that cannot tell what it holds lets through) is
/// corruption: the heap would hand it out, and `check` would follow its
/// link. The region log says so (found missing by mutation testing: a log
/// that held every block, or a block above a region's start or below its
/// end, went unseen).
// `check` knows where the regions lie only with debug assertions, which
// keep a log of them.
#[cfg(debug_assertions)]
#[test]
fn check_sees_a_free_block_outside_the_heap() {
    #[repr(C, align(64))]
    struct Outside(UnsafeCell<[u8; 64]>);
    // SAFETY: reached only through the pointer this test takes.
    unsafe impl Sync for Outside {}
    static OUTSIDE: Outside = Outside(UnsafeCell::new([0; 64]));
    source!(OutsideSource);
    config!(Reuse<{ large_classes(128) }>, OutsideSource);
    let mut heap = Heap::<Cfg, 4>::NEW;
    let small = Layout::from_size_align(16, 16).unwrap();
    // SAFETY: a valid layout; the block is freed once.
    unsafe {
        let block = heap.alloc(small);
        assert!(!block.is_null());
        heap.dealloc(block, small);
    }
    assert_eq!(heap.check(), Ok(()));
    // A bug that puts a block of other memory into a bin's list:
    let outside = UnsafeCell::raw_get(&raw const OUTSIDE.0).cast::<u8>();
    // SAFETY: `OUTSIDE` holds 64 bytes, aligned to 64, that nothing else
    // uses.
    unsafe { heap.bins[0].push(outside, 16, outside) };
    assert!(
        heap.check().is_err(),
        "`check` accepts a free block outside every region the heap obtained"
    );
}
