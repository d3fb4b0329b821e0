//! The checked mode (`#[lite_alloc(check)]`) on the host, for the four kinds
//! of heap (bins only, `large = reuse`, `large = coalesce` with bins, and
//! no bins): each misuse, on a block of a bin and on a large one, caught on
//! the call where it happens with the expected message, left alone when
//! the hook returns (the allocator goes on working, its invariants intact);
//! and with the default hook, the message on stderr and an abort, never a
//! panic unwinding out of `GlobalAlloc`.
//!
//! The misuses are real ones (a block freed twice, written past its end or
//! after it was freed), on memory of the allocator's own arena: no
//! undefined behaviour for the Rust abstract machine, so this runs under
//! Miri too.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::RefCell;

use lite_alloc::check::{self, Call, Checks, Kind, MESSAGE_BYTES, Misuse, QUARANTINE_BLOCKS};
use lite_alloc::lite_alloc;
use lite_alloc_tests::{Opaque, Plan, all_equal, check_random_ops};

const ARENA: usize = if cfg!(miri) { 4 << 20 } else { 16 << 20 };

/// Bins only, large blocks never reused (`lite_alloc::Default`'s line).
#[lite_alloc(check, memory = arena(ARENA))]
struct BinsOnly;

/// Large blocks reused in size classes, in-place realloc.
#[lite_alloc(check, large = reuse, realloc, memory = arena(ARENA))]
struct Reuse;

/// Bins in front of chunks.
#[lite_alloc(bins = [16, 32, 64, 128, 256], large = coalesce, realloc, check, memory = arena(ARENA))]
struct Coalesce;

/// No bins: every block a chunk (`lite_alloc::General`'s line).
#[lite_alloc(bins = [], large = coalesce, realloc, growth = 1/32, check, memory = arena(ARENA))]
struct NoBins;

thread_local! {
    /// The misuses reported on this thread, with their messages.
    static SEEN: RefCell<Vec<(Misuse, String)>> = const { RefCell::new(Vec::new()) };
}

/// The hook of these tests: records the misuse and returns. The static
/// buffer holds the same message (the tests that report misuses take
/// `SERIAL`, so no other thread reports in between).
fn record(misuse: &Misuse) {
    let message = misuse.to_string();
    let mut buffer = [0; MESSAGE_BYTES];
    let kept = check::last_message(&mut buffer);
    let expected = &message[..message.len().min(MESSAGE_BYTES)];
    assert_eq!(kept, expected, "the static buffer holds the message");
    SEEN.with(|seen| seen.borrow_mut().push((*misuse, message)));
}

/// Taken by every test that reports misuses.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take() -> Vec<(Misuse, String)> {
    SEEN.with(|seen| std::mem::take(&mut *seen.borrow_mut()))
}

/// The one misuse reported since the last look.
#[track_caller]
fn one(what: &str) -> (Misuse, String) {
    let mut seen = take();
    assert_eq!(seen.len(), 1, "{what}: expected one misuse, got {seen:#?}");
    seen.pop().unwrap()
}

#[track_caller]
fn none(what: &str) {
    let seen = take();
    assert!(seen.is_empty(), "{what}: expected no misuse, got {seen:#?}");
}

/// The size of the blocks that push a block of `size` out of the
/// quarantine: another bin, or another large class.
fn filler(size: usize) -> usize {
    if size < 100 { 40 } else { 200 }
}

/// One checked type, and its associated functions.
struct Under<A: 'static> {
    alloc: &'static A,
    path: &'static str,
    verify: fn(),
    checks: fn() -> Checks,
}

impl<A: GlobalAlloc> Under<A> {
    fn alloc(&self, size: usize, align: usize) -> (*mut u8, Layout) {
        let layout = Layout::from_size_align(size, align).unwrap();
        // SAFETY: a valid, non-zero layout.
        let block = unsafe { self.alloc.alloc(layout) };
        assert!(!block.is_null());
        // SAFETY: the block holds `size` bytes.
        unsafe { block.write_bytes(0x11, size) };
        (block, layout)
    }

