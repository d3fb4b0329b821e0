//! `memory = arena(BYTES)`: a static array owned by one allocator type.

use core::cell::UnsafeCell;
use core::ptr::NonNull;

/// The arena size used when `memory` is not given on a target other than
/// `wasm32`, without the `std` feature (with it, hosts use the operating
/// system's allocator): 32 KiB on bare-metal targets (`target_os = "none"`),
/// where RAM is scarce, and 8 MiB elsewhere (hosts, where an untouched
/// `.bss` costs nothing).
#[cfg(target_os = "none")]
pub const DEFAULT_ARENA_BYTES: usize = 32 * 1024;
/// The arena size used when `memory` is not given on a target other than
/// `wasm32`, without the `std` feature (with it, hosts use the operating
/// system's allocator): 32 KiB on bare-metal targets (`target_os = "none"`),
/// where RAM is scarce, and 8 MiB elsewhere (hosts, where an untouched
/// `.bss` costs nothing).
#[cfg(not(target_os = "none"))]
pub const DEFAULT_ARENA_BYTES: usize = 8 * 1024 * 1024;

/// The largest `memory = arena(BYTES)` on this target: 2 GiB less 16 bytes
/// on 32-bit targets, `2^61 - 16` on 64-bit ones. A larger one is a compile
/// error on its size (a type that large is one rustc refuses, once the
/// arena's alignment of 16 rounds it up). The compiler builds the zeroed
/// array in its own memory, on every target: an arena of gigabytes takes
/// more than that to compile (2 GiB took 8.4 GB on i686).
pub const MAX_ARENA_BYTES: usize =
    (isize::MAX as usize >> if usize::BITS == 64 { 2 } else { 0 }) - 15;

/// `bytes` when it is at most [`MAX_ARENA_BYTES`], 1 otherwise: the size of
/// the static arena, which stays a valid type while the generated assertion
/// reports the size out of range. For generated code only.
pub const fn arena_bytes(bytes: usize) -> usize {
    if bytes <= MAX_ARENA_BYTES { bytes } else { 1 }
}

/// The bytes of an arena: a zero-initialised static array, aligned to 16.
///
/// Its bytes are only ever reached through pointers the allocator derives from
/// [`ArenaCursor::take`], never through references to the whole array.
#[repr(C, align(16))]
pub struct ArenaStorage<const BYTES: usize>(UnsafeCell<[u8; BYTES]>);

// SAFETY: the storage is only accessed through raw pointers handed out by its
// allocator, whose lock keeps the handing out serialised; the blocks
// themselves are owned by whoever allocated them.
unsafe impl<const BYTES: usize> Sync for ArenaStorage<BYTES> {}

impl<const BYTES: usize> ArenaStorage<BYTES> {
    /// Zeroed storage (placed in `.bss`).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self(UnsafeCell::new([0; BYTES]))
    }
}

/// Whether an arena has been handed out: it goes to its allocator whole, at
/// the first `grow` ([`Memory::WHOLE`](super::Memory::WHOLE)).
#[derive(Debug)]
pub struct ArenaCursor {
    given: bool,
}

impl ArenaCursor {
    /// Nothing handed out yet.
    pub const INIT: Self = Self { given: false };

    /// The whole of `storage`, or `None` once it has been handed out (or if
    /// it is empty).
    ///
    /// `storage` is a raw pointer (`&raw const ARENA`), so that no reference
    /// to the whole arena is ever made: blocks in it are owned by others.
    ///
    /// # Safety
    ///
    /// `storage` points to a static `ArenaStorage` that only this cursor
    /// hands out.
    #[inline]
    pub unsafe fn take<const BYTES: usize>(
        &mut self,
        storage: *const ArenaStorage<BYTES>,
    ) -> Option<NonNull<[u8]>> {
        // An empty arena has no region to give (a region is at least a
        // byte long).
        if self.given || BYTES == 0 {
            return None;
        }
        self.given = true;
        // SAFETY: `storage` is valid (the caller's promise).
        let base = unsafe { base(storage) };
        // The heap computes the region's end with a check for an overflow,
        // which a region of wasm memory may have (up to `2^32` on wasm32)
        // but no Rust allocation: told so, the compiler drops the check
        // for the arena, whose address it does not know.
        //
        // SAFETY: the arena is a static, an allocation of at least `BYTES`
        // bytes, and every allocation's `base + size` is at most
        // `usize::MAX` (the guarantees `core::ptr` lists for allocations).
        unsafe { core::hint::assert_unchecked(base.addr().checked_add(BYTES).is_some()) };
        let start = NonNull::new(base)?;
        Some(NonNull::slice_from_raw_parts(start, BYTES))
    }

