//! The configurations worth replaying for a profile.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::analysis::Profile;

/// The bins of `lite_alloc::Default`.
pub const DEFAULT_BINS: [usize; 4] = [16, 32, 64, 128];
/// Bins are multiples of this: a block then holds a pointer on any target
/// and is carved aligned to 8 at least.
const GRANULE: usize = 8;
/// Programs whose live bytes reach this grow memory by a fraction of what
/// the allocator has (`growth = 1/N`) rather than a page at a time.
pub const GROWTH_FROM: usize = 8 << 20;
/// The growth fractions tried (`1/N`), from the coarsest: fewer
/// `memory.grow` calls, against a last step that overshoots the peak by up
/// to `1/N`.
pub const GROWTHS: [usize; 3] = [32, 64, 128];

/// What becomes of blocks larger than every bin (`large = ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Large {
    Leak,
    Reuse,
    Coalesce,
}

/// One configuration of the attribute.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub bins: Vec<usize>,
    pub large: Large,
    pub realloc: bool,
    /// `N` of `growth = 1/N`.
    pub growth: Option<usize>,
    /// Other arguments (`page`, `sync`, ...), as written: replayed, not
    /// varied.
    pub extra: Vec<String>,
    /// How the configuration came about, for the report.
    pub origin: String,
}

impl PartialEq for Candidate {
    /// The same configuration, however it came about.
    fn eq(&self, other: &Candidate) -> bool {
        self.arguments() == other.arguments()
    }
}

/// The arguments of a whole attribute pasted as it is written in code
/// (`#[lite_alloc::lite_alloc(bins = [8])]`, under any path); other text
/// as it is.
fn attribute_arguments(text: &str) -> Result<&str, String> {
    let text = text.trim();
    let Some(attribute) = text.strip_prefix("#[").and_then(|t| t.strip_suffix(']')) else {
        return Ok(text);
    };
    let (path, arguments) = match attribute.trim_end().strip_suffix(')') {
        Some(call) => call.split_once('(').unwrap_or((call, "")),
        None => (attribute, ""),
    };
    if path.trim().ends_with("lite_alloc") {
        Ok(arguments)
    } else {
        Err(format!("{text:?}: not a `lite_alloc` attribute"))
    }
}

