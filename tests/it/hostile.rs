//! Hostile input: values that round to nothing or run away, error floods, tampered shards,
//! odd history files, blocked outputs, closed pipes, bad flags. Each case pinned here once
//! aborted, hung, or passed as good data.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::*;

/// A small grid of the article scenario: two candidates, `prefect3`, `per-call`, 4 replications.
const SMALL_GRID: [&str; 9] = [
    "sweep",
    "scenarios/article-prefect3-reschedule.toml",
    "--spot-share",
    "0,100",
    "--retry",
    "prefect3",
    "--placement",
    "per-call",
    "--replications",
];

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spotplan-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn one_flow(flow: &str, extra: &str) -> String {
    world("horizon = \"1d\"", "10s", SPOT_ONLY, extra, flow)
}

#[test]
fn rates_and_durations_that_round_to_nothing_or_run_away_are_refused() {
    for (flow, extra, want) in [
        (
            "schedule = { poisson = \"1e-318/h\" }\nduration = \"1m\"",
            "",
            "less than one event per 100 years",
        ),
        (
            "schedule = { poisson = \"4294967296/h\" }\nduration = \"1m\"",
            "",
            "more than one event per millisecond",
        ),
        (
            "schedule = { poisson = \"1e308/h\" }\nduration = \"1m\"",
            "",
            "more than one event per millisecond",
        ),
        (
            "schedule = { every = \"1h\" }\nduration = \"100us\"",
            "",
            "shorter than 1ms",
        ),
        (
            "schedule = { every = \"600000y\" }\nduration = \"1m\"",
            "",
            "longer than 100 years",
        ),
        (
            "schedule = { every = \"1h\" }\nduration = \"1m\"",
            "[spot]\nreclaim_waves = { per_day = 9223372036854775807, hit = 0.5 }",
            "waves a day",
        ),
    ] {
        let e = load(&one_flow(flow, extra)).unwrap_err().to_string();
        assert!(e.contains(want), "{flow} {extra}: {e}");
    }
}

#[test]
fn thousands_of_errors_are_capped_and_counted() {
    let mut src = one_flow("schedule = { every = \"1h\" }\nduration = \"1m\"", "");
    for i in 0..4000 {
        src.push_str(&format!(
            "\n[[flow]]\nname = \"f{i}\"\nschedule = {{ every = \"soon\" }}\nduration = \"1m\"\n"
        ));
    }
    let e = load(&src).unwrap_err();
    assert_eq!(e.diagnostics.len(), 50);
    assert_eq!(e.more, 3950);
    let text = e.to_string();
    assert_eq!(text.lines().count(), 51, "{text}");
    assert!(
        text.ends_with("… and 3950 more errors (the first 50 are shown; fix these first)"),
        "{text}"
    );
    // each shown error is located (one parse of the file serves all of them)
    assert!(e.diagnostics.iter().all(|d| d.location.is_some()));
}

