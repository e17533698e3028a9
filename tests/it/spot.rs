//! Spot capacity outages, reclaim waves, trace replay, and the schedule/duration inputs that
//! come from files.

use spotplan::model::Provider;
use spotplan::sim::{Detail, EventKind};

use crate::common::*;

fn spot_src(spot: &str, retry: &str, flow: &str, horizon: &str) -> String {
    world(
        &format!("horizon = \"{horizon}\""),
        "0s",
        SPOT_ONLY,
        &format!(
            r#"
[spot]
{spot}
[retry]
{retry}
"#
        ),
        flow,
    )
}

#[test]
fn capacity_is_unavailable_for_the_stated_fraction_of_time() {
    // RunTask at Poisson times sees the alternating process in its stationary state (PASTA)
    let src = spot_src(
        "capacity = { unavailable = 0.3, mean_outage = \"10m\" }",
        "policy = \"prefect3\"\nruntask_attempts = 1",
        "schedule = { poisson = \"30/h\" }\nduration = \"1m\"",
        "10d",
    );
    let outs = outcomes(&scenario(&src), 20);
    let runs: u64 = outs.iter().map(|o| o.runs).sum();
    let fails: u64 = outs.iter().map(|o| o.capacity_failures).sum();
    let p = fails as f64 / runs as f64;
    // outages are correlated in time; 20 replications × 240 h / (mean cycle 33 min) ≈ 8700
    // cycles, so the fraction's standard error is about 0.005
    assert!((p - 0.3).abs() < 0.02, "capacity failure fraction {p}");
    assert!((runs as f64 - 20.0 * 240.0 * 30.0).abs() < 4.0 * (20.0f64 * 240.0 * 30.0).sqrt());
}

#[test]
fn reclaim_waves_interrupt_running_spot_tasks_together() {
    let src = spot_src(
        "reclaim_waves = { per_day = 24, hit = 1.0 }",
        "policy = \"prefect3\"",
        "schedule = { every = \"5m\" }\nduration = \"30m\"\nstartup = { provisioning = \"0s\", image_pull = \"0s\" }",
        "2d",
    );
    let (o, events) = trace(&scenario(&src), 0);
    assert!(o.interruptions > 20);
    let times: Vec<u64> = events
        .iter()
        .filter(|e| e.kind == EventKind::Interrupted)
        .map(|e| e.t_ms)
        .collect();
    let mut distinct = times.clone();
    distinct.dedup();
    // with hit = 1 every running task goes in the same wave: ~6 tasks per wave
    assert!(
        times.len() >= 3 * distinct.len(),
        "{} interruptions in {} waves",
        times.len(),
        distinct.len()
    );
    let half = spot_src(
        "reclaim_waves = { per_day = 24, hit = 0.5 }",
        "policy = \"prefect3\"",
        "schedule = { every = \"5m\" }\nduration = \"30m\"\nstartup = { provisioning = \"0s\", image_pull = \"0s\" }",
        "2d",
    );
    let all: u64 = outcomes(&scenario(&src), 20)
        .iter()
        .map(|o| o.interruptions)
        .sum();
    let some: u64 = outcomes(&scenario(&half), 20)
        .iter()
        .map(|o| o.interruptions)
        .sum();
    assert!(
        some < all * 3 / 4 && some > all / 4,
        "hit 0.5: {some} vs hit 1: {all}"
    );
}

