//! Each placement model's split of single-task RunTask calls.

use spotplan::model::Provider;
use spotplan::sim::EventKind;

use crate::common::*;

fn placed(placement: &str, strategy: &str, runs_per_day: u32) -> (u64, u64) {
    let src = world(
        &format!("horizon = \"10d\"\nplacement = \"{placement}\""),
        "0s",
        strategy,
        "",
        &format!(
            "schedule = {{ every = \"{}ms\" }}\nduration = \"1m\"",
            86_400_000 / runs_per_day
        ),
    );
    let (_, events) = trace(&scenario(&src), 0);
    let count = |p| {
        events
            .iter()
            .filter(|e| e.kind == EventKind::Placed && e.provider == Some(p))
            .count() as u64
    };
    (count(Provider::FargateSpot), count(Provider::Fargate))
}

const ARTICLE: &str = r#"[{ provider = "FARGATE_SPOT", weight = 3 }, { provider = "FARGATE", weight = 2, base = 1 }]"#;
const NO_BASE: &str =
    r#"[{ provider = "FARGATE_SPOT", weight = 3 }, { provider = "FARGATE", weight = 2 }]"#;

#[test]
fn per_call_with_a_base_on_fargate_places_nothing_on_spot() {
    assert_eq!(placed("per-call", ARTICLE, 100), (0, 1000));
}

#[test]
fn per_call_without_base_goes_where_the_weights_round() {
    assert_eq!(placed("per-call", NO_BASE, 100), (1000, 0));
}

#[test]
fn proportional_splits_exactly_by_weight() {
    // runs do not overlap (1 min work, 14.4 min apart): the base of 1 in flight is met by
    // FARGATE for each task, then weights apply; with no base: exactly 3:2
    assert_eq!(placed("proportional", NO_BASE, 100), (600, 400));
}

#[test]
fn proportional_counts_the_base_in_flight() {
    // one run at a time, so the base of 1 on FARGATE is never met: every task goes to FARGATE
    assert_eq!(placed("proportional", ARTICLE, 100), (0, 1000));
}

#[test]
fn weighted_random_is_within_statistical_bounds() {
    let (spot, od) = placed("weighted-random", NO_BASE, 1000);
    let n = (spot + od) as f64;
    assert_eq!(n, 10_000.0);
    let p = spot as f64 / n;
    let sd = (0.6 * 0.4 / n).sqrt();
    assert!(
        (p - 0.6).abs() < 4.0 * sd,
        "spot fraction {p} vs 0.6 ± {}",
        4.0 * sd
    );
}

#[test]
fn a_launch_type_ignores_the_cluster_default_strategy() {
    let src = base(
        r#"
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
strategy = [{ provider = "FARGATE_SPOT", weight = 1 }]
[worker]
kind = "prefect3-ecs-worker"
count = 0
"#,
        "schedule = { every = \"1h\" }\nduration = \"5m\"",
    );
    let s = scenario(&src);
    let o = &outcomes(&s, 1)[0];
    assert_eq!(o.billed_secs_spot, 0);
    assert!(o.billed_secs_fargate > 0);
    let runtask = src.replace("kind = \"prefect3-ecs-worker\"", "kind = \"runtask\"");
    let o = &outcomes(&scenario(&runtask), 1)[0];
    assert_eq!(o.billed_secs_fargate, 0);
    assert!(o.billed_secs_spot > 0);
}

/// What a reading does with a RunTask retried after a capacity failure, stated per reading
/// (no source says, domain §1.4): at 1 : 1 without a base, `proportional` counts the failed
/// call in its split, so the retry takes the next turn (FARGATE); `proportional-hold` gives the
/// turn back, so the retry goes to FARGATE_SPOT again; `per-call` sends every call where the
/// weights round. Runs 6 h apart, so no other run's call comes between a failure and its retry.
#[test]
fn a_retried_runtask_follows_each_readings_stated_rule() {
    let next_after_failure = |placement: &str| {
        let src = world(
            &format!("horizon = \"30d\"\nplacement = \"{placement}\""),
            "0s",
            r#"[{ provider = "FARGATE_SPOT", weight = 1 }, { provider = "FARGATE", weight = 1 }]"#,
            "[spot]\ncapacity = { unavailable = 0.5, mean_outage = \"12h\" }\n",
            "schedule = { every = \"6h\" }\nduration = \"1m\"",
        );
        let (_, events) = trace(&scenario(&src), 0);
        let mut next = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if e.kind != EventKind::CapacityFailure {
                continue;
            }
            if let Some(n) = events[i + 1..]
                .iter()
                .find(|n| n.kind == EventKind::RunTask && n.run == e.run && n.flow == e.flow)
            {
                next.push(n.provider.unwrap());
            }
        }
        next
    };
    let adv = next_after_failure("proportional");
    let hold = next_after_failure("proportional-hold");
    assert!(adv.len() >= 5 && hold.len() >= 5, "{adv:?} {hold:?}");
    assert!(adv.iter().all(|p| *p == Provider::Fargate), "{adv:?}");
    assert!(hold.iter().all(|p| *p == Provider::FargateSpot), "{hold:?}");
    // the tie's two roundings: the earlier item (spot here) or the later one (FARGATE)
    assert!(
        next_after_failure("per-call")
            .iter()
            .all(|p| *p == Provider::FargateSpot)
    );
    assert!(next_after_failure("per-call-tie-later").is_empty());
}
