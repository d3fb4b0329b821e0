//! What the attribute generates for one allocator type, and the bounds the
//! heap's arithmetic relies on, checked when the heap is monomorphised.

use core::marker::PhantomData;

use super::large::LargeBlocks;
use crate::memory::Memory;
use crate::stats::Record;
use crate::sync::Lock;

/// The largest alignment a bin block guarantees; requests aligned to more are
/// large.
pub const MAX_BIN_ALIGN: usize = 16;

/// The largest bin size: a quarter of the address space (1 GiB on wasm32).
///
/// With bins and growth steps this small, the heap's sums of a padding, a
/// size and a page can never overflow (see `Heap::grow`).
pub const MAX_BIN: usize = 1 << (usize::BITS - 2);

/// The largest `page`: a quarter of the address space (1 GiB on wasm32).
pub const MAX_PAGE: usize = 1 << (usize::BITS - 2);

/// What the attribute generates for one allocator type: `N` bins (none only
/// with a policy for large blocks that serves every block, `large =
/// coalesce`), and what becomes of the blocks no bin serves
/// ([`Large`](Config::Large)).
///
/// # Safety
///
/// The heap trusts these items for memory safety:
/// * `N >= 1`, or `N == 0` with a `Large` policy that allows it
///   (`LargeBlocks::SERVES_ALL`); `BINS` is strictly ascending and every
///   size is at least `size_of::<*mut u8>()` and at most [`MAX_BIN`];
/// * `PAGE` is at least 1 and at most [`MAX_PAGE`];
/// * for `align <= MAX_BIN_ALIGN`, `class(size, align)` returns an `i < N`
///   only if `BINS[i] >= size` and `carve_align(BINS[i]) >= align`, and it
///   gives the same answer every time for the same arguments.
///
/// The attribute checks the bounds with `const` assertions on the target, and
/// the heap checks them again when it is monomorphised (`Bounds`).
pub unsafe trait Config<const N: usize>: 'static {
    /// Block sizes of the bins, strictly ascending.
    const BINS: [usize; N];
    /// Bytes asked of the memory source at a time (rounded up to).
    const PAGE: usize;
    /// Whether `realloc` resizes in place where the policies allow.
    const REALLOC_IN_PLACE: bool;
    /// `N` of `growth = 1/N`: memory grows by at least `1/N` of what the
    /// heap has obtained so far (and never less than a request needs); 0:
    /// by what the request needs, in `PAGE`s (lite-alloc 0.1.0's design).
    const GROWTH: usize;
    /// Whether the type is checked (`#[lite_alloc(check)]`, a
    /// [`CheckedGlobal`](super::CheckedGlobal)'s configuration): with
    /// `large = coalesce`, the heap then checks a free chunk's words (links,
    /// size, footer) before it follows them, as a stale pointer may have
    /// written them (see `Chunks`' `may_unlink`). False for every other
    /// type, whose code has no such check.
    const CHECKED: bool;
    /// What becomes of blocks no bin serves: [`Leak`](super::Leak) (never
    /// reused, lite-alloc 0.1.0's design), [`Reuse`](super::Reuse) (size
    /// classes, `large = reuse`) or [`Chunks`](super::Chunks) (boundary
    /// tags, `large = coalesce`).
    type Large: LargeBlocks;
    /// Where memory comes from.
    type Memory: Memory;
    /// How calls from several threads are kept apart.
    type Lock: Lock;
    /// Where statistics go: [`NoStats`](crate::stats::NoStats) (none, and
    /// no code) or [`Counters`](crate::stats::Counters).
    type Stats: Record;
    /// The bin serving a request of `size` bytes aligned to `align`
    /// (`align <= MAX_BIN_ALIGN`), or `N` (or more) when no bin can. A plain
    /// index rather than an `Option`, which wasm32 would return through
    /// memory when the lookup is not inlined.
    ///
    /// The smallest bin that can, as the attribute's lookups give: in-place
    /// `realloc` counts on a block's capacity being its own capacity, and
    /// never falling as the size grows. A lookup that gives a larger bin is
    /// still memory-safe (see `# Safety`), but some blocks then move where
    /// they could stay, or stay where they would move.
    fn class(size: usize, align: usize) -> usize;
}

/// The bounds of a configuration that the heap's arithmetic relies on,
/// checked when the heap is monomorphised: a configuration that breaks one
/// does not compile. (The attribute checks them first, with messages on the
/// tokens that break them.)
pub struct Bounds<C, const N: usize>(PhantomData<C>);

impl<C: Config<N>, const N: usize> Bounds<C, N> {
    /// Evaluating it checks every bound.
    pub const VALID: () = {
        assert!(
            N >= 1 || <C::Large as LargeBlocks>::SERVES_ALL,
            "no bins, and a policy for large blocks that needs them"
        );
        assert!(C::PAGE >= 1 && C::PAGE <= MAX_PAGE, "page out of range");
        let granule = <C::Memory as Memory>::GRANULE;
        assert!(
            granule.is_power_of_two() && granule <= MAX_PAGE,
            "granule out of range"
        );
        let mut i = 0;
        while i < N {
            assert!(C::BINS[i] <= MAX_BIN, "bin too large");
            assert!(C::BINS[i] >= size_of::<*mut u8>(), "bin too small");
            assert!(i == 0 || C::BINS[i - 1] < C::BINS[i], "bins not ascending");
            i += 1;
        }
    };
}
