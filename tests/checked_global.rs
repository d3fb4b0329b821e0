//! A whole program whose `#[global_allocator]` is a checked type: the test
//! harness, its threads and ordinary std code (growing vectors, strings,
//! maps, trees of boxes, boxes smaller than a pointer) allocate through it,
//! and not one misuse is reported; its table and quarantine agree with the
//! heap (`verify()`). Under Miri it also shows that the checked layer
//! writes into a block being freed only through the caller's pointer.

use std::collections::BTreeMap;

use lite_alloc::lite_alloc;

/// Bins in front of chunks, in-place realloc, a spin lock (the harness runs
/// tests on threads).
#[lite_alloc(
    bins = [16, 32, 64, 128, 256],
    large = coalesce,
    realloc,
    check,
    memory = arena(if cfg!(miri) { 16 << 20 } else { 256 << 20 }),
    sync = spin
)]
struct Checked;

#[global_allocator]
static ALLOC: Checked = Checked::new();

/// Every test ends here: no misuse so far, and the heap and the layer
/// consistent.
fn no_misuse() {
    Checked::verify();
    assert_eq!(Checked::checks().misuses, 0);
}

enum Tree {
    Leaf(u32),
    Node(Box<Tree>, Box<Tree>),
}

fn build(depth: u32, seed: u32) -> Tree {
    if depth == 0 {
        Tree::Leaf(seed)
    } else {
        Tree::Node(
            Box::new(build(depth - 1, seed * 2)),
            Box::new(build(depth - 1, seed * 2 + 1)),
        )
    }
}

fn sum(tree: &Tree) -> u64 {
    match tree {
        Tree::Leaf(value) => *value as u64,
        Tree::Node(left, right) => sum(left) + sum(right),
    }
}

#[test]
fn vectors_and_strings() {
    let n: u64 = if cfg!(miri) { 300 } else { 200_000 };
    let mut v = Vec::new();
    for i in 0..n {
        v.push(i);
    }
    assert_eq!(v.iter().sum::<u64>(), (n - 1) * n / 2);
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v, (0..10).collect::<Vec<_>>());
    let words: Vec<String> = (0..n / 10).map(|i| format!("w{i}")).collect();
    assert_eq!(words.join(" ").split(' ').count() as u64, n / 10);
    no_misuse();
}

#[test]
fn maps_and_trees() {
    let n: u64 = if cfg!(miri) { 100 } else { 50_000 };
    let mut map = BTreeMap::new();
    for i in 0..n {
        map.insert(format!("key{:08}", (i * 7919) % n), i);
    }
    for i in (0..n).step_by(2) {
        map.remove(&format!("key{i:08}"));
    }
    assert_eq!(map.len() as u64, n / 2);
    let depth = if cfg!(miri) { 5 } else { 14 };
    for round in 0..3 {
        let tree = build(depth, round);
        let leaves: u64 = (0..1u64 << depth)
            .map(|i| round as u64 * (1 << depth) + i)
            .sum();
        assert_eq!(sum(&tree), leaves);
    }
    no_misuse();
}

#[test]
fn boxes_smaller_than_a_pointer() {
    let bytes: Vec<Box<u8>> = (0..200).map(Box::new).collect();
    assert_eq!(bytes.iter().map(|b| **b as u32).sum::<u32>(), 199 * 200 / 2);
    drop(bytes);
    let shorts: Vec<Box<u16>> = (0..200).map(Box::new).collect();
    drop(shorts);
    no_misuse();
}

#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn threads() {
    let rounds: u64 = if cfg!(miri) { 20 } else { 5_000 };
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut total = 0;
                for i in 0..rounds {
                    let v: Vec<u64> = (0..i % 50).map(|x| x + t).collect();
                    total += v.iter().sum::<u64>();
                }
                total
            })
        })
        .collect();
    for (t, handle) in handles.into_iter().enumerate() {
        let expected: u64 = (0..rounds)
            .map(|i| (0..i % 50).map(|x| x + t as u64).sum::<u64>())
            .sum();
        assert_eq!(handle.join().unwrap(), expected);
    }
    no_misuse();
}

/// The environment variable that makes `child` misuse the global allocator.
const CHILD: &str = "LITE_ALLOC_CHECKED_GLOBAL_CHILD";

/// With the default hook a report aborts the program once the panic hook
/// has run, and a panic hook allocates (std's prints a backtrace). A
/// misuse that those allocations meet is not reported: the program is
/// already aborting. From a review: `verify()` found a write after free in
/// a block waiting in the quarantine; the backtrace's allocations pushed
/// the block out of the quarantine, where it was found again, and that
/// second panic aborted the program at once ("panicked while processing
/// panic"), before the backtrace of the first was printed.
#[test]
#[cfg_attr(any(miri, target_os = "wasi"), ignore = "spawns a process")]
fn a_misuse_met_while_aborting_is_not_reported() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("misusing"),
        "the child ran\n{stdout}{stderr}"
    );
    let reports = stderr
        .lines()
        .filter(|line| line.starts_with("lite-alloc: checked_global::Checked: "))
        .count();
    assert_eq!(reports, 1, "one report:\n{stderr}");
    assert!(
        stderr.contains("use after free: the block at 0x") && stderr.contains("found by verify()"),
        "{stderr}"
    );
    assert!(stderr.contains("stack backtrace:"), "{stderr}");
    // The same block met again as it left the quarantine: counted, not
    // reported, and the first message kept.
    assert!(stderr.contains("misuses: 2"), "{stderr}");
    let kept = stderr.lines().find_map(|line| line.strip_prefix("kept: "));
    assert!(
        kept.is_some_and(|kept| kept.ends_with("found by verify()")),
        "{stderr}"
    );
    assert!(stderr.contains("the panic hook ran to its end"), "{stderr}");
    assert!(!stderr.contains("while processing panic"), "{stderr}");
    assert!(!stdout.contains("verify() returned"), "{stdout}");
    lite_alloc_tests::assert_aborted(output.status, &stderr);
}

/// Run by `a_misuse_met_while_aborting_is_not_reported` in a process of its
/// own: a write after free found by `verify()`, under a panic hook that
/// frees more blocks than the quarantine holds once it has printed the
/// message. Does nothing otherwise.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    println!("misusing");
    let printing = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        printing(info);
        let blocks: Vec<Vec<u8>> = (0..2 * lite_alloc::check::QUARANTINE_BLOCKS)
            .map(|i| vec![i as u8; 40])
            .collect();
        drop(blocks);
        let mut kept = [0; lite_alloc::check::MESSAGE_BYTES];
        eprintln!("kept: {}", lite_alloc::check::last_message(&mut kept));
        eprintln!("misuses: {}", Checked::checks().misuses);
        eprintln!("the panic hook ran to its end");
    }));
    let layout = std::alloc::Layout::from_size_align(40, 8).unwrap();
    // SAFETY: a live block of the global allocator; the write after free
    // is the misuse under test, on memory of its arena. Volatile: the
    // compiler knows `dealloc` frees the block and may drop a plain write
    // after it (it did with other codegen units).
    unsafe {
        let block = std::alloc::alloc(layout);
        assert!(!block.is_null());
        std::alloc::dealloc(block, layout);
        block.add(3).write_volatile(9);
    }
    Checked::verify();
    println!("verify() returned");
}
