//! A grid's cells: candidates × replications on common random numbers, in full, in shards or
//! adaptively (racing), with cancellation.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::objective::{checks, deployment_objective_misses, guard_misses, show};
use super::summary::{Replication, metrics_of};
use crate::scenario::{Objectives, Scenario};
use crate::sim::{self, NoObserver, RunOutcome};
use crate::stats::paired;

/// Confidence used to drop candidates while racing (stricter than the objectives' own).
pub const RACING_CONFIDENCE: f64 = 0.99;

/// Outcomes of candidates × replications; `None` where not run (eliminated, another shard,
/// cancelled).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// Replications per candidate asked for.
    pub replications: u32,
    /// `[candidate][replication]`.
    pub outcomes: Vec<Vec<Option<RunOutcome>>>,
    /// The all-on-demand baseline of each replication (its cost and each flow's part, for
    /// the savings and the per-deployment guards).
    pub baselines: Vec<Option<RunOutcome>>,
}

impl Matrix {
    /// An empty matrix.
    pub fn new(candidates: usize, replications: u32) -> Matrix {
        Matrix {
            replications,
            outcomes: vec![vec![None; replications as usize]; candidates],
            baselines: vec![None; replications as usize],
        }
    }

    /// Adds an empty row (a variant added after the grid); returns its index.
    pub fn add_row(&mut self) -> usize {
        self.outcomes.push(vec![None; self.replications as usize]);
        self.outcomes.len() - 1
    }

