//! lite-alloc's demo: ordinary Rust code (vectors, strings, maps, trees of
//! boxes) running on `wasm32-unknown-unknown` with a lite-alloc type as the
//! global allocator: `lite_alloc::Default`'s configuration (the documented
//! design) with statistics, or with the `reuse` feature, large blocks reused
//! and realloc in place. `run.mjs` loads the module in Node, calls the
//! exports and prints the allocator's statistics after each.
//!
//! The workloads are plain functions, so the smoke test can also run them on
//! the host and compare the checksums.

use std::collections::BTreeMap;

/// `lite_alloc::Default`'s configuration (no other arguments), plus
/// statistics.
#[cfg(all(target_arch = "wasm32", not(feature = "reuse")))]
#[lite_alloc::lite_alloc(stats)]
pub struct DemoAlloc;

/// The same bins, with large blocks reused and realloc in place.
#[cfg(all(target_arch = "wasm32", feature = "reuse"))]
#[lite_alloc::lite_alloc(stats, large = reuse, realloc)]
pub struct DemoAlloc;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: DemoAlloc = DemoAlloc::new();

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

    /// The configuration, for `run.mjs` to print.
    #[unsafe(no_mangle)]
    extern "C" fn demo_reuse() -> u32 {
        cfg!(feature = "reuse") as u32
    }

    /// A line of the allocator's statistics, in a buffer of the module's
    /// (written without allocating, so as not to change what it reports):
    /// its address; `demo_stats_len` gives its length.
    #[unsafe(no_mangle)]
    extern "C" fn demo_stats() -> *const u8 {
        use core::fmt::Write;
        let s = super::DemoAlloc::stats();
        // SAFETY: the module has one thread, and only these two functions
        // touch the buffer, neither while the other runs.
        let text = unsafe { &mut *TEXT.0.get() };
        text.len = 0;
        let bins = s.bins();
        let _ = write!(
            text,
            "in use {} B (peak {} B), obtained {} B, large blocks leaked {} B / reused {} times; bins {}: hits {}",
            s.in_use,
            s.peak_in_use,
            s.obtained,
            s.leaked,
            s.large_hits + s.large_to_top,
            Join(bins.iter().map(|b| b.size)),
            Join(bins.iter().map(|b| b.hits)),
        );
        text.bytes.as_ptr()
    }

    /// The length of the text `demo_stats` wrote.
    #[unsafe(no_mangle)]
    extern "C" fn demo_stats_len() -> usize {
        // SAFETY: as in `demo_stats`.
        unsafe { (*TEXT.0.get()).len }
    }

    /// A fixed buffer that `write!` fills, cutting what does not fit.
    struct Text {
        bytes: [u8; 512],
        len: usize,
    }

    /// The buffer, shared by the two exports.
    struct Shared(core::cell::UnsafeCell<Text>);

    // SAFETY: a wasm32 module without the atomics feature has one thread.
    unsafe impl Sync for Shared {}

    static TEXT: Shared = Shared(core::cell::UnsafeCell::new(Text {
        bytes: [0; 512],
        len: 0,
    }));

    impl core::fmt::Write for Text {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.bytes.len() - self.len);
            self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }

    /// Numbers joined with `/`.
    struct Join<I>(I);

    impl<I: Iterator<Item = T> + Clone, T: core::fmt::Display> core::fmt::Display for Join<I> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            for (i, item) in self.0.clone().enumerate() {
                if i > 0 {
                    f.write_str("/")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
    }
}
