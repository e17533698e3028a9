//! Duration distributions (work per run, provisioning, image pull), sampled in milliseconds.

use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, StandardUniform};

use super::SimTime;

/// z-score of the 95th percentile of the standard normal.
pub const Z95: f64 = 1.6448536269514722;

/// A distribution of non-negative durations.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Always this value.
    Fixed(SimTime),
    /// Uniform on [lo, hi] (ms).
    Uniform(SimTime, SimTime),
    /// Exponential with this mean (ms).
    Exponential {
        /// Mean, ms.
        mean_ms: f64,
    },
    /// Lognormal: ln(X in ms) ~ Normal(mu, sigma). Built from median and p95 by
    /// mu = ln(median), sigma = ln(p95 / median) / z95.
    Lognormal {
        /// Mean of ln(ms).
        mu: f64,
        /// Standard deviation of ln(ms), > 0.
        sigma: f64,
    },
    /// Gamma with shape k and scale θ (ms): mean kθ.
    Gamma {
        /// Shape k > 0.
        shape: f64,
        /// Scale θ > 0, ms.
        scale_ms: f64,
    },
    /// Resample observed values uniformly (ms, non-empty).
    Empirical(Arc<Vec<u64>>),
}

impl Dist {
    /// Lognormal from its median and 95th percentile (p95 > median > 0).
    pub fn lognormal(median: SimTime, p95: SimTime) -> Dist {
        let mu = (median.0 as f64).ln();
        let sigma = ((p95.0 as f64) / (median.0 as f64)).ln() / Z95;
        Dist::Lognormal { mu, sigma }
    }

    /// The mean, in ms.
    pub fn mean_ms(&self) -> f64 {
        match self {
            Dist::Fixed(t) => t.0 as f64,
            Dist::Uniform(a, b) => (a.0 as f64 + b.0 as f64) / 2.0,
            Dist::Exponential { mean_ms } => *mean_ms,
            Dist::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Dist::Gamma { shape, scale_ms } => shape * scale_ms,
            Dist::Empirical(v) => v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64,
        }
    }

    /// The median, in ms (exact for all but gamma, where the mean is a close stand-in
    /// (k − 1/3)θ for k ≥ 1).
    pub fn median_ms(&self) -> f64 {
        match self {
            Dist::Fixed(t) => t.0 as f64,
            Dist::Uniform(a, b) => (a.0 as f64 + b.0 as f64) / 2.0,
            Dist::Exponential { mean_ms } => mean_ms * std::f64::consts::LN_2,
            Dist::Lognormal { mu, .. } => mu.exp(),
            Dist::Gamma { shape, scale_ms } => ((shape - 1.0 / 3.0).max(shape / 2.0)) * scale_ms,
            Dist::Empirical(v) => {
                let mut s: Vec<u64> = v.to_vec();
                s.sort_unstable();
                s[s.len() / 2] as f64
            }
        }
    }

    /// Draws one value.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimTime {
        let ms = match self {
            Dist::Fixed(t) => return *t,
            Dist::Uniform(a, b) => {
                if b.0 <= a.0 {
                    return *a;
                }
                let u: f64 = StandardUniform.sample(rng);
                a.0 as f64 + u * (b.0 - a.0) as f64
            }
            Dist::Exponential { mean_ms } => match Exp::new(1.0 / mean_ms) {
                Ok(d) => d.sample(rng),
                Err(_) => *mean_ms,
            },
            Dist::Lognormal { mu, sigma } => match LogNormal::new(*mu, *sigma) {
                Ok(d) => d.sample(rng),
                Err(_) => mu.exp(),
            },
            Dist::Gamma { shape, scale_ms } => match Gamma::new(*shape, *scale_ms) {
                Ok(d) => d.sample(rng),
                Err(_) => shape * scale_ms,
            },
            Dist::Empirical(v) => {
                let u: f64 = StandardUniform.sample(rng);
                let i = ((u * v.len() as f64) as usize).min(v.len() - 1);
                return SimTime(v[i]);
            }
        };
        SimTime(ms.max(0.0).round().min(u64::MAX as f64 / 4.0) as u64)
    }
}
