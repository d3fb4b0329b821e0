//! `heap_base` where it cannot apply (an arena, the default memory off
//! wasm32) does nothing, warning-free.
#![deny(warnings)]
use core::alloc::{GlobalAlloc, Layout};

#[lite_alloc::lite_alloc(memory = arena(4096), heap_base)]
struct Arena;

#[lite_alloc::lite_alloc(heap_base)]
struct PerTarget;

fn main() {
    let layout = Layout::from_size_align(16, 8).unwrap();
    unsafe {
        let a = Arena.alloc(layout);
        let b = PerTarget.alloc(layout);
        assert!(!a.is_null() && !b.is_null());
        Arena.dealloc(a, layout);
        PerTarget.dealloc(b, layout);
    }
}
