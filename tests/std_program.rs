//! A whole program whose `#[global_allocator]` is a generated type: the test
//! harness, its threads and ordinary std code all allocate through it.

use std::collections::BTreeMap;

use lite_alloc::lite_alloc;

/// Non-power-of-two bins, in-place realloc, a spin lock (the harness runs
/// tests on threads) and an arena large enough for a run that never reuses
/// blocks over 4096 bytes. Under Miri the workloads are smaller.
#[lite_alloc(
    bins = [16, 24, 48, 96, 192, 4096],
    memory = arena(if cfg!(miri) { 64 << 20 } else { 512 << 20 }),
    sync = spin,
    realloc
)]
struct ProgramAlloc;

#[global_allocator]
static ALLOC: ProgramAlloc = ProgramAlloc::new();

/// A binary tree of boxes.
enum Tree {
    Leaf(u32),
    Node(Box<Tree>, Box<Tree>, [u8; 24]),
}

fn build(depth: u32, seed: u32) -> Tree {
    if depth == 0 {
        Tree::Leaf(seed)
    } else {
        let tag = [depth as u8; 24];
        Tree::Node(
            Box::new(build(depth - 1, seed * 2)),
            Box::new(build(depth - 1, seed * 2 + 1)),
            tag,
        )
    }
}

fn sum(tree: &Tree) -> u64 {
    match tree {
        Tree::Leaf(value) => *value as u64,
        Tree::Node(left, right, tag) => sum(left) + sum(right) + tag[23] as u64,
    }
}

#[test]
fn vec_growth() {
    let n: u64 = if cfg!(miri) { 2_000 } else { 200_000 };
    let mut v = Vec::new();
    for i in 0..n {
        v.push(i);
    }
    assert_eq!(v.iter().sum::<u64>(), (n - 1) * n / 2);
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v, (0..10).collect::<Vec<_>>());
}

#[test]
fn strings() {
    let mut s = String::new();
    for i in 0..20_000 {
        s.push_str(&i.to_string());
        s.push(',');
    }
    let parsed: u64 = s
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>().unwrap())
        .sum();
    assert_eq!(parsed, 19_999 * 20_000 / 2);
    assert_eq!(format!("{:>8}|{:<4}|", "lite", 42), "    lite|42  |");
}

#[test]
fn btree_map_churn() {
    let n: u64 = if cfg!(miri) { 1_000 } else { 50_000 };
    let mut map = BTreeMap::new();
    for i in 0..n {
        map.insert(format!("key{:08}", (i * 7919) % n), i);
    }
    for i in (0..n).step_by(2) {
        map.remove(&format!("key{i:08}"));
    }
    assert_eq!(map.len() as u64, n / 2);
    let total: u64 = map.values().sum();
    // Every odd key survives; key k was inserted with the i where i*7919 % n == k.
    let expected: u64 = (0..n).filter(|i| (i * 7919) % n % 2 == 1).sum();
    assert_eq!(total, expected);
}

#[test]
fn box_trees() {
    let depth: u32 = if cfg!(miri) { 8 } else { 14 };
    for round in 0..5 {
        let tree = build(depth, round);
        let leaves: u64 = (0..1u64 << depth)
            .map(|i| (round as u64) * (1 << depth) + i)
            .sum();
        let tags: u64 = (1..=depth as u64)
            .map(|d| d * (1 << (depth as u64 - d)))
            .sum();
        assert_eq!(sum(&tree), leaves + tags);
    }
}

#[test]
fn threads_share_the_allocator() {
    const ROUNDS: u64 = if cfg!(miri) { 100 } else { 5_000 };
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut total = 0u64;
                for i in 0..ROUNDS {
                    let v: Vec<u64> = (0..(i % 50)).map(|x| x + t).collect();
                    total += v.iter().sum::<u64>();
                }
                total
            })
        })
        .collect();
    let totals: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for (t, total) in totals.iter().enumerate() {
        let expected: u64 = (0..ROUNDS)
            .map(|i| (0..(i % 50)).map(|x| x + t as u64).sum::<u64>())
            .sum();
        assert_eq!(*total, expected);
    }
}
