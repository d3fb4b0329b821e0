//! Recording a program's allocations, to choose its configuration.
//!
//! [`Recorder`] wraps any global allocator and writes down every request:
//! its size and alignment, and when the block is freed or resized, so that
//! `lite-alloc-tune` can replay the program's allocations against candidate
//! configurations and recommend one.
//!
//! The trace goes into a fixed buffer inside the recorder (16 KiB unless
//! its second parameter says otherwise). Once the program gives it a file
//! (`Recorder::stream_to_file`, with the `std` feature) or a function
//! ([`Recorder::stream_to`]), every full buffer is written out: recording
//! then needs no memory beyond the buffer, however long the program runs.
//! Until then, full buffers are kept in memory taken from the wrapped
//! allocator (not recorded), and written out when the file comes.
//!
//! ```
//! use lite_alloc::record::Recorder;
//!
//! #[global_allocator]
//! static ALLOC: Recorder<std::alloc::System> = Recorder::new(std::alloc::System);
//!
//! # #[cfg(not(feature = "std"))] fn main() {}
//! # #[cfg(feature = "std")]
//! fn main() -> std::io::Result<()> {
//!     # let dir = std::env::temp_dir().join(format!("lite-alloc-record-doc-{}", std::process::id()));
//!     # std::fs::create_dir_all(&dir)?;
//!     # let path = dir.join("allocations.trace");
//!     // First thing: the trace streams into this file from now on.
//!     ALLOC.stream_to_file(std::fs::File::create(&path)?)?;
//!     let words: Vec<String> = (0..100).map(|i| i.to_string()).collect();
//!     drop(words);
//!     // Last thing: what is left in the buffer, and an end mark.
//!     ALLOC.finish()?;
//!     assert!(std::fs::metadata(&path)?.len() > 100);
//!     # std::fs::remove_dir_all(&dir)?;
//!     Ok(())
//! }
//! ```
//!
//! Then `lite-alloc-tune allocations.trace`.
//!
//! # Trace format
//!
//! The magic bytes `LATR`, a version byte (2), the pointer width in bytes,
//! then one record per event. Numbers are LEB128 varints; addresses are
//! written as the zigzag-encoded difference from the previous address
//! written, so that a trace stays small. A record starts with a byte whose
//! low three bits are its kind; an allocation keeps the base-2 logarithm of
//! its alignment in the other five (31: the logarithm follows in a byte of
//! its own).
//!
//! | record | kind | then |
//! |---|---|---|
//! | `alloc` | 0 | address (null: the request failed), size |
//! | `alloc_zeroed` | 1 | as `alloc` |
//! | `dealloc` | 2 | address |
//! | `realloc` that moved the block (or failed) | 3 | old address, new address (null: failed, the old block stays), new size |
//! | `realloc` in place | 4 | address, new size |
//! | the program's memory (wasm only, first) | 5 | bytes of linear memory when recording started, `__heap_base`, bytes the recorder itself adds to the module's static data |
//! | end of a truncated trace | 6 | (memory for the trace, or the file, failed) |
//! | end of the trace | 7 | ([`Recorder::finish`] or `Recorder::save` wrote it) |

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

use crate::sync::{Lock, Spin};

mod format;
mod log;

use core::ptr::null_mut;
use format::Record;
use format::header;
pub use format::{MAGIC, VERSION, tag};
use log::{Log, Sink};

/// The buffer of a [`Recorder`] unless its type says otherwise.
pub const DEFAULT_BUFFER: usize = 16 * 1024;

/// A trace that ends early, marked truncated: memory for it, or writing
/// it, failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incomplete;

impl core::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the allocation trace is incomplete: memory for it, or writing it, failed")
    }
}

impl core::error::Error for Incomplete {}

#[cfg(feature = "std")]
impl From<Incomplete> for std::io::Error {
    fn from(incomplete: Incomplete) -> Self {
        std::io::Error::other(incomplete)
    }
}

/// A global allocator that serves every request from `A` and records it,
/// through a buffer of `BUFFER` bytes (see the [module documentation](self)).
///
/// Recording starts with the first allocation and goes on until
/// [`stop`](Self::stop), [`finish`](Self::finish) or `save`.
///
/// On a target without atomic compare-and-swap there is no `Recorder`
/// (record on the host, or on wasm, instead).
pub struct Recorder<A: GlobalAlloc, const BUFFER: usize = DEFAULT_BUFFER> {
    inner: A,
    lock: Spin,
    log: UnsafeCell<Log<BUFFER>>,
}