/// Splits attribute arguments at the commas outside brackets.
fn split_arguments(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut from) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[from..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

impl Candidate {
    /// `lite_alloc::Default`: the documented design.
    pub fn default_design() -> Candidate {
        Candidate::parse("", "lite_alloc::Default").expect("no arguments")
    }

    /// `lite_alloc::General`, as the embedded lite-alloc defines it.
    pub fn general() -> Option<Candidate> {
        Candidate::parse(crate::embedded::GENERAL?, "lite_alloc::General").ok()
    }

    /// A configuration given as the attribute's arguments (`--also`). The
    /// attribute itself reports any mistake this does not.
    pub fn parse(arguments: &str, origin: &str) -> Result<Candidate, String> {
        let mut c = Candidate {
            bins: DEFAULT_BINS.to_vec(),
            large: Large::Leak,
            realloc: false,
            growth: None,
            extra: Vec::new(),
            origin: origin.into(),
        };
        let mut keys = Vec::new();
        for argument in split_arguments(attribute_arguments(arguments)?) {
            let (key, value) = match argument.split_once('=') {
                Some((key, value)) => (key.trim(), Some(value.trim())),
                None => (argument, None),
            };
            if argument.contains(';') {
                return Err(format!("{argument:?}: separate arguments with commas"));
            }
            if keys.contains(&key) {
                return Err(format!("duplicate `{key}` argument: give it once"));
            }
            keys.push(key);
            match (key, value) {
                ("bins", Some(list)) => {
                    let inner = list
                        .strip_prefix('[')
                        .and_then(|l| l.strip_suffix(']'))
                        .ok_or_else(|| format!("`bins = {list}`: a list in brackets"))?;
                    c.bins = inner
                        .split(',')
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| integer(s).map_err(|e| format!("bin {:?}: {e}", s.trim())))
                        .collect::<Result<_, _>>()?;
                }
                ("large", Some("leak")) => c.large = Large::Leak,
                ("large", Some("reuse")) => c.large = Large::Reuse,
                ("large", Some("coalesce")) => c.large = Large::Coalesce,
                ("large", Some(other)) => {
                    return Err(format!(
                        "`large = {other}`: unknown; `large` is `leak`, `reuse` or `coalesce`"
                    ));
                }
                ("realloc", None) => c.realloc = true,
                ("growth", Some(fraction)) => {
                    let n = fraction
                        .split_once('/')
                        .filter(|(one, _)| one.trim() == "1")
                        .and_then(|(_, n)| integer(n).ok())
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("`growth = {fraction}`: a fraction 1/N"))?;
                    c.growth = Some(n);
                }
                ("stats", None) => {}
                // The replay measures the pages a configuration grows wasm
                // memory by; an arena is in the module's static data, and
                // claimed or system memory is not wasm memory at all.
                ("memory", Some(source)) if source != "wasm" => {
                    return Err(format!(
                        "`memory = {source}`: the replay predicts how far a configuration grows wasm memory, so `--also` takes configurations on wasm memory (the default)"
                    ));
                }
                (key, Some("")) | (key, None) if key.contains(char::is_whitespace) => {
                    return Err(format!("{argument:?}: not an argument of the attribute"));
                }
                _ => c
                    .extra
                    .push(argument.split_whitespace().collect::<Vec<_>>().join(" ")),
            }
        }
        if c.bins.is_empty() && c.large != Large::Coalesce {
            return Err(format!(
                "no bins in {arguments:?}: `bins = []` needs `large = coalesce`"
            ));
        }
        Ok(c)
    }

    /// The attribute's arguments, leaving out what is the default.
    pub fn arguments(&self) -> String {
        let mut args = Vec::new();
        if self.bins != DEFAULT_BINS {
            args.push(format!("bins = [{}]", list(&self.bins)));
        }
        match self.large {
            Large::Leak => {}
            Large::Reuse => args.push("large = reuse".into()),
            Large::Coalesce => args.push("large = coalesce".into()),
        }
        if self.realloc {
            args.push("realloc".into());
        }
        if let Some(n) = self.growth {
            args.push(format!("growth = 1/{n}"));
        }
        args.extend(self.extra.iter().cloned());
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

    /// The ready-made type with this configuration, if there is one.
    pub fn ready_made(&self) -> Option<&'static str> {
        if *self == Candidate::default_design() {
            Some("lite_alloc::Default")
        } else if Candidate::general().is_some_and(|g| *self == g) {
            Some("lite_alloc::General")
        } else {
            None
        }
    }

    /// Whether the bins double (`b, 2b, 4b, ...`): the smallest and fastest
    /// lookup.
    pub fn doubling(&self) -> bool {
        self.bins.windows(2).all(|w| w[1] == 2 * w[0])
    }

    /// This configuration with another growth.
    pub fn with_growth(&self, growth: Option<usize>) -> Candidate {
        Candidate {
            growth,
            ..self.clone()
        }
    }
}

