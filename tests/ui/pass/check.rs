//! `check`: the checked mode, `checks()` with the type's visibility, and a
//! misuse reported to a hook that returns.
use core::alloc::{GlobalAlloc, Layout};

mod inner {
    #[lite_alloc::lite_alloc(check, large = reuse, memory = arena(65536))]
    pub(crate) struct Checked;
}

fn main() {
    lite_alloc::check::set_hook(|misuse| {
        assert_eq!(misuse.kind, lite_alloc::check::Kind::WrongLayout);
        assert!(misuse.allocator.ends_with("::inner::Checked"), "{}", misuse.allocator);
    });
    let layout = Layout::from_size_align(10, 1).unwrap();
    unsafe {
        let block = inner::Checked.alloc(layout);
        inner::Checked.dealloc(block, Layout::from_size_align(11, 1).unwrap());
        inner::Checked.dealloc(block, layout);
    }
    inner::Checked::verify();
    let checks: lite_alloc::check::Checks = inner::Checked::checks();
    assert_eq!((checks.live_blocks, checks.quarantined_blocks, checks.misuses), (0, 1, 1));
}
