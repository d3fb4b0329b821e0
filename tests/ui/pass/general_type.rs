//! `lite_alloc::General` as the global allocator.
#[global_allocator]
static ALLOC: lite_alloc::General = lite_alloc::General::new();

fn main() {
    let v = vec![String::from("a"); 3];
    assert_eq!(v.concat(), "aaa");
}
