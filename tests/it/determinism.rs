//! The same scenario and seed give byte-identical JSON whatever the thread count.

use spotplan::report;
use spotplan::sweep::{replicate, summarize};

use crate::common::*;
use spotplan::sim;

fn json_with_threads(path: &str, threads: usize, reps: u32) -> String {
    let src = std::fs::read_to_string(root().join(path)).unwrap();
    let mut s = scenario(&src);
    s.sim.horizon = spotplan::model::SimTime::DAY.plus(spotplan::model::SimTime::DAY);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let reps = pool.install(|| replicate(&s, reps, &|| {}));
    report::json(&summarize(&s, &reps))
}

#[test]
fn json_is_identical_for_one_and_many_threads() {
    for path in [
        "scenarios/prefect3-hourly-etl.toml",
        "scenarios/nightly-batch-deadline.toml",
    ] {
        let one = json_with_threads(path, 1, 40);
        let four = json_with_threads(path, 4, 40);
        let three = json_with_threads(path, 3, 40);
        assert_eq!(one, four, "{path}");
        assert_eq!(one, three, "{path}");
    }
}

#[test]
fn a_different_seed_gives_a_different_result() {
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml")).unwrap();
    let a = scenario(&src);
    let mut b = a.clone();
    b.sim.seed += 1;
    assert_ne!(outcomes(&a, 3), outcomes(&b, 3));
    assert_eq!(outcomes(&a, 3), outcomes(&a.clone(), 3));
}

#[test]
fn baseline_uses_common_random_numbers() {
    // the all-on-demand twin sees the same arrivals and work: same runs, same latency when
    // nothing is interrupted and placement does not matter
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml")).unwrap();
    let s = scenario(&src);
    let base = s.all_on_demand();
    for rep in 0..5 {
        let a = spotplan::sim::run(&s, rep, &mut spotplan::sim::NoObserver);
        let b = spotplan::sim::run(&base, rep, &mut spotplan::sim::NoObserver);
        assert_eq!(a.runs, b.runs);
        assert_eq!(
            b.interruptions + b.capacity_failures + b.billed_secs_spot,
            0
        );
    }
    // with no spot risk at all the two differ only in price
    let calm = src
        .replace(
            "interruption_rate = \"0.05/h\"",
            "interruption_rate = \"0/h\"",
        )
        .replace(
            "capacity = { unavailable = 0.02, mean_outage = \"20m\" }",
            "",
        )
        .replace("reclaim_waves = { per_day = 0.2, hit = 0.5 }", "");
    let s = scenario(&calm);
    let base = s.all_on_demand();
    for rep in 0..5 {
        let a = spotplan::sim::run(&s, rep, &mut spotplan::sim::NoObserver);
        let b = spotplan::sim::run(&base, rep, &mut spotplan::sim::NoObserver);
        assert_eq!(a.latency_mean_ms, b.latency_mean_ms);
        assert_eq!(
            a.billed_secs_fargate + a.billed_secs_spot,
            b.billed_secs_fargate
        );
        assert!(a.cost_usd < b.cost_usd);
    }
}

/// A deployment's draws are keyed by its name: adding a deployment at the top of the file
/// changes no other deployment's runs, crashes, deadline misses or bill, replication by
/// replication.
#[test]
fn adding_a_deployment_anywhere_changes_no_other_deployments_figures() {
    let six = spotplan::scenario::generate::platform(6, 3);
    let seven = spotplan::scenario::generate::platform(7, 3);
    // the seventh deployment moved to the top of the file
    let first = seven.find("\n[[flow]]").unwrap();
    let last = seven.rfind("\n[[flow]]").unwrap();
    let moved = format!(
        "{}{}{}",
        &seven[..first],
        &seven[last..],
        &seven[first..last]
    );
    let (a, b) = (scenario(&six), scenario(&moved));
    assert_eq!(b.flows[0].name, "deployment-006");
    assert_eq!(a.flows.len() + 1, b.flows.len());
    for rep in 0..5 {
        let (x, y) = (
            sim::run(&a, rep, &mut sim::NoObserver),
            sim::run(&b, rep, &mut sim::NoObserver),
        );
        assert!(x.runs > 0);
        for (f, fx) in x.flows.iter().enumerate() {
            assert_eq!(
                serde_json::to_string(fx).unwrap(),
                serde_json::to_string(&y.flows[f + 1]).unwrap(),
                "replication {rep}, {}",
                a.flows[f].name
            );
        }
    }
}
