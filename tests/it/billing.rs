//! Hand-computed billing cases, through the whole engine: one run, no worker.

use crate::common::*;

const X86_VCPU: f64 = 0.04048;
const X86_GB: f64 = 0.004445;
const ARM_VCPU: f64 = 0.03238;
const ARM_GB: f64 = 0.00356;
const SPOT_VCPU: f64 = 0.01288871;
const SPOT_GB: f64 = 0.00141527;
const STORAGE: f64 = 0.000111;

/// One run at t = 0 with the given pull and work, on `provider`.
fn one_run(provider: &str, pull: &str, work: &str, flow_extra: &str) -> spotplan::sim::RunOutcome {
    let src = world(
        "horizon = \"1d\"",
        "0s",
        &format!("[{{ provider = \"{provider}\", weight = 1 }}]"),
        "",
        &format!(
            r#"schedule = {{ every = "100d" }}
duration = "{work}"
startup = {{ provisioning = "25s", image_pull = "{pull}" }}
{flow_extra}"#
        ),
    );
    let s = scenario(&src);
    let outs = outcomes(&s, 1);
    assert_eq!(outs[0].runs, 1);
    assert_eq!(outs[0].completed, 1);
    outs[0].clone()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} vs {b}");
}

#[test]
fn fifty_nine_seconds_are_billed_as_sixty() {
    // provisioning (25 s) is not billed; pull 10 s + work 49 s = 59 s → 60 s
    let o = one_run("FARGATE", "10s", "49s", "cpu = 1024\nmemory = 2048");
    assert_eq!(o.billed_secs_fargate, 60);
    close(
        o.cost_fargate_usd,
        60.0 / 3600.0 * (X86_VCPU + 2.0 * X86_GB),
    );
    close(o.cost_usd, o.cost_fargate_usd);
    // latency counts provisioning: 25 + 10 + 49 s
    assert_eq!(o.latency_mean_ms, 84_000.0);
}

#[test]
fn sixty_one_seconds_are_billed_as_sixty_one() {
    let o = one_run("FARGATE", "10s", "51s", "cpu = 1024\nmemory = 2048");
    assert_eq!(o.billed_secs_fargate, 61);
    close(
        o.cost_fargate_usd,
        61.0 / 3600.0 * (X86_VCPU + 2.0 * X86_GB),
    );
}

#[test]
fn a_fraction_of_a_second_rounds_up() {
    let o = one_run("FARGATE", "10s", "60s500ms", "");
    assert_eq!(o.billed_secs_fargate, 71);
}

#[test]
fn arm_is_billed_at_arm_rates() {
    let o = one_run(
        "FARGATE",
        "0s",
        "1h",
        "cpu = 2048\nmemory = 4096\narchitecture = \"arm64\"",
    );
    close(o.cost_fargate_usd, 2.0 * ARM_VCPU + 4.0 * ARM_GB);
    let x = one_run("FARGATE", "0s", "1h", "cpu = 2048\nmemory = 4096");
    close(x.cost_fargate_usd, 2.0 * X86_VCPU + 4.0 * X86_GB);
}

#[test]
fn storage_above_twenty_gib_is_billed() {
    let o = one_run(
        "FARGATE",
        "0s",
        "1h",
        "cpu = 1024\nmemory = 2048\nephemeral_storage = 50",
    );
    close(o.cost_fargate_usd, X86_VCPU + 2.0 * X86_GB + 30.0 * STORAGE);
}

#[test]
fn spot_tasks_pay_spot_rates() {
    let o = one_run("FARGATE_SPOT", "0s", "2h", "cpu = 1024\nmemory = 2048");
    assert_eq!(o.billed_secs_spot, 7200);
    assert_eq!(o.billed_secs_fargate, 0);
    close(o.cost_fargate_spot_usd, 2.0 * (SPOT_VCPU + 2.0 * SPOT_GB));
    assert_eq!(o.spot_share(), 1.0);
}

#[test]
fn the_worker_is_billed_for_the_whole_horizon() {
    let src = base(
        r#"
[simulation]
horizon = "10d"
[cluster]
capacity_providers = ["FARGATE"]
[worker]
count = 2
cpu = 512
memory = 1024
strategy = [{ provider = "FARGATE", weight = 1 }]
"#,
        "schedule = { every = \"100d\" }\nduration = \"1m\"",
    );
    let o = &outcomes(&scenario(&src), 1)[0];
    close(
        o.cost_worker_usd,
        2.0 * 240.0 * (0.5 * X86_VCPU + 1.0 * X86_GB),
    );
}

#[test]
fn an_interrupted_spot_task_is_billed_to_its_stop() {
    // a trace that is preempted from slot 1 on every replication: all 2-slot trace [0,1]
    // with gap 1h would start at a random slot, so use an all-available trace and a rate
    // high enough that the task is interrupted; billing runs from pull start to SIGTERM +
    // stop_timeout, at spot rates, and counts as waste
    let src = world(
        "horizon = \"1d\"",
        "0s",
        SPOT_ONLY,
        r#"
[spot]
interruption_rate = "1000/h"
stop_timeout = "120s"
[retry]
policy = "prefect3"
"#,
        "schedule = { every = \"100d\" }\nduration = \"1h\"\nstartup = { provisioning = \"5s\", image_pull = \"0s\" }",
    );
    let s = scenario(&src);
    let (o, events) = trace(&s, 0);
    assert_eq!(o.crashed, 1);
    let int = events
        .iter()
        .find(|e| e.kind == spotplan::sim::EventKind::Interrupted)
        .unwrap();
    let pull_start = 5_000;
    let billed = (int.t_ms + 120_000 - pull_start).div_ceil(1000).max(60);
    assert_eq!(o.billed_secs_spot, billed);
    close(
        o.cost_fargate_spot_usd,
        billed as f64 / 3600.0 * (SPOT_VCPU + 2.0 * SPOT_GB),
    );
    close(o.cost_wasted_usd, o.cost_fargate_spot_usd);
}

#[test]
fn scenario_rates_override_the_snapshot() {
    let src = base(
        r#"
[simulation]
horizon = "1d"
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
count = 0
strategy = [{ provider = "FARGATE_SPOT", weight = 1 }]
[pricing]
rates = { spot_vcpu_hour = 0.02, spot_gb_hour = 0.001, as_of = "2026-11-01" }
"#,
        "schedule = { every = \"100d\" }\nduration = \"1h\"\nstartup = { provisioning = \"0s\", image_pull = \"0s\" }",
    );
    let s = scenario(&src);
    assert_eq!(s.prices.source.kind, "bundled+scenario");
    assert_eq!(s.prices.source.as_of, "2026-11-01");
    let o = &outcomes(&s, 1)[0];
    close(o.cost_fargate_spot_usd, 0.02 + 2.0 * 0.001);
    let bad = src.replace("spot_vcpu_hour = 0.02", "spot_vcpu_hour = -0.02");
    assert_eq!(
        load(&bad).unwrap_err().to_string(),
        "error: test.toml:12:28: `pricing.rates.spot_vcpu_hour`: `-0.02` must be a finite price ≥ 0 (USD per hour)"
    );
}
