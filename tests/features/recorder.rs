//! `Recorder::for_each_chunk` reads the trace's chunks without the lock
//! while its closure runs; the closure may give the recorder a sink (safe
//! code), and no chunk may go while it is read, but each goes once the walk
//! ends. Under Miri a chunk given back too early is a use after free, and
//! one never given back a leak; natively the wrapped allocator counts them.

use core::alloc::{GlobalAlloc, Layout};
use std::alloc::System;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use lite_alloc::record::{Recorder, tag};

static IN_CLOSURE: AtomicBool = AtomicBool::new(false);
static FREED_IN_CLOSURE: AtomicUsize = AtomicUsize::new(0);
static CHUNKS_FREED: AtomicUsize = AtomicUsize::new(0);

/// `System`, counting what is given back while `for_each_chunk`'s closure
/// runs, and the trace's chunks given back (the program's blocks are
/// smaller).
struct Watched;

// SAFETY: `System`'s, forwarded.
unsafe impl GlobalAlloc for Watched {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if IN_CLOSURE.load(Relaxed) {
            FREED_IN_CLOSURE.fetch_add(1, Relaxed);
        }
        if layout.size() > 128 {
            CHUNKS_FREED.fetch_add(1, Relaxed);
        }
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(block, layout) }
    }
}

static RECORDER: Recorder<Watched, 128> = Recorder::new(Watched);

static STREAMED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn to_streamed(bytes: &[u8]) -> bool {
    STREAMED.lock().unwrap().extend_from_slice(bytes);
    true
}

#[test]
fn a_sink_given_while_the_chunks_are_read_frees_them_after() {
    record(&RECORDER, 200);
    let mut pieces = 0;
    let mut read = Vec::new();
    RECORDER.for_each_chunk(|piece| {
        IN_CLOSURE.store(true, Relaxed);
        pieces += 1;
        read.extend_from_slice(piece);
        if pieces == 1 {
            // SAFETY: the sink does not allocate through this recorder.
            unsafe { RECORDER.stream_to(to_streamed) };
        }
        IN_CLOSURE.store(false, Relaxed);
    });
    assert!(pieces > 3, "the trace filled several chunks: {pieces}");
    let freed = FREED_IN_CLOSURE.load(Relaxed);
    assert_eq!(freed, 0, "a chunk was given back while it was read");
    let chunks = CHUNKS_FREED.load(Relaxed);
    assert_eq!(chunks, pieces, "each chunk given back once the walk ended");
    assert!(read.starts_with(b"LATR") && read.ends_with(&[tag::END]));
    assert_eq!(
        *STREAMED.lock().unwrap(),
        read,
        "the sink got the same trace"
    );
}

static FAIL_WRITES: AtomicBool = AtomicBool::new(false);
static WRITTEN: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn until_the_disk_fills(bytes: &[u8]) -> bool {
    if FAIL_WRITES.load(Relaxed) {
        return false;
    }
    WRITTEN.lock().unwrap().extend_from_slice(bytes);
    true
}

/// A write that fails while `for_each_chunk` ends a streamed trace loses
/// its last records and end mark: `finish` says so.
#[test]
fn a_write_that_fails_as_the_trace_ends_is_reported() {
    let recorder = Recorder::<System, 128>::new(System);
    // SAFETY: the sink does not call the recorder.
    unsafe { recorder.stream_to(until_the_disk_fills) };
    record(&recorder, 5);
    FAIL_WRITES.store(true, Relaxed);
    recorder.for_each_chunk(|_| {});
    assert!(!WRITTEN.lock().unwrap().contains(&tag::END));
    assert!(recorder.finish().is_err(), "the trace lost its end");
}

/// The blocks not given back, one count for each test that keeps one.
static OUTSTANDING: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

/// `System`, counting in `OUTSTANDING[N]` the blocks not given back.
struct Counting<const N: usize>;

// SAFETY: `System`'s, forwarded.
unsafe impl<const N: usize> GlobalAlloc for Counting<N> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        OUTSTANDING[N].fetch_add(1, Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        OUTSTANDING[N].fetch_sub(1, Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(block, layout) }
    }
}

