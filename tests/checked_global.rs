//! A whole program whose `#[global_allocator]` is a checked type: the test
//! harness, its threads and ordinary std code (growing vectors, strings,
//! maps, trees of boxes, boxes smaller than a pointer) allocate through it,
//! and not one misuse is reported; its table and quarantine agree with the
//! heap (`verify()`). Under Miri it also shows that the checked layer
//! writes into a block being freed only through the caller's pointer.

use std::collections::BTreeMap;

use lite_alloc::lite_alloc;

/// Bins in front of chunks, in-place realloc, a spin lock (the harness runs
/// tests on threads).
#[lite_alloc(
    bins = [16, 32, 64, 128, 256],
    large = coalesce,
    realloc,
    check,
    memory = arena(if cfg!(miri) { 16 << 20 } else { 256 << 20 }),
    sync = spin
)]
struct Checked;

#[global_allocator]
static ALLOC: Checked = Checked::new();

/// Every test ends here: no misuse so far, and the heap and the layer
/// consistent.
fn no_misuse() {
    Checked::verify();
    assert_eq!(Checked::checks().misuses, 0);
}

enum Tree {
    Leaf(u32),
    Node(Box<Tree>, Box<Tree>),
}

fn build(depth: u32, seed: u32) -> Tree {
    if depth == 0 {
        Tree::Leaf(seed)
    } else {
        Tree::Node(
            Box::new(build(depth - 1, seed * 2)),
            Box::new(build(depth - 1, seed * 2 + 1)),
        )
    }
}

fn sum(tree: &Tree) -> u64 {
    match tree {
        Tree::Leaf(value) => *value as u64,
        Tree::Node(left, right) => sum(left) + sum(right),
    }
}

#[test]
fn vectors_and_strings() {
    let n: u64 = if cfg!(miri) { 300 } else { 200_000 };
    let mut v = Vec::new();
    for i in 0..n {
        v.push(i);
    }
    assert_eq!(v.iter().sum::<u64>(), (n - 1) * n / 2);
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v, (0..10).collect::<Vec<_>>());
    let words: Vec<String> = (0..n / 10).map(|i| format!("w{i}")).collect();
    assert_eq!(words.join(" ").split(' ').count() as u64, n / 10);
    no_misuse();
}

#[test]
fn maps_and_trees() {
    let n: u64 = if cfg!(miri) { 100 } else { 50_000 };
    let mut map = BTreeMap::new();
    for i in 0..n {
        map.insert(format!("key{:08}", (i * 7919) % n), i);
    }
    for i in (0..n).step_by(2) {
        map.remove(&format!("key{i:08}"));
    }
    assert_eq!(map.len() as u64, n / 2);
    let depth = if cfg!(miri) { 5 } else { 14 };
    for round in 0..3 {
        let tree = build(depth, round);
        let leaves: u64 = (0..1u64 << depth)
            .map(|i| round as u64 * (1 << depth) + i)
            .sum();
        assert_eq!(sum(&tree), leaves);
    }
    no_misuse();
}

#[test]
fn boxes_smaller_than_a_pointer() {
    let bytes: Vec<Box<u8>> = (0..200).map(Box::new).collect();
    assert_eq!(bytes.iter().map(|b| **b as u32).sum::<u32>(), 199 * 200 / 2);
    drop(bytes);
    let shorts: Vec<Box<u16>> = (0..200).map(Box::new).collect();
    drop(shorts);
    no_misuse();
}

#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn threads() {
    let rounds: u64 = if cfg!(miri) { 20 } else { 5_000 };
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut total = 0;
                for i in 0..rounds {
                    let v: Vec<u64> = (0..i % 50).map(|x| x + t).collect();
                    total += v.iter().sum::<u64>();
                }
                total
            })
        })
        .collect();
    for (t, handle) in handles.into_iter().enumerate() {
        let expected: u64 = (0..rounds)
            .map(|i| (0..i % 50).map(|x| x + t as u64).sum::<u64>())
            .sum();
        assert_eq!(handle.join().unwrap(), expected);
    }
    no_misuse();
}
