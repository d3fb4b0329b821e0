use lite_alloc::lite_alloc;

#[lite_alloc]
pub enum MyAlloc {
    A,
}

fn main() {}
