//! Small, fast allocators for WebAssembly and firmware, generated per
//! configuration by an attribute macro.
//!
//! Two are ready to use: [`Default`](struct@Default), lite-alloc 0.1.0's
//! four-bin design (the smallest code, for short-lived work), and
//! [`General`], for everything else. Gate them on wasm32, as most wasm
//! crates do, or enable the `std` feature so that host builds (your
//! `cargo test`) take memory from the operating system:
//!
//! ```
//! #[cfg(target_arch = "wasm32")]
//! #[global_allocator]
//! static ALLOC: lite_alloc::General = lite_alloc::General::new();
//! # fn main() { assert_eq!(vec![1, 2, 3].iter().sum::<i32>(), 6); }
//! ```
//!
//! Or generate your own with [`macro@lite_alloc`], whose documentation
//! lists every argument:
//!
//! ```
//! use lite_alloc::lite_alloc;
//!
//! /// Five bins in front of chunks that are split and merged.
//! #[lite_alloc(bins = [16, 32, 64, 128, 256], large = coalesce, realloc)]
//! pub struct MyAlloc;
//!
//! #[global_allocator]
//! static ALLOC: MyAlloc = MyAlloc::new();
//! # fn main() { let v = vec![1, 2, 3]; assert_eq!(v.iter().sum::<i32>(), 6); }
//! ```
//!
//! Memory comes from wasm's `memory.grow`, the operating system (`std`), a
//! static arena, regions the program hands over at run time (`memory =
//! claimed`, for firmware), or a source of your own: see [`memory`]. With
//! the `allocator-api2` feature every generated type is also an
//! `allocator_api2::alloc::Allocator`, for collections (and per-request
//! arenas) of their own: see `allocator_api`.
//!
//! # Crate features
//!
//! | feature | what it adds |
//! |---|---|
//! | `std` | `memory = system`, the default memory on hosts (so `Default` and `General` grow without bound there), and `record::Recorder::save` |
//! | `allocator-api2` | `allocator_api2::alloc::Allocator` (version 0.2, as `hashbrown` and `bumpalo` use) for every generated type |
//! | `critical-section` | `sync = critical_section`, for firmware with interrupts |
//! | `realloc` | in-place `realloc` for `Default`, as lite-alloc 0.1.0's feature of that name |
//! | `check` | the checked mode ([`check`]) for `Default` and `General`: double and foreign frees, wrong layouts, overruns and writes after free reported where they happen; for debug builds |
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
#![cfg_attr(docsrs, feature(doc_cfg))]

// The heap's grain, smallest chunk and size classes are laid out for words
// of 32 or 64 bits: with 16-bit words the smallest chunk would fall below
// the first size class.
#[cfg(not(any(target_pointer_width = "32", target_pointer_width = "64")))]
compile_error!(
    "lite-alloc supports targets with 32- or 64-bit pointers (wasm32, thumb, x86, 64-bit hosts)"
);

#[cfg(feature = "std")]
extern crate std;

// Lets the attribute's absolute paths (`::lite_alloc::...`) resolve inside
// this crate, for `Default`.
extern crate self as lite_alloc;

pub mod check;
mod heap;
pub mod memory;
#[cfg(any(target_has_atomic = "8", single_threaded_wasm))]
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

