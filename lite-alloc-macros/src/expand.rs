//! Expanding a validated configuration into the allocator type's items.
//!
//! ```text
//! #[attrs] pub struct MyAlloc;          // the user's struct, as written
//! const _: () = {                       // everything else, out of sight
//!     struct __LiteAllocConfig;         // bins, page, memory, lock, stats, lookup
//!     static __LITE_ALLOC_HEAP: Global<__LiteAllocConfig, N, L> = Global::new();
//!     const _: () = if .. { panic!(..) }; // checks that depend on the target
//!     impl MyAlloc { pub const fn new(), pub unsafe fn reset(), pub fn stats() }
//!     unsafe impl GlobalAlloc for MyAlloc { .. }
//! };
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{Item, ItemStruct};

use crate::args::Large;
use crate::config::{Config, Lock, Lookup, Memory};

/// The allocator type for `strukt` configured by `config`.
pub fn allocator(strukt: &ItemStruct, config: &Config) -> TokenStream {
    let ident = &strukt.ident;
    let vis = &strukt.vis;
    let krate = &config.krate;
    let n = config.bins.len();
    let bins = config
        .bins
        .iter()
        .map(|&(size, span)| usize_lit(size, span));
    let page = page(config);
    let growth = usize_lit(config.growth.0, config.growth.1);
    let realloc = config.realloc;
    let large = match config.large {
        Large::Leak => quote!(__la::Leak),
        Large::Reuse => {
            // `bins = []` comes only with `large = coalesce` (`config`). A
            // bin past `MAX_BIN` is reported on its token (`checks`); the
            // classes are computed from a valid size meanwhile, so that it
            // is not reported again as an overflow here (a bin of 2^32
            // bytes would be 0 on a 32-bit target).
            let largest = u64_lit(config.bins[n - 1].0, Span::call_site());
            quote!(__la::Reuse<{
                __la::large_classes(if #largest > __la::MAX_BIN as __la::u64 {
                    __la::MAX_BIN
                } else {
                    #largest as __la::usize
                })
            }>)
        }
        Large::Coalesce => quote!(__la::Chunks),
    };
    let stats_type = if config.stats {
        quote!(__la::Counters<#n>)
    } else {
        quote!(__la::NoStats)
    };
    let stats_fn = config.stats.then(|| {
        quote! {
            /// What this allocator has done so far: bytes in use and their
            /// peak, bytes obtained from memory, each bin's free blocks,
            /// hits and misses, and more (see `lite_alloc::Stats`).
            #vis fn stats() -> __la::Stats {
                __LITE_ALLOC_HEAP.stats()
            }
        }
    });
    let check = config.check;
    let (heap_static, checks_fn, verify_doc) = checked(config, ident, vis);
    let lookup = lookup(config);
    // The doubling lookup is a few instructions: always inlined. A chain
    // of comparisons is left to the compiler, which keeps one copy when
    // optimising for size.
    let inline = match config.lookup {
        Lookup::PowersOfTwo { .. } => quote!(#[inline(always)]),
        Lookup::Chain => quote!(#[inline]),
    };
    let (memory_items, memory_type) = memory(config);
    let lock = match config.lock {
        Lock::Spin(span) => quote_spanned!(span=> __la::Spin),
        Lock::CriticalSection(span) => quote_spanned!(span=> __la::CriticalSection),
        Lock::None(span) => quote_spanned!(span=> __la::Unsynchronized),
    };
    let checks = checks(config);
    let claim_fn = claim_fn(config, vis);
    let allocator_api = allocator_api(ident);
    // What in-place realloc does differs by policy: say this type's.
    let in_place = match (realloc, &config.large, config.bins.is_empty()) {
        (false, ..) => "moves the block (enable in-place realloc with the `realloc` flag)",
        (true, Large::Leak, _) => {
            "shrinks in place, and grows in place when the block ends where the unused memory begins (the last block carved, unless it was shrunk since)"
        }
        (true, Large::Reuse, _) => {
            "keeps the block where it is while it keeps its bin or size class, and grows it in place when it ends where the unused memory begins; otherwise it moves"
        }
        (true, Large::Coalesce, true) => {
            "resizes in place when it can: shrinking frees the block's tail, growing takes the free memory after it"
        }
        (true, Large::Coalesce, false) => {
            "resizes a chunk in place when it can (shrinking frees its tail, growing takes the free memory after it), and keeps a bin's block where it is while it keeps its bin; otherwise it moves"
        }
    };
    let realloc_doc = format!(" `realloc` {in_place}.");
    // The generated items exist exactly when the struct does.
    let cfgs = strukt
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"));

    quote! {
        #strukt

        #(#cfgs)*
        // The paths through `__la` are spanned at the user's tokens (so that
        // errors point there), where the names may also be in scope without
        // them: not the user's qualifications to remove. So are the casts of
        // the values read as `u64` to `usize`, which `const` assertions
        // check to fit the target: not truncations for a pedantic Clippy
        // to report on the user's tokens.
        #[allow(unused_qualifications, clippy::cast_possible_truncation)]
        const _: () = {
            use #krate::__private as __la;

            #[doc(hidden)]
            struct __LiteAllocConfig;

            #memory_items

            // SAFETY: the attribute checked that the bins are strictly
            // ascending; the assertions below check that each holds a pointer
            // on this target; the lookup only names bins that fit the size and
            // the alignment.
            unsafe impl __la::Config<#n> for __LiteAllocConfig {
                const BINS: [__la::usize; #n] = [#(#bins),*];
                const PAGE: __la::usize = #page;
                const REALLOC_IN_PLACE: __la::bool = #realloc;
                const GROWTH: __la::usize = #growth;
                const CHECKED: __la::bool = #check;
                type Large = #large;
                type Memory = #memory_type;
                type Lock = #lock;
                type Stats = #stats_type;
                #inline
                fn class(size: __la::usize, align: __la::usize) -> __la::usize {
                    #lookup
                }
            }

            #heap_static

            #checks

            impl #ident {
                /// The allocator. Every value of this type shares the same
                /// state, in statics of its own.
                #[inline]
                #[allow(clippy::new_without_default)]
                #vis const fn new() -> Self {
                    Self
                }

                /// Forgets every block and every region, for tests and
                /// benchmarks: the next allocation starts from empty bins and
                /// the start of the memory source (an arena starts over; wasm
                /// memory cannot shrink, so new pages are grown).
                ///
                /// # Safety
                ///
                /// No block this type handed out may be used afterwards, since
                /// it can be handed out again; so the type must not be the
                /// global allocator of a program that still holds allocations.
                #vis unsafe fn reset() {
                    // SAFETY: forwarded from the caller.
                    unsafe { __LITE_ALLOC_HEAP.reset() }
                }

                #stats_fn

                /// Checks every invariant of this type's heap (its free
                /// lists, its region and, with `large = coalesce`, every
                /// chunk) and panics naming the first that does not hold.
                /// For tests and fuzzing: it walks the whole heap, and
                /// costs no code unless called.
                #verify_doc
                #vis fn verify() {
                    __LITE_ALLOC_HEAP.verify()
                }

                #checks_fn

                #claim_fn
            }

            #[doc = #realloc_doc]
            unsafe impl __la::GlobalAlloc for #ident {
                #[inline]
                unsafe fn alloc(&self, layout: __la::Layout) -> *mut __la::u8 {
                    // SAFETY: forwarded from the caller.
                    unsafe { __LITE_ALLOC_HEAP.alloc(layout) }
                }
                #[inline]
                unsafe fn alloc_zeroed(&self, layout: __la::Layout) -> *mut __la::u8 {
                    // SAFETY: forwarded from the caller.
                    unsafe { __LITE_ALLOC_HEAP.alloc_zeroed(layout) }
                }
                #[inline]
                unsafe fn dealloc(&self, ptr: *mut __la::u8, layout: __la::Layout) {
                    // SAFETY: forwarded from the caller.
                    unsafe { __LITE_ALLOC_HEAP.dealloc(ptr, layout) }
                }
                #[inline]
                unsafe fn realloc(&self, ptr: *mut __la::u8, layout: __la::Layout, new_size: __la::usize) -> *mut __la::u8 {
                    // SAFETY: forwarded from the caller.
                    unsafe { __LITE_ALLOC_HEAP.realloc(ptr, layout, new_size) }
                }
            }

            #allocator_api
        };
    }
}

