use lite_alloc::lite_alloc;

const SMALL: usize = 16;

#[lite_alloc(bins = [SMALL, 32, 64])]
pub struct MyAlloc;

fn main() {}
