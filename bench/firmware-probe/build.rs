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
    let args = general_line(&source)
        .unwrap_or_else(|| panic!("{lib}: no `#[lite_alloc(...)]` on `pub struct General;`"));
    let code = format!(
        "/// `lite_alloc::General`'s configuration ({args}) on a static arena,\n\
         /// locked with a critical section.\n\
         #[lite_alloc::lite_alloc(memory = arena(HEAP_BYTES), sync = critical_section, {args})]\n\
         struct Alloc;\n"
    );
    std::fs::write(out.join("general.rs"), code).unwrap();
}

include!("../../lite-alloc-tune/general_line.rs");
