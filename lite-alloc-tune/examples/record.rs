//! Records a small program's allocations (strings, a map, vectors growing):
//!
//!   cargo run -p lite-alloc-tune --example record -- example.trace
//!   lite-alloc-tune example.trace
//!
//! A program of yours records the same way: wrap its global allocator in a
//! `Recorder`, give it the file to stream to first thing, and finish the
//! trace last thing. On the host the sizes are the host's (pointers of 8
//! bytes); record on wasm32 for exact predictions (see the README).

use std::collections::BTreeMap;

use lite_alloc::record::Recorder;

#[global_allocator]
static ALLOC: Recorder<std::alloc::System> = Recorder::new(std::alloc::System);

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "example.trace".into());
    ALLOC.stream_to_file(std::fs::File::create(&path)?)?;
    let mut map = BTreeMap::new();
    for i in 0..20_000u64 {
        map.insert(format!("entry-{:x}", i * 7919), vec![i; (i % 7) as usize]);
    }
    let mut text = String::new();
    for (key, values) in &map {
        text.push_str(key);
        text.push_str(&format!("{values:?}\n"));
    }
    drop(map);
    println!("{} bytes of text", text.len());
    ALLOC.finish()?;
    println!("trace written to {path}");
    Ok(())
}
