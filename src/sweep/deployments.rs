//! Per-deployment search: each flow (Prefect deployment) all on FARGATE_SPOT or all on
//! FARGATE, as its own `job_variables` strategy, for each retry policy and checkpoint
//! interval of the grid. A mix of one-provider deployments means the same thing under every
//! placement reading.
//!
//! Flows that share no binding concurrency limit are separable under common random numbers:
//! a flow's draws are keyed by its name ([`crate::sim::rng::name_key`]), so its runs, draws
//! and outcome do not depend on what the other flows run on, and one world with every flow on
//! spot and one with every flow on demand give, replication by replication, each flow's part
//! under either choice. Those two worlds are the grid's own one-provider candidates (their
//! rows are completed, not simulated twice). The selection is then solved exactly on the
//! composed figures ([`super::select`]), whatever the number of deployments, and the pick is
//! simulated jointly with all replications; only that joint result is reported. If the joint
//! result misses an objective (the p95 latency does not add up, or the work pool's limit
//! couples the flows), the pick is excluded and the selection solved again, at most
//! [`MAX_VERIFIED`] times.
//!
//! When the work pool's concurrency limit binds (runs waited for its slots), flows are
//! coupled: the selection is solved on the separable figures as if they were not, and the
//! joint simulation, which models the limit, decides. That assumption is stated.

use std::sync::atomic::Ordering;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::candidate::{Candidate, strategy_for};
use super::cells::{Control, Matrix, fill_baselines, run_cells};
use super::objective::{deployment_objective_misses, guard_misses};
use super::select::{self, Limits, Part, Problem};
use super::summary::Replication;
use crate::model::{Placement, PlacementSpec, Provider, SimTime};
use crate::pricing::MissingRates;
use crate::scenario::{RetryPolicy, Scenario, SweepSpec};
use crate::sim::RunOutcome;

/// Most nodes of one branch and bound (each an O(1) bound; a leaf composes every deployment
/// over every replication).
pub(crate) const NODE_BUDGET: u64 = 2_000_000;
/// What a deployment moved to a less reliable option (more crashes or deadline misses on
/// average) must save itself, USD per 30 days.
pub(crate) const MIN_DEPLOYMENT_SAVING_USD: f64 = 1.0;
/// Most picks simulated jointly per retry policy and checkpoint interval.
pub(crate) const MAX_VERIFIED: usize = 3;

/// What the per-deployment search did, in words and figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentSearch {
    /// Whether it ran, and if not, why not.
    pub note: String,
    /// Branch-and-bound nodes visited, over every selection solved.
    pub screened: u64,
    /// Candidates added (each simulated jointly with all replications).
    pub added: u64,
    /// Selections whose node budget ran out, with the best found's cost and the lowest bound
    /// left (USD per 30 days): the gap is then stated.
    #[serde(default)]
    pub gaps: Vec<(String, f64, f64)>,
    /// Picks the joint simulation rejected, with why.
    #[serde(default)]
    pub rejected: Vec<String>,
    /// Deployments of an accepted pick that a platform-wide objective holds back from a
    /// cheaper option, with the objective and the bound moving it alone would reach.
    #[serde(default)]
    pub held_back: Vec<String>,
}

/// One option of a deployment: a provider, a retry policy of the grid and a checkpoint
/// interval (`None`: as configured).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Opt {
    pub(crate) provider: Provider,
    pub(crate) retry: RetryPolicy,
    pub(crate) checkpoint_every: Option<SimTime>,
}