    /// `addr`, an address inside `storage` (or 0, the end of a list, which
    /// the heap only compares), as a pointer with the arena's provenance
    /// ([`Memory::provenance`](super::Memory::provenance)).
    /// Derived from the static itself, whose address is a constant of the
    /// program, rather than from the bump pointer the heap keeps, which
    /// every access would first have to load.
    ///
    /// # Safety
    ///
    /// `storage` points to a static `ArenaStorage`.
    #[inline(always)]
    pub unsafe fn provenance<const BYTES: usize>(
        storage: *const ArenaStorage<BYTES>,
        addr: usize,
    ) -> *mut u8 {
        // SAFETY: `storage` is valid (the caller's promise).
        let base = unsafe { base(storage) };
        // The same pointer as `base.with_addr(addr)`, which offsets `base` by
        // `addr - base`: that difference is a value of its own, and where it
        // is computed in one block and used in another, thumb code loads the
        // arena's address from the literal pool again to add it back before
        // each access. Moved to address 0 first, the pointer is a constant
        // expression (the static's pointer moved to 0) plus `addr`, and the
        // code generator folds the static's address out of it. Wrapping
        // steps keep the provenance (a pointer may leave its allocated
        // object and come back), and the pointer is used only once it is
        // back at `addr`.
        base.wrapping_sub(base.addr()).wrapping_add(addr)
    }

    /// Whether the `len` bytes at `addr` lie inside `storage`
    /// ([`Memory::holds`](super::Memory::holds)).
    #[inline]
    pub fn holds<const BYTES: usize>(
        storage: *const ArenaStorage<BYTES>,
        addr: usize,
        len: usize,
    ) -> bool {
        let base = storage.addr();
        // `end - base`: no overflow, as `end >= addr >= base`.
        addr >= base && addr.checked_add(len).is_some_and(|end| end - base <= BYTES)
    }

    /// Makes the whole arena available again, zeroed as it was at start (so
    /// that the arena keeps its [`ZEROED`](super::Memory::ZEROED) promise):
    /// the bytes below the address `used`, which is where the allocator left
    /// the rest of the arena untouched (`usize::MAX`: the whole arena).
    ///
    /// # Safety
    ///
    /// As for [`take`](Self::take); nothing uses what was handed out, and no
    /// byte of the arena at or after `used` was written since the arena was
    /// handed out.
    pub unsafe fn reset<const BYTES: usize>(
        &mut self,
        storage: *const ArenaStorage<BYTES>,
        used: usize,
    ) {
        if self.given {
            // SAFETY: `storage` is valid (the caller's promise).
            let base = unsafe { base(storage) };
            // The written bytes lie in `[base, used)`; clipped to the arena.
            let len = used.saturating_sub(base.addr()).min(BYTES);
            // SAFETY: `[base, base + len)` lies in the arena, and nothing
            // uses its bytes any more (the caller's promise).
            unsafe { core::ptr::write_bytes(base, 0, len) };
        }
        self.given = false;
    }
}

/// The first byte of the arena at `storage`, with the static's provenance,
/// made without a reference to the array (`raw_get`): blocks in it are
/// owned by others.
///
/// # Safety
///
/// `storage` points to a static `ArenaStorage`.
#[inline(always)]
unsafe fn base<const BYTES: usize>(storage: *const ArenaStorage<BYTES>) -> *mut u8 {
    // SAFETY: `storage` is valid (the caller's promise).
    UnsafeCell::raw_get(unsafe { &raw const (*storage).0 }).cast::<u8>()
}
