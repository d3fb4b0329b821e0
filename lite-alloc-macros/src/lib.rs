//! The `#[lite_alloc]` attribute. Use it through the `lite-alloc` crate, which
//! re-exports it and documents it.
//!
//! The attribute is parsed (`args`), validated into a configuration
//! (`config`), and expanded (`expand`) into the per-type items: the struct, its
//! statics, its size-to-bin lookup and its trait impls. The algorithm itself
//! lives in the runtime crate.

mod args;
mod config;
mod expand;
mod item;

use proc_macro::TokenStream;

/// Turns a unit struct into an allocator type with its own statics.
///
/// ```ignore
/// #[lite_alloc::lite_alloc(bins = [16, 32, 64, 128], page = 65536)]
/// pub struct MyAlloc;
///
/// #[global_allocator]
/// static ALLOC: MyAlloc = MyAlloc::new();
/// ```
///
#[doc = include_str!("../attribute.md")]
#[proc_macro_attribute]
pub fn lite_alloc(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::Item);
    let attr = proc_macro2::TokenStream::from(attr);
    let result = item::unit_struct(&item).and_then(|strukt| {
        let args = syn::parse2::<args::Args>(attr.clone())?;
        let config = config::Config::from_args(args)?;
        Ok(expand::allocator(strukt, &config))
    });
    match result {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let krate = match args::crate_path(attr) {
                Some(path) => quote::quote!(#path),
                None => quote::quote!(::lite_alloc),
            };
            expand::stand_in(&item, error, &krate).into()
        }
    }
}
