//! Every argument at once, in an unusual order, trailing comma included.
use lite_alloc::lite_alloc;

#[lite_alloc(stats, check, large = coalesce, realloc, sync = spin, growth = 1/8, heap_base, page = 65536, bins = [16, 32, 64, 128],)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

fn main() {
    let mut s = String::new();
    for i in 0..100 {
        s.push_str(&i.to_string());
    }
    assert!(s.starts_with("0123"));
    let stats = MyAlloc::stats();
    assert!(stats.in_use > 0 && stats.obtained > 0);
    assert_eq!(MyAlloc::checks().misuses, 0);
}
