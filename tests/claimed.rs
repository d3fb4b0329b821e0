//! `memory = claimed`: no memory until the program hands some over with
//! `claim`, then the regions claimed (two RAM banks, here two static
//! arrays, which are separate allocated objects: Miri with strict
//! provenance checks that every pointer the heap derives carries the
//! provenance of the bank it points into).

use std::alloc::{GlobalAlloc, Layout};

use lite_alloc::lite_alloc;
use lite_alloc_tests::{Bank, Env, Plan, all_equal, check_random_ops, scaled};

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Blocks must lie wholly inside one bank, never across two.
struct Banks<'a>(&'a [(*const u8, usize)]);

impl Env for Banks<'_> {
    fn owns(&self, block: *const u8, len: usize) -> bool {
        let (block, end) = (block as usize, block as usize + len);
        self.0
            .iter()
            .any(|&(start, n)| block >= start as usize && end <= start as usize + n)
    }
}

#[test]
fn nothing_until_claimed_then_the_region() {
    #[lite_alloc(memory = claimed, stats)]
    struct Board;
    static BANK: Bank<4096> = Bank::new();
    let l = layout(100, 8);
    unsafe {
        assert!(Board.alloc(l).is_null(), "no memory before `claim`");
        assert_eq!(Board::stats().failed, 1);
        Board.claim(BANK.start(), 4096);
        let block = Board.alloc(l);
        assert!(!block.is_null());
        assert!(BANK.holds(block, 100));
        block.write_bytes(0xAB, 100);
        Board.dealloc(block, l);
        // The whole region, less its record, and no more.
        let stats = Board::stats();
        assert!(stats.obtained > 4000 && stats.obtained < 4096, "{stats}");
        assert!(Board.alloc(layout(4096, 8)).is_null());
    }
}

#[test]
fn a_region_too_small_for_its_record_is_not_used() {
    #[lite_alloc(memory = claimed)]
    struct Tiny;
    static BANK: Bank<128> = Bank::new();
    unsafe {
        Tiny.claim(BANK.start(), 3 * size_of::<usize>());
        assert!(Tiny.alloc(layout(1, 1)).is_null());
        // The rest of the array, claimed too, is.
        Tiny.claim(BANK.start().add(32), 96);
        let block = Tiny.alloc(layout(1, 1));
        assert!(!block.is_null() && BANK.holds(block, 1));
    }
}

/// Two banks in separate arrays: the heap moves to the second when the first
/// cannot hold a request, serves from both, and `reset` keeps them.
#[test]
fn two_banks() {
    #[lite_alloc(memory = claimed, large = coalesce, bins = [], realloc)]
    struct TwoBanks;
    static SMALL: Bank<8192> = Bank::new();
    static LARGE: Bank<65536> = Bank::new();
    let l = layout(1000, 8);
    unsafe {
        TwoBanks.claim(SMALL.start(), 8192);
        TwoBanks.claim(LARGE.start(), 65536);
        for round in 0..2 {
            let mut blocks = Vec::new();
            loop {
                let block = TwoBanks.alloc(l);
                if block.is_null() {
                    break;
                }
                block.write_bytes(blocks.len() as u8, 1000);
                blocks.push(block);
            }
            let in_small = blocks.iter().filter(|&&b| SMALL.holds(b, 1000)).count();
            let in_large = blocks.iter().filter(|&&b| LARGE.holds(b, 1000)).count();
            assert_eq!(in_small + in_large, blocks.len(), "every block in a bank");
            assert!(in_small >= 7 && in_large >= 60, "{in_small} + {in_large}");
            // Freed blocks in the first bank serve again while the heap is in
            // the second: their lists cross banks.
            for &block in blocks.iter().filter(|&&b| SMALL.holds(b, 1000)) {
                TwoBanks.dealloc(block, l);
            }
            let again = TwoBanks.alloc(layout(2000, 8));
            assert!(
                SMALL.holds(again, 2000),
                "merged neighbours in the first bank"
            );
            for (i, &block) in blocks.iter().enumerate() {
                if LARGE.holds(block, 1000) {
                    assert_eq!(*block.add(999), i as u8);
                    TwoBanks.dealloc(block, l);
                }
            }
            TwoBanks.dealloc(again, layout(2000, 8));
            if round == 0 {
                TwoBanks::reset();
            }
        }
    }
}

/// Two parts of one array claimed one after the other: a block never spans
/// the boundary (a region's record lies between them).
#[test]
fn regions_claimed_side_by_side_stay_apart() {
    #[lite_alloc(memory = claimed, large = reuse)]
    struct SideBySide;
    static BANK: Bank<8192> = Bank::new();
    let l = layout(1500, 16);
    unsafe {
        SideBySide.claim(BANK.start(), 4096);
        SideBySide.claim(BANK.start().add(4096), 4096);
        let boundary = BANK.start() as usize + 4096;
        let mut count = 0;
        loop {
            let block = SideBySide.alloc(l);
            if block.is_null() {
                break;
            }
            let (start, end) = (block as usize, block as usize + 1500);
            assert!(
                end <= boundary || start >= boundary,
                "{block:p} spans the boundary"
            );
            count += 1;
        }
        assert_eq!(count, 4, "two blocks in each part");
    }
}

