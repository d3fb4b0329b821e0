//! The replay program lite-alloc-tune generates for a set of candidates
//! (`candidates.rs`, generated beside this file): built for `wasm32-wasip1`
//! and run under `node:wasi`, once per candidate in a fresh instance, so that
//! headers, alignment and memory growth are the target's own.
//!
//!   replay WHICH SCRIPT
//!
//! replays the script (a trace with its blocks numbered, see
//! `lite-alloc-tune/src/script.rs`) against candidate WHICH, called through
//! `GlobalAlloc` as the program's global allocator would be, and prints one
//! line of numbers: what it grew memory by, and what it did.
//!
//! Nothing else grows memory while it runs: the buffer the script is read
//! through and the table of live blocks are grown before the candidate's
//! first request.

use std::alloc::{GlobalAlloc, Layout};
use std::fs::File;
use std::io::Read;

mod candidates;

/// Bytes of the script read at a time.
const CHUNK: usize = 1 << 20;
/// The longest operation in the script: a byte and four varints.
const LONGEST: usize = 1 + 4 * 10;

/// `pages` of memory of their own, grown before the replay (the
/// candidate's memory starts after them).
fn grown(pages: usize, what: &str) -> *mut u8 {
    let old = core::arch::wasm32::memory_grow(0, pages);
    assert!(old != usize::MAX, "no memory for {what}");
    core::ptr::with_exposed_provenance_mut(old * 65536)
}

/// The script, read a buffer at a time.
struct Script {
    file: File,
    buffer: &'static mut [u8],
    at: usize,
    end: usize,
    eof: bool,
}

impl Script {
    fn open(path: &str) -> Script {
        let file = File::open(path).unwrap_or_else(|e| panic!("the script {path}: {e}"));
        Script {
            file,
            // SAFETY: fresh pages, `CHUNK` bytes, used by nothing else.
            buffer: unsafe {
                core::slice::from_raw_parts_mut(grown(CHUNK / 65536, "the script's buffer"), CHUNK)
            },
            at: 0,
            end: 0,
            eof: false,
        }
    }

    /// Makes sure the longest operation is in the buffer, unless the file
    /// ends first.
    fn fill(&mut self) {
        if self.end - self.at >= LONGEST || self.eof {
            return;
        }
        self.buffer.copy_within(self.at..self.end, 0);
        self.end -= self.at;
        self.at = 0;
        while self.end < CHUNK {
            let n = self
                .file
                .read(&mut self.buffer[self.end..])
                .expect("reading the script");
            if n == 0 {
                self.eof = true;
                break;
            }
            self.end += n;
        }
    }

    fn byte(&mut self) -> u8 {
        assert!(
            self.at < self.end,
            "the script ends in the middle of an operation"
        );
        let byte = self.buffer[self.at];
        self.at += 1;
        byte
    }

