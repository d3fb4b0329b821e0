use lite_alloc::lite_alloc;

#[lite_alloc]
pub fn my_alloc() -> usize {
    0
}

fn main() {}
