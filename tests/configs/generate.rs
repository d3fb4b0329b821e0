// The configuration space: random valid `#[lite_alloc(...)]` configurations
// from a fixed seed, for the build scripts of the tests (`tests/build.rs`)
// and the fuzz targets (`fuzz/build.rs`), which `include!` this file.
//
// Each configuration has 1 to 12 bins (powers of two, odd multiples of 8,
// multiples of 16 at and above 8 KiB, and multiples of 4, from the pointer
// size to 64 KiB) or none (with `large = coalesce`), one of the three
// policies for large blocks, `realloc` on or off, `page` from the pointer
// size to 1 MiB, `growth = 1/N` or none, and `stats` or not.

/// One configuration.
pub struct Generated {
    pub bins: Vec<u64>,
    pub large: &'static str,
    pub realloc: bool,
    pub page: u64,
    pub growth: Option<u64>,
    pub stats: bool,
}

impl Generated {
    /// The attribute's arguments, without `memory`.
    pub fn arguments(&self) -> String {
        let bins: Vec<String> = self.bins.iter().map(u64::to_string).collect();
        let mut args = vec![format!("bins = [{}]", bins.join(", ")), format!("page = {}", self.page)];
        if self.large != "leak" {
            args.push(format!("large = {}", self.large));
        }
        if self.realloc {
            args.push("realloc".into());
        }
        if let Some(n) = self.growth {
            args.push(format!("growth = 1/{n}"));
        }
        if self.stats {
            args.push("stats".into());
        }
        args.join(", ")
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// A bin size of one of the four kinds, at least `pointer` bytes.
fn bin_size(rng: &mut Rng, pointer: u64) -> u64 {
    loop {
        let size = match rng.below(4) {
            // Powers of two, 4 to 64 KiB.
            0 => 1 << (2 + rng.below(15)),
            // Odd multiples of 8, small ones more often.
            1 => {
                let scale = 1 << rng.below(13);
                8 * (2 * rng.below(scale) + 1)
            }
            // Multiples of 16 from 8 KiB.
            2 => 8192 + 16 * rng.below((65536 - 8192) / 16 + 1),
            // Multiples of 4, small ones more often.
            _ => {
                let scale = 1 << (2 + rng.below(12));
                4 * (1 + rng.below(scale))
            }
        };
        if (pointer..=65536).contains(&size) {
            return size;
        }
    }
}

/// `count` configurations from `seed`, valid on a target with pointers of
/// `pointer` bytes. The first ones cover each policy with and without bins
/// and the shapes most likely to break (a 16-aligned bin of 8 KiB or more
/// in front of chunks).
pub fn generate(seed: u64, count: usize, pointer: u64) -> Vec<Generated> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut configs = Vec::with_capacity(count);
    for i in 0..count {
        let large = ["leak", "reuse", "coalesce"][i % 3];
        let mut bins = Vec::new();
        // Every sixth with `large = coalesce` has no bins.
        if !(large == "coalesce" && i % 6 == 5) {
            let n = 1 + rng.below(12);
            while (bins.len() as u64) < n {
                bins.push(bin_size(&mut rng, pointer));
                bins.sort_unstable();
                bins.dedup();
            }
        }
        if i == 2 {
            // The shape that once overlapped a chunk's header on 32-bit.
            bins = vec![16, 32, 64, 128, 8192];
        }
        // `page` log-uniform from the pointer size to 1 MiB, not always a
        // power of two.
        let log = pointer.trailing_zeros() as u64 + rng.below(21 - pointer.trailing_zeros() as u64);
        let page = ((1 << log) + rng.below(1 << log)).clamp(pointer, 1 << 20);
        let growth = match rng.below(3) {
            0 => Some([1, 2, 4, 8, 32, 100][rng.below(6) as usize]),
            _ => None,
        };
        configs.push(Generated {
            bins,
            large,
            realloc: rng.below(2) == 0,
            page,
            growth,
            stats: rng.below(3) == 0,
        });
    }
    configs
}
