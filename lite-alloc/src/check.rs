//! The checked mode: misuse of an allocator reported on the call where it
//! happens, with the block and the layout named.
//!
//! `#[lite_alloc(check)]` (or the crate feature `check`, for
//! [`Default`](struct@crate::Default) and [`General`](crate::General))
//! makes a type check every call against the contract of
//! [`GlobalAlloc`](core::alloc::GlobalAlloc). It catches:
//!
//! | misuse | [`Kind`] | caught |
//! |---|---|---|
//! | a block freed twice | [`DoubleFree`](Kind::DoubleFree) | at the second `dealloc` or `realloc` |
//! | a pointer the allocator never handed out: outside its memory, or inside a block but not at its start | [`ForeignPointer`](Kind::ForeignPointer) | at the `dealloc` or `realloc` |
//! | a `dealloc` or `realloc` whose layout (size or alignment) is not the one the block was allocated with | [`WrongLayout`](Kind::WrongLayout) | at that call |
//! | a write past the end of the requested bytes | [`Overrun`](Kind::Overrun) | at the block's `dealloc` or `realloc`, and by `verify()` |
//! | a write to a freed block | [`UseAfterFree`](Kind::UseAfterFree) | when the block leaves the quarantine, and by `verify()` |
//!
//! # How
//!
//! The type keeps a table of every block it handed out, with its exact
//! layout, so a pointer is recognised by lookup, never by reading memory
//! at a foreign address: a free of anything that is not the start of a live
//! block is reported, and a legitimate free is never taken for a misuse.
//! [`CANARY`] bytes follow the requested ones in every block. A freed block
//! is filled with [`FREED`] and held in a quarantine (the latest
//! [`QUARANTINE_BLOCKS`] freed blocks, at most [`QUARANTINE_BYTES`] bytes
//! besides the newest) before it really is freed, so that a write through
//! a stale pointer is caught before the block is handed out again. When
//! memory runs out the quarantine is emptied first, so checking never
//! makes an allocation fail that would have succeeded without it. A block
//! freed twice with another owner in between (freed, handed out again, and
//! freed by its old owner) looks like the new owner's free: the new owner's
//! own free is then caught as a double free, and its writes to the block as
//! a use after free.
//!
//! # Where the report goes
//!
//! To the hook set with [`set_hook`], called after the allocator has let go
//! of its lock (the hook may allocate); by default [`default_hook`], which
//! panics with the message from a frame that cannot unwind. The panic hook
//! prints it (to stderr with `std`, with a backtrace of the misuse under
//! `RUST_BACKTRACE=1`; to your panic hook on wasm, such as
//! `console_error_panic_hook`; to the panic handler on firmware), then the
//! program aborts: nothing unwinds out of `GlobalAlloc`. The message is
//! also kept in a static buffer ([`last_message`]); on
//! `wasm32-unknown-unknown` with the crate feature `check`, the module
//! exports its address and length as `lite_alloc_misuse_ptr` and
//! `lite_alloc_misuse_len`, so that the host can read it after the trap.
//!
//! A hook that returns lets the program go on. The allocator's state is
//! left as it was before the call: a misused `dealloc` does nothing, a
//! misused `realloc` returns null (the block untouched), and a block
//! written after it was freed is taken out of circulation for good.
//!
//! ```
//! use core::alloc::{GlobalAlloc, Layout};
//!
//! #[lite_alloc::lite_alloc(check, memory = arena(65536))]
//! struct Checked;
//!
//! static SEEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
//! lite_alloc::check::set_hook(|misuse| {
//!     assert_eq!(misuse.kind, lite_alloc::check::Kind::DoubleFree);
//!     SEEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//! });
//! let layout = Layout::from_size_align(24, 8).unwrap();
//! unsafe {
//!     let block = Checked.alloc(layout);
//!     Checked.dealloc(block, layout);
//!     Checked.dealloc(block, layout); // reported, and ignored
//! }
//! assert_eq!(SEEN.load(std::sync::atomic::Ordering::Relaxed), 1);
//! # lite_alloc::check::set_hook(lite_alloc::check::default_hook);
//! ```
//!
//! # Cost
//!
//! Only checked types pay, in code, time and memory: each block is
//! [`CANARY`] bytes larger, the table holds three words per block at most
//! half full, freed blocks wait in the quarantine, and every `dealloc` fills
//! the block and every release from the quarantine reads it again. A type
//! without `check` has the same code, byte for byte, as before the checked
//! mode existed.

