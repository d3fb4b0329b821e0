//! The size histogram as an SVG chart, with the bins chosen.

use std::fmt::Write;

use crate::analysis::Profile;

/// Requests by size (four buckets per power of two, log scale), with the
/// recommended bins as red lines and `Default`'s as grey dashes.
pub fn histogram(profile: &Profile, bins: &[usize], default_bins: &[usize], title: &str) -> String {
    let (w, h) = (820.0, 420.0);
    let (left, right, top, bottom) = (70.0, 20.0, 40.0, 60.0);
    let top_size = (profile.percentile(0.999).max(*bins.last().unwrap_or(&128)) * 2).max(256);
    let octaves = (top_size as f64).log2().ceil();
    let x = |size: f64| left + size.max(1.0).log2() / octaves * (w - left - right);
    // Buckets: (2^((k-1)/4), 2^(k/4)], so that a bar lies left of the bin
    // line that serves it.
    let buckets = (octaves * 4.0) as usize + 1;
    let mut counts = vec![0u64; buckets];
    for (&size, &count) in &profile.sizes {
        let k =
            (((size.max(1) as f64).log2() * 4.0 - 1e-9).ceil().max(0.0) as usize).min(buckets - 1);
        counts[k] += count;
    }
    let total = profile.requests().max(1) as f64;
    let max_share = counts.iter().copied().max().unwrap_or(1).max(1) as f64 / total;
    let y = |share: f64| h - bottom - share / max_share * (h - top - bottom);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>",
        w / 2.0,
        escape(title)
    );
    for (k, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let (x0, x1) = (
            x(2f64.powf((k as f64 - 1.0) / 4.0)),
            x(2f64.powf(k as f64 / 4.0)),
        );
        let share = count as f64 / total;
        let _ = writeln!(
            svg,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#2c6fbb\" opacity=\"0.75\"/>",
            y(share),
            (x1 - x0 - 1.0).max(1.0),
            h - bottom - y(share)
        );
    }
    for p in 0..=octaves as u32 {
        let size = 1usize << p;
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"#eee\"/>\n<text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>",
            x(size as f64),
            top,
            h - bottom,
            h - bottom + 16.0,
            if size >= 1024 {
                format!("{}K", size / 1024)
            } else {
                size.to_string()
            }
        );
    }
    for i in 0..=4 {
        let share = max_share * i as f64 / 4.0;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}%</text>",
            left - 6.0,
            y(share) + 4.0,
            share * 100.0
        );
    }
    for &bin in default_bins {
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>",
            x(bin as f64),
            top,
            h - bottom
        );
    }
    for &bin in bins {
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"#c0392b\" stroke-width=\"1.5\"/>\n<text x=\"{0:.1}\" y=\"{3}\" fill=\"#c0392b\" font-size=\"10\" text-anchor=\"middle\">{4}</text>",
            x(bin as f64),
            top + 12.0,
            h - bottom,
            top + 8.0,
            bin
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">request size (bytes, log scale), the last bar with every larger one; {}; grey dashes: Default's</text>\n</svg>",
        w / 2.0,
        h - 18.0,
        if bins.is_empty() {
            "no bins recommended"
        } else {
            "red: recommended bins"
        }
    );
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lite_alloc_tune::trace::{Event, Trace};

    /// The legend names the recommended bins only when there are some.
    #[test]
    fn the_legend_says_when_no_bins_are_recommended() {
        let trace = Trace {
            events: vec![Event::Alloc {
                address: 0x100,
                size: 24,
                align: 8,
                zeroed: false,
            }],
            ..Trace::default()
        };
        let profile = Profile::of(&trace);
        let with = histogram(&profile, &[8, 24], &[16, 32, 64, 128], "t");
        assert!(with.contains("red: recommended bins") && with.contains(">24</text>"));
        let without = histogram(&profile, &[], &[16, 32, 64, 128], "t");
        assert!(without.contains("no bins recommended") && !without.contains("red:"));
    }
}
