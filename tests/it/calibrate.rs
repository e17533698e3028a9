//! Calibration: every input format on real-shaped fixtures, line-numbered errors, recovery of
//! known parameters from simulated histories (with interval coverage over many seeds), and a
//! calibrated scenario that `simulate` runs as is.

use std::io::BufReader;

use spotplan::calibrate::estimate::{Accum, RateEstimate};
use spotplan::calibrate::fit::{DurationFit, ScheduleEstimate, durations, schedule};
use spotplan::calibrate::records::{read_ecs, read_prefect};
use spotplan::calibrate::write::calibration;

use crate::common::*;

fn accum_of(files: &[&str]) -> Accum {
    let mut a = Accum::default();
    for f in files {
        let p = root().join("fixtures/calibrate").join(f);
        let mut r = BufReader::new(std::fs::File::open(&p).unwrap());
        if f.starts_with("prefect") {
            read_prefect(&mut r, f, &mut |x| a.add_run(x)).unwrap();
        } else {
            read_ecs(&mut r, f, &mut |x| a.add(x)).unwrap();
        }
    }
    a
}

#[test]
fn every_ecs_format_reads_the_same_tasks() {
    // hand-computed: spot exposure 1225 + 2400 + 3600 + 25 s (the running task counted to the
    // export's end, 14:00:45), two interruptions (SpotInterruption and TerminationNotice)
    for f in ["describe-tasks.json", "eventbridge.jsonl", "tasks.csv"] {
        let a = accum_of(&[f]);
        assert!(
            (a.spot_hours - 7250.0 / 3600.0).abs() < 1e-9,
            "{f}: {}",
            a.spot_hours
        );
        assert_eq!(
            (a.interruptions, a.spot_tasks, a.od_tasks, a.censored),
            (2, 4, 1, 1),
            "{f}"
        );
        let g = &a.groups["etl-nightly"];
        assert_eq!(
            (g.cpu(), g.memory(), g.work_n()),
            (Some(1024), Some(2048), 1),
            "{f}"
        );
        assert_eq!(a.groups["report"].work_n(), 1);
        let r = RateEstimate::of(a.interruptions, a.spot_hours);
        assert!((r.rate - 2.0 / (7250.0 / 3600.0)).abs() < 1e-9);
        assert_eq!(
            a.region(),
            Some("eu-west-1"),
            "{f}: the region comes from the ARNs"
        );
    }
    assert_eq!(accum_of(&["describe-tasks.json"]).capacity_failures, 1);
    assert_eq!(accum_of(&["eventbridge.jsonl"]).capacity_failures, 1);
    let log = accum_of(&["worker.log"]);
    assert_eq!((log.capacity_failures, log.records), (2, 2));
    let runs = accum_of(&["prefect-runs.json"]);
    assert_eq!(runs.prefect["etl-nightly"], (2, 1));
    assert_eq!(accum_of(&["prefect-runs.csv"]).prefect, runs.prefect);
}

#[test]
fn malformed_records_give_line_numbered_errors() {
    let read = |f: &str| {
        let p = root().join("fixtures/calibrate").join(f);
        let mut r = BufReader::new(std::fs::File::open(&p).unwrap());
        read_ecs(&mut r, f, &mut |_| {}).unwrap_err().to_string()
    };
    let e = read("bad-line3.jsonl");
    assert!(e.starts_with("bad-line3.jsonl:3: not valid JSON: "), "{e}");
    assert_eq!(
        read("bad-time.csv"),
        "bad-time.csv:4: `yesterday` is not a time in column `stoppedAt`"
    );
    let mut r = BufReader::new("{\"tasks_missing\": []}\n".as_bytes());
    let e = read_ecs(&mut r, "x.json", &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("x.json:1: a JSON line that is neither an ECS task state change event"),
        "{e}"
    );
}

/// Simulates replication 0 of `s`, exports it as EventBridge JSON lines and reads that back:
/// the accumulated records and the export's text.
fn simulated_history(s: &spotplan::scenario::Scenario, name: &str) -> (Accum, String) {
    let (_, events) = trace(s, 0);
    let mut buf = Vec::new();
    spotplan::report::export::write_ecs_events(&mut buf, s, &events).unwrap();
    let mut a = Accum::default();
    read_ecs(&mut BufReader::new(buf.as_slice()), name, &mut |x| a.add(x)).unwrap();
    (a, String::from_utf8(buf).unwrap())
}

/// One daily-ish spot-only workload with a known interruption rate; the history of one
/// replication exported as EventBridge events.
fn history(rate: f64, seed: u64, days: u32) -> (Accum, String) {
    let src = world(
        &format!("horizon = \"{days}d\"\nseed = {seed}\nplacement = \"per-call\""),
        "10s",
        SPOT_ONLY,
        &format!(
            "[spot]\ninterruption_rate = \"{rate}/h\"\n[retry]\npolicy = \"prefect3-reschedule\""
        ),
        "schedule = { every = \"1h\" }\nduration = { lognormal = { median = \"20m\", p95 = \"50m\" } }\nstartup = { provisioning = \"20s\", image_pull = { uniform = [\"10s\", \"30s\"] } }",
    );
    simulated_history(&scenario(&src), "sim.jsonl")
}

