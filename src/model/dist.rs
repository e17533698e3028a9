//! Duration distributions (work per run, provisioning, image pull), sampled in milliseconds.

use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, StandardUniform};

use super::SimTime;

/// z-score of the 95th percentile of the standard normal.
pub(crate) const Z95: f64 = 1.6448536269514722;

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

    /// P(X ≤ x) for x in ms.
    pub fn cdf(&self, x: f64) -> f64 {
        use statrs::distribution::{ContinuousCDF, Gamma as G, LogNormal as L};
        match self {
            Dist::Fixed(t) => f64::from(u8::from(x >= t.0 as f64)),
            Dist::Uniform(a, b) => {
                let (a, b) = (a.0 as f64, b.0 as f64);
                if b <= a {
                    f64::from(u8::from(x >= a))
                } else {
                    ((x - a) / (b - a)).clamp(0.0, 1.0)
                }
            }
            Dist::Exponential { mean_ms } => {
                if x <= 0.0 {
                    0.0
                } else {
                    -(-x / mean_ms).exp_m1()
                }
            }
            Dist::Lognormal { mu, sigma } => match L::new(*mu, *sigma) {
                Ok(d) if x > 0.0 => d.cdf(x),
                _ => f64::from(u8::from(x >= mu.exp())),
            },
            Dist::Gamma { shape, scale_ms } => match G::new(*shape, 1.0 / scale_ms) {
                Ok(d) if x > 0.0 => d.cdf(x),
                _ => f64::from(u8::from(x >= shape * scale_ms)),
            },
            Dist::Empirical(v) => {
                v.iter().filter(|&&y| y as f64 <= x).count() as f64 / v.len() as f64
            }
        }
    }

    /// The q-quantile (0 < q < 1), ms.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        use statrs::distribution::{ContinuousCDF, Gamma as G, LogNormal as L};
        let q = q.clamp(1e-12, 1.0 - 1e-12);
        match self {
            Dist::Fixed(t) => t.0 as f64,
            Dist::Uniform(a, b) => a.0 as f64 + q * (b.0 as f64 - a.0 as f64).max(0.0),
            Dist::Exponential { mean_ms } => -mean_ms * (-q).ln_1p(),
            Dist::Lognormal { mu, sigma } => match L::new(*mu, *sigma) {
                Ok(d) => d.inverse_cdf(q),
                Err(_) => mu.exp(),
            },
            Dist::Gamma { shape, scale_ms } => match G::new(*shape, 1.0 / scale_ms) {
                Ok(d) => d.inverse_cdf(q),
                Err(_) => shape * scale_ms,
            },
            Dist::Empirical(v) => {
                let mut s: Vec<u64> = v.to_vec();
                s.sort_unstable();
                let i = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1;
                s[i] as f64
            }
        }
    }

    /// The q-quantile of X given X > `seen` ms: what a scheduler that knows only the
    /// distribution and that a run has already needed more than `seen` can expect of its
    /// total work. At least `seen`.
    pub fn conditional_quantile_ms(&self, q: f64, seen: f64) -> f64 {
        if let Dist::Empirical(v) = self {
            let mut above: Vec<u64> = v.iter().copied().filter(|&y| y as f64 > seen).collect();
            if above.is_empty() {
                return seen;
            }
            above.sort_unstable();
            let i = ((q * above.len() as f64).ceil() as usize).clamp(1, above.len()) - 1;
            return above[i] as f64;
        }
        let f = self.cdf(seen);
        if f >= 1.0 - 1e-12 {
            return seen;
        }
        self.quantile_ms(f + q * (1.0 - f)).max(seen)
    }

    /// A sampler with the distribution's parameters worked out once (the engine draws
    /// millions of values; `Gamma::new` and friends would redo a square root and checks on
    /// every draw). It draws exactly the values [`Dist::sample`] draws.
    pub fn sampler(&self) -> Sampler {
        match self {
            Dist::Fixed(t) => Sampler::Fixed(*t),
            Dist::Exponential { mean_ms } => match Exp::new(1.0 / mean_ms) {
                Ok(d) => Sampler::Exp(d),
                Err(_) => Sampler::Dist(self.clone()),
            },
            Dist::Lognormal { mu, sigma } => match LogNormal::new(*mu, *sigma) {
                Ok(d) => Sampler::LogNormal(d),
                Err(_) => Sampler::Dist(self.clone()),
            },
            Dist::Gamma { shape, scale_ms } => match Gamma::new(*shape, *scale_ms) {
                Ok(d) => Sampler::Gamma(d),
                Err(_) => Sampler::Dist(self.clone()),
            },
            _ => Sampler::Dist(self.clone()),
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
        to_ms(ms)
    }
}

/// Rounds half up (the values are ≥ 0); `as` saturates NaN to 0.
#[inline]
fn to_ms(ms: f64) -> SimTime {
    SimTime((ms.max(0.0) + 0.5).min(u64::MAX as f64 / 4.0) as u64)
}

/// A [`Dist`] ready to draw from ([`Dist::sampler`]).
#[derive(Clone, Debug)]
pub enum Sampler {
    /// Always this value.
    Fixed(SimTime),
    /// Exponential.
    Exp(Exp<f64>),
    /// Lognormal.
    LogNormal(LogNormal<f64>),
    /// Gamma.
    Gamma(Gamma<f64>),
    /// Anything else, drawn by [`Dist::sample`].
    Dist(Dist),
}

impl Sampler {
    /// Draws one value: the same as [`Dist::sample`] of the distribution it came from.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimTime {
        match self {
            Sampler::Fixed(t) => *t,
            Sampler::Exp(d) => to_ms(d.sample(rng)),
            Sampler::LogNormal(d) => to_ms(d.sample(rng)),
            Sampler::Gamma(d) => to_ms(d.sample(rng)),
            Sampler::Dist(d) => d.sample(rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_quantiles_match_closed_forms() {
        // exponential is memoryless: Q(q | X > s) = s + Q(q)
        let e = Dist::Exponential { mean_ms: 1000.0 };
        let q = e.conditional_quantile_ms(0.9, 5000.0);
        assert!((q - (5000.0 + 1000.0 * 10f64.ln())).abs() < 1e-6, "{q}");
        // uniform on [0, 100]: given X > 50, uniform on [50, 100]
        let u = Dist::Uniform(SimTime(0), SimTime(100));
        assert!((u.conditional_quantile_ms(0.5, 50.0) - 75.0).abs() < 1e-9);
        // lognormal: the quantile inverts the cdf
        let l = Dist::lognormal(SimTime(600_000), SimTime(1_800_000));
        assert!((l.quantile_ms(0.95) - 1_800_000.0).abs() < 1.0);
        assert!((l.cdf(600_000.0) - 0.5).abs() < 1e-9);
        let c = l.conditional_quantile_ms(0.95, 1_800_000.0);
        assert!((l.cdf(c) - (0.95 + 0.95 * 0.05)).abs() < 1e-6);
        // a fixed duration is known exactly; an empirical one from the values above
        assert_eq!(
            Dist::Fixed(SimTime(7)).conditional_quantile_ms(0.95, 3.0),
            7.0
        );
        let emp = Dist::Empirical(Arc::new(vec![10, 20, 30, 40]));
        assert_eq!(emp.conditional_quantile_ms(0.5, 15.0), 30.0);
        assert_eq!(emp.conditional_quantile_ms(0.99, 45.0), 45.0);
    }
}
