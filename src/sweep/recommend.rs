//! The recommendation: the cheapest candidate that meets the objectives with the stated
//! confidence, its runner-up, the binding constraint, and how to configure it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cells::Matrix;
use super::objective::Check;
use super::result::SweepResult;
use crate::scenario::RetryPolicy;
use crate::stats::{Stat, paired};

/// What the cheapest feasible candidate beats, and by how much.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunnerUp {
    /// Candidate index.
    pub candidate: usize,
    /// Its label.
    pub label: String,
    /// Paired cost difference runner-up − recommendation over common replications, USD per
    /// 30 days, with its 95% CI.
    pub difference_per_30d_usd: Stat,
    /// Whether the 95% CI of the difference excludes 0.
    pub statistically_clear: bool,
}

/// The objective nothing met most nearly.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Closest {
    /// Candidate index.
    pub candidate: usize,
    /// Its label.
    pub label: String,
    /// The objective it misses most.
    pub objective: &'static str,
    /// Its upper bound.
    pub upper: f64,
    /// The limit.
    pub limit: f64,
    /// The best upper bound of that objective any candidate reaches (for a cost objective,
    /// the cheapest achievable cost), and that candidate: how far the grid is from the limit.
    pub best: f64,
    /// The candidate reaching `best`.
    pub best_candidate: usize,
}

/// The recommendation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recommendation {
    /// Confidence of the objective checks.
    pub confidence: f64,
    /// Recommended candidate index, if any candidate meets every objective.
    pub candidate: Option<usize>,
    /// Its label.
    pub label: Option<String>,
    /// The cheapest other feasible candidate.
    pub runner_up: Option<RunnerUp>,
    /// Which constraint keeps cheaper candidates out, in words.
    pub binding: String,
    /// When nothing is feasible: the nearest miss.
    pub closest: Option<Closest>,
    /// What to send to ECS: `{"capacityProviderStrategy": [...]}`.
    pub ecs: serde_json::Value,
    /// What to put in the Prefect work pool's job variables.
    pub prefect_work_pool: serde_json::Value,
    /// The placement model the recommendation assumed.
    pub placement: Option<String>,
    /// The retry policy spec.
    pub retry: Option<String>,
    /// How the retry policy is deployed.
    pub deployment: Option<String>,
    /// Per-deployment recommendations: each deployment's own job variables (empty when
    /// every flow uses the work pool's strategy).
    pub deployments: Vec<DeploymentOverride>,
    /// When the recommendation is per-deployment: how it compares with the cheapest
    /// feasible uniform candidate (paired on common random numbers).
    pub versus_uniform: Option<String>,
    /// The cheapest feasible candidate that is clearly more reliable than the pick, and its
    /// price: insurance a team may buy.
    pub insurance: Option<Insurance>,
    /// The pick's peak concurrent vCPU on each provider (at the reading that needs most),
    /// which `plan` checks against the account's Fargate vCPU quotas.
    pub concurrent_vcpu: Option<super::summary::ConcurrentVcpu>,
    /// What a change to the user's code would also save: the cheapest feasible candidate
    /// spotplan cannot deploy (a checkpoint interval, a custom policy) whose saving against
    /// the pick has a paired 95% lower bound of at least 1 USD per 30 days.
    pub code_change: Option<CodeChange>,
}

/// A cheaper configuration that needs code changes, beside the pick (paired on common random
/// numbers).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CodeChange {
    /// Candidate index.
    pub candidate: usize,
    /// Its label.
    pub label: String,
    /// What it takes, each change exactly.
    pub changes: String,
    /// What it saves against the pick per 30 days, USD.
    pub saving_per_30d_usd: Stat,
}

impl Recommendation {
    /// The code change worth showing beside the pick: its saving's 95% lower bound reaches
    /// what a change must save against today (when today was compared).
    pub fn code_change_worth_showing(
        &self,
        current: Option<&super::compare::Current>,
    ) -> Option<&CodeChange> {
        self.code_change
            .as_ref()
            .filter(|x| current.is_none_or(|c| x.saving_per_30d_usd.ci95_low >= c.material_usd))
    }
}

