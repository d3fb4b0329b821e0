//! A misuse's message: written a piece at a time, to a `Formatter` or to
//! the static buffer a host or a debugger reads.

use core::fmt;
use core::num::NonZeroUsize;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use super::{Block, Call, Kind, MESSAGE_BYTES, Misuse};

/// Where a message goes, a piece at a time: a `Formatter`, or the static
/// buffer. Numbers are written by hand, so that a message needs nothing of
/// `core::fmt` but `write_str` (integer formatting and padding cost over a
/// kilobyte of wasm).
trait Sink {
    /// Writes `text`; false when the sink failed.
    fn put(&mut self, text: &str) -> bool;
}

impl Sink for fmt::Formatter<'_> {
    fn put(&mut self, text: &str) -> bool {
        self.write_str(text).is_ok()
    }
}

/// Writes messages to a [`Sink`], remembering whether it failed (rather
/// than stopping at once, which costs a branch a piece).
struct Text<'a> {
    sink: &'a mut dyn Sink,
    ok: bool,
}

impl<'a> Text<'a> {
    fn new(sink: &'a mut dyn Sink) -> Self {
        Text { sink, ok: true }
    }

    fn done(self) -> fmt::Result {
        if self.ok { Ok(()) } else { Err(fmt::Error) }
    }

    fn s(&mut self, text: &str) {
        self.ok &= self.sink.put(text);
    }

