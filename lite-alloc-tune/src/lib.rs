//! Recommending a lite-alloc configuration for a program.
//!
//! Record the program's allocations with `lite_alloc::record::Recorder`,
//! then run `lite-alloc-tune TRACE`: the tool replays the trace on
//! `wasm32-wasip1` under Node.js against candidate configurations, each the
//! real allocator, and against dlmalloc, and prints the attribute line to
//! use (or the ready-made type), with the peak memory it predicts next to
//! dlmalloc's, `lite_alloc::General`'s and `lite_alloc::Default`'s, and why.
//! See the README for recording under WASI.
//!
//! This library reads traces ([`trace`]), for tools of your own.

pub mod trace;