/// The candidates for `profile`: `lite_alloc::Default` and
/// `lite_alloc::General` first; then, for the documented design's bins,
/// doubling bins from 8 and 16, and for several numbers of bins the bins
/// that lose the least to rounding for the blocks live at the program's
/// peak: with large blocks reused in size classes and, when the program
/// frees large blocks, also with the chunks of `large = coalesce` behind
/// the bins; and no bins at all, every block a chunk. All grow memory as
/// `growth` says (see [`growth_for`]).
pub fn for_profile(profile: &Profile, growth: Option<usize>) -> Vec<Candidate> {
    let mut candidates = vec![Candidate::default_design()];
    candidates.extend(Candidate::general());
    // In-place realloc when the program grows blocks.
    let realloc = profile.growing_reallocs > 0;
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
    let mut push = |c: Candidate| {
        if !candidates.contains(&c) {
            candidates.push(c);
        }
    };
    let frees_large = bin_sets
        .iter()
        .any(|(bins, _)| profile.large_frees(*bins.last().unwrap()) > 0);
    for (bins, origin) in bin_sets {
        let reuse = profile.large_frees(*bins.last().unwrap()) > 0;
        let plain = Candidate {
            bins,
            large: if reuse { Large::Reuse } else { Large::Leak },
            realloc,
            growth,
            extra: Vec::new(),
            origin: origin.into(),
        };
        if frees_large {
            // Bins in front of chunks: blocks of the bins' sizes cost no
            // header, and freed larger ones merge to serve any size.
            push(Candidate {
                large: Large::Coalesce,
                ..plain.clone()
            });
        }
        push(plain);
    }
    // No bins at all, every block a chunk (`lite_alloc::General`'s shape),
    // when blocks are freed that bins would not hold; and bins only for the
    // smallest blocks in front of the chunks: a chunk's header and its
    // rounding to two words cost the most, in proportion, on small blocks
    // (a request of 8 bytes takes a 16-byte chunk on wasm32), while bins
    // for larger sizes keep more memory that only their size can use.
    if frees_large {
        for small in [8, 16, 24, 32, 48, 64] {
            let sizes: BTreeMap<usize, f64> = weights
                .range(..=small)
                .map(|(&size, &w)| (size, w))
                .collect();
            if sizes.keys().next_back() != Some(&small) {
                continue;
            }
            if let Some(bins) = least_rounding(&sizes, small / GRANULE) {
                push(Candidate {
                    bins,
                    large: Large::Coalesce,
                    realloc,
                    growth,
                    extra: Vec::new(),
                    origin: format!("the sizes up to {small} bytes"),
                });
            }
        }
        push(Candidate {
            bins: Vec::new(),
            large: Large::Coalesce,
            realloc,
            growth,
            extra: Vec::new(),
            origin: "no bins: every block a chunk".into(),
        });
    }
    candidates
}

