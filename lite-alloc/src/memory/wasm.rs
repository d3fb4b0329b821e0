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

    #[inline]
    fn grow(&mut self, bytes: usize) -> Option<core::ptr::NonNull<u8>> {
        let old_pages = core::arch::wasm32::memory_grow(0, bytes.div_ceil(WASM_PAGE));
        if old_pages == usize::MAX {
            return None;
        }
        // Below 65536 pages, so the shift does not overflow; not null, since
        // a Rust program's memory (which holds its stack) is never empty.
        core::ptr::NonNull::new(core::ptr::with_exposed_provenance_mut(old_pages << 16))
    }
}
