//! Candidates: the scenario with one strategy, placement model, retry policy and checkpoint
//! interval from the sweep grid.

use serde::Serialize;

use crate::model::{Placement, PlacementSpec, Provider, SimTime, Strategy, StrategyItem};
use crate::pricing::MissingRates;
use crate::scenario::spec::retry_spec;
use crate::scenario::{RetryPolicy, Scenario, SweepSpec, Variant};

/// One point of the grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    /// Position in the grid (results are ordered by it).
    pub index: usize,
    /// FARGATE_SPOT weight share, percent.
    pub spot_share: u32,
    /// Base value.
    pub base: u32,
    /// The provider holding the base (if base > 0).
    pub base_provider: Provider,
    /// The capacity provider strategy, as sent with each RunTask.
    #[serde(serialize_with = "strategy_items")]
    pub strategy: Strategy,
    /// Placement asked for: one reading, or `robust` (every reading).
    #[serde(serialize_with = "placement_name")]
    pub placement: PlacementSpec,
    /// The distinct readings simulated for it (one for a reading; for `robust` every
    /// reading that places this strategy differently).
    #[serde(serialize_with = "reading_names")]
    pub readings: Vec<Placement>,
    /// The rows of the sweep's outcome matrix holding each reading, in `readings` order.
    #[serde(skip)]
    pub variants: Vec<usize>,
    /// Per-deployment candidates: each flow's own one-provider strategy, in scenario order
    /// (its deployment's `job_variables`); empty for a uniform candidate, whose flows all
    /// use `strategy`.
    #[serde(serialize_with = "provider_names")]
    pub deployments: Vec<Provider>,
    /// Flow names, for labels (per-deployment candidates only).
    #[serde(skip)]
    pub flow_names: Vec<String>,
    /// Retry policy spec.
    pub retry: String,
    /// The policy.
    #[serde(skip)]
    pub retry_policy: RetryPolicy,
    /// Checkpoint interval for flows that checkpoint (`None` = as configured).
    #[serde(serialize_with = "opt_time")]
    pub checkpoint_every: Option<SimTime>,
    /// Per-deployment candidates: each flow's own retry policy, in scenario order (empty:
    /// `retry_policy` for every flow).
    #[serde(serialize_with = "retry_specs", skip_serializing_if = "Vec::is_empty")]
    pub deployment_retry: Vec<RetryPolicy>,
    /// Per-deployment candidates: each checkpointing flow's own interval (empty, or `None`
    /// for a flow: `checkpoint_every`).
    #[serde(serialize_with = "opt_times", skip_serializing_if = "Vec::is_empty")]
    pub deployment_checkpoint: Vec<Option<SimTime>>,
}

fn retry_specs<S: serde::Serializer>(p: &[RetryPolicy], ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_seq(p.iter().map(retry_spec))
}
fn opt_times<S: serde::Serializer>(t: &[Option<SimTime>], ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_seq(t.iter().map(|t| t.map(|t| t.to_string())))
}

