use lite_alloc::lite_alloc;

// Kept as written, with its own `new`, and given a stand-in `GlobalAlloc`:
// only the attribute's error is reported.
#[lite_alloc]
pub struct MyAlloc {
    heap: [u8; 16],
}

impl MyAlloc {
    pub const fn new() -> Self {
        MyAlloc { heap: [0; 16] }
    }

    pub fn first(&self) -> u8 {
        self.heap[0]
    }
}

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {}