#[test]
fn calibrate_recovers_the_simulated_rate_with_95_percent_coverage() {
    let truth = 0.3;
    let mut covered = 0;
    let n = 60;
    for seed in 0..n {
        let (a, _) = history(truth, seed, 10);
        let r = RateEstimate::of(a.interruptions, a.spot_hours);
        if r.low <= truth && truth <= r.high {
            covered += 1;
        }
    }
    // 95% nominal: fewer than 52 of 60 has probability < 0.5%
    assert!(covered >= 52, "covered {covered} of {n}");
}

#[test]
fn calibrate_recovers_workload_and_writes_a_runnable_scenario() {
    let (a, _) = history(0.05, 3, 30);
    let g = &a.groups["job"];
    match schedule(g.starts()) {
        ScheduleEstimate::Every { interval_s, .. } => assert!((interval_s - 3600.0).abs() < 1.0),
        other => panic!("{other:?}"),
    }
    match durations(g) {
        DurationFit::Lognormal {
            median_s, p95_s, ..
        } => {
            assert!((median_s / 1200.0 - 1.0).abs() < 0.1, "median {median_s}");
            assert!((p95_s / 3000.0 - 1.0).abs() < 0.15, "p95 {p95_s}");
        }
        other => panic!("expected lognormal: {other:?}"),
    }
    let c = calibration(&a, &["sim.jsonl".into()], "us-east-1", None);
    let s = scenario(&c.scenario);
    assert_eq!(s.flows.len(), 1);
    assert_eq!(s.flows[0].name, "job");
    let o = outcomes(&s, 2);
    assert!(o.iter().all(|o| o.completed > 0));
    assert!(
        c.scenario.contains("ci95 = [\""),
        "the rate carries its interval: {}",
        c.scenario
    );
    // the interruption rate's interval as data, for `recommend`'s how-sure ends
    let r = RateEstimate::of(a.interruptions, a.spot_hours);
    let ci = s.spot.rate_ci95.expect("the interval as data");
    assert!(
        (ci[0] - r.low).abs() < 1e-6 && (ci[1] - r.high).abs() < 1e-6,
        "{ci:?} {r:?}"
    );
    assert!(ci[0] <= s.spot.rate.per_hour && s.spot.rate.per_hour <= ci[1]);
}

#[test]
fn too_little_data_falls_back_to_the_prior_and_says_so() {
    let a = accum_of(&["tasks.csv"]);
    let c = calibration(&a, &["tasks.csv".into()], "eu-west-1", None);
    // a long comment moves above its value (100 columns), the TOML unchanged
    assert!(
        c.scenario
            .contains("# too little data: 2 interruptions in 2.0 spot task-hours"),
        "{}",
        c.scenario
    );
    assert!(
        c.scenario.contains("\ninterruption_rate = \"0.05/h\"\n"),
        "{}",
        c.scenario
    );
    assert!(
        c.scenario
            .contains("duration = \"10m\"   # too few completed tasks (1 < 5); the prior is 10m")
    );
    let s = load(
        &c.scenario
            .replace("region = \"eu-west-1\"", "region = \"us-east-1\""),
    )
    .unwrap();
    assert_eq!(s.flows.len(), 2);
}

