//! Block sizes and alignments: the alignment a bin carves at, and the large
//! size classes.

use super::MAX_BIN_ALIGN;

/// The alignment at which blocks of a bin of `size` bytes are carved: the
/// largest power of two dividing `size`, capped at [`MAX_BIN_ALIGN`], and never
/// less than a pointer's alignment (a free block holds a pointer).
pub const fn carve_align(size: usize) -> usize {
    let lowest_bit = size & size.wrapping_neg();
    let align = if lowest_bit > MAX_BIN_ALIGN || lowest_bit == 0 {
        MAX_BIN_ALIGN
    } else {
        lowest_bit
    };
    let pointer = align_of::<*mut u8>();
    if align < pointer { pointer } else { align }
}

/// The smallest [`carve_align`] of `bins`: every bin serves requests aligned
/// to at most this.
pub const fn min_carve_align(bins: &[usize]) -> usize {
    let mut min = MAX_BIN_ALIGN;
    let mut i = 0;
    while i < bins.len() {
        let align = carve_align(bins[i]);
        if align < min {
            min = align;
        }
        i += 1;
    }
    min
}

/// The number of large classes above a largest bin of `largest` bytes:
/// four for each power of two from the one below `largest` to the top of
/// the address space.
pub const fn large_classes(largest: usize) -> usize {
    4 * (usize::BITS - log2(largest)) as usize
}

/// The base-2 logarithm of `x` (at least 1), rounded down. Unlike
/// `usize::ilog2`, it has no panic path, which allocator code must not have.
#[inline(always)]
const fn log2(x: usize) -> u32 {
    usize::BITS - 1 - x.leading_zeros()
}

/// The large class serving `size` bytes, above a largest bin of `largest`
/// bytes (`largest < size <= isize::MAX + 1`): its index, below
/// [`large_classes`]`(largest)`, and its size.
///
/// Sizes round up to `m << k` with `m` in `5..=8`: four classes per power of
/// two, so a block is less than a quarter larger than its request.
///
/// ```text
///   request   129..=160  161..=192  193..=224  225..=256  257..=320 ...
///   class        160        192        224        256        320
/// ```
#[inline(always)]
pub const fn large_class(size: usize, largest: usize) -> (usize, usize) {
    // `size - 1 >= largest >= 4`, so `e >= 2` and `e >= log2(largest)`.
    let s = size - 1;
    let e = log2(s);
    let shift = e - 2;
    // The top three bits of `s`: 4..=7.
    let m = s >> shift;
    let index = ((e - log2(largest)) as usize) * 4 + (m - 4);
    // At most `8 << (BITS - 4) = 2^(BITS - 1)`: no overflow.
    (index, (m + 1) << shift)
}