/// The per-deployment candidate for `choice` (an option per flow, in flow order). A retry
/// policy or checkpoint interval every flow shares is the candidate's own; otherwise each
/// flow's is listed, and the pool keeps the one most flows run (the first in grid order on a
/// tie).
pub(crate) fn candidate(base: &Scenario, choice: &[Opt], index: usize) -> Candidate {
    let spot = choice
        .iter()
        .filter(|o| o.provider == Provider::FargateSpot)
        .count();
    let retries: Vec<RetryPolicy> = choice.iter().map(|o| o.retry.clone()).collect();
    let mut pool = retries
        .first()
        .cloned()
        .unwrap_or_else(|| base.retry.clone());
    let mut most = 0;
    for r in &retries {
        let n = retries.iter().filter(|x| *x == r).count();
        if n > most {
            (most, pool) = (n, r.clone());
        }
    }
    let checkpoints: Vec<Option<SimTime>> = choice
        .iter()
        .zip(&base.flows)
        .map(|(o, f)| o.checkpoint_every.filter(|_| f.checkpoint.is_some()))
        .collect();
    let shared_ck = {
        let set: Vec<Option<SimTime>> = checkpoints
            .iter()
            .zip(&base.flows)
            .filter(|(_, f)| f.checkpoint.is_some())
            .map(|(c, _)| *c)
            .collect();
        set.iter()
            .all(|c| *c == set[0])
            .then(|| set.first().copied().flatten())
    };
    Candidate {
        index,
        spot_share: (100 * spot / choice.len().max(1)) as u32,
        base: 0,
        base_provider: Provider::Fargate,
        // the pool's strategy: what a deployment without its own would use
        strategy: strategy_for(0, 0, Provider::Fargate),
        placement: PlacementSpec::Robust,
        readings: vec![Placement::PerCall],
        variants: Vec::new(),
        deployments: choice.iter().map(|o| o.provider).collect(),
        flow_names: base.flows.iter().map(|f| f.name.clone()).collect(),
        retry: crate::scenario::spec::retry_spec(&pool),
        deployment_retry: if retries.iter().all(|r| *r == pool) {
            Vec::new()
        } else {
            retries
        },
        retry_policy: pool,
        checkpoint_every: shared_ck.flatten(),
        deployment_checkpoint: if shared_ck.is_some() {
            Vec::new()
        } else {
            checkpoints
        },
    }
}

/// Whether a per-deployment search applies to `s`.
pub(crate) fn applies(s: &Scenario) -> Result<(), String> {
    if s.flows.len() < 2 {
        return Err("one flow: per-deployment strategies are the uniform ones".into());
    }
    if s.flows.iter().any(|f| f.strategy.is_some()) {
        return Err("some flows already carry their own strategy in the scenario".into());
    }
    Ok(())
}

/// The providers of every flow, in this order.
const OPTIONS: [Provider; 2] = [Provider::FargateSpot, Provider::Fargate];

/// The grid (or the matrix) so far, which the search reads and adds to.
pub(crate) struct Grid<'a> {
    pub(crate) candidates: &'a mut Vec<Candidate>,
    pub(crate) scenarios: &'a mut Vec<Scenario>,
    pub(crate) matrix: &'a mut Matrix,
}

/// Retry policies a pool's deployments can mix: Prefect 1's (one agent's) apart from Prefect
/// 3's and custom ones (a worker of the other kind cannot run them).
fn family(r: &RetryPolicy) -> u8 {
    u8::from(r.prefect1())
}

