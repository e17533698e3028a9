//! Sweeps and recommendations: answers known analytically, shards, racing, charts, report,
//! Ctrl-C.

use std::process::Command;
use std::sync::atomic::AtomicBool;

use spotplan::sweep::cells::Control;
use spotplan::sweep::job::{ShardFile, execute, merge};
use spotplan::sweep::recommend::recommend;

use crate::common::*;

fn ctl() -> (AtomicBool, fn(u64)) {
    (AtomicBool::new(false), |_| {})
}

/// A shipped scenario over `days` with its own grid at `reps` replications (no racing), and a
/// control that never cancels: the sweep a test runs, and the scenario and spec it ran.
fn shipped_sweep(
    file: &str,
    days: u64,
    reps: u32,
) -> (
    spotplan::scenario::Scenario,
    spotplan::scenario::SweepSpec,
    spotplan::sweep::job::SweepRun,
) {
    let mut s = spotplan::cli::load_scenario(&root().join(file)).unwrap();
    s.sim.horizon = spotplan::model::SimTime(days * spotplan::model::SimTime::DAY.0);
    let mut spec = s.sweep.clone();
    spec.replications = reps;
    spec.adaptive = false;
    let (flag, tick) = ctl();
    let c = Control {
        cancel: &flag,
        tick: &tick,
    };
    let run = execute(&s, &spec, None, &c).unwrap();
    (s, spec, run)
}

/// The scenario's whole sweep, never cancelled.
fn execute_all(s: &spotplan::scenario::Scenario) -> spotplan::sweep::job::SweepRun {
    let (flag, tick) = ctl();
    execute(
        s,
        &s.sweep,
        None,
        &Control {
            cancel: &flag,
            tick: &tick,
        },
    )
    .unwrap_or_else(|e| panic!("the sweep's rates: {e}"))
}

/// One daily 5 h job without checkpoints, restarted from scratch until done.
fn restart_world(rate: &str, objectives: &str) -> String {
    world(
        "horizon = \"10d\"\nplacement = \"proportional\"",
        "0s",
        SPOT_ONLY,
        &format!(
            "[spot]\ninterruption_rate = \"{rate}\"\nstop_timeout = \"30s\"\n[retry]\npolicy = \"custom\"\nmax_attempts = 100000\n[sweep]\nspot_share = \"0:100:25\"\nreplications = 40\nadaptive = false\n{objectives}"
        ),
        "schedule = { every = \"1d\" }\nduration = \"5h\"\nstartup = { provisioning = \"0s\", image_pull = \"0s\" }\ndeadline = \"30d\"",
    )
}

fn recommended_share(src: &str) -> Option<u32> {
    let s = scenario(src);
    let run = execute_all(&s);
    let rec = recommend(&run.result, &run.matrix, true);
    rec.candidate
        .map(|c| run.result.candidates[c].candidate.spot_share)
}

#[test]
fn interruptions_above_break_even_recommend_no_spot() {
    // λ·L = 0.5/h × 5 h = 2.5 > break-even ≈ 1.9 for an on-demand/spot price ratio of 3.14:
    // restarting from scratch on spot costs (e^{λL} − 1)/(λL) ≈ 4.5 times the work
    let src = restart_world("0.5/h", "");
    let s = scenario(&src);
    assert!(
        spotplan::scenario::warnings(&s)
            .iter()
            .any(|w| w.code == "interruptions-above-break-even")
    );
    assert_eq!(recommended_share(&src), Some(0));
}

#[test]
fn no_interruptions_and_loose_deadlines_recommend_all_spot() {
    let src = restart_world(
        "0/h",
        "[objectives]\nmax_deadline_miss = 0.01\nmax_crashed = 0.01",
    );
    assert_eq!(recommended_share(&src), Some(100));
}

