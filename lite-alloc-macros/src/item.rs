//! The item under the attribute: it must be a unit struct.

use quote::quote;
use syn::ext::IdentExt;
use syn::{Error, Fields, Item, ItemStruct};

const EXPECTED: &str = "#[lite_alloc] applies to a unit struct, e.g. `pub struct MyAlloc;`";

/// Every name `expand` declares in the block it generates beside the type.
const GENERATED: [&str; 7] = [
    "__la",
    "__LiteAllocConfig",
    "__LiteAllocMemory",
    "__LITE_ALLOC_HEAP",
    "__LITE_ALLOC_ARENA",
    "__LITE_ALLOC_ARENA_BYTES",
    "__LITE_ALLOC_PAGE",
];

/// The struct, or an error pointing at what makes the item something else.
pub fn unit_struct(item: &Item) -> syn::Result<&ItemStruct> {
    let item = match item {
        Item::Struct(item) => item,
        Item::Enum(item) => {
            let (keyword, ident) = (&item.enum_token, &item.ident);
            return Err(Error::new_spanned(quote!(#keyword #ident), EXPECTED));
        }
        Item::Union(item) => {
            let (keyword, ident) = (&item.union_token, &item.ident);
            return Err(Error::new_spanned(quote!(#keyword #ident), EXPECTED));
        }
        Item::Fn(item) => return Err(Error::new_spanned(&item.sig, EXPECTED)),
        other => return Err(Error::new_spanned(other, EXPECTED)),
    };
    let (generics, where_clause) = (&item.generics, &item.generics.where_clause);
    if !generics.params.is_empty() || where_clause.is_some() {
        // The parameters and the `where` clause: a `Generics` prints only
        // the former.
        return Err(Error::new_spanned(
            quote!(#generics #where_clause),
            "an allocator type cannot be generic: its statics are shared by the type as a whole",
        ));
    }
    // The generated items live in a block with the type's impls, which
    // name it: a type of one of their names (raw or not) would be shadowed
    // there.
    let name = item.ident.unraw().to_string();
    if GENERATED.contains(&name.as_str()) {
        return Err(Error::new(
            item.ident.span(),
            format!(
                "`{name}` is the name of an item the attribute generates: give the allocator type another name"
            ),
        ));
    }
    match &item.fields {
        Fields::Unit => Ok(item),
        fields if fields.is_empty() => Err(Error::new_spanned(
            fields,
            "an allocator type is a unit struct: write `struct MyAlloc;`, without braces or parentheses",
        )),
        fields => Err(Error::new_spanned(
            fields,
            "an allocator type holds no fields (its state lives in generated statics): write `struct MyAlloc;`",
        )),
    }
}
