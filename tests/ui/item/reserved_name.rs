use lite_alloc::lite_alloc;

// The generated items, in a block with the type's impls, would shadow it.
#[lite_alloc(memory = arena(4096))]
pub struct __LiteAllocConfig;

fn main() {
    let _ = __LiteAllocConfig::new();
}
