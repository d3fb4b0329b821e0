//! The benchmark workloads. Each runs through the global allocator and returns
//! a checksum computed from the data only (never from addresses), so every
//! allocator must produce the same value.
//!
//! | workload | what it does | operations counted |
//! |---|---|---|
//! | [`cycle`] | allocate and free one 8-byte box, 1,000,000 times | 1,000,000 alloc+free pairs |
//! | [`sequential`] | allocate 1000 boxes of 8 bytes, then free them all; 1000 rounds | 1,000,000 alloc+free pairs |
//! | [`fragmentation`] | 512 blocks of 8..=256 bytes, free every other, 200 more of 8..=128 bytes, free all; 1000 rounds | 712,000 alloc+free pairs |
//! | [`vec_push`] | push 1,000,000 `u32`s into an empty `Vec`; 10 rounds | 10,000,000 pushes |
//! | [`btree`] | 20,000 inserts of `String` keys into a `BTreeMap<String, u64>`, then 10,000 removes | 30,000 map operations |
//! | [`small_objects`] | build a binary tree of 100,000 boxed nodes of 16, 32 and 48 bytes (on wasm32), then drop it | 100,000 nodes |
//!
//! Two more measure what the options beyond the documented design are for;
//! the report keeps them out of the geometric mean of the six above:
//!
//! | workload | what it does | operations counted |
//! |---|---|---|
//! | [`zeroed`] | `vec![0u8; n]` for n of 4..64 KiB, a few bytes written and read, dropped; 2000 times | 2000 buffers |
//! | [`long_running`] | a million mixed operations: 100 live blocks of log-uniform sizes up to 4 KiB, a random one replaced at each step | 1,000,000 alloc+free pairs |
//!
//! And two patterns that users of other allocators have reported needing
//! many times the memory for, also kept out of the geometric mean and
//! measured for their peak pages as much as for their time:
//!
//! | workload | what it does | operations counted |
//! |---|---|---|
//! | [`ratchet`] | 140 rounds of 64 blocks, each round's about 6% larger than the last (16 B to about 80 KiB); after each round all but about one in eight of the previous round's blocks are freed, so the survivors slowly pile up | 8960 alloc+free pairs |
//! | [`random_actions`] | 200,000 random actions on a live set of 200 to 2000 blocks: allocate (3 in 7), free (3 in 7) or reallocate (1 in 7) a random block; sizes 1 to 10,000 bytes, most small; alignments mostly 4 or 8, some up to 64 | 200,000 actions |
#![no_std]

extern crate alloc;

use alloc::alloc::{Layout, alloc, dealloc, handle_alloc_error, realloc};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::hint::black_box;

/// A workload: its name, the number of operations its time is divided by,
/// and the function that runs it.
pub struct Workload {
    pub name: &'static str,
    pub ops: u64,
    pub run: fn() -> u64,
}

/// Every workload, in the order the report lists them.
pub const ALL: [Workload; 10] = [
    Workload {
        name: "cycle",
        ops: CYCLES,
        run: cycle,
    },
    Workload {
        name: "sequential",
        ops: SEQUENTIAL_ROUNDS * SEQUENTIAL_LIVE,
        run: sequential,
    },
    Workload {
        name: "fragmentation",
        ops: FRAGMENTATION_ROUNDS * (FRAGMENTATION_FIRST + FRAGMENTATION_MORE),
        run: fragmentation,
    },
    Workload {
        name: "vec_push",
        ops: VEC_ROUNDS * VEC_PUSHES,
        run: vec_push,
    },
    Workload {
        name: "btree",
        ops: BTREE_INSERTS + BTREE_REMOVES,
        run: btree,
    },
    Workload {
        name: "small_objects",
        ops: TREE_NODES,
        run: small_objects,
    },
    Workload {
        name: "zeroed",
        ops: ZEROED_BUFFERS,
        run: zeroed,
    },
    Workload {
        name: "long_running",
        ops: LONG_RUNNING_OPS,
        run: long_running,
    },
    Workload {
        name: "ratchet",
        ops: RATCHET_ROUNDS * RATCHET_BLOCKS,
        run: ratchet,
    },
    Workload {
        name: "random_actions",
        ops: RANDOM_ACTIONS,
        run: random_actions,
    },
];

