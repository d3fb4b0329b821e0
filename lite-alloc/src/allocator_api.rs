//! `allocator_api2::alloc::Allocator` for every generated type (the crate
//! feature `allocator-api2`): collections that take an allocator, such as
//! `allocator_api2::vec::Vec`, `hashbrown`'s maps and `bumpalo`'s, can live
//! in a type of their own.
//!
//! ```
//! use allocator_api2::vec::Vec;
//!
//! /// A per-request arena: 64 KiB, emptied at once by `reset`.
//! #[lite_alloc::lite_alloc(memory = arena(65536), large = reuse)]
//! struct RequestArena;
//!
//! let mut names: Vec<&str, RequestArena> = Vec::new_in(RequestArena::new());
//! names.push("ada");
//! names.push("grace");
//! assert_eq!(names.len(), 2);
//! drop(names);
//! // SAFETY: nothing allocated in the arena is alive any more.
//! unsafe { RequestArena::reset() };
//! ```
//!
//! Every value of a generated type is the same allocator (its state is in
//! statics), so moving or copying one never invalidates a block. `reset()`
//! does: it hands every block out again, so a collection that is still
//! alive when the type is reset, and is used or dropped afterwards, reads
//! or frees memory that belongs to others. Drop (or `forget` and never
//! touch again) every collection in the type before calling it; that is
//! what its `# Safety` section asks.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

pub use allocator_api2::alloc::{AllocError, Allocator};

/// A dangling block of length 0, aligned for `layout`.
#[inline]
fn empty(layout: Layout) -> NonNull<[u8]> {
    // A power of two is not zero.
    let dangling = ptr::without_provenance_mut::<u8>(layout.align());
    // SAFETY: not null.
    NonNull::slice_from_raw_parts(unsafe { NonNull::new_unchecked(dangling) }, 0)
}

/// `Allocator::allocate` (or `allocate_zeroed`) through `a`'s `GlobalAlloc`:
/// zero-sized requests never reach it.
#[inline]
pub fn allocate<A: GlobalAlloc>(
    a: &A,
    layout: Layout,
    zeroed: bool,
) -> Result<NonNull<[u8]>, AllocError> {
    if layout.size() == 0 {
        return Ok(empty(layout));
    }
    // SAFETY: the size is not zero.
    let block = unsafe {
        if zeroed {
            a.alloc_zeroed(layout)
        } else {
            a.alloc(layout)
        }
    };
    NonNull::new(block)
        .map(|block| NonNull::slice_from_raw_parts(block, layout.size()))
        .ok_or(AllocError)
}

/// `Allocator::deallocate` through `a`'s `GlobalAlloc`.
///
/// # Safety
///
/// As for `Allocator::deallocate`: `block` was allocated by `allocate` with
/// `a`'s type for `layout` and is not used afterwards.
#[inline]
pub unsafe fn deallocate<A: GlobalAlloc>(a: &A, block: NonNull<u8>, layout: Layout) {
    if layout.size() != 0 {
        // SAFETY: a block of this allocator for this layout (the caller's
        // promise), not zero-sized.
        unsafe { a.dealloc(block.as_ptr(), layout) }
    }
}

