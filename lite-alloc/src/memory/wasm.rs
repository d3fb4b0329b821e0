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
// SAFETY: `memory.grow` adds fresh pages that no one else has seen, at least
// `bytes` of them; they lie in linear memory (one allocated object, all
// exposed).
unsafe impl super::Memory for Wasm {
    const INIT: Self = Wasm { _private: () };
    const GRANULE: usize = WASM_PAGE;

    #[inline]
    fn grow(&mut self, bytes: usize) -> Option<core::ptr::NonNull<u8>> {
        // The heap asks for whole pages (`GRANULE`), at most a quarter of
        // the address space: no overflow (`div_ceil` would guard against one
        // in code).
        #[allow(clippy::manual_div_ceil)]
        let old_pages = core::arch::wasm32::memory_grow(0, (bytes + (WASM_PAGE - 1)) / WASM_PAGE);
        // `usize::MAX` is failure; 0 old pages would put the region at
        // address 0 (a memory that started empty): refused too, as a null
        // block cannot be handed out. One comparison tests both.
        if old_pages.wrapping_add(1) < 2 {
            return None;
        }
        // Below 65536 pages, so the shift does not overflow, and not null.
        let start = core::ptr::with_exposed_provenance_mut(old_pages << 16);
        // SAFETY: `old_pages` is at least 1.
        Some(unsafe { core::ptr::NonNull::new_unchecked(start) })
    }
}
