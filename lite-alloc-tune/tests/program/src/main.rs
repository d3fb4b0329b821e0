//! A program whose allocations change shape as it runs: a map of strings
//! and small vectors is built, printed into one growing string, half
//! dropped, and rebuilt with other sizes; a queue of buffers of many sizes
//! comes and goes meanwhile.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

include!(concat!(env!("OUT_DIR"), "/allocator.rs"));

fn main() {
    #[cfg(not(target_os = "wasi"))]
    compile_error!("built for wasm32-wasip1");
    record(true);
    let mut map: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for i in 0..40_000u32 {
        map.insert(
            format!("entry-{:x}", i.wrapping_mul(2_654_435_761)),
            vec![i; (i % 11) as usize],
        );
    }
    let mut text = String::new();
    for (key, values) in &map {
        let _ = writeln!(text, "{key}: {values:?}");
    }
    map.retain(|key, _| key.len() % 2 == 0);
    let mut queue: VecDeque<Vec<u8>> = VecDeque::new();
    for i in 0..20_000usize {
        queue.push_back(vec![i as u8; 16 + (i * 7919) % 3000]);
        if queue.len() > 300 {
            queue.pop_front();
        }
        if i % 2 == 0 {
            map.insert(format!("later-{i}"), vec![0; i % 40]);
        }
    }
    let checksum = text.len() + map.len() + queue.iter().map(Vec::len).sum::<usize>();
    println!("{checksum}");
    record(false);
}