fn strategy_items<S: serde::Serializer>(s: &Strategy, ser: S) -> Result<S::Ok, S::Error> {
    s.to_ecs_json().serialize(ser)
}
fn placement_name<S: serde::Serializer>(p: &PlacementSpec, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(p.name())
}
fn provider_names<S: serde::Serializer>(p: &[Provider], ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_seq(p.iter().map(|r| r.ecs_name()))
}
fn reading_names<S: serde::Serializer>(p: &[Placement], ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_seq(p.iter().map(|r| r.name()))
}
fn opt_time<S: serde::Serializer>(t: &Option<SimTime>, ser: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser.serialize_str(&t.to_string()),
        None => ser.serialize_none(),
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The strategy for a spot weight share (percent) and a base on `base_provider`: weights
/// reduced to lowest terms (60% → FARGATE_SPOT 3 : FARGATE 2).
pub(crate) fn strategy_for(spot_share: u32, base: u32, base_provider: Provider) -> Strategy {
    let share = spot_share.min(100);
    let g = gcd(share, 100 - share).max(1);
    let (ws, wf) = (share / g, (100 - share) / g);
    let mut items = Vec::new();
    let base_of = |p: Provider| if p == base_provider { base } else { 0 };
    if ws > 0 || base_of(Provider::FargateSpot) > 0 {
        items.push(StrategyItem {
            provider: Provider::FargateSpot,
            weight: ws,
            base: base_of(Provider::FargateSpot),
        });
    }
    if wf > 0 || base_of(Provider::Fargate) > 0 {
        items.push(StrategyItem {
            provider: Provider::Fargate,
            weight: wf,
            base: base_of(Provider::Fargate),
        });
    }
    Strategy { items }
}

impl Candidate {
    /// The retry policy flow `f` runs.
    pub fn retry_of(&self, f: usize) -> &RetryPolicy {
        self.deployment_retry.get(f).unwrap_or(&self.retry_policy)
    }

    /// The checkpoint interval asked of flow `f` (`None`: as configured).
    pub fn checkpoint_of(&self, f: usize) -> Option<SimTime> {
        self.deployment_checkpoint
            .get(f)
            .copied()
            .flatten()
            .or(self.checkpoint_every)
    }

    /// What deploying it takes that spotplan cannot apply, each change exactly: a custom
    /// retry policy (the user's own code), a checkpoint interval other than the flow's (its
    /// code). Empty: `emit`/`plan`/`apply` deploy all of it (providers, the SIGTERM env, the
    /// fallback automation).
    pub fn code_changes(&self, s: &Scenario) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut custom: Vec<(String, Vec<&str>)> = Vec::new();
        let mut checkpoints: Vec<((SimTime, SimTime), Vec<&str>)> = Vec::new();
        for (f, flow) in s.flows.iter().enumerate() {
            let r = self.retry_of(f);
            if r.needs_own_code() {
                let spec = retry_spec(r);
                match custom.iter_mut().find(|(x, _)| *x == spec) {
                    Some((_, v)) => v.push(&flow.name),
                    None => custom.push((spec, vec![&flow.name])),
                }
            }
            if let (Some(ck), Some(t)) = (flow.checkpoint, self.checkpoint_of(f))
                && ck.every != t
            {
                match checkpoints.iter_mut().find(|(x, _)| *x == (ck.every, t)) {
                    Some((_, v)) => v.push(&flow.name),
                    None => checkpoints.push(((ck.every, t), vec![&flow.name])),
                }
            }
        }
        let names = |v: &[&str]| -> String {
            let shown: Vec<String> = v.iter().take(4).map(|n| format!("`{n}`")).collect();
            if v.len() > 4 {
                format!("{} and {} more", shown.join(", "), v.len() - 4)
            } else {
                shown.join(", ")
            }
        };
        for (spec, v) in custom {
            out.push(format!(
                "retry policy {spec} for {}: your own code (its attempts, delays and fallbacks are no Prefect setting)",
                names(&v)
            ));
        }
        for ((was, t), v) in checkpoints {
            out.push(format!(
                "checkpoint every {t} instead of every {was} in the code of {}",
                names(&v)
            ));
        }
        out
    }

    /// Why spotplan's worker cannot run it at all, if it cannot: a policy of the other
    /// Prefect generation than the scenario's worker (a migration, not a setting).
    pub fn not_deployable(&self, s: &Scenario) -> Option<String> {
        use crate::scenario::WorkerKind;
        let n = s.flows.len().max(1);
        (0..n).find_map(|f| {
            let r = self.retry_of(f);
            let spec = retry_spec(r);
            match (r.prefect1(), s.worker.kind) {
                (true, WorkerKind::Prefect3EcsWorker) => Some(format!(
                    "not deployable: {spec} needs Prefect 1's ECS agent, and the scenario runs a Prefect 3 ECS worker"
                )),
                (false, WorkerKind::Prefect1EcsAgent) if !r.needs_own_code() => Some(format!(
                    "not deployable: {spec} needs a Prefect 3 ECS worker, and the scenario runs Prefect 1's ECS agent"
                )),
                _ => None,
            }
        })
    }

    /// A short label, e.g. `spot 60% · base 1 FARGATE · per-call · prefect3-reschedule`.
    pub fn label(&self) -> String {
        if !self.deployments.is_empty() {
            let per: Vec<String> = self
                .flow_names
                .iter()
                .zip(&self.deployments)
                .map(|(n, p)| {
                    format!(
                        "{n}→{}",
                        match p {
                            Provider::Fargate => "OD",
                            Provider::FargateSpot => "SPOT",
                        }
                    )
                })
                .collect();
            // a few deployments by name; more as counts (the table per deployment says which)
            let spot = self
                .deployments
                .iter()
                .filter(|p| **p == Provider::FargateSpot)
                .count();
            let what = if per.len() <= 4 {
                per.join(" ")
            } else {
                format!(
                    "{spot} of {} deployments on FARGATE_SPOT, {} on FARGATE",
                    per.len(),
                    per.len() - spot
                )
            };
            let mut retries: Vec<String> = Vec::new();
            for f in 0..self.deployments.len() {
                let r = retry_spec(self.retry_of(f));
                if !retries.contains(&r) {
                    retries.push(r);
                }
            }
            let mut l = format!("per-deployment {what} · {}", retries.join(" + "));
            let mut cks: Vec<SimTime> = Vec::new();
            for f in 0..self.deployments.len() {
                if let Some(c) = self.checkpoint_of(f).filter(|c| !cks.contains(c)) {
                    cks.push(c);
                }
            }
            if !cks.is_empty() {
                let cks: Vec<String> = cks.iter().map(|c| c.to_string()).collect();
                l.push_str(&format!(" · ckpt {}", cks.join(" + ")));
            }
            return l;
        }
        let mut l = format!("spot {}%", self.spot_share);
        let one_provider = self.readings.len() == 1 && self.placement == PlacementSpec::Robust;
        if self.base > 0 {
            l.push_str(&format!(" · base {} {}", self.base, self.base_provider));
        }
        if one_provider {
            l.push_str(&format!(" · {}", self.retry));
        } else {
            l.push_str(&format!(" · {} · {}", self.placement, self.retry));
        }
        if let Some(c) = self.checkpoint_every {
            l.push_str(&format!(" · ckpt {c}"));
        }
        l
    }

    /// The scenario as this candidate runs it under one placement `reading`: its strategy
    /// sent with every RunTask (as `emit` would configure the work pool), its retry and
    /// checkpoint interval, its rates resolved ([`Scenario::variant`]).
    pub fn scenario(&self, s: &Scenario, reading: Placement) -> Result<Scenario, MissingRates> {
        s.variant(&Variant {
            strategy: &self.strategy,
            reading,
            placement_spec: Some(self.placement),
            deployments: &self.deployments,
            retry: Some(&self.retry_policy),
            checkpoint_every: self.checkpoint_every,
            deployment_retry: &self.deployment_retry,
            deployment_checkpoint: &self.deployment_checkpoint,
        })
    }
}

