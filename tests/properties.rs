//! The six properties every configuration must have, each tested where it can
//! break: random operation sequences on several configurations, memory grown
//! behind the allocator's back, addresses at the top of the address space, out
//! of memory, alignment and zeroing, and threads.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

use lite_alloc::lite_alloc;
use lite_alloc::memory::Memory;
use lite_alloc_tests::sim::PAGE;
use lite_alloc_tests::{Opaque, Plan, all_equal, check_random_ops, scaled, sim_memory};

const SIM_BYTES: usize = 32 << 20;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Property 2: the very first allocation, aligned to more than a page, lies
/// wholly in memory the allocator grew (the documented design carves it past
/// the end of what it grew).
#[test]
fn alignment_above_a_page_stays_inside_grown_memory() {
    sim_memory!(Mem, SIM_BYTES);
    #[lite_alloc(memory = Mem)]
    struct A;
    let sim = Mem::sim();
    // Misalign the next page to 1 MiB, as an arbitrary memory size would.
    assert!(sim.grow_foreign(1));
    for (size, align) in [
        (100, 1 << 20),
        (1, 1 << 21),
        (70_000, 1 << 17),
        (16, 1 << 20),
    ] {
        let block = unsafe { A.alloc(layout(size, align)) };
        assert!(!block.is_null());
        assert_eq!(block as usize % align, 0);
        assert!(
            sim.owned_by_allocator(block as usize, size),
            "{size} bytes aligned to {align} outside grown memory"
        );
        unsafe { block.write_bytes(0x11, size) };
    }
    assert!(sim.foreign_intact());
}

/// Property 2: when someone else grows memory between two of our calls, the
/// new pages do not continue ours: neither a new block nor an in-place
/// realloc may reach into the foreign pages, and the heap stays whole (an
/// in-place growth that found its memory elsewhere leaves no stray bytes
/// among the chunks of the new region). Every kind of heap.
macro_rules! foreign_growth_is_never_used {
    ($test:ident, $($args:tt)*) => {
        #[test]
        fn $test() {
            sim_memory!(Mem, SIM_BYTES);
            #[lite_alloc(memory = Mem, realloc, $($args)*)]
            struct A;
            let sim = Mem::sim();
            unsafe {
                // Nearly fill our first page with one block at the top.
                let l = layout(PAGE - 64, 16);
                let top_block = A.alloc(l);
                assert!(!top_block.is_null());
                assert!(sim.grow_foreign(2));
                // Growing the top block in place would need the foreign pages.
                let grown = A.realloc(top_block, l, 3 * PAGE);
                assert!(!grown.is_null());
                assert_ne!(grown, top_block, "in-place growth into foreign pages");
                assert!(sim.owned_by_allocator(grown as usize, 3 * PAGE));
                grown.write_bytes(0x22, 3 * PAGE);
                A::verify();
                // Fresh blocks past the old end.
                for _ in 0..64 {
                    assert!(sim.grow_foreign(1));
                    let b = A.alloc(layout(1000, 8));
                    assert!(sim.owned_by_allocator(b as usize, 1000));
                    b.write_bytes(0x33, 1000);
                    A::verify();
                }
            }
            assert!(sim.foreign_intact(), "a foreign page was written");
        }
    };
}

foreign_growth_is_never_used!(foreign_growth_is_never_used,);
foreign_growth_is_never_used!(foreign_growth_is_never_used_reuse, large = reuse);
foreign_growth_is_never_used!(foreign_growth_is_never_used_coalesce, large = coalesce);
foreign_growth_is_never_used!(
    foreign_growth_is_never_used_chunks,
    bins = [],
    large = coalesce
);

/// Property 1, a defect of the documented design: growing the block at the
/// top in place to a size inside a larger bin must give it that bin's whole
/// capacity, or once freed into that bin and handed out again it overlaps the
/// block carved after it.
#[test]
fn in_place_growth_takes_the_whole_bin() {
    #[lite_alloc(memory = arena(65536), realloc)]
    struct A;
    unsafe {
        let small = layout(16, 8);
        let a = A.alloc(small);
        let grown = A.realloc(a, small, 100);
        assert_eq!(grown, a, "the top block grows in place");
        let b = A.alloc(small);
        b.write_bytes(0xBB, 16);
        A.dealloc(grown, layout(100, 8));
        let c = A.alloc(layout(128, 8));
        assert!(
            c as usize + 128 <= b as usize || b as usize + 16 <= c as usize,
            "{c:p}+128 overlaps {b:p}+16"
        );
        c.write_bytes(0xCC, 128);
        assert!(all_equal(std::slice::from_raw_parts(b, 16), 0xBB));
    }
}

/// A memory source whose only region ends at the very top of the address
/// space. Its bytes are never touched: these tests only look at addresses.
struct NearTop {
    given: bool,
}
const NEAR_TOP_LEN: usize = 1 << 16;
const NEAR_TOP_START: usize = (usize::MAX - NEAR_TOP_LEN) & !0xFFFF;

