//! `page` as a constant expression, as `arena(...)` takes. (An arena is
//! handed to the allocator whole, so `page` only has to compile here.)
use core::alloc::{GlobalAlloc, Layout};

const KIB: usize = 1024;

#[lite_alloc::lite_alloc(page = 4 * KIB, memory = arena(64 * KIB), stats)]
struct Stepped;

fn main() {
    let layout = Layout::from_size_align(100, 8).unwrap();
    unsafe {
        let block = Stepped.alloc(layout);
        assert!(!block.is_null());
        assert_eq!(Stepped::stats().obtained, 64 * KIB);
        Stepped.dealloc(block, layout);
    }
}

// Literals through `macro_rules!` fragments (which wrap them in invisible
// groups) are still literals, checked as such.
macro_rules! stepped {
    ($name:ident, $page:literal, [$($bin:literal),*]) => {
        #[lite_alloc::lite_alloc(page = $page, bins = [$($bin),*], memory = arena(65536))]
        #[allow(dead_code)]
        struct $name;
    };
}
stepped!(FromMacro, 8192, [16, 48]);
