//! Per-deployment search: each flow (Prefect deployment) all on FARGATE_SPOT or all on
//! FARGATE, as its own `job_variables` strategy. A mix of one-provider deployments means the
//! same thing under every placement reading.
//!
//! Flows that share no binding concurrency limit are separable under common random numbers:
//! flow f's runs, draws and outcome do not depend on what the other flows run on, so one
//! simulation with every flow on spot and one with every flow on demand give, replication by
//! replication, each flow's outcome under either choice, and every combination's bill and
//! rates are sums of those parts. The cheapest combination that meets the objectives on
//! these sums is then simulated jointly, with all replications, and only that joint result
//! is reported. When the work pool's limit binds (runs waited for its slots) flows are not
//! separable, and up to [`MAX_JOINT`] combinations are simulated jointly instead.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::candidate::{Candidate, strategy_for};
use crate::model::{PlacementSpec, Provider, SimTime};
use crate::scenario::{RetryPolicy, Scenario};
use crate::sim::{self, NoObserver, RunOutcome};
use crate::stats::Stat;

/// Most flows searched (2^12 combinations, each a sum over replications).
pub(crate) const MAX_FLOWS: usize = 12;
/// Most combinations simulated jointly when flows are not separable.
pub(crate) const MAX_JOINT: usize = 16;
/// Most combinations verified jointly before giving up.
const MAX_VERIFIED: usize = 3;

/// What the per-deployment search did, in words and figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentSearch {
    /// Whether it ran, and if not, why not.
    pub note: String,
    /// Mixed combinations screened on separable sums.
    pub screened: u64,
    /// Candidates added (each simulated jointly with all replications).
    pub added: u64,
}

/// The per-deployment candidate for `choice` (one provider per flow).
pub(crate) fn candidate(
    base: &Scenario,
    choice: &[Provider],
    retry: &RetryPolicy,
    checkpoint_every: Option<SimTime>,
    index: usize,
) -> Candidate {
    let spot = choice
        .iter()
        .filter(|p| **p == Provider::FargateSpot)
        .count();
    Candidate {
        index,
        spot_share: (100 * spot / choice.len().max(1)) as u32,
        base: 0,
        base_provider: Provider::Fargate,
        // the pool's strategy: what a deployment without its own would use
        strategy: strategy_for(0, 0, Provider::Fargate),
        placement: PlacementSpec::Robust,
        readings: vec![crate::model::Placement::PerCall],
        variants: Vec::new(),
        deployments: choice.to_vec(),
        flow_names: base.flows.iter().map(|f| f.name.clone()).collect(),
        retry: crate::scenario::spec::retry_spec(retry),
        retry_policy: retry.clone(),
        checkpoint_every,
    }
}

/// Every combination with at least one flow on each provider, in a fixed order.
fn mixed(n: usize) -> Vec<Vec<Provider>> {
    (1..(1u64 << n) - 1)
        .map(|bits| {
            (0..n)
                .map(|f| {
                    if bits >> f & 1 == 1 {
                        Provider::FargateSpot
                    } else {
                        Provider::Fargate
                    }
                })
                .collect()
        })
        .collect()
}

/// A combination's figures from the separable parts: per replication, the cost and the
/// crashed and deadline-miss rates.
fn compose(
    spot: &[RunOutcome],
    od: &[RunOutcome],
    choice: &[Provider],
    per30: f64,
) -> (Stat, Stat, Stat) {
    let mut cost = Vec::with_capacity(spot.len());
    let mut crash = Vec::with_capacity(spot.len());
    let mut miss = Vec::with_capacity(spot.len());
    for (s, o) in spot.iter().zip(od) {
        // the worker and hourly network charges are the same in both worlds
        let fixed = o.cost_usd - o.flows.iter().map(|f| f.cost_usd).sum::<f64>();
        let (mut c, mut runs, mut bad, mut druns, mut dmiss) = (fixed, 0, 0, 0, 0);
        for (f, p) in choice.iter().enumerate() {
            let part = if *p == Provider::FargateSpot {
                &s.flows[f]
            } else {
                &o.flows[f]
            };
            c += part.cost_usd;
            runs += part.runs;
            bad += part.crashed_or_failed;
            druns += part.deadline_runs;
            dmiss += part.deadline_misses;
        }
        cost.push(c * per30);
        crash.push(if runs == 0 {
            0.0
        } else {
            bad as f64 / runs as f64
        });
        miss.push(if druns == 0 {
            0.0
        } else {
            dmiss as f64 / druns as f64
        });
    }
    (Stat::of(&cost), Stat::of(&crash), Stat::of(&miss))
}

