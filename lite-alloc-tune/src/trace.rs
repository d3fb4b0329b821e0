//! Reading a trace written by `lite_alloc::record::Recorder`.

use std::fmt;

use lite_alloc::record::{MAGIC, VERSION, tag};

/// One recorded request. Addresses identify blocks: a block is known by the
/// address it was handed out at until it is freed or moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `alloc` (or `alloc_zeroed`) of `size` bytes aligned to `align`, which
    /// gave `address` (0: it failed).
    Alloc {
        /// Where the block was handed out (0: the request failed).
        address: usize,
        /// The bytes requested.
        size: usize,
        /// The alignment requested.
        align: usize,
        /// Whether it was `alloc_zeroed`.
        zeroed: bool,
    },
    /// `dealloc` of the block at `address`.
    Dealloc {
        /// The block freed.
        address: usize,
    },
    /// `realloc` of the block at `from` to `size` bytes, which moved it to
    /// `to` (equal to `from` when it stayed; 0 when it failed).
    Realloc {
        /// The block resized.
        from: usize,
        /// Where it is now (`from` when it stayed; 0: it failed, and the
        /// block stays at `from`).
        to: usize,
        /// Its new size in bytes.
        size: usize,
    },
}

/// What a program recorded on wasm says about its memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgramMemory {
    /// Bytes of linear memory when recording started: the module's static
    /// data and stack, and what the C library allocated before.
    pub at_start: usize,
    /// Where the module's static data ended (`__heap_base`).
    pub heap_base: usize,
    /// Bytes of static data the recorder itself added (its buffer).
    pub recorder: usize,
}

impl ProgramMemory {
    /// The pages the program starts with when it runs without the
    /// recorder: those it started with under it, less the pages the
    /// recorder's static data took.
    pub fn base_pages(&self) -> usize {
        let page = 65536;
        let with = self.heap_base.div_ceil(page);
        let without = self.heap_base.saturating_sub(self.recorder).div_ceil(page);
        (self.at_start / page).saturating_sub(with - without)
    }
}

/// A recorded trace.
#[derive(Debug, Default)]
pub struct Trace {
    /// The pointer width of the program recorded, in bytes.
    pub pointer_bytes: u8,
    /// The program's memory, when it was recorded on wasm.
    pub memory: Option<ProgramMemory>,
    /// The requests, in order.
    pub events: Vec<Event>,
    /// Whether the recording stopped early (memory for the trace, or
    /// writing it, failed).
    pub truncated: bool,
    /// Whether the trace ends with its end mark: false when the program
    /// did not call `finish` (or `save`), and the last events are missing.
    pub complete: bool,
}

/// Why a trace could not be read.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    previous: usize,
    /// The recorded program's addresses wrap at its pointer width, which
    /// may be less than this machine's: a 32-bit trace writes the
    /// difference of two addresses modulo 2^32.
    mask: usize,
}

impl Reader<'_> {
    fn error(&self, what: &str) -> Error {
        Error(format!("{what} at byte {}", self.at))
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| self.error("unexpected end of the trace"))?;
        self.at += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= ((byte & 0x7F) as u64) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error("a number longer than 64 bits"))
    }

    /// A number of bytes that fits this machine's `usize`.
    fn bytes(&mut self) -> Result<usize, Error> {
        usize::try_from(self.varint()?).map_err(|_| self.error("a size larger than this machine's"))
    }

    /// A request's size: at most the recorded program's `isize::MAX`, as
    /// every `Layout`'s (also the program's memory, at most its address
    /// space).
    fn size(&mut self) -> Result<usize, Error> {
        usize::try_from(self.varint()?)
            .ok()
            .filter(|&size| size <= self.mask >> 1)
            .ok_or_else(|| self.error("a size larger than the program's `isize::MAX`"))
    }

    fn address(&mut self) -> Result<usize, Error> {
        let zigzag = self.varint()?;
        let delta = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        self.previous = self.previous.wrapping_add(delta as isize as usize) & self.mask;
        Ok(self.previous)
    }
}

