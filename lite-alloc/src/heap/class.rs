//! Block sizes and alignments: the alignment a bin carves at, and the one
//! grid of size classes that both `large = reuse` (its classes) and
//! `large = coalesce` (its free lists) are built on.

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

/// The alignment of a block no bin serves, for a request aligned to
/// `align`: at least [`MAX_BIN_ALIGN`], as every bin's blocks guarantee.
#[inline(always)]
pub const fn large_align(align: usize) -> usize {
    if align > MAX_BIN_ALIGN {
        align
    } else {
        MAX_BIN_ALIGN
    }
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

/// The base-2 logarithm of `x` (at least 1), rounded down. Unlike
/// `usize::ilog2`, it has no panic path, which allocator code must not have.
#[inline(always)]
pub const fn log2(x: usize) -> u32 {
    usize::BITS - 1 - x.leading_zeros()
}

/// The grid of size classes: four per power of two. Class `4 * e + (m - 4)`
/// (`e >= 2`, `m` in `4..=7`) holds the sizes from `m << (e - 2)` up to, not
/// including, `(m + 1) << (e - 2)`:
///
/// ```text
///   sizes   16..=19  20..=23  24..=27  28..=31  32..=39  40..=47 ...  128..=159 ...
///   class     16       17       18       19       20       21    ...     28     ...
/// ```
///
/// The class holding `x` (`x >= 4`): its index, and the first size of the
/// next class (at most `2^BITS`, which wraps to 0 only for `x >= 7 << (BITS
/// - 3)`, beyond any block: callers pass at most `isize::MAX`).
#[inline(always)]
pub const fn class_of(x: usize) -> (usize, usize) {
    let e = log2(x);
    let shift = e - 2;
    // The top three bits of `x`: 4..=7.
    let m = x >> shift;
    (4 * e as usize + (m - 4), (m + 1) << shift)
}

/// The number of large classes above a largest bin of `largest` bytes:
/// four for each power of two from the one below `largest` to the top of
/// the address space.
pub const fn large_classes(largest: usize) -> usize {
    4 * (usize::BITS - log2(largest)) as usize
}

/// The large class serving `size` bytes, above a largest bin of `largest`
/// bytes (`largest < size <= isize::MAX + 1`): its index, below
/// [`large_classes`]`(largest)`, and its size. A request takes the class
/// `class_of` puts `size - 1` in, and the class's size is the first size
/// of the next, so a block is less than a quarter larger than its request:
///
/// ```text
///   request   129..=160  161..=192  193..=224  225..=256  257..=320 ...
///   size         160        192        224        256        320
/// ```
#[inline(always)]
pub const fn large_class(size: usize, largest: usize) -> (usize, usize) {
    // `size - 1 >= largest >= 4`, so the class of `size - 1` is at least
    // the class of `largest`, whose index is `4 * log2(largest)` or more;
    // the size is at most `8 << (BITS - 4) = 2^(BITS - 1)`: no overflow.
    let (class, next) = class_of(size - 1);
    (class - 4 * log2(largest) as usize, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_tile_the_sizes() {
        // Every size from 4 to 2^20 is in exactly one class, classes are
        // consecutive, and each starts where the one before ends.
        let (mut class, mut next) = class_of(4);
        assert_eq!((class, next), (8, 5));
        for x in 5..=1 << 20 {
            let (c, n) = class_of(x);
            if x == next {
                assert_eq!(c, class + 1, "size {x} starts class {}", class + 1);
                assert!(n > next);
                (class, next) = (c, n);
            } else {
                assert_eq!((c, n), (class, next), "size {x}");
            }
        }
        // The first size of every class is `m << k` with `m` in 4..=7.
        for e in 2..usize::BITS {
            for m in 4..8usize {
                let first = m << (e - 2);
                let (c, _) = class_of(first);
                assert_eq!(c, 4 * e as usize + m - 4);
                if first > 4 {
                    assert_eq!(class_of(first - 1).0 + 1, c, "{first} starts a class");
                }
            }
        }
        // The largest size a block can have (`isize::MAX + 1` rounded to
        // its class) does not overflow.
        let (c, n) = class_of(isize::MAX as usize);
        assert_eq!(c, 4 * (usize::BITS as usize - 2) + 3);
        assert_eq!(n, 1 << (usize::BITS - 1));
    }

    #[test]
    fn large_classes_round_up_by_less_than_a_quarter() {
        for largest in [4usize, 8, 16, 24, 100, 128, 4096, 65536, 1 << 29] {
            let classes = large_classes(largest);
            let mut previous = (0, 0);
            for size in largest + 1..largest + 5000 {
                // Consecutive sizes: classes and their sizes ascend.
                let (index, capacity) = large_class(size, largest);
                assert!(
                    index >= previous.0 && capacity >= previous.1,
                    "{size} over {largest}"
                );
                previous = (index, capacity);
            }
            let sizes = (largest + 1..largest + 5000)
                .chain([isize::MAX as usize, isize::MAX as usize + 1])
                .chain(
                    (0..usize::BITS - 2)
                        .map(|k| largest << k)
                        .filter(|&s| s > largest),
                );
            for size in sizes {
                let (index, capacity) = large_class(size, largest);
                assert!(
                    index < classes,
                    "{size} over {largest}: class {index} of {classes}"
                );
                assert!(capacity >= size, "{size} over {largest}: {capacity}");
                assert!(capacity - size < size / 4 + 1, "{size}: {capacity}");
                // The class's own size maps to the same class.
                assert_eq!(large_class(capacity, largest), (index, capacity));
            }
        }
    }

    #[test]
    fn carve_alignment() {
        assert_eq!(carve_align(16), 16);
        assert_eq!(carve_align(8192), MAX_BIN_ALIGN);
        assert_eq!(carve_align(24), 8);
        assert_eq!(carve_align(40), 8);
        assert_eq!(carve_align(12), 4.max(align_of::<*mut u8>()));
        assert_eq!(carve_align(4), align_of::<*mut u8>());
        assert_eq!(min_carve_align(&[16, 32, 64]), 16);
        assert_eq!(min_carve_align(&[16, 24, 64]), 8);
        assert_eq!(min_carve_align(&[]), MAX_BIN_ALIGN);
        for size in 1..100_000usize {
            let align = carve_align(size);
            assert!(align.is_power_of_two() && align <= MAX_BIN_ALIGN);
            assert!(size % align == 0 || align == align_of::<*mut u8>());
        }
    }
}
