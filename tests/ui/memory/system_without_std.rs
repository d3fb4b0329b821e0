use lite_alloc::lite_alloc;

// lite-alloc's `std` feature is off here.
#[lite_alloc(memory = system)]
pub struct MyAlloc;

fn main() {}
