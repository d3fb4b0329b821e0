//! With the `max-memory` feature, the module declares a maximum of 64 MiB of
//! linear memory, so that `test_out_of_memory` really runs out.
fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_MAX_MEMORY");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    if wasm && std::env::var_os("CARGO_FEATURE_MAX_MEMORY").is_some() {
        println!("cargo:rustc-link-arg=--max-memory=67108864");
    }
}
