//! The binary: exit codes, formats, files written, help text.

use crate::common::{spotplan, stderr, stdout};

const DEFAULT: &str = "scenarios/prefect3-hourly-etl.toml";

#[test]
fn simulate_prints_a_table_with_the_key_figures() {
    let o = spotplan(&["simulate", DEFAULT, "-n", "8", "--horizon", "2d"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "cost",
        "all-on-demand baseline",
        "saving",
        "spot share",
        "latency p95",
        "deadline misses",
        "seed 42",
        "prices bundled as of 2026-09-28",
        "placement per-call: one reading of the default (no placement named) `robust`",
        "network public IPv4 on every task and worker ($0.005/address-hour)",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn simulate_json_is_identical_across_thread_counts() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "simulate",
            DEFAULT,
            "-n",
            "12",
            "--horizon",
            "2d",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let o = spotplan(&args);
        assert!(o.status.success());
        o.stdout
    };
    let one = run(&["--threads", "1"]);
    assert_eq!(one, run(&["--threads", "3"]));
    let v: serde_json::Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(v["meta"]["seed"], 42);
    assert_eq!(v["meta"]["replications"], 12);
    assert_eq!(v["meta"]["scenario_hash"].as_str().unwrap().len(), 16);
    assert_eq!(v["meta"]["price_source"]["as_of"], "2026-09-28");
    assert!(v["metrics"]["saving_fraction"]["mean"].as_f64().unwrap() > 0.0);
    assert_ne!(one, run(&["--seed", "43"]));
}

#[test]
fn simulate_csv_has_one_row_per_metric() {
    let o = spotplan(&[
        "simulate",
        DEFAULT,
        "-n",
        "4",
        "--horizon",
        "1d",
        "--format",
        "csv",
    ]);
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "metric,unit,n,mean,sd,ci95_low,ci95_high,p5,p50,p95"
    );
    assert_eq!(lines.count(), 31);
    assert!(out.contains("\nsaving_fraction,fraction,4,"));
    assert!(
        out.contains("\ncrashed_by_capacity,count,4,")
            && out.contains("\ncrashed_by_interruption,count,4,")
    );
}

