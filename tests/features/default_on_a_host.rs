//! A program whose global allocator is `lite_alloc::Default`, on a host
//! with lite-alloc's `std` feature. Default never reuses blocks over 128
//! bytes, so a 1 MiB buffer allocated and freed in a loop takes new memory
//! every time: 64 MiB in all, which the operating system's allocator
//! provides (an 8 MiB arena ran out after eight).

#[global_allocator]
static ALLOC: lite_alloc::Default = lite_alloc::Default::new();

#[test]
fn sixty_four_mib_in_all() {
    let rounds = if cfg!(miri) { 3 } else { 64 };
    let mut sum = 0u64;
    for i in 0..rounds {
        let buffer = vec![i as u8; 1 << 20];
        sum += buffer[(1 << 20) - 1] as u64;
    }
    assert_eq!(sum, (0..rounds).sum::<u64>());
}
