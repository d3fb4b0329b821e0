//! `large = reuse`: a freed large block serves the next request of its class.
use core::alloc::{GlobalAlloc, Layout};
use lite_alloc::lite_alloc;

#[lite_alloc(large = reuse, memory = arena(1 << 20))]
pub struct Reusing;

#[lite_alloc(large = leak, memory = arena(1 << 20))]
pub struct Leaking;

fn main() {
    let layout = Layout::from_size_align(1000, 8).unwrap();
    unsafe {
        let a = Reusing.alloc(layout);
        let _keep = Reusing.alloc(layout);
        Reusing.dealloc(a, layout);
        assert_eq!(Reusing.alloc(layout), a);

        let b = Leaking.alloc(layout);
        let _keep = Leaking.alloc(layout);
        Leaking.dealloc(b, layout);
        assert_ne!(Leaking.alloc(layout), b);
    }
}