/// Records `rounds` allocations and frees: buffers of 128 bytes fill chunks.
fn record<A: GlobalAlloc>(recorder: &Recorder<A, 128>, rounds: usize) {
    let layout = Layout::from_size_align(24, 8).unwrap();
    for _ in 0..rounds {
        // SAFETY: a block allocated and freed with its layout.
        unsafe {
            let block = recorder.alloc(layout);
            recorder.dealloc(block, layout);
        }
    }
}

/// A recorder that is not a static gives its chunks back when it goes,
/// also those a sink given during a walk retired (under Miri, a chunk kept
/// is a leak).
#[test]
fn a_dropped_recorder_gives_its_chunks_back() {
    for sink_in_the_walk in [false, true] {
        let recorder = Recorder::<Counting<0>, 128>::new(Counting);
        record(&recorder, 100);
        let mut bytes = 0;
        recorder.for_each_chunk(|piece| {
            bytes += piece.len();
            if sink_in_the_walk {
                // SAFETY: the sink does not call the recorder.
                unsafe { recorder.stream_to(|_| true) };
            }
        });
        assert!(bytes > 128, "the trace filled chunks");
        drop(recorder);
        assert_eq!(
            OUTSTANDING[0].load(Relaxed),
            0,
            "chunks kept after the recorder went"
        );
    }
}

/// On wasm the trace starts with the program's memory before its first
/// request, which may grow it: `lite-alloc-tune` adds the pages its replay
/// grows, the first request's included.
#[cfg(target_arch = "wasm32")]
#[test]
fn the_memory_record_comes_before_the_first_request() {
    let recorder = Recorder::<System>::new(System);
    let before = core::arch::wasm32::memory_size(0);
    let layout = Layout::from_size_align(16 << 20, 8).unwrap();
    // SAFETY: a valid layout; freed with it.
    unsafe {
        let block = recorder.alloc(layout);
        assert!(!block.is_null());
        assert!(
            core::arch::wasm32::memory_size(0) > before,
            "the request grew memory"
        );
        recorder.dealloc(block, layout);
    }
    let mut bytes = Vec::new();
    recorder.for_each_chunk(|piece| bytes.extend_from_slice(piece));
    assert_eq!(bytes[6], tag::MEMORY);
    // The memory's size in bytes, a varint.
    let (mut at_start, mut shift) = (0u64, 0);
    for &byte in &bytes[7..] {
        at_start |= u64::from(byte & 0x7F) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    assert_eq!(
        at_start,
        before as u64 * 65536,
        "pages before the first request"
    );
}

/// A closure that walks again, gives a sink, then panics: the walks still
/// end, each chunk goes once, the recorder stays usable, and dropping it
/// leaks nothing.
#[test]
#[cfg_attr(target_os = "wasi", ignore = "a panic aborts on wasm32-wasip1")]
fn a_walk_that_panics_ends_all_the_same() {
    let recorder = Recorder::<Counting<1>, 128>::new(Counting);
    record(&recorder, 60);
    let mut first = Vec::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        recorder.for_each_chunk(|piece| {
            first.extend_from_slice(piece);
            if first.len() > 200 {
                let mut inner = Vec::new();
                recorder.for_each_chunk(|piece| inner.extend_from_slice(piece));
                // SAFETY: the sink does not call the recorder.
                unsafe { recorder.stream_to(|_| true) };
                panic!("in the walk");
            }
        });
    }));
    assert!(result.is_err());
    recorder.for_each_chunk(|_| {});
    assert_eq!(recorder.finish(), Ok(()));
    drop(recorder);
    assert_eq!(
        OUTSTANDING[1].load(Relaxed),
        0,
        "chunks kept after the recorder went"
    );
}

/// Walks on two threads while a third gives a sink and finishes and a
/// fourth allocates: no data race (Miri), each chunk given back once.
#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn walks_and_a_sink_on_other_threads() {
    let recorder = Recorder::<Counting<2>, 128>::new(Counting);
    record(&recorder, 40);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| recorder.for_each_chunk(|_| std::thread::yield_now()));
        }
        scope.spawn(|| {
            std::thread::yield_now();
            // SAFETY: the sink does not call the recorder.
            unsafe { recorder.stream_to(|_| true) };
            let _ = recorder.finish();
        });
        scope.spawn(|| record(&recorder, 20));
    });
    drop(recorder);
    assert_eq!(
        OUTSTANDING[2].load(Relaxed),
        0,
        "chunks kept after the recorder went"
    );
}
