//! A host program whose global allocator is a custom lite-alloc
//! configuration: bins sized for the program's own objects (not powers of
//! two), in-place realloc, memory from a 64 MiB static arena, a spin lock.
//!
//! Run it with `cargo run -p custom-bins`.

use std::alloc::{GlobalAlloc, Layout};
use std::collections::HashMap;

use lite_alloc::lite_alloc;

/// 24 bytes fits a `String` or a `Vec` header on 64-bit targets, 48 a small
/// node, 96 a larger one; 4096 catches buffers up to a page, which are then
/// reused instead of leaked.
#[lite_alloc(bins = [24, 48, 96, 4096], memory = arena(64 << 20), realloc)]
pub struct AppAlloc;

#[global_allocator]
static ALLOC: AppAlloc = AppAlloc::new();

fn main() {
    // Ordinary std code, allocating through `AppAlloc`.
    let text = "the quick brown fox jumps over the lazy dog ".repeat(2_000);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    let mut words: Vec<_> = counts.into_iter().collect();
    words.sort();
    println!("word counts: {words:?}");

    // A freed 4096-byte-bin block is the next one handed out for that bin.
    let layout = Layout::from_size_align(3000, 8).unwrap();
    unsafe {
        let first = ALLOC.alloc(layout);
        ALLOC.dealloc(first, layout);
        let second = ALLOC.alloc(Layout::from_size_align(4096, 8).unwrap());
        println!(
            "a 3000-byte block freed and a 4096-byte one requested: same block? {}",
            first == second
        );
        ALLOC.dealloc(second, Layout::from_size_align(4096, 8).unwrap());
    }
}