/// The shadow model over two banks, for a heap of each kind: bins only,
/// large blocks reused, chunks behind bins, every block a chunk.
macro_rules! model_over_banks {
    ($test:ident, $($arg:tt)*) => {
        #[test]
        fn $test() {
            #[lite_alloc(memory = claimed, $($arg)*)]
            struct Model;
            static A: Bank<{ 24 << 10 }> = Bank::new();
            static B: Bank<{ 256 << 10 }> = Bank::new();
            let banks = [(A.start().cast_const(), 24 << 10), (B.start().cast_const(), 256 << 10)];
            unsafe {
                Model.claim(A.start(), 24 << 10);
                Model.claim(B.start(), 256 << 10);
                for seed in 1..=2 {
                    let plan = Plan {
                        seed,
                        ops: scaled(4000),
                        max_size: 8192,
                        max_align_log2: 7,
                        max_live: 40,
                    };
                    let report = check_random_ops(&Model, &plan, &Banks(&banks));
                    assert!(report.allocations > 0);
                    Model::reset();
                }
            }
        }
    };
}

model_over_banks!(model_bins, realloc);
model_over_banks!(model_large_reuse, large = reuse, realloc);
model_over_banks!(model_coalesce, large = coalesce, realloc);
model_over_banks!(model_chunks, bins = [], large = coalesce, realloc);

/// The last block of a full bank grows in place (`realloc`) only into what
/// that bank has left: the next bank never continues it. From a review:
/// the heap asked for just the missing bytes, the source gave the next
/// bank, the heap gave up the first for it and carved the bytes there for
/// nothing, and the `realloc`, moving, found the rest of that bank too
/// short: null, with the bank's 4096 bytes unused before the call. On
/// every policy; without `realloc`, the block moves into the second bank.
macro_rules! grow_at_the_top_of_a_full_bank {
    ($test:ident, $($arg:tt)*) => {
        #[test]
        fn $test() {
            #[lite_alloc(memory = claimed, $($arg)*)]
            struct A;
            static FIRST: Bank<2048> = Bank::new();
            static SECOND: Bank<4096> = Bank::new();
            // SAFETY: the banks are this test's alone, and `A` too; blocks
            // with their layouts.
            unsafe {
                A.claim(FIRST.start(), 2048);
                A.claim(SECOND.start(), 4096);
                let old = layout(1500, 8);
                let block = A.alloc(old);
                assert!(!block.is_null() && FIRST.holds(block, 1500));
                block.write_bytes(0x5A, 1500);
                let grown = A.realloc(block, old, 3000);
                assert!(!grown.is_null(), "the second bank holds 3000 bytes");
                assert!(SECOND.holds(grown, 3000));
                assert!(all_equal(std::slice::from_raw_parts(grown, 1500), 0x5A));
            }
        }
    };
}

grow_at_the_top_of_a_full_bank!(grow_at_the_top_of_a_full_bank_leak, realloc);
grow_at_the_top_of_a_full_bank!(grow_at_the_top_of_a_full_bank_reuse, realloc, large = reuse);
grow_at_the_top_of_a_full_bank!(
    grow_at_the_top_of_a_full_bank_coalesce,
    realloc,
    large = coalesce
);
grow_at_the_top_of_a_full_bank!(
    grow_at_the_top_of_a_full_bank_chunks,
    realloc,
    bins = [],
    large = coalesce
);
grow_at_the_top_of_a_full_bank!(grow_at_the_top_of_a_full_bank_moving, stats);

/// Many banks, separate allocated objects, claimed at odd offsets and in
/// odd sizes (some too small for a chunk's skip and tail), with requests
/// aligned up to 4096: under Miri with strict provenance, every pointer
/// must carry its own bank's provenance.
macro_rules! odd_banks {
    ($test:ident, $($arg:tt)*) => {
        #[test]
        fn $test() {
            #[lite_alloc(memory = claimed, page = 1, $($arg)*)]
            struct M;
            static B0: Bank<{ 20 }> = Bank::new();
            static B1: Bank<{ 8 << 10 }> = Bank::new();
            static B2: Bank<{ 33 }> = Bank::new();
            static B3: Bank<{ 12 << 10 }> = Bank::new();
            static B4: Bank<{ 40 << 10 }> = Bank::new();
            static B5: Bank<{ 64 << 10 }> = Bank::new();
            let parts: Vec<(*mut u8, usize)> = vec![
                (B0.start().wrapping_add(1), 19),
                (B1.start().wrapping_add(3), (8 << 10) - 5),
                (B2.start().wrapping_add(7), 26),
                (B3.start().wrapping_add(12), (12 << 10) - 12),
                (B4.start().wrapping_add(5), (40 << 10) - 5),
                (B5.start(), 64 << 10),
            ];
            let banks: Vec<(*const u8, usize)> = parts.iter().map(|&(p, n)| (p.cast_const(), n)).collect();
            let env = Banks(&banks);
            // SAFETY: the banks are this test's alone, and `M` too;
            // `check_random_ops` frees every block it allocates.
            unsafe {
                for &(p, n) in &parts {
                    M.claim(p, n);
                }
                for seed in 1..=3 {
                    let plan = Plan {
                        seed,
                        ops: scaled(3000),
                        max_size: 6000,
                        max_align_log2: 12,
                        max_live: 30,
                    };
                    check_random_ops(&M, &plan, &env);
                    M::verify();
                    M::reset();
                }
            }
        }
    };
}

odd_banks!(odd_banks_bins, realloc);
odd_banks!(odd_banks_reuse, large = reuse, realloc);
odd_banks!(
    odd_banks_coalesce,
    large = coalesce,
    realloc,
    bins = [12, 16, 8192]
);
odd_banks!(odd_banks_chunks, bins = [], large = coalesce, realloc);
