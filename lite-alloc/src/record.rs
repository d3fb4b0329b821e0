//! Recording a program's allocations, to choose its configuration.
//!
//! [`Recorder`] wraps any global allocator and writes down every request:
//! its size and alignment, and when the block is freed or resized, so that
//! `lite-alloc-tune` can replay the program's allocations against candidate
//! configurations and recommend one.
//!
//! ```
//! use lite_alloc::record::Recorder;
//!
//! #[global_allocator]
//! static ALLOC: Recorder<std::alloc::System> = Recorder::new(std::alloc::System);
//!
//! fn main() {
//!     let words: Vec<String> = (0..100).map(|i| i.to_string()).collect();
//!     drop(words);
//!     ALLOC.stop();
//!     let mut trace = Vec::new();
//!     ALLOC.for_each_chunk(|bytes| trace.extend_from_slice(bytes));
//!     assert!(trace.len() > 100);
//!     // std::fs::write("allocations.trace", &trace) (or `ALLOC.save(path)`
//!     // with the `std` feature), then `cargo run -p lite-alloc-tune -- allocations.trace`.
//! }
//! ```
//!
//! # Trace format
//!
//! The magic bytes `LATR`, a version byte (1), the pointer width in bytes,
//! then one record per event. Numbers are LEB128 varints; addresses are
//! written as the zigzag-encoded difference from the previous address
//! written, so that a trace stays small (typically 4 to 6 bytes an event).
//!
//! | record | tag | then |
//! |---|---|---|
//! | `alloc` | 0 | address (null: the request failed), size, log2 of the alignment (one byte) |
//! | `alloc_zeroed` | 1 | as `alloc` |
//! | `dealloc` | 2 | address |
//! | `realloc` | 3 | old address, new address (null: failed, the old block stays), new size |
//! | end of a truncated trace | 4 | (the wrapped allocator had no memory for more of it) |

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::{self, null_mut};

use crate::sync::{Lock, Spin};

/// The bytes a trace starts with.
pub const MAGIC: [u8; 4] = *b"LATR";
/// The trace format's version.
pub const VERSION: u8 = 1;

/// Tags of the records (see the [module documentation](self)).
pub mod tag {
    /// `alloc`.
    pub const ALLOC: u8 = 0;
    /// `alloc_zeroed`.
    pub const ALLOC_ZEROED: u8 = 1;
    /// `dealloc`.
    pub const DEALLOC: u8 = 2;
    /// `realloc`.
    pub const REALLOC: u8 = 3;
    /// The trace stops here: memory for it ran out.
    pub const TRUNCATED: u8 = 4;
}

/// Bytes of each piece of the trace, taken from the wrapped allocator.
const CHUNK: usize = 64 * 1024;

/// One piece of the trace: a header, then bytes.
#[repr(C)]
struct Chunk {
    next: *mut Chunk,
    len: usize,
}

const DATA: usize = CHUNK - size_of::<Chunk>();

/// The trace so far.
struct Log {
    first: *mut Chunk,
    last: *mut Chunk,
    /// The previous address written.
    previous: usize,
    recording: bool,
    truncated: bool,
}

/// A global allocator that serves every request from `A` and records it.
///
/// Recording starts with the first allocation and goes on until
/// [`stop`](Self::stop). The trace lives in 64 KiB pieces taken from `A`
/// directly (they are not recorded).
///
/// On a target without atomic compare-and-swap there is no `Recorder`
/// (record on the host, or on wasm, instead).
pub struct Recorder<A> {
    inner: A,
    lock: Spin,
    log: UnsafeCell<Log>,
}

// SAFETY: the log is only touched with the lock held (`Spin` is a real lock
// wherever there are threads, and none on single-threaded wasm), and `A` is
// a global allocator, which is `Sync` by its own contract when it is used as
// one; the chunks are the recorder's alone.
unsafe impl<A: Sync> Sync for Recorder<A> {}

impl<A: GlobalAlloc> Recorder<A> {
    /// Records what `inner` is asked.
    pub const fn new(inner: A) -> Self {
        Recorder {
            inner,
            lock: <Spin as Lock>::NEW,
            log: UnsafeCell::new(Log {
                first: null_mut(),
                last: null_mut(),
                previous: 0,
                recording: true,
                truncated: false,
            }),
        }
    }

    /// Stops recording: the allocator goes on serving requests, unrecorded.
    /// Call it before reading the trace.
    pub fn stop(&self) {
        self.with(|log, _| log.recording = false);
    }

    /// Calls `f` with each piece of the trace, in order. Allocations `f`
    /// makes are not recorded while it runs.
    pub fn for_each_chunk(&self, mut f: impl FnMut(&[u8])) {
        // Stopped for good: `f` may allocate, and the pieces must not change.
        self.stop();
        let (mut chunk, truncated) = self.with(|log, _| (log.first, log.truncated));
        if chunk.is_null() {
            f(&header());
        }
        while !chunk.is_null() {
            // SAFETY: chunks are only written while recording, which has
            // stopped; each holds `len` bytes of data after its header.
            unsafe {
                let data = chunk.add(1).cast::<u8>();
                f(core::slice::from_raw_parts(data, (*chunk).len));
                chunk = (*chunk).next;
            }
        }
        if truncated {
            f(&[tag::TRUNCATED]);
        }
    }

