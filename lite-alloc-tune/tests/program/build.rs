//! The global allocator, from LITE_ALLOC_TEST_ALLOCATOR: `record` (the
//! recorder around wasi-libc's malloc, streaming to /out/program.trace),
//! `dlmalloc` (wasi-libc's malloc alone), or the arguments of a
//! `#[lite_alloc(...)]` attribute.

fn main() {
    println!("cargo:rerun-if-env-changed=LITE_ALLOC_TEST_ALLOCATOR");
    let chosen = std::env::var("LITE_ALLOC_TEST_ALLOCATOR")
        .expect("LITE_ALLOC_TEST_ALLOCATOR: record, dlmalloc or attribute arguments");
    let code = match chosen.as_str() {
        "record" => "#[global_allocator]\n\
             static ALLOC: lite_alloc::record::Recorder<std::alloc::System> =\n\
             \x20   lite_alloc::record::Recorder::new(std::alloc::System);\n\
             fn record(start: bool) {\n\
             \x20   if start {\n\
             \x20       let file = std::fs::File::create(\"/out/program.trace\").expect(\"/out preopened\");\n\
             \x20       ALLOC.stream_to_file(file).expect(\"writing the trace\");\n\
             \x20   } else {\n\
             \x20       ALLOC.finish().expect(\"writing the trace\");\n\
             \x20   }\n\
             }\n"
            .to_string(),
        "dlmalloc" => "fn record(_: bool) {}\n".to_string(),
        args => format!(
            "#[lite_alloc::lite_alloc({args})]\nstruct Chosen;\n\
             #[global_allocator]\nstatic ALLOC: Chosen = Chosen::new();\n\
             fn record(_: bool) {{}}\n"
        ),
    };
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("allocator.rs"), code).unwrap();
}