/// The static holding the type's state, a `CheckedGlobal` with `check`;
/// with `check`, `checks()` and a line of `verify()`'s documentation.
fn checked(
    config: &Config,
    ident: &syn::Ident,
    vis: &syn::Visibility,
) -> (TokenStream, TokenStream, TokenStream) {
    let n = config.bins.len();
    if !config.check {
        let heap = quote! {
            static __LITE_ALLOC_HEAP: __la::Global<__LiteAllocConfig, #n> = __la::Global::new();
        };
        return (heap, TokenStream::new(), TokenStream::new());
    }
    // The type's path, for messages: `my_crate::alloc::MyAlloc`.
    let name = format!("::{}", syn::ext::IdentExt::unraw(ident));
    let heap = quote! {
        static __LITE_ALLOC_HEAP: __la::CheckedGlobal<__LiteAllocConfig, #n> =
            __la::CheckedGlobal::new(__la::concat!(__la::module_path!(), #name));
    };
    let checks = quote! {
        /// What the checked mode holds now: the live blocks and their
        /// bytes, the freed blocks in the quarantine, and the misuses caught
        /// so far (see `lite_alloc::check`).
        #vis fn checks() -> __la::Checks {
            __LITE_ALLOC_HEAP.checks()
        }
    };
    let doc = quote! {
        ///
        /// Checked mode: it then checks every live block's canary and every
        /// freed block waiting in the quarantine, and reports the first
        /// overrun or write after free as a misuse (see `lite_alloc::check`).
    };
    (heap, checks, doc)
}

/// A `u64` literal at `span`: the value the attribute read, whatever the
/// target, for the checks to compare (a `usize` literal above `u32::MAX`
/// would be out of range on 32-bit targets, and wrap where the user allows
/// `overflowing_literals`).
pub fn u64_lit(value: u64, span: Span) -> proc_macro2::Literal {
    let mut lit = proc_macro2::Literal::u64_suffixed(value);
    lit.set_span(span);
    lit
}

/// The value as a `usize`, at `span`: cast from its `u64` literal. Every
/// value cast this way is checked to fit the target (`checks`), so a
/// program whose cast would truncate does not compile.
pub fn usize_lit(value: u64, span: Span) -> TokenStream {
    let lit = u64_lit(value, span);
    quote_spanned!(span=> (#lit as __la::usize))
}

/// The body of `Config::class`, specialised for the bins.
fn lookup(config: &Config) -> TokenStream {
    let n = config.bins.len();
    if n == 0 {
        // No bins (`bins = []`, `large = coalesce`): every block is a chunk.
        return quote! {
            let _ = (size, align);
            0
        };
    }
    let smallest = config.bins[0].0;
    let largest = config.bins[config.bins.len() - 1].0;
    match config.lookup {
        Lookup::PowersOfTwo { shift } => {
            // Bins b, 2b, 4b, ...: round the size up to the smallest bin (and,
            // below 16, to the alignment, which a power-of-two bin of at
            // least that size then has), then take log2 of the next power of
            // two: the bit length of `size - 1`.
            let smallest = usize_lit(smallest, Span::call_site());
            let largest = usize_lit(largest, Span::call_site());
            let at_least_align = (config.bins[0].0 < 16).then(|| {
                quote! { let size = if size < align { align } else { size }; }
            });
            let ignore_align = at_least_align.is_none().then(|| quote! { let _ = align; });
            quote! {
                #ignore_align
                let size = if size < #smallest { #smallest } else { size };
                #at_least_align
                if size > #largest {
                    return #n;
                }
                (__la::usize::BITS - (size - 1).leading_zeros() - #shift) as __la::usize
            }
        }
        Lookup::Chain => {
            // Any bins. The bin holding the size is the number of bins
            // smaller than it: a branchless sum of comparisons, which stays
            // fast when sizes vary unpredictably. For alignments above what
            // every bin guarantees (rare), the first bin from there whose
            // blocks are carved aligned enough: a short loop over their
            // alignments, compiled away when every bin carves alike.
            let sizes: Vec<_> = config
                .bins
                .iter()
                .map(|&(size, _)| usize_lit(size, Span::call_site()))
                .collect();
            let smaller = &sizes[..sizes.len() - 1];
            let largest = &sizes[sizes.len() - 1];
            quote! {
                if size > #largest {
                    return #n;
                }
                let mut bin = 0 #(+ (size > #smaller) as __la::usize)*;
                if align > const { __la::min_carve_align(&[#(#sizes),*]) } {
                    const ALIGNS: [__la::usize; #n] = [#(__la::carve_align(#sizes)),*];
                    // Past the last bin, `bin` is `N`: no bin.
                    while let __la::Some(&carved) = ALIGNS.get(bin) {
                        if align <= carved {
                            break;
                        }
                        bin += 1;
                    }
                }
                bin
            }
        }
    }
}

/// Items defining the memory source, and the type that names it.
fn memory(config: &Config) -> (TokenStream, TokenStream) {
    match &config.memory {
        Memory::Wasm(span) if config.heap_base => (
            TokenStream::new(),
            quote_spanned!(*span=> __la::WasmHeapBase),
        ),
        Memory::Wasm(span) => (TokenStream::new(), quote_spanned!(*span=> __la::Wasm)),
        Memory::Path(path) => (TokenStream::new(), quote!(#path)),
        Memory::Claimed(span) => (TokenStream::new(), quote_spanned!(*span=> __la::Claimed)),
        Memory::System(span) => (TokenStream::new(), quote_spanned!(*span=> __la::System)),
        Memory::Arena {
            bytes,
            literal,
            span,
        } => {
            // The size once, so that a wrong type is reported once; the
            // static holds a valid size whatever it is, so that a size out
            // of range is reported by the assertion alone.
            let too_large = panic_over(
                bytes,
                "the arena is too large for a static on this target: at most `lite_alloc::memory::MAX_ARENA_BYTES` bytes (2 GiB less 16 on 32-bit targets, 2^61 less 16 on 64-bit ones)",
            );
            let mut items = if *literal {
                // A `u64` literal: compared before the cast, which would
                // cut a size past a 32-bit target's `usize` to its low
                // bits (`arena(4294971392)` to 4096 bytes).
                quote_spanned! {*span=>
                    const __LITE_ALLOC_ARENA_BYTES: __la::usize =
                        if #bytes > __la::MAX_ARENA_BYTES as __la::u64 {
                            1
                        } else {
                            #bytes as __la::usize
                        };
                    const _: () = if #bytes > __la::MAX_ARENA_BYTES as __la::u64 {
                        #too_large
                    };
                }
            } else {
                quote_spanned! {*span=>
                    const __LITE_ALLOC_ARENA_BYTES: __la::usize = #bytes;
                    const _: () = if __LITE_ALLOC_ARENA_BYTES > __la::MAX_ARENA_BYTES {
                        #too_large
                    };
                }
            };
            if !literal {
                let empty = panic_over(bytes, "an arena needs at least 1 byte");
                items.extend(quote_spanned! {*span=>
                    const _: () = if __LITE_ALLOC_ARENA_BYTES == 0 {
                        #empty
                    };
                });
            }
            // The static at the size's tokens: where the compiler reports
            // a size it cannot lay out (too large for its own memory).
            let at = bytes.clone().into_iter().next().map_or(*span, |t| t.span());
            items.extend(arena(
                quote!(__la::arena_bytes(__LITE_ALLOC_ARENA_BYTES)),
                TokenStream::new(),
                at,
            ));
            (items, quote!(__LiteAllocMemory))
        }
        Memory::PerTarget => {
            let on_other_targets = quote!(#[cfg(not(target_arch = "wasm32"))]);
            let items = arena(
                quote!(__la::DEFAULT_ARENA_BYTES),
                on_other_targets,
                Span::call_site(),
            );
            let wasm = if config.heap_base {
                quote!(__la::WasmHeapBase)
            } else {
                quote!(__la::Wasm)
            };
            let items = quote! {
                #items
                #[cfg(target_arch = "wasm32")]
                type __LiteAllocMemory = #wasm;
            };
            // The arena (or wasm memory), unless lite-alloc's `std` feature
            // puts hosts on the system's allocator.
            (
                items,
                quote!(<__LiteAllocMemory as __la::PerTarget>::Memory),
            )
        }
    }
}

/// A static arena of `bytes` (spanned at `span`) and the memory source
/// handing it out.
fn arena(bytes: TokenStream, cfg: TokenStream, span: Span) -> TokenStream {
    let storage = quote_spanned! {span=>
        static __LITE_ALLOC_ARENA: __la::ArenaStorage<{ #bytes }> = __la::ArenaStorage::new();
    };
    quote! {
        #cfg
        #storage

        #cfg
        #[doc(hidden)]
        struct __LiteAllocMemory(__la::ArenaCursor);

        #cfg
        // SAFETY: the cursor hands out this type's own arena at most once
        // until `reset`, and nothing else uses the arena.
        // The arena is zeroed at start (`.bss`) and again on `reset`.
        unsafe impl __la::Memory for __LiteAllocMemory {
            const INIT: Self = Self(__la::ArenaCursor::INIT);
            const ZEROED: __la::bool = true;
            const WHOLE: __la::bool = true;
            const ONE_REGION: __la::bool = true;
            #[inline]
            fn grow(&mut self, _: __la::usize) -> __la::Option<__la::NonNull<[__la::u8]>> {
                // SAFETY: the arena is this type's own, and only this
                // cursor hands it out.
                unsafe { self.0.take(&raw const __LITE_ALLOC_ARENA) }
            }
            #[inline(always)]
            fn provenance(&self, _: *mut __la::u8, addr: __la::usize) -> *mut __la::u8 {
                // SAFETY: the arena is this type's own static.
                unsafe { __la::ArenaCursor::provenance(&raw const __LITE_ALLOC_ARENA, addr) }
            }
            fn holds(&self, addr: __la::usize, len: __la::usize) -> __la::Option<__la::bool> {
                __la::Option::Some(__la::ArenaCursor::holds(&raw const __LITE_ALLOC_ARENA, addr, len))
            }
            fn reset(&mut self) {
                // SAFETY: as above; `reset` is called when nothing uses the
                // blocks handed out. All of the arena may have been written.
                unsafe { self.0.reset(&raw const __LITE_ALLOC_ARENA, __la::usize::MAX) }
            }
            fn reset_used(&mut self, used: __la::usize) {
                // SAFETY: as above; the allocator wrote no byte of the arena
                // from `used` on.
                unsafe { self.0.reset(&raw const __LITE_ALLOC_ARENA, used) }
            }
        }
    }
}

/// `const` assertions for what depends on the target.
fn checks(config: &Config) -> TokenStream {
    let page_expr_checks = page_expr_checks(config);
    let bins = config.bins.iter().map(|&(size, span)| {
        let too_small = format!(
            "bin size {size} cannot hold a free-list pointer on this target: use at least the pointer size (4 bytes on 32-bit targets, 8 on 64-bit ones)"
        );
        let too_large = format!(
            "bin size {size} is too large for this target: bins hold at most a quarter of the address space (1 GiB on 32-bit targets)"
        );
        let size = u64_lit(size, span);
        quote_spanned! {span=>
            const _: () = if #size > __la::MAX_BIN as __la::u64 {
                __la::panic!(#too_large)
            } else if #size < __la::size_of::<*mut __la::u8>() as __la::u64 {
                __la::panic!(#too_small)
            };
        }
    });
    let growth = (config.growth.0 != 0).then(|| {
        let (value, span) = config.growth;
        let message = format!(
            "`growth = 1/{value}` is too large a denominator for this target: at most `usize::MAX`"
        );
        let n = u64_lit(value, span);
        quote_spanned! {span=>
            const _: () = if #n > __la::usize::MAX as __la::u64 {
                __la::panic!(#message)
            };
        }
    });
    if config.page_expr.is_some() {
        return quote! {
            #(#bins)*
            #growth
            #page_expr_checks
        };
    }
    let page_bound = {
        let (value, span) = config.page;
        let message = format!(
            "`page = {value}` is too large for this target: memory grows by at most a quarter of the address space at a time (1 GiB on 32-bit targets)"
        );
        let page = u64_lit(value, span);
        quote_spanned! {span=>
            const _: () = if #page > __la::MAX_PAGE as __la::u64 {
                __la::panic!(#message)
            };
        }
    };
    let page = matches!(config.memory, Memory::PerTarget).then(|| {
        let (value, span) = config.page;
        let message = format!(
            "on wasm32 memory grows in wasm pages: `page` must be a multiple of 65536, and {value} is not (or choose `memory = arena(BYTES)`)"
        );
        let page = u64_lit(value, span);
        quote_spanned! {span=>
            #[cfg(target_arch = "wasm32")]
            const _: () = if #page % __la::WASM_PAGE as __la::u64 != 0 {
                __la::panic!(#message)
            };
        }
    });
    quote! {
        #(#bins)*
        #growth
        #page_bound
        #page
    }
}

/// What to emit when the attribute is wrong: the error, the item, and
/// stand-ins for what the attribute would have added, so that the rest of
/// the program reports no errors of its own.
///
/// A struct without fields (generic or not, `struct A;`, `struct A {}` or
/// `struct A();`: an allocator type meant as one) becomes the plain unit
/// struct it should be, with a stand-in for every function any
/// configuration adds (`new`, `reset`, `verify`, `stats`, `checks`,
/// `claim`), `GlobalAlloc`, and `Allocator` where lite-alloc implements it.
/// A struct with fields, an enum or a union is kept as written, for the
/// code that uses its fields, variants and generics, and gets a stand-in
/// `GlobalAlloc` only: it has no value that a stand-in `new` could make,
/// and may have a `new` of its own.
///
/// The stand-ins are never run: the error stops the build. They name the
/// runtime as the attribute's `crate = path` does, when one can be read
/// (see [`crate_path`](crate::args::crate_path)).
pub fn stand_in(item: &Item, error: syn::Error, krate: &TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    let (generics, ident) = match item {
        Item::Struct(strukt) if strukt.fields.is_empty() => {
            let (attrs, vis, ident) = (&strukt.attrs, &strukt.vis, &strukt.ident);
            let global_alloc = stand_in_global_alloc(ident, &syn::Generics::default(), krate);
            return quote! {
                #error
                #(#attrs)*
                #vis struct #ident;
                impl #ident {
                    #vis const fn new() -> Self {
                        Self
                    }
                    #vis unsafe fn reset() {}
                    #vis fn verify() {}
                    #vis fn stats() -> #krate::__private::Stats {
                        loop {}
                    }
                    #vis fn checks() -> #krate::__private::Checks {
                        loop {}
                    }
                    #vis unsafe fn claim(&self, _: *mut #krate::__private::u8, _: #krate::__private::usize) {}
                }
                #global_alloc
                #krate::__private::impl_allocator_api2!(#ident);
            };
        }
        Item::Struct(strukt) => (&strukt.generics, &strukt.ident),
        Item::Enum(enumeration) => (&enumeration.generics, &enumeration.ident),
        Item::Union(union) => (&union.generics, &union.ident),
        _ => return quote! { #error #item },
    };
    let global_alloc = stand_in_global_alloc(ident, generics, krate);
    quote! { #error #item #global_alloc }
}

/// A `GlobalAlloc` for the type `ident` that never hands out memory.
fn stand_in_global_alloc(
    ident: &syn::Ident,
    generics: &syn::Generics,
    krate: &TokenStream,
) -> TokenStream {
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    quote! {
        unsafe impl #impl_generics #krate::__private::GlobalAlloc for #ident #type_generics #where_clause {
            unsafe fn alloc(&self, _: #krate::__private::Layout) -> *mut #krate::__private::u8 {
                #krate::__private::null_mut()
            }
            unsafe fn dealloc(&self, _: *mut #krate::__private::u8, _: #krate::__private::Layout) {}
        }
    }
}

/// `__la::panic!(message)`, spanned from the first token of `over` to its
/// last: rustc reports a `const` panic on the macro call, whose span runs
/// from its path to its closing parenthesis, so that the error underlines
/// the whole expression rather than its first token.
fn panic_over(over: &TokenStream, message: &str) -> TokenStream {
    let mut tokens = over.clone().into_iter();
    let first = tokens
        .next()
        .map_or_else(Span::call_site, |token| token.span());
    let last = tokens.last().map_or(first, |token| token.span());
    let mut arguments =
        proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#message));
    arguments.set_span(last);
    quote_spanned!(first=> __la::panic! #arguments)
}

/// `Config::PAGE`: the literal, or the constant holding the expression.
fn page(config: &Config) -> TokenStream {
    match &config.page_expr {
        Some(_) => quote!(__LITE_ALLOC_PAGE),
        None => {
            let lit = usize_lit(config.page.0, config.page.1);
            quote!(#lit)
        }
    }
}

/// With `page` a constant expression: the constant holding it (so that a
/// wrong type is reported once), and the checks a literal gets in
/// `config`, as `const` assertions on the target.
fn page_expr_checks(config: &Config) -> TokenStream {
    let Some(expr) = &config.page_expr else {
        return TokenStream::new();
    };
    let span = config.page.1;
    let wasm_page = panic_over(
        expr,
        "with wasm memory, `page` must be a multiple of the wasm page (65536 bytes)",
    );
    let multiple = |cfg: TokenStream| {
        quote_spanned! {span=>
            #cfg
            const _: () = if __LITE_ALLOC_PAGE % __la::WASM_PAGE != 0 {
                #wasm_page
            };
        }
    };
    let wasm = match config.memory {
        Memory::Wasm(_) => multiple(TokenStream::new()),
        Memory::PerTarget => multiple(quote!(#[cfg(target_arch = "wasm32")])),
        _ => TokenStream::new(),
    };
    let zero = panic_over(
        expr,
        "`page` must be at least 1 byte (65536 is the wasm page)",
    );
    let too_large = panic_over(
        expr,
        "`page` is too large for this target: memory grows by at most a quarter of the address space at a time (1 GiB on 32-bit targets)",
    );
    quote_spanned! {span=>
        const __LITE_ALLOC_PAGE: __la::usize = #expr;
        const _: () = if __LITE_ALLOC_PAGE == 0 {
            #zero
        } else if __LITE_ALLOC_PAGE > __la::MAX_PAGE {
            #too_large
        };
        #wasm
    }
}

/// `claim`, for `memory = claimed`.
fn claim_fn(config: &Config, vis: &syn::Visibility) -> TokenStream {
    if !matches!(config.memory, Memory::Claimed(_)) {
        return TokenStream::new();
    }
    quote! {
        /// Hands the allocator the memory `[start, start + bytes)`. Until
        /// the first call every allocation returns null; each call adds a
        /// region (two RAM banks, say), used once the heap needs memory and
        /// the region can hold the request. Each region keeps a record of
        /// three words at its start; one too small for that and a byte
        /// more is not used. `reset()` forgets blocks, not regions.
        ///
        /// # Safety
        ///
        /// The region is valid for reads and writes, overlaps no region
        /// claimed before, and nothing else reads or writes it from now
        /// on, for as long as this type is used. `start` carries the
        /// provenance that allows this: a pointer to a static array, or one
        /// made from the address of a linker-defined region with
        /// `core::ptr::with_exposed_provenance_mut`.
        #vis unsafe fn claim(&self, start: *mut __la::u8, bytes: __la::usize) {
            // SAFETY: the caller's promise, which `Claimed::claim` asks
            // for; the closure does not use the allocator.
            unsafe { __LITE_ALLOC_HEAP.memory(|memory| memory.claim(start, bytes)) }
        }
    }
}

/// `allocator_api2::alloc::Allocator`, when lite-alloc's `allocator-api2`
/// feature is on: a macro of the runtime decides, which expands to nothing
/// without the feature (a `cfg` here would test the user's crate).
fn allocator_api(ident: &syn::Ident) -> TokenStream {
    quote! {
        __la::impl_allocator_api2!(#ident);
    }
}
