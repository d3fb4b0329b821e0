//! The `#[lite_alloc]` attribute. Use it through the `lite-alloc` crate, which
//! re-exports it and documents it.
//!
//! The attribute is parsed (`args`), validated into a configuration
//! (`config`), and expanded (`expand`) into the per-type items: the struct, its
//! statics, its size-to-bin lookup and its trait impls. The algorithm itself
//! lives in the runtime crate.

mod args;
mod config;
mod expand;
mod item;

use proc_macro::TokenStream;

/// Turns a unit struct into an allocator type with its own statics.
///
/// ```ignore
/// #[lite_alloc::lite_alloc(bins = [16, 32, 64, 128], page = 65536)]
/// pub struct MyAlloc;
///
/// #[global_allocator]
/// static ALLOC: MyAlloc = MyAlloc::new();
/// ```
///
/// The struct keeps its visibility, doc comments, derives, other attributes
/// and `cfg`s. It gains `const fn new()`, `unsafe fn reset()` (forget every
/// block, for tests and benchmarks), with `stats` a `fn stats()`, all with
/// the struct's visibility, and an `unsafe impl GlobalAlloc`.
///
/// Every argument is optional, in any order:
///
/// | argument | meaning | default |
/// |---|---|---|
/// | `bins = [B0, B1, ...]` | block sizes in bytes, strictly ascending, each at least a pointer; `bins = []` (only with `large = coalesce`): no bins, every block a chunk | `[16, 32, 64, 128]` |
/// | `page = N` | bytes to grow memory by at a time (a multiple of 65536 with wasm memory) | `65536` |
/// | `growth = 1/N` | grow by at least `1/N` of what the allocator already has | off |
/// | `memory = wasm` | the module's linear memory (wasm32 only) | on wasm32 |
/// | `memory = arena(BYTES)` | a static array of `BYTES` bytes (a constant expression) | elsewhere, `lite_alloc::memory::DEFAULT_ARENA_BYTES` |
/// | `memory = some::Path` | your type implementing `lite_alloc::memory::Memory` | |
/// | `sync = spin` | a spin lock (targets with atomic compare-and-swap) | yes |
/// | `sync = critical_section` | the `critical-section` crate (lite-alloc's `critical-section` feature) | |
/// | `sync = none` | no lock: only on wasm32 without the `atomics` feature | |
/// | `realloc` | in-place `realloc` | off |
/// | `large = leak` | blocks over the largest bin (and over-aligned ones) are never reused, as in the documented design | yes |
/// | `large = reuse` | they are reused, in size classes | |
/// | `large = coalesce` | they are chunks with boundary tags, split and merged | |
/// | `stats` | keep statistics | off |
/// | `heap_base` | on `wasm32-unknown-unknown`, use the module's initial free memory first | off |
/// | `crate = path` | where lite-alloc is, when reached through a re-export | `::lite_alloc` |
///
/// On wasm32 without the `atomics` target feature the type is `Sync` with
/// no lock at all, whatever `sync` says. Every invalid input is a compile
/// error on the offending token; checks that depend on the target (a bin
/// smaller than a pointer there, a `page` that is not a whole number of
/// wasm pages) are `const` assertions reported on the same tokens.
#[proc_macro_attribute]
pub fn lite_alloc(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::Item);
    let result = item::unit_struct(&item).and_then(|strukt| {
        let args = syn::parse::<args::Args>(attr)?;
        let config = config::Config::from_args(args)?;
        Ok(expand::allocator(strukt, &config))
    });
    match result {
        Ok(tokens) => tokens.into(),
        Err(error) => expand::stand_in(&item, error).into(),
    }
}