    /// Frees `QUARANTINE_BLOCKS` blocks of another size: every block freed
    /// before leaves the quarantine.
    fn push_out(&self, size: usize) {
        let blocks: Vec<_> = (0..QUARANTINE_BLOCKS)
            .map(|_| self.alloc(filler(size), 8))
            .collect();
        for (block, layout) in blocks {
            // SAFETY: live blocks with their layouts.
            unsafe { self.alloc.dealloc(block, layout) };
        }
    }

    /// Each misuse on a block of `size` bytes (`reused`: the allocator
    /// hands such a block out again once it is freed).
    fn misuses(&self, size: usize, reused: bool) {
        let path = self.path;

        // A double free, at once and through realloc.
        let (block, layout) = self.alloc(size, 8);
        let addr = block.addr();
        // SAFETY: the block is live.
        unsafe { self.alloc.dealloc(block, layout) };
        none("a free");
        // SAFETY: the block was freed: the misuse under test.
        unsafe { self.alloc.dealloc(block, layout) };
        let (misuse, message) = one("a double free");
        assert_eq!(misuse.kind, Kind::DoubleFree);
        assert_eq!(
            message,
            format!(
                "lite-alloc: {path}: double free: dealloc({addr:#x}, size {size}, align 8) of the block at {addr:#x} ({size} bytes, align 8), which was already freed"
            )
        );
        // SAFETY: as above.
        let moved = unsafe { self.alloc.realloc(block, layout, size * 2) };
        assert!(moved.is_null(), "a misused realloc returns null");
        let (misuse, message) = one("a realloc after free");
        assert_eq!(misuse.kind, Kind::DoubleFree);
        assert_eq!(misuse.call, Call::Realloc { new_size: size * 2 });
        assert!(
            message.contains(&format!(
                "realloc({addr:#x}, size {size}, align 8, new size {}) of the block",
                size * 2
            )),
            "{message}"
        );
        (self.verify)();

        // A foreign pointer: outside every block, inside a live one, inside
        // a freed one.
        let mut local = [7u64; 8];
        let outside = local.as_mut_ptr().cast::<u8>();
        // SAFETY: not a block of the allocator: the misuse under test.
        unsafe { self.alloc.dealloc(outside, layout) };
        let (misuse, message) = one("a stack pointer");
        assert_eq!(misuse.kind, Kind::ForeignPointer);
        assert_eq!(
            message,
            format!(
                "lite-alloc: {path}: foreign pointer: dealloc({:#x}, size {size}, align 8): no block of this allocator starts there (it lies in no block the allocator tracks: never handed out here, or freed and already released from the quarantine)",
                outside.addr()
            )
        );
        assert_eq!(local, [7; 8], "nothing was written at the foreign pointer");
        let (live, live_layout) = self.alloc(size, 8);
        // SAFETY: as above.
        unsafe { self.alloc.dealloc(live.wrapping_add(8), live_layout) };
        let (misuse, message) = one("a pointer into a live block");
        assert_eq!(misuse.kind, Kind::ForeignPointer);
        assert!(
            message.ends_with(&format!(
                "no block of this allocator starts there (8 bytes into the live block at {:#x} ({size} bytes, align 8))",
                live.addr()
            )),
            "{message}"
        );
        // SAFETY: as above.
        let moved = unsafe { self.alloc.realloc(live.wrapping_add(16), live_layout, 8) };
        assert!(moved.is_null());
        assert_eq!(
            one("realloc of an inner pointer").0.kind,
            Kind::ForeignPointer
        );
        // SAFETY: as above; `block` was freed and waits in the quarantine.
        unsafe { self.alloc.dealloc(block.wrapping_add(4), layout) };
        let (_, message) = one("a pointer into a freed block");
        assert!(
            message.ends_with(&format!(
                "(4 bytes into the freed block at {addr:#x} ({size} bytes, align 8))"
            )),
            "{message}"
        );

        // A wrong layout: another size in the same bin or class, another
        // alignment; realloc too. The block stays live and is freed right
        // afterwards.
        for wrong in [
            Layout::from_size_align(size + 1, 8).unwrap(),
            Layout::from_size_align(size - 1, 8).unwrap(),
            Layout::from_size_align(size, 16).unwrap(),
        ] {
            // SAFETY: a live block with the wrong layout: the misuse.
            unsafe { self.alloc.dealloc(live, wrong) };
            let (misuse, message) = one("a wrong layout");
            assert_eq!(misuse.kind, Kind::WrongLayout);
            assert_eq!(
                message,
                format!(
                    "lite-alloc: {path}: wrong layout: dealloc({:#x}, size {}, align {}) of the block at {:#x}, allocated with size {size}, align 8",
                    live.addr(),
                    wrong.size(),
                    wrong.align(),
                    live.addr()
                )
            );
        }
        // SAFETY: as above.
        let moved = unsafe {
            self.alloc
                .realloc(live, Layout::from_size_align(size, 4).unwrap(), 1)
        };
        assert!(moved.is_null());
        assert_eq!(one("realloc with a wrong layout").0.kind, Kind::WrongLayout);
        // SAFETY: the block is live, and its contents were kept.
        unsafe {
            assert!(all_equal(std::slice::from_raw_parts(live, size), 0x11));
            self.alloc.dealloc(live, live_layout);
        }
        none("the right layout");

        // An overrun, caught by verify(), at dealloc and at realloc; the
        // block is left alone, and freed once the byte is put back.
        for at in [0, 3, 7] {
            let (block, layout) = self.alloc(size, 8);
            // SAFETY: the byte lies in the block's canary, memory of the
            // allocator's arena: writing there is the misuse under test.
            let saved = unsafe { block.add(size + at).replace(0) };
            (self.verify)();
            let (misuse, message) = one("an overrun found by verify()");
            assert_eq!((misuse.kind, misuse.call), (Kind::Overrun, Call::Verify));
            assert!(message.ends_with("found by verify()"), "{message}");
            // SAFETY: the overrun block, live.
            unsafe { self.alloc.dealloc(block, layout) };
            let (misuse, message) = one("an overrun");
            assert_eq!(misuse.offset, Some(size + at));
            assert_eq!(
                message,
                format!(
                    "lite-alloc: {path}: overrun: the block at {:#x} ({size} bytes, align 8) was written past its end (byte {} changed), found by dealloc({:#x}, size {size}, align 8)",
                    block.addr(),
                    size + at,
                    block.addr()
                )
            );
            // SAFETY: as above; the free was ignored, the block is live.
            let moved = unsafe { self.alloc.realloc(block, layout, size + 100) };
            assert!(moved.is_null());
            let (misuse, _) = one("an overrun found by realloc");
            assert_eq!(misuse.kind, Kind::Overrun);
            // SAFETY: as above.
            unsafe {
                block.add(size + at).write(saved);
                self.alloc.dealloc(block, layout);
            }
            none("a free after the canary was put back");
        }

        // A write after free, caught by verify() and when the block leaves
        // the quarantine; in its requested bytes and in its canary.
        for at in [0, 5, size - 1, size + 2] {
            let (block, layout) = self.alloc(size, 8);
            // SAFETY: a live block.
            unsafe { self.alloc.dealloc(block, layout) };
            // SAFETY: the freed block, memory of the allocator's arena
            // waiting in the quarantine: the misuse under test.
            unsafe { block.add(at).write(0x42) };
            (self.verify)();
            let (misuse, message) = one("a write after free found by verify()");
            assert_eq!((misuse.kind, misuse.offset), (Kind::UseAfterFree, Some(at)));
            assert!(message.ends_with("found by verify()"), "{message}");
            self.push_out(size);
            let (misuse, message) = one("a write after free");
            assert_eq!(misuse.call, Call::Dealloc);
            let expected = format!(
                "lite-alloc: {path}: use after free: the block at {:#x} ({size} bytes, align 8) was written after it was freed (byte {at} changed), found before it was handed out again, in dealloc(0x",
                block.addr(),
            );
            assert!(
                message.starts_with(&expected),
                "{message}\nexpected {expected}..."
            );
            assert!(
                message.ends_with(&format!(", size {}, align 8)", filler(size))),
                "{message}"
            );
            // Out of circulation: a later free of the stale pointer is
            // foreign.
            // SAFETY: the misuse under test.
            unsafe { self.alloc.dealloc(block, layout) };
            assert_eq!(
                one("a free of a retired block").0.kind,
                Kind::ForeignPointer
            );
        }

        // A block freed, handed out again, and freed by its old owner: the
        // new owner's free is a double free, and its writes a use after free.
        if !reused {
            (self.verify)();
            none("verify() of a heap without misuse");
            return;
        }
        let (guard, guard_layout) = self.alloc(size, 8);
        let (old, layout) = self.alloc(size, 8);
        // SAFETY: a live block.
        unsafe { self.alloc.dealloc(old, layout) };
        self.push_out(size);
        let mut taken = Vec::new();
        let new = loop {
            let (block, _) = self.alloc(size, 8);
            if block == old {
                break block;
            }
            taken.push(block);
            assert!(
                taken.len() < 4 * QUARANTINE_BLOCKS,
                "{old:p} is never handed out again"
            );
        };
        // SAFETY: the old owner's stale free: a free of the new owner's
        // block, which the allocator cannot tell from the new owner's.
        unsafe { self.alloc.dealloc(old, layout) };
        none("the old owner's free, of a block handed out again");
        // SAFETY: the new owner writes to its block, which was freed.
        unsafe { new.write(0x99) };
        // SAFETY: the new owner's free: a double free now.
        unsafe { self.alloc.dealloc(new, layout) };
        assert_eq!(one("the new owner's free").0.kind, Kind::DoubleFree);
        self.push_out(size);
        let (misuse, _) = one("the new owner's write");
        assert_eq!(misuse.kind, Kind::UseAfterFree);
        assert_eq!(misuse.block.map(|block| block.address), Some(new.addr()));
        for block in taken {
            // SAFETY: live blocks.
            unsafe { self.alloc.dealloc(block, layout) };
        }
        // SAFETY: as above.
        unsafe { self.alloc.dealloc(guard, guard_layout) };
        none("frees of live blocks");
        (self.verify)();
        none("verify() of a heap without misuse");
    }