#[test]
fn impossible_objectives_name_the_closest_miss() {
    let src = restart_world("0/h", "[objectives]\nmax_p95_latency = \"1h\"");
    let s = scenario(&src);
    let run = execute_all(&s);
    let rec = recommend(&run.result, &run.matrix, true);
    assert_eq!(rec.candidate, None);
    let closest = rec.closest.clone().unwrap();
    assert_eq!(closest.objective, "max_p95_latency");
    assert!(closest.upper >= 5.0 * 3600.0 && closest.limit == 3600.0);
    let text = spotplan::report::sweep::recommendation_text(&run.result, &rec, None);
    assert!(
        text.contains("no candidate meets every objective at 95% confidence."),
        "{text}"
    );
    // and `recommend` says so in its exit status: 3, distinct from bad input (1)
    let f = std::env::temp_dir().join(format!("spotplan-infeasible-{}.toml", std::process::id()));
    std::fs::write(&f, &src).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args(["recommend", f.to_str().unwrap(), "-q", "-n", "4"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_file(&f);
}

#[test]
fn racing_agrees_with_the_full_grid_at_a_fraction_of_the_cost() {
    let full_src = restart_world("0.5/h", "[objectives]\nmax_crashed = 0.05")
        .replace("spot_share = \"0:100:25\"", "spot_share = \"0:100:10\"")
        .replace("replications = 40", "replications = 80");
    let s_full = scenario(&full_src);
    let s_race = scenario(&full_src.replace("adaptive = false", "adaptive = true"));
    let (flag, tick) = ctl();
    let c = Control {
        cancel: &flag,
        tick: &tick,
    };
    let full = execute(&s_full, &s_full.sweep, None, &c).expect("rates");
    let race = execute(&s_race, &s_race.sweep, None, &c).expect("rates");
    let a = recommend(&full.result, &full.matrix, true).candidate;
    let b = recommend(&race.result, &race.matrix, true).candidate;
    assert_eq!(a, b);
    assert_eq!(full.result.search.cells_run, 11 * 80);
    assert!(
        race.result.search.cells_run * 3 < full.result.search.cells_run * 2,
        "{}",
        race.result.search.cells_run
    );
    assert!(race.result.search.saving > 1.0 / 3.0);
    assert!(!race.result.search.eliminated.is_empty());
}

#[test]
fn shards_merge_into_the_full_result_in_the_library() {
    for src in [restart_world("0.2/h", ""), two_flows("")] {
        shards_merge_into_the_full_result(&src);
    }
}

/// Three shards through JSON, merged, give the full run's JSON (per-deployment phase
/// included: `merge` runs it).
fn shards_merge_into_the_full_result(src: &str) {
    let s = scenario(src);
    let (flag, tick) = ctl();
    let c = Control {
        cancel: &flag,
        tick: &tick,
    };
    let full = execute(&s, &s.sweep, None, &c).expect("rates");
    let shards: Vec<ShardFile> = (0..3)
        .map(|i| {
            let run = execute(&s, &s.sweep, Some((i, 3)), &c).expect("rates");
            // through JSON, as between machines
            let text = serde_json::to_string(&ShardFile::of(&s, &s.sweep, &run, (i, 3))).unwrap();
            serde_json::from_str(&text).unwrap()
        })
        .collect();
    let merged = merge(&s, &shards).unwrap();
    assert_eq!(
        spotplan::report::sweep::json(&merged.result),
        spotplan::report::sweep::json(&full.result)
    );
    assert_eq!(
        merge(&s, &shards[..2]).err().unwrap().to_string(),
        "missing shard(s) 2/3"
    );
}

fn spotplan_cmd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn shards_merged_equal_the_unsharded_run_byte_for_byte() {
    let dir = std::env::temp_dir().join(format!("spotplan-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let grid = [
        "scenarios/prefect3-hourly-etl.toml",
        "-n",
        "6",
        "--horizon",
        "2d",
        "--spot-share",
        "0:100:50",
        "-q",
    ];
    let mut args = vec!["sweep"];
    args.extend(grid);
    args.extend(["--no-adaptive", "--format", "json"]);
    let full = spotplan_cmd(&args);
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    let mut files = Vec::new();
    for i in 0..4 {
        let shard = format!("{i}/4");
        let mut a = vec!["sweep"];
        a.extend(grid);
        a.extend(["--shard", &shard, "--out", dir.to_str().unwrap()]);
        let o = spotplan_cmd(&a);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        files.push(
            dir.join(format!("shard-{i}-of-4.json"))
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut m = vec!["merge", "--format", "json"];
    m.extend(files.iter().map(String::as_str));
    let merged = spotplan_cmd(&m);
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&merged.stdout),
        String::from_utf8_lossy(&full.stdout)
    );
    // from another working directory the shards still find their scenario (beside them, as
    // recorded), and the result is the same
    let elsewhere = Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args(&m)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        elsewhere.status.success(),
        "{}",
        String::from_utf8_lossy(&elsewhere.stderr)
    );
    assert_eq!(elsewhere.stdout, full.stdout);
    let mut missing = vec!["merge"];
    missing.extend(files.iter().take(3).map(String::as_str));
    let o = spotplan_cmd(&missing);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: missing shard(s) 3/4\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    assert_eq!(&b[12..16], b"IHDR");
    (
        u32::from_be_bytes(b[16..20].try_into().unwrap()),
        u32::from_be_bytes(b[20..24].try_into().unwrap()),
    )
}

#[test]
fn report_writes_valid_charts_whose_points_match_the_table() {
    let dir = std::env::temp_dir().join(format!("spotplan-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let o = spotplan_cmd(&[
        "report",
        "scenarios/prefect3-hourly-etl.toml",
        "-n",
        "20",
        "--horizon",
        "3d",
        "--no-adaptive",
        "-q",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let charts = [
        "cost-vs-reliability",
        "saving-vs-spot-share",
        "monthly-cost-histogram",
        "latency-cdf",
        "timeline",
    ];
    for c in charts {
        assert_eq!(png_size(&dir.join(format!("{c}.png"))), (1200, 800), "{c}");
        let svg = std::fs::read_to_string(dir.join(format!("{c}.svg"))).unwrap();
        let doc = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{c}.svg is not valid XML: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(
            doc.descendants().any(|n| n.tag_name().name() == "text"),
            "{c}.svg has no text"
        );
    }
    // the frontier's candidate markers are an affine image of the table's figures: each rate
    // at the reading where it is worst (as the table shows it), deadline misses in the first
    // panel and crashes in the second (the scenario has both objectives)
    let sweep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    let worst = |c: &serde_json::Value, metric: &str| {
        c["readings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[metric]["mean"].as_f64().unwrap())
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let table = |metric: &str| -> Vec<(f64, f64)> {
        sweep["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    100.0 * worst(c, metric),
                    c["metrics"]["cost_per_30d_usd"]["mean"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let svg = std::fs::read_to_string(dir.join("cost-vs-reliability.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let r = spotplan::report::charts::POINT_RADIUS.to_string();
    let px: Vec<(f64, f64)> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "circle" && n.attribute("r") == Some(r.as_str()))
        .map(|n| {
            (
                n.attribute("cx").unwrap().parse().unwrap(),
                n.attribute("cy").unwrap().parse().unwrap(),
            )
        })
        .collect();
    let n = sweep["candidates"].as_array().unwrap().len();
    assert_eq!(px.len(), 2 * n, "one marker per candidate in each panel");
    let fit = |d: &[f64], p: &[f64]| {
        let (i, j) = (0..d.len())
            .flat_map(|i| (0..d.len()).map(move |j| (i, j)))
            .max_by(|a, b| (d[a.1] - d[a.0]).abs().total_cmp(&(d[b.1] - d[b.0]).abs()))
            .unwrap();
        let a = (p[j] - p[i]) / (d[j] - d[i]);
        let b = p[i] - a * d[i];
        for k in 0..d.len() {
            assert!(
                (a * d[k] + b - p[k]).abs() <= 1.5,
                "point {k}: data {} → {} px, drawn at {}",
                d[k],
                a * d[k] + b,
                p[k]
            );
        }
        a
    };
    for (panel, metric) in [(0, "deadline_miss_rate"), (1, "crash_rate")] {
        let table = table(metric);
        let px = &px[panel * n..(panel + 1) * n];
        let xs: Vec<f64> = table.iter().map(|t| t.0).collect();
        let ys: Vec<f64> = table.iter().map(|t| t.1).collect();
        assert!(
            fit(&xs, &px.iter().map(|p| p.0).collect::<Vec<_>>()) > 0.0,
            "{metric} grows to the right"
        );
        assert!(
            fit(&ys, &px.iter().map(|p| p.1).collect::<Vec<_>>()) < 0.0,
            "cost grows upwards"
        );
    }

    // what each chart says in words: limits, labels, the current configuration, flow names,
    // percent ticks, and legend entries only for what is drawn
    let texts = |c: &str| -> Vec<String> {
        let svg = std::fs::read_to_string(dir.join(format!("{c}.svg"))).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        doc.descendants()
            .filter(|n| n.tag_name().name() == "text")
            .filter_map(|n| n.text().map(str::to_string))
            .collect()
    };
    let has = |c: &str, needle: &str| texts(c).iter().any(|t| t.contains(needle));
    let figs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("figures.json")).unwrap()).unwrap();
    assert!(figs["frontier"]["current"].is_object(), "the current point");
    assert_eq!(figs["frontier"]["limits"][0]["axis"], "x");
    for needle in [
        "max_deadline_miss 2.00%",
        "recommended",
        "current",
        "Pareto front",
    ] {
        assert!(
            has("cost-vs-reliability", needle),
            "frontier lacks {needle:?}"
        );
    }
    for p in sweep["candidates"].as_array().unwrap() {
        let retry = p["candidate"]["retry"].as_str().unwrap();
        assert!(has("cost-vs-reliability", retry), "legend lacks {retry}");
    }
    assert!(has("saving-vs-spot-share", "50%"), "percent ticks");
    assert!(
        !has("saving-vs-spot-share", "50.0"),
        "no bare numbers as ticks"
    );
    // a panel per deployment, each with its own deadline
    assert!(has("latency-cdf", "hourly-etl (deadline 55m 00s)"));
    assert!(has("latency-cdf", "hourly-report (deadline 30m 00s)"));
    assert!(has("monthly-cost-histogram", "current configuration"));
    assert!(has("timeline", "hourly-etl") && has("timeline", "hourly-report"));
    assert_eq!(
        figs["timeline"].as_array().unwrap().len(),
        2,
        "recommended and current"
    );
    for (kind, label) in [
        ("interrupted", "interruption"),
        ("rescheduled", "rescheduled / retried"),
        ("fallback_to_on_demand", "fallback to on-demand"),
        ("capacity_failure", "capacity failure"),
    ] {
        let drawn = figs["timeline"].as_array().unwrap().iter().any(|d| {
            d["marks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["kind"] == kind)
        });
        assert_eq!(has("timeline", label), drawn, "legend entry {label:?}");
    }

    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for c in charts {
        assert!(
            html.contains(&format!("<figure id=\"chart-{c}\"><svg")),
            "chart {c} inline"
        );
    }
    assert!(html.contains("<table id=\"candidates-table\">"));
    assert_eq!(html.matches("<tr class=").count(), n);
    for needle in [
        "placement",
        "network",
        "price source",
        "as of 2026-09-28",
        "seed",
        "spotplan 0.1.0",
        "What to do",
        "interruption model",
    ] {
        assert!(html.contains(needle), "report lacks {needle:?}");
    }
    for f in ["sweep.json", "sweep.csv", "recommendation.json"] {
        assert!(dir.join(f).exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn recommendation_file_carries_the_strategy_for_ecs_and_prefect() {
    let dir = std::env::temp_dir().join(format!("spotplan-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("recommendation.json");
    let o = spotplan_cmd(&[
        "recommend",
        "scenarios/prefect3-hourly-etl.toml",
        "-n",
        "20",
        "--horizon",
        "3d",
        "--retry",
        "prefect3-reschedule",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["format"], "spotplan-recommendation/1");
    let strat = &v["recommendation"]["ecs"]["capacityProviderStrategy"];
    assert!(
        strat
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["capacityProvider"].is_string()
                && i["weight"].is_u64()
                && i["base"].is_u64())
    );
    assert_eq!(
        v["recommendation"]["prefect_work_pool"]["capacity_provider_strategy"],
        *strat
    );
    assert_eq!(
        v["recommendation"]["prefect_work_pool"]["env"]["PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR"],
        "reschedule"
    );
    let text = String::from_utf8_lossy(&o.stdout);
    // the scenario's own mixed strategy (3:2, no base) under every reading: all of it on spot
    // under `per-call` (the largest weight takes every single-task call), about 60% under
    // the readings that split
    assert!(
        text.contains("your configuration (FARGATE_SPOT w3, FARGATE w2 ·"),
        "{text}"
    );
    let spot_of = |reading: &str| -> f64 {
        let table = &text[text.find("reading            cost/30d").unwrap()..];
        let line = table
            .lines()
            .find(|l| l.trim_start().starts_with(reading))
            .unwrap_or_else(|| panic!("no {reading} line in {text}"));
        let cols: Vec<&str> = line.split_whitespace().collect();
        cols[2].trim_end_matches('%').parse().unwrap()
    };
    assert_eq!(spot_of("per-call "), 100.0);
    let w = spot_of("weighted-random");
    assert!(w > 45.0 && w < 75.0, "{w}");
    let cur = &v["current"];
    // per-call and per-call-no-base are one reading without a base, and 3 : 2 is no tie;
    // spot capacity runs out here, so proportional-hold is its own reading
    let names: Vec<&str> = cur["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["placement"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "per-call",
            "weighted-random",
            "proportional",
            "proportional-hold"
        ]
    );
    assert!(cur["worst_reading"].is_string());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_grid_flags_exit_1_with_what_is_allowed() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--retry", "custom[fallback=1]"],
            "error: --retry: `custom[fallback=1]`: `fallback` is not a parameter of `custom`; allowed: `max_attempts`, `delay`, `backoff`, `max_delay`, `jitter`, `fallback_after`, `fallback_after_capacity`, `deadline_aware`, `deadline_rule`, `probe_every`\n",
        ),
        (
            &["--spot-share", "0:120:10"],
            "error: --spot-share: `120` is not a percentage (0–100)\n",
        ),
        (
            &["--shard", "4/4"],
            "error: --shard `4/4` is not `I/N` with 0 ≤ I < N, e.g. `0/4`\n",
        ),
        (
            &["--placement", "random"],
            "error: --placement: `random` is not a placement model; allowed: `robust`, `per-call`, `per-call-tie-later`, `per-call-no-base`, `weighted-random`, `proportional`, `proportional-hold`\n",
        ),
    ];
    for (flags, want) in cases {
        let mut a = vec!["sweep", "scenarios/prefect3-hourly-etl.toml"];
        a.extend(flags);
        let o = spotplan_cmd(&a);
        assert_eq!(o.status.code(), Some(1), "{flags:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), want);
    }
}

#[test]
fn sweep_section_errors_are_located() {
    let src = restart_world("0/h", "").replace(
        "spot_share = \"0:100:25\"",
        "spot_share = \"0:100:25\"\nretry = [\"prefect3\", \"lazarus\"]",
    );
    assert_eq!(
        load(&src).unwrap_err().to_string(),
        "error: test.toml:20:22: `sweep.retry[1]`: `lazarus` is not a retry policy; allowed: `prefect3`, `prefect3-reschedule`, `prefect1-lazarus`, `custom`"
    );
}

#[test]
fn ctrl_c_stops_a_sweep_cleanly_and_reports_what_finished() {
    let child = Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args([
            "sweep",
            "scenarios/high-frequency-small.toml",
            "--horizon",
            "365d",
            "-n",
            "1000",
            "--placement",
            "weighted-random",
            "--no-adaptive",
            "-q",
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("interrupted: "), "{err}");
    assert!(
        err.contains(" of 11000 candidate-replications finished"),
        "{err}"
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("INTERRUPTED (Ctrl-C): partial results"),
        "{table}"
    );
}

// ---- no silent zero; placement robustness -------------------------------------------------

#[test]
fn a_candidate_reaching_a_provider_without_rates_stops_the_sweep() {
    // bundled us-west-2 prices have no spot rates: the scenario itself (FARGATE only) is
    // valid, but the grid's 100% spot candidate would bill spot at an unknown price
    let src = r#"name = "west"
region = "us-west-2"
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
strategy = [{ provider = "FARGATE", weight = 1 }]
[network]
egress = "public-ip"
[sweep]
spot_share = "0,100"
replications = 4
[[flow]]
name = "job"
schedule = { every = "1h" }
duration = "10m"
"#;
    let s = scenario(src);
    let (flag, tick) = ctl();
    let e = match execute(
        &s,
        &s.sweep,
        None,
        &Control {
            cancel: &flag,
            tick: &tick,
        },
    ) {
        Ok(_) => panic!("a sweep reaching unpriced FARGATE_SPOT must not run"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("FARGATE_SPOT x86_64 in `us-west-2`: `spot_vcpu_hour`")
            && e.contains("FARGATE_SPOT x86_64 in `us-west-2`: `spot_gb_hour`")
            && e.contains("[pricing.rates]")
            && e.contains("spotplan pricing fetch --region us-west-2")
            && e.contains("never taken as 0"),
        "{e}"
    );
    // the same candidates with the rates given run, and spot costs money
    let priced = src.replace(
        "[sweep]",
        "[pricing.rates]\nspot_vcpu_hour = 0.0125\nspot_gb_hour = 0.0014\n[sweep]",
    );
    let run = execute_all(&scenario(&priced));
    let spot = &run.result.candidates[1].metrics;
    assert!(spot.cost_fargate_spot_usd.mean > 0.0);
}

/// A mixed strategy with a base on FARGATE: all on-demand under `per-call`, half on spot
/// under the other readings. Spot is interrupted often and `prefect3` crashes interrupted
/// runs, so whether it meets `max_crashed` depends on the reading alone.
fn flipping_world(placements: &str) -> String {
    world(
        "horizon = \"5d\"",
        "0s",
        SPOT_ONLY,
        &format!(
            "[network]\negress = \"public-ip\"\n[spot]\ninterruption_rate = \"2/h\"\n[retry]\npolicy = \"prefect3\"\n\
             [objectives]\nmax_crashed = 0.05\n\
             [sweep]\nspot_share = \"50\"\nbase = [1]\nplacement = {placements}\nreplications = 20\nadaptive = false"
        ),
        "schedule = { every = \"1h\" }\nduration = \"30m\"",
    )
}

#[test]
fn robust_placement_refuses_a_strategy_whose_feasibility_flips_between_readings() {
    let run = execute_all(&scenario(&flipping_world(
        "[\"per-call\", \"weighted-random\", \"robust\"]",
    )));
    let by = |name: &str| {
        run.result
            .candidates
            .iter()
            .find(|c| c.candidate.placement.name() == name)
            .unwrap_or_else(|| panic!("no {name} candidate"))
    };
    let (per_call, random, robust) = (by("per-call"), by("weighted-random"), by("robust"));
    assert!(
        per_call.feasible,
        "per-call: every run on FARGATE, none crashes"
    );
    assert_eq!(per_call.metrics.crash_rate.mean, 0.0);
    assert!(
        !random.feasible,
        "weighted-random: half the runs on spot, many crash"
    );
    assert!(!robust.feasible, "robust must take the worst reading");
    // all four readings simulated, the range shown, the worst reading's cost reported
    let names: Vec<&str> = robust
        .readings
        .iter()
        .map(|r| r.placement.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "per-call",
            "per-call-no-base",
            "weighted-random",
            "proportional"
        ]
    );
    assert!(robust.cost_range_per_30d_usd[0] < robust.cost_range_per_30d_usd[1]);
    assert_eq!(
        robust.metrics.cost_per_30d_usd.mean,
        robust.cost_range_per_30d_usd[1]
    );
    assert!(
        robust
            .checks
            .iter()
            .any(|c| c.objective == "max_crashed" && !c.met())
    );
    // paired with the per-call candidate on common random numbers: the per-call reading of
    // the robust candidate is the same simulation
    let pc = &robust.readings[0];
    assert_eq!(pc.cost_per_30d_usd, per_call.metrics.cost_per_30d_usd);
    let rec = recommend(&run.result, &run.matrix, true);
    assert_eq!(rec.candidate, Some(per_call.candidate.index));
}

#[test]
fn robust_simulates_a_one_provider_strategy_once() {
    let src = flipping_world("[\"robust\"]")
        .replace("spot_share = \"50\"\nbase = [1]", "spot_share = \"0,100\"");
    let run = execute_all(&scenario(&src));
    for c in &run.result.candidates {
        assert_eq!(c.readings.len(), 1, "{}", c.label);
    }
    assert_eq!(run.scenarios.len(), 2);
    // without a base, per-call and per-call-no-base coincide; at 50% the weights tie, so
    // the tie's other rounding is its own reading; spot capacity never runs out here, so
    // holding a failed call's turn is no reading of its own: four readings
    let src = flipping_world("[\"robust\"]").replace("base = [1]", "base = [0]");
    let run = execute_all(&scenario(&src));
    let names: Vec<&str> = run.result.candidates[0]
        .readings
        .iter()
        .map(|r| r.placement.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "per-call",
            "per-call-tie-later",
            "weighted-random",
            "proportional"
        ]
    );
    // at 60% no tie: three
    let src = src.replace("spot_share = \"50\"", "spot_share = \"60\"");
    let run = execute_all(&scenario(&src));
    assert_eq!(run.result.candidates[0].readings.len(), 3);
}

#[test]
fn robust_is_the_default_of_sweeps_and_simulate_says_which_reading_it_ran() {
    let src = flipping_world("[\"robust\"]")
        .replace("placement = [\"robust\"]\n", "")
        .replace(
            SPOT_ONLY,
            "[{ provider = \"FARGATE_SPOT\", weight = 1 }, { provider = \"FARGATE\", weight = 1 }]",
        );
    let s = scenario(&src);
    assert_eq!(
        s.sweep.placements,
        vec![spotplan::model::PlacementSpec::Robust]
    );
    let meta = spotplan::sweep::meta_of(&s, 1);
    assert!(
        meta.placement_note.contains("default (no placement named)"),
        "{}",
        meta.placement_note
    );
    assert!(
        spotplan::scenario::warnings(&s)
            .iter()
            .all(|w| w.code != "base-reading"),
        "the scenario's own strategy has no base"
    );
}

// ---- per-deployment strategies -----------------------------------------------------------

/// A long daily job with a tight deadline (5 h of work, 5.5 h to finish) and a short hourly
/// one that restarts cheaply, spot interrupted at 0.5 per task-hour.
fn two_flows(extra_sweep: &str) -> String {
    format!(
        r#"name = "two deployments"
region = "us-east-1"
[simulation]
horizon = "10d"
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
count = 0
strategy = [{{ provider = "FARGATE", weight = 1 }}]
[network]
egress = "vpc-endpoints"
[spot]
interruption_rate = "0.5/h"
[retry]
policy = "prefect3-reschedule"
[objectives]
# 200 deadline runs (20 replications of 10 daily runs) cannot show a rate below 1.3%, even
# with none missed: the limit allows what that sample can show
max_deadline_miss = 0.05
max_crashed = 0.01
[sweep]
spot_share = "0,50,100"
replications = 20
adaptive = false
{extra_sweep}
[[flow]]
name = "long"
schedule = {{ every = "1d" }}
duration = "5h"
deadline = "5h30m"
startup = {{ provisioning = "20s", image_pull = "20s" }}
[[flow]]
name = "short"
schedule = {{ every = "1h" }}
duration = "5m"
startup = {{ provisioning = "20s", image_pull = "20s" }}
"#
    )
}

/// `two_flows` with `k` copies of each flow (`long-0`, `short-0`, …), in an order that
/// interleaves them.
fn many_flows(k: usize) -> String {
    let src = two_flows("");
    let at = src.find("[[flow]]").unwrap();
    let (head, flows) = src.split_at(at);
    let mut blocks: Vec<&str> = flows
        .split("[[flow]]")
        .filter(|b| !b.trim().is_empty())
        .collect();
    blocks.sort();
    let mut out = head.to_string();
    for i in 0..k {
        for b in &blocks {
            let b = b.replacen("name = \"long\"", &format!("name = \"long-{i}\""), 1);
            let b = b.replacen("name = \"short\"", &format!("name = \"short-{i}\""), 1);
            out.push_str("[[flow]]");
            out.push_str(&b);
        }
    }
    out
}

#[test]
fn per_deployment_search_has_no_cliff_at_thirteen_deployments() {
    // 16 deployments (8 long jobs that must run on demand, 8 short ones that save on spot):
    // the old search stopped at 12 and answered "all on demand"
    let s = scenario(&many_flows(8).replace("replications = 20", "replications = 10"));
    assert_eq!(s.flows.len(), 16);
    let run = execute_all(&s);
    let r = &run.result;
    let rec = recommend(&r.clone(), &run.matrix, false);
    let best = &r.candidates[rec.candidate.expect("a recommendation")];
    assert!(best.feasible);
    assert_eq!(best.candidate.deployments.len(), 16, "{}", best.label);
    for (name, p) in best
        .candidate
        .flow_names
        .iter()
        .zip(&best.candidate.deployments)
    {
        let want = if name.starts_with("long") {
            spotplan::model::Provider::Fargate
        } else {
            spotplan::model::Provider::FargateSpot
        };
        assert_eq!(*p, want, "{name}: {}", best.label);
    }
    assert!(best.metrics.saving_usd.lower(0.95) > 0.0);
}

#[test]
fn per_deployment_strategies_beat_every_uniform_one_and_add_up_exactly() {
    let s = scenario(&two_flows(""));
    let run = execute_all(&s);
    let r = &run.result;
    let uniform: Vec<_> = r
        .candidates
        .iter()
        .filter(|c| c.candidate.deployments.is_empty())
        .collect();
    assert_eq!(uniform.len(), 3);
    // on demand meets the objectives; any spot share puts the long job on spot, where λ·L =
    // 2.5 makes it miss its deadline
    assert!(uniform[0].feasible);
    assert!(!uniform[1].feasible && !uniform[2].feasible);
    let rec = recommend(&r.clone(), &run.matrix, false);
    let best = &r.candidates[rec.candidate.expect("a recommendation")];
    assert_eq!(
        best.candidate.deployments,
        vec![
            spotplan::model::Provider::Fargate,
            spotplan::model::Provider::FargateSpot
        ],
        "{}",
        best.label
    );
    assert!(best.feasible);
    let v = rec.versus_uniform.clone().unwrap();
    assert!(
        v.starts_with("beats every feasible uniform candidate")
            && !v.contains("not statistically clear"),
        "{v}"
    );
    assert_eq!(rec.deployments.len(), 2);
    assert_eq!(
        rec.deployments[0].job_variables["capacity_provider_strategy"][0]["capacityProvider"],
        "FARGATE"
    );
    assert_eq!(
        rec.deployments[1].job_variables["capacity_provider_strategy"][0]["capacityProvider"],
        "FARGATE_SPOT"
    );
    // the joint run equals, replication by replication, the long flow's part of the
    // all-on-demand candidate plus the short flow's part of the all-spot one
    let od = &run.matrix.outcomes[uniform[0].variant];
    let spot = &run.matrix.outcomes[uniform[2].variant];
    let joint = &run.matrix.outcomes[best.variant];
    for rep in 0..20 {
        let (o, sp, j) = (
            od[rep].as_ref().unwrap(),
            spot[rep].as_ref().unwrap(),
            joint[rep].as_ref().unwrap(),
        );
        let fixed = o.cost_usd - o.flows.iter().map(|f| f.cost_usd).sum::<f64>();
        let composed = fixed + o.flows[0].cost_usd + sp.flows[1].cost_usd;
        assert!(
            (j.cost_usd - composed).abs() < 1e-9,
            "rep {rep}: {} vs {composed}",
            j.cost_usd
        );
        assert_eq!(j.flows[1], sp.flows[1]);
        assert_eq!(j.flows[0], o.flows[0]);
    }
    // hand computation of the long job on demand: 10 runs, each billed from its pull to its
    // stop (20 s pull + 5 s engine start-up + 5 h), no interruption
    let per_run = (20 + 5 + 5 * 3600) as f64 / 3600.0 * (0.04048 + 2.0 * 0.004445);
    let long = &joint[0].as_ref().unwrap().flows[0];
    assert_eq!((long.runs, long.deadline_misses), (10, 0));
    assert!(
        (long.cost_usd - 10.0 * per_run).abs() < 1e-9,
        "{}",
        long.cost_usd
    );
    // the search says what it did
    assert!(
        r.search.deployments.note.contains("separable"),
        "{}",
        r.search.deployments.note
    );
    // one selection per retry policy, its pick met the objectives jointly at once
    assert!(r.search.deployments.screened >= 3);
    assert_eq!(r.search.deployments.added, 1);
    assert!(r.search.deployments.gaps.is_empty() && r.search.deployments.rejected.is_empty());
    // and can be turned off
    let off = execute_all(&scenario(&two_flows("per_deployment = false")));
    assert!(
        off.result
            .candidates
            .iter()
            .all(|c| c.candidate.deployments.is_empty())
    );
}

#[test]
fn a_merged_sweep_assumes_the_objectives_the_unsharded_one_assumes() {
    // long-checkpointed states no [objectives]: the sweep assumes crashed ≤ 1% and deadline
    // misses ≤ 1%, and so must `merge` (it once judged every candidate against none)
    let dir =
        std::env::temp_dir().join(format!("spotplan-merge-objectives-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = "scenarios/long-checkpointed.toml";
    // plain prefect3 crashes an interrupted run: far above 1% on spot
    let flags = [
        "--horizon",
        "2d",
        "--replications",
        "10",
        "--retry",
        "prefect3,prefect3-reschedule",
        "--no-adaptive",
        "--quiet",
    ];
    let mut shards = Vec::new();
    for i in 0..2 {
        let out = dir.join(format!("s{i}"));
        let shard = format!("{i}/2");
        let mut args = vec![
            "sweep",
            file,
            "--shard",
            &shard,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(flags);
        let o = spotplan(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        shards.push(out.join(format!("shard-{i}-of-2.json")));
    }
    let mut args = vec!["merge", "--format", "json"];
    args.extend(shards.iter().map(|p| p.to_str().unwrap()));
    let merged: serde_json::Value = serde_json::from_str(&stdout(&spotplan(&args))).unwrap();
    let mut args = vec!["sweep", file, "--format", "json"];
    args.extend(flags);
    let full: serde_json::Value = serde_json::from_str(&stdout(&spotplan(&args))).unwrap();
    let feasible = |v: &serde_json::Value| -> Vec<bool> {
        v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["feasible"].as_bool().unwrap())
            .collect()
    };
    assert!(
        feasible(&full).contains(&false),
        "the test needs an infeasible candidate"
    );
    assert_eq!(feasible(&merged), feasible(&full));
    assert_eq!(merged["candidates"], full["candidates"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn racing_skips_mixed_weights_that_a_one_provider_candidate_dominates_under_robust() {
    // a spot-interrupted scenario under `robust`: the full grid shows what racing skips
    let (s, mut spec, full) = shipped_sweep("scenarios/prefect3-hourly-etl.toml", 3, 12);
    spec.adaptive = true;
    let (flag, tick) = ctl();
    let c = Control {
        cancel: &flag,
        tick: &tick,
    };
    let raced = execute(&s, &spec, None, &c).unwrap();
    let dominated: Vec<(usize, usize)> = raced
        .result
        .search
        .eliminated
        .iter()
        .filter(|e| e.after == 0)
        .map(|e| {
            assert!(
                e.reason.starts_with("dominated by candidate "),
                "{}",
                e.reason
            );
            let by = e.reason["dominated by candidate ".len()..]
                .split(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (e.candidate, by)
        })
        .collect();
    assert!(dominated.len() >= 10, "{}", dominated.len());
    let cands = &full.result.candidates;
    for (c, by) in dominated {
        let (mixed, one) = (&cands[c], &cands[by]);
        assert!(one.candidate.deployments.is_empty() && one.readings.len() == 1);
        // its per-call reading is the same simulation as the one-provider candidate
        let per_call = mixed
            .readings
            .iter()
            .find(|r| r.placement == "per-call")
            .unwrap();
        // (but for the engine's own event count: a strategy that can reach spot also
        // simulates spot's outages, which no task of this reading meets)
        let strip = |v: usize| -> Vec<_> {
            full.matrix.outcomes[v]
                .iter()
                .map(|o| {
                    let mut o = o.clone().unwrap();
                    o.events = 0;
                    o
                })
                .collect()
        };
        assert!(
            strip(per_call.variant) == strip(one.variant),
            "{} vs {}",
            mixed.label,
            one.label
        );
        // so at its worst reading it costs at least as much, and it is feasible only where
        // the one-provider candidate is
        assert!(mixed.metrics.cost_per_30d_usd.mean >= one.metrics.cost_per_30d_usd.mean);
        assert!(!mixed.feasible || one.feasible);
    }
    // and the recommendation is the one the full grid gives
    let a = recommend(&full.result, &full.matrix, false).candidate;
    let b = recommend(&raced.result, &raced.matrix, false).candidate;
    assert_eq!(a, b);
}

#[test]
fn assumed_objectives_are_relative_to_all_on_demand_per_deployment() {
    // the article's workload misses about 2% of its deadlines even all on demand (its own
    // tail): the old absolute 1% made every candidate infeasible
    let o = spotplan(&[
        "recommend",
        "scenarios/article-prefect3-reschedule.toml",
        "-n",
        "20",
        "--horizon",
        "10d",
        "-q",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let obj = &v["meta"]["objectives"];
    assert_eq!(obj["deployment_guard"], 0.005);
    assert!(obj["max_deadline_miss"].is_null() && obj["max_crashed"].is_null());
    assert!(
        obj["assumed"]
            .as_str()
            .unwrap()
            .contains("0.5 points above all on demand")
    );
    assert!(
        v["recommendation"]["candidate"].is_u64(),
        "{}",
        v["recommendation"]
    );
    // all on demand misses more than 1% of its deadlines and is still feasible: the
    // deadline, not spot, is the problem
    let od = spotplan(&[
        "sweep",
        "scenarios/article-prefect3-reschedule.toml",
        "-n",
        "20",
        "--horizon",
        "10d",
        "--spot-share",
        "0",
        "--retry",
        "prefect3-reschedule",
        "-q",
        "--format",
        "json",
    ]);
    assert!(od.status.success(), "{}", stderr(&od));
    let s: serde_json::Value = serde_json::from_str(&stdout(&od)).unwrap();
    let c = &s["candidates"][0];
    assert!(c["metrics"]["deadline_miss_rate"]["mean"].as_f64().unwrap() > 0.01);
    assert_eq!(c["feasible"], true);
}

#[test]
fn the_deployment_guard_holds_each_deployment_to_all_on_demand() {
    // platform-wide objectives loose enough for the long job on spot; the guard is not
    let src = two_flows("").replace(
        "max_deadline_miss = 0.05\nmax_crashed = 0.01",
        "max_deadline_miss = 0.99\nmax_crashed = 0.99",
    );
    let path = std::env::temp_dir().join(format!("spotplan-guard-{}.toml", std::process::id()));
    std::fs::write(&path, &src).unwrap();
    let spot_all = |flags: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "sweep",
            path.to_str().unwrap(),
            "--spot-share",
            "100",
            "-q",
            "--format",
            "json",
        ];
        args.extend(flags);
        let o = spotplan(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["candidates"][0].clone()
    };
    let guarded = spot_all(&[]);
    assert_eq!(guarded["feasible"], false);
    // a default that changes the answer is said in the header
    let head = stdout(&spotplan(&[
        "sweep",
        path.to_str().unwrap(),
        "--spot-share",
        "100",
        "-q",
    ]));
    assert!(
        head.contains("assumed: deployment guard: beside the stated objectives"),
        "{head}"
    );
    let miss = &guarded["deployment_guard"][0];
    assert_eq!(miss["deployment"], "long");
    assert!(miss["lower"].as_f64().unwrap() > 0.005);
    let off = spot_all(&["--no-deployment-guard"]);
    assert_eq!(off["feasible"], true, "{}", off["checks"]);
    assert!(off.get("deployment_guard").is_none());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_change_that_is_not_material_is_not_advised() {
    let dir = std::env::temp_dir().join(format!("spotplan-material-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("rec.json");
    // today all on demand, which meets the objectives; the short flow saves on spot
    let file = dir.join("two.toml");
    std::fs::write(&file, two_flows("")).unwrap();
    let rec = |materiality: &str| {
        spotplan(&[
            "recommend",
            file.to_str().unwrap(),
            "-q",
            // (the short flow's spot crashes are within the loose platform objectives)
            "--no-deployment-guard",
            "--materiality",
            materiality,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    // by default the pick saves clearly more than 1% of the bill and 1 USD: advised
    let o = rec("1%,1");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("what to do: run #"),
        "{}",
        stdout(&o)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let cur = &v["current"];
    assert_eq!(cur["keep"], false);
    assert_eq!(cur["feasible"], true);
    let saving = cur["saving_lower_usd"].as_f64().unwrap();
    assert!(saving >= cur["material_usd"].as_f64().unwrap());
    // a threshold above that saving: keep the current configuration, and say why
    let o = rec(&format!("1%,{}", saving + 1.0));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("what to do: keep your current configuration"),
        "{text}"
    );
    assert!(text.contains("below the"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["current"]["keep"], true);
    // and nothing deploys the change it does not advise
    let e = spotplan(&[
        "emit",
        out.to_str().unwrap(),
        "--out",
        dir.join("emitted").to_str().unwrap(),
    ]);
    assert_eq!(e.status.code(), Some(1));
    assert!(
        stderr(&e).contains("advises keeping your current configuration"),
        "{}",
        stderr(&e)
    );
    assert!(!dir.join("emitted").exists());
    // a bad threshold is refused
    let o = rec("lots");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--materiality `lots`"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn insurance_names_the_cheapest_clearly_more_reliable_option_and_its_price() {
    let (_, _, run) = shipped_sweep("scenarios/article-prefect3-reschedule.toml", 10, 20);
    let rec = recommend(&run.result, &run.matrix, false);
    let best = rec.candidate.expect("a pick");
    let x = rec.insurance.expect("an insurance option");
    let cands = &run.result.candidates;
    assert!(cands[x.candidate].feasible && x.candidate != best);
    // recomputed from the matrix: clearly fewer crashes or misses, the other no worse, dearer
    let (a, b) = (
        &run.matrix.outcomes[cands[best].variant],
        &run.matrix.outcomes[cands[x.candidate].variant],
    );
    let d = |f: fn(&spotplan::sim::RunOutcome) -> f64| -> Vec<f64> {
        a.iter()
            .zip(b)
            .map(|(a, b)| f(b.as_ref().unwrap()) - f(a.as_ref().unwrap()))
            .collect()
    };
    let crash = spotplan::sweep::Stat::of(&d(|o| o.crash_rate()));
    let miss = spotplan::sweep::Stat::of(&d(|o| o.deadline_miss_rate()));
    assert_eq!(crash, x.crash_rate_change);
    assert_eq!(miss, x.deadline_miss_change);
    assert!(
        (crash.ci95_high < 0.0 && miss.mean <= 0.0) || (miss.ci95_high < 0.0 && crash.mean <= 0.0)
    );
    assert!(x.extra_cost_per_30d_usd.mean > 0.0);
    // and no cheaper feasible candidate than it (other than the pick) is clearly more reliable
    let cost = |i: usize| cands[i].metrics.cost_per_30d_usd.mean;
    for i in (0..cands.len()).filter(|&i| {
        i != best && cands[i].feasible && cands[i].deployable && cost(i) < cost(x.candidate)
    }) {
        let r = &run.matrix.outcomes[cands[i].variant];
        let c: Vec<f64> = a
            .iter()
            .zip(r)
            .map(|(a, b)| b.as_ref().unwrap().crash_rate() - a.as_ref().unwrap().crash_rate())
            .collect();
        let m: Vec<f64> = a
            .iter()
            .zip(r)
            .map(|(a, b)| {
                b.as_ref().unwrap().deadline_miss_rate() - a.as_ref().unwrap().deadline_miss_rate()
            })
            .collect();
        let (c, m) = (spotplan::sweep::Stat::of(&c), spotplan::sweep::Stat::of(&m));
        assert!(!((c.ci95_high < 0.0 && m.mean <= 0.0) || (m.ci95_high < 0.0 && c.mean <= 0.0)));
    }
}

#[test]
fn the_recommendation_says_why_per_deployment() {
    let dir = std::env::temp_dir().join(format!("spotplan-why-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("two.toml");
    std::fs::write(&file, two_flows("")).unwrap();
    let run = |format: &str| {
        let o = spotplan(&[
            "recommend",
            file.to_str().unwrap(),
            "-q",
            "--no-deployment-guard",
            "--format",
            format,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let v: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let rows = v["current"]["deployments"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let (long, short) = (&rows[0], &rows[1]);
    assert_eq!(long["deployment"], "long");
    assert_eq!(long["today"], long["pick"]);
    assert!(short["pick"].as_str().unwrap().starts_with("FARGATE_SPOT"));
    assert!(short["today"].as_str().unwrap().starts_with("FARGATE w1"));
    // the moved deployment is where the saving comes from
    let c = |r: &serde_json::Value, i: usize| r["cost_per_30d_usd"][i].as_f64().unwrap();
    assert_eq!(c(long, 0), c(long, 1));
    assert!(c(short, 1) < c(short, 0));
    let saving = -v["current"]["rows"][0]["b_minus_a"]["mean"]
        .as_f64()
        .unwrap();
    assert!(
        (saving - (c(short, 0) - c(short, 1))).abs() < 1e-6,
        "{saving}"
    );
    let text = run("text");
    assert!(text.contains("why, per deployment"), "{text}");
    assert!(text.contains("OD w1 → SPOT w1"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_bill_is_composed_of_its_parts_and_its_largest_is_said() {
    for file in [
        "scenarios/prefect3-hourly-etl.toml",
        "scenarios/nightly-batch-deadline.toml",
    ] {
        let o = spotplan(&[
            "simulate",
            file,
            "-n",
            "5",
            "--horizon",
            "3d",
            "--format",
            "json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let m = &v["metrics"];
        let mean = |k: &str| m[k]["mean"].as_f64().unwrap();
        let parts = [
            "cost_worker_usd",
            "cost_fargate_usd",
            "cost_fargate_spot_usd",
            "cost_public_ipv4_usd",
            "cost_nat_usd",
            "cost_vpc_endpoints_usd",
        ];
        let sum: f64 = parts.iter().map(|k| mean(k)).sum();
        assert!(
            (sum - mean("cost_usd")).abs() < 1e-9,
            "{file}: {sum} vs {}",
            mean("cost_usd")
        );
        let text = stdout(&spotplan(&[
            "simulate",
            file,
            "-n",
            "5",
            "--horizon",
            "3d",
            "-q",
        ]));
        let line = text
            .split("bill per 30 days: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{text}"));
        let largest = parts
            .iter()
            .max_by(|a, b| mean(a).total_cmp(&mean(b)))
            .unwrap();
        let name = match *largest {
            "cost_worker_usd" => "worker",
            "cost_fargate_usd" => "flows on FARGATE",
            "cost_fargate_spot_usd" => "flows on FARGATE_SPOT",
            "cost_public_ipv4_usd" => "public IPv4",
            "cost_nat_usd" => "NAT",
            _ => "interface endpoints",
        };
        assert!(line.starts_with(name), "{file}: {line}");
    }
}

#[test]
fn a_rows_numbers_never_contradict_its_flag() {
    let (s, _, run) = shipped_sweep("scenarios/prefect3-hourly-etl.toml", 5, 20);
    let o = &s.objectives;
    let (mut feasible, mut infeasible) = (0, 0);
    for c in &run.result.candidates {
        // the table's cells: each rate at the reading where it is worst
        let crash = c.worst_of(|r| &r.crash_rate).0;
        let miss = c.worst_of(|r| &r.deadline_miss_rate).0;
        if c.feasible {
            feasible += 1;
            assert!(crash <= o.max_crashed.unwrap(), "{}: {crash}", c.label);
            assert!(miss <= o.max_deadline_miss.unwrap(), "{}: {miss}", c.label);
        } else {
            infeasible += 1;
            // and an infeasible row shows why
            let text =
                spotplan::report::sweep::table(&run.result, spotplan::report::sweep::TABLE_COLUMNS);
            assert!(
                c.checks.iter().any(|x| !x.met())
                    || !c.deployment_guard.is_empty()
                    || c.eliminated.is_some(),
                "{}",
                c.label
            );
            assert!(text.contains("X misses an objective"));
        }
    }
    assert!(feasible > 0 && infeasible > 0);
    // the CSV and the page show the same cells, each naming its reading, and every
    // infeasible row's reason
    let csv = spotplan::report::sweep::csv(&run.result).unwrap();
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let head = rdr.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    for (c, row) in run.result.candidates.iter().zip(rdr.records()) {
        let row = row.unwrap();
        let (st, reading) = c.deciding("crash_rate");
        assert_eq!(row[col("crash_rate_mean")].parse::<f64>().unwrap(), st.mean);
        assert_eq!(&row[col("crash_rate_reading")], reading.as_str());
        assert_eq!(st.mean, c.worst_of(|r| &r.crash_rate).0);
        assert_eq!(
            row[col("why_not_feasible")].is_empty(),
            c.feasible,
            "{}",
            c.label
        );
        if c.feasible {
            assert!(st.mean <= o.max_crashed.unwrap(), "{}", c.label);
        }
    }
    // the cost-worst reading is not always the rate-worst one: the old table showed the
    // former's rates
    assert!(run.result.candidates.iter().any(|c| {
        c.worst_of(|r| &r.crash_rate).1 != c.worst_reading
            && c.worst_of(|r| &r.crash_rate).0 > c.metrics.crash_rate.mean
    }));
}

#[test]
fn a_deployment_is_not_moved_to_a_less_reliable_option_for_pennies() {
    // a third deployment, once a day for a minute with a slow pull: spot saves it cents per
    // month and crashes some of its runs (an interruption during the pull)
    let src = two_flows("").replace("replications = 20", "replications = 30")
        + r#"
[[flow]]
name = "tiny"
schedule = { every = "1d" }
duration = "1m"
startup = { provisioning = "20s", image_pull = "2m" }
"#;
    let s = scenario(&src);
    let run = execute_all(&s);
    let r = &run.result;
    // on its own figures spot is cheaper and less reliable for `tiny`
    let uniform: Vec<_> = r
        .candidates
        .iter()
        .filter(|c| c.candidate.deployments.is_empty())
        .collect();
    let (od, spot) = (
        &run.matrix.outcomes[uniform[0].variant],
        &run.matrix.outcomes[uniform[2].variant],
    );
    let part = |w: &Vec<Option<spotplan::sim::RunOutcome>>,
                f: fn(&spotplan::sim::FlowOutcome) -> f64| {
        w.iter()
            .map(|o| f(&o.as_ref().unwrap().flows[2]))
            .sum::<f64>()
    };
    assert!(part(spot, |x| x.cost_usd) < part(od, |x| x.cost_usd));
    assert!(part(spot, |x| x.crashed_or_failed as f64) > part(od, |x| x.crashed_or_failed as f64));
    let saving_per_30d = (part(od, |x| x.cost_usd) - part(spot, |x| x.cost_usd)) / 30.0 * 3.0;
    assert!(saving_per_30d < 1.0, "{saving_per_30d}");
    // the pick moves `short` (it saves dollars) and leaves `tiny` on demand
    let rec = recommend(&r.clone(), &run.matrix, false);
    let best = &r.candidates[rec.candidate.expect("a pick")];
    use spotplan::model::Provider::{Fargate, FargateSpot};
    assert_eq!(
        best.candidate.deployments,
        vec![Fargate, FargateSpot, Fargate],
        "{}",
        best.label
    );
}

#[test]
fn an_impossible_cost_objective_names_the_cheapest_achievable_cost() {
    let src = restart_world("0/h", "[objectives]\nmax_monthly_cost = 0.01");
    let s = scenario(&src);
    let run = execute_all(&s);
    let rec = recommend(&run.result, &run.matrix, true);
    assert_eq!(rec.candidate, None);
    let c = rec.closest.clone().unwrap();
    assert_eq!(c.objective, "max_monthly_cost");
    // the cheapest achievable: the lowest cost bound of any candidate, never above the one named
    let cheapest = run
        .result
        .candidates
        .iter()
        .filter(|x| x.replications >= 2)
        .filter_map(|x| x.checks.iter().find(|k| k.objective == "max_monthly_cost"))
        .map(|k| k.upper)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(c.best, cheapest);
    assert!(c.best <= c.upper);
    let text = spotplan::report::sweep::recommendation_text(&run.result, &rec, None);
    assert!(
        text.replace("\n  ", " ")
            .contains("the best any candidate reaches on it is"),
        "{text}"
    );
}

#[test]
fn how_sure_the_pick_is_at_each_end_of_the_interruption_rate() {
    // a 5 h job restarted from scratch: at 0.2/h (λL = 1) spot saves; at twice that (λL = 2,
    // past the break-even of about 1.9) it costs more than on demand
    let src = restart_world("0.2/h", "[objectives]\nmax_crashed = 0.01")
        .replace(SPOT_ONLY, r#"[{ provider = "FARGATE", weight = 1 }]"#);
    let s = scenario(&src);
    let run = execute_all(&s);
    let rec = recommend(&run.result, &run.matrix, true);
    let pick = rec.candidate.unwrap();
    assert_eq!(run.result.candidates[pick].candidate.spot_share, 100);
    let (cur, today_costs) = spotplan::sweep::compare::current(
        &s,
        &run,
        Some(pick),
        spotplan::sweep::compare::Materiality::default(),
    );
    let sens =
        spotplan::sweep::sensitivity::of(&s, &run, Some(pick), &cur.worst_reading, &today_costs);
    // on demand today: reusing its costs gives what simulating it again at each end gives
    let again = spotplan::sweep::sensitivity::of(&s, &run, Some(pick), &cur.worst_reading, &[]);
    assert_eq!(sens, again);
    assert_eq!(sens.len(), 1, "no capacity outages: one parameter");
    let p = &sens[0];
    assert_eq!(p.parameter, "interruption rate");
    let (low, high) = (&p.ends[0], &p.ends[1]);
    assert_eq!((low.factor, high.factor), (0.5, 2.0));
    assert_eq!(
        (low.value.as_str(), high.value.as_str()),
        ("0.1/h", "0.4/h")
    );
    // the stated rate's saving, paired against today (on demand), lies between the ends'
    let stated = -cur.row("cost_per_30d_usd").unwrap().b_minus_a.mean;
    assert!(
        low.saving_per_30d_usd.mean > stated && stated > 0.0 && high.saving_per_30d_usd.mean < 0.0,
        "{} > {stated} > 0 > {}",
        low.saving_per_30d_usd.mean,
        high.saving_per_30d_usd.mean
    );
    assert!(low.pick_feasible && low.misses.is_empty());
    let text = spotplan::report::sweep::sensitivity_lines(&sens);
    assert!(
        text.contains("interruption rate 0.2/h → 0.4/h (×2)"),
        "{text}"
    );
    assert!(text.contains("costs more by"), "{text}");
}

#[test]
fn a_stated_interval_gives_the_ends_of_how_sure() {
    // the interval `calibrate` writes with the rate: its ends, not x0.5 and x2
    let src = restart_world("0.2/h", "[objectives]\nmax_crashed = 0.01")
        .replace(SPOT_ONLY, r#"[{ provider = "FARGATE", weight = 1 }]"#)
        .replace(
            "interruption_rate = \"0.2/h\"",
            r#"interruption_rate = { value = "0.2/h", ci95 = ["0.15/h", "0.3/h"] }"#,
        );
    let s = scenario(&src);
    assert_eq!(s.spot.rate.per_hour, 0.2);
    assert_eq!(s.spot.rate_ci95, Some([0.15, 0.3]));
    let run = execute_all(&s);
    let rec = recommend(&run.result, &run.matrix, true);
    let pick = rec.candidate.unwrap();
    let (cur, today) = spotplan::sweep::compare::current(
        &s,
        &run,
        Some(pick),
        spotplan::sweep::compare::Materiality::default(),
    );
    let sens = spotplan::sweep::sensitivity::of(&s, &run, Some(pick), &cur.worst_reading, &today);
    let p = &sens[0];
    assert_eq!(p.range, spotplan::sweep::sensitivity::STATED);
    let (low, high) = (&p.ends[0], &p.ends[1]);
    assert_eq!(
        (low.value.as_str(), high.value.as_str()),
        ("0.15/h", "0.3/h")
    );
    // each end is the rate stated alone: the same figures as a scenario that says 0.15/h
    let at_low = scenario(&src.replace(
        r#"{ value = "0.2/h", ci95 = ["0.15/h", "0.3/h"] }"#,
        "\"0.15/h\"",
    ));
    let again =
        spotplan::sweep::sensitivity::of(&at_low, &run, Some(pick), &cur.worst_reading, &[]);
    assert_eq!(again[0].ends[1].value, "0.3/h", "x2 of 0.15/h");
    assert!(low.saving_per_30d_usd.mean > high.saving_per_30d_usd.mean);
    let text = spotplan::report::sweep::sensitivity_lines(&sens);
    assert!(
        text.contains("interruption rate 0.2/h → 0.15/h (its 95% interval's low end)"),
        "{text}"
    );
    // an interval that does not hold the value, and one capacity interval, are refused
    for (bad, msg) in [
        (
            r#"{ value = "0.2/h", ci95 = ["0.25/h", "0.3/h"] }"#,
            "must hold the value 0.2/h",
        ),
        (
            r#"{ value = "0.2/h", ci95 = ["0.1/h", "x"] }"#,
            "is not a rate",
        ),
    ] {
        let e = load(&src.replace(r#"{ value = "0.2/h", ci95 = ["0.15/h", "0.3/h"] }"#, bad))
            .unwrap_err()
            .to_string();
        assert!(e.contains(msg), "{e}");
    }
    let e = load(&src.replace(
        "stop_timeout = \"30s\"",
        "stop_timeout = \"30s\"\ncapacity = { unavailable = 0.1, mean_outage = \"20m\", unavailable_ci95 = [0.2, 0.3] }",
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("must hold `unavailable` (0.1)"), "{e}");
}

/// Three retry policies at one spot share: cut to 28 columns, two labels read alike
/// (`spot 60% · robust · prefect…`), so the table gives those in full under it; every line
/// still fits 100 columns.
#[test]
fn sweep_labels_cut_alike_are_given_in_full() {
    let args = [
        "sweep",
        "scenarios/prefect3-hourly-etl.toml",
        "--retry",
        "prefect3,prefect3-reschedule,prefect3[fallback=automation]",
        "--spot-share",
        "60",
        "-n",
        "10",
        "--horizon",
        "2d",
        "-q",
    ];
    let o = spotplan_cmd(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let legend = &out[out
        .find("candidates whose labels are cut alike, in full:\n")
        .unwrap_or_else(|| panic!("no legend in {out}"))..];
    assert!(
        legend.contains("    1 spot 60% · robust · prefect3-reschedule\n"),
        "{legend}"
    );
    assert!(
        legend.contains("    2 spot 60% · robust · prefect3[fallback=automation]\n"),
        "{legend}"
    );
    // a label that reads as no other is not repeated
    assert!(!legend.contains("    0 spot 60%"), "{legend}");
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
    // between 100 columns and --wide: --width gives the labels the extra columns, so none is
    // cut and no legend is needed; every line within the width
    let o = spotplan_cmd(&[&args[..], &["--width", "130"]].concat());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(" spot 60% · robust · prefect3[fallback=automation] "),
        "{out}"
    );
    assert!(!out.contains("cut alike"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 130), "{out}");
    assert!(out.lines().any(|l| l.chars().count() > 100), "{out}");
    // out of range: refused in words
    let o = spotplan_cmd(&[
        "sweep",
        "scenarios/prefect3-hourly-etl.toml",
        "--width",
        "99",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("99 is not in 100..=400"));
}

/// The page's decision against the figures it is made of: the headline's saving is today's
/// cost less the pick's, the bars add up to the options' costs, the changed deployments are
/// those the recommendation file moves (the generated platform runs all on demand today, so a
/// deployment moves when its job variables put it on FARGATE_SPOT), largest saving first.
#[test]
fn the_decision_adds_up_to_the_figures_it_is_made_of() {
    let dir = std::env::temp_dir().join(format!("spotplan-decision-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("p6.toml");
    std::fs::write(&file, spotplan::scenario::generate::platform(6, 3)).unwrap();
    let out = dir.join("out");
    let o = spotplan_cmd(&[
        "report",
        file.to_str().unwrap(),
        "-n",
        "20",
        "--horizon",
        "3d",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(f)).unwrap()).unwrap()
    };
    let (d, rec) = (read("decision.json"), read("recommendation.json"));
    let option = |name: &str| {
        d["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no option {name}: {d}"))
            .clone()
    };
    let cost = |name: &str| option(name)["cost_per_30d_usd"].as_f64().unwrap();
    let saving = cost("today") - cost("the pick");
    let headline = d["headline"].as_str().unwrap();
    assert!(
        headline.contains(&format!("saves {} a month", spotplan::units::money(saving))),
        "{headline} / {saving}"
    );
    let total = |k: usize| -> f64 {
        d["bills"][k]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["usd"].as_f64().unwrap())
            .sum()
    };
    assert!(
        (total(0) - cost("today")).abs() < 1e-6 * cost("today"),
        "{d}"
    );
    // the pick's bar is its own replications' bill; its column is paired on today's
    assert!(
        (total(1) - cost("the pick")).abs() < 0.02 * cost("the pick"),
        "{d}"
    );
    let moved = rec["recommendation"]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["job_variables"].to_string().contains("FARGATE_SPOT"))
        .count();
    assert!(moved > 0);
    assert!(
        headline.starts_with(&format!("Move {moved} of 6 deployments to Fargate Spot")),
        "{headline}: {moved} moved"
    );
    let changed = d["changed"].as_array().unwrap();
    assert_eq!(changed.len() + d["unchanged"].as_u64().unwrap() as usize, 6);
    let savings: Vec<f64> = changed
        .iter()
        .map(|c| c["saving_per_30d_usd"].as_f64().unwrap())
        .collect();
    assert!(savings.windows(2).all(|w| w[0] >= w[1]), "{savings:?}");
    for c in changed {
        assert_ne!(c["today"], c["pick"]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