    /// `n` in base `RADIX` (10 or 16; `0x` first for 16).
    fn num<const RADIX: usize>(&mut self, mut n: usize) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        // Enough for `usize::MAX` in decimal on 64-bit targets.
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        for slot in digits.iter_mut().rev() {
            *slot = DIGITS[n % RADIX];
            at -= 1;
            n /= RADIX;
            if n == 0 {
                break;
            }
        }
        if RADIX == 16 {
            self.s("0x");
        }
        let digits = digits.get(at..).unwrap_or_default();
        // SAFETY: ASCII digits.
        self.s(unsafe { core::str::from_utf8_unchecked(digits) })
    }

    fn dec(&mut self, n: usize) {
        self.num::<10>(n)
    }

    fn hex(&mut self, n: usize) {
        self.num::<16>(n)
    }

    /// `0x11c40 (24 bytes, align 8)`.
    fn block(&mut self, block: &Block) {
        self.hex(block.address);
        self.s(" (");
        self.dec(block.layout.size());
        self.s(" bytes, align ");
        self.dec(block.layout.align());
        self.s(")")
    }

    /// The call as written: `dealloc(0x11c40, size 24, align 8)`,
    /// `alloc(size 24, align 8)`.
    fn call(&mut self, misuse: &Misuse) {
        let name = match misuse.call {
            Call::Verify => return self.s("verify()"),
            Call::Alloc => "alloc(",
            Call::Dealloc => "dealloc(",
            Call::Realloc { .. } => "realloc(",
        };
        self.s(name);
        if misuse.call != Call::Alloc {
            self.hex(misuse.pointer);
            self.s(", ");
        }
        if let Some(layout) = misuse.layout {
            self.s("size ");
            self.dec(layout.size());
            self.s(", align ");
            self.dec(layout.align());
        }
        if let Call::Realloc { new_size } = misuse.call {
            self.s(", new size ");
            self.dec(new_size);
        }
        self.s(")")
    }

    /// The whole message (see [`Misuse`]).
    fn misuse(&mut self, misuse: &Misuse) {
        self.s("lite-alloc: ");
        self.s(misuse.allocator);
        self.s(": ");
        self.s(misuse.kind.name());
        self.s(": ");
        let offset = misuse.offset.unwrap_or(0);
        match (misuse.kind, &misuse.block) {
            (Kind::DoubleFree, Some(block)) => {
                self.call(misuse);
                self.s(" of the block at ");
                self.block(block);
                self.s(", which was already freed")
            }
            (Kind::WrongLayout, Some(block)) => {
                self.call(misuse);
                self.s(" of the block at ");
                self.hex(block.address);
                self.s(", allocated with size ");
                self.dec(block.layout.size());
                self.s(", align ");
                self.dec(block.layout.align())
            }
            (Kind::Overrun, Some(block)) => {
                self.s("the block at ");
                self.block(block);
                self.s(" was written past its end (byte ");
                self.dec(offset);
                self.s(" changed), found by ");
                self.call(misuse)
            }
            (Kind::UseAfterFree, Some(block)) if misuse.header.is_some() => {
                self.s("the heap's header of the block at ");
                self.block(block);
                self.s(", at ");
                self.hex(misuse.header.map_or(0, NonZeroUsize::get));
                self.s(", was written (through a pointer to a block freed earlier, or past the end of the block before it); the heap's free lists are no longer used; found by ");
                self.call(misuse)
            }
            (Kind::UseAfterFree, Some(block)) if misuse.offset.is_none() => {
                self.s("the heap handed out the block at ");
                self.block(block);
                self.s(if block.freed {
                    " again while it is freed"
                } else {
                    " again while it is live"
                });
                self.s(": a freed block was written after it left the quarantine, and the heap's free lists are no longer used; found in ");
                self.call(misuse)
            }
            (Kind::UseAfterFree, Some(block)) => {
                self.s("the block at ");
                self.block(block);
                self.s(" was written after it was freed (byte ");
                self.dec(offset);
                self.s(" changed), found ");
                if misuse.call == Call::Verify {
                    self.s("by verify()")
                } else {
                    self.s("before it was handed out again, in ");
                    self.call(misuse)
                }
            }
            (Kind::UseAfterFree, None) if misuse.table.is_some() => {
                self.s("the checked layer's own table, at ");
                self.hex(misuse.table.map_or(0, NonZeroUsize::get));
                self.s(", was written (through a pointer to a block freed earlier, or past the end of the block before it); without it the layer can no longer tell the blocks apart, and checks and reports nothing more; the heap's free lists are no longer used; found by ");
                self.call(misuse)
            }
            (Kind::UseAfterFree, None) if misuse.header.is_some() => {
                self.s("the heap's header of the checked layer's own table, at ");
                self.hex(misuse.header.map_or(0, NonZeroUsize::get));
                self.s(", was written (through a pointer to a block freed earlier, or past the end of the block before it); the heap's free lists are no longer used; found by ");
                self.call(misuse)
            }
            (Kind::UseAfterFree, None) => {
                self.s("a freed block was written after it left the quarantine: ");
                if misuse.call == Call::Verify {
                    self.s("verify() found the heap's free lists damaged (or a slab's header written) at ");
                    self.hex(misuse.pointer);
                    self.s(", and the heap no longer uses them")
                } else {
                    self.s("the heap found a free chunk's words there changed (its links, size or footer), left it alone and no longer uses its free lists; found in ");
                    self.call(misuse)
                }
            }
            (_, block) => {
                self.call(misuse);
                self.s(": no block of this allocator starts there (");
                match block {
                    None => self.s("it lies in no block the allocator tracks: never handed out here, or freed and already released from the quarantine)"),
                    Some(block) => {
                        self.dec(misuse.pointer.wrapping_sub(block.address));
                        self.s(if block.freed {
                            " bytes into the freed block at "
                        } else {
                            " bytes into the live block at "
                        });
                        self.block(block);
                        self.s(")")
                    }
                }
            }
        }
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = Text::new(f);
        text.block(self);
        text.done()
    }
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = Text::new(f);
        text.misuse(self);
        text.done()
    }
}

/// The last message, in bytes a host can read: atomic bytes, so that two
/// threads reporting at once leave a mixed message, never a data race.
struct Message {
    bytes: [AtomicU8; MESSAGE_BYTES],
    len: AtomicUsize,
}

static MESSAGE: Message = Message {
    bytes: [const { AtomicU8::new(0) }; MESSAGE_BYTES],
    len: AtomicUsize::new(0),
};

/// Keeps `misuse`'s message (its first `MESSAGE_BYTES` bytes) in the
/// static buffer.
pub(super) fn keep(misuse: &Misuse) {
    MESSAGE.keep(misuse);
}