    /// The allocator goes on working after every misuse.
    fn still_works(&self, seed: u64) {
        let before = (self.checks)();
        let plan = Plan {
            seed,
            ops: if cfg!(miri) { 300 } else { 5_000 },
            max_size: 5_000,
            max_align_log2: 8,
            max_live: 100,
        };
        // SAFETY: the model frees every block it allocates.
        unsafe { check_random_ops(self.alloc, &plan, &Opaque) };
        (self.verify)();
        none("the model after the misuses");
        let after = (self.checks)();
        assert_eq!(after.live_blocks, before.live_blocks, "{after:?}");
        assert_eq!(after.misuses, before.misuses, "{after:?}");
    }
}

macro_rules! misuse_tests {
    ($test:ident, $type:ident, large_reused = $reused:expr) => {
        #[test]
        fn $test() {
            let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
            check::set_hook(record);
            let under = Under {
                alloc: &$type,
                path: concat!(module_path!(), "::", stringify!($type)),
                verify: $type::verify,
                checks: $type::checks,
            };
            // Under Miri, which is slow, the large block only.
            if !cfg!(miri) {
                under.misuses(24, true);
            }
            under.misuses(3000, $reused);
            let runs = if cfg!(miri) { 1 } else { 2 };
            let reused = (!cfg!(miri)) as usize + $reused as usize;
            assert_eq!(
                $type::checks().misuses,
                runs * MISUSES_PER_SIZE + reused * REUSED
            );
            under.still_works(1);
        }
    };
}

