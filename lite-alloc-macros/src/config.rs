//! Validating the parsed arguments into the configuration to expand.
//!
//! Checks that do not depend on the target are made here, with an error on the
//! offending token. Checks that do (pointer width, wasm page when memory is
//! chosen per target) are emitted as `const` assertions by `expand`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Error, Path};

use crate::args::{ArenaBytes, Args, Int, Large, MemoryArg, Page, SyncArg};

/// The bins of `lite_alloc::Default` and of an attribute without `bins`.
const DEFAULT_BINS: [u64; 4] = [16, 32, 64, 128];
/// The growth step of an attribute without `page`.
const DEFAULT_PAGE: u64 = 65536;
/// The wasm page: with `memory = wasm`, `page` must be a multiple of it.
const WASM_PAGE: u64 = 65536;
/// No target has pointers narrower than this; the exact check is a `const`
/// assertion on the target.
const MIN_POINTER_BYTES: u64 = 2;
/// More bins than this is a typo, not a configuration.
const MAX_BINS: usize = 64;

/// A validated configuration.
pub struct Config {
    /// Block sizes, strictly ascending, with the span to blame for each.
    pub bins: Vec<(u64, Span)>,
    pub lookup: Lookup,
    pub page: (u64, Span),
    /// `page` as a constant expression (checked on the target); `page.0`
    /// is then 0, and `page.1` the expression's span.
    pub page_expr: Option<TokenStream>,
    pub memory: Memory,
    pub lock: Lock,
    pub realloc: bool,
    /// Statistics kept (`stats`).
    pub stats: bool,
    /// The checked mode (`check`).
    pub check: bool,
    /// What becomes of large blocks (`large = ...`).
    pub large: Large,
    /// Wasm memory starts with the module's free memory (`heap_base`).
    pub heap_base: bool,
    /// `growth = 1/N`: `N` and its token (0 without it).
    pub growth: (u64, Span),
    /// The path of the runtime crate, `::lite_alloc` unless `crate = ...`.
    pub krate: TokenStream,
}

/// How the size-to-bin lookup is generated.
pub enum Lookup {
    /// Bins `b, 2b, 4b, ...` with `b = 1 << shift`: count leading zeros.
    PowersOfTwo { shift: u32 },
    /// Any other bins: the count of bins smaller than the size (branchless),
    /// with a chain of comparisons for unusual alignments.
    Chain,
}

pub enum Memory {
    /// Not given: `wasm` on wasm32, a default-sized arena elsewhere.
    PerTarget,
    Wasm(Span),
    /// A static arena; its size is a literal (already checked not to be
    /// zero: a `u64` literal, compared as one, since a cast to a 32-bit
    /// target's `usize` would cut it) or a constant expression (checked on
    /// the target).
    Arena {
        bytes: TokenStream,
        literal: bool,
        span: Span,
    },
    Path(Path),
    /// Regions handed over at run time with the type's `claim`.
    Claimed(Span),
    /// The operating system's allocator (lite-alloc's `std` feature).
    System(Span),
}

pub enum Lock {
    Spin(Span),
    CriticalSection(Span),
    None(Span),
}

