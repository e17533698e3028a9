//! A sweep's result: every candidate's metrics and checks, the Pareto front, search figures.

use serde::{Deserialize, Serialize};

use super::candidate::Candidate;
use super::objective::{Check, checks};
use super::replicate::{Meta, Metrics, meta_of, metrics_of};
use super::run::{Elimination, Matrix, Round};
use crate::scenario::Scenario;

/// One candidate's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CandidateResult {
    /// The configuration.
    pub candidate: Candidate,
    /// Its label.
    pub label: String,
    /// Replications run.
    pub replications: u64,
    /// Why racing stopped replicating it, if it did.
    pub eliminated: Option<String>,
    /// The objectives, at the scenario's confidence.
    pub checks: Vec<Check>,
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
}

/// The reliability measure the front uses: deadline misses when any flow has a deadline,
/// else the crashed-or-failed rate.
pub fn reliability_metric(s: &Scenario) -> &'static str {
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
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
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

/// Builds the result from the matrix.
pub fn assemble(
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
        .zip(scens)
        .map(|(c, s)| {
            let reps = m.replications_of(c.index);
            let metrics = metrics_of(s, &reps);
            let eliminated = search
                .eliminated
                .iter()
                .find(|e| e.candidate == c.index)
                .map(|e| e.reason.clone());
            let cs = checks(&metrics, &base.objectives, confidence);
            let feasible = reps.len() >= 2 && eliminated.is_none() && cs.iter().all(Check::met);
            CandidateResult {
                candidate: c.clone(),
                label: c.label(),
                replications: reps.len() as u64,
                eliminated,
                checks: cs,
                feasible,
                pareto: false,
                metrics,
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
