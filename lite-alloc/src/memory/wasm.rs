//! `memory = wasm`: the module's linear memory, grown with `memory.grow`; with
//! `heap_base`, first the free memory the module starts with.

/// Bytes in one WebAssembly page.
pub const WASM_PAGE: usize = 65536;

/// Grows the wasm module's linear memory (memory index 0) with `memory.grow`.
///
/// Other code may grow the same memory too; every region this source returns
/// is the range of pages that one `memory.grow` of ours added, and the heap
/// never assumes it continues an earlier one unless it really starts where the
/// earlier one ended.
///
/// With threads (the `atomics` target feature), each call into the
/// allocator first makes the calling thread's instance see every page of
/// the heap's memory (whatever its source). V8 keeps in each instance the
/// memory size it last saw, and a thread that spun in a loop while another
/// grew the memory may keep the old one: its `memory.copy` and
/// `memory.fill` then trap on the new pages (plain loads and stores do
/// not), as the allocator's own copies and clears would for a thread that
/// waited for the lock while the thread holding it grew the memory. Every
/// block a thread gets from the allocator lies in pages it then sees; one
/// handed over by another thread may not, until its next call into the
/// allocator.
#[derive(Debug)]
pub struct Wasm {
    _private: (),
}

/// Like [`Wasm`], but the first region is the free memory the module already
/// has: from `__heap_base` (where the linker put the end of the stack and the
/// static data) to `__heap_end` (the end of the memory the module starts
/// with), as dlmalloc 0.2.14 does. The module's first `memory.grow` comes
/// only when that is used up, so a small program may never grow memory.
///
/// `__heap_base` and `__heap_end` are defined by the wasm linker on
/// `wasm32-unknown-unknown`. On other wasm targets (WASI, Emscripten) the C
/// library's `malloc` owns that memory, so this source takes none of it and
/// behaves exactly like [`Wasm`].
///
/// The initial memory is handed out at most once per module: if several
/// lite-alloc types in one module use `heap_base`, only the first to
/// allocate gets it. Another allocator in the module that also takes it
/// (dlmalloc 0.2.14 or later, if it is the global allocator while a lite-alloc
/// type serves elsewhere) would overlap: use `heap_base` for the global
/// allocator.
#[derive(Debug)]
pub struct WasmHeapBase {
    _private: (),
}

/// `memory.grow` by whole pages; the new pages as a region.
#[cfg(target_arch = "wasm32")]
#[inline]
fn grow_pages(bytes: usize) -> Option<core::ptr::NonNull<[u8]>> {
    // The heap asks for whole pages (`GRANULE`), at most a quarter of the
    // address space: no overflow (`div_ceil` would guard against one in
    // code).
    #[allow(clippy::manual_div_ceil)]
    let pages = (bytes + (WASM_PAGE - 1)) / WASM_PAGE;
    let old_pages = core::arch::wasm32::memory_grow(0, pages);
    // `usize::MAX` is failure; 0 old pages would put the region at address 0
    // (a memory that started empty): refused too, as a null block cannot be
    // handed out. One comparison tests both.
    if old_pages.wrapping_add(1) < 2 {
        return None;
    }
    // The grow succeeded, so `old_pages + pages <= 65536`: the shifts do not
    // overflow (`pages < 65536`, as `old_pages >= 1`), and the start is not
    // null.
    let start = core::ptr::with_exposed_provenance_mut(old_pages << 16);
    // SAFETY: `old_pages` is at least 1.
    let start = unsafe { core::ptr::NonNull::new_unchecked(start) };
    Some(core::ptr::NonNull::slice_from_raw_parts(start, pages << 16))
}

/// Where linear memory ends, as this instance sees it (`memory.size`), in
/// 64 bits: a memory of 65536 pages ends at 2^32.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn memory_end() -> u64 {
    (core::arch::wasm32::memory_size(0) as u64) << 16
}

/// Whether the `len` bytes at `addr` lie in linear memory, one allocated
/// object (`Memory::holds`).
#[cfg(target_arch = "wasm32")]
#[inline]
fn in_memory(addr: usize, len: usize) -> Option<bool> {
    Some(addr as u64 + len as u64 <= memory_end())
}