impl Config {
    pub fn from_args(args: Args) -> syn::Result<Self> {
        let bins: Vec<(u64, Span)> = match &args.bins {
            None => DEFAULT_BINS
                .iter()
                .map(|&size| (size, Span::call_site()))
                .collect(),
            Some(bins) => {
                if bins.sizes.is_empty() && args.large != Some(Large::Coalesce) {
                    return Err(Error::new(
                        bins.span(),
                        "`bins = []` makes every block a chunk, which needs `large = coalesce`: add it, or give at least one block size, e.g. `bins = [16, 32, 64, 128]`",
                    ));
                }
                if bins.sizes.len() > MAX_BINS {
                    return Err(Error::new(
                        bins.span(),
                        format!("at most {MAX_BINS} bins are supported"),
                    ));
                }
                check_bins(&bins.sizes)?;
                bins.sizes
                    .iter()
                    .map(|int| (int.value, int.span()))
                    .collect()
            }
        };
        let (page, page_expr) = match &args.page {
            None => ((DEFAULT_PAGE, Span::call_site()), None),
            Some(Page::Literal(page)) => {
                if page.value == 0 {
                    return Err(Error::new(
                        page.span(),
                        "`page` must be at least 1 byte (65536 is the wasm page)",
                    ));
                }
                ((page.value, page.span()), None)
            }
            Some(Page::Expr(expr)) => ((0, syn::spanned::Spanned::span(expr)), Some(quote!(#expr))),
        };
        let memory = match args.memory {
            None => Memory::PerTarget,
            Some(MemoryArg::Wasm(word)) => {
                if page_expr.is_none() && page.0 % WASM_PAGE != 0 {
                    let span = if args.page.is_some() {
                        page.1
                    } else {
                        word.span()
                    };
                    return Err(Error::new(
                        span,
                        format!(
                            "with `memory = wasm`, `page` must be a multiple of the wasm page (65536 bytes); {} is not",
                            page.0
                        ),
                    ));
                }
                Memory::Wasm(word.span())
            }
            Some(MemoryArg::Arena(ArenaBytes::Literal(bytes))) => {
                if bytes.value == 0 {
                    return Err(Error::new(
                        bytes.span(),
                        "an arena needs at least 1 byte, e.g. `arena(65536)`",
                    ));
                }
                let lit = crate::expand::u64_lit(bytes.value, bytes.span());
                Memory::Arena {
                    bytes: quote!(#lit),
                    literal: true,
                    span: bytes.span(),
                }
            }
            Some(MemoryArg::Arena(ArenaBytes::Expr(expr))) => Memory::Arena {
                span: syn::spanned::Spanned::span(&expr),
                bytes: quote!(#expr),
                literal: false,
            },
            Some(MemoryArg::Path(path)) => Memory::Path(path),
            Some(MemoryArg::Claimed(word)) => Memory::Claimed(word.span()),
            Some(MemoryArg::System(word)) => Memory::System(word.span()),
        };
        // `heap_base` applies to wasm memory on `wasm32-unknown-unknown`;
        // with any other memory, or on any other target, it does nothing
        // (so that one attribute serves a wasm build and its host tests).
        let lock = match args.sync {
            None => Lock::Spin(Span::call_site()),
            Some(SyncArg::Spin(word)) => Lock::Spin(word.span()),
            Some(SyncArg::CriticalSection(word)) => Lock::CriticalSection(word.span()),
            Some(SyncArg::None(word)) => Lock::None(word.span()),
        };
        let lookup = lookup_for(bins.iter().map(|&(size, _)| size));
        let krate = match args.krate {
            Some(path) => quote!(#path),
            None => quote!(::lite_alloc),
        };
        Ok(Config {
            bins,
            lookup,
            page,
            page_expr,
            memory,
            lock,
            realloc: args.realloc.is_some(),
            stats: args.stats.is_some(),
            check: args.check.is_some(),
            large: args.large.unwrap_or(Large::Leak),
            heap_base: args.heap_base.is_some(),
            growth: args
                .growth
                .as_ref()
                .map_or((0, Span::call_site()), |n| (n.value, n.span())),
            krate,
        })
    }
}

/// Every bin holds a pointer (as far as can be known before the target) and
/// the list is strictly ascending.
fn check_bins(sizes: &[Int]) -> syn::Result<()> {
    for (i, bin) in sizes.iter().enumerate() {
        if bin.value < MIN_POINTER_BYTES {
            return Err(Error::new(
                bin.span(),
                format!(
                    "bin size {} is too small: a free block holds a pointer (4 bytes on wasm32, 8 on 64-bit targets)",
                    bin.value
                ),
            ));
        }
        if let Some(previous) = i.checked_sub(1).map(|j| &sizes[j]) {
            if bin.value == previous.value {
                return Err(Error::new(
                    bin.span(),
                    format!("bin size {} is listed twice", bin.value),
                ));
            }
            if bin.value < previous.value {
                return Err(Error::new(
                    bin.span(),
                    format!(
                        "bins must be strictly ascending: {} comes after {}; write them smallest first",
                        bin.value, previous.value
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The count-leading-zeros form when the bins are consecutive powers of two,
/// the comparison chain otherwise.
fn lookup_for(mut sizes: impl Iterator<Item = u64>) -> Lookup {
    let Some(first) = sizes.next() else {
        return Lookup::Chain;
    };
    if !first.is_power_of_two() {
        return Lookup::Chain;
    }
    let mut expected = first;
    for size in sizes {
        match expected.checked_mul(2) {
            Some(next) if next == size => expected = next,
            _ => return Lookup::Chain,
        }
    }
    Lookup::PowersOfTwo {
        shift: first.trailing_zeros(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(sizes: &[u64]) -> Option<u32> {
        match lookup_for(sizes.iter().copied()) {
            Lookup::PowersOfTwo { shift } => Some(shift),
            Lookup::Chain => None,
        }
    }

    #[test]
    fn chooses_the_lookup_form() {
        assert_eq!(lookup(&[16, 32, 64, 128]), Some(4));
        assert_eq!(lookup(&[8]), Some(3));
        assert_eq!(lookup(&[8, 16, 32, 64, 128, 256, 512, 1024]), Some(3));
        assert_eq!(lookup(&[16, 64]), None, "not consecutive");
        assert_eq!(lookup(&[24, 48, 96]), None, "not powers of two");
        assert_eq!(lookup(&[24]), None);
    }
}
