//! The rate bound that decides feasibility covers the truth: on a platform whose crashes
//! cluster in reclaim waves (many runs of a replication crash together, so runs are far from
//! independent), the one-sided 95% upper bound of the crashed rate, computed as `recommend`
//! computes it from a small sample, is at or above the long-run rate in at least 95% of
//! disjoint samples.

use spotplan::sim::{self, NoObserver};
use spotplan::sweep::{Replication, metrics_of};

use crate::common::scenario;

const WAVES: &str = r#"name = "waves"
region = "us-east-1"
[simulation]
horizon = "1d"
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
count = 0
strategy = [{ provider = "FARGATE_SPOT", weight = 1 }]
[network]
egress = "vpc-endpoints"
[spot]
interruption_rate = "0.01/h"
reclaim_waves = { per_day = 1, hit = 0.9 }
[retry]
policy = "prefect3"
[[flow]]
name = "etl"
schedule = { every = "2m" }
duration = "30m"
"#;

fn reps(s: &spotplan::scenario::Scenario, from: u64, n: u64) -> Vec<Replication> {
    (from..from + n)
        .map(|r| Replication {
            outcome: sim::run(s, r, &mut NoObserver),
            baseline_cost_usd: 0.0,
            baseline_without_plan_usd: 0.0,
            baseline_flows: Vec::new(),
        })
        .collect()
}

#[test]
fn the_crash_rate_bound_covers_the_long_run_rate_when_crashes_come_in_waves() {
    let s = scenario(WAVES);
    // the long-run rate: 2,000 replications (1.44 M runs, about 15 running at any time) apart
    // from the samples below
    let long = reps(&s, 100_000, 2_000);
    let (bad, runs) = long.iter().fold((0u64, 0u64), |(b, n), r| {
        (b + r.outcome.crashed + r.outcome.failed, n + r.outcome.runs)
    });
    let truth = bad as f64 / runs as f64;
    // crashes cluster: a replication's rate varies far more than independent runs would
    let m = metrics_of(&s, &long);
    let binomial_sd = (truth * (1.0 - truth) / (runs as f64 / long.len() as f64)).sqrt();
    assert!(
        m.crash_rate.sd > 2.0 * binomial_sd,
        "waves should cluster crashes: sd {} vs binomial {binomial_sd}",
        m.crash_rate.sd
    );
    assert!(truth > 0.001 && truth < 0.2, "{truth}");
    // 300 disjoint samples of 10 replications, bounded as feasibility bounds them
    let samples = 300;
    let covered = (0..samples)
        .filter(|k| {
            let sample = reps(&s, k * 10, 10);
            let m = metrics_of(&s, &sample);
            spotplan::stats::rate_upper(&m.crash_rate, m.runs_pooled, 0.95) >= truth
        })
        .count();
    let coverage = covered as f64 / samples as f64;
    assert!(
        coverage >= 0.95,
        "the 95% upper bound covered the long-run rate {truth:.5} in {covered} of {samples} samples"
    );
}
