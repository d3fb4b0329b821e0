//! Bins in front of chunks: bin blocks are carved from slabs, chunks in use
//! for good, so that every chunk's neighbours are chunks with headers.

use core::ptr::{self, null_mut};

use super::super::super::{Config, Heap};
use super::Chunks;
use super::tag::{GRAIN, WORD, chunk_size};

/// Bytes of a slab, from which bins carve their blocks (more for a bin
/// larger than that).
const SLAB: usize = 8 * 1024;

/// Where bins carve next: `[next, end)` of the current slab (null and 0
/// before the first).
pub struct Slab {
    pub(super) next: *mut u8,
    pub(super) end: usize,
}

impl Slab {
    /// No slab yet.
    pub const EMPTY: Self = Self {
        next: null_mut(),
        end: 0,
    };
}

impl<C: Config<N, Large = Chunks>, const N: usize> Heap<C, N> {
    /// Carves a block of `size` bytes aligned to `align` (at most
    /// `MAX_BIN_ALIGN`) from the current slab, taking a new slab when it is
    /// too small. Its first `zero` bytes read as zero.
    pub(super) fn slab_carve(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
        let slab = &self.large.slab;
        let pad = slab.next.addr().wrapping_neg() & (align - 1);
        if slab.next.is_null() || pad + size > slab.end - slab.next.addr() {
            // A slab's payload is only `GRAIN`-aligned: one for a block
            // aligned to more (16 on 32-bit targets, where `GRAIN` is 8)
            // must hold the block after the largest padding it may need.
            // No overflow: bins are at most a quarter of the address space.
            let need = size + ((align - 1) & !(GRAIN - 1));
            let want = chunk_size(if need > SLAB { need } else { SLAB });
            let payload = self.chunk_alloc(want, 0);
            if payload.is_null() {
                return payload;
            }
            // The payload, up to the next chunk's header. Blocks carved from
            // a chunk that was used before are cleared below.
            self.large.slab = Slab {
                next: payload,
                end: payload.addr() + want - WORD,
            };
        }
        let slab = &mut self.large.slab;
        let pad = slab.next.addr().wrapping_neg() & (align - 1);
        let block = slab.next.wrapping_add(pad);
        debug_assert!(block.addr() + size <= slab.end, "a bin block past its slab");
        slab.next = block.wrapping_add(size);
        // A slab may come from memory used before: clear what is asked to be
        // zero (bins are small).
        // SAFETY: the block was just carved from the slab, `size >= zero`.
        unsafe { ptr::write_bytes(block, 0, zero) };
        block
    }
}
