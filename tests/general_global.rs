//! `lite_alloc::General` as the global allocator of a program, on the host
//! (its default memory there: an 8 MiB arena, or the system's allocator
//! when lite-alloc's `std` feature is on, as it is when the whole workspace
//! is built), running ordinary std code; then a churn of large blocks that
//! only fits the arena because they are reused.

use std::collections::BTreeMap;

#[global_allocator]
static ALLOC: lite_alloc::General = lite_alloc::General::new();

#[test]
fn ordinary_std_code_runs() {
    // Smaller under Miri, which is slow.
    let n: u64 = if cfg!(miri) { 100 } else { 10_000 };
    let mut v: Vec<u64> = Vec::new();
    for i in 0..n {
        v.push(i);
    }
    assert_eq!(v.iter().sum::<u64>(), (n - 1) * n / 2);

    let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    let joined = words.join(" ");
    assert_eq!(joined.split(' ').count() as u64, n);

    let mut map = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        map.insert(w.clone(), i);
    }
    for w in words.iter().step_by(3) {
        map.remove(w);
    }
    assert_eq!(map.len() as u64, n - n.div_ceil(3));

    // Blocks smaller than a free-list link, freed and handed out again.
    let bytes: Vec<Box<u8>> = (0..100).map(Box::new).collect();
    drop(bytes);
    let shorts: Vec<Box<u16>> = (0..100).map(Box::new).collect();
    assert_eq!(shorts.iter().map(|b| **b as u32).sum::<u32>(), 4950);

    let boxes: Vec<Box<[u8; 40]>> = (0..n).map(|i| Box::new([i as u8; 40])).collect();
    assert_eq!(
        boxes.iter().map(|b| b[39] as u64).sum::<u64>(),
        (0..n).map(|i| i % 256).sum()
    );
}

/// Large blocks come and go far beyond an 8 MiB arena: `General` reuses
/// them (`Default` would run out of the arena).
#[test]
fn large_blocks_are_reused() {
    let rounds: usize = if cfg!(miri) { 20 } else { 2000 };
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for i in 0..rounds {
        let len = 1000 + (i * 7919) % 60_000;
        let block = vec![i as u8; len];
        assert_eq!(block[len - 1], i as u8);
        if kept.len() == 16 {
            kept.swap_remove(i % 16);
        }
        kept.push(block);
    }
    assert_eq!(kept.len(), 16);
}

/// The bytes of the chunk serving a block of `size` bytes under General:
/// with its header word, rounded up to two words, at least four.
fn chunk_bytes(size: usize) -> usize {
    let word = size_of::<usize>();
    ((size + word + 2 * word - 1) & !(2 * word - 1)).max(4 * word)
}

/// The address of `value`.
fn addr<T>(value: &T) -> usize {
    std::ptr::from_ref(value).addr()
}

/// Boxes dropped by value, so that their pointer is still protected while
/// the freed chunk's links and footer are written: the words inside the
/// block go through that pointer. Four boxes side by side (retried until
/// they are: other tests' blocks come and go), dropped so that one chunk
/// is freed between two in use, the one before it merges forwards with it
/// (its links inside the first box), and the one after merges backwards
/// with both (its footer inside the third box, which is three words long on
/// every target). Of a word or more (a smaller box: docs/testing.md). Under
/// Miri, no undefined behaviour.
#[test]
fn boxes_dropped_by_value() {
    // Made before the loop, so that pushing allocates nothing.
    let mut held = Vec::with_capacity(64);
    let mut kept = Vec::with_capacity(8);
    while kept.len() < 8 {
        let i = kept.len();
        let word = Box::new(i as u64);
        let bytes = Box::new([i as u8; 40]);
        let after = Box::new([i; 3]);
        let guard = Box::new(i as u64);
        let words = size_of::<[usize; 3]>();
        let side_by_side = addr(&*bytes) == addr(&*word) + chunk_bytes(8)
            && addr(&*after) == addr(&*bytes) + chunk_bytes(40)
            && addr(&*guard) == addr(&*after) + chunk_bytes(words);
        if !side_by_side {
            assert!(
                held.len() < held.capacity(),
                "the boxes never came side by side"
            );
            held.push((word, bytes, after, guard));
            continue;
        }
        std::mem::drop(bytes);
        std::mem::drop(word);
        std::mem::drop(after);
        kept.push(guard);
    }
    assert_eq!(kept.iter().map(|b| **b).sum::<u64>(), 28);
}
