//! Small, fast, single-threaded allocators for WebAssembly and firmware,
//! generated per configuration.
//!
//! ```
//! use lite_alloc::lite_alloc;
//!
//! /// Four bins, memory grown 64 KiB at a time.
//! #[lite_alloc(bins = [16, 32, 64, 128], page = 65536)]
//! pub struct MyAlloc;
//!
//! #[global_allocator]
//! static ALLOC: MyAlloc = MyAlloc::new();
//! # fn main() { let v = vec![1, 2, 3]; assert_eq!(v.iter().sum::<i32>(), 6); }
//! ```
//!
//! or, with no configuration at all, [`Default`](struct@Default):
//!
//! ```
//! #[global_allocator]
//! static ALLOC: lite_alloc::Default = lite_alloc::Default::new();
//! # fn main() { assert_eq!(String::from("ok").len(), 2); }
//! ```
//!
//! # The design
//!
//! Requests up to the largest bin are rounded up to the smallest bin that
//! holds them. Each bin keeps a LIFO list of freed blocks, threaded through the
//! blocks themselves (no headers); a miss carves a new block of the bin's size
//! from a bump pointer. Larger requests, and requests aligned to more than 16
//! bytes, are carved from the bump pointer at their exact size and never
//! reused. Allocation and deallocation are O(1); there is no splitting and no
//! coalescing. It suits short-lived programs (serverless functions, scripts,
//! plugins) and firmware with a known allocation pattern, where code size and
//! speed matter more than reuse of large blocks.
//!
//! # The attribute
//!
//! [`macro@lite_alloc`] turns a unit struct into an allocator type with its
//! own statics; see its documentation for every argument. The algorithm lives
//! once in this crate ([`heap`]); the attribute generates the configuration,
//! the specialised size-to-bin lookup, the statics and the trait impls.
//!
//! # Guarantees
//!
//! For every configuration: live blocks never overlap; every block lies in
//! memory the allocator obtained for itself (also when other code grows wasm
//! memory, and for any alignment); address arithmetic is checked, so a request
//! that cannot fit gets null; out of memory returns null and the allocator
//! keeps working; blocks honour `layout.align()` and `alloc_zeroed` memory is
//! zero; and no data race is reachable from safe code (see [`sync`]).
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

// Lets the attribute's absolute paths (`::lite_alloc::...`) resolve inside
// this crate, for `Default`.
extern crate self as lite_alloc;

pub mod heap;
pub mod memory;
#[cfg(any(
    target_has_atomic = "8",
    all(target_arch = "wasm32", not(target_feature = "atomics"))
))]
pub mod record;
pub mod stats;
pub mod sync;

pub use lite_alloc_macros::lite_alloc;
pub use stats::Stats;

#[cfg(feature = "allocator-api2")]
pub mod allocator_api;

/// Without the `allocator-api2` feature, generated types implement no
/// `Allocator`: the attribute's call expands to nothing.
#[cfg(not(feature = "allocator-api2"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_allocator_api2 {
    ($ty:ident) => {};
}

/// The documented four-bin design, ready to use.
///
/// Bins of 16, 32, 64 and 128 bytes with LIFO free lists, a bump pointer for
/// misses and for blocks over 128 bytes (never reused), memory grown 64 KiB at
/// a time: from `memory.grow` on `wasm32`, from a static arena of
/// [`memory::DEFAULT_ARENA_BYTES`] elsewhere. `realloc` moves the block unless
/// the crate feature `realloc` is on, which enables the design's in-place
/// shrink and in-place growth at the heap top.
///
/// ```
/// #[global_allocator]
/// static ALLOC: lite_alloc::Default = lite_alloc::Default::new();
/// # fn main() { assert_eq!(vec![7u8; 3].len(), 3); }
/// ```
///
/// It locks with `sync = spin`, so it exists on every target with atomic
/// compare-and-swap and on single-threaded wasm. Elsewhere (`thumbv6m`, say),
/// generate your own with `sync = critical_section`.
#[cfg(any(
    target_has_atomic = "8",
    all(target_arch = "wasm32", not(target_feature = "atomics"))
))]
#[cfg_attr(feature = "realloc", lite_alloc(realloc))]
#[cfg_attr(not(feature = "realloc"), lite_alloc)]
#[derive(Debug)]
pub struct Default;

/// A general-purpose configuration, for programs that run long or allocate
/// much: everything else.
///
/// ```text
/// #[lite_alloc(bins = [], large = coalesce, realloc, growth = 1/32)]
/// ```
///
/// No bins: every block is a chunk with a one-word header, split to the size
/// asked for and merged with its free neighbours when freed, as in dlmalloc,
/// so that memory freed in one size serves any other. Chunks come in steps
/// of two words (8 bytes on wasm32), and free ones are found in constant
/// time (four lists per power of two, and a bitmap). Blocks resize in place
/// when they can, and memory grows by at least a thirty-second of what the
/// allocator already has at a time, so that a program that needs hundreds
/// of MiB makes tens of `memory.grow` calls rather than thousands (each
/// costs a garbage collection in V8 once memory is large).
///
/// On four real programs compiled to wasm (see the README's benchmark) it
/// needs about the memory that dlmalloc, Rust's default on wasm32, needs,
/// with a fifth of its code.
///
/// Choose [`Default`](struct@Default) for short-lived work (a serverless
/// function, a plugin call, a script: the documented design's own use case,
/// and the smallest and fastest code), `General` for everything else.
///
/// ```
/// #[global_allocator]
/// static ALLOC: lite_alloc::General = lite_alloc::General::new();
/// # fn main() { assert_eq!(vec![7u8; 3].len(), 3); }
/// ```
#[cfg(any(
    target_has_atomic = "8",
    all(target_arch = "wasm32", not(target_feature = "atomics"))
))]
#[lite_alloc(bins = [], large = coalesce, realloc, growth = 1/32)]
#[derive(Debug)]
pub struct General;

/// Items the generated code uses. Not public API: no semver guarantees.
#[doc(hidden)]
pub mod __private {
    pub use crate::heap::{
        Config, Global, MAX_BIN, MAX_BIN_ALIGN, MAX_PAGE, carve_align, chunk_lists, large_classes,
        min_carve_align,
    };
    pub use crate::memory::{
        ArenaCursor, ArenaStorage, DEFAULT_ARENA_BYTES, Memory, WASM_PAGE, Wasm, WasmHeapBase,
    };
    pub use crate::stats::{Counters, NoStats, Stats};
    pub use crate::sync::{CriticalSection, Lock, Spin, Unsynchronized};
    pub use core::alloc::{GlobalAlloc, Layout};
    pub use core::option::Option::{self, None, Some};
    pub use core::ptr::NonNull;

    // `memory = claimed` and `memory = system`, the default memory with the
    // `std` feature, and `allocator_api2::alloc::Allocator`.
    pub use crate::__impl_allocator_api2 as impl_allocator_api2;
    #[cfg(feature = "allocator-api2")]
    pub use crate::allocator_api as api2;
    #[cfg(feature = "std")]
    pub use crate::memory::System;
    #[cfg(not(feature = "std"))]
    pub use crate::memory::SystemNeedsStdFeature as System;
    pub use crate::memory::{Claimed, PerTarget};
    pub use core::result::Result;
}
