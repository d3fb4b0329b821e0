//! What a trace says about a program's allocations.

use std::collections::{BTreeMap, HashMap};

use lite_alloc_tune::trace::{Event, Trace};

/// The shape of a program's allocations.
#[derive(Debug, Default)]
pub struct Profile {
    /// Successful allocations (`alloc` and `alloc_zeroed`).
    pub allocations: u64,
    /// Frees.
    pub frees: u64,
    /// Reallocations, and those that grew the block.
    pub reallocs: u64,
    pub growing_reallocs: u64,
    /// Requests by size (allocations and the new sizes of reallocations),
    /// for alignments a bin can serve (up to 16).
    pub sizes: BTreeMap<usize, u64>,
    /// Requests aligned to more than 16 bytes.
    pub over_aligned: u64,
    /// The blocks live at the moment the program's live bytes peaked, by
    /// size: what memory is needed for.
    pub live_at_peak: BTreeMap<usize, u64>,
    /// That peak, in bytes requested.
    pub peak_requested: usize,
    /// The largest request.
    pub largest: usize,
    /// Bytes freed in blocks larger than `threshold` (see `large_frees`).
    large_freed: Vec<(usize, u64)>,
}

impl Profile {
    pub fn of(trace: &Trace) -> Profile {
        let mut p = Profile::default();
        let mut live: HashMap<usize, usize> = HashMap::new();
        let mut requested = 0usize;
        let mut freed_sizes: BTreeMap<usize, u64> = BTreeMap::new();
        // The peak is found in a first pass, the blocks live at it in a
        // second: remembering every block's history would cost more.
        let mut peak_at = 0;
        for (i, event) in trace.events.iter().enumerate() {
            match *event {
                Event::Alloc {
                    address,
                    size,
                    align,
                    ..
                } => {
                    if address == 0 {
                        continue;
                    }
                    p.allocations += 1;
                    p.count(size, align);
                    if let Some(old) = live.insert(address, size) {
                        requested -= old;
                    }
                    requested += size;
                }
                Event::Dealloc { address } => {
                    if let Some(size) = live.remove(&address) {
                        p.frees += 1;
                        requested -= size;
                        *freed_sizes.entry(size).or_default() += 1;
                    }
                }
                Event::Realloc { from, to, size } => {
                    if to == 0 {
                        continue;
                    }
                    if let Some(old) = live.remove(&from) {
                        p.reallocs += 1;
                        if size > old {
                            p.growing_reallocs += 1;
                        }
                        p.count(size, 1);
                        *freed_sizes.entry(old).or_default() += 1;
                        live.insert(to, size);
                        requested = requested - old + size;
                    }
                }
            }
            if requested > p.peak_requested {
                p.peak_requested = requested;
                peak_at = i;
            }
        }
        live.clear();
        for event in &trace.events[..=peak_at.min(trace.events.len().saturating_sub(1))] {
            match *event {
                Event::Alloc { address, size, .. } if address != 0 => {
                    live.insert(address, size);
                }
                Event::Dealloc { address } => {
                    live.remove(&address);
                }
                Event::Realloc { from, to, size } if to != 0 && live.remove(&from).is_some() => {
                    live.insert(to, size);
                }
                _ => {}
            }
        }
        for size in live.into_values() {
            *p.live_at_peak.entry(size).or_default() += 1;
        }
        p.large_freed = freed_sizes.into_iter().collect();
        p
    }

    fn count(&mut self, size: usize, align: usize) {
        self.largest = self.largest.max(size);
        if align > 16 {
            self.over_aligned += 1;
        } else {
            *self.sizes.entry(size).or_default() += 1;
        }
    }

    /// Requests of every size (aligned to 16 at most).
    pub fn requests(&self) -> u64 {
        self.sizes.values().sum()
    }

    /// The size at or below which `fraction` of the requests fall.
    pub fn percentile(&self, fraction: f64) -> usize {
        let goal = (self.requests() as f64 * fraction).ceil() as u64;
        let mut seen = 0;
        for (&size, &count) in &self.sizes {
            seen += count;
            if seen >= goal {
                return size;
            }
        }
        self.largest
    }

    /// Bytes freed (or moved away from by realloc) in blocks larger than
    /// `threshold`: what never comes back without `large = reuse`.
    pub fn large_frees(&self, threshold: usize) -> u64 {
        self.large_freed
            .iter()
            .filter(|&&(size, _)| size > threshold)
            .map(|&(size, count)| size as u64 * count)
            .sum()
    }
}
