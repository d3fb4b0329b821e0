//! The configurations worth replaying for a profile.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::analysis::Profile;

/// The bins of `lite_alloc::Default`.
pub const DEFAULT_BINS: [usize; 4] = [16, 32, 64, 128];
/// Bins are multiples of this: a block then holds a pointer on any target
/// and is carved aligned to 8 at least.
const GRANULE: usize = 8;
/// Programs whose live bytes reach this get `growth = 1/GROWTH`.
pub const GROWTH_FROM: usize = 8 << 20;
/// See `GROWTH_FROM`.
pub const GROWTH: usize = 32;

/// One configuration of the attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub bins: Vec<usize>,
    pub large_reuse: bool,
    /// `large = coalesce` (with `large_reuse` set too: large blocks reused).
    pub coalesce: bool,
    pub realloc: bool,
    /// `growth = 1/32`: for programs whose memory reaches many MiB.
    pub growth: bool,
    /// Arguments given with `--also`, replayed as written.
    pub given: Option<String>,
    /// How the bins were chosen, for the report.
    pub origin: &'static str,
}

impl Candidate {
    /// `lite_alloc::Default`: the documented design.
    pub fn default_design() -> Candidate {
        Candidate {
            bins: DEFAULT_BINS.to_vec(),
            large_reuse: false,
            coalesce: false,
            realloc: false,
            growth: false,
            given: None,
            origin: "lite_alloc::Default",
        }
    }