// SAFETY: the log is only touched with the lock held (`Spin` is a real lock
// wherever there are threads, and none on single-threaded wasm), and `A` is
// a global allocator, which is `Sync` by its own contract when it is used as
// one; the chunks are the recorder's alone, and a file is `Send`.
unsafe impl<A: GlobalAlloc + Sync, const BUFFER: usize> Sync for Recorder<A, BUFFER> {}

impl<A: GlobalAlloc, const BUFFER: usize> Drop for Recorder<A, BUFFER> {
    /// Gives the trace's chunks back to the wrapped allocator (a recorder
    /// that is not a static: one recording part of a program, or a test).
    fn drop(&mut self) {
        let (log, inner) = (self.log.get_mut(), &self.inner);
        // SAFETY: `&mut self`: no walk is running; every chunk of the log
        // came from `inner`.
        unsafe { log.free_chunks(inner) };
    }
}

impl<A: GlobalAlloc, const BUFFER: usize> Recorder<A, BUFFER> {
    /// Records what `inner` is asked.
    pub const fn new(inner: A) -> Self {
        // A header, the memory record and the longest record fit.
        const {
            assert!(
                BUFFER >= 128,
                "a recorder's buffer holds at least 128 bytes"
            )
        };
        Recorder {
            inner,
            lock: <Spin as Lock>::NEW,
            log: UnsafeCell::new(Log {
                buffer: [0; BUFFER],
                len: 0,
                first: null_mut(),
                last: null_mut(),
                sink: Sink::Memory,
                previous: 0,
                started: false,
                recording: true,
                ended: false,
                truncated: false,
                walks: 0,
                retired: null_mut(),
            }),
        }
    }

    /// Stops recording: the allocator goes on serving requests, unrecorded.
    /// What was recorded stays where it is (see [`finish`](Self::finish)).
    pub fn stop(&self) {
        self.with(|log, _| log.recording = false);
    }

    /// From now on, writes each full buffer to `sink`, which returns whether
    /// it could; first, what was kept in memory so far. When `sink` fails,
    /// recording stops and the trace ends there, marked truncated. Call
    /// [`finish`](Self::finish) before the program ends.
    ///
    /// # Safety
    ///
    /// `sink` runs with the recorder's lock held: it must not call this
    /// recorder, neither to allocate, free or resize memory through it nor
    /// any of its methods (on a host it would wait for the lock forever; on
    /// single-threaded wasm, where there is no lock, it would change the
    /// trace while it is being written out).
    pub unsafe fn stream_to(&self, sink: fn(&[u8]) -> bool) {
        self.with(|log, inner| {
            log.sink = Sink::Function(sink);
            // SAFETY: every chunk of the log came from `inner`.
            unsafe { log.drain(inner) };
        });
    }

    /// From now on, writes each full buffer to `file`; first, what was kept
    /// in memory so far. Call it early (recording started with the first
    /// allocation, so what came before is kept until now), and
    /// [`finish`](Self::finish) before the program ends.
    ///
    /// Under WASI the file is one the runtime lets the program open: give
    /// it a directory (`wasmtime run --dir traces::/traces`, or `preopens:
    /// { '/traces': 'traces' }` in `node:wasi`) and open an absolute path in
    /// it (`/traces/my-program.trace`).
    ///
    /// An error writing stops recording, and the trace ends there, marked
    /// truncated.
    #[cfg(feature = "std")]
    pub fn stream_to_file(&self, file: std::fs::File) -> std::io::Result<()> {
        let ok = self.with(|log, inner| {
            log.sink = Sink::File(file);
            // SAFETY: every chunk of the log came from `inner`.
            unsafe { log.drain(inner) }
        });
        if ok { Ok(()) } else { Err(Incomplete.into()) }
    }

    /// Stops recording, ends the trace and writes out what is left of it
    /// (closing the file given to `stream_to_file`).
    /// Without a file or function to write to, the trace stays in memory
    /// for [`for_each_chunk`](Self::for_each_chunk) or `save` (both with the `std` feature).
    ///
    /// An error when memory for the trace, or writing it, failed: the trace
    /// ends where that happened, marked truncated.
    pub fn finish(&self) -> Result<(), Incomplete> {
        self.with(|log, inner| {
            log.recording = false;
            // SAFETY: every chunk of the log came from `inner`.
            let complete = unsafe { log.end(inner, tag::END) };
            // SAFETY: as above.
            let written = unsafe { log.drain(inner) };
            if !matches!(log.sink, Sink::Memory) {
                // Closes a file; nothing is written after the end.
                log.sink = Sink::Function(|_| false);
            }
            if complete && written {
                Ok(())
            } else {
                Err(Incomplete)
            }
        })
    }

