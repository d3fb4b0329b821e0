//! Lints a careful crate turns on report nothing on the attribute's tokens.
#![deny(unused_qualifications, missing_docs, unsafe_op_in_unsafe_fn)]

use lite_alloc::lite_alloc;

const HEAP: usize = 64 * 1024;

/// An allocator.
#[lite_alloc(memory = arena(HEAP), bins = [16, 32, 64], page = 4 * 1024)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {
    assert_eq!(vec![1u8, 2, 3].len(), 3);
}
