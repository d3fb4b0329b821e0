//! Where an allocator's memory comes from.
//!
//! The heap asks its [`Memory`] source for a new region whenever the current
//! one cannot hold a request. The attribute's `memory = ...` argument (see
//! [`lite_alloc`](macro@crate::lite_alloc)) chooses one of these: [`Wasm`]
//! (or [`WasmHeapBase`] with `heap_base`), `System` (the `std` feature), an
//! arena ([`ArenaStorage`]), [`Claimed`], or your own type implementing
//! [`Memory`].
//!
//! A region need not continue the previous one: when other code grows wasm
//! memory between two of ours, or a claimed region lies elsewhere, the heap
//! starts afresh in the new region and never touches the bytes in between
//! (what was left at the end of the region it leaves is not used again
//! until `reset`).

pub(crate) mod arena;
mod claimed;
mod regions;
#[cfg(feature = "std")]
mod system;
mod wasm;

pub use arena::{ArenaCursor, ArenaStorage, DEFAULT_ARENA_BYTES, MAX_ARENA_BYTES};
pub use claimed::Claimed;
#[cfg(feature = "std")]
pub use system::System;
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub(crate) use wasm::see_up_to;
pub use wasm::{WASM_PAGE, Wasm, WasmHeapBase};

/// Stands in for `System` when lite-alloc's `std` feature is off: it is
/// no [`Memory`], so `memory = system` fails to compile, naming the feature.
#[cfg(not(feature = "std"))]
#[derive(Debug)]
pub struct SystemNeedsStdFeature {
    _private: (),
}

/// The memory of a type without `memory = ...` (`A` is its arena): wasm
/// memory on wasm32 (`A` is then that already), the operating system's
/// allocator (`System`) elsewhere with the `std` feature, and `A`, the
/// type's own arena of [`DEFAULT_ARENA_BYTES`], without it. A trait rather
/// than a `cfg` in the generated code, which would test the features of the
/// user's crate.
#[doc(hidden)]
pub trait PerTarget {
    /// The memory source.
    type Memory;
}

impl<A> PerTarget for A {
    #[cfg(all(feature = "std", not(target_arch = "wasm32")))]
    type Memory = System;
    #[cfg(not(all(feature = "std", not(target_arch = "wasm32"))))]
    type Memory = A;
}

use core::ptr::NonNull;

