//! Objectives per deployment: each deployment held to its own limits, an unreachable one named
//! and set aside without blocking the others, and picks that do not depend on the rest of the
//! file.

use crate::common::{load, spotplan, stderr, stdout};

/// Four hourly-ish deployments on a platform where spot crashes about 10% of plain `prefect3`
/// runs; `critical` allows 0.2% crashed; `late` has a deadline shorter than its work.
fn platform(critical: &str, extra_flow_first: &str, platform_objectives: &str) -> String {
    format!(
        r#"name = "deployment objectives"
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
interruption_rate = "0.3/h"
[retry]
policy = "prefect3"
{platform_objectives}
[sweep]
spot_share = "0,100"
replications = 20
{extra_flow_first}
[[flow]]
name = "etl-a"
schedule = {{ every = "1h" }}
duration = "20m"
cpu = "2 vCPU"
memory = "4 GB"
[[flow]]
name = "critical"
schedule = {{ every = "1h" }}
duration = "20m"
cpu = "2 vCPU"
memory = "4 GB"
{critical}
[[flow]]
name = "etl-b"
schedule = {{ every = "1h", offset = "30m" }}
duration = "20m"
cpu = "2 vCPU"
memory = "4 GB"
[[flow]]
name = "late"
schedule = {{ every = "6h" }}
duration = "20m"
deadline = "10m"
cpu = "2 vCPU"
memory = "4 GB"
objectives = {{ max_deadline_miss = 0.01 }}
"#
    )
}

/// `recommend` on `src` (text and JSON), with `args`.
fn recommend(src: &str, args: &[&str]) -> (String, serde_json::Value) {
    let f = std::env::temp_dir().join(format!(
        "spotplan-objectives-{}-{:x}.toml",
        std::process::id(),
        src.len() ^ args.len() << 20
    ));
    std::fs::write(&f, src).unwrap();
    let path = f.to_str().unwrap();
    let mut a = vec!["recommend", path, "-q"];
    a.extend_from_slice(args);
    let text = spotplan(&a);
    assert!(text.status.success(), "{}", stderr(&text));
    a.extend_from_slice(&["--format", "json"]);
    let json = spotplan(&a);
    let _ = std::fs::remove_file(&f);
    (
        // lines folded at 100 columns, unfolded
        stdout(&text).replace("\n  ", " "),
        serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&json))),
    )
}

