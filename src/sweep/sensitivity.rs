//! How sure the pick is: the inputs users know least (the spot interruption rate and the share
//! of time spot capacity is out) at each end of a range, one at a time, on the same seeds.
//! The pick and today's configuration are evaluated again there (not re-optimised): is the
//! pick still feasible, and what does it save against today?
//!
//! The range is the 95% interval the scenario gives with the value (`calibrate` writes it:
//! `interruption_rate = { value = "0.05/h", ci95 = [...] }`, `capacity.unavailable_ci95`),
//! else ×0.5 and ×2 of the stated value: a factor of two either way is about the spread of
//! published spot interruption figures for one region and size.

use serde::Serialize;

use super::Stat;
use super::job::SweepRun;
use super::summary::{Replication, replicate};
use crate::scenario::Scenario;

/// The factors each parameter is taken to when the scenario gives no interval.
pub const ENDS: [f64; 2] = [0.5, 2.0];
/// [`Sensitivity::range`] when the ends are the scenario's interval.
pub const STATED: &str = "the scenario's 95% interval";
/// [`Sensitivity::range`] when the ends are [`ENDS`] times the value.
pub const FACTORS: &str = "x0.5 and x2 of the stated value";

/// One end of one parameter's range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct End {
    /// The value there, in words (`0.04/h`, `10.0%`).
    pub value: String,
    /// The factor on the stated value.
    pub factor: f64,
    /// Whether the pick meets every objective (and the guard) there, under every reading.
    pub pick_feasible: bool,
    /// What it misses there, in words.
    pub misses: Vec<String>,
    /// What the pick saves against today's configuration there, USD per 30 days (paired,
    /// each at its costliest reading).
    pub saving_per_30d_usd: Stat,
}

/// One parameter, at both ends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sensitivity {
    /// `interruption rate` or `capacity unavailable`.
    pub parameter: &'static str,
    /// Its stated value, in words.
    pub stated: String,
    /// Where the ends come from: `the scenario's 95% interval`, or `x0.5 and x2`.
    pub range: &'static str,
    /// The ends, low then high.
    pub ends: Vec<End>,
}

/// Scenario `s` with `parameter` at `value` (per hour, or a fraction of time).
fn at(s: &Scenario, parameter: &str, value: f64) -> Scenario {
    let mut v = s.clone();
    match parameter {
        "interruption rate" => v.spot.rate.per_hour = value,
        _ => {
            if let Some(c) = &mut v.spot.capacity {
                c.unavailable = value;
            }
        }
    }
    v
}

/// Replications `0..n` of `v`, each with its all-on-demand baseline: the sweep's own (no spot
/// parameter changes an all-on-demand run), simulated only if the sweep lacks one.
fn replications(
    v: &Scenario,
    n: u32,
    baselines: &[Option<crate::sim::RunOutcome>],
) -> Vec<Replication> {
    use rayon::prelude::*;
    if baselines.len() < n as usize || baselines[..n as usize].iter().any(Option::is_none) {
        return replicate(v, n, &|| {});
    }
    (0..n as usize)
        .into_par_iter()
        .map(|r| {
            let b = baselines[r].as_ref().expect("checked above");
            Replication {
                outcome: crate::sim::run(v, r as u64, &mut crate::sim::NoObserver),
                baseline_cost_usd: b.cost_usd,
                baseline_without_plan_usd: b.cost_without_plan_usd,
                baseline_flows: b.flows.clone(),
            }
        })
        .collect()
}

/// Every reading of a configuration at one end: its replications, the costliest reading's
/// per-replication cost per 30 days, and what it misses under any reading.
fn evaluate(
    readings: &[Scenario],
    n: u32,
    per30: f64,
    baselines: &[Option<crate::sim::RunOutcome>],
) -> (Vec<f64>, Vec<String>) {
    let mut worst: Option<(f64, Vec<f64>)> = None;
    let mut misses = Vec::new();
    for v in readings {
        let reps: Vec<Replication> = replications(v, n, baselines);
        let costs: Vec<f64> = reps.iter().map(|r| r.outcome.cost_usd * per30).collect();
        let mean = costs.iter().sum::<f64>() / costs.len().max(1) as f64;
        if worst.as_ref().is_none_or(|w| mean > w.0) {
            worst = Some((mean, costs));
        }
        for m in super::compare::judged_misses(v, &reps) {
            if !misses.contains(&m) {
                misses.push(m);
            }
        }
    }
    // many deployments breaking the guard read as one item
    let (guard, mut rest): (Vec<String>, Vec<String>) = misses
        .into_iter()
        .partition(|m| m.starts_with("the deployment guard (`"));
    if !guard.is_empty() {
        let names: Vec<&str> = guard.iter().filter_map(|m| m.split('`').nth(1)).collect();
        let shown = names
            .iter()
            .take(3)
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>();
        rest.push(format!(
            "the deployment guard ({}{})",
            shown.join(", "),
            if names.len() > 3 {
                format!(" and {} more", names.len() - 3)
            } else {
                String::new()
            }
        ));
    }
    (worst.map(|w| w.1).unwrap_or_default(), rest)
}