/// Misuses caught by one run of `Under::misuses`: double frees, foreign
/// pointers, wrong layouts, overruns, writes after free; and with a block
/// handed out again, `REUSED`.
const MISUSES_PER_SIZE: usize = 2 + 4 + 4 + 3 * 3 + 4 * 3;
const REUSED: usize = 2;

// Large blocks of 3000 bytes: never reused with bins only.
misuse_tests!(bins_only, BinsOnly, large_reused = false);
misuse_tests!(large_reuse, Reuse, large_reused = true);
misuse_tests!(coalesce, Coalesce, large_reused = true);
misuse_tests!(no_bins, NoBins, large_reused = true);

/// The type the child process misuses, with the default hook.
#[lite_alloc(check, memory = arena(1 << 20))]
struct Aborting;

/// The environment variable that makes `child` misuse `Aborting`.
const CHILD: &str = "LITE_ALLOC_CHECKED_CHILD";

/// With the default hook, each misuse prints its message (the panic hook
/// writes it to stderr) and aborts the process: nothing unwinds out of
/// `GlobalAlloc` into the caller, whose `catch_unwind` would catch it.
#[test]
#[cfg_attr(any(miri, target_os = "wasi"), ignore = "spawns a process")]
fn default_hook_prints_and_aborts() {
    for (kind, expected) in [
        ("double-free", "double free: dealloc(0x"),
        ("foreign", "foreign pointer: dealloc(0x"),
        ("wrong-layout", "wrong layout: dealloc(0x"),
        ("overrun", "overrun: the block at 0x"),
        ("use-after-free", "use after free: the block at 0x"),
    ] {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child", "--nocapture", "--test-threads=1"])
            .env(CHILD, kind)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stdout.contains(&format!("misusing: {kind}")),
            "{kind}: the child ran\n{stdout}{stderr}"
        );
        let line = format!("lite-alloc: checked::Aborting: {expected}");
        assert!(
            stderr.contains(&line),
            "{kind}: {line} on stderr:\n{stderr}"
        );
        assert!(
            !stdout.contains("unwound"),
            "{kind}: a panic unwound:\n{stdout}"
        );
        lite_alloc_tests::assert_aborted(output.status, &format!("{kind}\n{stderr}"));
    }
}

/// Run by `default_hook_prints_and_aborts` in a process of its own: makes
/// one misuse of `Aborting`, inside `catch_unwind`. Does nothing otherwise.
#[test]
fn child() {
    let Ok(kind) = std::env::var(CHILD) else {
        return;
    };
    println!("misusing: {kind}");
    let layout = Layout::from_size_align(40, 8).unwrap();
    let result = std::panic::catch_unwind(|| {
        // SAFETY: the misuses under test, on memory of `Aborting`'s arena.
        unsafe {
            let block = Aborting.alloc(layout);
            match kind.as_str() {
                "double-free" => {
                    Aborting.dealloc(block, layout);
                    Aborting.dealloc(block, layout);
                }
                "foreign" => Aborting.dealloc(block.wrapping_add(8), layout),
                "wrong-layout" => Aborting.dealloc(block, Layout::from_size_align(41, 8).unwrap()),
                "overrun" => {
                    block.add(40).write(0);
                    Aborting.dealloc(block, layout);
                }
                "use-after-free" => {
                    Aborting.dealloc(block, layout);
                    block.write(1);
                    Aborting::verify();
                }
                _ => unreachable!("{kind}"),
            }
        }
    });
    println!("unwound: {result:?}");
    std::process::exit(0);
}
