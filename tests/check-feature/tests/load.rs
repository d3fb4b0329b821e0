//! The crate feature `check` makes `lite_alloc::Default` and
//! `lite_alloc::General` checked: a misuse of either is reported, naming
//! it. Under load, eight threads making a million random operations each
//! (alloc, alloc_zeroed, realloc, dealloc, every block's contents checked
//! before it is freed) on each type: not one misuse reported, and at the
//! end the checked layer's counts consistent with the threads' (no live
//! block, the quarantine within its bounds) and `verify()` passing.
//!
//! Run by `scripts/test.sh`: `cd tests/check-feature && cargo test --locked`.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

use lite_alloc::check::{self, Kind, Misuse, QUARANTINE_BLOCKS, QUARANTINE_BYTES};

/// Operations per thread (`LITE_ALLOC_LOAD_OPS` to change).
fn ops() -> usize {
    std::env::var("LITE_ALLOC_LOAD_OPS").map_or(1_000_000, |n| n.parse().expect("a whole number"))
}

const THREADS: usize = 8;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

/// Every misuse reported to `count`.
static MISUSES: AtomicUsize = AtomicUsize::new(0);

/// Taken by every test: they set the hook, and use the same two types.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn count(misuse: &Misuse) {
    eprintln!("{misuse}");
    MISUSES.fetch_add(1, Ordering::Relaxed);
}

/// One thread's work: `ops` random operations on `alloc`, at most 64
/// blocks live, sizes log-uniform up to `max_size`; every block filled with
/// its own byte and checked before it is freed or after it is moved.
fn churn<A: GlobalAlloc>(alloc: &A, seed: u64, ops: usize, max_size: usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::with_capacity(64);
    let max_log = usize::BITS - max_size.leading_zeros();
    let size = |rng: &mut Rng| {
        let log = rng.below(max_log as u64) as u32;
        ((1usize << log) + rng.below(1 << log) as usize).clamp(1, max_size)
    };
    let check = |block: *mut u8, len: usize, fill: u8| {
        // SAFETY: a live block of at least `len` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(block, len) };
        assert!(
            bytes.iter().all(|&b| b == fill),
            "a block lost its contents"
        );
    };
    for _ in 0..ops {
        let choice = rng.below(10);
        if (choice < 4 || live.len() == 64) && !live.is_empty() {
            let (block, layout, fill) = live.swap_remove(rng.below(live.len() as u64) as usize);
            check(block, layout.size(), fill);
            // SAFETY: a live block with its layout.
            unsafe { alloc.dealloc(block, layout) };
        } else if choice < 6 && !live.is_empty() {
            let i = rng.below(live.len() as u64) as usize;
            let (block, layout, fill) = live[i];
            let new_size = size(&mut rng);
            // SAFETY: a live block, and a valid new size.
            let moved = unsafe { alloc.realloc(block, layout, new_size) };
            assert!(!moved.is_null(), "out of memory");
            check(moved, layout.size().min(new_size), fill);
            // SAFETY: the block holds `new_size` bytes.
            unsafe { moved.write_bytes(fill, new_size) };
            live[i] = (
                moved,
                Layout::from_size_align(new_size, layout.align()).unwrap(),
                fill,
            );
        } else {
            let layout = Layout::from_size_align(size(&mut rng), 1 << rng.below(5)).unwrap();
            let zeroed = rng.below(4) == 0;
            // SAFETY: a valid, non-zero layout.
            let block = unsafe {
                if zeroed {
                    alloc.alloc_zeroed(layout)
                } else {
                    alloc.alloc(layout)
                }
            };
            assert!(!block.is_null(), "out of memory");
            if zeroed {
                check(block, layout.size(), 0);
            }
            let fill = rng.below(255) as u8 + 1;
            // SAFETY: the block holds `layout.size()` bytes.
            unsafe { block.write_bytes(fill, layout.size()) };
            live.push((block, layout, fill));
        }
    }
    for (block, layout, fill) in live {
        check(block, layout.size(), fill);
        // SAFETY: as above.
        unsafe { alloc.dealloc(block, layout) };
    }
}

/// Eight threads churning `alloc` at once.
fn load<A: GlobalAlloc + Sync>(alloc: &'static A, max_size: usize) {
    let ops = ops();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            scope.spawn(move || churn(alloc, 0x10AD + t as u64, ops, max_size));
        }
    });
}

macro_rules! under_load {
    ($test:ident, $type:ident, max_size = $max:expr) => {
        #[test]
        fn $test() {
            let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
            check::set_hook(count);
            let (before, reported) = (lite_alloc::$type::checks(), MISUSES.load(Ordering::Relaxed));
            load(&lite_alloc::$type, $max);
            lite_alloc::$type::verify();
            let checks = lite_alloc::$type::checks();
            assert_eq!(
                MISUSES.load(Ordering::Relaxed),
                reported,
                "no misuse reported"
            );
            assert_eq!(checks.misuses, before.misuses, "{checks:?}");
            assert_eq!(
                (checks.live_blocks, checks.live_bytes),
                (0, 0),
                "{checks:?}"
            );
            assert!(checks.quarantined_blocks <= QUARANTINE_BLOCKS, "{checks:?}");
            assert!(
                checks.quarantined_bytes <= QUARANTINE_BYTES + $max + check::CANARY,
                "{checks:?}"
            );
        }
    };
}

// `Default` never reuses blocks over 128 bytes: mostly small ones.
under_load!(default_under_load, Default, max_size = 160);
under_load!(general_under_load, General, max_size = 64 << 10);

/// The feature makes both types checked: a double free of each is
/// reported, naming the type.
#[test]
fn the_feature_checks_default_and_general() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    fn record(misuse: &Misuse) {
        if misuse.kind == Kind::DoubleFree {
            SEEN.lock().unwrap().push(misuse.to_string());
        } else {
            count(misuse);
        }
    }
    check::set_hook(record);
    let layout = Layout::from_size_align(24, 8).unwrap();
    // SAFETY: a double free, the misuse under test, caught.
    unsafe {
        for alloc in [
            &lite_alloc::Default as &dyn GlobalAlloc,
            &lite_alloc::General,
        ] {
            let block = alloc.alloc(layout);
            alloc.dealloc(block, layout);
            alloc.dealloc(block, layout);
        }
    }
    let seen = SEEN.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].starts_with("lite-alloc: lite_alloc::Default: double free: dealloc(0x"),
        "{}",
        seen[0]
    );
    assert!(
        seen[1].starts_with("lite-alloc: lite_alloc::General: double free: dealloc(0x"),
        "{}",
        seen[1]
    );
    drop(seen);
    check::set_hook(count);
}
