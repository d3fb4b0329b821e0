//! `allocator_api2::alloc::Allocator` on generated types (the crate feature
//! `allocator-api2`): collections in a type of their own, per-request
//! arenas emptied with `reset`, and every method of the trait.

use allocator_api2::alloc::{AllocError, Allocator, Layout};
use allocator_api2::vec::Vec;
use core::ptr::NonNull;

use lite_alloc::lite_alloc;
use lite_alloc_tests::all_equal;

/// A per-request arena: a request's collections, then `reset`.
#[test]
fn per_request_arena() {
    #[lite_alloc(memory = arena(16 << 10), stats, realloc)]
    struct Request;
    // Ten times what the arena holds, in requests that each fit it (under
    // Miri, which is slow, one time).
    let requests = if cfg!(miri) { 4 } else { 40 };
    for request in 0..requests {
        let mut ids: Vec<u32, Request> = Vec::new_in(Request::new());
        for i in 0..500 {
            ids.push(request * 1000 + i);
        }
        let mut names: hashbrown::HashMap<
            u32,
            Vec<u8, Request>,
            hashbrown::DefaultHashBuilder,
            Request,
        > = hashbrown::HashMap::new_in(Request::new());
        for &id in ids.iter().step_by(50) {
            let mut name = Vec::new_in(Request::new());
            name.extend_from_slice(format!("id-{id}").as_bytes());
            names.insert(id, name);
        }
        assert_eq!(names.len(), 10);
        assert_eq!(
            names[&(request * 1000 + 450)],
            format!("id-{}", request * 1000 + 450).as_bytes()
        );
        assert_eq!(
            ids.iter().sum::<u32>(),
            500 * request * 1000 + 499 * 500 / 2
        );
        drop((ids, names));
        assert_eq!(Request::stats().in_use, 0);
        // SAFETY: every collection of the request was dropped.
        unsafe { Request::reset() };
    }
}

/// Out of memory is an error the collection reports, not an abort.
#[test]
fn out_of_memory_is_an_error() {
    #[lite_alloc(memory = arena(4096))]
    struct Small;
    let mut v: Vec<u8, Small> = Vec::new_in(Small);
    assert!(v.try_reserve(8192).is_err());
    assert!(v.try_reserve(100).is_ok());
    assert_eq!(
        Small.allocate(Layout::from_size_align(8192, 8).unwrap()),
        Err(AllocError)
    );
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn bytes(block: NonNull<[u8]>) -> &'static mut [u8] {
    // SAFETY: a live block of the test's, used by one reference at a time.
    unsafe { core::slice::from_raw_parts_mut(block.cast::<u8>().as_ptr(), block.len()) }
}

/// Each method: zero-sized blocks, growing and shrinking in place and by
/// moving, a change of alignment, zeroing.
#[test]
fn every_method() {
    #[lite_alloc(memory = arena(1 << 20), large = reuse, realloc, stats)]
    struct Every;
    let a = Every::new();
    unsafe {
        // Zero-sized: dangling, aligned, never in the heap.
        let empty = a.allocate(layout(0, 64)).unwrap();
        assert_eq!(empty.len(), 0);
        assert_eq!(empty.cast::<u8>().as_ptr() as usize % 64, 0);
        a.deallocate(empty.cast(), layout(0, 64));
        assert_eq!(Every::stats().in_use, 0);

        // Zeroed, then grown in place (the last block carved) with zeroing.
        let block = a.allocate_zeroed(layout(100, 8)).unwrap();
        assert!(all_equal(bytes(block), 0));
        bytes(block).fill(7);
        let grown = a
            .grow_zeroed(block.cast(), layout(100, 8), layout(300, 8))
            .unwrap();
        assert_eq!(grown.cast::<u8>(), block.cast::<u8>(), "in place");
        assert_eq!(grown.len(), 300);
        assert!(all_equal(&bytes(grown)[..100], 7));
        assert!(all_equal(&bytes(grown)[100..], 0));

        // Shrunk within its size (in place), then into a bin: with
        // `large = reuse` it moves, so that the large block goes back whole
        // to its list.
        let trimmed = a
            .shrink(grown.cast(), layout(300, 8), layout(260, 8))
            .unwrap();
        assert_eq!(trimmed.cast::<u8>(), grown.cast::<u8>(), "in place");
        let shrunk = a
            .shrink(trimmed.cast(), layout(260, 8), layout(50, 8))
            .unwrap();
        assert_ne!(shrunk.cast::<u8>(), trimmed.cast::<u8>(), "moved");
        assert!(all_equal(bytes(shrunk), 7));
        let aligned = a
            .grow(shrunk.cast(), layout(50, 8), layout(5000, 4096))
            .unwrap();
        assert_eq!(aligned.cast::<u8>().as_ptr() as usize % 4096, 0);
        assert!(all_equal(&bytes(aligned)[..50], 7));
        assert_eq!(Every::stats().in_use, 5000);

        // Shrunk to a smaller alignment (moves), then to nothing.
        let small = a
            .shrink(aligned.cast(), layout(5000, 4096), layout(20, 4))
            .unwrap();
        assert!(all_equal(bytes(small), 7));
        let none = a.shrink(small.cast(), layout(20, 4), layout(0, 4)).unwrap();
        assert_eq!(none.len(), 0);
        assert_eq!(Every::stats().in_use, 0);

        // Grown from nothing.
        let from_empty = a.grow(none.cast(), layout(0, 4), layout(40, 4)).unwrap();
        assert_eq!(from_empty.len(), 40);
        a.deallocate(from_empty.cast(), layout(40, 4));
        assert_eq!(Every::stats().in_use, 0);
    }
}