// SAFETY (for this test only): the region is not real memory; the tests below
// never read or write the blocks, and free nothing (freeing writes a link).
unsafe impl Memory for NearTop {
    const INIT: Self = NearTop { given: false };
    fn grow(&mut self, bytes: usize) -> Option<NonNull<[u8]>> {
        if std::mem::replace(&mut self.given, true) || bytes > NEAR_TOP_LEN {
            return None;
        }
        let start = NonNull::new(std::ptr::without_provenance_mut(NEAR_TOP_START))?;
        Some(NonNull::slice_from_raw_parts(start, bytes))
    }
}

/// Property 3: near the top of the address space, requests that would wrap
/// get null, never a wrapped pointer; the ones that fit get a block inside the
/// region.
#[test]
fn address_arithmetic_never_wraps() {
    #[lite_alloc(memory = NearTop, page = 65536, realloc)]
    struct Top;
    let inside = |p: *mut u8, size: usize| {
        let addr = p as usize;
        addr >= NEAR_TOP_START
            && addr
                .checked_add(size)
                .is_some_and(|end| end <= NEAR_TOP_START + NEAR_TOP_LEN)
    };
    unsafe {
        let first = Top.alloc(layout(1024, 16));
        assert!(inside(first, 1024));
        for (size, align) in [
            (NEAR_TOP_LEN, 16),
            (usize::MAX / 4, 16),
            (isize::MAX as usize - (1 << 20), 1 << 20),
            (16, 1 << (usize::BITS - 12)),
            (1, 1 << (usize::BITS - 2)),
            (100_000, 1 << 16),
        ] {
            let p = Top.alloc(layout(size, align));
            assert!(
                p.is_null(),
                "{size} bytes aligned to {align}: got {p:p} past the top"
            );
            let p = Top.alloc_zeroed(layout(size, align));
            assert!(p.is_null());
        }
        // Growing the top block in place past the end of the address space.
        let p = Top.realloc(first, layout(1024, 16), isize::MAX as usize - 15);
        assert!(p.is_null(), "realloc wrapped: {p:p}");
        // What fits still comes from the region.
        let small = Top.alloc(layout(64, 16));
        assert!(inside(small, 64));
        let aligned = Top.alloc(layout(4096, 4096));
        assert!(inside(aligned, 4096));
    }
}

/// Property 4: out of memory returns null, and afterwards frees and reuse
/// still work, in every bin and for realloc.
#[test]
fn out_of_memory_returns_null_and_recovers() {
    #[lite_alloc(memory = arena(4096), realloc)]
    struct Tiny;
    unsafe {
        let l = layout(32, 8);
        let mut blocks = Vec::new();
        loop {
            let b = Tiny.alloc(l);
            if b.is_null() {
                break;
            }
            b.write_bytes(blocks.len() as u8, 32);
            blocks.push(b);
            assert!(
                blocks.len() <= 4096 / 32,
                "more blocks than the arena holds"
            );
        }
        assert_eq!(
            blocks.len(),
            4096 / 32,
            "the whole arena is used before null"
        );
        assert!(Tiny.alloc(layout(200, 16)).is_null());
        assert!(Tiny.alloc(layout(16, 64)).is_null());
        assert!(Tiny.alloc_zeroed(layout(64, 8)).is_null());
        // A failed realloc keeps the block and its contents.
        let last = *blocks.last().unwrap();
        assert!(Tiny.realloc(last, l, 1000).is_null());
        assert!(all_equal(
            std::slice::from_raw_parts(last, 32),
            (blocks.len() - 1) as u8
        ));
        // Freeing makes room again, in LIFO order.
        let freed = blocks.pop().unwrap();
        Tiny.dealloc(freed, l);
        assert_eq!(Tiny.alloc(l), freed);
        for b in blocks.drain(..) {
            Tiny.dealloc(b, l);
        }
        Tiny.dealloc(freed, l);
        let again: Vec<_> = (0..4096 / 32).map(|_| Tiny.alloc(l)).collect();
        assert!(
            again.iter().all(|b| !b.is_null()),
            "every freed block is served again"
        );
    }
}

/// Property 5: blocks honour every alignment a bin or the bump pointer can
/// serve, and zeroed memory is zero also when the block is recycled.
#[test]
fn alignment_and_zeroing() {
    // Blocks aligned to more than 16 are never reused: room for all of them.
    #[lite_alloc(bins = [8, 24, 48, 96], memory = arena(16 << 20))]
    struct A;
    unsafe {
        for shift in 0..=16 {
            let align = 1usize << shift;
            for size in [1, 7, 8, 9, 23, 24, 25, 47, 95, 96, 97, 300] {
                let l = layout(size, align);
                let p = A.alloc(l);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0, "{size} bytes aligned to {align}");
                p.write_bytes(0xFF, size);
                A.dealloc(p, l);
                let z = A.alloc_zeroed(l);
                assert!(!z.is_null());
                assert_eq!(z as usize % align, 0);
                assert!(
                    all_equal(std::slice::from_raw_parts(z, size), 0),
                    "recycled block not zeroed"
                );
                A.dealloc(z, l);
            }
        }
    }
}

