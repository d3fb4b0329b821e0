//! lite-alloc in the most common web setup: a `wasm-bindgen` module whose
//! global allocator is `lite_alloc::General`. Strings, vectors and a Rust
//! object cross to JavaScript and back; `run.mjs` drives it under Node.
//!
//! ```text
//! cargo build --release -p lite-alloc-wasm-bindgen --target wasm32-unknown-unknown
//! wasm-bindgen --target nodejs --out-dir pkg target/wasm32-unknown-unknown/release/lite_alloc_wasm_bindgen.wasm
//! node examples/wasm-bindgen/run.mjs pkg
//! ```

use std::collections::BTreeMap;

use wasm_bindgen::prelude::*;

// The usual gate: lite-alloc on wasm32, where it replaces dlmalloc; on the
// host (`cargo test`) the system's allocator.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lite_alloc::General = lite_alloc::General::new();

/// The `top` most frequent words of `text` (ties in alphabetical order), as
/// `word count` lines.
#[wasm_bindgen]
pub fn top_words(text: &str, top: usize) -> String {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_lowercase()).or_default() += 1;
    }
    let mut ranked: Vec<(String, u32)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked
        .iter()
        .take(top)
        .map(|(word, count)| format!("{word} {count}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first `n` primes, as a `Uint32Array` in JavaScript.
#[wasm_bindgen]
pub fn primes(n: usize) -> Vec<u32> {
    let mut found: Vec<u32> = Vec::new();
    let mut candidate = 2u32;
    while found.len() < n {
        if found
            .iter()
            .take_while(|&&p| p * p <= candidate)
            .all(|&p| !candidate.is_multiple_of(p))
        {
            found.push(candidate);
        }
        candidate += 1;
    }
    found
}

/// A Rust object that JavaScript owns (and frees with `free()`): lines of
/// text, each kept as its own `String`.
#[wasm_bindgen]
pub struct Notes {
    lines: Vec<String>,
}

#[wasm_bindgen]
impl Notes {
    /// No notes.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Notes {
        Notes { lines: Vec::new() }
    }

    /// Adds a line.
    pub fn add(&mut self, line: &str) {
        self.lines.push(line.to_owned());
    }

    /// Bytes of text kept.
    pub fn bytes(&self) -> usize {
        self.lines.iter().map(String::len).sum()
    }

    /// The lines containing `word`, joined with newlines.
    pub fn find(&self, word: &str) -> String {
        self.lines
            .iter()
            .filter(|line| line.contains(word))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Pages of linear memory the module has now (64 KiB each).
#[wasm_bindgen]
pub fn memory_pages() -> usize {
    #[cfg(target_arch = "wasm32")]
    return core::arch::wasm32::memory_size(0);
    #[cfg(not(target_arch = "wasm32"))]
    return 0;
}
