use lite_alloc::lite_alloc;

#[lite_alloc(memory = arena(4096))]
pub struct MyAlloc;

fn main() {
    // Without the `check` flag there is no checked mode, and no `checks()`.
    let _ = MyAlloc::checks();
}
