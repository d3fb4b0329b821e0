use lite_alloc::lite_alloc;

#[lite_alloc(memory = arena(4096))]
pub struct MyAlloc;

fn main() {
    // Without the `stats` flag there are no statistics, and no `stats()`.
    let _ = MyAlloc::stats();
}
