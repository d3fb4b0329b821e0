//! A memory source whose type is named in lowercase, by a raw identifier
//! and by a path.
#![allow(non_camel_case_types)]

use core::ptr::NonNull;
use lite_alloc::memory::Memory;

pub struct board;

// SAFETY: it never hands out memory.
unsafe impl Memory for board {
    const INIT: Self = board;
    fn grow(&mut self, _: usize) -> Option<NonNull<[u8]>> {
        None
    }
}

#[lite_alloc::lite_alloc(memory = r#board)]
pub struct Raw;

#[lite_alloc::lite_alloc(memory = self::board)]
pub struct ByPath;

fn main() {
    use std::alloc::{GlobalAlloc, Layout};
    let layout = Layout::new::<u64>();
    // SAFETY: a valid layout; the memory has none to give.
    unsafe {
        assert!(Raw::new().alloc(layout).is_null());
        assert!(ByPath::new().alloc(layout).is_null());
    }
}
