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
        // Each live block's size and alignment.
        let mut live: HashMap<usize, (usize, usize)> = HashMap::new();
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
                    // Saturating: a trace is the program's word, and a
                    // malformed one must not wrap the sums.
                    if let Some((old, _)) = live.insert(address, (size, align)) {
                        requested = requested.saturating_sub(old);
                    }
                    requested = requested.saturating_add(size);
                }
                Event::Dealloc { address } => {
                    if let Some((size, _)) = live.remove(&address) {
                        p.frees += 1;
                        requested = requested.saturating_sub(size);
                        *freed_sizes.entry(size).or_default() += 1;
                    }
                }
                Event::Realloc { from, to, size } => {
                    if to == 0 {
                        continue;
                    }
                    if let Some((old, align)) = live.remove(&from) {
                        p.reallocs += 1;
                        if size > old {
                            p.growing_reallocs += 1;
                        }
                        p.count(size, align);
                        // Moved away from: the old block is free memory
                        // for others. Resized in place, nothing is.
                        if to != from {
                            *freed_sizes.entry(old).or_default() += 1;
                        }
                        if let Some((other, _)) = live.insert(to, (size, align)) {
                            requested = requested.saturating_sub(other);
                        }
                        requested = requested.saturating_sub(old).saturating_add(size);
                    }
                }
            }
            if requested > p.peak_requested {
                p.peak_requested = requested;
                peak_at = i;
            }
        }
        let mut live: HashMap<usize, usize> = HashMap::new();
        // Up to the peak (none in a trace without a request).
        for event in trace.events.iter().take(peak_at + 1) {
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
            .map(|&(size, count)| (size as u64).saturating_mul(count))
            .fold(0, u64::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(events: Vec<Event>) -> Profile {
        Profile::of(&Trace {
            pointer_bytes: 4,
            events,
            complete: true,
            ..Trace::default()
        })
    }

    fn alloc(address: usize, size: usize, align: usize) -> Event {
        Event::Alloc {
            address,
            size,
            align,
            zeroed: false,
        }
    }

    /// A block resized in place frees nothing; one that moves frees its
    /// old size. A resized block keeps its alignment.
    #[test]
    fn reallocs_free_only_what_they_move_away_from() {
        let mut events = vec![alloc(0x1000, 1000, 8)];
        for i in 1..=100 {
            events.push(Event::Realloc {
                from: 0x1000,
                to: 0x1000,
                size: 1000 + i * 1000,
            });
        }
        let p = profile(events.clone());
        assert_eq!(p.large_frees(128), 0, "grown in place, freed nothing");
        assert_eq!(p.peak_requested, 101_000);
        events.push(Event::Realloc {
            from: 0x1000,
            to: 0x9_0000,
            size: 200_000,
        });
        assert_eq!(profile(events).large_frees(128), 101_000, "moved away from");

        let p = profile(vec![
            alloc(0x1000, 100, 64),
            Event::Realloc {
                from: 0x1000,
                to: 0x2000,
                size: 200,
            },
        ]);
        assert_eq!(p.over_aligned, 2, "sizes: {:?}", p.sizes);
        assert!(p.sizes.is_empty(), "sizes: {:?}", p.sizes);
    }

    /// A malformed trace (blocks whose sizes add past the address space, a
    /// block moved onto one still live) does not wrap the sums.
    #[test]
    fn sums_do_not_wrap() {
        let huge = isize::MAX as usize;
        let p = profile(vec![
            alloc(16, huge, 8),
            alloc(32, huge, 8),
            alloc(48, huge, 8),
        ]);
        assert_eq!(p.peak_requested, usize::MAX);
        let mut events = Vec::new();
        for address in [16, 32, 48, 64] {
            events.extend([alloc(address, huge, 8), Event::Dealloc { address }]);
        }
        assert_eq!(profile(events).large_frees(128), u64::MAX);
        let p = profile(vec![
            alloc(16, 100, 8),
            alloc(32, 50, 8),
            Event::Realloc {
                from: 16,
                to: 32,
                size: 10,
            },
            Event::Dealloc { address: 32 },
        ]);
        assert_eq!((p.peak_requested, p.frees), (150, 1));
    }

    /// A trace of no request (what a recorder that saw none writes) has an
    /// empty profile.
    #[test]
    fn a_trace_without_requests() {
        let p = profile(Vec::new());
        assert_eq!((p.allocations, p.peak_requested), (0, 0));
        assert!(p.live_at_peak.is_empty());
    }
}
