//! The deadline rules compared on the two committed regimes (`scenarios/deadlines/`): all on
//! demand, the greedy safety net, spotplan's earlier `catch-up` reading and Uniform Progress as
//! "Can't Be Late" (NSDI'24) publishes it, on the same random numbers (the rule changes no
//! draw), over 120 start offsets each. One parameter set, fixed in the files before the
//! comparison: probe every worker poll (10 s), d = 3 min 15 s, the work's 95% quantile as C.
//! `cargo test --release --test it deadline_rules -- --nocapture` prints the table.

use spotplan::scenario::Scenario;
use spotplan::scenario::retry::parse_spec as parse_retry_spec;
use spotplan::sim::RunOutcome;

use crate::common::*;

fn regime(name: &str) -> Scenario {
    let p = root().join("scenarios/deadlines").join(name);
    let src = std::fs::read_to_string(&p).unwrap();
    let loader = |n: &str| Err(format!("no file {n}"));
    spotplan::scenario::load(&src, &p.display().to_string(), &loader).unwrap()
}

/// Every replication of `s` with its deadline rule replaced by `rule` (`None`: all on demand).
fn under(s: &Scenario, rule: Option<&str>) -> Vec<RunOutcome> {
    let v = match rule {
        None => s.all_on_demand(),
        Some(r) => {
            let mut v = s.clone();
            v.retry = parse_retry_spec(&format!(
                "custom[max_attempts=1000,delay=1m,deadline_aware={r}]"
            ))
            .unwrap();
            v
        }
    };
    outcomes(&v, s.sim.replications as u64)
}

struct Row {
    cost: f64,
    misses: u64,
    runs: u64,
    spot: f64,
    rules: spotplan::sim::RuleCounts,
}

fn row(v: &[RunOutcome], horizon_days: f64) -> Row {
    let mut rules = spotplan::sim::RuleCounts::default();
    for o in v {
        let r = &o.deadline_rules;
        rules.safety_net += r.safety_net;
        rules.taking_risks += r.taking_risks;
        rules.uniform_progress += r.uniform_progress;
        rules.hysteresis += r.hysteresis;
        rules.waits += r.waits;
    }
    let secs = |f: &dyn Fn(&RunOutcome) -> u64| v.iter().map(f).sum::<u64>() as f64;
    Row {
        cost: v.iter().map(|o| o.cost_usd).sum::<f64>() / v.len() as f64 * 30.0 / horizon_days,
        misses: v.iter().map(|o| o.deadline_misses).sum(),
        runs: v.iter().map(|o| o.deadline_runs).sum(),
        spot: secs(&|o| o.billed_secs_spot) / secs(&|o| o.billed_secs_spot + o.billed_secs_fargate),
        rules,
    }
}

/// The table of one regime: (rule, its row), all on demand first.
fn compare(name: &str) -> Vec<(&'static str, Row)> {
    compare_scenario(name, &regime(name))
}

fn compare_scenario(name: &str, s: &Scenario) -> Vec<(&'static str, Row)> {
    let s = s.clone();
    let days = s.sim.horizon.0 as f64 / 86_400_000.0;
    let rows: Vec<(&'static str, Row)> = [
        ("all on demand", None),
        ("safety net (greedy)", Some("safety-net")),
        ("catch-up (earlier)", Some("catch-up")),
        ("uniform progress", Some("uniform-progress")),
    ]
    .into_iter()
    .map(|(label, r)| (label, row(&under(&s, r), days)))
    .collect();
    println!("{name}: {}", s.name);
    println!(
        "  {:<20} {:>14} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "rule", "USD per 30d", "missed", "spot", "safety", "risks", "UP", "hyst", "waits"
    );
    for (label, r) in &rows {
        println!(
            "  {:<20} {:>14.2} {:>5}/{:<3} {:>6.1}% {:>7} {:>7} {:>7} {:>7} {:>7}",
            label,
            r.cost,
            r.misses,
            r.runs,
            100.0 * r.spot,
            r.rules.safety_net,
            r.rules.taking_risks,
            r.rules.uniform_progress,
            r.rules.hysteresis,
            r.rules.waits
        );
    }
    rows
}

#[test]
fn uniform_progress_as_published_meets_its_targets_on_both_regimes() {
    for (name, long) in [("short-outages.toml", false), ("long-outages.toml", true)] {
        let rows = compare(name);
        let [od, greedy, catch_up, up] = [&rows[0].1, &rows[1].1, &rows[2].1, &rows[3].1];
        assert!(
            od.runs >= 100 && up.runs == od.runs,
            "{name}: {} start offsets",
            up.runs
        );
        // no more deadlines missed than all on demand
        assert!(
            up.misses <= od.misses,
            "{name}: {} > {}",
            up.misses,
            od.misses
        );
        if long {
            // strictly cheaper than the greedy safety net under hours-long outages
            assert!(
                up.cost < greedy.cost,
                "{name}: {} vs {}",
                up.cost,
                greedy.cost
            );
        } else {
            // no dearer than the cheaper of today's rule and the greedy one under short ones
            let best = greedy.cost.min(catch_up.cost);
            assert!(up.cost <= best, "{name}: {} vs {best}", up.cost);
        }
        // every rule fired, and it is the published rule: it tried spot while behind
        assert!(up.rules.taking_risks > 0 && up.rules.waits > 0, "{name}");
        assert_eq!(catch_up.rules.taking_risks + catch_up.rules.waits, 0);
    }
}

