//! Checking a candidate's metrics against the scenario's objectives, with confidence.

use serde::Serialize;

use super::summary::Metrics;
use crate::scenario::Objectives;

/// One objective applied to one candidate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// `max_deadline_miss`, `max_crashed`, `max_p95_latency` or `max_monthly_cost`.
    pub objective: &'static str,
    /// The limit (fraction, seconds or USD per 30 days).
    pub limit: f64,
    /// The candidate's mean.
    pub mean: f64,
    /// One-sided upper confidence bound of the mean.
    pub upper: f64,
    /// One-sided lower confidence bound of the mean.
    pub lower: f64,
}

/// A value of `objective` in its unit, for people: rates as percentages, the latency as a
/// duration, the cost in USD.
pub(crate) fn show(objective: &str, v: f64) -> String {
    match objective {
        "max_p95_latency" => crate::units::duration(v),
        "max_monthly_cost" => format!("{} USD", crate::units::num(v)),
        _ => crate::units::pct(v),
    }
}

impl Check {
    /// Met with the stated confidence: the upper bound is within the limit.
    pub fn met(&self) -> bool {
        self.upper <= self.limit
    }
    /// Violated with the stated confidence: the lower bound is beyond the limit.
    pub fn clearly_violated(&self) -> bool {
        self.lower > self.limit
    }
    /// How far the upper bound is beyond the limit, relative to it (≤ 0 when met).
    pub fn excess(&self) -> f64 {
        (self.upper - self.limit) / self.limit.abs().max(1e-12)
    }
}

/// The checks of every objective the scenario sets, at `confidence`.
pub(crate) fn checks(m: &Metrics, o: &Objectives, confidence: f64) -> Vec<Check> {
    let mut out = Vec::new();
    // rates: never 0 from finite samples (`stats::rate_upper`); the others: the t bound
    let mut add = |objective, limit: Option<f64>, st: &super::Stat, trials: Option<f64>| {
        if let Some(limit) = limit {
            out.push(Check {
                objective,
                limit,
                mean: st.mean,
                upper: match trials {
                    Some(n) => crate::stats::rate_upper(st, n, confidence),
                    None => st.upper(confidence),
                },
                lower: st.lower(confidence),
            });
        }
    };
    add(
        "max_deadline_miss",
        o.max_deadline_miss,
        &m.deadline_miss_rate,
        Some(m.deadline_runs_pooled),
    );
    add(
        "max_crashed",
        o.max_crashed,
        &m.crash_rate,
        Some(m.runs_pooled),
    );
    add(
        "max_p95_latency",
        o.max_p95_latency_ms.map(|ms| ms as f64 / 1000.0),
        &m.latency_p95_s,
        None,
    );
    add(
        "max_monthly_cost",
        o.max_monthly_cost,
        &m.cost_per_30d_usd,
        None,
    );
    out
}

/// A deployment that breaks the guard under a reading: its rate is too far above all on
/// demand.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuardMiss {
    /// The deployment (flow name).
    pub deployment: String,
    /// `crash_rate` or `deadline_miss_rate`.
    pub metric: &'static str,
    /// Mean paired difference (candidate − all on demand), as a fraction.
    pub increase: f64,
    /// Its one-sided upper bound.
    pub upper: f64,
    /// Its one-sided lower bound (beyond the guard: clearly broken).
    pub lower: f64,
    /// The guard.
    pub limit: f64,
}

/// The deployments of `s` whose crashed-or-failed or deadline-miss rate in `reps` is more
/// than `limit` above all on demand's in the same replications (one-sided upper bound at
/// `confidence` of the per-replication paired difference).
pub(crate) fn guard_misses(
    s: &crate::scenario::Scenario,
    reps: &[super::summary::Replication],
    limit: f64,
    confidence: f64,
) -> Vec<GuardMiss> {
    let rate = |num: u64, den: u64| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    let mut out = Vec::new();
    if reps.len() < 2
        || reps.iter().any(|r| {
            r.baseline_flows.len() != s.flows.len() || r.outcome.flows.len() != s.flows.len()
        })
    {
        return out;
    }
    for (f, flow) in s.flows.iter().enumerate() {
        let mut crash = Vec::with_capacity(reps.len());
        let mut miss = Vec::with_capacity(reps.len());
        for r in reps {
            let (a, b) = (&r.outcome.flows[f], &r.baseline_flows[f]);
            crash.push(rate(a.crashed_or_failed, a.runs) - rate(b.crashed_or_failed, b.runs));
            miss.push(
                rate(a.deadline_misses, a.deadline_runs) - rate(b.deadline_misses, b.deadline_runs),
            );
        }
        for (metric, d) in [("crash_rate", crash), ("deadline_miss_rate", miss)] {
            let st = super::Stat::of(&d);
            let upper = st.upper(confidence);
            if upper > limit {
                out.push(GuardMiss {
                    deployment: flow.name.clone(),
                    metric,
                    increase: st.mean,
                    upper,
                    lower: st.lower(confidence),
                    limit,
                });
            }
        }
    }
    out
}
