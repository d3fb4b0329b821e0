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
        address: usize,
        size: usize,
        align: usize,
        zeroed: bool,
    },
    /// `dealloc` of the block at `address`.
    Dealloc { address: usize },
    /// `realloc` of the block at `from` to `size` bytes, which moved it to
    /// `to` (equal to `from` when it stayed; 0 when it failed).
    Realloc { from: usize, to: usize, size: usize },
}

/// A recorded trace.
#[derive(Debug, Default)]
pub struct Trace {
    /// The pointer width of the program recorded, in bytes.
    pub pointer_bytes: u8,
    /// The requests, in order.
    pub events: Vec<Event>,
    /// Whether the recording ran out of memory before the program ended.
    pub truncated: bool,
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

    fn size(&mut self) -> Result<usize, Error> {
        usize::try_from(self.varint()?).map_err(|_| self.error("a size larger than this machine's"))
    }

    fn address(&mut self) -> Result<usize, Error> {
        let zigzag = self.varint()?;
        let delta = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        self.previous = self.previous.wrapping_add(delta as isize as usize);
        Ok(self.previous)
    }
}

impl Trace {
    /// Parses a trace.
    pub fn parse(bytes: &[u8]) -> Result<Trace, Error> {
        let mut r = Reader {
            bytes,
            at: 0,
            previous: 0,
        };
        if bytes.len() < 6 || bytes[..4] != MAGIC {
            return Err(Error(
                "not a lite-alloc trace (no `LATR` at its start)".into(),
            ));
        }
        if bytes[4] != VERSION {
            return Err(Error(format!(
                "trace version {} (this tool reads version {VERSION})",
                bytes[4]
            )));
        }
        let mut trace = Trace {
            pointer_bytes: bytes[5],
            ..Trace::default()
        };
        r.at = 6;
        while r.at < bytes.len() {
            let event = match r.byte()? {
                t @ (tag::ALLOC | tag::ALLOC_ZEROED) => {
                    let address = r.address()?;
                    let size = r.size()?;
                    let log = r.byte()?;
                    if log >= usize::BITS as u8 {
                        return Err(r.error("an alignment too large"));
                    }
                    Event::Alloc {
                        address,
                        size,
                        align: 1 << log,
                        zeroed: t == tag::ALLOC_ZEROED,
                    }
                }
                tag::DEALLOC => Event::Dealloc {
                    address: r.address()?,
                },
                tag::REALLOC => {
                    let from = r.address()?;
                    let to = r.address()?;
                    Event::Realloc {
                        from,
                        to,
                        size: r.size()?,
                    }
                }
                tag::TRUNCATED => {
                    trace.truncated = true;
                    break;
                }
                other => return Err(r.error(&format!("unknown record {other}"))),
            };
            trace.events.push(event);
        }
        Ok(trace)
    }

    /// Reads and parses a trace file.
    pub fn read(path: &std::path::Path) -> Result<Trace, Box<dyn std::error::Error>> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(Trace::parse(&bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lite_alloc::record::Recorder;
    use std::alloc::{GlobalAlloc, Layout, System};

    /// What the recorder writes, the reader reads back.
    #[test]
    fn reads_what_the_recorder_writes() {
        let recorder = Recorder::new(System);
        let small = Layout::from_size_align(24, 8).unwrap();
        let large = Layout::from_size_align(100_000, 64).unwrap();
        let (a, b, c);
        unsafe {
            a = recorder.alloc(small);
            b = recorder.alloc_zeroed(large);
            c = recorder.realloc(a, small, 48);
            recorder.dealloc(b, large);
            recorder.dealloc(c, Layout::from_size_align(48, 8).unwrap());
        }
        let mut bytes = Vec::new();
        recorder.for_each_chunk(|chunk| bytes.extend_from_slice(chunk));
        let trace = Trace::parse(&bytes).unwrap();
        assert_eq!(trace.pointer_bytes as usize, size_of::<usize>());
        assert!(!trace.truncated);
        assert_eq!(
            trace.events,
            [
                Event::Alloc {
                    address: a as usize,
                    size: 24,
                    align: 8,
                    zeroed: false
                },
                Event::Alloc {
                    address: b as usize,
                    size: 100_000,
                    align: 64,
                    zeroed: true
                },
                Event::Realloc {
                    from: a as usize,
                    to: c as usize,
                    size: 48
                },
                Event::Dealloc {
                    address: b as usize
                },
                Event::Dealloc {
                    address: c as usize
                },
            ]
        );
        // Nothing is recorded once stopped.
        unsafe {
            let d = recorder.alloc(small);
            recorder.dealloc(d, small);
        }
        let mut again = Vec::new();
        recorder.for_each_chunk(|chunk| again.extend_from_slice(chunk));
        assert_eq!(again, bytes);
    }

    #[test]
    fn rejects_what_is_not_a_trace() {
        assert!(Trace::parse(b"hello world").is_err());
        assert!(Trace::parse(b"LATR\x09\x08").is_err(), "unknown version");
        assert!(Trace::parse(b"LATR\x01\x08\x00\x80").is_err(), "cut short");
        assert!(Trace::parse(b"LATR\x01\x08\x07").is_err(), "unknown record");
    }
}