#[test]
fn trace_replay_preempts_at_rising_edges_and_blocks_placement() {
    // fixtures/preemption-trace.json: 10-minute slots, 0 0 0 1 1 0 0 0 0 0 0 0 (2 h cycle)
    let src = spot_src(
        "trace = \"preemption-trace.json\"",
        "policy = \"prefect3\"\nruntask_attempts = 1",
        "schedule = { every = \"1m\" }\nduration = \"5m\"\nstartup = { provisioning = \"0s\", image_pull = \"0s\" }",
        "1d",
    );
    let s = scenario(&src);
    for rep in 0..5 {
        let (o, events) = trace(&s, rep);
        let ints: Vec<u64> = events
            .iter()
            .filter(|e| e.kind == EventKind::Interrupted)
            .map(|e| e.t_ms)
            .collect();
        assert!(!ints.is_empty());
        // all interruptions fall on slot boundaries, 2 h apart
        for w in ints.windows(2) {
            assert!(
                w[1] == w[0] || (w[1] - w[0]) % 7_200_000 == 0,
                "{} {}",
                w[0],
                w[1]
            );
        }
        assert!(ints.iter().all(|t| t % 600_000 == 0));
        // RunTask fails for the 20 preempted minutes of every 2 h: 1/6 of the calls
        let p = o.capacity_failures as f64 / o.runs as f64;
        assert!((p - 1.0 / 6.0).abs() < 0.02, "{p}");
    }
}

#[test]
fn csv_schedules_accept_offsets_seconds_and_instants() {
    let src = spot_src(
        "",
        "policy = \"prefect3\"",
        "schedule = { csv = \"start-times.csv\" }\nduration = \"1m\"",
        "1d",
    );
    let (o, events) = trace(&scenario(&src), 0);
    assert_eq!(o.runs, 5);
    let times: Vec<u64> = events
        .iter()
        .filter(|e| e.kind == EventKind::Scheduled)
        .map(|e| e.t_ms)
        .collect();
    assert_eq!(times, vec![0, 90_000, 3_600_000, 10_800_000, 10_800_000]);
}

#[test]
fn empirical_durations_resample_the_file() {
    let src = spot_src(
        "",
        "policy = \"prefect3\"",
        "schedule = { every = \"10m\" }\nduration = { empirical = \"durations.csv\" }",
        "7d",
    );
    let (_, events) = trace(&scenario(&src), 0);
    let works: Vec<u64> = events
        .iter()
        .filter_map(|e| match e.detail {
            Detail::Work { work_ms } => Some(work_ms),
            _ => None,
        })
        .collect();
    assert!(works.iter().all(|w| [60_000, 120_000, 180_000].contains(w)));
    for v in [60_000, 120_000, 180_000] {
        let share = works.iter().filter(|&&w| w == v).count() as f64 / works.len() as f64;
        assert!((share - 1.0 / 3.0).abs() < 0.05, "{v}: {share}");
    }
}

#[test]
fn duration_distributions_have_their_stated_moments() {
    use spotplan::model::{Dist, SimTime};
    let mut rng =
        spotplan::sim::rng::Stream::new(1, 0, spotplan::sim::rng::Purpose::Durations).rng(0, 0);
    let n = 200_000;
    let draw = |d: &Dist, rng: &mut rand_xoshiro::SplitMix64| -> Vec<f64> {
        (0..n).map(|_| d.sample(rng).0 as f64).collect()
    };
    let ln = Dist::lognormal(SimTime::from_secs(720), SimTime::from_secs(2400));
    let mut v = draw(&ln, &mut rng);
    v.sort_by(f64::total_cmp);
    assert!(
        (v[n / 2] / 720_000.0 - 1.0).abs() < 0.02,
        "median {}",
        v[n / 2]
    );
    assert!(
        (v[n * 95 / 100] / 2_400_000.0 - 1.0).abs() < 0.03,
        "p95 {}",
        v[n * 95 / 100]
    );
    let g = Dist::Gamma {
        shape: 2.0,
        scale_ms: 180_000.0,
    };
    let (m, _) = mean_se(&draw(&g, &mut rng));
    assert!((m / 360_000.0 - 1.0).abs() < 0.01, "gamma mean {m}");
    let e = Dist::Exponential { mean_ms: 90_000.0 };
    let (m, _) = mean_se(&draw(&e, &mut rng));
    assert!((m / 90_000.0 - 1.0).abs() < 0.01, "exp mean {m}");
    let u = Dist::Uniform(SimTime::from_secs(30), SimTime::from_secs(240));
    let v = draw(&u, &mut rng);
    assert!(v.iter().all(|&x| (30_000.0..=240_000.0).contains(&x)));
    let _ = Provider::ALL;
}
