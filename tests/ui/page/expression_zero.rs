use lite_alloc::lite_alloc;

const STEP: usize = 0;

#[lite_alloc(page = STEP * 1024, memory = arena(65536))]
pub struct MyAlloc;

fn main() {
    let _ = MyAlloc::new();
}
