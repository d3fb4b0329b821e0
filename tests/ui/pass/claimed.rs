//! `memory = claimed`: nothing until `claim`, then the region.
use core::alloc::{GlobalAlloc, Layout};

#[lite_alloc::lite_alloc(memory = claimed)]
pub(crate) struct Board;

static mut HEAP: [u8; 4096] = [0; 4096];

fn main() {
    let layout = Layout::from_size_align(64, 8).unwrap();
    unsafe {
        assert!(Board.alloc(layout).is_null());
        Board.claim((&raw mut HEAP).cast(), 4096);
        let block = Board.alloc(layout);
        assert!(!block.is_null());
        Board.dealloc(block, layout);
    }
}
