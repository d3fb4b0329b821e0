//! `lite_alloc::Default` as the global allocator of a program, on the host
//! (its default 8 MiB arena), running ordinary std code.

use std::collections::BTreeMap;

#[global_allocator]
static ALLOC: lite_alloc::Default = lite_alloc::Default::new();

#[test]
fn ordinary_std_code_runs() {
    let mut v: Vec<u32> = Vec::new();
    for i in 0..10_000 {
        v.push(i);
    }
    assert_eq!(v.iter().map(|&x| x as u64).sum::<u64>(), 9_999 * 10_000 / 2);

    let words: Vec<String> = (0..2_000).map(|i| format!("w{i}")).collect();
    let joined = words.join(" ");
    assert_eq!(joined.split(' ').count(), 2_000);

    let mut map = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        map.insert(w.clone(), i);
    }
    for w in words.iter().step_by(3) {
        map.remove(w);
    }
    assert_eq!(map.len(), 2_000 - 667);

    // Blocks smaller than a free-list link, freed and handed out again.
    let bytes: Vec<Box<u8>> = (0..100).map(Box::new).collect();
    drop(bytes);
    let shorts: Vec<Box<u16>> = (0..100).map(Box::new).collect();
    assert_eq!(shorts.iter().map(|b| **b as u32).sum::<u32>(), 4950);

    let boxes: Vec<Box<[u8; 40]>> = (0..5_000).map(|i| Box::new([i as u8; 40])).collect();
    assert_eq!(
        boxes.iter().map(|b| b[39] as u64).sum::<u64>(),
        (0..5_000u64).map(|i| i % 256).sum()
    );
}