/// The cheapest feasible candidate that needs code changes and clearly saves against `best`.
fn code_change(
    r: &SweepResult,
    best: usize,
    versus: &dyn Fn(usize, usize) -> Stat,
) -> Option<CodeChange> {
    let mut others: Vec<usize> = (0..r.candidates.len())
        .filter(|&i| {
            r.candidates[i].feasible && r.candidates[i].takes == super::result::Takes::CodeChange
        })
        .collect();
    let cost = |i: usize| r.candidates[i].metrics.cost_per_30d_usd.mean;
    others.sort_by(|&a, &b| cost(a).total_cmp(&cost(b)).then(a.cmp(&b)));
    others.into_iter().find_map(|i| {
        let d = versus(best, i);
        (d.n >= 2 && d.ci95_low >= super::deployments::MIN_DEPLOYMENT_SAVING_USD).then(|| {
            CodeChange {
                candidate: i,
                label: r.candidates[i].label.clone(),
                changes: r.candidates[i]
                    .deployment
                    .trim_start_matches("needs a code change: ")
                    .to_string(),
                saving_per_30d_usd: d,
            }
        })
    })
}

/// A more reliable option beside the pick, paired on common random numbers (B = it, A = the
/// pick): its crashed-or-failed or deadline-miss difference has a 95% interval below 0, and
/// the other rate is no worse on average.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Insurance {
    /// Candidate index.
    pub candidate: usize,
    /// Its label.
    pub label: String,
    /// What it costs more per 30 days, USD.
    pub extra_cost_per_30d_usd: Stat,
    /// Crashed-or-failed rate difference (fraction).
    pub crash_rate_change: Stat,
    /// Deadline-miss rate difference (fraction).
    pub deadline_miss_change: Stat,
    /// Its crashed-or-failed and deadline-miss rates (means).
    pub crash_rate: f64,
    /// Deadline-miss rate (mean).
    pub deadline_miss_rate: f64,
}

/// The cheapest of `feasible` (sorted by cost) clearly more reliable than `best`.
fn insurance(r: &SweepResult, m: &Matrix, best: usize, feasible: &[usize]) -> Option<Insurance> {
    let per30 = 30.0 * 86_400_000.0 / r.meta.horizon_ms as f64;
    let row = |i: usize| &m.outcomes[r.candidates[i].variant];
    feasible.iter().filter(|&&j| j != best).find_map(|&j| {
        let (mut cost, mut crash, mut miss) = (Vec::new(), Vec::new(), Vec::new());
        for (a, b) in row(best).iter().zip(row(j)) {
            if let (Some(a), Some(b)) = (a, b) {
                cost.push((b.cost_usd - a.cost_usd) * per30);
                crash.push(b.crash_rate() - a.crash_rate());
                miss.push(b.deadline_miss_rate() - a.deadline_miss_rate());
            }
        }
        let (dc, dm) = (Stat::of(&crash), Stat::of(&miss));
        let clearly_less = |d: &Stat| d.n >= 2 && d.ci95_high < 0.0;
        ((clearly_less(&dc) && dm.mean <= 0.0) || (clearly_less(&dm) && dc.mean <= 0.0)).then(
            || {
                let mj = &r.candidates[j].metrics;
                Insurance {
                    candidate: j,
                    label: r.candidates[j].label.clone(),
                    extra_cost_per_30d_usd: Stat::of(&cost),
                    crash_rate_change: dc,
                    deadline_miss_change: dm,
                    crash_rate: mj.crash_rate.mean,
                    deadline_miss_rate: mj.deadline_miss_rate.mean,
                }
            },
        )
    })
}

/// One deployment's own strategy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeploymentOverride {
    /// The flow (deployment) name.
    pub flow: String,
    /// Its `job_variables`: `capacity_provider_strategy` (and the reschedule env when its
    /// policy needs it).
    pub job_variables: serde_json::Value,
    /// Its retry policy spec (its own fallback automation when it has
    /// `fallback=automation`).
    pub retry: String,
}

