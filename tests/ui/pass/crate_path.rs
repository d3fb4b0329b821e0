//! `crate = path` for code that reaches lite-alloc through a re-export.
mod reexport {
    pub use lite_alloc;
}

#[reexport::lite_alloc::lite_alloc(crate = reexport::lite_alloc, memory = arena(65536))]
pub struct MyAlloc;

fn main() {
    use std::alloc::{GlobalAlloc, Layout};
    let p = unsafe { MyAlloc::new().alloc(Layout::new::<u32>()) };
    assert!(!p.is_null());
}
