//! Fits from the accumulated records: start-time regularity as a schedule, work durations as
//! a distribution (log-normal, gamma or the sample itself, by Kolmogorov–Smirnov), the hourly
//! interruption profile, reclaim waves and capacity failures.

use serde::Serialize;

use super::estimate::{Accum, GroupAccum, Proportion, RateEstimate, StartStats};
use crate::stats::dist::{chi2_quantile, erf, gamma_p};

/// Schedule estimate of one deployment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ScheduleEstimate {
    /// Regular: every `interval_s`, first at `first_ms`.
    Every {
        /// Median gap, s.
        interval_s: f64,
        /// Coefficient of variation of the gaps.
        cv: f64,
        /// First start (Unix ms).
        first_ms: i64,
    },
    /// Irregular: Poisson with this rate per hour.
    Poisson {
        /// Runs per hour with its CI.
        rate: RateEstimate,
        /// Coefficient of variation of the gaps.
        cv: f64,
    },
    /// Too few starts.
    Unknown,
}

/// Share of gaps within ±10% of the median gap at which the starts are a fixed interval.
/// A fixed schedule keeps nearly every gap there even when a few retried runs (counted as
/// starts) split some gaps; Poisson gaps fall there with probability
/// e^(−0.9 ln 2) − e^(−1.1 ln 2) ≈ 0.07.
pub const REGULAR_SHARE: f64 = 0.9;

/// The schedule: when at least [`REGULAR_SHARE`] of the gaps lie within ±10% of the median
/// gap, a fixed interval (the median); otherwise a Poisson process. The coefficient of
/// variation is reported too (outliers inflate it, so it does not decide).
pub fn schedule(s: &StartStats) -> ScheduleEstimate {
    let gaps = s.gaps.sorted();
    if gaps.len() < 3 {
        return ScheduleEstimate::Unknown;
    }
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let cv = if mean > 0.0 { sd / mean } else { f64::INFINITY };
    let median = gaps[gaps.len() / 2];
    let regular = gaps
        .iter()
        .filter(|g| (*g - median).abs() <= 0.1 * median)
        .count() as f64
        / n;
    let (first, last) = (s.first.unwrap_or(0), s.last.unwrap_or(0));
    // every start within a second (one `createdAt` for all): no rate can be told from that
    if last - first < 1_000 {
        return ScheduleEstimate::Unknown;
    }
    if median > 0.0 && regular >= REGULAR_SHARE {
        ScheduleEstimate::Every {
            interval_s: median,
            cv,
            first_ms: first,
        }
    } else {
        ScheduleEstimate::Poisson {
            rate: RateEstimate::of(s.n.saturating_sub(1), (last - first) as f64 / 3_600_000.0),
            cv,
        }
    }
}

/// A fitted duration distribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum DurationFit {
    /// Lognormal by median and p95 (seconds), with the KS statistic.
    Lognormal {
        /// Median, s.
        median_s: f64,
        /// 95th percentile, s.
        p95_s: f64,
        /// Kolmogorov–Smirnov D.
        ks: f64,
    },
    /// Gamma by shape and mean (seconds).
    Gamma {
        /// Shape.
        shape: f64,
        /// Mean, s.
        mean_s: f64,
        /// Kolmogorov–Smirnov D.
        ks: f64,
    },
    /// Neither fits: resample the observations.
    Empirical {
        /// Best parametric D, for the record.
        ks: f64,
        /// The sample, s.
        sample: Vec<f64>,
    },
    /// Too few completed tasks.
    TooFew {
        /// How many.
        n: u64,
    },
}