#[test]
fn a_closed_pipe_ends_quietly_with_status_0() {
    for args in [
        &["schema"][..],
        &["pricing", "show"][..],
        &[
            "simulate",
            "scenarios/prefect3-hourly-etl.toml",
            "-n",
            "2",
            "-q",
        ][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_spotplan"))
            .args(args)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // read one byte, as `| head -c1` would, then close the pipe
        let mut out = child.stdout.take().unwrap();
        let mut b = [0u8; 1];
        let _ = out.read(&mut b);
        drop(out);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn flag_errors_are_bad_input_exit_1_and_help_is_0() {
    let o = spotplan(&["simulate", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--no-such-flag"), "{}", stderr(&o));
    let o = spotplan(&["simulate", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let o = spotplan(&[
        "sweep",
        "scenarios/prefect3-hourly-etl.toml",
        "--spot-share",
        "0:4294967295:1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not a percentage"), "{}", stderr(&o));
}

/// Runs a 2-shard sweep of a small grid into `dir`; returns the shard paths.
fn shards(dir: &Path) -> Vec<PathBuf> {
    for i in 0..2 {
        let shard = format!("{i}/2");
        let o = spotplan(
            &[
                &SMALL_GRID[..],
                &[
                    "4",
                    "--horizon",
                    "2d",
                    "--shard",
                    &shard,
                    "--out",
                    dir.to_str().unwrap(),
                    "-q",
                ],
            ]
            .concat(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    (0..2)
        .map(|i| dir.join(format!("shard-{i}-of-2.json")))
        .collect()
}

fn merge(paths: &[PathBuf]) -> Output {
    let mut args = vec!["merge".to_string()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    args.extend(["--format".into(), "json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    spotplan(&args)
}

fn edit(path: &Path, f: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = path.with_extension(format!("edited-{n}.json"));
    std::fs::write(&out, v.to_string()).unwrap();
    out
}

#[test]
fn merge_refuses_every_shard_set_that_is_not_exactly_the_grid() {
    let dir = tmp("merge");
    let s = shards(&dir);
    let ok = merge(&s);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            edit(&s[1], |v| v["finished"] = false.into()),
            "shard 1/2 was interrupted before it finished",
        ),
        (
            edit(&s[1], |v| {
                v["cells"].as_array_mut().unwrap().pop();
            }),
            "the shards hold 7 cells, but the grid has 8",
        ),
        (
            edit(&s[1], |v| {
                let c = v["cells"][0].clone();
                let a = v["cells"].as_array_mut().unwrap();
                a.pop();
                a.insert(0, c);
            }),
            "is duplicated or out of order",
        ),
        (
            edit(&s[1], |v| v["shard"][1] = 4_294_967_295u64.into()),
            "different sweeps",
        ),
    ];
    for (bad, want) in cases {
        let o = merge(&[s[0].clone(), bad.clone()]);
        assert_eq!(o.status.code(), Some(1), "{want}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
    }
    // a grid `sweep` would refuse, in every shard alike
    for (change, want) in [
        (
            ("spot_shares", serde_json::json!([0, 500])),
            "spot share `500` is not a percentage",
        ),
        (
            ("replications", serde_json::json!(10_000_000)),
            "`10000000` replications is outside 2–1000000",
        ),
    ] {
        let both: Vec<PathBuf> = s
            .iter()
            .map(|p| edit(p, |v| v["grid"][change.0] = change.1.clone()))
            .collect();
        let o = merge(&both);
        assert_eq!(o.status.code(), Some(1), "{want}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
    }
    // the same shard twice
    let o = merge(&[s[0].clone(), s[0].clone()]);
    assert!(
        stderr(&o).contains("shard 0/2 is given twice"),
        "{}",
        stderr(&o)
    );
    // more shards than cells is refused when sweeping
    let o = spotplan(&[&SMALL_GRID[..], &["4", "--shard", "0/4294967295"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("would leave shards with nothing to do"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn calibrate(dir: &Path, input: &str) -> (Output, PathBuf) {
    let events = dir.join("events.jsonl");
    std::fs::write(&events, input).unwrap();
    let out = dir.join("calibrated.toml");
    let _ = std::fs::remove_file(&out);
    let o = spotplan(&[
        "calibrate",
        "--ecs-events",
        events.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    (o, out)
}

fn event(arn: &str, created: &str, stopped: &str) -> String {
    format!(
        r#"{{"detail-type":"ECS Task State Change","time":"{stopped}","detail":{{"taskArn":"arn:aws:ecs:us-east-1:111122223333:task/c/{arn}","group":"family:etl","capacityProviderName":"FARGATE_SPOT","cpu":"1024","memory":"2048","createdAt":"{created}","startedAt":"{created}","stoppedAt":"{stopped}","lastStatus":"STOPPED","stopCode":"EssentialContainerExited"}}}}"#
    )
}

#[test]
fn calibrate_reads_odd_but_valid_files_and_never_writes_what_it_would_refuse() {
    let dir = tmp("calibrate");
    let events: Vec<String> = (0..30)
        .map(|i| {
            event(
                &format!("t{i}"),
                &format!("2026-03-01T{:02}:00:00Z", i % 24),
                &format!("2026-03-01T{:02}:10:00Z", i % 24),
            )
        })
        .collect();
    // a log line first used to turn the whole file into a log (and drop every event)
    let mixed = format!(
        "2026-03-01T00:00:00Z worker started\n{}\n2026-03-01T05:00:00Z polling\n",
        events.join("\n")
    );
    let (o, out) = calibrate(&dir, &mixed);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("# 30 records"), "{text}");
    // a byte-order mark
    let (o, _) = calibrate(&dir, &format!("\u{feff}{}", events.join("\n")));
    assert!(o.status.success(), "{}", stderr(&o));
    // describe-tasks output on one line
    let doc = serde_json::json!({"tasks": [{
        "taskArn": "arn:aws:ecs:us-east-1:111122223333:task/c/x", "group": "family:etl",
        "capacityProviderName": "FARGATE", "cpu": "1024", "memory": "2048",
        "createdAt": "2026-03-01T00:00:00Z", "startedAt": "2026-03-01T00:00:20Z",
        "stoppedAt": "2026-03-01T00:10:00Z", "lastStatus": "STOPPED"}]});
    let (o, _) = calibrate(&dir, &doc.to_string());
    assert!(o.status.success(), "{}", stderr(&o));
    // every task created at the same instant: no schedule can be told, and the scenario is
    // still one spotplan accepts (it used to say `poisson = "0.0000/h"`)
    let same: Vec<String> = (0..10)
        .map(|i| {
            event(
                &format!("s{i}"),
                "2026-03-01T00:00:00Z",
                "2026-03-01T00:10:00Z",
            )
        })
        .collect();
    let (o, out) = calibrate(&dir, &same.join("\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("too few starts"), "{text}");
    let v = spotplan(&["validate", out.to_str().unwrap()]);
    assert!(v.status.success(), "{}", stderr(&v));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn calibrate_does_not_read_without_limit() {
    // a "history" without line breaks (`/dev/zero` read as events) stops at the line cap
    let o = spotplan(&["calibrate", "--ecs-events", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a line longer than 16 MiB"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_blocked_output_replaces_nothing() {
    let dir = tmp("blocked");
    let out = dir.join("out");
    std::fs::create_dir_all(out.join("report.txt")).unwrap();
    std::fs::write(out.join("summary.json"), "previous good result").unwrap();
    let o = spotplan(&[
        "simulate",
        "scenarios/prefect3-hourly-etl.toml",
        "-n",
        "2",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("report.txt"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("summary.json")).unwrap(),
        "previous good result"
    );
    // no temporary file is left behind
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    // a --trace that cannot be written is found before the run
    let o = spotplan(&[
        "simulate",
        "scenarios/prefect3-hourly-etl.toml",
        "-q",
        "--trace",
        "/dev/null/trace.csv",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/dev/null"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn runaway_work_is_refused_before_it_starts_with_the_estimate_and_the_flag() {
    let dir = tmp("budget");
    for (name, flow, extra, want) in [
        (
            "every-ms",
            "schedule = { every = \"1ms\" }\nduration = \"1s\"",
            "",
            "runs a replication",
        ),
        (
            "outages",
            "schedule = { every = \"1h\" }\nduration = \"1m\"",
            "[spot]\ncapacity = { unavailable = 0.5, mean_outage = \"1ms\" }",
            "engine events",
        ),
    ] {
        let f = dir.join(format!("{name}.toml"));
        std::fs::write(
            &f,
            world(
                "horizon = \"30d\"\nreplications = 200",
                "10s",
                SPOT_ONLY,
                extra,
                flow,
            ),
        )
        .unwrap();
        let o = spotplan(&["simulate", f.to_str().unwrap(), "-q"]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("this run is too big to start"), "{name}: {e}");
        assert!(
            e.contains(want) && e.contains("`--max-events`"),
            "{name}: {e}"
        );
        // --dry-run says the same without refusing, and runs nothing
        let o = spotplan(&["simulate", f.to_str().unwrap(), "--dry-run"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("estimate: "));
        let o = spotplan(&[
            "simulate",
            f.to_str().unwrap(),
            "--dry-run",
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v["events"].as_f64().unwrap() > 1.8e10, "{v}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_estimate_is_close_to_the_events_the_engine_runs() {
    for entry in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        let dir = p.parent().unwrap().to_path_buf();
        let loader = move |n: &str| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string());
        let s = spotplan::scenario::load(&src, "s.toml", &loader).unwrap();
        let est = spotplan::sim::budget::estimate(&s, 1, 1, 1);
        let actual = outcomes(&s, 3).iter().map(|o| o.events as f64).sum::<f64>() / 3.0;
        let ratio = est.events_per_replication / actual;
        eprintln!(
            "{}: {} events a run, estimate/actual {ratio:.2}",
            p.display(),
            actual / est.runs_per_replication
        );
        assert!(
            (0.7..=2.0).contains(&ratio),
            "{}: estimated {} events, ran {actual}",
            p.display(),
            est.events_per_replication
        );
    }
}

#[test]
fn a_concurrency_limit_that_cannot_keep_up_is_said() {
    let s = scenario(&world(
        "horizon = \"7d\"",
        "10s",
        SPOT_ONLY,
        "",
        "schedule = { every = \"1m\" }\nduration = \"5m\"\nconcurrency_limit = 2",
    ));
    let w = spotplan::scenario::warnings(&s);
    let b = w
        .iter()
        .find(|w| w.code == "backlog-grows")
        .expect("warned");
    assert!(b.message.contains("cannot keep up"), "{}", b.message);
    // and the run shows it: after the horizon's drain, thousands of runs still wait, and the
    // median run waited days
    let o = &outcomes(&s, 1)[0];
    assert!(o.unfinished > 2_000, "{o:?}");
    assert!(o.latency_p50_ms > 86_400_000, "{o:?}");
    // a limit that keeps up is not warned about
    let ok = scenario(&world(
        "horizon = \"7d\"",
        "10s",
        SPOT_ONLY,
        "",
        "schedule = { every = \"10m\" }\nduration = \"5m\"\nconcurrency_limit = 2",
    ));
    assert!(
        !spotplan::scenario::warnings(&ok)
            .iter()
            .any(|w| w.code == "backlog-grows")
    );
}

#[test]
fn plan_exits_1_not_2_when_the_api_cannot_be_reached() {
    // a CI gate reading `--detailed-exitcode` must never see an outage as pending changes
    let o = Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args([
            "plan",
            "fixtures/emit-scenario.toml",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--detailed-exitcode",
        ])
        .current_dir(root())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // words only: notes on what the inputs assume, then the error
    let err = stderr(&o);
    assert!(
        err.lines()
            .all(|l| l.starts_with("note: ") || l.starts_with("error: "))
            && err.lines().any(|l| l.starts_with("error: ")),
        "{err}"
    );
}

#[test]
fn missing_credentials_are_explained_in_words() {
    let home = tmp("no-credentials");
    let o = Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args([
            "plan",
            "fixtures/emit-scenario.toml",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .current_dir(root())
        .env_clear()
        .env("HOME", &home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("no AWS credentials were found"), "{e}");
    assert!(e.contains("aws sso login"), "{e}");
    assert!(!e.contains("DispatchFailure"), "a Debug dump: {e}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn huge_numbers_and_deep_nesting_are_reported_as_written_and_located() {
    let src = one_flow(
        "schedule = { every = \"1h\" }\nduration = \"1m\"\ncpu = 1e308",
        "",
    );
    let e = load(&src).unwrap_err().to_string();
    assert!(e.contains("`1e308` is not a cpu"), "{e}");
    assert!(!e.contains("9223372036854775807"), "{e}");
    let deep = format!(
        "{}\n{}b = 1\n",
        one_flow("schedule = { every = \"1h\" }\nduration = \"1m\"", ""),
        "a.".repeat(100_000)
    );
    let e = load(&deep).unwrap_err();
    let d = &e.diagnostics[0];
    assert!(d.location.is_some(), "{e}");
    assert!(d.message.starts_with("nesting too deep"), "{e}");
}

#[test]
fn a_horizon_with_no_run_in_it_is_said() {
    let s = scenario(&world(
        "horizon = \"1h\"",
        "10s",
        SPOT_ONLY,
        "[spot]\ninterruption_rate = \"0.05/h\"",
        "schedule = { every = \"1d\", offset = \"2h\" }\nduration = \"1m\"",
    ));
    let w = spotplan::scenario::warnings(&s);
    assert!(w.iter().any(|w| w.code == "no-runs"), "{w:?}");
    assert_eq!(outcomes(&s, 1)[0].runs, 0);
}

#[test]
fn a_thread_count_past_the_cap_is_refused_at_once() {
    // refused before any thread is started (it used to start 5000 and fail after 48 s)
    let o = spotplan(&[
        "simulate",
        "scenarios/prefect3-hourly-etl.toml",
        "--threads",
        "5000",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--threads `5000` is outside 1–1024"),
        "{}",
        stderr(&o)
    );
}

/// An endpoint that accepts connections and never answers: `plan` stops at `--aws-timeout`
/// with the operation named, instead of hanging.
#[test]
fn an_endpoint_that_never_answers_stops_plan_at_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // accept and hold every connection, never writing a byte
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args([
            "plan",
            "fixtures/emit-scenario.toml",
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}"),
            "--aws-timeout",
            "2",
        ])
        .current_dir(root())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // (a guard against a hang, not a timing assertion: the bound is 2 s)
    let end = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > end {
            let _ = child.kill();
            panic!("plan still waiting after 120 s on an endpoint that never answers");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no answer from GetCallerIdentity after 2 s (--aws-timeout)"),
        "{}",
        stderr(&o)
    );
}

/// Numbers that once hung or aborted: a gamma shape of 1.8e19 validated, then hung the
/// deadline rule's quantiles; a 520 MB scenario made the TOML lexer ask for 3.7 GB. Both are
/// refused with words, before any work; the edges of the accepted range compute.
#[test]
fn numerics_that_could_hang_or_abort_are_refused_first() {
    let src =
        std::fs::read_to_string(root().join("scenarios/nightly-batch-deadline.toml")).unwrap();
    let lognormal = "duration = { lognormal = { median = \"2h30m\", p95 = \"3h30m\" } }";
    assert!(src.contains(lognormal));
    let dir = tmp("numerics");
    let f = dir.join("s.toml");
    for (shape, ok) in [
        ("1.8e19", false),
        ("0.001", false),
        ("10000", true),
        ("0.01", true),
    ] {
        std::fs::write(
            &f,
            src.replace(
                lognormal,
                &format!("duration = {{ gamma = {{ shape = {shape}, mean = \"2h30m\" }} }}"),
            ),
        )
        .unwrap();
        let o = spotplan(&[
            "simulate",
            f.to_str().unwrap(),
            "-n",
            "2",
            "--horizon",
            "3d",
            "-q",
        ]);
        if ok {
            assert!(o.status.success(), "shape {shape}: {}", stderr(&o));
        } else {
            assert_eq!(o.status.code(), Some(1), "shape {shape}");
            assert!(
                stderr(&o).contains("is outside 0.01–10000"),
                "shape {shape}: {}",
                stderr(&o)
            );
        }
    }
    // the deadline rule's quantiles at the edges of the range
    for shape in [0.01, 10_000.0] {
        let d = spotplan::model::Dist::Gamma {
            shape,
            scale_ms: 9_000_000.0 / shape,
        };
        let q = d.conditional_quantile_ms(0.95, 1_000_000.0);
        assert!(q.is_finite() && q >= 1_000_000.0, "shape {shape}: {q}");
    }
    // a scenario file over the cap is refused before it is read (a sparse file: no disk used)
    let big = std::fs::File::create(&f).unwrap();
    big.set_len(520 << 20).unwrap();
    drop(big);
    let o = spotplan(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("it is 520 MB, more than the 16 MB spotplan reads"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