/// Runs the search: for each family of the grid's retry policies, every deployment chooses a
/// provider, a retry policy and a checkpoint interval. It is solved twice: among the options
/// spotplan applies (its pick can be the headline), then among every option (a cheaper pick
/// there needs code changes: a checkpoint interval, a custom policy). Each pick is added as
/// a candidate simulated jointly.
pub(crate) fn search(
    base: &Scenario,
    spec: &SweepSpec,
    ctl: &Control,
    g: &mut Grid,
    found: &mut DeploymentSearch,
) -> Result<(), MissingRates> {
    let checkpoints: Vec<Option<SimTime>> = if base.flows.iter().any(|f| f.checkpoint.is_some()) {
        spec.checkpoint_every.clone()
    } else {
        vec![None]
    };
    let mut families: Vec<Vec<&RetryPolicy>> = Vec::new();
    for r in &spec.retries {
        match families.iter_mut().find(|v| family(v[0]) == family(r)) {
            Some(v) => v.push(r),
            None => families.push(vec![r]),
        }
    }
    let mut coupled = false;
    for fam in families {
        let opts: Vec<Opt> = fam
            .iter()
            .flat_map(|&r| {
                checkpoints.iter().flat_map(move |&ck| {
                    OPTIONS.iter().map(move |&p| Opt {
                        provider: p,
                        retry: r.clone(),
                        checkpoint_every: ck,
                    })
                })
            })
            .collect();
        let mut worlds = Vec::with_capacity(opts.len());
        for o in &opts {
            if ctl.cancel.load(Ordering::Relaxed) {
                return Ok(());
            }
            worlds.push(world(
                base,
                &o.retry,
                o.checkpoint_every,
                o.provider,
                ctl,
                g,
            )?);
        }
        if ctl.cancel.load(Ordering::Relaxed) {
            return Ok(());
        }
        coupled |= worlds.iter().flatten().any(|o| o.pool_limit_waits > 0);
        fill_baselines(base, g.matrix, ctl);
        let baselines: Vec<RunOutcome> = g.matrix.baselines.iter().flatten().cloned().collect();
        let family_label = fam
            .iter()
            .map(|r| crate::scenario::spec::retry_spec(r))
            .collect::<Vec<_>>()
            .join(", ");
        let Some(all) = problem(base, &opts, &checkpoints, &worlds, &baselines) else {
            found.rejected.push(format!(
                "{family_label}: some deployment breaks the deployment guard or its own objectives on every option"
            ));
            continue;
        };
        // what spotplan applies: the provider, the SIGTERM env, the fallback automation
        let applied: Vec<Vec<bool>> = base
            .flows
            .iter()
            .map(|f| {
                opts.iter()
                    .map(|o| {
                        !o.retry.needs_own_code()
                            && (f.checkpoint.is_none()
                                || o.checkpoint_every
                                    .is_none_or(|t| f.checkpoint.is_some_and(|c| c.every == t)))
                    })
                    .collect()
            })
            .collect();
        let mut only_applied = all.clone();
        for (f, ok) in only_applied.allowed.iter_mut().enumerate() {
            ok.retain(|&o| applied[f][o]);
        }
        let code_change_offered =
            (0..base.flows.len()).any(|f| all.allowed[f].iter().any(|&o| !applied[f][o]));
        let mut picks: Vec<Vec<usize>> = Vec::new();
        for (p, what) in [
            (only_applied, "applied by spotplan"),
            (all, "with code changes"),
        ] {
            if what == "with code changes" && !code_change_offered {
                break;
            }
            if p.allowed.iter().any(|a| a.is_empty()) {
                found.rejected.push(format!(
                    "{family_label} ({what}): some deployment has no option it allows"
                ));
                continue;
            }
            let label = format!("{family_label} ({what})");
            if let Some(pick) = select_and_verify(base, &opts, p, &label, &picks, ctl, g, found)? {
                picks.push(pick);
            }
            if ctl.cancel.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
    }
    found.note = if coupled {
        format!(
            "flows compete for the work pool's concurrency limit: each selection was solved exactly as if they did not, and its pick simulated jointly, which models the limit, decides (at most {MAX_VERIFIED} picks per selection)"
        )
    } else {
        format!(
            "flows share no binding limit: separable under common random numbers; each deployment chooses its provider, retry policy and checkpoint interval, solved exactly (branch and bound) among what spotplan applies, then among every option (code changes), and each pick simulated jointly (at most {MAX_VERIFIED} picks per selection); a deployment moves to a less reliable option only if it saves {MIN_DEPLOYMENT_SAVING_USD} USD per 30 days itself"
        )
    };
    Ok(())
}

/// Solves `p`, simulates its pick jointly and, if the joint result misses an objective,
/// excludes it and solves again (at most [`MAX_VERIFIED`] times). Returns the accepted pick
/// (`None`: none, or one every flow shares, which the grid's uniform candidate is already,
/// or one of `known`).
#[allow(clippy::too_many_arguments)]
fn select_and_verify(
    base: &Scenario,
    opts: &[Opt],
    mut p: Problem,
    label: &str,
    known: &[Vec<usize>],
    ctl: &Control,
    g: &mut Grid,
    found: &mut DeploymentSearch,
) -> Result<Option<Vec<usize>>, MissingRates> {
    for _ in 0..MAX_VERIFIED {
        let sol = select::solve(&p);
        found.screened += sol.nodes;
        if sol.exhausted {
            let best = sol.best.as_ref().map_or(f64::INFINITY, |b| b.1.cost.mean);
            found.gaps.push((label.to_string(), best, sol.bound));
        }
        let Some((choice, _)) = sol.best else {
            return Ok(None);
        };
        // every flow on one option: the grid's uniform candidate already
        if choice.iter().all(|&o| o == choice[0]) || known.contains(&choice) {
            return Ok(None);
        }
        let picked: Vec<Opt> = choice.iter().map(|&o| opts[o].clone()).collect();
        let row = add(base, &picked, ctl, g)?;
        found.added += 1;
        let reps = g.matrix.replications_of(row);
        if reps.len() < g.matrix.replications as usize {
            return Ok(None); // cancelled
        }
        // judged as every candidate's reading is (the row's objectives are the base's)
        let missed = super::compare::judged_misses(&g.scenarios[row], &reps);
        if missed.is_empty() {
            for (f, o, broken) in select::held_back(&p, &choice) {
                let why: Vec<String> = broken
                    .iter()
                    .map(|(k, u, l)| {
                        format!(
                            "{k} ({} > {})",
                            super::objective::show(k, *u),
                            super::objective::show(k, *l)
                        )
                    })
                    .collect();
                found.held_back.push(format!(
                    "{label}: `{}` stays on {}: on {} (cheaper) it alone would break {}",
                    base.flows[f].name,
                    describe(opts, choice[f]),
                    describe(opts, o),
                    why.join(", ")
                ));
            }
            return Ok(Some(choice));
        }
        found.rejected.push(format!(
            "{label}: the pick misses {} when simulated jointly",
            missed.join(", ")
        ));
        p.excluded.push(choice);
    }
    Ok(None)
}

/// An option in words: its provider, and its retry policy and checkpoint interval when the
/// options differ in them.
fn describe(opts: &[Opt], o: usize) -> String {
    let x = &opts[o];
    let mut out = x.provider.ecs_name().to_string();
    if opts.iter().any(|y| y.retry != x.retry) {
        out.push_str(&format!(
            " with {}",
            crate::scenario::spec::retry_spec(&x.retry)
        ));
    }
    if opts
        .iter()
        .any(|y| y.checkpoint_every != x.checkpoint_every)
    {
        match x.checkpoint_every {
            Some(t) => out.push_str(&format!(", checkpoint every {t}")),
            None => out.push_str(", checkpoints as configured"),
        }
    }
    out
}

/// The outcomes of every replication with every flow on `provider`: the grid's uniform
/// candidate's row, completed, or a row of its own.
fn world(
    base: &Scenario,
    retry: &RetryPolicy,
    ck: Option<SimTime>,
    provider: Provider,
    ctl: &Control,
    g: &mut Grid,
) -> Result<Vec<RunOutcome>, MissingRates> {
    let share = if provider == Provider::FargateSpot {
        100
    } else {
        0
    };
    let uniform = strategy_for(share, 0, Provider::Fargate);
    let row = g.candidates.iter().find_map(|c| {
        (c.deployments.is_empty()
            && c.strategy == uniform
            && c.retry_policy == *retry
            && c.checkpoint_every == ck
            && c.variants.len() == 1)
            .then(|| c.variants[0])
    });
    let Some(row) = row else {
        // not in the grid: simulated here, in parallel and collected by index
        let one = Opt {
            provider,
            retry: retry.clone(),
            checkpoint_every: ck,
        };
        let v =
            candidate(base, &vec![one; base.flows.len()], 0).scenario(base, Placement::PerCall)?;
        return Ok((0..g.matrix.replications as u64)
            .into_par_iter()
            .filter_map(|r| {
                (!ctl.cancel.load(Ordering::Relaxed))
                    .then(|| crate::sim::run(&v, r, &mut crate::sim::NoObserver))
            })
            .collect());
    };
    let missing: Vec<(usize, u32)> = (0..g.matrix.replications)
        .filter(|&r| g.matrix.outcomes[row][r as usize].is_none())
        .map(|r| (row, r))
        .collect();
    run_cells(base, g.scenarios, &missing, g.matrix, ctl);
    Ok(g.matrix.outcomes[row].iter().flatten().cloned().collect())
}

/// Adds the per-deployment candidate `choice` and simulates it with every replication;
/// returns its row.
fn add(
    base: &Scenario,
    choice: &[Opt],
    ctl: &Control,
    g: &mut Grid,
) -> Result<usize, MissingRates> {
    let mut c = candidate(base, choice, g.candidates.len());
    let v = c.scenario(base, Placement::PerCall)?;
    let row = g.matrix.add_row();
    c.variants.push(row);
    g.scenarios.push(v);
    let cells: Vec<(usize, u32)> = (0..g.matrix.replications).map(|r| (row, r)).collect();
    run_cells(base, g.scenarios, &cells, g.matrix, ctl);
    g.candidates.push(c);
    Ok(row)
}

/// The selection problem over `opts`, from each option's world (every flow on it).
/// `None` when some deployment breaks the deployment guard or its own objectives on every
/// option.
fn problem(
    base: &Scenario,
    opts: &[Opt],
    checkpoints: &[Option<SimTime>],
    worlds: &[Vec<RunOutcome>],
    baselines: &[RunOutcome],
) -> Option<Problem> {
    let n = base.flows.len();
    let reps = worlds.iter().map(Vec::len).min().unwrap_or(0);
    // With a Savings Plan the bill is not a sum of the deployments' parts: each hour's
    // commitment is paid whatever runs. A deployment's on-demand vCPU and memory go to the
    // plan's term ([`select::PlanTerm`]), calibrated on each replication's all-on-demand
    // baseline; the joint simulation of the pick bills it hour by hour.
    let planned = base.savings_plan.is_some() && baselines.len() >= reps;
    let part_cost = |x: &crate::sim::FlowOutcome| {
        if planned {
            x.cost_usd - x.plan_eligible_usd
        } else {
            x.cost_usd
        }
    };
    let part = |o: &RunOutcome, f: usize| {
        let x = &o.flows[f];
        Part {
            cost: part_cost(x),
            plan_od: if planned { x.plan_eligible_od_usd } else { 0.0 },
            runs: x.runs,
            bad: x.crashed_or_failed,
            deadline_runs: x.deadline_runs,
            misses: x.deadline_misses,
        }
    };
    let parts: Vec<Vec<Vec<Part>>> = (0..n)
        .map(|f| {
            worlds
                .iter()
                .map(|w| w[..reps].iter().map(|o| part(o, f)).collect())
                .collect()
        })
        .collect();
    // the worker and hourly network charges are the same in every world (with a Savings
    // Plan, less the plan's bill, which its term gives)
    let fixed = worlds[0][..reps]
        .iter()
        .map(|o| {
            let plan = if planned {
                o.plan_eligible_usd + o.cost_stranded_usd
                    - o.flows.iter().map(|f| f.plan_eligible_usd).sum::<f64>()
            } else {
                0.0
            };
            o.cost_usd - o.flows.iter().map(|f| f.cost_usd).sum::<f64>() - plan
        })
        .collect();
    let plan: Vec<select::PlanTerm> = if planned {
        let hours = base.sim.horizon.hours_f64();
        let commitment = base
            .savings_plan
            .as_ref()
            .map_or(0.0, |p| p.commitment_per_hour * hours);
        baselines[..reps]
            .iter()
            .map(|b| {
                let flows_od: f64 = b.flows.iter().map(|f| f.plan_eligible_od_usd).sum();
                // the plan's bill is the commitment and the usage beyond it, hour by hour
                let above = (b.plan_eligible_usd + b.cost_stranded_usd - commitment).max(0.0);
                select::PlanTerm {
                    commitment,
                    covers: b.plan_eligible_od_usd - above,
                    base_od: b.plan_eligible_od_usd - flows_od,
                    slope: b.plan_marginal,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let o = &base.objectives;
    // a flow that does not checkpoint has no interval to choose: its options are the first's
    let ck_matters = |f: usize, k: usize| {
        base.flows[f].checkpoint.is_some() || opts[k].checkpoint_every == checkpoints[0]
    };
    // today's option of a flow: its provider, retry policy and checkpoint interval, when it
    // runs on one provider and they are among the options
    let current: Vec<Option<usize>> = (0..n)
        .map(|f| {
            let s = base.strategy_of(f);
            let one = s
                .items
                .iter()
                .filter(|i| i.weight > 0 || i.base > 0)
                .count()
                == 1;
            if !one {
                return None;
            }
            let own_ck = base.flows[f].checkpoint.map(|c| c.every);
            let ck_is_today = |k: usize| match (opts[k].checkpoint_every, own_ck) {
                (_, None) => opts[k].checkpoint_every == checkpoints[0],
                (None, Some(_)) => true,
                (Some(t), Some(own)) => t == own,
            };
            let mut today = (0..opts.len()).filter(|&k| {
                s.uses(opts[k].provider) && opts[k].retry == *base.retry_of(f) && ck_is_today(k)
            });
            today.next()
        })
        .collect();
    let mut by_name: Vec<usize> = (0..n).collect();
    by_name.sort_by(|&a, &b| base.flows[a].name.cmp(&base.flows[b].name));
    // the guard and each deployment's own objectives: an option that breaks them is not
    // offered (each flow's figures in a world are its figures under that option)
    let misses: Vec<Vec<String>> = worlds
        .iter()
        .map(|w| {
            let reps: Vec<Replication> = w
                .iter()
                .zip(baselines)
                .map(|(x, b)| Replication {
                    outcome: x.clone(),
                    baseline_cost_usd: b.cost_usd,
                    baseline_without_plan_usd: b.cost_without_plan_usd,
                    baseline_flows: b.flows.clone(),
                })
                .collect();
            let guard = o
                .deployment_guard
                .map(|limit| guard_misses(base, &reps, limit, o.confidence))
                .unwrap_or_default();
            guard
                .into_iter()
                .chain(deployment_objective_misses(base, &reps, o.confidence))
                .map(|m| m.deployment)
                .collect()
        })
        .collect();
    let mut allowed = Vec::new();
    for (f, flow) in base.flows.iter().enumerate() {
        let ok: Vec<usize> = (0..opts.len())
            .filter(|&k| ck_matters(f, k) && !misses[k].contains(&flow.name))
            .collect();
        if ok.is_empty() {
            return None;
        }
        allowed.push(ok);
    }
    let rate = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let sum = |p: &[Part], g: &dyn Fn(&Part) -> u64| p.iter().map(g).sum::<u64>() as f64;
    // a deployment whose own objective is unreachable keeps today's option unless another is
    // cheaper and no worse on that objective's metric
    let metric_of = |k: usize, f: usize, objective: &str| -> f64 {
        let p: &[Part] = &parts[f][k];
        match objective {
            "max_crashed" => rate(sum(p, &|x| x.bad), sum(p, &|x| x.runs)),
            "max_deadline_miss" => rate(sum(p, &|x| x.misses), sum(p, &|x| x.deadline_runs)),
            _ => {
                let w = &worlds[k];
                w.iter()
                    .map(|x| x.flows[f].latency_p95_ms as f64)
                    .sum::<f64>()
                    / w.len().max(1) as f64
            }
        }
    };
    // a deployment's own cost: its part, and its plan usage at the baseline's marginal rate
    let slope = |r: usize| plan.get(r).map_or(0.0, |t| t.slope);
    let own = |x: &Part, r: usize| x.cost + slope(r) * x.plan_od;
    let cost_of = |k: usize, f: usize| {
        parts[f][k]
            .iter()
            .enumerate()
            .map(|(r, x)| own(x, r))
            .sum::<f64>()
    };
    for u in &o.unreachable {
        let Some(today) = current[u.flow] else {
            continue;
        };
        allowed[u.flow].retain(|&k| {
            k == today
                || (cost_of(k, u.flow) < cost_of(today, u.flow)
                    && metric_of(k, u.flow, u.objective) <= metric_of(today, u.flow, u.objective))
        });
    }
    let counted: Vec<bool> = (0..n)
        .map(|f| !o.unreachable.iter().any(|u| u.flow == f))
        .collect();
    // a deployment moved from today's option to a less reliable one must save enough itself
    let per30 = 30.0 * SimTime::DAY.0 as f64 / base.sim.horizon.0 as f64;
    for (f, ok) in allowed.iter_mut().enumerate() {
        let Some(today) = current[f] else {
            continue;
        };
        let figures = |k: usize| -> (f64, f64, f64) {
            let p: &[Part] = &parts[f][k];
            (
                p.iter().enumerate().map(|(r, x)| own(x, r)).sum::<f64>() / p.len().max(1) as f64
                    * per30,
                rate(sum(p, &|x| x.bad), sum(p, &|x| x.runs)),
                rate(sum(p, &|x| x.misses), sum(p, &|x| x.deadline_runs)),
            )
        };
        let t = figures(today);
        ok.retain(|&k| {
            let x = figures(k);
            let less_reliable = x.1 > t.1 || x.2 > t.2;
            k == today || !less_reliable || t.0 - x.0 >= MIN_DEPLOYMENT_SAVING_USD
        });
    }
    Some(Problem {
        parts,
        fixed,
        plan,
        per30,
        limits: Limits {
            crashed: o.max_crashed,
            deadline_miss: o.max_deadline_miss,
            monthly_cost: o.max_monthly_cost,
            confidence: o.confidence,
        },
        allowed,
        counted,
        current,
        by_name,
        excluded: Vec::new(),
        budget: NODE_BUDGET,
    })
}
