//! What becomes of blocks no bin serves: `large = reuse` (size classes) and
//! `large = coalesce` (chunks with boundary tags); without either, they are
//! never reused.

pub(super) mod chunks;
mod reuse;