/// Each deployment's pick (its strategy's provider), by name.
fn picks(j: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    j["current"]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let pick = d["pick"].as_str().unwrap();
            (
                d["deployment"].as_str().unwrap().to_string(),
                pick.split(' ').next().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_deployment_objective_holds_that_deployment_and_never_blocks_the_others() {
    let own = "objectives = { max_crashed = 0.002 }";
    let objectives = "[objectives]\nmax_crashed = 0.2";
    let (text, j) = recommend(&platform(own, "", objectives), &["--no-deployment-guard"]);
    let p = picks(&j);
    assert_eq!(
        p["critical"], "FARGATE",
        "its own 0.2% crash limit keeps it on demand: {p:?}"
    );
    assert_eq!(p["etl-a"], "FARGATE_SPOT", "{p:?}");
    assert_eq!(p["etl-b"], "FARGATE_SPOT", "{p:?}");
    // `late` misses its deadline on demand too: named, set aside, and moved only because spot
    // is cheaper and no worse on deadline misses
    let u = &j["meta"]["objectives"]["unreachable"];
    assert_eq!(u[0]["deployment"], "late", "{u}");
    assert_eq!(u[0]["objective"], "max_deadline_miss");
    assert!(
        text.contains("objective unreachable: `late` misses its 10m deadline 100.0% of the time even on demand"),
        "{text}"
    );
    assert!(
        text.contains("objectives of `critical`: crashed or failed ≤ 0.20%"),
        "{text}"
    );
    assert_eq!(p["late"], "FARGATE_SPOT", "{p:?}");
    // the objective is what holds `critical`: without it, it moves too
    let (_, j) = recommend(&platform("", "", objectives), &["--no-deployment-guard"]);
    assert_eq!(picks(&j)["critical"], "FARGATE_SPOT");
}

#[test]
fn an_unreachable_deployment_is_left_out_of_platform_wide_rates() {
    // a platform-wide 5% deadline-miss limit: `late` misses 100% of its runs on any option; left
    // out, the others (no deadline) meet it and the platform still gets an answer
    let objectives = "[objectives]\nmax_crashed = 0.2\nmax_deadline_miss = 0.05";
    let (text, j) = recommend(&platform("", "", objectives), &["--no-deployment-guard"]);
    assert!(j["recommendation"]["candidate"].is_u64(), "{text}");
    assert!(
        text.contains("its runs are left out of platform-wide rate objectives"),
        "{text}"
    );
    assert_eq!(picks(&j)["etl-a"], "FARGATE_SPOT");
}

#[test]
fn with_only_deployment_objectives_a_new_deployment_changes_no_other_pick() {
    let own = "objectives = { max_crashed = 0.002 }";
    let (_, before) = recommend(&platform(own, "", ""), &["--no-deployment-guard"]);
    let newcomer = r#"[[flow]]
name = "aaa-newcomer"
schedule = { every = "2h", offset = "17m" }
duration = "35m"
cpu = "1 vCPU"
memory = "2 GB"
"#;
    let (_, after) = recommend(&platform(own, newcomer, ""), &["--no-deployment-guard"]);
    let rows = |j: &serde_json::Value| -> Vec<serde_json::Value> {
        j["current"]["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["deployment"] != "aaa-newcomer")
            .cloned()
            .collect()
    };
    assert!(
        after["current"]["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["deployment"] == "aaa-newcomer")
    );
    // every other deployment: the same pick and the same figures, to the last digit
    assert_eq!(rows(&before), rows(&after));
}

#[test]
fn deployment_objectives_are_checked() {
    let bad = [
        (
            "objectives = { max_deadline_miss = 0.01 }",
            "has no `deadline` to miss",
        ),
        (
            "objectives = { max_crashed = 0.0 }",
            "0 cannot be shown from finite samples",
        ),
        (
            "objectives = { confidence = 0.9 }",
            "the confidence is platform-wide",
        ),
        ("objectives = { max_crashed = 1.5 }", "max_crashed"),
    ];
    for (own, want) in bad {
        let e = load(&platform(own, "", "")).unwrap_err().to_string();
        assert!(e.contains(want), "{own}: {e}");
        assert!(
            e.contains("flow[1].objectives") || e.contains("line"),
            "{e}"
        );
    }
}

#[test]
fn a_deployment_a_platform_objective_holds_back_is_named_with_it() {
    // each hourly deployment crashes about 10% of its runs on spot: under a platform-wide 5%
    // only one of the three can move, and the others are named with the objective that holds
    // them
    let objectives = "[objectives]\nmax_crashed = 0.05";
    let (text, j) = recommend(&platform("", "", objectives), &["--no-deployment-guard"]);
    let p = picks(&j);
    let on_spot = ["etl-a", "critical", "etl-b"]
        .iter()
        .filter(|d| p[**d] == "FARGATE_SPOT")
        .count();
    assert_eq!(on_spot, 1, "{p:?}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let held: Vec<&str> = flat.split("held back: ").skip(1).collect();
    assert_eq!(held.len(), 2, "{text}");
    for l in held {
        assert!(
            l.contains(
                "stays on FARGATE: on FARGATE_SPOT (cheaper) it alone would break max_crashed ("
            ),
            "{l}"
        );
    }
}

/// The sweep of `src` as JSON (every candidate), with `args`.
fn sweep(src: &str, args: &[&str]) -> serde_json::Value {
    let f = std::env::temp_dir().join(format!(
        "spotplan-objectives-sweep-{}-{:x}.toml",
        std::process::id(),
        src.len() ^ args.len() << 20
    ));
    std::fs::write(&f, src).unwrap();
    let mut a = vec!["sweep", f.to_str().unwrap(), "-q", "--format", "json"];
    a.extend_from_slice(args);
    let out = spotplan(&a);
    let _ = std::fs::remove_file(&f);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)))
}

const SIGTERM: &str = "PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR";

/// The env a deployment of a recommendation runs with: its own job variables' `env`, else the
/// work pool's.
fn effective_env(rec: &serde_json::Value, d: &serde_json::Value) -> serde_json::Value {
    let own = &d["job_variables"]["env"];
    if own.is_object() {
        own.clone()
    } else {
        let pool = &rec["prefect_work_pool"]["env"];
        if pool.is_object() {
            pool.clone()
        } else {
            serde_json::json!({})
        }
    }
}

#[test]
fn each_deployment_chooses_its_retry_policy_and_takes_it_to_its_job_variables() {
    // `critical` needs few crashes, the others do not: the fallback automation is worth its
    // reruns on FARGATE for `critical` alone
    let own = "objectives = { max_crashed = 0.002 }";
    let grid = r#"retry = ["prefect3", "prefect3[fallback=automation]"]"#;
    let src = platform(own, grid, "[objectives]\nmax_crashed = 0.2");
    let (text, j) = recommend(&src, &["--no-deployment-guard"]);
    let rec = &j["recommendation"];
    let by_flow = |f: &str| -> serde_json::Value {
        rec["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["flow"] == f)
            .cloned()
            .unwrap_or_else(|| panic!("no `{f}` in {rec}"))
    };
    let spot = serde_json::json!([{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]);
    let critical = by_flow("critical");
    assert_eq!(critical["retry"], "prefect3[fallback=automation]", "{rec}");
    assert_eq!(
        critical["job_variables"]["capacity_provider_strategy"],
        spot
    );
    for f in ["etl-a", "etl-b"] {
        let d = by_flow(f);
        assert_eq!(d["retry"], "prefect3", "{rec}");
        assert_eq!(d["job_variables"]["capacity_provider_strategy"], spot);
        // the env it runs with (its own, else the pool's) is its policy's: no SIGTERM setting
        assert!(effective_env(rec, &d).get(SIGTERM).is_none(), "{d}");
    }
    assert!(effective_env(rec, &critical).get(SIGTERM).is_none());
    assert!(
        text.contains("prefect3 + prefect3[fallback=automation]"),
        "{text}"
    );
    // cheaper than every feasible configuration with one retry policy for all deployments
    // (what the search chose among before: per policy)
    let s = sweep(&src, &["--no-deployment-guard"]);
    let cands = s["candidates"].as_array().unwrap();
    let cost = |c: &serde_json::Value| c["metrics"]["cost_per_30d_usd"]["mean"].as_f64().unwrap();
    let mixed: Vec<&serde_json::Value> = cands
        .iter()
        .filter(|c| c["candidate"]["deployment_retry"].is_array())
        .collect();
    assert_eq!(
        mixed.len(),
        1,
        "one pick among the options spotplan applies"
    );
    assert!(mixed[0]["feasible"] == true && mixed[0]["deployable"] == true);
    let one_policy = cands
        .iter()
        .filter(|c| c["feasible"] == true && !c["candidate"]["deployment_retry"].is_array())
        .map(cost)
        .fold(f64::INFINITY, f64::min);
    assert!(
        cost(mixed[0]) + 1.0 < one_policy,
        "{} against {one_policy}",
        cost(mixed[0])
    );
}

/// A 4-hour job that checkpoints every hour and an hourly 20-minute one, on a spot market
/// that interrupts 0.3 times per task-hour; the grid offers a 10-minute interval too.
const CHECKPOINTS: &str = r#"name = "checkpoint as a code change"
region = "us-east-1"
[simulation]
horizon = "10d"
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
count = 0
strategy = [{ provider = "FARGATE", weight = 1 }]
[network]
egress = "vpc-endpoints"
[spot]
interruption_rate = "0.3/h"
[retry]
policy = "prefect3-reschedule"
[objectives]
max_crashed = 0.05
[sweep]
spot_share = "0,100"
checkpoint_every = ["1h", "10m"]
replications = 20
[[flow]]
name = "train"
schedule = { every = "6h" }
duration = "4h"
cpu = "4 vCPU"
memory = "16 GB"
checkpoint = { every = "1h", cost = "10s" }
[[flow]]
name = "etl"
schedule = { every = "1h" }
duration = "20m"
cpu = "2 vCPU"
memory = "4 GB"
"#;

#[test]
fn a_checkpoint_interval_is_a_code_change_never_the_headline() {
    let (text, j) = recommend(CHECKPOINTS, &[]);
    let rec = &j["recommendation"];
    // the headline: what spotplan deploys (train keeps its own 1h checkpoints)
    assert!(
        !rec["deployment"].as_str().unwrap().contains("code change"),
        "{rec}"
    );
    assert!(
        !rec["label"].as_str().unwrap().contains("10m"),
        "{}",
        rec["label"]
    );
    // beside it, the cheaper configuration that needs the change, exactly
    let cc = &rec["code_change"];
    assert_eq!(
        cc["changes"], "checkpoint every 10m instead of every 1h in the code of `train`",
        "{cc}"
    );
    let saving = &cc["saving_per_30d_usd"];
    assert!(saving["ci95_low"].as_f64().unwrap() >= 1.0, "{saving}");
    assert!(
        text.contains("With a code change you would also save")
            && text.contains("checkpoint every 10m instead of every 1h in the code of `train`")
            && text.contains("spotplan cannot deploy it"),
        "{text}"
    );
    // allowed, it is the pick, and no longer offered beside itself
    let (_, j) = recommend(CHECKPOINTS, &["--allow-custom-code"]);
    assert_eq!(j["recommendation"]["candidate"], cc["candidate"]);
    assert!(j["recommendation"]["code_change"].is_null());
}

#[test]
fn a_policy_for_the_other_prefect_generation_is_not_deployable_and_never_picked() {
    let grid = r#"retry = ["prefect3", "prefect1-lazarus"]"#;
    let src = platform("", grid, "[objectives]\nmax_crashed = 0.5")
        .replace("[worker]\n", "[worker]\nkind = \"prefect3-ecs-worker\"\n");
    let s = sweep(&src, &["--no-deployment-guard"]);
    let cands = s["candidates"].as_array().unwrap();
    let lazarus: Vec<&serde_json::Value> = cands
        .iter()
        .filter(|c| {
            c["candidate"]["retry"]
                .as_str()
                .unwrap()
                .starts_with("prefect1-lazarus")
        })
        .collect();
    assert!(!lazarus.is_empty());
    for c in &lazarus {
        assert_eq!(c["takes"], "not-deployable", "{c}");
        assert!(
            c["deployment"].as_str().unwrap().starts_with(
                "not deployable: prefect1-lazarus[limit=3] needs Prefect 1's ECS agent"
            ),
            "{}",
            c["deployment"]
        );
    }
    // the per-deployment search does not mix the two generations
    assert!(cands.iter().all(|c| {
        c["candidate"]["deployment_retry"]
            .as_array()
            .is_none_or(|v| v.iter().all(|r| r == "prefect3") || v.iter().all(|r| r != "prefect3"))
    }));
    for args in [
        &["--no-deployment-guard"][..],
        &["--no-deployment-guard", "--allow-custom-code"],
    ] {
        let (_, j) = recommend(&src, args);
        let label = j["recommendation"]["label"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(!label.contains("prefect1-lazarus"), "{label}");
    }
}

#[test]
fn a_deployment_whose_policy_lacks_the_pools_sigterm_setting_states_its_own_env() {
    // most deployments reschedule (the pool's policy); `critical` alone is plain prefect3 with
    // the fallback, and must not inherit the pool's SIGTERM setting
    let own = "objectives = { max_crashed = 0.002 }";
    let grid = r#"retry = ["prefect3-reschedule", "prefect3[fallback=automation]"]"#;
    let src = platform(own, grid, "[objectives]\nmax_crashed = 0.2");
    let (_, j) = recommend(&src, &["--no-deployment-guard"]);
    let rec = &j["recommendation"];
    let deps = rec["deployments"].as_array().unwrap();
    let plain: Vec<&serde_json::Value> = deps
        .iter()
        .filter(|d| d["retry"] == "prefect3[fallback=automation]")
        .collect();
    assert!(!plain.is_empty(), "{rec}");
    assert_eq!(
        rec["prefect_work_pool"]["env"][SIGTERM], "reschedule",
        "{rec}"
    );
    for d in plain {
        assert_eq!(d["job_variables"]["env"], serde_json::json!({}), "{d}");
    }
    for d in deps.iter().filter(|d| d["retry"] == "prefect3-reschedule") {
        assert_eq!(effective_env(rec, d)[SIGTERM], "reschedule", "{d}");
    }
}

/// `simulate` checks the scenario's objectives on its replications and names the one reading
/// it checked them under; JSON carries the same checks; a scenario without objectives is told
/// nothing was checked.
#[test]
fn simulate_checks_the_objectives_at_the_reading_it_simulated() {
    let o =
        crate::common::spotplan(&["simulate", "scenarios/prefect3-hourly-etl.toml", "-n", "20"]);
    let out = crate::common::stdout(&o);
    assert!(o.status.success());
    assert!(
        out.contains("objectives, checked at the simulated reading `per-call`"),
        "{out}"
    );
    // the shipped hourly ETL misses its crash objective under this reading, and meets latency
    assert!(
        out.contains("  max_crashed: mean ") && out.contains("> 0.50% ✗"),
        "{out}"
    );
    assert!(
        out.contains("  max_p95_latency: mean ") && out.contains("≤ 45m 00s ✓"),
        "{out}"
    );
    let o = crate::common::spotplan(&[
        "simulate",
        "scenarios/prefect3-hourly-etl.toml",
        "-n",
        "20",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&crate::common::stdout(&o)).unwrap();
    let c = &v["objectives_checked"];
    assert_eq!(c["reading"], "per-call");
    let crashed = c["platform"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["objective"] == "max_crashed")
        .unwrap();
    assert_eq!(crashed["limit"], 0.005);
    assert!(crashed["upper"].as_f64().unwrap() > 0.005);
    let o = crate::common::spotplan(&["simulate", "scenarios/long-checkpointed.toml", "-n", "5"]);
    assert!(
        crate::common::stdout(&o).contains("objectives: none stated, nothing checked"),
        "{}",
        crate::common::stdout(&o)
    );
}
