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
    let layout = Layout::from_size_align(24, 8).unwrap();
    // Several buffers of 128 bytes, kept in chunks.
    for _ in 0..200 {
        // SAFETY: a block allocated and freed with its layout.
        unsafe {
            let block = RECORDER.alloc(layout);
            RECORDER.dealloc(block, layout);
        }
    }
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
