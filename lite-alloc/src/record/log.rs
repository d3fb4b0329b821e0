//! The trace so far: the buffer, full buffers kept in memory until there is
//! somewhere to write them, and where they go.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, null_mut};

use super::format::{header, tag};

/// One buffer's worth of the trace kept in memory from the wrapped allocator
/// while there is nowhere to write it: a header, then `len` bytes.
#[repr(C)]
pub(super) struct Chunk {
    pub(super) next: *mut Chunk,
    pub(super) len: usize,
}

/// Where full buffers go.
pub(super) enum Sink {
    /// Kept in memory (chunks from the wrapped allocator).
    Memory,
    /// A function of the program's.
    Function(fn(&[u8]) -> bool),
    /// A file.
    #[cfg(feature = "std")]
    File(std::fs::File),
}

/// The trace so far.
pub(super) struct Log<const BUFFER: usize> {
    pub(super) buffer: [u8; BUFFER],
    pub(super) len: usize,
    /// Full buffers kept in memory, oldest first.
    pub(super) first: *mut Chunk,
    pub(super) last: *mut Chunk,
    pub(super) sink: Sink,
    /// The previous address written.
    pub(super) previous: usize,
    /// Whether the header was written (with the first record).
    pub(super) started: bool,
    pub(super) recording: bool,
    /// An end record (`END` or `TRUNCATED`) was written.
    pub(super) ended: bool,
    /// The end record written was `TRUNCATED` (or the trace could not be
    /// written out whole).
    pub(super) truncated: bool,
    /// The calls of `Recorder::for_each_chunk` reading the chunks, without
    /// the lock while their closures run (a closure may call it again, or
    /// give the recorder a sink). While there is one, no chunk changes and
    /// none is added; chunks written out to a sink wait in `retired`, and
    /// the last walk to end gives them back.
    pub(super) walks: usize,
    /// Chunks written out while a walk may still read them.
    pub(super) retired: *mut Chunk,
}

impl<const BUFFER: usize> Log<BUFFER> {
    /// The header and, on wasm, the memory record.
    ///
    /// # Safety
    ///
    /// `inner` is the allocator every chunk of this log came from.
    pub(super) unsafe fn start<A: GlobalAlloc>(&mut self, inner: &A) {
        self.started = true;
        // SAFETY: from the caller.
        unsafe { self.append(inner, &header()) };
        #[cfg(all(target_arch = "wasm32", any(target_os = "unknown", target_os = "wasi")))]
        {
            // SAFETY: a symbol the wasm linker defines; only its address is
            // used.
            unsafe extern "C" {
                static __heap_base: u8;
            }
            let mut record = super::format::Record::default();
            record.byte(tag::MEMORY);
            record.varint(core::arch::wasm32::memory_size(0) as u64 * 65536);
            record.varint((&raw const __heap_base).addr() as u64);
            record.varint(size_of::<super::Recorder<A, BUFFER>>() as u64);
            // SAFETY: from the caller.
            unsafe { self.append(inner, record.bytes()) };
        }
    }