    /// Calls `f` with each piece of the trace kept in memory, in order
    /// (stopping the recording first, and ending the trace): the whole
    /// trace, unless it was streamed out with [`stream_to`](Self::stream_to)
    /// or `stream_to_file`, which get it instead.
    /// Allocations `f` makes are not recorded.
    pub fn for_each_chunk(&self, mut f: impl FnMut(&[u8])) {
        // Stopped and ended for good, and a walk counted until this
        // returns (or `f` unwinds): `f` may allocate, and may even give the
        // recorder a sink, but no chunk changes or goes while it runs.
        let (mut chunk, rest, started) = self.with(|log, inner| {
            log.recording = false;
            if log.started {
                // SAFETY: every chunk of the log came from `inner`.
                unsafe {
                    log.end(inner, tag::END);
                    log.spill(inner);
                }
            }
            log.walks += 1;
            (log.first, log.len, log.started)
        });
        let _walk = Walk(self);
        if !started {
            f(&header());
            f(&[tag::END]);
        }
        while !chunk.is_null() {
            // SAFETY: a chunk of the log, which stays as it is during a walk
            // (`Log::walks`), holding `len` bytes after its header.
            unsafe {
                let data = chunk.add(1).cast::<u8>();
                f(core::slice::from_raw_parts(data, (*chunk).len));
                chunk = (*chunk).next;
            }
        }
        // What no chunk could take (the wrapped allocator had no memory for
        // one): the buffer, copied out a piece at a time with the lock held,
        // since `f` runs without it. Its bytes do not change once the trace
        // has ended.
        let mut at = 0;
        while at < rest {
            let mut piece = [0; 256];
            let len = (rest - at).min(piece.len());
            self.with(|log, _| piece[..len].copy_from_slice(&log.buffer[at..at + len]));
            f(&piece[..len]);
            at += len;
        }
    }

    /// Writes the whole trace to a file, stopping the recording. The file
    /// streamed to with [`stream_to_file`](Self::stream_to_file) needs
    /// [`finish`](Self::finish) instead.
    #[cfg(feature = "std")]
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        self.stop();
        let file = std::fs::File::create(path)?;
        let streamed = self.with(|log, _| !matches!(log.sink, Sink::Memory));
        if streamed {
            return Err(std::io::Error::other(
                "the trace was streamed to a file already: call `finish` instead of `save`",
            ));
        }
        self.stream_to_file(file)?;
        Ok(self.finish()?)
    }

    /// Runs `f` on the log with the lock held.
    fn with<R>(&self, f: impl FnOnce(&mut Log<BUFFER>, &A) -> R) -> R {
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
            // The header and, on wasm, the program's memory before its first
            // request, which may grow it.
            if log.recording && !log.started {
                // SAFETY: every chunk of the log came from `inner`.
                unsafe { log.start(inner) };
            }
            let result = op(inner);
            if log.recording {
                // SAFETY: every chunk of the log came from `inner`.
                unsafe {
                    let mut record = Record::default();
                    write(&mut record, &mut log.previous, result);
                    log.append(inner, record.bytes());
                }
            }
            result
        })
    }
}

// SAFETY: every request is forwarded to `inner` unchanged, and its result
// returned; recording only reads the arguments and results.
unsafe impl<A: GlobalAlloc, const BUFFER: usize> GlobalAlloc for Recorder<A, BUFFER> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.recorded(
            // SAFETY: forwarded from the caller.
            |inner| unsafe { inner.alloc(layout) },
            |r, previous, block| r.allocation(tag::ALLOC, layout, block, previous),
        )
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.recorded(
            // SAFETY: forwarded from the caller.
            |inner| unsafe { inner.alloc_zeroed(layout) },
            |r, previous, block| r.allocation(tag::ALLOC_ZEROED, layout, block, previous),
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
                if new == block {
                    r.byte(tag::REALLOC_IN_PLACE);
                    r.address(block.addr(), previous);
                } else {
                    r.byte(tag::REALLOC);
                    r.address(block.addr(), previous);
                    r.address(new.addr(), previous);
                }
                r.varint(new_size as u64);
            },
        )
    }
}

/// A walk of a recorder's chunks, ended when dropped (also when the closure
/// unwinds).
struct Walk<'a, A: GlobalAlloc, const BUFFER: usize>(&'a Recorder<A, BUFFER>);

impl<A: GlobalAlloc, const BUFFER: usize> Drop for Walk<'_, A, BUFFER> {
    fn drop(&mut self) {
        // SAFETY: `for_each_chunk` counted this walk, and reads no chunk
        // any more; every chunk of the log came from `inner`.
        self.0.with(|log, inner| unsafe { log.walked(inner) });
    }
}
