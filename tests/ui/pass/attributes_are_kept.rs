//! Doc comments, derives, `cfg`s and visibility of the struct are kept.
mod allocators {
    use lite_alloc::lite_alloc;

    /// Documented.
    #[lite_alloc(memory = arena(65536))]
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub(crate) struct Visible;

    /// Compiled out entirely: nothing generated for it may remain.
    #[cfg(any())]
    #[lite_alloc]
    pub struct Gone;

    #[cfg(all())]
    #[lite_alloc(memory = arena(65536))]
    pub struct Present;
}

fn main() {
    use std::alloc::{GlobalAlloc, Layout};
    let a = allocators::Visible::new();
    assert_eq!(a, a.clone());
    assert_eq!(format!("{a:?}"), "Visible");
    let p = unsafe { allocators::Present::new().alloc(Layout::new::<u64>()) };
    assert!(!p.is_null());
}