fn ks(sorted: &[f64], cdf: &dyn Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// Fits the work distribution: the lognormal or gamma with the smaller KS statistic if it
/// passes the 5% critical value 1.36/√n, else the empirical sample.
pub fn durations(g: &GroupAccum) -> DurationFit {
    if g.work_n < 5 {
        return DurationFit::TooFew { n: g.work_n };
    }
    let sample = g.work.sorted();
    let crit = 1.358 / (sample.len() as f64).sqrt();
    let mut best: Option<(f64, DurationFit)> = None;
    if let Some((mu, sigma)) = g.lognormal()
        && sigma > 0.0
    {
        let d = ks(&sample, &|x| {
            0.5 * (1.0 + erf((x.ln() - mu) / (sigma * std::f64::consts::SQRT_2)))
        });
        best = Some((
            d,
            DurationFit::Lognormal {
                median_s: mu.exp(),
                p95_s: (mu + 1.6448536269514722 * sigma).exp(),
                ks: d,
            },
        ));
    }
    // (only shapes a scenario accepts: beyond them the gamma is not what the data mean)
    if let Some((k, theta)) = g.gamma().filter(|(k, _)| {
        let (lo, hi) = crate::scenario::validate::GAMMA_SHAPE;
        (lo..=hi).contains(k)
    }) {
        let d = ks(&sample, &|x| gamma_p(k, x / theta));
        if best.as_ref().is_none_or(|b| d < b.0) {
            best = Some((
                d,
                DurationFit::Gamma {
                    shape: k,
                    mean_s: k * theta,
                    ks: d,
                },
            ));
        }
    }
    match best {
        Some((d, fit)) if d <= crit => fit,
        Some((d, _)) => DurationFit::Empirical { ks: d, sample },
        None => DurationFit::Empirical {
            ks: f64::NAN,
            sample,
        },
    }
}

/// Hour-of-day variation: multipliers when a chi-square test rejects a constant rate at 5%
/// and there are at least 50 interruptions; with the statistic.
pub fn hourly(a: &Accum) -> (Option<[f64; 24]>, f64) {
    let k = a.interruptions as f64;
    let total: f64 = a.hourly_hours.iter().sum();
    if a.interruptions < 50 || total <= 0.0 {
        return (None, f64::NAN);
    }
    let mut chi2 = 0.0;
    for h in 0..24 {
        let e = k * a.hourly_hours[h] / total;
        if e > 0.0 {
            chi2 += (a.hourly_events[h] as f64 - e).powi(2) / e;
        }
    }
    if chi2 <= chi2_quantile(0.95, 23.0) {
        return (None, chi2);
    }
    let rate = k / total;
    let mut m = [1.0; 24];
    for (h, x) in m.iter_mut().enumerate() {
        if a.hourly_hours[h] > 0.0 {
            *x = (a.hourly_events[h] as f64 / a.hourly_hours[h]) / rate;
        }
    }
    (Some(m), chi2)
}

/// Reclaim waves: bursts of ≥ 3 interruptions within 2 minutes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Waves {
    /// Waves found.
    pub waves: u64,
    /// Interruptions inside them.
    pub in_waves: u64,
    /// Waves per day with its CI.
    pub per_day: RateEstimate,
    /// Share of running spot tasks hit (interruptions per wave / mean spot tasks running).
    pub hit: f64,
}

/// Finds waves among the interruption times.
pub fn waves(a: &Accum) -> Waves {
    let mut t = a.interruption_times.clone();
    t.sort_unstable();
    let (mut waves, mut in_waves, mut i) = (0u64, 0u64, 0usize);
    while i < t.len() {
        let mut j = i;
        while j + 1 < t.len() && t[j + 1] - t[i] <= 120_000 {
            j += 1;
        }
        let size = (j - i + 1) as u64;
        if size >= 3 {
            waves += 1;
            in_waves += size;
        }
        i = j + 1;
    }
    let days = a
        .span
        .map(|(x, y)| (y - x) as f64 / 86_400_000.0)
        .unwrap_or(0.0);
    let per_day = RateEstimate::of(waves, days);
    let per_day = RateEstimate {
        hours: days,
        ..per_day
    };
    let running = if days > 0.0 {
        a.spot_hours / (days * 24.0)
    } else {
        0.0
    };
    let hit = if waves > 0 && running > 0.0 {
        (in_waves as f64 / waves as f64 / running).min(1.0)
    } else {
        0.0
    };
    Waves {
        waves,
        in_waves,
        per_day,
        hit,
    }
}

/// Capacity: the share of spot RunTask calls that found no capacity, counting only the first
/// failure of a burst (retries 30 s or less after a failure probe the same outage), and outage
/// episodes (failures less than 10 minutes apart).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Capacity {
    /// First failures among first calls: an estimate of the unavailable fraction.
    pub failures: Proportion,
    /// All failures, retries included.
    pub all_failures: u64,
    /// Episodes.
    pub episodes: u64,
    /// Mean length of the episodes that spanned more than a minute, s (`None`: none did, so the
    /// data cannot tell how long outages last).
    pub mean_outage_s: Option<f64>,
}

/// Estimates capacity from failures and spot placements.
pub fn capacity(a: &Accum) -> Capacity {
    let mut t = a.failure_times.clone();
    t.sort_unstable();
    let untimed = a.capacity_failures - t.len() as u64;
    let leading = t
        .iter()
        .enumerate()
        .filter(|(i, x)| *i == 0 || **x - t[i - 1] > 30_000)
        .count() as u64
        + untimed;
    let failures = Proportion::of(leading, leading + a.spot_tasks);
    let mut spans = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let mut j = i;
        while j + 1 < t.len() && t[j + 1] - t[j] <= 600_000 {
            j += 1;
        }
        spans.push((t[j] - t[i]) as f64 / 1000.0);
        i = j + 1;
    }
    let long: Vec<f64> = spans.iter().copied().filter(|s| *s > 60.0).collect();
    let mean_outage_s = (!long.is_empty()).then(|| long.iter().sum::<f64>() / long.len() as f64);
    Capacity {
        failures,
        all_failures: a.capacity_failures,
        episodes: spans.len() as u64,
        mean_outage_s,
    }
}
