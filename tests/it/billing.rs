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
engine_startup = "0s"
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
    // plus the task's public IPv4 from placement to stop (no [network]: Prefect's default)
    close(o.cost_usd, o.cost_fargate_usd + 84.0 / 3600.0 * 0.005);
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
    // the engine exits 2 s after SIGTERM, before the 120 s stop timeout: billing ends there
    let billed = (int.t_ms + 2_000 - pull_start).div_ceil(1000).max(60);
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
        "schedule = { every = \"100d\" }\nduration = \"1h\"\nstartup = { provisioning = \"0s\", image_pull = \"0s\" }\nengine_startup = \"0s\"",
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

// ---- network and discounts: hand-computed -------------------------------------------------

const IPV4_HOUR: f64 = 0.005;
const NAT_HOUR: f64 = 0.045;
const NAT_GB: f64 = 0.045;
const ENDPOINT_AZ_HOUR: f64 = 0.01;

/// One run at t = 0 (provisioning 25 s, pull 10 s, work 49 s) on FARGATE, `count` workers of
/// 0.5 vCPU / 1 GB, horizon 1 d, with `extra` sections.
fn networked(count: u32, extra: &str, flow_extra: &str) -> spotplan::sim::RunOutcome {
    let src = format!(
        r#"name = "net"
region = "us-east-1"
[simulation]
horizon = "1d"
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
count = {count}
poll_interval = "0s"
strategy = [{{ provider = "FARGATE", weight = 1 }}]
{extra}
[[flow]]
name = "job"
schedule = {{ every = "100d" }}
duration = "49s"
startup = {{ provisioning = "25s", image_pull = "10s" }}
engine_startup = "0s"
{flow_extra}
"#
    );
    let s = scenario(&src);
    let o = outcomes(&s, 1).remove(0);
    assert_eq!(o.completed, 1);
    o
}

#[test]
fn public_ipv4_is_billed_from_placement_to_stop_and_for_each_worker_all_along() {
    // no [network]: Prefect's default assignPublicIp=ENABLED, said in the warnings
    let o = networked(2, "", "");
    // the task holds its address from placement (t=0) to its stop (25 + 10 + 49 = 84 s);
    // two workers hold theirs for the whole day
    close(
        o.cost_public_ipv4_usd,
        84.0 / 3600.0 * IPV4_HOUR + 2.0 * 24.0 * IPV4_HOUR,
    );
    close(
        o.cost_usd,
        o.cost_fargate_usd + o.cost_worker_usd + o.cost_public_ipv4_usd,
    );
    assert_eq!(o.cost_nat_usd, 0.0);
    let s = scenario(&base(
        "[cluster]\ncapacity_providers = [\"FARGATE\"]\n[worker]\nlaunch_type = \"FARGATE\"",
        "schedule = { every = \"1h\" }\nduration = \"1m\"",
    ));
    assert!(
        spotplan::scenario::warnings(&s)
            .iter()
            .any(|w| w.code == "network-assumed" && w.message.contains("assignPublicIp is ENABLED")),
        "{:?}",
        spotplan::scenario::warnings(&s)
    );
}

#[test]
fn nat_bills_gateway_hours_and_every_pulled_gigabyte() {
    let o = networked(
        1,
        "[network]\negress = \"nat\"\nnat_gateways = 2",
        "image_size = \"1.5 GB\"",
    );
    close(o.image_pull_gb, 1.5);
    close(o.cost_nat_usd, 2.0 * 24.0 * NAT_HOUR + 1.5 * NAT_GB);
    assert_eq!(o.cost_public_ipv4_usd, 0.0);
    close(
        o.cost_usd,
        o.cost_fargate_usd + o.cost_worker_usd + o.cost_nat_usd,
    );
    // sizes in MiB are converted to GB (10^9 bytes), as data processing is billed
    let o = networked(1, "[network]\negress = \"nat\"", "image_size = \"500 MiB\"");
    close(o.image_pull_gb, 0.524_288);
}

#[test]
fn nat_without_an_image_size_is_refused_by_name() {
    let src = base(
        "[cluster]\ncapacity_providers = [\"FARGATE\"]\n[worker]\nlaunch_type = \"FARGATE\"\n[network]\negress = \"nat\"",
        "schedule = { every = \"1h\" }\nduration = \"1m\"",
    );
    let e = load(&src).unwrap_err().to_string();
    assert!(e.contains("flow `job` needs `image_size`"), "{e}");
}

#[test]
fn vpc_endpoints_bill_endpoint_az_hours() {
    let o = networked(
        1,
        "[network]\negress = \"vpc-endpoints\"\nendpoints = 4\nazs = 3",
        "",
    );
    close(
        o.cost_vpc_endpoints_usd,
        4.0 * 3.0 * 24.0 * ENDPOINT_AZ_HOUR,
    );
    assert_eq!(o.cost_public_ipv4_usd + o.cost_nat_usd, 0.0);
}

#[test]
fn a_savings_plan_discounts_on_demand_never_spot() {
    let run = |strategy: &str, discount: &str| {
        let src = world(
            "horizon = \"1d\"",
            "0s",
            strategy,
            &format!("[network]\negress = \"vpc-endpoints\"\n[pricing]\n{discount}"),
            "schedule = { every = \"100d\" }\nduration = \"49s\"\nstartup = { provisioning = \"25s\", image_pull = \"10s\" }\nengine_startup = \"0s\"",
        );
        outcomes(&scenario(&src), 1).remove(0)
    };
    let od = run("[{ provider = \"FARGATE\", weight = 1 }]", "");
    let od20 = run(
        "[{ provider = \"FARGATE\", weight = 1 }]",
        "on_demand_discount = 0.2",
    );
    close(od20.cost_fargate_usd, 0.8 * od.cost_fargate_usd);
    close(
        od.cost_fargate_usd,
        60.0 / 3600.0 * (X86_VCPU + 2.0 * X86_GB),
    );
    let sp = run(SPOT_ONLY, "");
    let sp20 = run(SPOT_ONLY, "on_demand_discount = 0.2");
    close(sp20.cost_fargate_spot_usd, sp.cost_fargate_spot_usd);
    close(
        sp.cost_fargate_spot_usd,
        60.0 / 3600.0 * (SPOT_VCPU + 2.0 * SPOT_GB),
    );
}
