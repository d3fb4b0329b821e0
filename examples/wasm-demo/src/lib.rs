//! lite-alloc's demo: ordinary Rust code (vectors, strings, maps, trees of
//! boxes) running on `wasm32-unknown-unknown` with `lite_alloc::Default` as the
//! global allocator. `run.mjs` loads the module in Node and calls the exports.
//!
//! The workloads are plain functions, so the smoke test can also run them on
//! the host and compare the checksums.

use std::collections::BTreeMap;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lite_alloc::Default = lite_alloc::Default::new();

/// Pushes `n` numbers one at a time (the vector grows by `realloc`) and sums
/// them.
pub fn vec_push(n: u32) -> u64 {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(i as u64 * 3);
    }
    v.iter().sum()
}

/// Builds a comma-separated string of `n` numbers and returns its length
/// plus the sum of the numbers parsed back.
pub fn string_build(n: u32) -> u64 {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&i.to_string());
        s.push(',');
    }
    let parsed: u64 = s
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>().unwrap_or(0))
        .sum();
    s.len() as u64 + parsed
}

/// Inserts `n` string keys into a map, removes every third, and sums what is
/// left.
pub fn btree_churn(n: u32) -> u64 {
    let mut map = BTreeMap::new();
    for i in 0..n as u64 {
        map.insert(format!("k{:06}", (i * 7919) % n as u64), i);
    }
    for i in (0..n as u64).step_by(3) {
        map.remove(&format!("k{i:06}"));
    }
    map.values().sum::<u64>() + map.len() as u64
}

enum Tree {
    Leaf(u64),
    Node(Box<Tree>, Box<Tree>),
}

fn build(depth: u32, seed: u64) -> Tree {
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
        Tree::Leaf(value) => *value,
        Tree::Node(left, right) => sum(left) + sum(right),
    }
}

/// Builds and drops `rounds` binary trees of boxes of the given depth.
pub fn box_trees(depth: u32, rounds: u32) -> u64 {
    (0..rounds as u64)
        .map(|round| sum(&build(depth, round)))
        .sum()
}

/// The exports `run.mjs` calls.
#[cfg(target_arch = "wasm32")]
mod exports {
    #[unsafe(no_mangle)]
    extern "C" fn demo_vec_push(n: u32) -> u64 {
        super::vec_push(n)
    }
    #[unsafe(no_mangle)]
    extern "C" fn demo_string_build(n: u32) -> u64 {
        super::string_build(n)
    }
    #[unsafe(no_mangle)]
    extern "C" fn demo_btree_churn(n: u32) -> u64 {
        super::btree_churn(n)
    }
    #[unsafe(no_mangle)]
    extern "C" fn demo_box_trees(depth: u32, rounds: u32) -> u64 {
        super::box_trees(depth, rounds)
    }
    /// The module's memory size in wasm pages.
    #[unsafe(no_mangle)]
    extern "C" fn demo_memory_pages() -> u32 {
        core::arch::wasm32::memory_size(0) as u32
    }
}
