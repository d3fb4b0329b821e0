//! Recommending a lite-alloc configuration for a program.
//!
//! Record the program's allocations with `lite_alloc::record::Recorder`,
//! then run `cargo run -p lite-alloc-tune -- TRACE`: the tool replays the
//! trace against candidate configurations, each a real `#[lite_alloc]` type,
//! and prints the attribute line to use, with the peak memory, bin hit rate
//! and rounding it predicts, next to `lite_alloc::Default`'s, and why.
//!
//! This library is what the tool and the replay program it generates share:
//! reading traces ([`trace`]) and replaying them ([`replay`]).

pub mod replay;
pub mod trace;
