//! Samples kept while records stream by: a fixed-size uniform reservoir (Algorithm R,
//! deterministic), and quantiles and a median interval of a sorted sample.

use crate::sim::rng::{Purpose, Stream};

/// Reservoir size for samples used by goodness-of-fit, empirical distributions and quantiles.
pub(crate) const RESERVOIR: usize = 4096;

/// A fixed-size uniform sample (Algorithm R), deterministic.
#[derive(Clone, Debug, Default)]
pub struct Reservoir {
    seen: u64,
    /// The sample.
    pub items: Vec<f64>,
}

impl Reservoir {
    /// Offers one value.
    pub fn push(&mut self, x: f64) {
        self.seen += 1;
        if self.items.len() < RESERVOIR {
            self.items.push(x);
        } else {
            let j = (Stream::new(7, 0, Purpose::Durations).uniform(self.seen, 0) * self.seen as f64)
                as usize;
            if j < RESERVOIR {
                self.items[j] = x;
            }
        }
    }
    /// Values seen.
    pub fn seen(&self) -> u64 {
        self.seen
    }
    /// The sorted sample.
    pub fn sorted(&self) -> Vec<f64> {
        let mut v = self.items.clone();
        v.sort_by(f64::total_cmp);
        v
    }
}

/// A distribution-free 95% interval for the median of a sorted sample (order statistics
/// n/2 ∓ 1.96·√n/2).
pub(crate) fn median_ci(sorted: &[f64]) -> Option<(f64, f64)> {
    let n = sorted.len();
    if n < 6 {
        return None;
    }
    let h = 1.959963984540054 * (n as f64).sqrt() / 2.0;
    let lo = ((n as f64 / 2.0 - h).floor().max(0.0)) as usize;
    let hi = ((n as f64 / 2.0 + h).ceil() as usize).min(n - 1);
    Some((sorted[lo], sorted[hi]))
}

/// A quantile of a sorted sample.
pub(crate) fn q(sorted: &[f64], p: f64) -> f64 {
    crate::stats::quantile_sorted(sorted, p)
}