/// `Allocator::grow`, `grow_zeroed` and `shrink` through `a`'s
/// `GlobalAlloc`: `realloc` (in place where the type allows) when the
/// alignment stays and neither size is zero; else a new block, a copy and
/// the old block freed. With `zeroed`, the bytes past the old size are
/// cleared.
///
/// # Safety
///
/// As for `Allocator::grow` (or `shrink`): `block` is a live block of this
/// allocator for `old`; `new` is at least (at most) `old`'s size.
#[inline]
pub unsafe fn resize<A: GlobalAlloc>(
    a: &A,
    block: NonNull<u8>,
    old: Layout,
    new: Layout,
    zeroed: bool,
) -> Result<NonNull<[u8]>, AllocError> {
    let moved = if old.align() == new.align() && old.size() != 0 && new.size() != 0 {
        // SAFETY: a live block for `old` (the caller's promise); `new` is a
        // valid layout of the same alignment and a size that is not zero.
        let block = unsafe { a.realloc(block.as_ptr(), old, new.size()) };
        NonNull::new(block).ok_or(AllocError)?
    } else {
        // A block may change alignment only by moving: `dealloc` finds a
        // block's list by its size and alignment.
        let fresh = allocate(a, new, false)?.cast::<u8>();
        // SAFETY: both blocks hold the bytes copied, and do not overlap;
        // the old one is the caller's to give up.
        unsafe {
            ptr::copy_nonoverlapping(block.as_ptr(), fresh.as_ptr(), old.size().min(new.size()));
            deallocate(a, block, old);
        }
        fresh
    };
    if zeroed && new.size() > old.size() {
        // SAFETY: the block holds `new.size()` bytes.
        unsafe { ptr::write_bytes(moved.as_ptr().add(old.size()), 0, new.size() - old.size()) };
    }
    Ok(NonNull::slice_from_raw_parts(moved, new.size()))
}

/// Implements `allocator_api2::alloc::Allocator` for a generated type
/// (with the `allocator-api2` feature; without it, nothing).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_allocator_api2 {
    ($ty:ident) => {
        // SAFETY: the type's `GlobalAlloc` is sound and every value of the
        // type is the same allocator (its state lives in statics), so a
        // block stays valid across moves and copies until it is freed (or
        // the unsafe `reset` is called, whose contract covers it);
        // zero-sized blocks are dangling and never reach `GlobalAlloc`.
        unsafe impl $crate::__private::api2::Allocator for $ty {
            #[inline]
            fn allocate(
                &self,
                layout: $crate::__private::Layout,
            ) -> $crate::__private::Result<
                $crate::__private::NonNull<[::core::primitive::u8]>,
                $crate::__private::api2::AllocError,
            > {
                $crate::__private::api2::allocate(self, layout, false)
            }
            #[inline]
            fn allocate_zeroed(
                &self,
                layout: $crate::__private::Layout,
            ) -> $crate::__private::Result<
                $crate::__private::NonNull<[::core::primitive::u8]>,
                $crate::__private::api2::AllocError,
            > {
                $crate::__private::api2::allocate(self, layout, true)
            }
            #[inline]
            unsafe fn deallocate(
                &self,
                ptr: $crate::__private::NonNull<::core::primitive::u8>,
                layout: $crate::__private::Layout,
            ) {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::__private::api2::deallocate(self, ptr, layout) }
            }
            #[inline]
            unsafe fn grow(
                &self,
                ptr: $crate::__private::NonNull<::core::primitive::u8>,
                old: $crate::__private::Layout,
                new: $crate::__private::Layout,
            ) -> $crate::__private::Result<
                $crate::__private::NonNull<[::core::primitive::u8]>,
                $crate::__private::api2::AllocError,
            > {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::__private::api2::resize(self, ptr, old, new, false) }
            }
            #[inline]
            unsafe fn grow_zeroed(
                &self,
                ptr: $crate::__private::NonNull<::core::primitive::u8>,
                old: $crate::__private::Layout,
                new: $crate::__private::Layout,
            ) -> $crate::__private::Result<
                $crate::__private::NonNull<[::core::primitive::u8]>,
                $crate::__private::api2::AllocError,
            > {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::__private::api2::resize(self, ptr, old, new, true) }
            }
            #[inline]
            unsafe fn shrink(
                &self,
                ptr: $crate::__private::NonNull<::core::primitive::u8>,
                old: $crate::__private::Layout,
                new: $crate::__private::Layout,
            ) -> $crate::__private::Result<
                $crate::__private::NonNull<[::core::primitive::u8]>,
                $crate::__private::api2::AllocError,
            > {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::__private::api2::resize(self, ptr, old, new, false) }
            }
        }
    };
}