/// The grid of a sweep spec, in a fixed order: retry, placement, base, spot share,
/// checkpoint interval (innermost). A 0% share with a base on FARGATE_SPOT and similar
/// duplicates are kept: each is a distinct configuration a user could write.
pub(crate) fn grid(spec: &SweepSpec, s: &Scenario) -> Vec<Candidate> {
    let checkpoints: Vec<Option<SimTime>> = if s.flows.iter().any(|f| f.checkpoint.is_some()) {
        spec.checkpoint_every.clone()
    } else {
        vec![None]
    };
    let mut out = Vec::new();
    for retry in &spec.retries {
        for &placement in &spec.placements {
            for &base in &spec.bases {
                for &share in &spec.spot_shares {
                    for &ck in &checkpoints {
                        let strategy = strategy_for(share, base, spec.base_provider);
                        out.push(Candidate {
                            index: out.len(),
                            spot_share: share,
                            base,
                            base_provider: spec.base_provider,
                            readings: placement.readings(&strategy, s.spot.capacity_can_fail()),
                            variants: Vec::new(),
                            deployments: Vec::new(),
                            flow_names: Vec::new(),
                            strategy,
                            placement,
                            retry: retry_spec(retry),
                            retry_policy: retry.clone(),
                            checkpoint_every: ck,
                            deployment_retry: Vec::new(),
                            deployment_checkpoint: Vec::new(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// Mixed-weight candidates that another candidate dominates, with it and the provider: under a
/// placement with more than one reading, a mixed candidate's `per-call` reading runs every
/// task on one provider (its base's, else its largest weight's), which is the same
/// simulation as the grid's one-provider candidate of that provider with the same retry
/// policy and checkpoint interval. Costed at its worst reading and feasible only under every
/// reading, the mixed candidate is then never cheaper than that one, nor feasible where it is
/// not, so racing need not run it.
pub(crate) fn dominated(candidates: &[Candidate]) -> Vec<(usize, usize, Provider)> {
    let mut out = Vec::new();
    for c in candidates {
        if !c.deployments.is_empty()
            || c.readings.len() < 2
            || !c.readings.contains(&Placement::PerCall)
        {
            continue;
        }
        let p =
            crate::sim::placement::Placer::new(&c.strategy, Placement::PerCall).choose([0, 0], 0.0);
        let one = strategy_for(if p == Provider::FargateSpot { 100 } else { 0 }, 0, p);
        if let Some(d) = candidates.iter().find(|d| {
            d.deployments.is_empty()
                && d.strategy == one
                && d.retry_policy == c.retry_policy
                && d.checkpoint_every == c.checkpoint_every
        }) {
            out.push((c.index, d.index, p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_become_reduced_weights() {
        assert_eq!(
            strategy_for(60, 0, Provider::Fargate).to_string(),
            "FARGATE_SPOT w3, FARGATE w2"
        );
        assert_eq!(
            strategy_for(0, 0, Provider::Fargate).to_string(),
            "FARGATE w1"
        );
        assert_eq!(
            strategy_for(100, 0, Provider::Fargate).to_string(),
            "FARGATE_SPOT w1"
        );
        assert_eq!(
            strategy_for(100, 1, Provider::Fargate).to_string(),
            "FARGATE_SPOT w1, FARGATE w0 b1"
        );
        assert_eq!(
            strategy_for(75, 2, Provider::FargateSpot).to_string(),
            "FARGATE_SPOT w3 b2, FARGATE w1"
        );
    }
}
