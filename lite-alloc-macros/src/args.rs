//! Parsing the attribute's arguments. Every parsed value keeps its tokens, so
//! that validation can point at the exact one that is wrong.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Error, Ident, Lit, LitInt, Path, Token, bracketed, parenthesized, token};

/// The arguments of `#[lite_alloc(...)]`, each as written.
#[derive(Default)]
pub struct Args {
    pub bins: Option<Bins>,
    pub page: Option<Page>,
    pub memory: Option<MemoryArg>,
    pub sync: Option<SyncArg>,
    pub realloc: Option<Ident>,
    pub stats: Option<Ident>,
    pub heap_base: Option<Ident>,
    /// `check`: the checked mode.
    pub check: Option<Ident>,
    /// `large = ...`.
    pub large: Option<Large>,
    /// `growth = 1/N`: the `N`.
    pub growth: Option<Int>,
    pub krate: Option<Path>,
}

/// `bins = [..]`.
pub struct Bins {
    pub bracket: token::Bracket,
    pub sizes: Vec<Int>,
}

/// An unsuffixed (or `usize`) integer literal and its value.
#[derive(Clone)]
pub struct Int {
    pub lit: LitInt,
    pub value: u64,
}

/// `page = ...`: a literal (checked here) or a constant expression such as
/// `64 * 1024` (checked on the target).
pub enum Page {
    Literal(Int),
    Expr(syn::Expr),
}

/// `memory = ...`.
pub enum MemoryArg {
    Wasm(Ident),
    Arena(ArenaBytes),
    Path(Path),
    /// `memory = claimed`: regions handed over at run time.
    Claimed(Ident),
    /// `memory = system`: the operating system's allocator.
    System(Ident),
}

/// The size in `arena(...)`: a literal (checked here) or a constant
/// expression such as `64 * 1024` or `HEAP_BYTES` (checked on the target).
pub enum ArenaBytes {
    Literal(Int),
    Expr(syn::Expr),
}

/// What becomes of blocks larger than every bin (`large = ...`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Large {
    /// Never reused (as lite-alloc 0.1.0).
    Leak,
    /// Reused in size classes.
    Reuse,
    /// Chunks split and merged.
    Coalesce,
}

/// `sync = ...`.
pub enum SyncArg {
    Spin(Ident),
    CriticalSection(Ident),
    None(Ident),
}