use core::alloc::Layout;
use core::fmt;
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};

/// Bytes after the requested ones in every block of a checked type, holding
/// a known pattern: a write past the end of the block changes them.
pub const CANARY: usize = 8;

/// The canary's bytes: none is 0, [`FREED`] or `0xFF`, the values an
/// off-by-one write most often leaves.
pub(crate) const CANARY_PATTERN: [u8; CANARY] = [0xCA, 0x9B, 0x7E, 0xE5, 0x3C, 0xA1, 0x5B, 0xC6];

/// What a freed block is filled with while it waits in the quarantine.
pub const FREED: u8 = 0xDF;

/// The most freed blocks the quarantine holds.
pub const QUARANTINE_BLOCKS: usize = 256;

/// The most bytes (canaries included) the quarantine holds besides the
/// block freed last, which always waits there until the next free.
pub const QUARANTINE_BYTES: usize = 256 * 1024;

/// Bytes of the static buffer holding the last message ([`last_message`]).
pub const MESSAGE_BYTES: usize = 256;

/// The kind of a misuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A block freed (or reallocated) after it was freed.
    DoubleFree,
    /// A pointer that is not the start of a block this allocator handed
    /// out: outside every block, or inside one.
    ForeignPointer,
    /// A layout whose size or alignment is not the block's.
    WrongLayout,
    /// A write past the requested bytes of a block.
    Overrun,
    /// A write to a block after it was freed.
    UseAfterFree,
}

/// The call during which a misuse was caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Call {
    /// `alloc` or `alloc_zeroed` (which releases blocks from the
    /// quarantine when memory runs out).
    Alloc,
    /// `dealloc`.
    Dealloc,
    /// `realloc` to `new_size` bytes.
    Realloc {
        /// The size asked for.
        new_size: usize,
    },
    /// The type's `verify()`.
    Verify,
}

/// A block the allocator knows: where, with which layout it was allocated,
/// and whether it was freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Its address.
    pub address: usize,
    /// The layout it was allocated (or last reallocated) with.
    pub layout: Layout,
    /// Whether it was freed (and waits in the quarantine).
    pub freed: bool,
}

/// A misuse of an allocator, as the hook receives it. It prints as one
/// line naming the allocator, the misuse, the call, the block and the
/// layouts:
///
/// ```text
/// lite-alloc: app::MyAlloc: double free: dealloc(0x11c40, size 24, align 8) of the block at 0x11c40 (24 bytes, align 8), which was already freed
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Misuse {
    /// What went wrong.
    pub kind: Kind,
    /// The allocator type (its path).
    pub allocator: &'static str,
    /// The call that caught it.
    pub call: Call,
    /// The pointer passed to `dealloc` or `realloc` (0 for `alloc`; the
    /// block's address for `verify()`).
    pub pointer: usize,
    /// The layout passed to the call (none for `verify()`).
    pub layout: Option<Layout>,
    /// The block concerned: the one at `pointer`, or for a foreign pointer
    /// inside a block, that block.
    pub block: Option<Block>,
    /// For an overrun or a use after free: the first changed byte, from the
    /// start of the block.
    pub offset: Option<usize>,
}

impl Misuse {
    /// A misuse caught by `call` on `pointer`, passed with `layout`.
    pub(crate) fn new(
        kind: Kind,
        allocator: &'static str,
        call: Call,
        pointer: usize,
        layout: Option<Layout>,
    ) -> Self {
        Misuse {
            kind,
            allocator,
            call,
            pointer,
            layout,
            block: None,
            offset: None,
        }
    }
}

