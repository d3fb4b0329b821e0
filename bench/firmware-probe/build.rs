//! Puts `probe.x` where the linker finds it, and writes `general.rs`:
//! `lite_alloc::General`'s configuration for the feature `lite-general-cs`,
//! its attribute's arguments read from lite-alloc's source so that the probe
//! measures whatever General is.
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    std::fs::copy("probe.x", out.join("probe.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=probe.x");

    let lib = "../../lite-alloc/src/lib.rs";
    println!("cargo:rerun-if-changed={lib}");
    let source = std::fs::read_to_string(lib).unwrap();
    let args = general_args(&source)
        .unwrap_or_else(|| panic!("{lib}: no `#[lite_alloc(...)]` on `pub struct General;`"));
    let code = format!(
        "/// `lite_alloc::General`'s configuration ({args}) on a static arena,\n\
         /// locked with a critical section.\n\
         #[lite_alloc::lite_alloc(memory = arena(HEAP_BYTES), page = 1024, sync = critical_section, {args})]\n\
         struct Alloc;\n"
    );
    std::fs::write(out.join("general.rs"), code).unwrap();
}

/// The arguments of `lite_alloc::General`'s attribute: in the attributes
/// right above `pub struct General;`, the `lite_alloc(...)` applied without
/// the crate feature `check` (`#[cfg_attr(not(feature = "check"),
/// lite_alloc(...))]`), or a plain `#[lite_alloc(...)]`.
fn general_args(source: &str) -> Option<String> {
    let at = source.find("pub struct General;")?;
    // The attributes: back to the last doc comment or blank line.
    let lines: Vec<&str> = source[..at].lines().collect();
    let first = lines
        .iter()
        .rposition(|l| l.trim().is_empty() || l.trim_start().starts_with("///"))?
        + 1;
    let attributes = lines[first..].join(" ");
    let from = match attributes.find("not(feature = \"check\")") {
        Some(unchecked) => unchecked + attributes[unchecked..].find("lite_alloc(")?,
        None => attributes.find("#[lite_alloc(")? + 2,
    } + "lite_alloc(".len();
    // To the parenthesis that closes `lite_alloc(`.
    let mut depth = 1;
    let end = attributes[from..].find(|c| {
        depth += match c {
            '(' | '[' => 1,
            ')' | ']' => -1,
            _ => 0,
        };
        depth == 0
    })? + from;
    Some(
        attributes[from..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}