/// A source of memory for a generated allocator (`memory = some::Path`).
///
/// The allocator calls [`grow`](Memory::grow) with its lock held, so calls
/// never overlap, but they may come from any thread that allocates.
///
/// # Safety
///
/// `grow`, `reset` and `reset_used` run with the allocator's lock held and
/// its state in use: they must not call into the allocator that owns this
/// source (allocate, free, or its `reset` or `stats`), directly or through
/// code that allocates with it, and must not unwind. (With debug assertions and
/// a lock that lets such a call in, as critical sections do and as there
/// is none on single-threaded wasm, the allocator catches it: an
/// allocation from inside them gets null and a free is ignored. With
/// `sync = spin` the call waits forever for the lock its own thread holds.)
///
/// Every region returned by `grow`:
/// * is at least one byte long and valid for reads and writes (the
///   allocator itself checks that its end does not pass `usize::MAX`, and
///   gives up a region that would, asking again);
/// * belongs to the allocator alone from then on, until [`reset`](Memory::reset)
///   (it overlaps no earlier region and nothing else reads or writes it);
/// * lies in the same allocated object as every other region of this source
///   (one static array, the wasm linear memory, one block the linker
///   reserved), unless the source implements
///   [`provenance`](Memory::provenance): the allocator derives the pointers
///   it hands out, and the ones it takes back, from its latest region
///   through `provenance`, whose default assumes one object;
/// * if it starts where the previous region ended, continues that region
///   (lies in the same allocated object): the allocator then treats the two
///   as one, and a block may span both; a [`WHOLE`](Memory::WHOLE) source's
///   regions never start where the previous one ended;
/// * never starts where a region before the previous one ended (hand the
///   regions over in another order, or start it a byte later): the heap
///   knows the end of its current region only, and would take a block that
///   ends where its new region starts for the last one it carved, and grow
///   it across;
/// * reads as zero, if the source sets [`ZEROED`](Memory::ZEROED).
///
/// A source that sets the hidden `ONE_REGION` (the attribute's arenas do;
/// no other source should) returns a region from `grow` at most once until
/// [`reset`](Memory::reset): the heap then takes any memory carved after
/// its last block for that block's own, and would hand out bytes of a
/// second region as if they continued the first.
///
/// [`GRANULE`](Memory::GRANULE) is a power of two, at most a quarter of the
/// address space.
///
/// # Example: a region the linker reserved
///
/// ```
/// use core::ptr::NonNull;
/// use lite_alloc::memory::Memory;
///
/// /// Hands over one fixed region, once.
/// pub struct Reserved { given: bool }
///
/// static mut RESERVED: [u8; 65536] = [0; 65536];
///
/// // SAFETY: the region is handed out once (until `reset`), is valid for
/// // its length, and nothing else uses `RESERVED`.
/// unsafe impl Memory for Reserved {
///     const INIT: Self = Reserved { given: false };
///     // All of it at once, whatever is asked: the allocator needs no code
///     // to ask for more.
///     const WHOLE: bool = true;
///     fn grow(&mut self, _bytes: usize) -> Option<NonNull<[u8]>> {
///         if self.given {
///             return None;
///         }
///         self.given = true;
///         let start = NonNull::new((&raw mut RESERVED).cast::<u8>())?;
///         Some(NonNull::slice_from_raw_parts(start, 65536))
///     }
///     fn reset(&mut self) {
///         self.given = false;
///     }
/// }
///
/// #[lite_alloc::lite_alloc(memory = Reserved)]
/// struct BoardAlloc;
///
/// #[global_allocator]
/// static ALLOC: BoardAlloc = BoardAlloc::new();
/// # fn main() { assert_eq!(vec![1u8, 2, 3].len(), 3); }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a lite-alloc memory source on this target",
    label = "not a `lite_alloc::memory::Memory`",
    note = "`memory = wasm` works only on wasm32; elsewhere use `memory = arena(BYTES)`, `memory = claimed` or a type implementing `lite_alloc::memory::Memory`; `memory = system` needs lite-alloc's `std` feature"
)]
pub unsafe trait Memory {
    /// The source before its first `grow`: this is how the allocator's static
    /// is initialised.
    const INIT: Self;

    /// The unit in which the source hands out memory: a power of two, at
    /// most a quarter of the address space. `grow` asked for `bytes` sets
    /// aside `bytes` rounded up to it anyway, so the allocator asks for whole
    /// granules (and never retries with a request that rounds to the same).
    /// 1 unless the source says otherwise; 65536 for wasm memory.
    const GRANULE: usize = 1;

    /// Whether a region may continue the one before it (start where it
    /// ended), as the pages of one wasm memory do. When
    /// false (its regions are separate objects: claimed RAM banks, blocks
    /// from another allocator), the heap asks for all a request needs, in
    /// a region of its own, rather than for what is missing from the
    /// current region. True unless the source says otherwise.
    ///
    /// A contiguous source's regions are best handed over in rising order
    /// of address, as wasm memory grows: where freed blocks go back to the
    /// unused memory (`large = reuse` or `coalesce`), the heap then keeps
    /// one mark, above every block it has carved, for
    /// [`ZEROED`](Memory::ZEROED) memory that needs no clearing. A region
    /// handed over below that mark is used all the same, but
    /// `alloc_zeroed` clears the blocks carved from it.
    const CONTIGUOUS: bool = true;

