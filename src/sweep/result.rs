//! A sweep's result: every candidate's metrics and checks, the Pareto front, search figures.

use serde::{Deserialize, Serialize};

use super::candidate::Candidate;
use super::cells::{Elimination, Matrix, Round};
use super::objective::{Check, GuardMiss, checks, deployment_objective_misses, guard_misses};
use super::summary::{Meta, Metrics, meta_of, metrics_of};
use crate::scenario::Scenario;
use crate::stats::Stat;

/// One placement reading of a candidate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReadingResult {
    /// The reading.
    pub placement: String,
    /// Its matrix row.
    #[serde(skip)]
    pub variant: usize,
    /// Cost per 30 days under it, USD.
    pub cost_per_30d_usd: Stat,
    /// Achieved spot share of task time under it.
    pub spot_share: Stat,
    /// Crashed-or-failed rate under it.
    pub crash_rate: Stat,
    /// Deadline-miss rate under it.
    pub deadline_miss_rate: Stat,
    /// Per-replication latency p95 under it, s.
    pub latency_p95_s: Stat,
    /// Every objective met under it.
    pub feasible: bool,
    /// Peak concurrent vCPU under it (the quotas are checked at the reading that needs most).
    #[serde(skip)]
    pub concurrent_vcpu: super::summary::ConcurrentVcpu,
}

impl CandidateResult {
    /// The figure every table shows for `metric` (a [`Metrics`] row key), and the reading it
    /// comes from: the crashed and deadline-miss rates and the p95 latency at the reading
    /// where each is worst (the one its objective is judged on), the rest at the costliest.
    pub fn deciding(&self, metric: &str) -> (Stat, String) {
        let per: Option<fn(&ReadingResult) -> &Stat> = match metric {
            "crash_rate" => Some(|r| &r.crash_rate),
            "deadline_miss_rate" => Some(|r| &r.deadline_miss_rate),
            "latency_p95_s" => Some(|r| &r.latency_p95_s),
            _ => None,
        };
        if let Some(f) = per
            && let Some(r) = self
                .readings
                .iter()
                .fold(None::<&ReadingResult>, |a, r| match a {
                    Some(a) if f(a).mean >= f(r).mean => Some(a),
                    _ => Some(r),
                })
        {
            return (*f(r), r.placement.clone());
        }
        let st = self
            .metrics
            .rows()
            .into_iter()
            .find(|x| x.0 == metric)
            .map(|x| *x.3)
            .unwrap_or_default();
        (st, self.worst_reading.clone())
    }

    /// Why it is not feasible, in words: the objectives it misses, the deployments that break
    /// the guard or their own objectives, or racing's verdict; `None` when feasible.
    pub fn why_not(&self) -> Option<String> {
        if self.feasible {
            return None;
        }
        if let Some(e) = &self.eliminated {
            return Some(format!("dropped: {e}"));
        }
        let mut why: Vec<String> = self
            .checks
            .iter()
            .filter(|x| !x.met())
            .map(|x| format!("misses {}", x.objective))
            .collect();
        why.extend(
            self.deployment_objectives
                .iter()
                .map(|g| format!("`{}` misses its own {}", g.deployment, g.metric)),
        );
        why.extend(
            self.deployment_guard
                .iter()
                .map(|g| format!("`{}` breaks the deployment guard", g.deployment)),
        );
        if why.is_empty() {
            why.push("too few replications".into());
        }
        why.dedup();
        Some(why.join("; "))
    }

    /// A metric at the reading where it is worst (highest mean), and that reading: what
    /// decides the candidate's objective on it, so a table row never contradicts its flag.
    pub fn worst_of(&self, metric: fn(&ReadingResult) -> &Stat) -> (f64, &str) {
        self.readings
            .iter()
            .map(|r| (metric(r).mean, r.placement.as_str()))
            .fold(
                (f64::NEG_INFINITY, ""),
                |a, b| if b.0 > a.0 { b } else { a },
            )
    }
}