const CYCLES: u64 = 1_000_000;
const SEQUENTIAL_ROUNDS: u64 = 1000;
const SEQUENTIAL_LIVE: u64 = 1000;
const FRAGMENTATION_ROUNDS: u64 = 1000;
const FRAGMENTATION_FIRST: u64 = 512;
const FRAGMENTATION_MORE: u64 = 200;
const VEC_ROUNDS: u64 = 10;
const VEC_PUSHES: u64 = 1_000_000;
const BTREE_INSERTS: u64 = 20_000;
const BTREE_REMOVES: u64 = 10_000;
const TREE_NODES: u64 = 100_000;
const ZEROED_BUFFERS: u64 = 2000;
const LONG_RUNNING_OPS: u64 = 1_000_000;
const LONG_RUNNING_LIVE: usize = 100;
const RATCHET_ROUNDS: u64 = 140;
const RATCHET_BLOCKS: u64 = 64;
const RANDOM_ACTIONS: u64 = 200_000;
const RANDOM_ACTIONS_MIN_LIVE: usize = 200;
const RANDOM_ACTIONS_MAX_LIVE: usize = 2000;
const RANDOM_ACTIONS_MAX_SIZE: u64 = 10_000;

/// A linear congruential generator (Knuth's MMIX constants): the same
/// sequence on every target.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A value in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// Allocate and free one 8-byte box, over and over: the free-list fast path.
pub fn cycle() -> u64 {
    let mut sum = 0u64;
    for i in 0..CYCLES {
        // `black_box` keeps the compiler from removing the allocation.
        let boxed = black_box(Box::new(i));
        sum = sum.wrapping_add(*boxed);
    }
    sum
}

/// Many small blocks live at once, then all freed.
pub fn sequential() -> u64 {
    // The holder is allocated once, so that only 8-byte blocks come and go.
    let mut live: Vec<Box<u64>> = Vec::with_capacity(SEQUENTIAL_LIVE as usize);
    let mut sum = 0u64;
    for round in 0..SEQUENTIAL_ROUNDS {
        for i in 0..SEQUENTIAL_LIVE {
            live.push(black_box(Box::new(round ^ i)));
        }
        for boxed in live.drain(..) {
            sum = sum.wrapping_add(*boxed);
        }
    }
    sum
}

/// Mixed sizes freed out of order, then refilled with smaller ones.
pub fn fragmentation() -> u64 {
    let mut lcg = Lcg(42);
    let capacity = (FRAGMENTATION_FIRST + FRAGMENTATION_MORE) as usize;
    let mut blocks: Vec<Option<(*mut u8, Layout)>> = Vec::with_capacity(capacity);
    let mut sum = 0u64;
    for _ in 0..FRAGMENTATION_ROUNDS {
        for _ in 0..FRAGMENTATION_FIRST {
            blocks.push(Some(raw_block(lcg.between(8, 256) as usize, &mut sum)));
        }
        for block in blocks.iter_mut().step_by(2) {
            free_block(block.take().unwrap(), &mut sum);
        }
        for _ in 0..FRAGMENTATION_MORE {
            blocks.push(Some(raw_block(lcg.between(8, 128) as usize, &mut sum)));
        }
        for block in blocks.drain(..).flatten() {
            free_block(block, &mut sum);
        }
    }
    sum
}

