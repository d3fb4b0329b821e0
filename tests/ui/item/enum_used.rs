use lite_alloc::lite_alloc;

// Kept as written, for the code that uses its variants: only the
// attribute's error is reported.
#[lite_alloc]
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub enum Kind {
    #[default]
    A,
    B(u8),
}

pub fn value(kind: Kind) -> u8 {
    match kind {
        Kind::A => 0,
        Kind::B(x) => x,
    }
}

pub const K: Kind = Kind::B(3);

fn main() {}