    /// Appends `bytes` (at most 32) to the buffer, writing it out or keeping
    /// it in memory first when it is full; on failure, stops recording and
    /// ends the trace, truncated.
    ///
    /// # Safety
    ///
    /// `inner` is the allocator every chunk of this log came from.
    pub(super) unsafe fn append<A: GlobalAlloc>(&mut self, inner: &A, bytes: &[u8]) {
        if self.ended {
            return;
        }
        // SAFETY: from the caller.
        if self.len + bytes.len() > BUFFER - 1 && !unsafe { self.spill(inner) } {
            self.recording = false;
            self.ended = true;
            self.truncated = true;
            // The buffer is empty when writing it failed, or has a byte left
            // (see the comparison above) when no memory was left for it:
            // the trace ends there, truncated.
            if self.len < BUFFER {
                self.buffer[self.len] = tag::TRUNCATED;
                self.len += 1;
            }
            return;
        }
        self.buffer[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Ends the trace with `end` (unless it has ended already); false when
    /// it ended truncated.
    ///
    /// # Safety
    ///
    /// `inner` is the allocator every chunk of this log came from.
    pub(super) unsafe fn end<A: GlobalAlloc>(&mut self, inner: &A, end: u8) -> bool {
        if !self.started {
            // SAFETY: from the caller.
            unsafe { self.start(inner) };
        }
        if !self.ended {
            // SAFETY: from the caller.
            unsafe { self.append(inner, &[end]) };
            self.ended = true;
        }
        !self.truncated
    }

    /// Empties the buffer: writes it to the sink, or keeps it in a chunk
    /// from `inner` (not while a walk reads the chunks). False when that
    /// failed (the buffer is then emptied after a failed write, and kept
    /// after a failed allocation or during a walk).
    ///
    /// # Safety
    ///
    /// `inner` is the allocator every chunk of this log came from.
    pub(super) unsafe fn spill<A: GlobalAlloc>(&mut self, inner: &A) -> bool {
        if self.len == 0 {
            return true;
        }
        let data = &self.buffer[..self.len];
        let ok = match &self.sink {
            Sink::Memory => {
                // Adding a chunk writes the last one's link, which a walk
                // may be reading.
                if self.walks > 0 {
                    return false;
                }
                // SAFETY: the layout is valid and not zero-sized.
                let chunk = unsafe { inner.alloc(chunk_layout::<BUFFER>()) }.cast::<Chunk>();
                if chunk.is_null() {
                    return false;
                }
                // SAFETY: a fresh block with room for the header and
                // `BUFFER` bytes after it, aligned for `Chunk`; `last` is
                // null or a chunk of this log.
                unsafe {
                    chunk.write(Chunk {
                        next: null_mut(),
                        len: data.len(),
                    });
                    ptr::copy_nonoverlapping(data.as_ptr(), chunk.add(1).cast(), data.len());
                    if self.last.is_null() {
                        self.first = chunk;
                    } else {
                        (*self.last).next = chunk;
                    }
                }
                self.last = chunk;
                true
            }
            Sink::Function(sink) => sink(data),
            #[cfg(feature = "std")]
            Sink::File(file) => std::io::Write::write_all(&mut &*file, data).is_ok(),
        };
        // A failed write lost what the buffer held: the trace can no
        // longer be whole, whoever asked for the spill.
        self.truncated |= !ok;
        self.len = 0;
        ok
    }

    /// With a sink, writes out the chunks kept in memory (giving them back
    /// to `inner`, or retiring them while a walk may read them) and the
    /// buffer; false when a write failed, which stops recording and ends
    /// the trace, truncated (the rest of it is dropped).
    ///
    /// # Safety
    ///
    /// `inner` is the allocator every chunk of this log came from.
    pub(super) unsafe fn drain<A: GlobalAlloc>(&mut self, inner: &A) -> bool {
        if matches!(self.sink, Sink::Memory) {
            return true;
        }
        let mut ok = true;
        if self.walks > 0 && !self.first.is_null() {
            // No chunk is added during a walk, nor retired twice: chunks
            // are retired once, by the first sink to come.
            debug_assert!(self.retired.is_null());
            self.retired = self.first;
        }
        while !self.first.is_null() {
            let chunk = self.first;
            // SAFETY: a chunk of this log, holding `len` bytes after its
            // header; it came from `inner` with this layout, and is
            // unlinked before it is given back, when no walk can read it.
            unsafe {
                self.first = (*chunk).next;
                if ok {
                    let data = core::slice::from_raw_parts(chunk.add(1).cast::<u8>(), (*chunk).len);
                    ok = match &self.sink {
                        Sink::Memory => true,
                        Sink::Function(sink) => sink(data),
                        #[cfg(feature = "std")]
                        Sink::File(file) => std::io::Write::write_all(&mut &*file, data).is_ok(),
                    };
                }
                if self.walks == 0 {
                    inner.dealloc(chunk.cast(), chunk_layout::<BUFFER>());
                }
            }
        }
        self.last = null_mut();
        // SAFETY: from the caller.
        ok = ok && unsafe { self.spill(inner) };
        if !ok {
            self.len = 0;
            self.recording = false;
            self.ended = true;
            self.truncated = true;
        }
        ok
    }

    /// Gives every chunk back to `inner`, when the recorder goes.
    ///
    /// # Safety
    ///
    /// No walk reads the chunks; `inner` is the allocator every chunk of
    /// this log came from.
    pub(super) unsafe fn free_chunks<A: GlobalAlloc>(&mut self, inner: &A) {
        for list in [&mut self.first, &mut self.retired] {
            // SAFETY: from the caller.
            unsafe { free_chain::<A, BUFFER>(list, inner) };
        }
        self.last = null_mut();
    }

    /// Ends a walk of the chunks; the last one to end gives the retired
    /// chunks back to `inner`.
    ///
    /// # Safety
    ///
    /// A walk started (`walks` counts it) and no longer reads the chunks;
    /// `inner` is the allocator every chunk of this log came from.
    pub(super) unsafe fn walked<A: GlobalAlloc>(&mut self, inner: &A) {
        self.walks -= 1;
        if self.walks == 0 {
            // SAFETY: chunks written out and unlinked, which no walk reads
            // any more; from the caller.
            unsafe { free_chain::<A, BUFFER>(&mut self.retired, inner) };
        }
    }
}

/// Gives the chunks of the chain at `list` back to `inner`, leaving it
/// empty.
///
/// # Safety
///
/// The chain's chunks are a log's of `BUFFER` bytes, which no walk reads,
/// from `inner`.
unsafe fn free_chain<A: GlobalAlloc, const BUFFER: usize>(list: &mut *mut Chunk, inner: &A) {
    while !list.is_null() {
        let chunk = *list;
        // SAFETY: a chunk of the chain (the caller's promise), which came
        // from `inner` with this layout, unlinked before it is given back.
        unsafe {
            *list = (*chunk).next;
            inner.dealloc(chunk.cast(), chunk_layout::<BUFFER>());
        }
    }
}

pub(super) fn chunk_layout<const BUFFER: usize>() -> Layout {
    // A header and `BUFFER` bytes: far below `isize::MAX` for any buffer
    // that fits in a static, and aligned as the header.
    match Layout::from_size_align(size_of::<Chunk>() + BUFFER, align_of::<Chunk>()) {
        Ok(layout) => layout,
        Err(_) => unreachable!(),
    }
}