/// A block of `size` bytes aligned to 8, its first and last bytes written.
fn raw_block(size: usize, sum: &mut u64) -> (*mut u8, Layout) {
    let layout = Layout::from_size_align(size, 8).unwrap();
    // SAFETY: `size` is at least 8, so the layout is not zero-sized.
    let block = unsafe { alloc(layout) };
    if block.is_null() {
        handle_alloc_error(layout);
    }
    // SAFETY: the block is valid for `size` bytes.
    unsafe {
        block.write(size as u8);
        block.add(size - 1).write(size as u8 ^ 0x5A);
    }
    *sum = sum.wrapping_add(size as u64);
    (block, layout)
}

/// Reads back what `raw_block` wrote, then frees the block.
fn free_block((block, layout): (*mut u8, Layout), sum: &mut u64) {
    // SAFETY: the block is live, was allocated with `layout`, and its first
    // and last bytes were written.
    unsafe {
        let (first, last) = (block.read(), block.add(layout.size() - 1).read());
        *sum = sum.wrapping_mul(31).wrapping_add((first ^ last) as u64);
        dealloc(block, layout);
    }
}

/// A vector grown one element at a time: `realloc` at every doubling.
pub fn vec_push() -> u64 {
    let mut sum = 0u64;
    for round in 0..VEC_ROUNDS {
        let mut values = Vec::new();
        for i in 0..VEC_PUSHES {
            values.push(black_box((i ^ round) as u32));
        }
        let values = black_box(values);
        let last = values.len() - 1;
        sum = sum.wrapping_add(values.len() as u64 + values[last] as u64 + values[last / 3] as u64);
    }
    sum
}

/// An ordered map with string keys: many small and medium blocks of mixed
/// lifetimes (the keys, and the map's nodes).
pub fn btree() -> u64 {
    let mut lcg = Lcg(7);
    let mut map = BTreeMap::new();
    let mut numbers = Vec::with_capacity(BTREE_INSERTS as usize);
    for i in 0..BTREE_INSERTS {
        let number = lcg.next();
        numbers.push(number);
        let mut key = String::new();
        write!(key, "key-{number}").unwrap();
        map.insert(key, i);
    }
    // Remove half of the keys in a scattered order: 7919 is prime, so the
    // indices `i * 7919 mod BTREE_INSERTS` are all different.
    let mut key = String::new();
    for i in 0..BTREE_REMOVES {
        key.clear();
        write!(key, "key-{}", numbers[(i * 7919 % BTREE_INSERTS) as usize]).unwrap();
        map.remove(key.as_str());
    }
    let mut sum = map.len() as u64;
    for (key, value) in &map {
        sum = sum.wrapping_mul(31).wrapping_add(key.len() as u64 ^ value);
    }
    sum
}

/// A node of the tree in [`small_objects`]: two children and `K` words of
/// payload, so 16, 32 or 48 bytes on wasm32.
struct Node<const K: usize> {
    left: Tree,
    right: Tree,
    payload: [u32; K],
}

enum Tree {
    Empty,
    Small(Box<Node<0>>),
    Medium(Box<Node<4>>),
    Large(Box<Node<8>>),
}

impl Tree {
    /// A balanced tree of `count` nodes, of sizes chosen by `lcg`.
    fn build(count: u64, lcg: &mut Lcg) -> Tree {
        if count == 0 {
            return Tree::Empty;
        }
        let left_count = (count - 1) / 2;
        let left = Tree::build(left_count, lcg);
        let right = Tree::build(count - 1 - left_count, lcg);
        let value = lcg.next() as u32;
        match value % 3 {
            0 => Tree::Small(Box::new(Node {
                left,
                right,
                payload: [],
            })),
            1 => Tree::Medium(Box::new(Node {
                left,
                right,
                payload: [value; 4],
            })),
            _ => Tree::Large(Box::new(Node {
                left,
                right,
                payload: [value; 8],
            })),
        }
    }

    /// Nodes and payload, folded into one number.
    fn checksum(&self) -> u64 {
        fn fold<const K: usize>(node: &Node<K>) -> u64 {
            let payload = node.payload.iter().map(|&v| v as u64).sum::<u64>();
            1 + payload + node.left.checksum() + node.right.checksum()
        }
        match self {
            Tree::Empty => 0,
            Tree::Small(node) => fold(node),
            Tree::Medium(node) => fold(node),
            Tree::Large(node) => fold(node),
        }
    }
}