impl Kind {
    /// The misuse in words.
    fn name(self) -> &'static str {
        match self {
            Kind::DoubleFree => "double free",
            Kind::ForeignPointer => "foreign pointer",
            Kind::WrongLayout => "wrong layout",
            Kind::Overrun => "overrun",
            Kind::UseAfterFree => "use after free",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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
            (Kind::UseAfterFree, Some(block)) => {
                self.s("the block at ");
                self.block(block);
                self.s(" was written after it was freed (byte ");
                self.dec(offset);
                self.s(" changed), found ");
                if misuse.call == Call::Verify {
                    self.s("by verify()")
                } else {
                    self.s("when it left the quarantine, in ");
                    self.call(misuse)
                }
            }
            (_, block) => {
                self.call(misuse);
                self.s(": no block of this allocator starts there (");
                match block {
                    None => self.s("it lies outside every block the allocator holds)"),
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

/// What a checked type holds now, for tests: `MyAlloc::checks()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checks {
    /// Blocks handed out and not freed.
    pub live_blocks: usize,
    /// Bytes they were requested with.
    pub live_bytes: usize,
    /// Freed blocks waiting in the quarantine.
    pub quarantined_blocks: usize,
    /// Their bytes, canaries included.
    pub quarantined_bytes: usize,
    /// Misuses caught so far.
    pub misuses: usize,
}

/// A function that receives every misuse a checked type catches.
pub type Hook = fn(&Misuse);

/// The hook; null for [`default_hook`].
static HOOK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Makes `hook` receive every misuse any checked type catches from now on
/// (`set_hook(default_hook)` restores the default). The hook runs on the
/// thread that made the call, after the allocator has let go of its lock:
/// it may allocate, even from the allocator that called it. If it returns,
/// the program goes on and the misused call does nothing (see the
/// [module](self)); if it panics, the program aborts.
pub fn set_hook(hook: Hook) {
    HOOK.store(hook as *mut (), Ordering::Release);
}

/// The default hook: panics with the misuse's message from a frame that
/// cannot unwind, so that the panic hook (or handler) prints it and the
/// program aborts.
pub fn default_hook(misuse: &Misuse) {
    abort_with(misuse)
}

/// Panics with `misuse`'s message. Unwinding cannot leave an `extern "C"`
/// function: the panic aborts the program once the panic hook has run.
#[allow(improper_ctypes_definitions)]
extern "C" fn abort_with(misuse: &Misuse) -> ! {
    panic!("{misuse}")
}

/// Calls `hook` (null: the default) with `misuse`, where a panic cannot
/// unwind into the allocator's caller.
#[allow(improper_ctypes_definitions)]
extern "C" fn call_hook(hook: *mut (), misuse: &Misuse) {
    if hook.is_null() {
        default_hook(misuse);
    } else {
        // SAFETY: `HOOK` only ever holds null or a `Hook` (`set_hook`).
        let hook = unsafe { core::mem::transmute::<*mut (), Hook>(hook) };
        hook(misuse);
    }
}

/// Reports `misuse`: keeps its message, then calls the hook. Called with
/// no lock held.
#[cold]
#[inline(never)]
pub(crate) fn report(misuse: &Misuse) {
    MESSAGE.keep(misuse);
    call_hook(HOOK.load(Ordering::Acquire), misuse);
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

impl Message {
    /// Keeps `misuse`'s message (its first `MESSAGE_BYTES` bytes).
    fn keep(&self, misuse: &Misuse) {
        struct Writer<'a>(&'a Message, usize);
        impl Sink for Writer<'_> {
            fn put(&mut self, text: &str) -> bool {
                for &byte in text.as_bytes() {
                    if let Some(slot) = self.0.bytes.get(self.1) {
                        slot.store(byte, Ordering::Relaxed);
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
/// of it) into `buffer` and returns it; empty when none was caught. It is
/// kept whatever the hook, so that a debugger (or a test) can read it.
pub fn last_message(buffer: &mut [u8; MESSAGE_BYTES]) -> &str {
    let len = MESSAGE.len.load(Ordering::Acquire).min(MESSAGE_BYTES);
    for (out, byte) in buffer.iter_mut().zip(&MESSAGE.bytes[..len]) {
        *out = byte.load(Ordering::Relaxed);
    }
    // Truncation may split a character: keep the valid prefix.
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