impl Trace {
    /// Parses a trace. A trace cut short in the middle of a record (the
    /// program ended without `finish`) is read up to its last whole record.
    pub fn parse(bytes: &[u8]) -> Result<Trace, Error> {
        let mut r = Reader {
            bytes,
            at: 0,
            previous: 0,
            mask: usize::MAX,
        };
        if bytes.len() < 6 || bytes[..4] != MAGIC {
            return Err(Error(
                "not a lite-alloc trace (no `LATR` at its start)".into(),
            ));
        }
        if bytes[4] != VERSION {
            return Err(Error(format!(
                "trace version {} (this tool reads version {VERSION}: record the program again with this version of lite-alloc)",
                bytes[4]
            )));
        }
        let bits = u32::from(bytes[5]) * 8;
        if bits == 0 {
            return Err(Error("a trace of pointers of 0 bytes".into()));
        }
        if bits < usize::BITS {
            r.mask = (1 << bits) - 1;
        }
        let mut trace = Trace {
            pointer_bytes: bytes[5],
            ..Trace::default()
        };
        r.at = 6;
        while r.at < bytes.len() {
            let event = match r.event(&mut trace) {
                Ok(Some(event)) => event,
                Ok(None) if trace.truncated || trace.complete => break,
                Ok(None) => continue,
                // The last record, cut short: the trace ends before it.
                Err(_) if r.at >= bytes.len() => break,
                Err(error) => return Err(error),
            };
            trace.events.push(event);
        }
        Ok(trace)
    }

    /// Reads and parses a trace file.
    pub fn read(path: impl AsRef<std::path::Path>) -> Result<Trace, Box<dyn std::error::Error>> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(Trace::parse(&bytes)?)
    }
}