impl Message {
    /// Keeps `misuse`'s message (its first `MESSAGE_BYTES` bytes).
    fn keep(&self, misuse: &Misuse) {
        struct Writer<'a>(&'a Message, usize);
        impl Sink for Writer<'_> {
            fn put(&mut self, text: &str) -> bool {
                for &byte in text.as_bytes() {
                    if let Some(slot) = self.0.bytes.get(self.1) {
                        // ASCII, each other byte as `?`: cut anywhere, the
                        // buffer stays UTF-8 for a wasm host to read (the
                        // allocator's path may hold any character).
                        slot.store(if byte.is_ascii() { byte } else { b'?' }, Ordering::Relaxed);
                        self.1 += 1;
                    }
                }
                true
            }
        }
        let mut writer = Writer(self, 0);
        // Never fails: the writer truncates.
        Text::new(&mut writer).misuse(misuse);
        self.len.store(writer.1, Ordering::Release);
    }
}

/// Copies the last misuse's message (the first [`MESSAGE_BYTES`] bytes
/// of it, as ASCII) into `buffer` and returns it; empty when none was
/// caught. It is kept whatever the hook, so that a debugger (or a test) can
/// read it.
pub fn last_message(buffer: &mut [u8; MESSAGE_BYTES]) -> &str {
    let len = MESSAGE.len.load(Ordering::Acquire).min(MESSAGE_BYTES);
    for (out, byte) in buffer.iter_mut().zip(&MESSAGE.bytes[..len]) {
        *out = byte.load(Ordering::Relaxed);
    }
    // Every byte `keep` stores is ASCII, so this is the whole message; the
    // check keeps the `str` sound whatever the bytes.
    match core::str::from_utf8(&buffer[..len]) {
        Ok(text) => text,
        Err(error) => {
            let valid = error.valid_up_to();
            // SAFETY: `valid_up_to` bytes are valid UTF-8.
            unsafe { core::str::from_utf8_unchecked(&buffer[..valid]) }
        }
    }
}

/// The address of the last message's bytes, for a wasm host.
#[cfg(all(feature = "check", target_arch = "wasm32", target_os = "unknown"))]
#[unsafe(export_name = "lite_alloc_misuse_ptr")]
extern "C" fn misuse_ptr() -> *const u8 {
    MESSAGE.bytes.as_ptr().cast()
}

/// The length of the last message, for a wasm host (0: none).
#[cfg(all(feature = "check", target_arch = "wasm32", target_os = "unknown"))]
#[unsafe(export_name = "lite_alloc_misuse_len")]
extern "C" fn misuse_len() -> usize {
    MESSAGE.len.load(Ordering::Acquire)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Call, Kind};

    const E: &str = "crate::éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé";

    /// A message longer than the buffer, whose allocator's path has
    /// characters of several bytes, is kept as ASCII (each other byte a
    /// `?`): UTF-8 wherever the buffer's end falls.
    #[test]
    fn a_long_message_is_kept_as_ascii() {
        for path in [
            E,
            &E[1..],
            "crate::an_ascii_path_longer_than_the_buffer_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            let misuse = Misuse::new(Kind::DoubleFree, path, Call::Dealloc, 0x1234, None);
            let message = Message {
                bytes: [const { AtomicU8::new(0) }; MESSAGE_BYTES],
                len: AtomicUsize::new(0),
            };
            message.keep(&misuse);
            let len = message.len.load(Ordering::Relaxed);
            let mut bytes = [0; MESSAGE_BYTES];
            for (byte, kept) in bytes.iter_mut().zip(&message.bytes[..len]) {
                *byte = kept.load(Ordering::Relaxed);
            }
            let kept = core::str::from_utf8(&bytes[..len]).expect("UTF-8");
            assert_eq!(len, MESSAGE_BYTES);
            assert!(
                kept.starts_with("lite-alloc: ") && kept.is_ascii(),
                "{kept}"
            );
        }
    }
}