    /// Whether every region reads as zero when it is handed over (fresh wasm
    /// pages do; a static array does until it is used). `alloc_zeroed` then
    /// clears only blocks that were handed out before. False unless the
    /// source says otherwise.
    const ZEROED: bool = false;

    /// Whether the source hands over all it has in its first region,
    /// whatever `bytes` asks, and nothing more until
    /// [`reset`](Memory::reset): a fixed buffer such as an arena.
    ///
    /// The allocator then asks for all a request needs in a region of its
    /// own, its worst alignment padding included, which may be more than
    /// the buffer holds (a source that refused that would leave unserved a
    /// block that fits). It takes the region it gets as it comes, with none
    /// of the code that rounds a request to `page`, asks again for less or
    /// joins a region to the one before, and tells the source at `reset`
    /// how much of it was used ([`reset_used`](Memory::reset_used)). A later
    /// region, should the source have one, must not start where the one
    /// before ended (see the trait's safety requirements): the allocator
    /// opens it as a region of its own. False unless the source says
    /// otherwise.
    const WHOLE: bool = false;

    /// Whether the source hands over one region at most until
    /// [`reset`](Memory::reset), as a generated arena does (a
    /// [`WHOLE`](Memory::WHOLE) source may have later regions; this one
    /// has none). The heap then never gives a region up for another, and
    /// carries no code to close one; and memory carved for the last block
    /// is this region's, right after the block, whenever it is carved at
    /// all. False unless the source says otherwise; the heap's memory
    /// safety rests on it when true (see `# Safety`).
    ///
    /// Hidden: the attribute's arenas set it, so that a program whose
    /// memory is an arena carries none of the code for later regions.
    #[doc(hidden)]
    const ONE_REGION: bool = false;

    /// A new region: usually at least `bytes` bytes (`bytes > 0`), whole
    /// granules; or `None` when there is no more memory. A shorter region is
    /// accepted too (the allocator asks again for the rest), as is a longer
    /// one, which the allocator uses whole.
    fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>>;

    /// `addr` (inside a region this source handed over) as a pointer with
    /// that region's provenance. `hint` is a pointer with the provenance of
    /// the latest region. By default `hint.with_addr(addr)`: every region
    /// lies in one allocated object. A source whose regions are separate
    /// allocated objects (RAM banks, blocks from another allocator) returns
    /// the pointer of the region holding `addr`, with `addr` as its address.
    #[inline(always)]
    fn provenance(&self, hint: *mut u8, addr: usize) -> *mut u8 {
        hint.with_addr(addr)
    }

    /// Whether the heap may read the `len` bytes at `addr`: they lie in a
    /// region this source handed over, or in the same allocated object as
    /// one (`Some(true)`); they do not (`Some(false)`); or the source
    /// cannot tell (`None`, the default). The heap asks before it reads
    /// words a stale pointer may have written: a checked type with `large =
    /// coalesce`, where a free chunk's links, size or footer lead, and
    /// `verify()`, where a free list leads. It takes false for damage, and
    /// reads where the source cannot tell, as a type that is not checked
    /// does. The sources of this crate answer exactly.
    #[inline(always)]
    fn holds(&self, addr: usize, len: usize) -> Option<bool> {
        let _ = (addr, len);
        None
    }

    /// Called by the allocator's `reset()`, when every block it handed out is
    /// dead: a source may hand its regions out again after this (a `ZEROED`
    /// source zeroed again).
    fn reset(&mut self) {}

    /// Called by the allocator's `reset()` in place of
    /// [`reset`](Memory::reset), with the address from which on the
    /// allocator left its latest region as the source handed it over: it
    /// wrote no byte at or after `used` in that region (0: it used none).
    /// Of the regions before the latest, any byte may have been written. A
    /// `ZEROED` source that hands over a single region
    /// ([`WHOLE`](Memory::WHOLE)) can clear only what was used. By default
    /// calls `reset`.
    #[inline(always)]
    fn reset_used(&mut self, used: usize) {
        let _ = used;
        self.reset();
    }
}
