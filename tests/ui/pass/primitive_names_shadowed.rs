//! Types named like the primitives, and a module named `core`, in scope
//! where the attribute expands: the expansion names neither.

#![allow(non_camel_case_types, dead_code)]

use std::alloc::{GlobalAlloc, Layout};

struct u8;
struct usize;
struct bool;
struct u32;
mod core {}
mod lite_alloc {}

#[::lite_alloc::lite_alloc(bins = [24, 48, 96], memory = arena(65536), stats, realloc)]
struct Bins;

#[::lite_alloc::lite_alloc(memory = arena(65536), large = reuse)]
struct Reuse;

#[::lite_alloc::lite_alloc(bins = [], large = coalesce, memory = arena(65536), growth = 1/8)]
struct Chunks;

#[::lite_alloc::lite_alloc(bins = [16, 32], heap_base)]
struct PerTarget;

#[::lite_alloc::lite_alloc(memory = arena(65536), large = coalesce, check)]
struct Checked;

fn main() {
    let layout = Layout::from_size_align(40, 8).unwrap();
    unsafe {
        for alloc in [&Bins as &dyn GlobalAlloc, &Reuse, &Chunks, &PerTarget, &Checked] {
            let p = alloc.alloc(layout);
            assert!(!p.is_null());
            alloc.dealloc(p, layout);
        }
    }
    assert_eq!(Bins::stats().in_use, 0);
}