/// The combinations to simulate jointly for one retry policy and checkpoint interval, best
/// first: on separable sums, the cheapest few that meet the objectives (p95 latency, which
/// does not add up, is left to the joint run); otherwise every mixed combination, if few.
pub(crate) fn choose(
    base: &Scenario,
    retry: &RetryPolicy,
    checkpoint_every: Option<SimTime>,
    replications: u32,
    search: &mut DeploymentSearch,
) -> Vec<Vec<Provider>> {
    let n = base.flows.len();
    let all = |p: Provider| -> Vec<RunOutcome> {
        let Ok(c) = candidate(base, &vec![p; n], retry, checkpoint_every, 0)
            .scenario(base, crate::model::Placement::PerCall)
        else {
            return Vec::new();
        };
        // in parallel, collected by index: the same for any thread count
        (0..replications as u64)
            .into_par_iter()
            .map(|r| sim::run(&c, r, &mut NoObserver))
            .collect()
    };
    let (spot, od) = (all(Provider::FargateSpot), all(Provider::Fargate));
    if spot.is_empty() || od.is_empty() {
        return Vec::new();
    }
    let separable = spot.iter().chain(&od).all(|o| o.pool_limit_waits == 0);
    let combos = mixed(n);
    if !separable {
        if combos.len() > MAX_JOINT {
            search.note = format!(
                "flows compete for the work pool's concurrency limit, so they are not separable, and {} mixed combinations are too many to simulate jointly (at most {MAX_JOINT})",
                combos.len()
            );
            return Vec::new();
        }
        search.note = "flows compete for the work pool's concurrency limit: every mixed combination simulated jointly".into();
        return combos;
    }
    let o = &base.objectives;
    let c = o.confidence;
    let per30 = 30.0 * SimTime::DAY.0 as f64 / base.sim.horizon.0 as f64;
    let mut scored: Vec<(f64, usize)> = Vec::new();
    for (k, choice) in combos.iter().enumerate() {
        search.screened += 1;
        let (cost, crash, miss) = compose(&spot, &od, choice, per30);
        let ok = o.max_crashed.is_none_or(|l| crash.upper(c) <= l)
            && o.max_deadline_miss.is_none_or(|l| miss.upper(c) <= l)
            && o.max_monthly_cost.is_none_or(|l| cost.upper(c) <= l);
        if ok {
            scored.push((cost.mean, k));
        }
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    search.note = "flows share no binding limit: separable under common random numbers; the cheapest combinations meeting the objectives on the sums were simulated jointly".into();
    scored
        .into_iter()
        .take(MAX_VERIFIED)
        .map(|(_, k)| combos[k].clone())
        .collect()
}

/// Whether a per-deployment search applies to `s`.
pub(crate) fn applies(s: &Scenario) -> Result<(), String> {
    let n = s.flows.len();
    if n < 2 {
        return Err("one flow: per-deployment strategies are the uniform ones".into());
    }
    if n > MAX_FLOWS {
        return Err(format!(
            "{n} flows: more than {MAX_FLOWS}, per-deployment search skipped"
        ));
    }
    if s.flows.iter().any(|f| f.strategy.is_some()) {
        return Err("some flows already carry their own strategy in the scenario".into());
    }
    Ok(())
}
