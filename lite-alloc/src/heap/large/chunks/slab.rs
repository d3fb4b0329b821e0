//! Bins in front of chunks: bin blocks are carved from slabs, chunks in use
//! for good, so that every chunk's neighbours are chunks with headers.

use core::ptr::{self, NonNull, null_mut};

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
    /// Whether every bin's blocks are a multiple of `GRAIN` and carved at
    /// most `GRAIN`-aligned: a slab's payload is `GRAIN`-aligned, so every
    /// block is then carved where the last one ended, without padding.
    const UNPADDED: bool = {
        let mut i = 0;
        let mut unpadded = true;
        while i < N {
            let size = C::BINS[i];
            unpadded &= size % GRAIN == 0 && Self::carve_align_of(size) <= GRAIN;
            i += 1;
        }
        unpadded
    };

    /// The bytes to skip from `next` for a block aligned to `align`.
    #[inline(always)]
    fn slab_pad(next: *mut u8, align: usize) -> usize {
        if Self::UNPADDED {
            debug_assert!(next.addr().is_multiple_of(align), "an unaligned slab");
            0
        } else {
            next.addr().wrapping_neg() & (align - 1)
        }
    }

    /// Carves a block of `size` bytes aligned to `align` (at most
    /// `MAX_BIN_ALIGN`) from the current slab, taking a new slab when it is
    /// too small. Its first `zero` bytes read as zero.
    pub(super) fn slab_carve(&mut self, size: usize, align: usize, zero: usize) -> *mut u8 {
        let slab = &self.large.slab;
        // Before the first slab, `next` is null and `end` 0: no room.
        let pad = Self::slab_pad(slab.next, align);
        if pad + size > slab.end - slab.next.addr() {
            // A slab's payload is only `GRAIN`-aligned: one for a block
            // aligned to more (16 on 32-bit targets, where `GRAIN` is 8)
            // must hold the block after the largest padding it may need.
            // No overflow: bins are at most a quarter of the address space.
            let need = size + ((align - 1) & !(GRAIN - 1));
            let mut want = chunk_size(if need > SLAB { need } else { SLAB });
            let mut payload = self
                .chunk_alloc(want, 0)
                .map_or(null_mut(), NonNull::as_ptr);
            if payload.is_null() {
                // Memory short of a whole slab (a small arena, the last
                // bytes of a wasm memory): a slab of just this block, so
                // that bins are served as long as a chunk of their size is.
                let least = chunk_size(need);
                if least == want {
                    return payload;
                }
                want = least;
                payload = self
                    .chunk_alloc(want, 0)
                    .map_or(null_mut(), NonNull::as_ptr);
                if payload.is_null() {
                    return payload;
                }
            }
            // The payload, up to the next chunk's header. Blocks carved from
            // a chunk that was used before are cleared below.
            self.large.slab = Slab {
                next: payload,
                end: payload.addr() + want - WORD,
            };
            #[cfg(debug_assertions)]
            self.large.slabs.taken(payload.addr(), self.large.slab.end);
        }
        let slab = &mut self.large.slab;
        let pad = Self::slab_pad(slab.next, align);
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

/// Every slab taken, kept in builds with debug assertions so that `check`
/// can tell that a bin's free block lies wholly inside one.
#[cfg(debug_assertions)]
pub struct SlabLog {
    /// Each slab's `[start, end)`.
    slabs: [(usize, usize); KEPT],
    /// Slabs taken so far.
    taken: usize,
}

/// The slabs kept: the first, when there were more (the check is then left
/// out).
#[cfg(debug_assertions)]
const KEPT: usize = 256;

#[cfg(debug_assertions)]
impl SlabLog {
    /// No slab yet.
    pub const EMPTY: Self = Self {
        slabs: [(0, 0); KEPT],
        taken: 0,
    };

    /// The slab `[start, end)` was taken.
    fn taken(&mut self, start: usize, end: usize) {
        if let Some(slot) = self.slabs.get_mut(self.taken) {
            *slot = (start, end);
        }
        self.taken += 1;
    }

    /// Each slab kept, `[start, end)`: its payload, up to the next
    /// chunk's header.
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.slabs[..self.taken.min(KEPT)].iter().copied()
    }

    /// Whether `[address, address + size)` lies inside one slab; `None`
    /// when not every slab is kept.
    pub fn holds(&self, address: usize, size: usize) -> Option<bool> {
        (self.taken <= KEPT).then(|| {
            self.slabs[..self.taken].iter().any(|&(start, end)| {
                start <= address && address.checked_add(size).is_some_and(|e| e <= end)
            })
        })
    }
}