/// The work-pool job variables for a strategy and retry policy.
pub fn prefect_job_variables(
    strategy: &serde_json::Value,
    retry: &RetryPolicy,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "capacity_provider_strategy": strategy,
        "launch_type": serde_json::Value::Null,
    });
    let env = retry.job_env();
    if !env.is_empty() {
        v["env"] = env
            .into_iter()
            .map(|(k, val)| (k.to_string(), serde_json::Value::from(val)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    v
}

/// Picks the recommendation from a sweep: among deployable candidates only, unless
/// `allow_custom_code` (custom policies need code of the user's own).
pub fn recommend(r: &SweepResult, m: &Matrix, allow_custom_code: bool) -> Recommendation {
    let eligible = |i: usize| match r.candidates[i].takes {
        super::result::Takes::Applied => true,
        super::result::Takes::CodeChange => allow_custom_code,
        super::result::Takes::NotDeployable => false,
    };
    let confidence = r.meta.objectives.confidence;
    let cost = |i: usize| r.candidates[i].metrics.cost_per_30d_usd.mean;
    let by_cost =
        |v: &mut Vec<usize>| v.sort_by(|&a, &b| cost(a).total_cmp(&cost(b)).then(a.cmp(&b)));
    let mut feasible: Vec<usize> = (0..r.candidates.len())
        .filter(|&i| r.candidates[i].feasible && eligible(i))
        .collect();
    by_cost(&mut feasible);
    let per30 = 30.0 * 86_400_000.0 / r.meta.horizon_ms as f64;
    let costs = |i: usize| -> Vec<Option<f64>> {
        m.outcomes[r.candidates[i].variant]
            .iter()
            .map(|o| o.as_ref().map(|o| o.cost_usd * per30))
            .collect()
    };
    let Some(&best) = feasible.first() else {
        // nothing feasible: the candidate whose worst objective is nearest its limit
        let closest = (0..r.candidates.len())
            .filter(|&i| {
                eligible(i)
                    && r.candidates[i].replications >= 2
                    && !r.candidates[i].checks.is_empty()
            })
            .filter_map(|i| {
                let worst = r.candidates[i]
                    .checks
                    .iter()
                    .max_by(|a, b| a.excess().total_cmp(&b.excess()))?;
                Some((i, worst.clone()))
            })
            .min_by(|a, b| a.1.excess().total_cmp(&b.1.excess()).then(a.0.cmp(&b.0)))
            .map(|(i, c)| {
                // the best any candidate does on that objective, whatever it misses otherwise
                let (best_candidate, best) = (0..r.candidates.len())
                    .filter(|&k| eligible(k) && r.candidates[k].replications >= 2)
                    .filter_map(|k| {
                        let x = r.candidates[k]
                            .checks
                            .iter()
                            .find(|x| x.objective == c.objective)?;
                        Some((k, x.upper))
                    })
                    .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                    .unwrap_or((i, c.upper));
                Closest {
                    candidate: i,
                    label: r.candidates[i].label.clone(),
                    objective: c.objective,
                    upper: c.upper,
                    limit: c.limit,
                    best,
                    best_candidate,
                }
            });
        return Recommendation {
            confidence,
            candidate: None,
            label: None,
            runner_up: None,
            binding: if (0..r.candidates.len()).any(|i| r.candidates[i].feasible && !eligible(i)) {
                "no deployable candidate meets every objective (some custom policies do: they need your own code; `--allow-custom-code` lets them be recommended)".into()
            } else {
                "no candidate meets every objective".into()
            },
            deployment: None,
            deployments: Vec::new(),
            versus_uniform: None,
            insurance: None,
            code_change: None,
            concurrent_vcpu: None,
            closest,
            ecs: serde_json::Value::Null,
            prefect_work_pool: serde_json::Value::Null,
            placement: None,
            retry: None,
        };
    };
    // candidate i − candidate j per 30 days, paired over their common replications
    let versus = |i: usize, j: usize| -> Stat {
        let (a, b) = (costs(i), costs(j));
        let (x, y): (Vec<f64>, Vec<f64>) = a
            .iter()
            .zip(&b)
            .filter_map(|(p, q)| Some(((*p)?, (*q)?)))
            .unzip();
        paired(&x, &y)
    };
    let runner_up = feasible.get(1).map(|&j| {
        let d = versus(j, best);
        RunnerUp {
            candidate: j,
            label: r.candidates[j].label.clone(),
            statistically_clear: d.n >= 2 && (d.ci95_low > 0.0 || d.ci95_high < 0.0),
            difference_per_30d_usd: d,
        }
    });
    // which objectives the cheaper candidates fail
    let mut failing: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    for i in 0..r.candidates.len() {
        let c = &r.candidates[i];
        if c.replications >= 2 && cost(i) < cost(best) && !c.feasible && eligible(i) {
            for ch in c.checks.iter().filter(|ch| !ch.met()) {
                failing.entry(ch.objective).or_default().push(i);
            }
            if !c.deployment_guard.is_empty() {
                failing.entry("deployment_guard").or_default().push(i);
            }
            if !c.deployment_objectives.is_empty() {
                failing.entry("deployment objectives").or_default().push(i);
            }
            if c.checks.iter().all(Check::met) && c.eliminated.is_some() {
                failing.entry("racing").or_default().push(i);
            }
        }
    }
    let binding = match failing
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
    {
        None => "no objective binds: this is the cheapest candidate in the grid".to_string(),
        Some((obj, who)) => {
            let ex = &r.candidates[who[0]];
            let detail = ex
                .checks
                .iter()
                .find(|c| c.objective == *obj)
                .map(|c| {
                    format!(
                        " (e.g. {}: upper bound {} > {})",
                        ex.label,
                        super::objective::show(c.objective, c.upper),
                        super::objective::show(c.objective, c.limit)
                    )
                })
                .or_else(|| {
                    let g = ex.deployment_objectives.first()?;
                    Some(format!(
                        " (e.g. {}: `{}` {} upper bound {} > {})",
                        ex.label,
                        g.deployment,
                        g.metric,
                        super::objective::show(g.metric, g.upper),
                        super::objective::show(g.metric, g.limit)
                    ))
                })
                .or_else(|| {
                    let g = ex.deployment_guard.first()?;
                    Some(format!(
                        " (e.g. {}: `{}` {} {:+.2} points above all on demand, upper bound {:+.2} > {:.2})",
                        ex.label,
                        g.deployment,
                        if g.metric == "crash_rate" {
                            "crashes"
                        } else {
                            "misses deadlines"
                        },
                        100.0 * g.increase,
                        100.0 * g.upper,
                        100.0 * g.limit
                    ))
                })
                .unwrap_or_default();
            format!(
                "`{obj}` binds: {} cheaper candidate(s) fail it{detail}",
                who.len()
            )
        }
    };
    let c = &r.candidates[best].candidate;
    let strategy = c.strategy.to_ecs_json();
    let deployments: Vec<DeploymentOverride> = c
        .flow_names
        .iter()
        .zip(&c.deployments)
        .enumerate()
        .map(|(f, (flow, p))| {
            let mut job_variables = prefect_job_variables(
                &crate::model::Strategy::only(*p).to_ecs_json(),
                c.retry_of(f),
            );
            // a policy whose env is not the pool's states its own (empty: so that it does
            // not inherit the pool's SIGTERM setting)
            if c.retry_of(f).env_within(&c.retry_policy).is_some()
                && job_variables.get("env").is_none()
            {
                job_variables["env"] = serde_json::json!({});
            }
            DeploymentOverride {
                flow: flow.clone(),
                job_variables,
                retry: crate::scenario::spec::retry_spec(c.retry_of(f)),
            }
        })
        .collect();
    let versus_uniform = (!c.deployments.is_empty()).then(|| {
        let uniform = feasible
            .iter()
            .copied()
            .find(|&i| r.candidates[i].candidate.deployments.is_empty());
        match uniform {
            None => "no uniform candidate (one strategy for every flow) meets every objective: only per-deployment strategies do".to_string(),
            Some(u) => {
                let d = versus(u, best);
                format!(
                    "beats every feasible uniform candidate: the cheapest, #{u} {}, costs {:.2} USD more per 30 days [95% CI {:.2}, {:.2}]{}",
                    r.candidates[u].label,
                    d.mean,
                    d.ci95_low,
                    d.ci95_high,
                    if d.n >= 2 && d.ci95_low > 0.0 {
                        ""
                    } else {
                        " (not statistically clear)"
                    }
                )
            }
        }
    });
    Recommendation {
        confidence,
        candidate: Some(best),
        label: Some(r.candidates[best].label.clone()),
        runner_up,
        binding,
        closest: None,
        ecs: serde_json::json!({"capacityProviderStrategy": strategy}),
        prefect_work_pool: prefect_job_variables(&strategy, &c.retry_policy),
        deployment: Some(r.candidates[best].deployment.clone()),
        deployments,
        versus_uniform,
        insurance: insurance(r, m, best, &feasible),
        concurrent_vcpu: Some(super::summary::ConcurrentVcpu::largest(
            r.candidates[best]
                .readings
                .iter()
                .map(|x| &x.concurrent_vcpu),
        )),
        code_change: if allow_custom_code {
            None
        } else {
            code_change(r, best, &versus)
        },
        placement: Some(match c.placement {
            crate::model::PlacementSpec::Robust if c.readings.len() == 1 => {
                "any (one provider: every reading places it the same way)".to_string()
            }
            crate::model::PlacementSpec::Robust => format!(
                "robust: feasible under every reading ({}); costed at its worst, `{}`",
                c.readings
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                r.candidates[best].worst_reading
            ),
            crate::model::PlacementSpec::Reading(p) => format!(
                "{p} only: AWS documents no reading of count=1 RunTask calls; `robust` checks them all"
            ),
        }),
        retry: Some(c.retry.clone()),
    }
}