/// The growth the candidates are first replayed with: a page at a time for
/// programs whose live memory stays under [`GROWTH_FROM`], the coarsest
/// fraction above (the finer ones are tried on the best candidates).
pub fn growth_for(profile: &Profile) -> Option<usize> {
    (profile.peak_requested >= GROWTH_FROM).then_some(GROWTHS[0])
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

/// An integer literal as the attribute reads one: decimal, or with a `0x`,
/// `0o` or `0b` prefix, with `_` separators and an optional `usize`
/// suffix.
fn integer(text: &str) -> Result<usize, String> {
    let digits = text.trim().replace('_', "");
    let digits = digits.strip_suffix("usize").unwrap_or(&digits);
    let (radix, digits) = match digits.get(..2) {
        Some("0x") => (16, &digits[2..]),
        Some("0o") => (8, &digits[2..]),
        Some("0b") => (2, &digits[2..]),
        _ => (10, digits),
    };
    usize::from_str_radix(digits, radix).map_err(|e| e.to_string())
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
        let c =
            Candidate::parse("realloc, growth = 1/32, large = reuse, bins = [8, 24]", "").unwrap();
        assert_eq!(
            c.attribute(),
            "#[lite_alloc::lite_alloc(bins = [8, 24], large = reuse, realloc, growth = 1/32)]"
        );
        assert!(!c.doubling());
        assert_eq!(c.ready_made(), None);
    }

    #[test]
    fn arguments_are_read_as_the_attribute_reads_them() {
        let c = Candidate::parse("bins = [], large = coalesce, page = 131072, stats", "").unwrap();
        assert!(c.bins.is_empty());
        assert_eq!(c.large, Large::Coalesce);
        assert_eq!(c.extra, ["page = 131072"], "stats is the replay's own");
        assert!(Candidate::parse("bins = []", "").is_err());
        assert!(Candidate::parse("growth = 2/3", "").is_err());
        assert!(Candidate::parse("large = sometimes", "").is_err());
    }

    /// Mistakes the attribute rejects are rejected here too, with as much
    /// to go on, before anything is built.
    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            Candidate::parse("bins = [8], bins = [16]", "").unwrap_err(),
            "duplicate `bins` argument: give it once"
        );
        assert_eq!(
            Candidate::parse("realloc, large = reuse, realloc", "").unwrap_err(),
            "duplicate `realloc` argument: give it once"
        );
        assert!(
            Candidate::parse("large = merge", "")
                .unwrap_err()
                .contains("`leak`, `reuse` or `coalesce`")
        );
        assert_eq!(
            Candidate::parse("bins = [8]; large = reuse", "").unwrap_err(),
            "\"bins = [8]; large = reuse\": separate arguments with commas"
        );
    }

    /// A line copied from code, or from this tool's recommendation, is
    /// taken as its arguments.
    #[test]
    fn a_whole_attribute_is_taken_as_its_arguments() {
        let arguments = Candidate::parse("bins = [8], large = coalesce, realloc", "").unwrap();
        for pasted in [
            "#[lite_alloc::lite_alloc(bins = [8], large = coalesce, realloc)]",
            "  #[lite_alloc(bins = [8], large = coalesce, realloc)] ",
            "#[::lite_alloc::lite_alloc( bins = [8], large = coalesce, realloc )]",
        ] {
            assert_eq!(Candidate::parse(pasted, "").unwrap(), arguments, "{pasted}");
        }
        assert_eq!(
            Candidate::parse("#[lite_alloc::lite_alloc]", "").unwrap(),
            Candidate::default_design()
        );
        // Another attribute is not taken apart.
        assert!(Candidate::parse("#[derive(Debug)]", "").is_err());
    }

    #[test]
    fn integers_are_read_as_the_attribute_reads_them() {
        for arguments in [
            "bins = [24, 1_024], growth = 1/32",
            "bins = [24, 0x400], growth = 1/0x20",
            "bins = [24usize, 0b100_0000_0000], growth = 1/0o40",
        ] {
            let c = Candidate::parse(arguments, "").unwrap();
            assert_eq!(
                (&c.bins[..], c.growth),
                (&[24, 1024][..], Some(32)),
                "{arguments}"
            );
        }
        assert!(Candidate::parse("bins = [24, 0x]", "").is_err());
        assert!(Candidate::parse("bins = [24, 1.5]", "").is_err());
    }

    /// The replay measures how far wasm memory grows: a configuration on
    /// another memory would be predicted wrong (an arena lies in the
    /// module's static data, and grows nothing).
    #[test]
    fn only_configurations_on_wasm_memory_are_taken() {
        for memory in ["arena(16777216)", "claimed", "system", "my::Memory"] {
            let arguments = format!("large = coalesce, memory = {memory}");
            assert!(Candidate::parse(&arguments, "").is_err(), "{arguments}");
        }
        let c = Candidate::parse("large = coalesce, memory = wasm", "").unwrap();
        assert_eq!(c.extra, ["memory = wasm"]);
    }

    #[test]
    fn the_ready_made_types_are_named() {
        assert_eq!(
            Candidate::default_design().ready_made(),
            Some("lite_alloc::Default")
        );
        let general = Candidate::general().expect("General's line, from lite-alloc's sources");
        // The line as shipped, not the checked mode's.
        assert!(!crate::embedded::GENERAL.unwrap().contains("check"));
        assert_eq!(general.ready_made(), Some("lite_alloc::General"));
        // The same line, written in another order, is General too.
        let mut args = split_arguments(crate::embedded::GENERAL.unwrap());
        args.reverse();
        let reordered = Candidate::parse(&args.join(", "), "").unwrap();
        assert_eq!(reordered.ready_made(), Some("lite_alloc::General"));
        assert_eq!(general.with_growth(None).ready_made(), None);
    }
}
