//! `memory = wasm`: the module's linear memory, grown with `memory.grow`.

/// Bytes in one WebAssembly page.
pub const WASM_PAGE: usize = 65536;

/// Grows the wasm module's linear memory (memory index 0) with `memory.grow`.
///
/// Other code may grow the same memory too; every region this source returns
/// is the range of pages that one `memory.grow` of ours added, and the heap
/// never assumes it continues an earlier one unless it really starts where the
/// earlier one ended.
#[derive(Debug)]
pub struct Wasm {
    _private: (),
}

#[cfg(target_arch = "wasm32")]
// SAFETY: `memory.grow` adds fresh pages that no one else has seen; the range
// it returns lies in linear memory (one allocated object, all exposed), and its
// end is clamped so that `start + len` does not pass `usize::MAX`.
unsafe impl super::Memory for Wasm {
    const INIT: Self = Wasm { _private: () };

    #[inline]
    fn grow(&mut self, min: usize) -> Option<super::Region> {
        let pages = min.div_ceil(WASM_PAGE);
        let old_pages = core::arch::wasm32::memory_grow(0, pages);
        if old_pages == usize::MAX {
            return None;
        }
        // The first added byte is below 4 GiB, so it fits; it is not zero,
        // because `memory.grow` only returns 0 old pages for an empty memory,
        // which a Rust program (whose stack is in memory) never has.
        let start = old_pages.checked_mul(WASM_PAGE)?;
        // `pages * WASM_PAGE` can be 4 GiB; give up the very last byte rather
        // than wrap.
        let len = pages.saturating_mul(WASM_PAGE).min(usize::MAX - start);
        let start = core::ptr::NonNull::new(core::ptr::with_exposed_provenance_mut(start))?;
        Some(super::Region { start, len })
    }
}