/// Makes this thread's instance of the module see linear memory up to
/// `end` (an address the heap's memory reaches), if it does not already:
/// for wasm32 with threads, called with a heap's lock held before the heap
/// touches memory.
///
/// V8 (as in Node 20 and Deno 2.9) keeps in each instance the memory size
/// it last saw. When another thread grows a shared memory, a plain load or
/// store of the new pages works at once, but `memory.copy` and
/// `memory.fill` check their bounds against that kept size (and
/// `memory.size` returns it) until the engine refreshes it, which entering
/// a function was seen to do every time and a loop, such as a spin lock's,
/// mostly not: a `realloc` that waited for the lock while the thread
/// holding it grew the memory traps when it copies into the new pages.
/// `memory.grow` by no pages refreshes the kept size. It is a call into
/// the runtime, so it is made only when `memory.size` is below `end`: on
/// an engine whose size is always current, never.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
#[inline(always)]
pub(crate) fn see_up_to(end: usize) {
    if memory_end() < end as u64 {
        core::arch::wasm32::memory_grow(0, 0);
    }
}

/// The pointer to `addr` in linear memory. Linear memory is one allocated
/// object whose pages `grow` exposed (its regions' pointers come from
/// integers): an address in it needs no pointer to derive from, and the heap
/// skips the arithmetic of deriving one.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn in_linear_memory(addr: usize) -> *mut u8 {
    core::ptr::with_exposed_provenance_mut(addr)
}

#[cfg(target_arch = "wasm32")]
// SAFETY: `memory.grow` adds fresh, zeroed pages that no one else has seen;
// they lie in linear memory (one allocated object, all exposed).
unsafe impl super::Memory for Wasm {
    const INIT: Self = Wasm { _private: () };
    const GRANULE: usize = WASM_PAGE;
    const ZEROED: bool = true;

    #[inline]
    fn grow(&mut self, bytes: usize) -> Option<core::ptr::NonNull<[u8]>> {
        grow_pages(bytes)
    }

    #[inline(always)]
    fn provenance(&self, _: *mut u8, addr: usize) -> *mut u8 {
        in_linear_memory(addr)
    }

    fn holds(&self, addr: usize, len: usize) -> Option<bool> {
        in_memory(addr, len)
    }
}

#[cfg(target_arch = "wasm32")]
// SAFETY: as for `Wasm`; the initial region lies between the module's data
// and the end of its initial memory, which nothing else uses (see the type's
// documentation), is handed out once, and reads as zero until then.
unsafe impl super::Memory for WasmHeapBase {
    const INIT: Self = WasmHeapBase { _private: () };
    const GRANULE: usize = WASM_PAGE;
    const ZEROED: bool = true;

    #[inline]
    fn grow(&mut self, bytes: usize) -> Option<core::ptr::NonNull<[u8]>> {
        #[cfg(target_os = "unknown")]
        if let Some(region) = initial::take() {
            return Some(region);
        }
        grow_pages(bytes)
    }

    #[inline(always)]
    fn provenance(&self, _: *mut u8, addr: usize) -> *mut u8 {
        in_linear_memory(addr)
    }

    fn holds(&self, addr: usize, len: usize) -> Option<bool> {
        in_memory(addr, len)
    }
}

/// The free memory a `wasm32-unknown-unknown` module starts with.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod initial {
    use core::ptr::NonNull;
    use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

    // SAFETY: both are symbols the wasm linker defines; only their addresses
    // are used.
    unsafe extern "C" {
        static __heap_base: u8;
        static __heap_end: u8;
    }

    /// Whether the initial memory was handed out (once per module).
    static TAKEN: AtomicBool = AtomicBool::new(false);

    /// `[__heap_base, __heap_end)` aligned to 16, the first time it is asked
    /// for and if it is not empty.
    #[cold]
    pub(super) fn take() -> Option<NonNull<[u8]>> {
        if TAKEN.swap(true, Relaxed) {
            return None;
        }
        let base = (&raw const __heap_base).addr();
        let end = (&raw const __heap_end).addr();
        let start = base.checked_add(15)? & !15;
        if start >= end {
            return None;
        }
        let start = NonNull::new(core::ptr::with_exposed_provenance_mut(start))?;
        Some(NonNull::slice_from_raw_parts(
            start,
            end - start.addr().get(),
        ))
    }
}
