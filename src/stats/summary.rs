//! A metric over replications: mean, Student-t 95% confidence interval, quantiles, one-sided
//! bounds and paired differences.

use serde::Serialize;

use super::dist::{t_quantile, t975};

/// Summary of one metric over replications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Stat {
    /// Replications.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Lower end of the 95% confidence interval of the mean.
    pub ci95_low: f64,
    /// Upper end of the 95% confidence interval of the mean.
    pub ci95_high: f64,
    /// 5th percentile over replications.
    pub p5: f64,
    /// Median over replications.
    pub p50: f64,
    /// 95th percentile over replications.
    pub p95: f64,
}

impl Stat {
    /// Summarises `values` (in replication order; the result does not depend on it).
    pub fn of(values: &[f64]) -> Stat {
        let n = values.len();
        if n == 0 {
            return Stat::default();
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let half = if n > 1 {
            t975(n as f64 - 1.0) * sd / (n as f64).sqrt()
        } else {
            0.0
        };
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Stat {
            n: n as u64,
            mean,
            sd,
            ci95_low: mean - half,
            ci95_high: mean + half,
            p5: quantile_sorted(&sorted, 0.05),
            p50: quantile_sorted(&sorted, 0.50),
            p95: quantile_sorted(&sorted, 0.95),
        }
    }

    /// Summarises per-replication proportions `values` of `trials` trials in all (runs,
    /// runs with a deadline): the interval is Wilson's at the effective sample size
    /// `p(1−p)/se²` (Korn & Graubard's for clustered samples: replications are clusters of
    /// runs), capped at `trials`, so it never leaves [0, 1] and is not empty at 0 or 1.
    pub fn proportion(values: &[f64], trials: f64) -> Stat {
        let mut st = Stat::of(values);
        if st.n == 0 || trials <= 0.0 {
            return st;
        }
        let p = st.mean.clamp(0.0, 1.0);
        let se = st.se();
        let n_eff = if st.n > 1 && se > 0.0 {
            (p * (1.0 - p) / (se * se)).min(trials)
        } else {
            trials
        };
        // with one replication there is no between-replication spread to trust
        if st.n > 1 {
            (st.ci95_low, st.ci95_high) = super::interval::wilson(p, n_eff.max(1.0));
        }
        st
    }

    /// Standard error of the mean.
    pub fn se(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sd / (self.n as f64).sqrt()
        }
    }
}

/// Quantile of sorted data by linear interpolation between order statistics (Hyndman–Fan
/// type 7, the default of R and NumPy).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

impl Stat {
    /// One-sided upper confidence bound of the mean at `confidence` (e.g. 0.95).
    pub fn upper(&self, confidence: f64) -> f64 {
        if self.n < 2 {
            return self.mean;
        }
        self.mean + t_quantile(confidence, self.n as f64 - 1.0) * self.se()
    }
    /// One-sided lower confidence bound of the mean at `confidence`.
    pub fn lower(&self, confidence: f64) -> f64 {
        if self.n < 2 {
            return self.mean;
        }
        self.mean - t_quantile(confidence, self.n as f64 - 1.0) * self.se()
    }
}

/// The paired difference a − b over replications both have.
pub fn paired(a: &[f64], b: &[f64]) -> Stat {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    Stat::of(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_of_known_values() {
        let s = Stat::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.mean, 3.0);
        assert!((s.sd - 2.5f64.sqrt()).abs() < 1e-12);
        assert!((s.ci95_high - (3.0 + 2.776445105 * 2.5f64.sqrt() / 5f64.sqrt())).abs() < 1e-9);
        assert_eq!(s.p50, 3.0);
        assert!((s.p5 - 1.2).abs() < 1e-12);
        assert!((s.p95 - 4.8).abs() < 1e-12);
    }

    #[test]
    fn paired_difference() {
        let s = paired(&[3.0, 5.0, 7.0], &[1.0, 2.0, 3.0]);
        assert_eq!(s.mean, 3.0);
        assert_eq!(s.n, 3);
    }
}