const KEYS: &str = "`bins`, `page`, `growth`, `memory`, `sync`, `large`, `realloc`, `stats`, `check`, `heap_base` or `crate`";

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            // `Ident::parse_any` also accepts the keyword `crate`.
            let key = input.call(Ident::parse_any)?;
            match key.to_string().as_str() {
                "bins" => set(&mut args.bins, &key, parse_bins(input, &key)?)?,
                "page" => set(&mut args.page, &key, parse_page(input, &key)?)?,
                "memory" => set(&mut args.memory, &key, parse_memory(input, &key)?)?,
                "sync" => set(&mut args.sync, &key, parse_sync(input, &key)?)?,
                "large" => set(&mut args.large, &key, parse_large(input, &key)?)?,
                "growth" => set(&mut args.growth, &key, parse_growth(input, &key)?)?,
                "realloc" => set(
                    &mut args.realloc,
                    &key,
                    flag(input, &key, "turn on in-place realloc")?,
                )?,
                "stats" => set(
                    &mut args.stats,
                    &key,
                    flag(input, &key, "keep statistics (`MyAlloc::stats()`)")?,
                )?,
                "check" => set(
                    &mut args.check,
                    &key,
                    flag(
                        input,
                        &key,
                        "check every call for misuse (double and foreign frees, wrong layouts, overruns, writes after free)",
                    )?,
                )?,
                "heap_base" => set(
                    &mut args.heap_base,
                    &key,
                    flag(
                        input,
                        &key,
                        "start with the wasm module's free memory above `__heap_base`",
                    )?,
                )?,
                "crate" => {
                    expect_eq(input, &key, "`crate = my_reexport::lite_alloc`")?;
                    let path = input.call(Path::parse_mod_style)?;
                    set(&mut args.krate, &key, path)?;
                }
                _ => {
                    return Err(Error::new(
                        key.span(),
                        format!("unknown argument `{key}`: expected {KEYS}"),
                    ));
                }
            }
            if !input.is_empty() && !input.peek(Token![,]) {
                // Said here, where the argument is known, rather than
                // syn's bare "expected `,`".
                return Err(input.error(if input.peek(token::Paren) {
                    format!(
                        "unexpected parentheses after the `{key}` argument: only `memory = arena(BYTES)` takes a value in them"
                    )
                } else {
                    format!("expected `,` after the `{key}` argument")
                }));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// Stores an argument, refusing a second one with the same key.
fn set<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(Error::new(
            key.span(),
            format!("duplicate `{key}` argument: give it once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// A flag: its key, which takes no value.
fn flag(input: ParseStream, key: &Ident, what: &str) -> syn::Result<Ident> {
    if input.peek(Token![=]) {
        return Err(input.error(format!(
            "`{key}` is a flag and takes no value: write `{key}` to {what}, or leave it out"
        )));
    }
    Ok(key.clone())
}

fn expect_eq(input: ParseStream, key: &Ident, example: &str) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Ok(())
    } else {
        Err(Error::new(
            key.span(),
            format!("`{key}` needs a value, e.g. {example}"),
        ))
    }
}

/// `page = N`: a literal, or a constant expression of type `usize` (the
/// value of a literal is checked here, an expression's on the target).
fn parse_page(input: ParseStream, key: &Ident) -> syn::Result<Page> {
    const EXPECTED: &str = "`page` takes a number of bytes: an integer literal such as `page = 65536`, or a constant expression of type `usize` such as `page = 64 * 1024` or `page = PAGE_BYTES`";
    expect_eq(input, key, "`page = 65536`")?;
    let expr: syn::Expr = input
        .parse()
        .map_err(|error| Error::new(error.span(), EXPECTED))?;
    // A literal passed through a `macro_rules!` fragment arrives in an
    // invisible group.
    let expr = match expr {
        syn::Expr::Group(group) => *group.expr,
        expr => expr,
    };
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit, .. }) => Ok(Page::Literal(int(lit, EXPECTED)?)),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) if matches!(&*expr, syn::Expr::Lit(_)) => Err(Error::new_spanned(
            expr,
            "`page` is a number of bytes and cannot be negative",
        )),
        other => Ok(Page::Expr(other)),
    }
}

/// An integer literal's value, or an error at the literal.
fn int(lit: Lit, wrong_type: &str) -> syn::Result<Int> {
    let Lit::Int(lit) = lit else {
        return Err(Error::new(lit.span(), wrong_type));
    };
    if lit.base10_digits().starts_with('-') {
        return Err(Error::new(
            lit.span(),
            "a number of bytes cannot be negative",
        ));
    }
    if !matches!(lit.suffix(), "" | "usize") {
        return Err(Error::new(
            lit.span(),
            format!(
                "write the size without the `{}` suffix (it is a `usize`)",
                lit.suffix()
            ),
        ));
    }
    let value = lit.base10_parse::<u64>()?;
    Ok(Int { lit, value })
}

fn parse_bins(input: ParseStream, key: &Ident) -> syn::Result<Bins> {
    const EXAMPLE: &str = "`bins = [16, 32, 64, 128]`";
    expect_eq(input, key, EXAMPLE)?;
    if !input.peek(token::Bracket) {
        return Err(input.error(format!(
            "expected a list of block sizes in brackets, e.g. {EXAMPLE}"
        )));
    }
    let content;
    let bracket = bracketed!(content in input);
    let sizes = Punctuated::<syn::Expr, Token![,]>::parse_terminated(&content)?
        .into_iter()
        .map(bin_size)
        .collect::<syn::Result<Vec<_>>>()?;
    Ok(Bins { bracket, sizes })
}

