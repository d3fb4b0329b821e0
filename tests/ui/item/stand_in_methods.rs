use lite_alloc::lite_alloc;

// One mistake in the attribute (`page = 0`): the code that uses the
// type's `verify`, `stats`, `checks` and `claim` should report nothing
// of its own.
#[lite_alloc(stats, check, memory = claimed, page = 0)]
pub struct MyAlloc;

#[global_allocator]
static ALLOC: MyAlloc = MyAlloc::new();

static mut RAM: [u8; 4096] = [0; 4096];

fn main() {
    unsafe { ALLOC.claim((&raw mut RAM).cast(), 4096) };
    MyAlloc::verify();
    println!("{}", MyAlloc::stats());
    let _ = MyAlloc::checks();
}
