//! `lite_alloc::Default` as the global allocator.
#[global_allocator]
static ALLOC: lite_alloc::Default = lite_alloc::Default::new();

fn main() {
    let v = vec![String::from("a"); 3];
    assert_eq!(v.concat(), "aaa");
}