/// A tree of boxed nodes built, walked and dropped.
pub fn small_objects() -> u64 {
    let tree = black_box(Tree::build(TREE_NODES, &mut Lcg(3)));
    let sum = tree.checksum();
    drop(tree);
    sum
}

/// Zero-initialised buffers, the way `vec![0; n]` makes them
/// (`alloc_zeroed`): an allocator that knows fresh memory is zero skips
/// clearing it.
pub fn zeroed() -> u64 {
    let mut lcg = Lcg(11);
    let mut sum = 0u64;
    for i in 0..ZEROED_BUFFERS {
        let len = lcg.between(4096, 65536) as usize;
        let mut buffer = black_box(alloc::vec![0u8; len]);
        buffer[(i as usize * 7) % len] = 1;
        buffer[len - 1] ^= 3;
        sum = sum
            .wrapping_add(buffer.iter().step_by(512).map(|&b| b as u64).sum::<u64>() + len as u64);
    }
    sum
}

/// A long-running program: 100 blocks live at any time, of log-uniform sizes
/// up to 4 KiB, a random one replaced at each step. Memory stays bounded only
/// if freed blocks of all sizes are reused.
pub fn long_running() -> u64 {
    let mut lcg = Lcg(5);
    let mut live: Vec<(*mut u8, Layout)> = Vec::with_capacity(LONG_RUNNING_LIVE);
    let mut sum = 0u64;
    for _ in 0..LONG_RUNNING_OPS {
        if live.len() == LONG_RUNNING_LIVE {
            let victim = (lcg.next() % LONG_RUNNING_LIVE as u64) as usize;
            free_block(live.swap_remove(victim), &mut sum);
        }
        let log = lcg.next() % 12;
        let size = 8 + (lcg.next() % (1 << log)) as usize;
        live.push(raw_block(size, &mut sum));
    }
    for block in live {
        free_block(block, &mut sum);
    }
    sum
}

/// A working set that ratchets up: each round allocates blocks a little
/// larger than the last round's, then frees most of the previous round's.
/// The freed blocks, merged with their freed neighbours, are big enough for
/// the next round's only where the allocator merges them (and merges them
/// with memory it grows next to them); the survivors, one in eight, keep
/// the holes apart. Sizes go from 16 bytes to about 80 KiB, through every
/// size class and past the wasm page.
pub fn ratchet() -> u64 {
    let mut lcg = Lcg(17);
    let mut sum = 0u64;
    let mut survivors: Vec<(*mut u8, Layout)> = Vec::new();
    let mut previous: Vec<(*mut u8, Layout)> = Vec::with_capacity(RATCHET_BLOCKS as usize);
    let mut current: Vec<(*mut u8, Layout)> = Vec::with_capacity(RATCHET_BLOCKS as usize);
    let mut size = 16u64;
    for _ in 0..RATCHET_ROUNDS {
        for _ in 0..RATCHET_BLOCKS {
            // Up to a quarter larger than the round's size, so that blocks
            // of one round differ a little.
            let jitter = lcg.next() % (size / 4 + 1);
            current.push(raw_block((size + jitter) as usize, &mut sum));
        }
        for block in previous.drain(..) {
            if lcg.next().is_multiple_of(8) {
                survivors.push(block);
            } else {
                free_block(block, &mut sum);
            }
        }
        core::mem::swap(&mut previous, &mut current);
        size += size / 16 + 1;
    }
    for block in previous.into_iter().chain(survivors) {
        free_block(block, &mut sum);
    }
    sum
}

