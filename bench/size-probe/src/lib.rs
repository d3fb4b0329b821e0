//! The size probe. With the `exports` feature the module exports
//! `probe_alloc`, `probe_dealloc` and `probe_realloc`, which call the global
//! allocator; without it the module is empty, and its size is the baseline
//! that the benchmark subtracts. The global allocator is chosen by the
//! features of `lite-alloc-bench-allocators`.

// Links the crate that declares the global allocator.
use lite_alloc_bench_allocators as _;

#[cfg(feature = "exports")]
mod exports {
    use std::alloc::Layout;

    /// `alloc` through the global allocator.
    ///
    /// # Safety
    ///
    /// `size` and `align` make a valid, non-zero-sized layout.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn probe_alloc(size: usize, align: usize) -> *mut u8 {
        // SAFETY: the caller passes a valid layout.
        unsafe { std::alloc::alloc(Layout::from_size_align_unchecked(size, align)) }
    }

    /// `dealloc` through the global allocator.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of the global allocator allocated with this
    /// layout.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn probe_dealloc(ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { std::alloc::dealloc(ptr, Layout::from_size_align_unchecked(size, align)) }
    }

    /// `realloc` through the global allocator.
    ///
    /// # Safety
    ///
    /// As for `probe_dealloc`, and `new_size` is valid for the alignment.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn probe_realloc(
        ptr: *mut u8,
        size: usize,
        align: usize,
        new_size: usize,
    ) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe {
            std::alloc::realloc(
                ptr,
                Layout::from_size_align_unchecked(size, align),
                new_size,
            )
        }
    }
}