#[test]
fn simulate_writes_out_dir_and_trace() {
    let dir = std::env::temp_dir().join(format!("spotplan-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let trace_jsonl = dir.join("trace.jsonl");
    let trace_csv = dir.join("trace.csv");
    let o = spotplan(&[
        "simulate",
        DEFAULT,
        "-n",
        "3",
        "--horizon",
        "1d",
        "--out",
        dir.to_str().unwrap(),
        "--trace",
        trace_jsonl.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "summary.json",
        "summary.csv",
        "replications.csv",
        "report.txt",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let reps = std::fs::read_to_string(dir.join("replications.csv")).unwrap();
    assert_eq!(reps.lines().count(), 4);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&trace_jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|e| e["event"] == "completed" && e["flow"] == "hourly-etl")
    );
    assert!(lines.iter().filter(|e| e["event"] == "scheduled").count() == 48);
    let o = spotplan(&[
        "simulate",
        DEFAULT,
        "-n",
        "1",
        "--horizon",
        "1d",
        "--trace",
        trace_csv.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let csv = std::fs::read_to_string(&trace_csv).unwrap();
    assert!(csv.starts_with("t_ms,time,flow,run,attempt,event,provider,detail\n"));
    // each event's data is named, never a bare overloaded number
    assert!(csv.contains(",placed,FARGATE"), "{csv}");
    let placed = csv.lines().find(|l| l.contains(",placed,")).unwrap();
    assert!(
        placed.contains("pull_start_ms=") && placed.contains(";running_ms="),
        "{placed}"
    );
    let stopped = csv.lines().find(|l| l.contains(",stopped,")).unwrap();
    assert!(stopped.ends_with(|c: char| c.is_ascii_digit()) && stopped.contains("billed_s="));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_exits_1_with_a_located_message() {
    let dir = std::env::temp_dir().join(format!("spotplan-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.toml");
    std::fs::write(&f, "name = \"x\"\nregion = \"us-east-1\"\n[cluster]\ncapacity_providers = [\"FARGATE\"]\nstrategy = [{ provider = \"FARGATE\", weight = 5000 }]\n[[flow]]\nname = \"a\"\nschedule = { every = \"1h\" }\nduration = \"1m\"\n").unwrap();
    let o = spotplan(&["simulate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}:5:46: `cluster.strategy[0].weight`: weight `5000` is outside 0–1000\n",
            f.display()
        )
    );
    assert!(stdout(&o).is_empty());
    let o = spotplan(&["validate", f.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["line"], 5);
    assert_eq!(v["errors"][0]["path"], "cluster.strategy[0].weight");
    let o = spotplan(&["simulate", "no/such/file.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: cannot read scenario `no/such/file.toml`: "));
    let o = spotplan(&["simulate", DEFAULT, "--horizon", "forever"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: --horizon: `forever` is not a duration"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_prints_warnings_for_the_article_setup() {
    let o = spotplan(&["validate", "scenarios/article-prefect1-lazarus.toml"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.starts_with("ok: `scenarios/article-prefect1-lazarus.toml` is valid"));
    assert!(out.contains(
        "warning[base-on-fargate-per-call]: with `per-call` placement the base of 1 on FARGATE"
    ));
}

#[test]
fn schema_describes_the_format() {
    let o = spotplan(&["schema"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["title"], "ScenarioFile");
    let props = v["properties"].as_object().unwrap();
    for k in [
        "name",
        "region",
        "simulation",
        "cluster",
        "worker",
        "spot",
        "retry",
        "flow",
        "objectives",
        "pricing",
    ] {
        assert!(props.contains_key(k), "{k}");
    }
    assert_eq!(v["additionalProperties"], false);
}

#[test]
fn help_explains_every_simulate_flag() {
    let o = spotplan(&["simulate", "--help"]);
    let out = stdout(&o);
    for flag in [
        "--replications",
        "--seed",
        "--horizon",
        "--threads",
        "--format",
        "--out",
        "--trace",
        "--quiet",
    ] {
        assert!(out.contains(flag), "{flag}");
    }
}

#[test]
fn simulate_runs_the_reading_asked_for_and_refuses_robust() {
    let o = spotplan(&[
        "simulate",
        DEFAULT,
        "-n",
        "4",
        "--horizon",
        "2d",
        "--placement",
        "weighted-random",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["meta"]["placement"], "weighted-random");
    assert!(
        v["meta"]["placement_note"]
            .as_str()
            .unwrap()
            .starts_with("weighted-random: the reading asked for")
    );
    let o = spotplan(&["simulate", DEFAULT, "--placement", "robust"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: --placement: `robust` is not a single reading here; allowed: `per-call`, `per-call-tie-later`, `per-call-no-base`, `weighted-random`, `proportional`, `proportional-hold`; `simulate` runs one reading (`sweep` and `recommend` evaluate all with `robust`)\n"
    );
}

#[test]
fn defaults_that_change_the_answer_are_stated_in_meta_and_header() {
    let o = spotplan(&[
        "simulate",
        DEFAULT,
        "-n",
        "2",
        "--horizon",
        "1d",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let a: Vec<&str> = v["meta"]["assumptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    // measured defaults at each flow's CPU: 1 vCPU, and `hourly-report`'s 0.5 vCPU
    assert!(
        a.contains(&"engine start-up per attempt, measured for Prefect 3.9.1 at the task's CPU (a SIGTERM in the unprotected part crashes even a rescheduling run): 1.6 s unprotected + 3.1 s flow loading for `hourly-etl`; 3.2 s unprotected + 6.2 s flow loading for `hourly-report`; set `engine_unprotected` and `flow_loading`"),
        "{a:?}"
    );
    assert!(a.contains(&"the engine exits 2s after SIGTERM (or at stop_timeout if sooner)"));
    let t = spotplan(&["simulate", DEFAULT, "-n", "2", "--horizon", "1d"]);
    assert!(stdout(&t).contains("\nassumed: engine start-up per attempt, measured"));
    let with = |startup: &str| {
        crate::common::load(&crate::common::world(
            "horizon = \"1d\"",
            "0s",
            crate::common::SPOT_ONLY,
            "",
            &format!("schedule = {{ every = \"1h\" }}\nduration = \"1m\"\n{startup}"),
        ))
    };
    let told = |startup: &str| -> Vec<String> {
        spotplan::sweep::assumptions(&with(startup).unwrap())
            .into_iter()
            .filter(|x| x.starts_with("engine start-up"))
            .collect()
    };
    // both parts stated: nothing assumed
    assert!(told("engine_unprotected = \"2s\"\nflow_loading = \"9s\"").is_empty());
    // a total is split, and the split is said
    assert_eq!(
        told("engine_startup = \"47s\""),
        [
            "engine start-up per attempt, `engine_startup` split in the measured proportion 16:31 (a SIGTERM in the unprotected part crashes even a rescheduling run): 16.0 s unprotected + 31.0 s flow loading for `job`; set `engine_unprotected` and `flow_loading`"
        ]
    );
    // a total with a part, or one part alone, is refused in words
    for (startup, key, words) in [
        (
            "engine_startup = \"5s\"\nflow_loading = \"3s\"",
            "engine_startup",
            "not both",
        ),
        ("engine_unprotected = \"2s\"", "flow_loading", "together"),
        ("flow_loading = \"2s\"", "engine_unprotected", "together"),
    ] {
        let e = with(startup).unwrap_err().to_string();
        assert!(e.contains(key) && e.contains(words), "{startup}: {e}");
    }
}

#[test]
fn every_text_output_fits_100_columns() {
    for args in [
        &[
            "simulate",
            "scenarios/nightly-batch-deadline.toml",
            "-n",
            "3",
            "-q",
        ][..],
        &[
            "simulate",
            "scenarios/prefect3-hourly-etl.toml",
            "-n",
            "1",
            "-q",
        ][..],
        &[
            "sweep",
            "scenarios/prefect3-hourly-etl.toml",
            "-n",
            "3",
            "-q",
            "--horizon",
            "2d",
        ][..],
        &[
            "recommend",
            "scenarios/nightly-batch-deadline.toml",
            "-n",
            "3",
            "-q",
            "--horizon",
            "3d",
        ][..],
        &["validate", "scenarios/article-prefect1-lazarus.toml"][..],
        &["pricing", "show"][..],
        &[
            "calibrate",
            "--ecs-events",
            "fixtures/calibrate/eventbridge.jsonl",
        ][..],
        &[
            "simulate",
            "scenarios/prefect3-hourly-etl.toml",
            "--dry-run",
        ][..],
    ] {
        let o = spotplan(args);
        // (3: nothing feasible, said in full text: 9 runs cannot show a 0.1% crash rate)
        assert!(
            matches!(o.status.code(), Some(0 | 3)),
            "{args:?}: {}",
            stderr(&o)
        );
        let text = stdout(&o);
        assert!(!text.is_empty(), "{args:?}");
        for line in text.lines() {
            assert!(
                line.chars().count() <= 100,
                "{args:?}: {} columns:\n{line}",
                line.chars().count()
            );
        }
    }
}

#[test]
fn shell_completions_cover_the_commands_and_parse() {
    for shell in ["bash", "zsh", "fish"] {
        let o = spotplan(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        for word in ["simulate", "recommend", "max-events", "dry-run"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    // bash reads the script without a syntax error
    let o = spotplan(&["completions", "bash"]);
    let f = std::env::temp_dir().join(format!("spotplan-completion-{}.bash", std::process::id()));
    std::fs::write(&f, &o.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&f)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    let _ = std::fs::remove_file(&f);
}

#[test]
fn compare_pairs_two_configurations_of_one_workload() {
    let dir = std::env::temp_dir().join(format!("spotplan-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let etl = std::fs::read_to_string(crate::common::root().join(DEFAULT)).unwrap();
    // B: the same workload, every run on demand (the worker's strategy: FARGATE only)
    let od = etl.replace(
        "poll_interval = \"10s\"\nstrategy = [\n  { provider = \"FARGATE_SPOT\", weight = 3 },\n  { provider = \"FARGATE\", weight = 2 },\n]",
        "poll_interval = \"10s\"\nstrategy = [{ provider = \"FARGATE\", weight = 1 }]",
    );
    assert_ne!(od, etl, "the fixture's worker strategy moved");
    let b = dir.join("on-demand.toml");
    std::fs::write(&b, od).unwrap();
    let o = spotplan(&[
        "compare",
        DEFAULT,
        b.to_str().unwrap(),
        "-n",
        "10",
        "-q",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = |name: &str| {
        v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == name)
            .unwrap()
            .clone()
    };
    // all on demand costs more, clearly, and runs nothing on spot
    let cost = m("cost_per_30d_usd");
    assert!(
        cost["b_minus_a"]["ci95_low"].as_f64().unwrap() > 0.0,
        "{cost}"
    );
    assert_eq!(m("spot_share")["b"]["mean"], 0.0);
    // paired differences are exactly each replication's B minus A
    let d = cost["b_minus_a"]["mean"].as_f64().unwrap();
    let (a, bm) = (
        cost["a"]["mean"].as_f64().unwrap(),
        cost["b"]["mean"].as_f64().unwrap(),
    );
    assert!((bm - a - d).abs() < 1e-9, "{a} {bm} {d}");
    // a scenario against itself differs by exactly nothing
    let o = spotplan(&["compare", DEFAULT, DEFAULT, "-n", "5", "-q"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("0 [0, 0]"), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn candidates_that_are_one_configuration_after_placement_share_a_row() {
    // under `per-call`, weights 0:10 … 4:6 all place every run on FARGATE (ties and the
    // larger weight win), and 5:5 … 10:0 all on FARGATE_SPOT: two rows, not eleven
    let o = spotplan(&[
        "sweep",
        "scenarios/nightly-batch-deadline.toml",
        "-n",
        "3",
        "-q",
        "--horizon",
        "2d",
        "--placement",
        "per-call",
        "--retry",
        "prefect3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(t.contains("  0–4 spot 0–40% · per-call"), "{t}");
    assert!(t.contains(" 5–10 spot 50–100% · per-call"), "{t}");
}

/// A one-flow hourly on-demand scenario in `region`, with `objectives` (platform-wide) and
/// `flow` (more keys of the flow).
fn hourly_in(region: &str, objectives: &str, flow: &str) -> String {
    format!(
        r#"name = "hourly"
region = "{region}"
[simulation]
horizon = "1d"
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
strategy = [{{ provider = "FARGATE", weight = 1 }}]
[network]
egress = "public-ip"
[objectives]
{objectives}
[[flow]]
name = "etl"
schedule = {{ every = "1h" }}
duration = "10m"
{flow}
"#
    )
}

/// `validate` knows what `recommend` will need: a region without bundled spot rates validates
/// for `simulate` of an on-demand strategy, and says that the grid's FARGATE_SPOT candidates
/// will need rates, naming the fix; `recommend` then stops as announced.
#[test]
fn validate_names_the_rates_the_grid_will_need() {
    let src = &hourly_in("eu-central-1", "max_crashed = 0.01", "");
    let dir = std::env::temp_dir().join(format!("spotplan-grid-rates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("s.toml");
    std::fs::write(&f, src).unwrap();
    let o = spotplan(&["validate", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o).replace("\n  ", " ");
    assert!(out.contains("warning[grid-rates-missing]"), "{out}");
    assert!(
        out.contains("FARGATE_SPOT")
            && out.contains("spotplan pricing fetch --region eu-central-1"),
        "{out}"
    );
    let r = spotplan(&["recommend", f.to_str().unwrap(), "-q", "-n", "2"]);
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    // and an on-demand-only grid needs nothing more
    std::fs::write(
        &f,
        format!("{src}[sweep]\nspot_share = \"0\"\nper_deployment = false\n"),
    )
    .unwrap();
    let o = spotplan(&["validate", f.to_str().unwrap()]);
    assert!(!stdout(&o).contains("grid-rates-missing"), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rate_objective_above_one_half_is_warned_as_a_likely_percentage() {
    let src = &hourly_in(
        "us-east-1",
        "max_crashed = 1",
        "deadline = \"30m\"\nobjectives = { max_deadline_miss = 5 }",
    );
    let dir = std::env::temp_dir().join(format!("spotplan-percent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("s.toml");
    std::fs::write(&f, src).unwrap();
    let o = spotplan(&["validate", f.to_str().unwrap()]);
    let out = stdout(&o).replace("\n  ", " ");
    let err = stderr(&o);
    let _ = std::fs::remove_dir_all(&dir);
    // 5 is not a fraction: refused; 1 is one, but likely meant 1%: warned
    if o.status.success() {
        panic!("a deadline-miss limit of 5 should be refused: {out}");
    }
    assert!(err.contains("max_deadline_miss"), "{err}");
    let src = src.replace("max_deadline_miss = 5", "max_deadline_miss = 0.9");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&f, &src).unwrap();
    let o = spotplan(&["validate", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o).replace("\n  ", " ");
    assert!(
        out.contains(
            "warning[objective-looks-like-percent]: [objectives] max_crashed = 1 allows 100"
        ) && out.contains("write 0.01"),
        "{out}"
    );
    assert!(
        out.contains("`etl`'s max_deadline_miss = 0.9 allows 90"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_30_day_horizon_has_one_cost_row() {
    let run = |h: &str| {
        stdout(&spotplan(&[
            "simulate",
            "scenarios/prefect3-hourly-etl.toml",
            "-n",
            "3",
            "--horizon",
            h,
            "-q",
        ]))
    };
    let thirty = run("30d");
    assert_eq!(
        thirty.matches("cost per 30 days (USD)").count(),
        1,
        "{thirty}"
    );
    assert!(!thirty.contains("cost over 30d"), "{thirty}");
    assert!(run("3d").contains("cost over 3d (USD)"));
}

#[test]
fn a_region_other_than_the_priced_one_is_said() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args([
            "plan",
            "fixtures/emit-scenario.toml",
            "--region",
            "eu-central-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .current_dir(crate::common::root())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(
        err.contains(
            "warning: --region eu-central-1 is not the region the bill was priced for (eu-west-1)"
        ),
        "{err}"
    );
}

/// A figure the configuration fixes (the same in every replication) gets no interval, a whole
/// count no decimals, and a small percentage three significant digits; a rate's bound from its
/// trials keeps its interval (0 crashes in 90 runs still bound the rate above 0).
#[test]
fn fixed_figures_read_as_fixed_and_small_rates_fit_their_column() {
    let o = spotplan(&[
        "simulate",
        "scenarios/nightly-batch-deadline.toml",
        "-n",
        "20",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let row = |label: &str| {
        out.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} row in {out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("runs "), "runs 90 – (no spread) 90 90 90");
    assert!(row("  worker service").ends_with("– (no spread) 53.32 53.32 53.32"));
    let crash = row("crashed or failed (%)");
    assert!(
        crash.starts_with("crashed or failed (%) 0% [0%, 0."),
        "{crash}"
    );
    // every row of the table fits its columns: the interval column never spills
    let cols: Vec<usize> = out.lines().filter_map(|l| l.find("(no spread)")).collect();
    assert!(
        cols.len() > 10 && cols.iter().all(|&c| c == cols[0]),
        "{out}"
    );
}