/// A `Box` and a `Vec` of zero-sized values: nothing is allocated.
#[test]
fn zero_sized_values() {
    #[lite_alloc(memory = arena(4096), stats)]
    struct Zst;
    let b = allocator_api2::boxed::Box::new_in((), Zst);
    let mut v: Vec<(), Zst> = Vec::new_in(Zst);
    v.extend([(), (), ()]);
    assert_eq!(v.len(), 3);
    assert_eq!(Zst::stats().obtained, 0);
    drop((b, v));
}

/// Random calls of every method (allocate, zeroed or not; grow, zeroed or
/// not; shrink; deallocate) with sizes to 5000 bytes and alignments to 4096
/// that change from call to call, on each kind of heap, checked or not:
/// every block's length, alignment and contents kept across a resize,
/// grown bytes zeroed when asked, the bytes in use counted exactly, and the
/// heap's invariants.
macro_rules! random_calls {
    ($($(#[$attr:meta])* $name:ident: [$($args:tt)*],)*) => {$(
        #[test]
        $(#[$attr])*
        fn $name() {
            #[lite_alloc(memory = arena(1 << 20), stats, $($args)*)]
            struct A;
            let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
            let mut below = move |n: usize| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % n as u64) as usize
            };
            // A block, its layout, and the byte it is filled with.
            let mut live: std::vec::Vec<(NonNull<u8>, Layout, u8)> = std::vec::Vec::new();
            let steps = if cfg!(miri) { 300 } else { 20_000 };
            for step in 0..steps {
                let size = [17, 300, 5000, 40][below(4)];
                let size = below(size);
                let log = if below(8) == 0 { 13 } else { 5 };
                let align = 1 << below(log);
                let new = layout(size, align);
                let fill = (step % 251) as u8 + 1;
                let zeroed = below(2) == 0;
                let (block, kept) = match below(5) {
                    0 | 1 if live.len() < 64 => {
                        let result = if zeroed { A.allocate_zeroed(new) } else { A.allocate(new) };
                        let Ok(block) = result else { continue };
                        live.push((block.cast(), new, fill));
                        (block, 0)
                    }
                    2 | 3 if !live.is_empty() => {
                        let i = below(live.len());
                        let (old, old_layout, old_fill) = live[i];
                        // SAFETY: a live block of `A`'s with this layout;
                        // `new` is at least as large (grow) or at most
                        // (shrink).
                        let result = unsafe {
                            if size < old_layout.size() {
                                A.shrink(old, old_layout, new)
                            } else if zeroed {
                                A.grow_zeroed(old, old_layout, new)
                            } else {
                                A.grow(old, old_layout, new)
                            }
                        };
                        let Ok(block) = result else { continue };
                        let kept = old_layout.size().min(size);
                        let bytes = bytes(block);
                        assert!(all_equal(&bytes[..kept], old_fill), "step {step}: contents");
                        live[i] = (block.cast(), new, fill);
                        (block, kept)
                    }
                    _ if !live.is_empty() => {
                        let (old, old_layout, old_fill) = live.swap_remove(below(live.len()));
                        let bytes = bytes(NonNull::slice_from_raw_parts(old, old_layout.size()));
                        assert!(all_equal(&bytes, old_fill), "step {step}: contents at free");
                        // SAFETY: a live block of `A`'s with this layout.
                        unsafe { A.deallocate(old, old_layout) };
                        continue;
                    }
                    _ => continue,
                };
                assert_eq!(block.len(), size, "step {step}");
                assert_eq!(block.cast::<u8>().as_ptr().addr() % align, 0, "step {step}");
                let bytes = bytes(block);
                if zeroed {
                    assert!(all_equal(&bytes[kept..], 0), "step {step}: zeroed");
                }
                bytes.fill(fill);
                let in_use: usize = live.iter().map(|(_, layout, _)| layout.size()).sum();
                assert_eq!(A::stats().in_use, in_use, "step {step}");
                if step % 64 == 0 {
                    A::verify();
                }
            }
            for (block, layout, _) in live.drain(..) {
                // SAFETY: a live block of `A`'s with this layout.
                unsafe { A.deallocate(block, layout) };
            }
            assert_eq!(A::stats().in_use, 0);
            A::verify();
        }
    )*};
}

random_calls! {
    #[cfg_attr(miri, ignore = "the other kinds of heap run under Miri")]
    random_calls_leak: [],
    #[cfg_attr(miri, ignore = "the other kinds of heap run under Miri")]
    random_calls_leak_in_place: [realloc],
    random_calls_reuse: [large = reuse, realloc],
    #[cfg_attr(miri, ignore = "the other kinds of heap run under Miri")]
    random_calls_coalesce: [large = coalesce, realloc],
    random_calls_chunks: [bins = [], large = coalesce, realloc],
    #[cfg_attr(miri, ignore = "the other kinds of heap run under Miri")]
    random_calls_chunks_checked: [bins = [], large = coalesce, realloc, check],
    #[cfg_attr(miri, ignore = "the other kinds of heap run under Miri")]
    random_calls_reuse_checked: [large = reuse, realloc, check],
    random_calls_leak_checked: [realloc, check],
}
