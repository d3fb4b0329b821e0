//! With the feature `candidate`, the global allocator is the `#[lite_alloc]`
//! configuration whose arguments are in the environment variable
//! LITE_ALLOC_CANDIDATE: any configuration lite-alloc-tune replayed can be
//! built and measured (bench/tune.mjs). Without it, nothing.

fn main() {
    println!("cargo:rerun-if-env-changed=LITE_ALLOC_CANDIDATE");
    let code = if std::env::var_os("CARGO_FEATURE_CANDIDATE").is_some() {
        let args = std::env::var("LITE_ALLOC_CANDIDATE").unwrap_or_else(|_| {
            panic!(
                "the feature `candidate` takes the attribute's arguments from LITE_ALLOC_CANDIDATE"
            )
        });
        format!(
            "/// The configuration given in LITE_ALLOC_CANDIDATE.\n\
             #[lite_alloc::lite_alloc({args})]\npub struct Candidate;\n\n\
             #[global_allocator]\nstatic ALLOC: Candidate = Candidate::new();\n"
        )
    } else {
        String::new()
    };
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("candidate.rs"), code).unwrap();
}
