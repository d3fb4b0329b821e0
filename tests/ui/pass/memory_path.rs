//! A memory source of the user's own, named by a path.
use core::ptr::NonNull;

use lite_alloc::lite_alloc;
use lite_alloc::memory::Memory;

mod board {
    use super::*;

    static mut RESERVED: [u8; 1 << 20] = [0; 1 << 20];

    /// Hands over one reserved region, once.
    pub struct Reserved {
        given: bool,
    }

    // SAFETY: the region is handed out once and nothing else uses it.
    unsafe impl Memory for Reserved {
        const INIT: Self = Reserved { given: false };
        fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
            if self.given || bytes > 1 << 20 {
                return None;
            }
            self.given = true;
            let start = NonNull::new((&raw mut RESERVED).cast::<u8>())?;
            Some(NonNull::slice_from_raw_parts(start, 1 << 20))
        }
    }
}

#[lite_alloc(memory = board::Reserved)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {
    assert_eq!(vec![3u16; 4].iter().sum::<u16>(), 12);
}