    /// Writes the trace to a file (stopping the recording first).
    #[cfg(feature = "std")]
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        use std::io::Write;
        self.stop();
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut result = Ok(());
        self.for_each_chunk(|bytes| {
            if result.is_ok() {
                result = file.write_all(bytes);
            }
        });
        result?;
        file.flush()
    }

    /// Runs `f` on the log with the lock held.
    fn with<R>(&self, f: impl FnOnce(&mut Log, &A) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: the lock is held: this is the only reference.
            f(unsafe { &mut *self.log.get() }, &self.inner)
        })
    }

    /// Runs `op` on the wrapped allocator and appends the record `write`
    /// makes of it, both with the lock held: the trace is in the order the
    /// requests were served, also with several threads.
    fn recorded<R: Copy>(
        &self,
        op: impl FnOnce(&A) -> R,
        write: impl FnOnce(&mut Record, &mut usize, R),
    ) -> R {
        self.with(|log, inner| {
            let result = op(inner);
            if log.recording {
                let mut record = Record::default();
                write(&mut record, &mut log.previous, result);
                // SAFETY: `inner` is the wrapped allocator, where every chunk
                // came from.
                if !unsafe { log.append(inner, record.bytes()) } {
                    log.recording = false;
                    log.truncated = true;
                }
            }
            result
        })
    }
}

/// The start of every trace.
fn header() -> [u8; 6] {
    let [m0, m1, m2, m3] = MAGIC;
    [m0, m1, m2, m3, VERSION, size_of::<usize>() as u8]
}

impl Log {
    /// Appends `bytes`, taking a new chunk from `inner` when the current one
    /// is full; false when `inner` has none.
    ///
    /// # Safety
    ///
    /// `inner` is the allocator every chunk of this log came from.
    unsafe fn append<A: GlobalAlloc>(&mut self, inner: &A, bytes: &[u8]) -> bool {
        // SAFETY: `last` is null or a chunk of this log.
        let full = self.last.is_null() || unsafe { (*self.last).len } + bytes.len() > DATA;
        if full {
            // SAFETY: the layout is valid and not zero-sized.
            let chunk = unsafe { inner.alloc(chunk_layout()) }.cast::<Chunk>();
            if chunk.is_null() {
                return false;
            }
            // SAFETY: a fresh chunk of `CHUNK` bytes, aligned for `Chunk`.
            unsafe {
                chunk.write(Chunk {
                    next: null_mut(),
                    len: 0,
                })
            };
            if self.last.is_null() {
                self.first = chunk;
                let header = header();
                // SAFETY: the chunk holds `DATA` bytes after its header,
                // more than the trace header.
                unsafe {
                    ptr::copy_nonoverlapping(header.as_ptr(), chunk.add(1).cast(), header.len());
                    (*chunk).len = header.len();
                }
            } else {
                // SAFETY: `last` is a chunk of this log.
                unsafe { (*self.last).next = chunk };
            }
            self.last = chunk;
        }
        // SAFETY: `last` has room for `bytes` (a record is at most 32 bytes,
        // and a new chunk holds much more).
        unsafe {
            let chunk = self.last;
            let at = chunk.add(1).cast::<u8>().add((*chunk).len);
            ptr::copy_nonoverlapping(bytes.as_ptr(), at, bytes.len());
            (*chunk).len += bytes.len();
        }
        true
    }
}

fn chunk_layout() -> Layout {
    // SAFETY: `CHUNK` is a multiple of `Chunk`'s alignment, which is a power
    // of two, and far below `isize::MAX`.
    unsafe { Layout::from_size_align_unchecked(CHUNK, align_of::<Chunk>()) }
}

/// One record, encoded.
#[derive(Default)]
struct Record {
    bytes: [u8; 32],
    len: usize,
}

impl Record {
    fn byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    fn varint(&mut self, mut value: u64) {
        loop {
            let low = (value & 0x7F) as u8;
            value >>= 7;
            if value == 0 {
                self.byte(low);
                return;
            }
            self.byte(low | 0x80);
        }
    }

    /// An address, as its difference from the previous one.
    fn address(&mut self, address: usize, previous: &mut usize) {
        let delta = address.wrapping_sub(*previous) as isize as i64;
        self.varint(((delta << 1) ^ (delta >> 63)) as u64);
        *previous = address;
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

// SAFETY: every request is forwarded to `inner` unchanged, and its result
// returned; recording only reads the arguments and results.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Recorder<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.recorded(
            // SAFETY: forwarded from the caller.
            |inner| unsafe { inner.alloc(layout) },
            |r, previous, block| {
                r.byte(tag::ALLOC);
                r.address(block.addr(), previous);
                r.varint(layout.size() as u64);
                r.byte(layout.align().trailing_zeros() as u8);
            },
        )
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.recorded(
            // SAFETY: forwarded from the caller.
            |inner| unsafe { inner.alloc_zeroed(layout) },
            |r, previous, block| {
                r.byte(tag::ALLOC_ZEROED);
                r.address(block.addr(), previous);
                r.varint(layout.size() as u64);
                r.byte(layout.align().trailing_zeros() as u8);
            },
        )
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        self.recorded(
            // SAFETY: forwarded from the caller.
            |inner| unsafe { inner.dealloc(block, layout) },
            |r, previous, ()| {
                r.byte(tag::DEALLOC);
                r.address(block.addr(), previous);
            },
        )
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.recorded(
            // SAFETY: forwarded from the caller.
            |inner| unsafe { inner.realloc(block, layout, new_size) },
            |r, previous, new| {
                r.byte(tag::REALLOC);
                r.address(block.addr(), previous);
                r.address(new.addr(), previous);
                r.varint(new_size as u64);
            },
        )
    }
}
