//! Two configurations of the same workload on common random numbers: per-replication paired
//! differences (B − A) with their 95% intervals, which are much tighter than the difference of
//! two independent intervals because both sides saw the same arrivals, work and luck.

use serde::Serialize;

use super::Stat;
use super::summary::Replication;

/// One metric of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Paired {
    /// Stable name, e.g. `cost_per_30d_usd`.
    pub metric: &'static str,
    /// In words.
    pub label: &'static str,
    /// `USD`, `fraction` or `s`.
    pub unit: &'static str,
    /// Over A's replications.
    pub a: Stat,
    /// Over B's replications.
    pub b: Stat,
    /// Over the paired differences B − A.
    pub b_minus_a: Stat,
}

impl Paired {
    /// Whether the interval of the difference excludes 0.
    pub fn clear(&self) -> bool {
        self.b_minus_a.n > 1 && (self.b_minus_a.ci95_low > 0.0 || self.b_minus_a.ci95_high < 0.0)
    }

    /// A value of this metric for people: a percentage, a duration, a number.
    pub fn show(&self, v: f64) -> String {
        crate::units::in_unit(self.unit, v)
    }

    /// The paired difference B − A with its interval, signed: `+0.25 [+0.23, +0.28]`
    /// (percentage differences are in points).
    pub fn difference(&self) -> String {
        let signed = |v: f64| {
            let s = self.show(v);
            if v > 0.0 {
                format!("+{s}")
            } else if v < 0.0 && !s.starts_with('-') {
                format!("-{s}")
            } else {
                s
            }
        };
        let d = &self.b_minus_a;
        format!(
            "{} [{}, {}]",
            signed(d.mean),
            signed(d.ci95_low),
            signed(d.ci95_high)
        )
    }
}

/// The metrics compared, each read from one replication.
type Metric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Replication, f64) -> f64,
);

const METRICS: [Metric; 6] = [
    ("cost_per_30d_usd", "cost per 30 days", "USD", |r, per30| {
        r.outcome.cost_usd * per30
    }),
    (
        "saving_fraction",
        "saving vs all on demand",
        "fraction",
        |r, _| r.saving_fraction(),
    ),
    ("crash_rate", "crashed or failed", "fraction", |r, _| {
        r.outcome.crash_rate()
    }),
    (
        "deadline_miss_rate",
        "deadline misses",
        "fraction",
        |r, _| r.outcome.deadline_miss_rate(),
    ),
    ("latency_p95_s", "latency p95", "s", |r, _| {
        r.outcome.latency_p95_ms as f64 / 1000.0
    }),
    (
        "spot_share",
        "spot share of task time",
        "fraction",
        |r, _| r.outcome.spot_share(),
    ),
];

/// Paired differences of `b` against `a`, replication by replication (same seed, same
/// replication numbers); `per30` scales a horizon's cost to 30 days.
pub(crate) fn paired(a: &[Replication], b: &[Replication], per30: f64) -> Vec<Paired> {
    let n = a.len().min(b.len());
    METRICS
        .iter()
        .map(|(metric, label, unit, f)| {
            let va: Vec<f64> = a[..n].iter().map(|r| f(r, per30)).collect();
            let vb: Vec<f64> = b[..n].iter().map(|r| f(r, per30)).collect();
            let d: Vec<f64> = va.iter().zip(&vb).map(|(x, y)| y - x).collect();
            Paired {
                metric,
                label,
                unit,
                a: Stat::of(&va),
                b: Stat::of(&vb),
                b_minus_a: Stat::of(&d),
            }
        })
        .collect()
}

/// The scenario's own configuration beside the recommendation, on common random numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Current {
    /// The scenario's strategy, retry policy and placement reading, in words.
    pub configuration: String,
    /// Whether the recommendation is that same configuration.
    pub same: bool,
    /// A = current, B = recommended.
    pub rows: Vec<Paired>,
}

impl Current {
    /// The row of `metric`.
    pub fn row(&self, metric: &str) -> Option<&Paired> {
        self.rows.iter().find(|r| r.metric == metric)
    }
}