    /// A configuration given as the attribute's arguments (`--also`): its
    /// bins are read for the report, and the arguments replayed as written
    /// (the attribute itself reports any mistake in them).
    pub fn given(arguments: &str) -> Result<Candidate, String> {
        let bins = match arguments.find("bins") {
            None => DEFAULT_BINS.to_vec(),
            Some(at) => {
                let rest = &arguments[at..];
                let (open, close) = (
                    rest.find('[').ok_or("`bins` without `[`")?,
                    rest.find(']').ok_or("`bins` without `]`")?,
                );
                rest[open + 1..close]
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| {
                        s.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("bin {s:?}: {e}"))
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        if bins.is_empty() && !arguments.contains("coalesce") {
            return Err(format!(
                "no bins in {arguments:?}: `bins = []` needs `large = coalesce`"
            ));
        }
        Ok(Candidate {
            bins,
            large_reuse: arguments.contains("reuse") || arguments.contains("coalesce"),
            coalesce: arguments.contains("coalesce"),
            realloc: arguments.contains("realloc"),
            growth: arguments.contains("growth"),
            given: Some(arguments.trim().to_string()),
            origin: "given with --also",
        })
    }

    /// The attribute's arguments, leaving out what is the default.
    pub fn arguments(&self) -> String {
        if let Some(given) = &self.given {
            return given.clone();
        }
        let mut args = Vec::new();
        if self.bins != DEFAULT_BINS {
            let bins: Vec<String> = self.bins.iter().map(usize::to_string).collect();
            args.push(format!("bins = [{}]", bins.join(", ")));
        }
        if self.coalesce {
            args.push("large = coalesce".into());
        } else if self.large_reuse {
            args.push("large = reuse".into());
        }
        if self.realloc {
            args.push("realloc".into());
        }
        if self.growth {
            args.push(format!("growth = 1/{GROWTH}"));
        }
        args.join(", ")
    }

    /// The attribute line to paste.
    pub fn attribute(&self) -> String {
        let args = self.arguments();
        if args.is_empty() {
            "#[lite_alloc::lite_alloc]".into()
        } else {
            format!("#[lite_alloc::lite_alloc({args})]")
        }
    }

    /// Whether the bins double (`b, 2b, 4b, ...`): the smallest and fastest
    /// lookup.
    pub fn doubling(&self) -> bool {
        self.bins.windows(2).all(|w| w[1] == 2 * w[0])
    }
}

/// The candidates for `profile`: the documented design; the same bins with
/// the options the trace calls for; doubling bins from 8 and 16; and, for
/// several numbers of bins, the bins that lose the least to rounding for the
/// blocks live at the program's peak.
pub fn for_profile(profile: &Profile) -> Vec<Candidate> {
    // Large blocks are worth reusing when the program frees some; in-place
    // realloc when it grows blocks.
    let reuse = |largest: usize| profile.large_frees(largest) > 0;
    let realloc = profile.growing_reallocs > 0;
    // Memory grown a page at a time costs a `memory.grow` (and, in V8, a
    // garbage collection) per 64 KiB: a program that needs many MiB grows
    // by a fraction of what it has instead.
    let growth = profile.peak_requested >= GROWTH_FROM;
    let mut bin_sets: Vec<(Vec<usize>, &'static str)> =
        vec![(DEFAULT_BINS.to_vec(), "Default's bins")];
    // Bins up to the size that 99% of requests fit (larger ones go to large
    // blocks), at least 64 and at most 4 KiB.
    let limit = round_up(profile.percentile(0.99), GRANULE).clamp(64, 4096);
    for smallest in [8, 16] {
        let mut bins = vec![smallest];
        while *bins.last().unwrap() < limit {
            bins.push(bins.last().unwrap() * 2);
        }
        bin_sets.push((bins, "doubling"));
    }
    let weights = weights(profile, limit);
    for k in [4, 6, 8, 10, 12, 16] {
        if let Some(bins) = least_rounding(&weights, k) {
            bin_sets.push((bins, "least rounding at the peak"));
        }
    }
    let mut candidates = vec![Candidate::default_design()];
    let frees_large = bin_sets
        .iter()
        .any(|(bins, _)| reuse(*bins.last().unwrap()));
    // Coalescing is tried with Default's bins, doubling ones from 16 and the
    // 6 that lose least to rounding: it changes what becomes of large
    // blocks, which these bins are enough to show.
    let coalescing = [0, 2, 4];
    for (i, (bins, origin)) in bin_sets.into_iter().enumerate() {
        let large_reuse = reuse(*bins.last().unwrap());
        let candidate = Candidate {
            large_reuse,
            coalesce: false,
            realloc,
            growth,
            bins,
            given: None,
            origin,
        };
        if large_reuse && coalescing.contains(&i) {
            candidates.push(Candidate {
                coalesce: true,
                ..candidate.clone()
            });
        }
        if !candidates.contains(&candidate) {
            candidates.push(candidate);
        }
    }
    // No bins at all, every block a chunk (`lite_alloc::General`'s
    // configuration), when blocks are freed that bins would not hold.
    if frees_large {
        candidates.push(Candidate {
            bins: Vec::new(),
            large_reuse: true,
            coalesce: true,
            realloc,
            growth,
            given: None,
            origin: "no bins: every block a chunk",
        });
    }
    candidates
}

fn round_up(size: usize, granule: usize) -> usize {
    size.div_ceil(granule).max(1) * granule
}

/// How much each size (rounded up to the granule, at most `limit`) matters:
/// the blocks live at the peak, plus a little for every request, so that
/// sizes the peak happens not to hold still count.
fn weights(profile: &Profile, limit: usize) -> BTreeMap<usize, f64> {
    let mut weights = BTreeMap::new();
    let requests = profile.requests().max(1) as f64;
    let live = profile.live_at_peak.values().sum::<u64>().max(1) as f64;
    for (&size, &count) in &profile.live_at_peak {
        if size <= limit {
            *weights.entry(round_up(size, GRANULE)).or_insert(0.0) += count as f64 / live;
        }
    }
    for (&size, &count) in &profile.sizes {
        if size <= limit {
            *weights.entry(round_up(size, GRANULE)).or_insert(0.0) += 0.1 * count as f64 / requests;
        }
    }
    weights.entry(limit).or_insert(0.0);
    weights
}

/// The `k` bins (at most), the largest being the largest size weighed, that
/// minimise the weighted bytes lost rounding each size up to its bin: an
/// exact dynamic programme over the distinct sizes.
fn least_rounding(weights: &BTreeMap<usize, f64>, k: usize) -> Option<Vec<usize>> {
    let sizes: Vec<usize> = weights.keys().copied().collect();
    let w: Vec<f64> = weights.values().copied().collect();
    let m = sizes.len();
    if m == 0 {
        return None;
    }
    // With few distinct sizes, one bin each.
    let k = k.min(m);
    // cost(i, j): sizes i..=j all rounded up to sizes[j], in constant time
    // from prefix sums of the weights and of the weighted sizes.
    let (mut sum_w, mut sum_ws) = (vec![0.0; m + 1], vec![0.0; m + 1]);
    for t in 0..m {
        sum_w[t + 1] = sum_w[t] + w[t];
        sum_ws[t + 1] = sum_ws[t] + w[t] * sizes[t] as f64;
    }
    let cost = |i: usize, j: usize| -> f64 {
        sizes[j] as f64 * (sum_w[j + 1] - sum_w[i]) - (sum_ws[j + 1] - sum_ws[i])
    };
    // best[b][j]: the least cost of covering sizes 0..=j with b bins, the
    // last at sizes[j].
    let mut best = vec![vec![f64::INFINITY; m]; k + 1];
    let mut from = vec![vec![usize::MAX; m]; k + 1];
    for (j, first) in best[1].iter_mut().enumerate() {
        *first = cost(0, j);
    }
    for b in 2..=k {
        for j in 0..m {
            for i in (b - 2)..j {
                let c = best[b - 1][i] + cost(i + 1, j);
                if c < best[b][j] {
                    best[b][j] = c;
                    from[b][j] = i;
                }
            }
        }
    }
    let mut bins = Vec::with_capacity(k);
    let (mut b, mut j) = (k, m - 1);
    loop {
        bins.push(sizes[j]);
        if b == 1 {
            break;
        }
        j = from[b][j];
        b -= 1;
    }
    bins.reverse();
    Some(bins)
}

/// Sizes as a short list, for messages.
pub fn list(sizes: &[usize]) -> String {
    let mut out = String::new();
    for (i, size) in sizes.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{size}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_rounding_picks_the_sizes_that_are_used() {
        let weights: BTreeMap<usize, f64> = [(8, 1.0), (24, 10.0), (40, 10.0), (64, 1.0)]
            .into_iter()
            .collect();
        assert_eq!(least_rounding(&weights, 3), Some(vec![24, 40, 64]));
        assert_eq!(least_rounding(&weights, 4), Some(vec![8, 24, 40, 64]));
        assert_eq!(least_rounding(&weights, 1), Some(vec![64]));
        assert_eq!(
            least_rounding(&weights, 5),
            Some(vec![8, 24, 40, 64]),
            "one bin a size"
        );
        assert_eq!(least_rounding(&BTreeMap::new(), 3), None);
    }

    #[test]
    fn the_attribute_leaves_out_defaults() {
        assert_eq!(
            Candidate::default_design().attribute(),
            "#[lite_alloc::lite_alloc]"
        );
        let c = Candidate {
            bins: vec![8, 24],
            large_reuse: true,
            coalesce: false,
            realloc: true,
            growth: true,
            given: None,
            origin: "",
        };
        assert_eq!(
            c.attribute(),
            "#[lite_alloc::lite_alloc(bins = [8, 24], large = reuse, realloc, growth = 1/32)]"
        );
        assert!(!c.doubling());
    }
}
