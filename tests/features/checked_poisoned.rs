//! The misuse that poisons a checked heap, reported by the default hook
//! when the checked type is the program's `#[global_allocator]`.
//!
//! A stale pointer writes a free list's link after its block left the
//! quarantine, so the heap hands out a live block. The checked layer stops
//! using the heap and reports the misuse; std's panic then builds its
//! message in a `String`, from this same allocator, which must still hand
//! out that memory (from its reserve) for the message to be printed.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;

use lite_alloc::lite_alloc;

/// Memory from the operating system, as a host program's: once the heap
/// is poisoned nothing freed is reused, and the backtrace that std prints
/// after a panic that cannot unwind takes tens of MiB to symbolise.
#[lite_alloc(large = coalesce, check, memory = system, sync = spin)]
struct Checked;

#[global_allocator]
static ALLOC: Checked = Checked::new();

const CHILD: &str = "LITE_ALLOC_POISONED_CHILD";

/// The child prints the misuse's message, then aborts.
#[test]
#[cfg_attr(any(miri, target_os = "wasi"), ignore = "spawns a process")]
fn the_default_hook_prints_the_misuse_that_poisons_the_heap() {
    for backtrace in ["0", "1"] {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("RUST_BACKTRACE", backtrace)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read as the child writes, so that a full pipe never stops it.
        let read = |mut pipe: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                pipe.read_to_string(&mut text).unwrap();
                text
            })
        };
        let stdout = read(Box::new(child.stdout.take().unwrap()));
        let stderr = read(Box::new(child.stderr.take().unwrap()));
        // A report that cannot get memory can leave std's panic waiting on
        // its own backtrace lock: a hang, which fails here instead of
        // holding up the suite.
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > std::time::Duration::from_secs(120) {
                child.kill().unwrap();
                panic!("RUST_BACKTRACE={backtrace}: the child hung");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let output = std::process::Output {
            status,
            stdout: stdout.join().unwrap().into_bytes(),
            stderr: stderr.join().unwrap().into_bytes(),
        };
        check_child(&output, backtrace);
    }
}

/// The child's output, run with `RUST_BACKTRACE` set to `backtrace`.
fn check_child(output: &std::process::Output, backtrace: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("poisoning"),
        "RUST_BACKTRACE={backtrace}: the child ran:\n{stdout}{stderr}"
    );
    let expected = "lite-alloc: checked_poisoned::Checked: use after free:";
    assert!(
        stderr.contains(expected) && stderr.contains("again while it is live"),
        "RUST_BACKTRACE={backtrace}: {expected} ... again while it is live, on stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("memory allocation of"),
        "RUST_BACKTRACE={backtrace}: the report allocated nothing the allocator refused:\n{stderr}"
    );
    lite_alloc_tests::assert_aborted(
        output.status,
        &format!("RUST_BACKTRACE={backtrace}\n{stderr}"),
    );
}

/// Run by the test above in a process of its own; does nothing otherwise.
#[test]
fn child() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    println!("poisoning");
    let small = Layout::from_size_align(24, 8).unwrap();
    // SAFETY: the misuse under test: a write to a freed block, in the
    // checked type's arena.
    unsafe {
        let stale = ALLOC.alloc(small);
        ALLOC.dealloc(stale, small);
        // Blocks of another bin, freed, push it out of the quarantine into
        // its bin's free list.
        for i in 0..400 {
            drop(black_box(Vec::<u8>::with_capacity(40 + i % 7)));
        }
        let live = ALLOC.alloc(Layout::from_size_align(40, 8).unwrap());
        // The stale write: the free list's link now leads to a live block.
        stale.cast::<usize>().write(live.addr());
        let _first = ALLOC.alloc(small);
        let _second = ALLOC.alloc(small);
    }
    println!("not reported");
    std::process::exit(0);
}