/// Random allocations, frees and reallocations on a bounded live set, the
/// mix allocator benchmarks elsewhere call "random actions": sizes 1 to
/// 10,000 bytes, most of them small (uniform below a cap that is itself
/// uniform), alignments mostly a word, sometimes more.
pub fn random_actions() -> u64 {
    let mut lcg = Lcg(23);
    let mut live: Vec<(*mut u8, Layout)> = Vec::with_capacity(RANDOM_ACTIONS_MAX_LIVE);
    let mut sum = 0u64;
    let size = |lcg: &mut Lcg| {
        let cap = lcg.between(16, RANDOM_ACTIONS_MAX_SIZE);
        lcg.between(1, cap) as usize
    };
    for _ in 0..RANDOM_ACTIONS {
        let action = lcg.next() % 7;
        if action == 0 && !live.is_empty() {
            // Reallocate: what the block held survives, up to the smaller size.
            let i = (lcg.next() % live.len() as u64) as usize;
            let new_size = size(&mut lcg);
            live[i] = resize_block(live[i], new_size, &mut sum);
        } else if (action <= 3 && live.len() < RANDOM_ACTIONS_MAX_LIVE)
            || live.len() < RANDOM_ACTIONS_MIN_LIVE
        {
            // Alignment 4 (wasm32's word) three times in four, then 8, 16,
            // 32 or 64, each about a quarter as likely as the one before.
            let align = 4usize << ((lcg.next() & 0xff).trailing_zeros() / 2).min(4);
            let size = size(&mut lcg);
            live.push(tagged_block(size, align, &mut sum));
        } else {
            let i = (lcg.next() % live.len() as u64) as usize;
            free_tagged(live.swap_remove(i), &mut sum);
        }
    }
    for block in live {
        free_tagged(block, &mut sum);
    }
    sum
}

/// A block of `size` bytes (at least 1) aligned to `align`, its first and
/// last bytes written from its size.
fn tagged_block(size: usize, align: usize, sum: &mut u64) -> (*mut u8, Layout) {
    let layout = Layout::from_size_align(size, align).unwrap();
    // SAFETY: `size` is at least 1, so the layout is not zero-sized.
    let block = unsafe { alloc(layout) };
    if block.is_null() {
        handle_alloc_error(layout);
    }
    // SAFETY: the block is valid for `size` bytes.
    unsafe {
        block.write(size as u8);
        block.add(size - 1).write(size as u8 ^ 0x5A);
    }
    *sum = sum.wrapping_add(size as u64);
    (block, layout)
}

/// Reads back what `tagged_block` (or `resize_block`) wrote, then frees the
/// block.
fn free_tagged((block, layout): (*mut u8, Layout), sum: &mut u64) {
    // SAFETY: the block is live, was allocated with `layout`, and its first
    // and last bytes were written.
    unsafe {
        let (first, last) = (block.read(), block.add(layout.size() - 1).read());
        *sum = sum.wrapping_mul(31).wrapping_add((first ^ last) as u64);
        dealloc(block, layout);
    }
}

/// Reallocates a tagged block to `new_size` bytes (at least 1): its first
/// byte must survive; the first and last bytes are written anew.
fn resize_block(
    (block, layout): (*mut u8, Layout),
    new_size: usize,
    sum: &mut u64,
) -> (*mut u8, Layout) {
    // SAFETY: the block is live and was allocated with `layout`; `new_size`
    // is not zero and, at most 10,000, does not overflow when rounded up to
    // the alignment.
    let moved = unsafe { realloc(block, layout, new_size) };
    let new_layout = Layout::from_size_align(new_size, layout.align()).unwrap();
    if moved.is_null() {
        handle_alloc_error(new_layout);
    }
    // SAFETY: the block is valid for `new_size` bytes, and its first byte is
    // the old block's first byte.
    unsafe {
        *sum = sum.wrapping_mul(31).wrapping_add(moved.read() as u64);
        moved.write(new_size as u8);
        moved.add(new_size - 1).write(new_size as u8 ^ 0x5A);
    }
    *sum = sum.wrapping_add(new_size as u64);
    (moved, new_layout)
}
