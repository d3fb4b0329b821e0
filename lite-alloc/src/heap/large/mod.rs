//! What becomes of the blocks no bin serves, and where bins carve: one
//! policy per `large = ...` choice, each written out on its own.
//!
//! | policy | `large =` | blocks no bin serves | bins carve from |
//! |---|---|---|---|
//! | [`Leak`] | (none) | carved at their size, never reused | the bump pointer |
//! | [`Reuse`] | `reuse` | carved at their size class's, reused by class | the bump pointer |
//! | [`Chunks`] | `coalesce` | chunks, split and merged | slabs, themselves chunks |

mod chunks;
mod leak;
mod reuse;

pub use chunks::Chunks;
pub use leak::Leak;
pub use reuse::Reuse;

use super::check::Corruption;
use super::region::Fresh;
use super::{Config, Heap};

/// Bits of a tag (`LargeBlocks::tag`): what the checked layer's table has
/// room for beside a block's alignment and state.
pub const TAG_BITS: u32 = usize::BITS - 8;

/// A policy for the blocks no bin serves ("large": over the largest bin, or
/// aligned to more than a bin guarantees), written as a type without values
/// whose [`State`](LargeBlocks::State) the heap keeps.
///
/// The heap calls a policy with itself: a policy uses its own state
/// (`heap.large`), the region (`bump`) and the statistics, and nothing of the
/// bins.
///
/// # Safety
///
/// The heap trusts a policy for memory safety:
/// * `alloc` returns null or a block of at least `size` bytes, aligned to
///   `align`, whose first `zero` bytes read as zero, inside memory the heap
///   obtained, overlapping no block handed out and not freed, and
///   overlapping nothing the heap or the policy keeps (lists, headers);
///   `carve_bin` likewise, for a bin block;
/// * `free` and `resize` take only blocks `alloc` handed out for a size and
///   alignment that `Heap::bin` gives no bin for (and `resize` bin blocks,
///   which it must serve within their bin), and keep the same promises;
/// * `capacity(size, align)` is at least `size`, and a block `alloc` gave for
///   it may be resized within it by the heap's rule for bin blocks;
/// * `TAIL` is at most a word, `skip` at most `SLACK - TAIL`, which is less
///   than three words, `close` only writes inside
///   `[top, end)`, and `Fresh` says truthfully what of `[top, end)` was
///   handed out before.
pub unsafe trait LargeBlocks: Sized + 'static {
    /// The policy's own state in the heap: its free lists, and whatever
    /// else it keeps. Only types that use the policy have it.
    type State;
    /// The state of a heap that has obtained no memory.
    const INIT: Self::State;
    /// What the bump pointer tracks of memory handed out before: whether
    /// blocks go back to it.
    type Fresh: Fresh;
    /// Whether the policy serves every block, so that a type may have no
    /// bins at all.
    const SERVES_ALL: bool = false;
    /// Bytes at the end of every region that the bump pointer never carves
    /// (where `close` writes).
    const TAIL: usize = 0;

    /// The size of the block that serves `size` bytes aligned to `align`,
    /// which no bin serves: for statistics, and for in-place `realloc`.
    fn capacity<C: Config<N, Large = Self>, const N: usize>(size: usize, align: usize) -> usize;

    /// A new block of a bin: `size` bytes (the bin's) aligned to `align`
    /// (at most [`MAX_BIN_ALIGN`](super::MAX_BIN_ALIGN)), the first `zero`
    /// reading as zero; null when memory runs out.
    #[inline(always)]
    fn carve_bin<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        size: usize,
        align: usize,
        zero: usize,
    ) -> *mut u8 {
        heap.bump(size, align, zero)
    }

    /// A block for `size` bytes aligned to `align`, which no bin serves,
    /// its first `zero` bytes reading as zero; null when memory runs out.
    fn alloc<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        size: usize,
        align: usize,
        zero: usize,
    ) -> *mut u8;

    /// Takes back a block `alloc` handed out for `size` and `align`.
    ///
    /// # Safety
    ///
    /// `block` is such a block (the caller's pointer to it, covering `size`
    /// bytes), not freed since, and not used afterwards.
    unsafe fn free<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        block: *mut u8,
        size: usize,
        align: usize,
    );

    /// Whether the block handed out for `old_size` and `align` now serves
    /// `new_size` where it is (it may be grown or shrunk to); false when it
    /// must move. By default, within its capacity, or by growing at the
    /// top of the heap.
    ///
    /// # Safety
    ///
    /// `block` was handed out by this heap for `old_size` and `align`, and
    /// is live; `new_size` is not zero and, rounded up to `align`, at most
    /// `isize::MAX`.
    #[inline(always)]
    unsafe fn resize<C: Config<N, Large = Self>, const N: usize>(
        heap: &mut Heap<C, N>,
        block: *mut u8,
        old_size: usize,
        new_size: usize,
        align: usize,
    ) -> bool {
        heap.resize_within(block, old_size, new_size, align)
    }

    /// Whether a block shrunk within its capacity stays where it is even
    /// when its new size belongs to a smaller bin or class: what it holds
    /// beyond that is lost when it is freed into the smaller one. So in
    /// lite-alloc 0.1.0's design; where blocks are reused, a block that
    /// would lose capacity moves instead, and goes back whole to its own list.
    const KEEP_SHRUNK: bool = false;

    /// Whether a freed large block is ever handed out again. Only the
    /// checked mode asks: its canary makes a request that fits the largest
    /// bin a large block, which it must then keep for reuse itself where
    /// the heap would not.
    const REUSES: bool = true;

    /// What a region of its own needs beyond a block and its alignment's
    /// padding: the most `skip` gives and the `TAIL`.
    const SLACK: usize = 0;

    /// Where the bump pointer starts in a new region at `start`: this many
    /// bytes in (at most `SLACK - TAIL`).
    #[inline(always)]
    fn skip(start: usize) -> usize {
        let _ = start;
        0
    }

    /// The heap gives up the region whose unused memory is `[top, end)`
    /// for one elsewhere (null and 0: there was none).
    ///
    /// # Safety
    ///
    /// `[top, end)` is the heap's current region's unused memory.
    #[inline(always)]
    unsafe fn close(top: *mut u8, end: usize) {
        let _ = (top, end);
    }

    /// Checks the policy's invariants (see [`Heap::check`]).
    fn check<C: Config<N, Large = Self>, const N: usize>(
        heap: &Heap<C, N>,
    ) -> Result<(), Corruption>;

    /// Whether the policy keeps a word before a block in use, which the
    /// checked layer then tags (`tag`, `changed`): where it does not, the
    /// layer has no such check to make, and carries none.
    const TAGGED: bool = false;

    /// In a checked type, what the policy wrote before a block in use (a
    /// chunk's header), less what changes while the block lives and what
    /// the block's size and alignment give, in [`TAG_BITS`] bits; 0 where
    /// it keeps none. The checked layer records it when it hands the block
    /// out (or resizes it in place) and compares it (`changed`) before the
    /// block goes back to the heap: a stale pointer into a block freed
    /// earlier, whose memory this one now holds, may have written it, and
    /// the heap would follow it.
    ///
    /// # Safety
    ///
    /// `block` is a live block this heap handed out (or resized in place)
    /// for `size` bytes and `align`.
    #[inline(always)]
    unsafe fn tag<C: Config<N, Large = Self>, const N: usize>(
        heap: &Heap<C, N>,
        block: *mut u8,
        size: usize,
        align: usize,
    ) -> usize {
        let _ = (heap, block, size, align);
        0
    }

    /// Where the words the policy keeps at the live block `block` differ
    /// from what `tag` gave (`tag`): the address of the word found changed,
    /// or `None`. A word that a changed one would lead to is read only
    /// once that one is found as it was. `None` for a policy that keeps
    /// none.
    ///
    /// # Safety
    ///
    /// As for `tag`; `tag` is what it gave for the block.
    #[inline(always)]
    unsafe fn changed<C: Config<N, Large = Self>, const N: usize>(
        heap: &Heap<C, N>,
        block: *mut u8,
        size: usize,
        align: usize,
        tag: usize,
    ) -> Option<usize> {
        let _ = (heap, block, size, align, tag);
        None
    }

    /// Whether a checked type's policy found its lists written through a
    /// stale pointer and stopped using them (`Chunks`, whose `may_unlink`
    /// checks a free chunk's words): the checked layer then reports it and
    /// takes nothing more from the lists. False for a policy that does not
    /// look: the layer finds the other lists' damage when the heap hands
    /// out a block it knows.
    #[inline(always)]
    fn broken(state: &Self::State) -> bool {
        let _ = state;
        false
    }
}
