use lite_alloc::lite_alloc;

#[lite_alloc]
pub struct MyAlloc {
    heap: [u8; 16],
}

fn main() {}
