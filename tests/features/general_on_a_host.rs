//! A program whose global allocator is `lite_alloc::General`, on a host
//! with lite-alloc's `std` feature: memory comes from the operating
//! system's allocator, so the program's working set is not bounded by an
//! arena. 100 MiB live at once, in 1 MiB blocks, allocated and freed.

#[global_allocator]
static ALLOC: lite_alloc::General = lite_alloc::General::new();

#[test]
fn a_hundred_mib_in_one_mib_blocks() {
    // Under Miri, which is slow, 4 MiB.
    let (count, size) = if cfg!(miri) {
        (4, 1 << 20)
    } else {
        (100, 1 << 20)
    };
    for round in 0..3u8 {
        let blocks: Vec<Vec<u8>> = (0..count).map(|i| vec![round ^ i as u8; size]).collect();
        for (i, block) in blocks.iter().enumerate() {
            assert_eq!(block.len(), size);
            assert_eq!(block[size - 1], round ^ i as u8);
        }
        drop(blocks);
    }
}