/// Where the rules stand as the slack grows (the same regimes, other deadlines): Uniform
/// Progress never misses more than all on demand; the table shows where the greedy rule is
/// the cheaper one (short outages and a loose deadline: waiting them out costs nothing).
#[test]
fn the_rules_across_deadlines() {
    for name in ["short-outages.toml", "long-outages.toml"] {
        for deadline in ["8h30m", "9h", "9h30m", "10h"] {
            let mut s = regime(name);
            s.flows[0].deadline = Some(spotplan::model::SimTime::parse_human(deadline).unwrap());
            let rows = compare_scenario(&format!("{name} with deadline {deadline}"), &s);
            let (od, up) = (&rows[0].1, &rows[3].1);
            assert!(up.misses <= od.misses, "{name} {deadline}");
        }
    }
}

/// `emit` writes the Uniform Progress controller for a deployment whose policy runs it, and,
/// against the real Prefect server and the work pool spotplan emitted, it decides as the
/// rules do (hand-computed for the long-outage regime: D = 8h45m, C = 8h, d = 195 s, a run
/// scheduled an hour ago: the line asks for 3132 s of work, the Safety Net holds below about
/// 2790 s kept): a capacity crash ahead of the line waits and probes spot; behind it, on
/// demand; past the Safety Net, on demand for good; a crash from an interruption is left to
/// the retry policy; a rescheduled run takes a risk on spot; at a checkpoint on demand, the
/// flow moves back to spot once ahead of the line at t + 2d, and not before. A second pass
/// changes nothing.
#[test]
fn the_emitted_controller_decides_as_the_rules_on_a_real_prefect_server() {
    let (Some(prefect), Some(python)) = (
        crate::moto::server("SPOTPLAN_PREFECT_API_URL"),
        crate::moto::server("SPOTPLAN_PREFECT_PYTHON"),
    ) else {
        return;
    };
    let pool = format!("up-{}", std::process::id());
    let dir = std::env::temp_dir().join(format!("spotplan-{pool}"));
    let o = spotplan(&[
        "emit",
        "scenarios/deadlines/long-outages.toml",
        "--out",
        dir.to_str().unwrap(),
        "--work-pool",
        &pool,
        "--account-id",
        "111122223333",
        "--prefect-api-url",
        &prefect,
        "--api-key-parameter",
        "arn:aws:ssm:us-east-1:111122223333:parameter/prefect/key",
        "--vpc-id",
        "vpc-0abc1234",
        "--subnets",
        "subnet-0abc1234",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = std::process::Command::new(&python)
        .arg(root().join("tests/it/python/uniform_progress_case.py"))
        .arg(dir.join("prefect"))
        .arg(&pool)
        .env("PREFECT_API_URL", &prefect)
        .env("PREFECT_HOME", dir.join("prefect-home"))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let run = |label: &str| &v["runs"][label];
    let provider = |label: &str| run(label)["strategy"][0]["capacityProvider"].clone();
    assert_eq!(v["again"], serde_json::json!([]), "{v}");
    assert_eq!(
        v["decisions"],
        serde_json::json!(["catch-up", "for-good", "spot", "wait"]),
        "{v}"
    );
    // ahead of the line: scheduled again a probe (10 s) later, on spot
    assert_eq!(run("ahead")["state"], "SCHEDULED");
    assert_eq!(provider("ahead"), "FARGATE_SPOT");
    let wait = run("ahead")["scheduled_in_s"].as_i64().unwrap();
    assert!((9..=15).contains(&wait), "{wait}");
    assert_eq!(provider("behind"), "FARGATE");
    assert_eq!(provider("late"), "FARGATE");
    assert_eq!(run("interrupted")["state"], "CRASHED");
    assert_eq!(provider("rescheduled"), "FARGATE_SPOT");
    assert_eq!(run("checkpoint-behind")["moved"], false);
    assert_eq!(run("checkpoint-behind")["state"], "RUNNING");
    assert_eq!(run("checkpoint-ahead")["moved"], true);
    assert_eq!(run("checkpoint-ahead")["state"], "SCHEDULED");
    assert_eq!(provider("checkpoint-ahead"), "FARGATE_SPOT");
    // progress of runs that ended is deleted, of live ones kept
    assert_eq!(
        (&v["forgotten"], &v["kept"]),
        (&serde_json::json!(true), &serde_json::json!(true))
    );
}