#[test]
fn the_command_writes_a_scenario_that_simulate_runs() {
    let dir = std::env::temp_dir().join(format!("spotplan-cal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_, text) = history(0.1, 5, 20);
    let ev = dir.join("events.jsonl");
    std::fs::write(&ev, text).unwrap();
    let out = dir.join("calibrated.toml");
    let bin = env!("CARGO_BIN_EXE_spotplan");
    let o = std::process::Command::new(bin)
        .args([
            "calibrate",
            "--ecs-events",
            ev.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.starts_with("estimate "));
    assert!(table.contains("spot interruption rate"));
    let o = std::process::Command::new(bin)
        .args([
            "simulate",
            out.to_str().unwrap(),
            "-n",
            "3",
            "--horizon",
            "2d",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn partial_records_are_refused_with_their_line() {
    let csv = "capacityProviderName,cpu,memory,createdAt,stoppedAt,group\nFARGATE_SPOT,1024,2048,2026-11-02T10:00:00Z,2026-11-02T10:10:00Z,family:a\nFARGATE_SPOT,1024,2048,,2026-11-02T11:10:00Z,family:a\n";
    let e = read_ecs(
        &mut BufReader::new(csv.as_bytes()),
        "partial.csv",
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "partial.csv:3: a task without `createdAt`");
    let ev = "{\"detail-type\":\"ECS Task State Change\",\"detail\":{\"taskArn\":\"x\",\"createdAt\":\"2026-11-02T10:00:00Z\"}}\n";
    let e = read_ecs(
        &mut BufReader::new(ev.as_bytes()),
        "partial.jsonl",
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "partial.jsonl:1: an ECS task state change without `lastStatus`"
    );
    let runs = "deployment,start_time\netl,2026-11-02T10:00:00Z\n";
    let e = read_prefect(
        &mut BufReader::new(runs.as_bytes()),
        "runs.csv",
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "runs.csv:1: Prefect runs CSV needs `deployment` and `expected_start_time` columns"
    );
}

/// A busy spot-only workload (a run every 5 minutes, 40 minutes of work) with extra `spot`
/// lines, exported and read back.
fn busy_history(spot: &str, days: u32) -> Accum {
    busy_history_seeded(spot, days, 42)
}

fn busy_history_seeded(spot: &str, days: u32, seed: u64) -> Accum {
    let src = world(
        &format!("horizon = \"{days}d\"\nplacement = \"per-call\"\nseed = {seed}"),
        "0s",
        SPOT_ONLY,
        &format!("[spot]\n{spot}\n[retry]\npolicy = \"prefect3\""),
        "schedule = { every = \"5m\" }\nduration = \"40m\"\nstartup = { provisioning = \"0s\", image_pull = \"0s\" }",
    );
    simulated_history(&scenario(&src), "busy.jsonl").0
}

#[test]
fn hour_of_day_variation_is_found_when_it_is_there() {
    // interruptions only in the UTC afternoon
    let m = (0..24)
        .map(|h| if h >= 12 { "2" } else { "0" })
        .collect::<Vec<_>>()
        .join(", ");
    let a = busy_history(
        &format!("interruption_rate = \"0.1/h\"\nhourly_multipliers = [{m}]"),
        10,
    );
    let (mult, chi2) = spotplan::calibrate::fit::hourly(&a);
    let mult = mult.unwrap_or_else(|| panic!("no variation found (χ² {chi2})"));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mult[..12].iter().all(|x| *x < 0.01),
        "no morning interruptions: {mult:?}"
    );
    assert!(
        (mean(&mult[12..]) - 2.0).abs() < 0.4,
        "afternoon twice the mean: {mult:?}"
    );
    // and a constant rate is not mistaken for variation
    let flat = busy_history("interruption_rate = \"0.1/h\"", 10);
    assert!(spotplan::calibrate::fit::hourly(&flat).0.is_none());
}

#[test]
fn reclaim_waves_are_found_and_kept_out_of_the_poisson_rate() {
    // 4 waves a day, each hitting every running task (~8), over 10 days: the wave-rate
    // interval covers 4/day for (almost) every seed, and the hit share is near 1
    let mut covered = 0;
    for seed in 0..20 {
        let a = busy_history_seeded(
            "interruption_rate = \"0.01/h\"\nreclaim_waves = { per_day = 4, hit = 1.0 }",
            10,
            seed,
        );
        let w = spotplan::calibrate::fit::waves(&a);
        if w.per_day.low <= 4.0 && 4.0 <= w.per_day.high {
            covered += 1;
        }
        assert!(w.hit > 0.6, "{w:?}");
        if seed == 0 {
            let background = RateEstimate::of(a.interruptions - w.in_waves, a.spot_hours);
            assert!(
                background.low <= 0.01 && 0.01 <= background.high,
                "{background:?}"
            );
        }
    }
    assert!(covered >= 16, "covered {covered} of 20");
}

#[test]
fn work_that_no_distribution_fits_is_resampled_from_a_file() {
    let src = world(
        "horizon = \"20d\"",
        "0s",
        r#"[{ provider = "FARGATE", weight = 1 }]"#,
        "",
        "schedule = { every = \"2h\" }\nduration = { empirical = \"bimodal-durations.csv\" }",
    );
    let s = scenario(&src);
    let (a, _) = simulated_history(&s, "bimodal.jsonl");
    assert!(matches!(
        durations(&a.groups["job"]),
        DurationFit::Empirical { .. }
    ));
    let c = calibration(&a, &["bimodal.jsonl".into()], "us-east-1", Some("cal"));
    assert_eq!(c.files.len(), 1);
    let (name, body) = &c.files[0];
    assert_eq!(name, "cal-job-durations.csv");
    assert!(c.scenario.contains("# neither lognormal nor gamma fits"));
    assert!(
        c.scenario
            .contains("\nduration = { empirical = \"cal-job-durations.csv\" }\n")
    );
    // the written sample loads as the scenario's duration distribution
    let dir = std::env::temp_dir().join(format!("spotplan-emp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), body).unwrap();
    let d2 = dir.clone();
    let loader = move |n: &str| std::fs::read_to_string(d2.join(n)).map_err(|e| e.to_string());
    let cal = spotplan::scenario::load(&c.scenario, "cal.toml", &loader).unwrap();
    assert!(matches!(
        cal.flows[0].duration,
        spotplan::model::Dist::Empirical(_)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