/// Two generated types never share state.
#[test]
fn each_type_has_its_own_state() {
    #[lite_alloc(memory = arena(4096))]
    struct First;
    #[lite_alloc(memory = arena(4096))]
    struct Second;
    unsafe {
        let l = layout(16, 16);
        let a = First.alloc(l);
        let b = Second.alloc(l);
        assert!(!a.is_null() && !b.is_null());
        // Both are the first block of their arena, so they are an arena apart.
        assert!(
            (a as usize).abs_diff(b as usize) >= 4096,
            "the arenas are distinct"
        );
        First.dealloc(a, l);
        assert_ne!(
            Second.alloc(l),
            a,
            "a block freed to First is not in Second's bins"
        );
        First::reset();
        let c = Second.alloc(l);
        assert!(!c.is_null() && c != a && c != b);
        assert!(
            (c as usize).abs_diff(b as usize) < 4096,
            "Second still carves from its own arena"
        );
    }
}

/// Property 6: every host configuration is `Sync` through a real lock, and the
/// lock keeps threads apart (a race would corrupt the free lists or the
/// blocks' contents, which the random checker detects).
#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn threads_are_kept_apart() {
    #[lite_alloc(sync = spin, memory = arena(64 << 20), realloc)]
    struct Shared;
    fn assert_sync<T: Sync>() {}
    assert_sync::<Shared>();
    assert_sync::<lite_alloc::Default>();
    std::thread::scope(|scope| {
        for seed in 0..4 {
            scope.spawn(move || {
                let plan = Plan {
                    seed,
                    ops: scaled(20_000),
                    max_size: 512,
                    max_align_log2: 5,
                    max_live: 100,
                };
                // SAFETY: the threads share `Shared` only through its lock,
                // and each frees only its own blocks.
                let report = unsafe { check_random_ops(&Shared, &plan, &Opaque) };
                assert_eq!(report.nulls, 0);
            });
        }
    });
}

/// `sync = critical_section` locks through the `critical-section` crate.
#[test]
fn critical_section_lock_works() {
    #[lite_alloc(sync = critical_section, memory = arena(1 << 20))]
    struct Guarded;
    let plan = Plan {
        seed: 3,
        ops: scaled(5_000),
        max_size: 300,
        max_align_log2: 4,
        max_live: 50,
    };
    // SAFETY: `Guarded` is used by this test alone.
    let report = unsafe { check_random_ops(&Guarded, &plan, &Opaque) };
    assert_eq!(report.nulls, 0);
}

/// The specialised lookups round every size up to the smallest bin that holds
/// it: a block freed after a request of `size` bytes is exactly the one a
/// request of that bin's full size gets next (LIFO), for every size up to the
/// largest bin; bigger requests never reach a bin.
macro_rules! rounds_to_the_smallest_bin {
    ($test:ident, [$($bin:literal),*]) => {
        #[test]
        fn $test() {
            #[lite_alloc(bins = [$($bin),*], memory = arena(1 << 20))]
            struct A;
            let bins = [$($bin),*];
            let largest = *bins.last().unwrap();
            // Under Miri, which is slow, the sizes where the answer can
            // change (up to 64, and next to each bin) and every 97th size.
            let sizes = (1..=largest + 64).filter(|&size: &usize| {
                !cfg!(miri) || size <= 64 || size % 97 == 0 || bins.iter().any(|&bin| size.abs_diff(bin) <= 2)
            });
            unsafe {
                for size in sizes {
                    let l = layout(size, 1);
                    let p = A.alloc(l);
                    assert!(!p.is_null());
                    A.dealloc(p, l);
                    match bins.iter().find(|&&bin| bin >= size) {
                        Some(&bin) => {
                            let full = layout(bin, 1);
                            let q = A.alloc(full);
                            assert_eq!(p, q, "{size} bytes should use the {bin}-byte bin");
                            A.dealloc(q, full);
                        }
                        None => {
                            let q = A.alloc(l);
                            assert_ne!(p, q, "{size} bytes is over every bin and never reused");
                        }
                    }
                }
                A::reset();
            }
        }
    };
}

rounds_to_the_smallest_bin!(power_of_two_lookup, [16, 32, 64, 128]);
rounds_to_the_smallest_bin!(power_of_two_lookup_from_8, [8, 16, 32, 64, 128, 256]);
rounds_to_the_smallest_bin!(single_bin_lookup, [48]);
rounds_to_the_smallest_bin!(chain_lookup, [24, 48, 96, 4096]);
rounds_to_the_smallest_bin!(chain_lookup_odd_sizes, [8, 12, 20, 36, 100, 1000]);
