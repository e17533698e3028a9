//! End-to-end latencies of one replication's completed runs: exact (kept and sorted) while
//! few, a 3-significant-digit histogram once many, so a replication with a handful of runs
//! does not pay for zeroing and scanning a histogram, and memory stays bounded.

use hdrhistogram::Histogram;

/// Latencies kept exactly up to this many runs, then in a histogram.
pub const EXACT_UP_TO: usize = 4096;

/// Latency statistics, ms.
#[derive(Debug, Default)]
pub struct Latencies {
    exact: Vec<u64>,
    hist: Option<Histogram<u64>>,
    sum: f64,
    n: u64,
}

/// A latency histogram (ms): 3 significant digits, sized for latencies up to 2 days and
/// resized only if a run takes longer.
fn histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1_000, 2 * crate::model::SimTime::DAY.0, 3)
        .or_else(|_| Histogram::new(3))
        .unwrap_or_else(|_| unreachable!("3 significant figures are valid"));
    h.auto(true);
    h
}

impl Latencies {
    /// Records one completed run's latency.
    #[inline]
    pub fn record(&mut self, ms: u64) {
        self.sum += ms as f64;
        self.n += 1;
        match &mut self.hist {
            Some(h) => {
                let _ = h.record(ms.max(1));
            }
            None if self.exact.len() < EXACT_UP_TO => self.exact.push(ms),
            None => {
                // full (its capacity, a power of two, is exactly EXACT_UP_TO): histogram
                let mut h = histogram();
                for &v in self.exact.iter().chain([&ms]) {
                    let _ = h.record(v.max(1));
                }
                self.exact = Vec::new();
                self.hist = Some(h);
            }
        }
    }

    /// Runs recorded.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Mean, ms (0 when none).
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }

    /// The p50, p95 and p99, ms (nearest rank; 0 when none). Exact while few runs; then the
    /// histogram's highest equivalent value (within 0.1%).
    pub fn percentiles(&mut self) -> [u64; 3] {
        let qs = [0.50, 0.95, 0.99];
        match &self.hist {
            Some(h) => qs.map(|q| h.value_at_quantile(q)),
            None if self.exact.is_empty() => [0; 3],
            None => {
                // three selections, each O(n) (no full sort); the ranks grow, so each works on
                // the part above the previous one
                let n = self.exact.len();
                let mut out = [0; 3];
                let mut from = 0;
                for (k, q) in qs.iter().enumerate() {
                    let rank = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
                    let (_, v, _) = self.exact[from..].select_nth_unstable(rank - from);
                    out[k] = *v;
                    from = rank;
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_equal_the_nearest_ranks_of_the_sorted_values() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for n in [1usize, 2, 3, 7, 20, 99, 100, 101, 1000, 4096] {
            let mut l = Latencies::default();
            let mut v = Vec::new();
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ms = x % 1000; // many ties
                l.record(ms);
                v.push(ms);
            }
            v.sort_unstable();
            let want = [0.50, 0.95, 0.99]
                .map(|q: f64| v[((q * n as f64).ceil() as usize).clamp(1, n) - 1]);
            assert_eq!(l.percentiles(), want, "n = {n}");
        }
    }

    #[test]
    fn exact_nearest_rank_then_histogram_within_a_tenth_of_a_percent() {
        let mut l = Latencies::default();
        for v in 1..=100u64 {
            l.record(v * 1000);
        }
        assert_eq!(l.percentiles(), [50_000, 95_000, 99_000]);
        assert_eq!(l.mean(), 50_500.0);
        let mut big = Latencies::default();
        for v in 1..=10_000u64 {
            big.record(v * 1000);
        }
        assert!(big.hist.is_some());
        let [p50, p95, p99] = big.percentiles();
        for (got, want) in [(p50, 5_000_000.0), (p95, 9_500_000.0), (p99, 9_900_000.0)] {
            assert!((got as f64 / want - 1.0).abs() < 1e-3, "{got} vs {want}");
        }
    }
}