    /// The completed replications of candidate `c` with their baselines, in order.
    pub fn replications_of(&self, c: usize) -> Vec<Replication> {
        self.outcomes[c]
            .iter()
            .zip(&self.baselines)
            .filter_map(|(o, b)| match (o, b) {
                (Some(o), Some(b)) => Some(Replication {
                    outcome: o.clone(),
                    baseline_cost_usd: b.cost_usd,
                    baseline_without_plan_usd: b.cost_without_plan_usd,
                    baseline_flows: b.flows.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Replications run, in all.
    pub fn cells_run(&self) -> u64 {
        self.outcomes
            .iter()
            .flatten()
            .filter(|o| o.is_some())
            .count() as u64
    }
}

/// Cancellation flag and progress callback (called with the number of cells finished).
pub struct Control<'a> {
    /// Set (e.g. by Ctrl-C) to stop starting new cells.
    pub cancel: &'a AtomicBool,
    /// Progress.
    pub tick: &'a (dyn Fn(u64) + Sync),
}

/// Runs the given cells (candidate, replication) and their missing baselines into `m`.
/// Cells are computed in parallel and stored by index, so the result does not depend on the
/// thread count.
pub fn run_cells(
    base: &Scenario,
    cands: &[Scenario],
    cells: &[(usize, u32)],
    m: &mut Matrix,
    ctl: &Control,
) {
    let mut need: Vec<usize> = cells.iter().map(|c| c.1 as usize).collect();
    need.sort_unstable();
    need.dedup();
    baselines(base, &need, m, ctl);
    let outs: Vec<Option<RunOutcome>> = cells
        .par_iter()
        .map(|&(c, r)| {
            if ctl.cancel.load(Ordering::Relaxed) {
                return None;
            }
            let o = sim::run(&cands[c], r as u64, &mut NoObserver);
            (ctl.tick)(1);
            Some(o)
        })
        .collect();
    for (&(c, r), o) in cells.iter().zip(outs) {
        m.outcomes[c][r as usize] = o;
    }
}

/// Runs every missing all-on-demand baseline into `m`.
pub(crate) fn fill_baselines(base: &Scenario, m: &mut Matrix, ctl: &Control) {
    let all: Vec<usize> = (0..m.baselines.len()).collect();
    baselines(base, &all, m, ctl);
}

/// Runs the all-on-demand baselines of replications `reps` (sorted, distinct) that `m` lacks,
/// in parallel, stored by index.
fn baselines(base: &Scenario, reps: &[usize], m: &mut Matrix, ctl: &Control) {
    let baseline = base.all_on_demand();
    let need: Vec<usize> = reps
        .iter()
        .copied()
        .filter(|&r| m.baselines[r].is_none())
        .collect();
    let bases: Vec<Option<RunOutcome>> = need
        .par_iter()
        .map(|&r| {
            (!ctl.cancel.load(Ordering::Relaxed))
                .then(|| sim::run(&baseline, r as u64, &mut NoObserver))
        })
        .collect();
    for (r, b) in need.into_iter().zip(bases) {
        m.baselines[r] = b;
    }
}

/// The cells of shard `i` of `n` (every n-th cell of the candidate-major order).
pub fn shard_cells(candidates: usize, replications: u32, shard: (u32, u32)) -> Vec<(usize, u32)> {
    let (i, n) = shard;
    let mut out = Vec::new();
    for c in 0..candidates {
        for r in 0..replications {
            let k = c as u64 * replications as u64 + r as u64;
            if k % n as u64 == i as u64 {
                out.push((c, r));
            }
        }
    }
    out
}

/// One round of racing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Replications per surviving candidate after the round.
    pub replications: u32,
    /// Candidates run in the round.
    pub candidates: usize,
    /// Candidates dropped after it.
    pub dropped: usize,
}

/// How candidates left the race.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Elimination {
    /// Candidate index.
    pub candidate: usize,
    /// Replications it had.
    pub after: u32,
    /// Why, in words.
    pub reason: String,
}

/// What a race starts from.
pub struct Entrants<'a> {
    /// The variant rows of each candidate.
    pub groups: &'a [Vec<usize>],
    /// The objectives.
    pub objectives: &'a Objectives,
    /// Replications per candidate at most.
    pub replications: u32,
    /// Candidates dominated without running: they never start.
    pub before: Vec<Elimination>,
}

/// Racing (successive halving with confidence bounds) over candidates, each a group of
/// variant rows (one per placement reading): every alive candidate gets replications in
/// doubling batches; after each batch, candidates with a reading that violates an objective
/// with 99% confidence, or whose worst reading costs more than every reading of a
/// surely-feasible candidate with 99% confidence (paired on common random numbers), stop
/// being replicated. Candidates in `before` (dominated without running) never start.
/// Eliminations name candidates (group indices).
pub fn race(
    base: &Scenario,
    cands: &[Scenario],
    entrants: Entrants,
    m: &mut Matrix,
    ctl: &Control,
) -> (Vec<Round>, Vec<Elimination>) {
    let Entrants {
        groups,
        objectives,
        replications,
        before,
    } = entrants;
    let mut alive: Vec<usize> = (0..groups.len())
        .filter(|c| !before.iter().any(|e| e.candidate == *c))
        .collect();
    let mut rounds = Vec::new();
    let mut gone = before;
    let mut done = 0u32;
    let mut target = (replications / 8).max(10).min(replications);
    loop {
        let cells: Vec<(usize, u32)> = alive
            .iter()
            .flat_map(|&c| groups[c].iter())
            .flat_map(|&v| (done..target).map(move |r| (v, r)))
            .collect();
        run_cells(base, cands, &cells, m, ctl);
        done = target;
        if ctl.cancel.load(Ordering::Relaxed) {
            break;
        }
        let before = alive.len();
        let dropped = eliminate(cands, groups, objectives, m, &alive, done);
        alive.retain(|c| !dropped.iter().any(|d| d.candidate == *c));
        rounds.push(Round {
            replications: done,
            candidates: before,
            dropped: dropped.len(),
        });
        gone.extend(dropped);
        if alive.len() <= 1 || done >= replications {
            break;
        }
        target = (target * 2).min(replications);
    }
    (rounds, gone)
}

fn eliminate(
    cands: &[Scenario],
    groups: &[Vec<usize>],
    o: &Objectives,
    m: &Matrix,
    alive: &[usize],
    after: u32,
) -> Vec<Elimination> {
    let costs = |v: usize| -> Vec<f64> {
        m.replications_of(v)
            .iter()
            .map(|r| r.outcome.cost_usd)
            .collect()
    };
    let mut out = Vec::new();
    // (alive position, worst variant, its mean cost) of surely-feasible candidates
    let mut sure: Vec<(usize, usize, f64)> = Vec::new();
    let mut worst: Vec<usize> = Vec::with_capacity(alive.len());
    for (k, &c) in alive.iter().enumerate() {
        let mut all_met = true;
        let mut violation = None;
        let mut worst_v = groups[c][0];
        let mut worst_cost = f64::NEG_INFINITY;
        for &v in &groups[c] {
            let metrics = metrics_of(&cands[v], &m.replications_of(v));
            if metrics.cost_usd.mean > worst_cost {
                worst_cost = metrics.cost_usd.mean;
                worst_v = v;
            }
            let cs = checks(&metrics, o, RACING_CONFIDENCE);
            if violation.is_none()
                && let Some(x) = cs.iter().find(|x| x.clearly_violated())
            {
                violation = Some((
                    v,
                    format!("violates {}", x.objective),
                    format!(
                        "lower bound {} > {}",
                        show(x.objective, x.lower),
                        show(x.objective, x.limit)
                    ),
                ));
            }
            all_met &= cs.iter().all(|x| x.met());
            // each deployment's own objectives, as feasibility will judge them
            let reps = m.replications_of(v);
            let own = deployment_objective_misses(&cands[v], &reps, RACING_CONFIDENCE);
            all_met &= own.is_empty();
            if violation.is_none()
                && let Some(g) = own.iter().find(|g| g.lower > g.limit)
            {
                violation = Some((
                    v,
                    format!("misses `{}`'s own {}", g.deployment, g.metric),
                    format!(
                        "lower bound {} > {}",
                        show(g.metric, g.lower),
                        show(g.metric, g.limit)
                    ),
                ));
            }
            // the deployment guard, as feasibility will judge it
            if let Some(limit) = o.deployment_guard {
                let reps = m.replications_of(v);
                let misses = guard_misses(&cands[v], &reps, limit, RACING_CONFIDENCE);
                all_met &= misses.is_empty();
                if violation.is_none()
                    && let Some(g) = misses.iter().find(|g| g.lower > g.limit)
                {
                    violation = Some((
                        v,
                        format!(
                            "breaks the deployment guard (`{}`, {})",
                            g.deployment, g.metric
                        ),
                        format!(
                            "lower bound {:+.2} points > {:.2} points",
                            100.0 * g.lower,
                            100.0 * g.limit
                        ),
                    ));
                }
            }
        }
        worst.push(worst_v);
        if let Some((v, what, bound)) = violation {
            let reading = if groups[c].len() > 1 {
                format!(" under `{}` placement", cands[v].sim.placement)
            } else {
                String::new()
            };
            out.push(Elimination {
                candidate: c,
                after,
                reason: format!("{what}{reading} ({bound})"),
            });
            continue;
        }
        if all_met {
            sure.push((k, worst_v, worst_cost));
        }
    }
    // the two cheapest surely-feasible candidates stay, so the recommendation has a
    // runner-up replicated as often as itself
    sure.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
    let keep: Vec<usize> = sure.iter().take(2).map(|x| x.0).collect();
    if let Some(&(b, _, _)) = sure.first() {
        let best = alive[b];
        let best_costs: Vec<Vec<f64>> = groups[best].iter().map(|&v| costs(v)).collect();
        for (k, &c) in alive.iter().enumerate() {
            if keep.contains(&k) || out.iter().any(|e| e.candidate == c) {
                continue;
            }
            let cost_c = costs(worst[k]);
            // above every reading of the best, hence above its worst reading
            let lower = best_costs
                .iter()
                .map(|cb| paired(&cost_c, cb).lower(RACING_CONFIDENCE))
                .fold(f64::INFINITY, f64::min);
            if lower > 0.0 {
                let d = paired(&cost_c, &costs(worst[b]));
                out.push(Elimination {
                    candidate: c,
                    after,
                    reason: format!(
                        "costs more than candidate {best} (paired difference {:.4} USD, 99% lower bound {:.4})",
                        d.mean, lower
                    ),
                });
            }
        }
    }
    out
}
