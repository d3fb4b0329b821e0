//! Clippy's pedantic lints, which a careful crate may deny, report nothing
//! on the attribute's tokens (`scripts/test.sh` runs Clippy on every test
//! target, on the host and on wasm32): each value below is read as a `u64`
//! and cast to `usize` once checked to fit the target.
#![deny(clippy::pedantic)]

use core::alloc::{GlobalAlloc, Layout};

use lite_alloc::lite_alloc;

/// Bins, a page, a growth step and an arena, all literals.
#[lite_alloc(
    bins = [16, 24, 4096],
    page = 4096,
    growth = 1/8,
    memory = arena(65536),
    large = reuse,
    realloc,
    stats
)]
struct Bins;

/// Chunks only, checked.
#[lite_alloc(bins = [], large = coalesce, realloc, growth = 1/32, memory = arena(65536), check)]
struct Chunks;

#[test]
fn the_types_serve_blocks() {
    let layout = Layout::from_size_align(40, 8).unwrap();
    // SAFETY: a valid layout; each block freed with it, by its type.
    unsafe {
        let (bin, chunk) = (Bins.alloc(layout), Chunks.alloc(layout));
        assert!(!bin.is_null() && !chunk.is_null());
        Bins.dealloc(bin, layout);
        Chunks.dealloc(chunk, layout);
    }
}