impl Reader<'_> {
    /// The next record: an event, or `None` for one that is not (the
    /// program's memory, the end).
    fn event(&mut self, trace: &mut Trace) -> Result<Option<Event>, Error> {
        let first = self.byte()?;
        Ok(Some(match first & tag::KIND {
            kind @ (tag::ALLOC | tag::ALLOC_ZEROED) => {
                let mut log = first >> tag::ALIGN_SHIFT;
                if log == tag::ALIGN_ESCAPE {
                    log = self.byte()?;
                }
                if log >= usize::BITS as u8 {
                    return Err(self.error("an alignment too large"));
                }
                Event::Alloc {
                    address: self.address()?,
                    size: self.size()?,
                    align: 1 << log,
                    zeroed: kind == tag::ALLOC_ZEROED,
                }
            }
            tag::DEALLOC => Event::Dealloc {
                address: self.address()?,
            },
            tag::REALLOC => {
                let from = self.address()?;
                let to = self.address()?;
                Event::Realloc {
                    from,
                    to,
                    size: self.size()?,
                }
            }
            tag::REALLOC_IN_PLACE => {
                let at = self.address()?;
                Event::Realloc {
                    from: at,
                    to: at,
                    size: self.size()?,
                }
            }
            tag::MEMORY => {
                trace.memory = Some(ProgramMemory {
                    at_start: self.bytes()?,
                    heap_base: self.bytes()?,
                    recorder: self.bytes()?,
                });
                return Ok(None);
            }
            tag::TRUNCATED => {
                trace.truncated = true;
                return Ok(None);
            }
            _ /* tag::END */ => {
                trace.complete = true;
                return Ok(None);
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lite_alloc::record::Recorder;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    /// A little program: allocations of two alignments, a zeroed one, a
    /// resize and frees; the events it must leave in a trace.
    fn program<const B: usize>(recorder: &Recorder<System, B>, rounds: usize) -> Vec<Event> {
        let small = Layout::from_size_align(24, 8).unwrap();
        let large = Layout::from_size_align(100_000, 64).unwrap();
        let mut events = Vec::new();
        for _ in 0..rounds {
            unsafe {
                let a = recorder.alloc(small);
                let b = recorder.alloc_zeroed(large);
                let c = recorder.realloc(a, small, 48);
                recorder.dealloc(b, large);
                recorder.dealloc(c, Layout::from_size_align(48, 8).unwrap());
                events.extend([
                    Event::Alloc {
                        address: a as usize,
                        size: 24,
                        align: 8,
                        zeroed: false,
                    },
                    Event::Alloc {
                        address: b as usize,
                        size: 100_000,
                        align: 64,
                        zeroed: true,
                    },
                    Event::Realloc {
                        from: a as usize,
                        to: c as usize,
                        size: 48,
                    },
                    Event::Dealloc {
                        address: b as usize,
                    },
                    Event::Dealloc {
                        address: c as usize,
                    },
                ]);
            }
        }
        events
    }

    fn in_memory<const B: usize>(recorder: &Recorder<System, B>) -> Vec<u8> {
        let mut bytes = Vec::new();
        recorder.for_each_chunk(|chunk| bytes.extend_from_slice(chunk));
        bytes
    }

    /// What the recorder writes, the reader reads back.
    #[test]
    fn reads_what_the_recorder_writes() {
        let recorder = Recorder::<System>::new(System);
        let events = program(&recorder, 1);
        let bytes = in_memory(&recorder);
        let trace = Trace::parse(&bytes).unwrap();
        assert_eq!(trace.pointer_bytes as usize, size_of::<usize>());
        assert!(!trace.truncated && trace.complete);
        assert_eq!(trace.memory, None, "recorded on the host");
        assert_eq!(trace.events, events);
        // Nothing is recorded once stopped.
        unsafe {
            let small = Layout::from_size_align(24, 8).unwrap();
            let d = recorder.alloc(small);
            recorder.dealloc(d, small);
        }
        assert_eq!(in_memory(&recorder), bytes);
    }

    /// An allocator that counts the allocations it is asked for: the
    /// program's, and any the recorder makes for itself.
    struct Counting;

    static COUNTED: AtomicUsize = AtomicUsize::new(0);

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            COUNTED.fetch_add(1, Relaxed);
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
            unsafe { System.dealloc(block, layout) }
        }
    }

    static STREAMED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    fn to_streamed(bytes: &[u8]) -> bool {
        STREAMED.lock().unwrap().extend_from_slice(bytes);
        true
    }

    /// Streaming through a small buffer writes the same trace as keeping it
    /// in memory, and the recorder takes no memory of its own: only the
    /// program's requests reach the wrapped allocator.
    #[test]
    fn streams_through_a_fixed_buffer() {
        let recorder = Recorder::<Counting, 128>::new(Counting);
        // SAFETY: the sink does not allocate through this recorder.
        unsafe { recorder.stream_to(to_streamed) };
        let small = Layout::from_size_align(40, 8).unwrap();
        let mut expected = Vec::new();
        for _ in 0..1000 {
            unsafe {
                let block = recorder.alloc(small);
                recorder.dealloc(block, small);
                expected.push(Event::Alloc {
                    address: block as usize,
                    size: 40,
                    align: 8,
                    zeroed: false,
                });
                expected.push(Event::Dealloc {
                    address: block as usize,
                });
            }
        }
        let written_before_finish = STREAMED.lock().unwrap().len();
        assert!(
            written_before_finish > 1000,
            "full buffers were written out as they filled: {written_before_finish} bytes"
        );
        recorder.finish().unwrap();
        assert_eq!(
            COUNTED.load(Relaxed),
            1000,
            "the recorder took no memory for the trace"
        );
        let trace = Trace::parse(&STREAMED.lock().unwrap()).unwrap();
        assert!(trace.complete && !trace.truncated);
        assert_eq!(trace.events, expected);
    }

    /// Streaming to a file that starts late writes out what was kept in
    /// memory first, and gives that memory back.
    #[test]
    fn a_file_given_late_gets_the_whole_trace() {
        let dir = std::env::temp_dir().join(format!("lite-alloc-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("late.trace");
        let recorder = Recorder::<System, 256>::new(System);
        let mut events = program(&recorder, 40);
        recorder
            .stream_to_file(std::fs::File::create(&path).unwrap())
            .unwrap();
        events.extend(program(&recorder, 40));
        recorder.finish().unwrap();
        let trace = Trace::read(&path).unwrap();
        assert!(trace.complete);
        assert_eq!(trace.events, events);
        // A second `finish` or `save` changes nothing.
        assert!(recorder.save(dir.join("again.trace")).is_err());
        assert_eq!(Trace::read(&path).unwrap().events, events);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn failing(_: &[u8]) -> bool {
        false
    }

    /// A sink that fails stops the recording, and the trace says so.
    #[test]
    fn a_failing_sink_truncates_the_trace() {
        let recorder = Recorder::<System, 128>::new(System);
        program(&recorder, 2);
        // SAFETY: the sink does not allocate.
        unsafe { recorder.stream_to(failing) };
        assert!(recorder.finish().is_err());
    }

    /// A trace cut short (no `finish`) is read up to its last whole record.
    #[test]
    fn a_trace_without_its_end_is_read_to_its_last_record() {
        let recorder = Recorder::<System>::new(System);
        let events = program(&recorder, 3);
        let bytes = in_memory(&recorder);
        // Without the end mark and half of the last record.
        let cut = &bytes[..bytes.len() - 2];
        let trace = Trace::parse(cut).unwrap();
        assert!(!trace.complete);
        assert_eq!(trace.events, events[..events.len() - 1]);
    }

    /// The memory record of a wasm recording: the pages the program starts
    /// with, without the recorder's static buffer.
    #[test]
    fn reads_the_program_memory_of_a_wasm_recording() {
        let mut bytes = b"LATR\x02\x04".to_vec();
        bytes.push(tag::MEMORY);
        // 24 pages at the start; `__heap_base` 20000 bytes into the 24th;
        // a recorder of 16400 bytes.
        for value in [24u64 << 16, (23 << 16) + 20_000, 16_400] {
            let mut v = value;
            loop {
                let low = (v & 0x7F) as u8;
                v >>= 7;
                bytes.push(if v == 0 { low } else { low | 0x80 });
                if v == 0 {
                    break;
                }
            }
        }
        bytes.push(tag::END);
        let trace = Trace::parse(&bytes).unwrap();
        let memory = trace.memory.unwrap();
        assert_eq!(memory.at_start, 24 << 16);
        assert_eq!(memory.base_pages(), 24, "the buffer did not cross a page");
        let big = ProgramMemory {
            recorder: 20_000,
            ..memory
        };
        assert_eq!(
            big.base_pages(),
            23,
            "without a buffer that crossed into the 24th page, a page less"
        );
    }

    #[test]
    fn rejects_what_is_not_a_trace() {
        assert!(Trace::parse(b"hello world").is_err());
        assert!(Trace::parse(b"LATR\x09\x08").is_err(), "unknown version");
        assert!(
            Trace::parse(b"LATR\x01\x08\x00").is_err(),
            "the old version"
        );
        assert!(
            Trace::parse(b"LATR\x02\x00").is_err(),
            "pointers of 0 bytes"
        );
        // A request of 2^31 bytes from a 32-bit program, which no `Layout`
        // holds; 2^31 - 1 is read.
        let request =
            |size: &[u8]| [b"LATR\x02\x04\x00\x02".as_slice(), size, &[tag::END]].concat();
        assert!(Trace::parse(&request(&[0x80, 0x80, 0x80, 0x80, 0x08])).is_err());
        let trace = Trace::parse(&request(&[0xFF, 0xFF, 0xFF, 0xFF, 0x07])).unwrap();
        assert!(matches!(
            trace.events[..],
            [Event::Alloc {
                size: 0x7FFF_FFFF,
                ..
            }]
        ));
    }

    /// A 32-bit program writes the difference of two addresses modulo
    /// 2^32: read on a 64-bit machine, the sum wraps there too.
    #[test]
    fn a_32_bit_trace_wraps_its_addresses() {
        // What `Recorder` writes on i686 for blocks of 16 bytes aligned to
        // 8 at 0x100, 0x7000_0000 and 0xE000_0000, a request that fails
        // (null: 0xE000_0000 + 0x2000_0000, modulo 2^32), and the free of
        // the block at 0x100.
        let bytes = [
            b'L',
            b'A',
            b'T',
            b'R',
            2,
            4, // header: version 2, 4-byte pointers
            24,
            128,
            4,
            16, // alloc (align 2^3): +0x100, 16 bytes
            24,
            128,
            252,
            255,
            255,
            13,
            16, // alloc: +0x6FFF_FF00
            24,
            128,
            128,
            128,
            128,
            14,
            16, // alloc: +0x7000_0000
            24,
            128,
            128,
            128,
            128,
            4,
            16, // alloc: +0x2000_0000 (null)
            2,
            128,
            4, // dealloc: +0x100
            tag::END,
        ];
        let trace = Trace::parse(&bytes).unwrap();
        let addresses: Vec<usize> = trace
            .events
            .iter()
            .map(|event| match *event {
                Event::Alloc { address, .. } | Event::Dealloc { address } => address,
                Event::Realloc { to, .. } => to,
            })
            .collect();
        assert_eq!(addresses, [0x100, 0x7000_0000, 0xE000_0000, 0, 0x100]);
    }

    fn recorded<A: GlobalAlloc>(recorder: &Recorder<A, 128>) {
        let small = Layout::from_size_align(24, 8).unwrap();
        for _ in 0..50 {
            // SAFETY: freed with its layout (or null).
            unsafe {
                let block = recorder.alloc(small);
                if !block.is_null() {
                    recorder.dealloc(block, small);
                }
            }
        }
    }

    /// A trace that ended whole stays whole: `finish` again, `save` after
    /// it, and `finish` after `for_each_chunk` are no error, and write it
    /// with its end mark.
    #[test]
    fn a_complete_trace_stays_complete() {
        let dir = std::env::temp_dir().join(format!("lite-alloc-ended-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let recorder = Recorder::<System, 128>::new(System);
        recorded(&recorder);
        assert_eq!(recorder.finish(), Ok(()));
        assert_eq!(recorder.finish(), Ok(()));
        let path = dir.join("after-finish.trace");
        recorder.save(&path).unwrap();
        let trace = Trace::read(&path).unwrap();
        assert!(trace.complete && !trace.truncated);
        assert_eq!(trace.events.len(), 100);

        let recorder = Recorder::<System, 128>::new(System);
        recorded(&recorder);
        let mut bytes = Vec::new();
        recorder.for_each_chunk(|piece| bytes.extend_from_slice(piece));
        assert_eq!(recorder.finish(), Ok(()));
        let trace = Trace::parse(&bytes).unwrap();
        assert!(trace.complete && !trace.truncated);
        assert_eq!(trace.events.len(), 100);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// An allocator with no memory at all.
    struct Empty;

    // SAFETY: it never hands out a block.
    unsafe impl GlobalAlloc for Empty {
        unsafe fn alloc(&self, _: Layout) -> *mut u8 {
            core::ptr::null_mut()
        }
        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }

    /// With no memory for a chunk, `for_each_chunk` still hands out what
    /// the buffer holds: here the whole trace, which `finish` found
    /// complete, of requests that all failed.
    #[test]
    fn a_trace_left_in_the_buffer_is_handed_out() {
        let recorder = Recorder::<Empty, 128>::new(Empty);
        let small = Layout::from_size_align(24, 8).unwrap();
        // SAFETY: a valid layout; the result is null.
        assert!(unsafe { recorder.alloc(small) }.is_null());
        assert_eq!(recorder.finish(), Ok(()));
        let mut bytes = Vec::new();
        recorder.for_each_chunk(|piece| bytes.extend_from_slice(piece));
        let trace = Trace::parse(&bytes).unwrap();
        assert!(trace.complete && !trace.truncated);
        assert_eq!(
            trace.events,
            [Event::Alloc {
                address: 0,
                size: 24,
                align: 8,
                zeroed: false
            }]
        );

        // More than a buffer: the trace ends truncated where the first
        // buffer filled, and that much is handed out.
        let recorder = Recorder::<Empty, 128>::new(Empty);
        recorded(&recorder);
        assert!(recorder.finish().is_err());
        let mut bytes = Vec::new();
        recorder.for_each_chunk(|piece| bytes.extend_from_slice(piece));
        let trace = Trace::parse(&bytes).unwrap();
        assert!(trace.truncated && !trace.complete);
        assert!(trace.events.len() > 10, "{} events", trace.events.len());
    }
}
