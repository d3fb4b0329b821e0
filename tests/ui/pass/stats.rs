//! `stats`: `MyAlloc::stats()`, with the type's visibility.
use core::alloc::{GlobalAlloc, Layout};

mod inner {
    #[lite_alloc::lite_alloc(stats, memory = arena(65536))]
    pub(crate) struct Counted;
}

fn main() {
    let layout = Layout::from_size_align(10, 1).unwrap();
    unsafe {
        let block = inner::Counted.alloc(layout);
        let stats: lite_alloc::Stats = inner::Counted::stats();
        assert_eq!(stats.in_use, 10);
        assert_eq!(stats.bin(16).unwrap().misses, 1);
        inner::Counted.dealloc(block, layout);
    }
    println!("{:?}", inner::Counted::stats());
}