/// One size in `bins = [...]`: an integer literal. Not a constant
/// expression: the size-to-bin lookup is generated from the values.
fn bin_size(expr: syn::Expr) -> syn::Result<Int> {
    // A literal passed through a `macro_rules!` fragment arrives in an
    // invisible group.
    let expr = match expr {
        syn::Expr::Group(group) => *group.expr,
        expr => expr,
    };
    const EXPECTED: &str = "a bin size is an integer literal number of bytes, e.g. `32` (not a constant or an expression: the attribute generates the size-to-bin lookup from the values)";
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit, .. }) => int(lit, EXPECTED),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) if matches!(&*expr, syn::Expr::Lit(_)) => Err(Error::new_spanned(
            expr,
            "a bin size is a number of bytes and cannot be negative",
        )),
        other => Err(Error::new_spanned(other, EXPECTED)),
    }
}

fn parse_memory(input: ParseStream, key: &Ident) -> syn::Result<MemoryArg> {
    const EXPECTED: &str = "expected `wasm`, `arena(BYTES)`, `claimed`, `system` or the path of a type implementing `lite_alloc::memory::Memory`";
    expect_eq(input, key, "`memory = wasm` or `memory = arena(65536)`")?;
    if input.peek(Ident) && !input.peek2(Token![::]) {
        let fork = input.fork();
        let word: Ident = fork.parse()?;
        if word == "wasm" {
            input.parse::<Ident>()?;
            return Ok(MemoryArg::Wasm(word));
        }
        if word == "claimed" || word == "system" {
            input.parse::<Ident>()?;
            if input.peek(token::Paren) {
                return Err(input.error(format!(
                    "`{word}` takes no size: {}",
                    if word == "claimed" {
                        "the memory is handed over at run time with the type's `claim`"
                    } else {
                        "regions come from the system's allocator as the heap needs them"
                    }
                )));
            }
            return Ok(if word == "claimed" {
                MemoryArg::Claimed(word)
            } else {
                MemoryArg::System(word)
            });
        }
        if word == "arena" {
            input.parse::<Ident>()?;
            if !input.peek(token::Paren) {
                return Err(Error::new(
                    word.span(),
                    "`arena` needs its size in bytes: `arena(65536)`",
                ));
            }
            let content;
            let parens = parenthesized!(content in input);
            if content.is_empty() {
                return Err(Error::new(
                    parens.span.join(),
                    "`arena` needs its size in bytes: `arena(65536)`",
                ));
            }
            let bytes = if content.peek(Lit) && content.peek2(syn::parse::End) {
                ArenaBytes::Literal(int(
                    content.parse()?,
                    "the arena size is a number of bytes, e.g. `arena(65536)`",
                )?)
            } else {
                ArenaBytes::Expr(content.parse()?)
            };
            if !content.is_empty() {
                return Err(content.error(
                    "`arena` takes one size in bytes, e.g. `arena(65536)` or `arena(64 * 1024)`",
                ));
            }
            return Ok(MemoryArg::Arena(bytes));
        }
        // A lone lowercase word is a misspelt choice (`heap`, `arean(4096)`),
        // not a type: types are written in CamelCase. A lowercase type is
        // still named by a raw identifier or a longer path, as the message
        // says.
        let name = word.to_string();
        if !name.starts_with("r#") && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            let hint = if fork.peek(token::Paren) {
                String::new()
            } else {
                format!(" (a type named in lowercase: `r#{name}` or `self::{name}`)")
            };
            return Err(Error::new(
                word.span(),
                format!("unknown memory source `{name}`: {EXPECTED}{hint}"),
            ));
        }
    }
    if input.peek(Ident)
        || input.peek(Token![::])
        || input.peek(Token![crate])
        || input.peek(Token![self])
        || input.peek(Token![super])
    {
        return Ok(MemoryArg::Path(input.call(Path::parse_mod_style)?));
    }
    Err(input.error(EXPECTED))
}

