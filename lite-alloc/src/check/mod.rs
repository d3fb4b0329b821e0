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
//! | a block freed twice | [`DoubleFree`](Kind::DoubleFree) | at the second `dealloc` or `realloc`, until the block leaves the quarantine (then it is a foreign pointer: the table keeps no history) |
//! | a pointer the allocator never handed out: outside its memory, or inside a block but not at its start | [`ForeignPointer`](Kind::ForeignPointer) | at the `dealloc` or `realloc` |
//! | a `dealloc` or `realloc` whose layout (size or alignment) is not the one the block was allocated with | [`WrongLayout`](Kind::WrongLayout) | at that call |
//! | a write past the end of the requested bytes | [`Overrun`](Kind::Overrun) | at the block's `dealloc` or `realloc`, and by `verify()` |
//! | a write to a freed block | [`UseAfterFree`](Kind::UseAfterFree) | when the block leaves the quarantine, and by `verify()`; later, when it makes the heap hand out a block that is not free or, with `large = coalesce`, when the heap finds it in a free chunk's links, size or footer, or the layer in the header of a block in use; and when `verify()` finds a free list damaged (then the heap's free lists are used no more) |
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
//! program aborts: nothing unwinds out of `GlobalAlloc`, and from then on no
//! misuse is reported, on any thread (the panic hook's own allocations may
//! meet one). The message is also kept in a static buffer
//! ([`last_message`]); on `wasm32-unknown-unknown` with the crate feature
//! `check`, the module exports its address and length as
//! `lite_alloc_misuse_ptr` and `lite_alloc_misuse_len`, so that the host can
//! read it after the trap.
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
use core::num::NonZeroUsize;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

mod message;

pub use message::last_message;

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

/// Bytes of the static buffer holding the last message ([`last_message`]),
/// kept as ASCII: each byte of a character beyond it (in the allocator's
/// path) is a `?` there.
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
    /// The pointer passed to `dealloc` or `realloc` (0 for `alloc`; for
    /// `verify()`, the block's address, or where it found the heap's free
    /// lists damaged).
    pub pointer: usize,
    /// The layout passed to the call (none for `verify()`).
    pub layout: Option<Layout>,
    /// The block concerned: the one at `pointer`, or for a foreign pointer
    /// inside a block, that block.
    pub block: Option<Block>,
    /// For an overrun or a use after free: the first changed byte, from the
    /// start of the block.
    pub offset: Option<usize>,
    /// For a use after free found in a word the heap keeps before a block
    /// in use (a chunk's header, with `large = coalesce`), written through
    /// a pointer to a block freed earlier whose memory `block` now holds
    /// (or by a write far past the end of the block before): that word's
    /// address. With no `block`, the block in use is the checked layer's
    /// own table.
    pub header: Option<NonZeroUsize>,
    /// For a use after free found in the checked layer's own table (its
    /// slots, which lie in the heap's memory like a block's and may lie
    /// where a block freed earlier was, written through a stale pointer or
    /// past the end of the block before): the table's address. The layer
    /// then checks and reports nothing more: without its table it cannot
    /// tell the blocks apart.
    pub table: Option<NonZeroUsize>,
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
            header: None,
            table: None,
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
    /// Freed blocks the layer keeps to hand out again: those that only the
    /// canary made large, in a heap that never reuses large blocks.
    pub spare_blocks: usize,
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
/// [module](self)); if it panics, the program aborts. A hook that logs and
/// then stops the program should end with [`default_hook`] rather than
/// `panic!`: from the default hook on, misuses that the panic hook's own
/// allocations meet are not reported inside the panic. Misuses are reported
/// again after `set_hook` (a `wasm32-unknown-unknown` instance may be called
/// again after its trap).
pub fn set_hook(hook: Hook) {
    ABORTING.store(false, Ordering::Relaxed);
    HOOK.store(hook as *mut (), Ordering::Release);
}

/// The default hook: panics with the misuse's message from a frame that
/// cannot unwind, so that the panic hook (or handler) prints it and the
/// program aborts. From then on no misuse is reported: one that the panic
/// hook's own allocations meet (printing a backtrace) would panic inside
/// the panic, and cut the first one's backtrace short.
pub fn default_hook(misuse: &Misuse) {
    ABORTING.store(true, Ordering::Relaxed);
    abort_with(misuse)
}

/// Set when the default hook begins: the program is aborting (a panic
/// handler on firmware does not return either). A `wasm32-unknown-unknown`
/// instance outlives its trap and may be called again: it reports nothing
/// more until [`set_hook`] is called, which clears this.
static ABORTING: AtomicBool = AtomicBool::new(false);

/// Panics with `misuse`'s message. Unwinding cannot leave an `extern "C"`
/// function: the panic aborts the program once the panic hook has run.
#[allow(improper_ctypes_definitions)]
extern "C" fn abort_with(misuse: &Misuse) -> ! {
    panic!("{misuse}")
}

/// Reports `misuse`: keeps its message, then calls the hook (null in
/// `HOOK`: the default), where a panic cannot unwind into the allocator's
/// caller. Called with no lock held.
///
/// Not once the default hook has begun: the panic hook then allocates (to
/// print a backtrace), and may meet another misuse, or the same one again
/// (a block that `verify()` reported still waits in the quarantine).
/// Reported, its panic would abort the program at once, before the first
/// one's backtrace, and its message would replace the first one's.
#[cold]
#[inline(never)]
#[allow(improper_ctypes_definitions)]
pub(crate) extern "C" fn report(misuse: &Misuse) {
    if ABORTING.load(Ordering::Relaxed) {
        return;
    }
    message::keep(misuse);
    let hook = HOOK.load(Ordering::Acquire);
    if hook.is_null() {
        default_hook(misuse);
    } else {
        // SAFETY: `HOOK` only ever holds null or a `Hook` (`set_hook`).
        let hook = unsafe { core::mem::transmute::<*mut (), Hook>(hook) };
        hook(misuse);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicUsize;

    static SEEN: AtomicUsize = AtomicUsize::new(0);

    /// Once the default hook has begun nothing is reported, until
    /// `set_hook` (a `wasm32-unknown-unknown` instance called again after
    /// its trap).
    #[test]
    fn set_hook_reports_again_after_the_default_hook_began() {
        fn count(_: &Misuse) {
            SEEN.fetch_add(1, Ordering::Relaxed);
        }
        let misuse = Misuse::new(Kind::DoubleFree, "test", Call::Dealloc, 0x10, None);
        set_hook(count);
        report(&misuse);
        assert_eq!(SEEN.load(Ordering::Relaxed), 1);
        // What the default hook does before it panics.
        ABORTING.store(true, Ordering::Relaxed);
        report(&misuse);
        assert_eq!(SEEN.load(Ordering::Relaxed), 1);
        set_hook(count);
        report(&misuse);
        assert_eq!(SEEN.load(Ordering::Relaxed), 2);
    }
}
