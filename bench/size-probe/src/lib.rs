//! The size probe: with an allocator feature, the module exports
//! `probe_alloc`, `probe_dealloc` and `probe_realloc`, which call the global
//! allocator; without one it is empty, and its size is the baseline that
//! `scripts/size.sh` subtracts.
#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(any(feature = "default-alloc", feature = "default-realloc"))]
#[global_allocator]
static ALLOC: lite_alloc::Default = lite_alloc::Default::new();

#[cfg(any(feature = "published", feature = "published-realloc"))]
#[global_allocator]
static ALLOC: lite_alloc_published::single_threaded::SegregatedBumpAllocator =
    lite_alloc_published::single_threaded::SegregatedBumpAllocator::new();

#[cfg(any(
    feature = "default-alloc",
    feature = "default-realloc",
    feature = "published",
    feature = "published-realloc"
))]
mod exports {
    extern crate alloc;
    use core::alloc::Layout;

    #[unsafe(no_mangle)]
    unsafe extern "C" fn probe_alloc(size: usize, align: usize) -> *mut u8 {
        // SAFETY: the caller passes a valid layout.
        unsafe { alloc::alloc::alloc(Layout::from_size_align_unchecked(size, align)) }
    }

    #[unsafe(no_mangle)]
    unsafe extern "C" fn probe_dealloc(ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: the caller passes a block of this allocator and its layout.
        unsafe { alloc::alloc::dealloc(ptr, Layout::from_size_align_unchecked(size, align)) }
    }

    #[unsafe(no_mangle)]
    unsafe extern "C" fn probe_realloc(ptr: *mut u8, size: usize, align: usize, new_size: usize) -> *mut u8 {
        // SAFETY: as above, and a valid new size.
        unsafe { alloc::alloc::realloc(ptr, Layout::from_size_align_unchecked(size, align), new_size) }
    }
}