/// `growth = 1/N`: the `N`, checked to be at least 1.
fn parse_growth(input: ParseStream, key: &Ident) -> syn::Result<Int> {
    const EXPECTED: &str = "`growth` is a fraction of the memory obtained so far, `1/N`: e.g. `growth = 1/8` grows by at least an eighth at a time";
    expect_eq(input, key, "`growth = 1/8`")?;
    let one = int(
        input.parse().map_err(|e| Error::new(e.span(), EXPECTED))?,
        EXPECTED,
    )?;
    if one.value != 1 {
        return Err(Error::new(one.span(), EXPECTED));
    }
    if !input.peek(Token![/]) {
        return Err(input.error(EXPECTED));
    }
    input.parse::<Token![/]>()?;
    let n = int(
        input.parse().map_err(|e| Error::new(e.span(), EXPECTED))?,
        EXPECTED,
    )?;
    if n.value == 0 {
        return Err(Error::new(
            n.span(),
            "`growth = 1/0`: the fraction's denominator must be at least 1",
        ));
    }
    Ok(n)
}

/// `large = leak | reuse | coalesce`.
fn parse_large(input: ParseStream, key: &Ident) -> syn::Result<Large> {
    const EXPECTED: &str = "expected `reuse` (freed large blocks serve later requests of their size class), `coalesce` (freed large blocks are merged with free neighbours and split to serve any size) or `leak` (never reused, as in lite-alloc 0.1.0's four-bin design)";
    expect_eq(input, key, "`large = reuse`")?;
    let word = input
        .call(Ident::parse_any)
        .map_err(|error| Error::new(error.span(), EXPECTED))?;
    match word.to_string().as_str() {
        "reuse" => Ok(Large::Reuse),
        "coalesce" => Ok(Large::Coalesce),
        "leak" => Ok(Large::Leak),
        _ => Err(Error::new(
            word.span(),
            format!("unknown `large` choice `{word}`: {EXPECTED}"),
        )),
    }
}

fn parse_sync(input: ParseStream, key: &Ident) -> syn::Result<SyncArg> {
    const EXPECTED: &str = "expected `spin`, `critical_section` or `none`";
    expect_eq(input, key, "`sync = spin`")?;
    let word = input
        .call(Ident::parse_any)
        .map_err(|error| Error::new(error.span(), EXPECTED))?;
    match word.to_string().as_str() {
        "spin" => Ok(SyncArg::Spin(word)),
        "critical_section" => Ok(SyncArg::CriticalSection(word)),
        "none" => Ok(SyncArg::None(word)),
        _ => Err(Error::new(
            word.span(),
            format!("unknown `sync` choice `{word}`: {EXPECTED}"),
        )),
    }
}

impl Bins {
    /// The span of the brackets, for errors about the list as a whole.
    pub fn span(&self) -> Span {
        self.bracket.span.join()
    }
}

impl Int {
    pub fn span(&self) -> Span {
        self.lit.span()
    }
}

/// The path given as `crate = path` in attribute arguments that may not
/// parse as a whole (for the stand-ins of an attribute with an error):
/// the path that starts the tokens after a top-level `crate =`.
pub fn crate_path(attr: proc_macro2::TokenStream) -> Option<Path> {
    use proc_macro2::TokenTree;
    use syn::parse::Parser;
    let mut tokens = attr.into_iter().peekable();
    while let Some(token) = tokens.next() {
        let TokenTree::Ident(key) = token else {
            continue;
        };
        let is_eq = |t: &TokenTree| matches!(t, TokenTree::Punct(p) if p.as_char() == '=');
        if key != "crate" || !tokens.peek().is_some_and(is_eq) {
            continue;
        }
        tokens.next();
        let is_comma = |t: &TokenTree| matches!(t, TokenTree::Punct(p) if p.as_char() == ',');
        let value: proc_macro2::TokenStream = tokens.take_while(|t| !is_comma(t)).collect();
        // The path at its start: what follows may be the error (a missing
        // comma).
        let path = |input: syn::parse::ParseStream| {
            let path = input.call(Path::parse_mod_style)?;
            input.parse::<proc_macro2::TokenStream>()?;
            Ok(path)
        };
        return path.parse2(value).ok();
    }
    None
}