/// One candidate's result. Under `robust` placement a candidate is evaluated under every
/// reading: it is feasible only if feasible under each, its metrics are its costliest
/// reading's, and its checks hold each objective's worst reading.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CandidateResult {
    /// The configuration.
    pub candidate: Candidate,
    /// Its label.
    pub label: String,
    /// Replications run (the fewest of its readings).
    pub replications: u64,
    /// Each reading simulated (one unless `robust`), with its cost.
    pub readings: Vec<ReadingResult>,
    /// The costliest reading (its metrics are the candidate's).
    pub worst_reading: String,
    /// The matrix row of the costliest reading.
    #[serde(skip)]
    pub variant: usize,
    /// How its retry policy is deployed, or `needs a code change: …` with each change
    /// ([`Candidate::code_changes`]).
    pub deployment: String,
    /// Whether spotplan can deploy all of it (no change to the user's code).
    pub deployable: bool,
    /// What it takes: applied by spotplan, a code change, or not deployable.
    #[serde(default)]
    pub takes: Takes,
    /// Mean cost per 30 days of the cheapest and the costliest reading, USD.
    pub cost_range_per_30d_usd: [f64; 2],
    /// Why racing stopped replicating it, if it did.
    pub eliminated: Option<String>,
    /// The objectives, at the scenario's confidence.
    pub checks: Vec<Check>,
    /// Deployments that break the guard against all on demand (at their worst reading);
    /// any makes the candidate infeasible.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deployment_guard: Vec<GuardMiss>,
    /// Deployments that miss their own objectives (`metric` names the objective, `increase`
    /// is its mean; at their worst reading); any makes the candidate infeasible.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deployment_objectives: Vec<GuardMiss>,
    /// Every objective met with that confidence (and not eliminated).
    pub feasible: bool,
    /// On the cost / reliability Pareto front.
    pub pareto: bool,
    /// Metrics over its replications.
    pub metrics: Metrics,
}

/// How much work the search did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// Racing was used.
    pub adaptive: bool,
    /// Racing rounds.
    pub rounds: Vec<Round>,
    /// Candidates dropped by racing.
    pub eliminated: Vec<Elimination>,
    /// Replications run (candidate × replication cells).
    pub cells_run: u64,
    /// Cells a full grid would run.
    pub cells_full: u64,
    /// 1 − run / full.
    pub saving: f64,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    /// The per-deployment search.
    pub deployments: super::deployments::DeploymentSearch,
}

/// The reliability measure the front uses: deadline misses when any flow has a deadline,
/// else the crashed-or-failed rate.
pub(crate) fn reliability_metric(s: &Scenario) -> &'static str {
    if s.flows.iter().any(|f| f.deadline.is_some()) {
        "deadline_miss_rate"
    } else {
        "crash_rate"
    }
}

/// A sweep's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepResult {
    /// Identification of the base scenario.
    pub meta: Meta,
    /// The reliability measure of the Pareto front: `deadline_miss_rate` or `crash_rate`.
    pub reliability: &'static str,
    /// Every candidate, in grid order.
    pub candidates: Vec<CandidateResult>,
    /// Indices on the Pareto front (cost per 30 days vs reliability, both minimised), by cost.
    pub pareto: Vec<usize>,
    /// Search figures.
    pub search: Search,
}

/// Indices of the points not dominated by another (both coordinates minimised), sorted by x
/// then y.
pub(crate) fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let mut front: Vec<usize> = (0..points.len())
        .filter(|&i| {
            let (xi, yi) = points[i];
            !points
                .iter()
                .enumerate()
                .any(|(j, &(xj, yj))| j != i && xj <= xi && yj <= yi && (xj < xi || yj < yi))
        })
        .collect();
    front.sort_by(|&a, &b| {
        points[a]
            .0
            .total_cmp(&points[b].0)
            .then(points[a].1.total_cmp(&points[b].1))
    });
    front
}

/// Keeps, for each deployment and metric, the miss with the highest upper bound.
fn worst_of_each(into: &mut Vec<GuardMiss>, from: Vec<GuardMiss>) {
    for g in from {
        match into
            .iter_mut()
            .find(|x| x.deployment == g.deployment && x.metric == g.metric)
        {
            Some(x) if x.upper < g.upper => *x = g,
            Some(_) => {}
            None => into.push(g),
        }
    }
}

/// What deploying a candidate takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Takes {
    /// `emit`/`plan`/`apply` deploy all of it.
    #[default]
    Applied,
    /// A change to the user's code (a checkpoint interval, a custom policy).
    CodeChange,
    /// Another worker kind than the scenario's.
    NotDeployable,
}

/// How a candidate spotplan can deploy is deployed: its retry policy's settings (each
/// distinct one, per deployment when they differ).
fn deployment_of(c: &Candidate) -> String {
    let n = c.deployment_retry.len().max(1);
    let mut hows: Vec<String> = Vec::new();
    for f in 0..n {
        let how = crate::sim::retry::deployment(c.retry_of(f))
            .unwrap_or("needs your own code")
            .to_string();
        let how = if c.deployment_retry.is_empty() {
            how
        } else {
            format!(
                "{}: {how}",
                crate::scenario::spec::retry_spec(c.retry_of(f))
            )
        };
        if !hows.contains(&how) {
            hows.push(how);
        }
    }
    hows.join("; ")
}