/// The pick (candidate `pick` of `run`) and today's configuration of `s` at each end of each
/// uncertain parameter the scenario has; empty without a pick or without either parameter.
/// Today's configuration is costed at `today_reading`, the reading where it was costliest at
/// the stated values (the one it is compared at), where it cost `today_costs` per replication
/// (USD per 30 days: reused when it runs nothing on spot, which no spot input changes); the
/// pick under each of its readings.
pub fn of(
    s: &Scenario,
    run: &SweepRun,
    pick: Option<usize>,
    today_reading: &str,
    today_costs: &[f64],
) -> Vec<Sensitivity> {
    let Some(i) = pick else {
        return Vec::new();
    };
    let n = run.matrix.replications;
    let per30 = 30.0 * crate::model::SimTime::DAY.0 as f64 / s.sim.horizon.0.max(1) as f64;
    let picked: Vec<&Scenario> = run.result.candidates[i]
        .candidate
        .variants
        .iter()
        .map(|&v| &run.scenarios[v])
        .collect();
    // judged as the sweep judged: with the deployment objectives all on demand misses
    let readings = s.readings();
    let costliest: Vec<_> = readings
        .iter()
        .copied()
        .filter(|p| p.name() == today_reading)
        .collect();
    let today: Vec<Scenario> = if costliest.is_empty() {
        readings
    } else {
        costliest
    }
    .into_iter()
    .map(|p| {
        let mut v = s.clone();
        v.sim.placement = p;
        v.objectives.unreachable = run.result.meta.objectives.unreachable.clone();
        v
    })
    .collect();
    let on_demand_only = (0..s.flows.len())
        .all(|f| !s.strategy_of(f).uses(crate::model::Provider::FargateSpot))
        && today_costs.len() == n as usize;
    // each parameter: its value, its ends and where they come from
    let mut params: Vec<(&'static str, f64, [f64; 2], &'static str)> = Vec::new();
    let factors = |x: f64, most: f64| [ENDS[0] * x, (ENDS[1] * x).min(most)];
    let rate = s.spot.rate.per_hour;
    if rate > 0.0 {
        params.push(match s.spot.rate_ci95 {
            Some(ci) => ("interruption rate", rate, ci, STATED),
            None => ("interruption rate", rate, factors(rate, f64::MAX), FACTORS),
        });
    }
    if let Some(c) = &s.spot.capacity {
        params.push(match c.unavailable_ci95 {
            Some(ci) => ("capacity unavailable", c.unavailable, ci, STATED),
            None => (
                "capacity unavailable",
                c.unavailable,
                factors(c.unavailable, 0.95),
                FACTORS,
            ),
        });
    }
    let show = |parameter: &str, x: f64| match parameter {
        "interruption rate" => format!("{}/h", crate::units::short(x)),
        _ => crate::units::pct(x),
    };
    params
        .into_iter()
        .map(|(parameter, value, range, source)| {
            let ends = range
                .iter()
                .map(|&end| {
                    let factor = end / value;
                    let mine: Vec<Scenario> =
                        picked.iter().map(|v| at(v, parameter, end)).collect();
                    let theirs: Vec<Scenario> =
                        today.iter().map(|v| at(v, parameter, end)).collect();
                    let base = &run.matrix.baselines;
                    let (pick_costs, misses) = evaluate(&mine, n, per30, base);
                    let today_costs = if on_demand_only {
                        today_costs.to_vec()
                    } else {
                        evaluate(&theirs, n, per30, base).0
                    };
                    let saving: Vec<f64> = today_costs
                        .iter()
                        .zip(&pick_costs)
                        .map(|(t, p)| t - p)
                        .collect();
                    End {
                        value: show(parameter, end),
                        factor,
                        pick_feasible: misses.is_empty(),
                        misses,
                        saving_per_30d_usd: Stat::of(&saving),
                    }
                })
                .collect();
            Sensitivity {
                parameter,
                stated: show(parameter, value),
                range: source,
                ends,
            }
        })
        .collect()
}