/// lite-alloc 0.1.0's four-bin design, ready to use: the smallest code, for
/// short-lived work.
///
/// Bins of 16, 32, 64 and 128 bytes with LIFO free lists, a bump pointer for
/// misses and for blocks over 128 bytes (never reused), memory grown 64 KiB at
/// a time from `memory.grow` on `wasm32`; elsewhere from the operating system
/// with the `std` feature (in regions each at least as large as all before
/// it), or a static arena of [`memory::DEFAULT_ARENA_BYTES`] without it.
/// `realloc` moves the block unless the crate feature `realloc` is on, which
/// enables the design's in-place shrink and in-place growth at the heap top
/// (of the last block carved, as long as it has not shrunk: the design then
/// knows the block by its new size, which ends short of the top).
///
/// ```
/// #[global_allocator]
/// static ALLOC: lite_alloc::Default = lite_alloc::Default::new();
/// # fn main() { assert_eq!(vec![7u8; 3].len(), 3); }
/// ```
///
/// It locks with `sync = spin`, so it exists on every target with atomic
/// compare-and-swap and on single-threaded wasm. Elsewhere (`thumbv6m`, say),
/// generate your own with `sync = critical_section`; and on firmware whose
/// interrupt handlers allocate, whatever the chip: a handler that
/// interrupts a holder of the spin lock would spin for ever.
#[cfg(any(target_has_atomic = "8", single_threaded_wasm))]
#[cfg_attr(all(feature = "realloc", not(feature = "check")), lite_alloc(realloc))]
#[cfg_attr(not(any(feature = "realloc", feature = "check")), lite_alloc)]
#[cfg_attr(
    all(feature = "realloc", feature = "check"),
    lite_alloc(realloc, check)
)]
#[cfg_attr(all(not(feature = "realloc"), feature = "check"), lite_alloc(check))]
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
/// with a sixth of its code.
///
/// Choose [`Default`](struct@Default) for short-lived work (a serverless
/// function, a plugin call, a script: what lite-alloc 0.1.0's design was
/// made for, with the smallest and fastest code), `General` for everything
/// else. Its memory and its lock are those of [`Default`](struct@Default).
///
/// ```
/// #[global_allocator]
/// static ALLOC: lite_alloc::General = lite_alloc::General::new();
/// # fn main() { assert_eq!(vec![7u8; 3].len(), 3); }
/// ```
#[cfg(any(target_has_atomic = "8", single_threaded_wasm))]
#[cfg_attr(
    not(feature = "check"),
    lite_alloc(bins = [], large = coalesce, realloc, growth = 1/32)
)]
#[cfg_attr(
    feature = "check",
    lite_alloc(bins = [], large = coalesce, realloc, growth = 1/32, check)
)]
#[derive(Debug)]
pub struct General;

/// Items the generated code uses. Not public API: no semver guarantees.
#[doc(hidden)]
pub mod __private {
    pub use crate::check::Checks;
    pub use crate::heap::{
        CheckedGlobal, Chunks, Config, Global, Leak, MAX_BIN, MAX_BIN_ALIGN, MAX_PAGE, Reuse,
        carve_align, large_classes, min_carve_align,
    };
    pub use crate::memory::{
        ArenaCursor, ArenaStorage, DEFAULT_ARENA_BYTES, MAX_ARENA_BYTES, Memory, WASM_PAGE, Wasm,
        WasmHeapBase, arena::arena_bytes,
    };
    pub use crate::stats::{Counters, NoStats, Stats};
    pub use crate::sync::{CriticalSection, Lock, Spin, Unsynchronized};
    pub use core::alloc::{GlobalAlloc, Layout};
    pub use core::mem::size_of;
    pub use core::option::Option::{self, None, Some};
    pub use core::primitive::{bool, u8, u64, usize};
    pub use core::ptr::{NonNull, null_mut};
    pub use core::{concat, module_path, panic, stringify};

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

    /// For the test suite, which `scripts/test.sh` runs with lite-alloc
    /// built for speed and built for size and says which in
    /// `LITE_ALLOC_TEST_BUILT_FOR` (`asked`: `size` or `speed`): panics when
    /// this lite-alloc is not that build (`opt_level_size`, see its build
    /// script), for then the run tests the same code twice.
    pub fn assert_built_for(asked: Option<&str>) {
        let built_for = if cfg!(opt_level_size) {
            "size"
        } else {
            "speed"
        };
        if let Some(asked) = asked {
            assert_eq!(
                asked, built_for,
                "the run asked for lite-alloc built for {asked}"
            );
        }
    }
}