/// Builds the result from the matrix.
pub(crate) fn assemble(
    base: &Scenario,
    cands: &[Candidate],
    scens: &[Scenario],
    m: &Matrix,
    search: Search,
) -> SweepResult {
    let confidence = base.objectives.confidence;
    let reliability = reliability_metric(base);
    let mut out: Vec<CandidateResult> = cands
        .iter()
        .map(|c| {
            let eliminated = search
                .eliminated
                .iter()
                .find(|e| e.candidate == c.index)
                .map(|e| e.reason.clone());
            let mut readings = Vec::new();
            let mut per: Vec<(Metrics, Vec<Check>, usize)> = Vec::new();
            let mut guard: Vec<GuardMiss> = Vec::new();
            let mut own: Vec<GuardMiss> = Vec::new();
            for (&v, reading) in c.variants.iter().zip(&c.readings) {
                let reps = m.replications_of(v);
                let metrics = metrics_of(&scens[v], &reps);
                let cs = checks(&metrics, &base.objectives, confidence);
                let misses = base
                    .objectives
                    .deployment_guard
                    .map(|l| guard_misses(&scens[v], &reps, l, confidence))
                    .unwrap_or_default();
                let own_misses = deployment_objective_misses(&scens[v], &reps, confidence);
                readings.push(ReadingResult {
                    placement: reading.name().to_string(),
                    variant: v,
                    cost_per_30d_usd: metrics.cost_per_30d_usd,
                    spot_share: metrics.spot_share,
                    crash_rate: metrics.crash_rate,
                    deadline_miss_rate: metrics.deadline_miss_rate,
                    latency_p95_s: metrics.latency_p95_s,
                    concurrent_vcpu: metrics.concurrent_vcpu.clone(),
                    feasible: reps.len() >= 2
                        && cs.iter().all(Check::met)
                        && misses.is_empty()
                        && own_misses.is_empty(),
                });
                // the worst reading of each deployment and metric
                worst_of_each(&mut guard, misses);
                worst_of_each(&mut own, own_misses);
                per.push((metrics, cs, reps.len()));
            }
            let worst = (0..per.len())
                .max_by(|&a, &b| {
                    per[a]
                        .0
                        .cost_usd
                        .mean
                        .total_cmp(&per[b].0.cost_usd.mean)
                        .then(b.cmp(&a))
                })
                .unwrap_or(0);
            // each objective at its worst reading
            let mut cs = per[worst].1.clone();
            for (_, other, _) in &per {
                for (mine, theirs) in cs.iter_mut().zip(other) {
                    if theirs.upper > mine.upper {
                        *mine = theirs.clone();
                    }
                }
            }
            let n = per.iter().map(|p| p.2).min().unwrap_or(0);
            let feasible = n >= 2 && eliminated.is_none() && readings.iter().all(|r| r.feasible);
            let means: Vec<f64> = readings.iter().map(|r| r.cost_per_30d_usd.mean).collect();
            let range = [
                means.iter().copied().fold(f64::INFINITY, f64::min),
                means.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ];
            let changes = c.code_changes(base);
            let (deployment, takes) = match c.not_deployable(base) {
                Some(why) => (why, Takes::NotDeployable),
                None if changes.is_empty() => (deployment_of(c), Takes::Applied),
                None => (
                    format!("needs a code change: {}", changes.join("; ")),
                    Takes::CodeChange,
                ),
            };
            CandidateResult {
                deployment,
                deployable: takes == Takes::Applied,
                takes,
                candidate: c.clone(),
                label: c.label(),
                replications: n as u64,
                worst_reading: readings[worst].placement.clone(),
                variant: readings[worst].variant,
                readings,
                cost_range_per_30d_usd: range,
                eliminated,
                checks: cs,
                deployment_guard: guard,
                deployment_objectives: own,
                feasible,
                pareto: false,
                metrics: per.swap_remove(worst).0,
            }
        })
        .collect();
    let eligible: Vec<usize> = (0..out.len())
        .filter(|&i| out[i].replications >= 2)
        .collect();
    let points: Vec<(f64, f64)> = eligible
        .iter()
        .map(|&i| {
            let m = &out[i].metrics;
            let y = if reliability == "deadline_miss_rate" {
                m.deadline_miss_rate.mean
            } else {
                m.crash_rate.mean
            };
            (m.cost_per_30d_usd.mean, y)
        })
        .collect();
    let pareto: Vec<usize> = pareto_front(&points)
        .into_iter()
        .map(|k| eligible[k])
        .collect();
    for &i in &pareto {
        out[i].pareto = true;
    }
    SweepResult {
        meta: meta_of(base, m.replications),
        reliability,
        candidates: out,
        pareto,
        search,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_front_of_hand_made_points() {
        // (cost, misses)
        let pts = [
            (10.0, 0.05),
            (12.0, 0.01),
            (11.0, 0.06),
            (15.0, 0.0),
            (12.0, 0.02),
            (9.0, 0.2),
            (15.0, 0.0),
        ];
        // 2 is dominated by 0; 4 by 1; 6 ties 3 exactly (neither dominates: both kept)
        assert_eq!(pareto_front(&pts), vec![5, 0, 1, 3, 6]);
        assert_eq!(pareto_front(&[]), Vec::<usize>::new());
        assert_eq!(pareto_front(&[(1.0, 1.0)]), vec![0]);
    }
}
