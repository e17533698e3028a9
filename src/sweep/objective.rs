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

/// The checks of every platform-wide objective the scenario sets, at `confidence`; the rates
/// without the deployments whose own objective is unreachable, when there are such.
pub(crate) fn checks(m: &Metrics, o: &Objectives, confidence: f64) -> Vec<Check> {
    let (crash, runs, miss, druns) = match &m.objective_rates {
        Some(x) => (
            &x.crash_rate,
            x.runs_pooled,
            &x.deadline_miss_rate,
            x.deadline_runs_pooled,
        ),
        None => (
            &m.crash_rate,
            m.runs_pooled,
            &m.deadline_miss_rate,
            m.deadline_runs_pooled,
        ),
    };
    // rates: never 0 from finite samples (`stats::rate_upper`); the others: the t bound
    [
        ("max_deadline_miss", o.max_deadline_miss, miss, Some(druns)),
        ("max_crashed", o.max_crashed, crash, Some(runs)),
        (
            "max_p95_latency",
            o.max_p95_latency_ms.map(|ms| ms as f64 / 1000.0),
            &m.latency_p95_s,
            None,
        ),
        (
            "max_monthly_cost",
            o.max_monthly_cost,
            &m.cost_per_30d_usd,
            None,
        ),
    ]
    .into_iter()
    .filter_map(|(k, limit, st, trials)| limit.map(|l| check_of(k, l, st, trials, confidence)))
    .collect()
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

/// One deployment's own figure of `objective` in `reps`: per replication (a rate, seconds or
/// USD per 30 days) and the runs its rate is over (`None`: not a rate). `outcome` picks the
/// flows to read (the candidate's, or the baseline's).
fn deployment_figure(
    s: &crate::scenario::Scenario,
    reps: &[super::summary::Replication],
    f: usize,
    objective: &str,
    outcome: &dyn Fn(&super::summary::Replication) -> &[crate::sim::FlowOutcome],
) -> (super::Stat, Option<f64>) {
    let per30 = 30.0 * crate::model::SimTime::DAY.0 as f64 / s.sim.horizon.0.max(1) as f64;
    let rate = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let flows: Vec<&crate::sim::FlowOutcome> = reps.iter().map(|r| &outcome(r)[f]).collect();
    let col = |g: &dyn Fn(&crate::sim::FlowOutcome) -> f64| {
        flows.iter().map(|x| g(x)).collect::<Vec<f64>>()
    };
    match objective {
        "max_crashed" => {
            let n: u64 = flows.iter().map(|x| x.runs).sum();
            let v = col(&|x| rate(x.crashed_or_failed, x.runs));
            (super::Stat::proportion(&v, n as f64), Some(n as f64))
        }
        "max_deadline_miss" => {
            let n: u64 = flows.iter().map(|x| x.deadline_runs).sum();
            let v = col(&|x| rate(x.deadline_misses, x.deadline_runs));
            (super::Stat::proportion(&v, n as f64), Some(n as f64))
        }
        "max_p95_latency" => (
            super::Stat::of(&col(&|x| x.latency_p95_ms as f64 / 1000.0)),
            None,
        ),
        _ => (super::Stat::of(&col(&|x| x.cost_usd * per30)), None),
    }
}

/// Each stated objective of a deployment with its limit in the unit it is checked in.
fn deployment_limits(o: &crate::scenario::DeploymentObjectives) -> Vec<(&'static str, f64)> {
    [
        ("max_crashed", o.max_crashed),
        ("max_deadline_miss", o.max_deadline_miss),
        (
            "max_p95_latency",
            o.max_p95_latency_ms.map(|ms| ms as f64 / 1000.0),
        ),
        ("max_monthly_cost", o.max_monthly_cost),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect()
}

fn check_of(
    objective: &'static str,
    limit: f64,
    st: &super::Stat,
    trials: Option<f64>,
    c: f64,
) -> Check {
    Check {
        objective,
        limit,
        mean: st.mean,
        upper: match trials {
            Some(n) => crate::stats::rate_upper(st, n, c),
            None => st.upper(c),
        },
        lower: st.lower(c),
    }
}

/// Each deployment's own objectives checked in `reps` (the deployment's index and the check),
/// except those all on demand misses ([`crate::scenario::Unreachable`]).
pub(crate) fn deployment_checks(
    s: &crate::scenario::Scenario,
    reps: &[super::summary::Replication],
    confidence: f64,
) -> Vec<(usize, Check)> {
    let mut out = Vec::new();
    if reps.iter().any(|r| r.outcome.flows.len() != s.flows.len()) {
        return out;
    }
    for (f, flow) in s.flows.iter().enumerate() {
        let Some(o) = &flow.objectives else { continue };
        for (objective, limit) in deployment_limits(o) {
            if s.objectives
                .unreachable
                .iter()
                .any(|u| u.flow == f && u.objective == objective)
            {
                continue;
            }
            let (st, trials) = deployment_figure(s, reps, f, objective, &|r| &r.outcome.flows);
            out.push((f, check_of(objective, limit, &st, trials, confidence)));
        }
    }
    out
}

/// The deployments whose own objective is missed in `reps`, as [`GuardMiss`]es (`metric` is
/// the objective, `increase` its mean).
pub(crate) fn deployment_objective_misses(
    s: &crate::scenario::Scenario,
    reps: &[super::summary::Replication],
    confidence: f64,
) -> Vec<GuardMiss> {
    deployment_checks(s, reps, confidence)
        .into_iter()
        .filter(|(_, c)| !c.met())
        .map(|(f, c)| GuardMiss {
            deployment: s.flows[f].name.clone(),
            metric: c.objective,
            increase: c.mean,
            upper: c.upper,
            lower: c.lower,
            limit: c.limit,
        })
        .collect()
}

/// Every deployment reliability objective (crashed, deadline misses, p95 latency) that all on
/// demand misses in `reps`' baselines: no provider choice can meet it. A cost objective is
/// never unreachable here (spot is cheaper than on demand).
pub(crate) fn unreachable(
    s: &crate::scenario::Scenario,
    baselines: &[crate::sim::RunOutcome],
) -> Vec<crate::scenario::Unreachable> {
    let mut out = Vec::new();
    if baselines.len() < 2 || baselines.iter().any(|b| b.flows.len() != s.flows.len()) {
        return out;
    }
    let reps: Vec<super::summary::Replication> = baselines
        .iter()
        .map(|b| super::summary::Replication {
            outcome: b.clone(),
            baseline_cost_usd: b.cost_usd,
            baseline_without_plan_usd: b.cost_without_plan_usd,
            baseline_flows: b.flows.clone(),
        })
        .collect();
    let reps = &reps[..];
    let c = s.objectives.confidence;
    for (f, flow) in s.flows.iter().enumerate() {
        let Some(o) = &flow.objectives else { continue };
        for (objective, limit) in deployment_limits(o) {
            if objective == "max_monthly_cost" {
                continue;
            }
            let (st, trials) = deployment_figure(s, reps, f, objective, &|r| &r.baseline_flows);
            let check = check_of(objective, limit, &st, trials, c);
            if check.met() {
                continue;
            }
            let cause = match objective {
                "max_deadline_miss" => format!(
                    "`{}` misses its {} deadline {} of the time even on demand (limit {}): the \
                     deadline, not spot, is the problem",
                    flow.name,
                    flow.deadline.map(|d| d.to_string()).unwrap_or_default(),
                    crate::units::pct(st.mean),
                    crate::units::pct(limit)
                ),
                "max_crashed" => format!(
                    "`{}` crashes or fails {} of its runs even on demand (limit {}): not a spot \
                     problem",
                    flow.name,
                    crate::units::pct(st.mean),
                    crate::units::pct(limit)
                ),
                _ => format!(
                    "`{}` has a p95 latency of {} even on demand (limit {}): its work, not spot, \
                     sets it",
                    flow.name,
                    crate::units::duration(st.mean),
                    crate::units::duration(limit)
                ),
            };
            out.push(crate::scenario::Unreachable {
                deployment: flow.name.clone(),
                flow: f,
                objective,
                on_demand: st.mean,
                limit,
                cause,
            });
        }
    }
    out
}