    fn varint(&mut self) -> usize {
        let mut value = 0usize;
        let mut shift = 0;
        loop {
            let byte = self.byte();
            value |= ((byte & 0x7F) as usize) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }

    fn u32(&mut self) -> usize {
        let bytes = [self.byte(), self.byte(), self.byte(), self.byte()];
        u32::from_le_bytes(bytes) as usize
    }
}

/// What a replay measured.
#[derive(Default)]
pub struct Outcome {
    /// Pages of memory grown during the replay.
    grown_pages: usize,
    /// `memory.grow` calls that succeeded.
    grows: u64,
    /// The most bytes the live blocks requested at once.
    peak_requested: usize,
    /// At that moment, the bytes of those blocks beyond what was requested.
    rounding_at_peak: Option<usize>,
    bin_hits: Option<u64>,
    bin_misses: Option<u64>,
    leaked: Option<usize>,
    failed: u64,
    micros: u128,
}

/// Replays the script against `alloc`; `stats` reads its statistics, when
/// it keeps any.
fn replay<A: GlobalAlloc>(
    script: &mut Script,
    slots: *mut *mut u8,
    alloc: &A,
    stats: Option<fn() -> lite_alloc::Stats>,
) -> Outcome {
    let mut o = Outcome::default();
    let (mut requested, mut sampled) = (0usize, 0usize);
    let start_pages = core::arch::wasm32::memory_size(0);
    let mut pages = start_pages;
    let started = std::time::Instant::now();
    loop {
        script.fill();
        let op = script.byte();
        // An alignment past wasm32's (from a 64-bit program) is 0: no
        // layout, the request fails here.
        let (kind, align) = (op & 3, 1usize.checked_shl(u32::from(op >> 2)).unwrap_or(0));
        match kind {
            0 => {
                let (slot, size) = (script.varint(), script.varint());
                let zeroed = script.byte() != 0;
                // A layout the recorded program made, which wasm32 may not
                // hold (a 64-bit program's): the request then fails here.
                let block = match Layout::from_size_align(size, align) {
                    // SAFETY: a valid, non-zero-sized layout (the script
                    // rounds zero sizes up to 1).
                    Ok(layout) => unsafe {
                        if zeroed {
                            alloc.alloc_zeroed(layout)
                        } else {
                            alloc.alloc(layout)
                        }
                    },
                    Err(_) => std::ptr::null_mut(),
                };
                if block.is_null() {
                    o.failed += 1;
                } else {
                    requested += size;
                }
                // SAFETY: the table holds every slot the script numbers.
                unsafe { slots.add(slot).write(block) };
            }
            1 => {
                let (slot, size) = (script.varint(), script.varint());
                // SAFETY: as above.
                let block = unsafe { slots.add(slot).read() };
                if !block.is_null() {
                    // SAFETY: a live block of `alloc`, with the layout it
                    // was allocated or last resized with (a valid one: it
                    // was served).
                    unsafe { alloc.dealloc(block, Layout::from_size_align_unchecked(size, align)) };
                    requested -= size;
                }
            }
            2 => {
                let (slot, size, new_size) = (script.varint(), script.varint(), script.varint());
                // SAFETY: as above.
                let block = unsafe { slots.add(slot).read() };
                if !block.is_null() {
                    // A new size wasm32 cannot hold fails here, as above.
                    let new = if Layout::from_size_align(new_size, align).is_ok() {
                        // SAFETY: a live block of `alloc` with this layout,
                        // and a new size that makes a valid layout with its
                        // alignment.
                        unsafe {
                            alloc.realloc(
                                block,
                                Layout::from_size_align_unchecked(size, align),
                                new_size,
                            )
                        }
                    } else {
                        std::ptr::null_mut()
                    };
                    if new.is_null() {
                        o.failed += 1;
                    } else {
                        requested = requested - size + new_size;
                        // SAFETY: as above.
                        unsafe { slots.add(slot).write(new) };
                    }
                }
            }
            _ => break,
        }
        let now = core::arch::wasm32::memory_size(0);
        if now != pages {
            pages = now;
            o.grows += 1;
        }
        if requested > o.peak_requested {
            o.peak_requested = requested;
            // The statistics at every new peak would be slow: at most when
            // the peak grew by 1/256 since the last reading.
            if let Some(stats) = stats
                && requested - sampled > sampled / 256
            {
                sampled = requested;
                let s = stats();
                o.rounding_at_peak = Some(s.in_use_capacity - s.in_use);
            }
        }
    }
    o.micros = started.elapsed().as_micros();
    o.grown_pages = pages - start_pages;
    if let Some(stats) = stats {
        let s = stats();
        let (hits, misses) = s
            .bins()
            .iter()
            .fold((0, 0), |(h, m), b| (h + b.hits, m + b.misses));
        o.bin_hits = Some(hits);
        o.bin_misses = Some(misses);
        o.leaked = Some(s.leaked);
    }
    o
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, which, path] = &args[..] else {
        panic!("usage: replay WHICH SCRIPT");
    };
    let which: usize = which.parse().expect("WHICH: a candidate's number");
    let mut script = Script::open(path);
    script.fill();
    let magic = [
        script.byte(),
        script.byte(),
        script.byte(),
        script.byte(),
        script.byte(),
    ];
    assert_eq!(&magic, b"LARS1", "not a replay script of this version");
    let slots = script.u32().max(1);
    // The table of live blocks, in memory of its own, grown before the
    // replay: the candidate's memory starts after it.
    let pages = (slots * size_of::<*mut u8>()).div_ceil(65536);
    let table = grown(pages, "the table of live blocks").cast::<*mut u8>();
    let o = candidates::replay(which, &mut script, table)
        .unwrap_or_else(|| panic!("no candidate {which}"));
    let some = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    println!(
        "{which} {} {} {} {} {} {} {} {} {}",
        o.grown_pages,
        o.grows,
        o.peak_requested,
        some(o.rounding_at_peak.map(|v| v as u64)),
        some(o.bin_hits),
        some(o.bin_misses),
        some(o.leaked.map(|v| v as u64)),
        o.failed,
        o.micros,
    );
}
