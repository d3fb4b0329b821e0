//! `lite_alloc::Default` as the global allocator of a program, on the host
//! (its default memory there: an 8 MiB arena, or the system's allocator
//! when lite-alloc's `std` feature is on, as it is when the whole workspace
//! is built), running ordinary std code.

use std::collections::BTreeMap;

#[global_allocator]
static ALLOC: lite_alloc::Default = lite_alloc::Default::new();

#[test]
fn ordinary_std_code_runs() {
    // Smaller under Miri, which is slow.
    let n: u64 = if cfg!(miri) { 100 } else { 10_000 };
    let mut v: Vec<u64> = Vec::new();
    for i in 0..n {
        v.push(i);
    }
    assert_eq!(v.iter().sum::<u64>(), (n - 1) * n / 2);

    let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    let joined = words.join(" ");
    assert_eq!(joined.split(' ').count() as u64, n);

    let mut map = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        map.insert(w.clone(), i);
    }
    for w in words.iter().step_by(3) {
        map.remove(w);
    }
    assert_eq!(map.len() as u64, n - n.div_ceil(3));

    // Blocks smaller than a free-list link, freed and handed out again.
    let bytes: Vec<Box<u8>> = (0..100).map(Box::new).collect();
    drop(bytes);
    let shorts: Vec<Box<u16>> = (0..100).map(Box::new).collect();
    assert_eq!(shorts.iter().map(|b| **b as u32).sum::<u32>(), 4950);

    let boxes: Vec<Box<[u8; 40]>> = (0..n).map(|i| Box::new([i as u8; 40])).collect();
    assert_eq!(
        boxes.iter().map(|b| b[39] as u64).sum::<u64>(),
        (0..n).map(|i| i % 256).sum()
    );
}

/// Boxes of a word or more dropped by value, so that their pointer is still
/// protected while the free list's link is written through it: under Miri,
/// no undefined behaviour (blocks of less than a word: see docs/testing.md).
#[test]
fn boxes_dropped_by_value() {
    for i in 0..8u64 {
        let word = Box::new(i);
        std::mem::drop(word);
        let bytes = Box::new([i as u8; 40]);
        std::mem::drop(bytes);
    }
}
