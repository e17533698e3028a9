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

/// The 90-minute run at t = 0 of a 3-hour horizon (pull from 25 s, 10 s, then the work: billed
/// 25 s → 100 min 35 s), at 1 vCPU / 2 GB on `strategy`, with `pricing` lines.
fn plan_run(strategy: &str, pricing: &str) -> spotplan::sim::RunOutcome {
    let src = world(
        "horizon = \"3h\"",
        "0s",
        strategy,
        &format!("[network]\negress = \"vpc-endpoints\"\n[pricing]\n{pricing}"),
        "schedule = { every = \"100d\" }\nduration = \"90m\"\ncpu = 1024\nmemory = 2048\n\
         startup = { provisioning = \"25s\", image_pull = \"10s\" }\nengine_startup = \"0s\"",
    );
    outcomes(&scenario(&src), 1).remove(0)
}

const PLAN: &str = "[pricing.savings_plan]\nfargate_commitment_per_hour = 0.03\ndiscount = 0.2";

#[test]
fn a_savings_plan_is_a_commitment_billed_hour_by_hour() {
    let od = plan_run("[{ provider = \"FARGATE\", weight = 1 }]", PLAN);
    let rate = X86_VCPU + 2.0 * X86_GB; // on-demand USD per hour
    // billed 5410 s: 3575 s in hour 0, 1835 s in hour 1, nothing in hour 2
    assert_eq!(od.billed_secs_fargate, 5410);
    let (u0, u1) = (3575.0 / 3600.0 * rate, 1835.0 / 3600.0 * rate);
    let covers = 0.03 / 0.8; // on-demand USD the hourly commitment covers
    assert!(u0 > covers && u1 < covers, "{u0} {u1}");
    // hour 0: the commitment, and on-demand above it; hour 1: plan rate, the rest stranded;
    // hour 2: all stranded
    close(od.cost_fargate_usd, 0.03 + (u0 - covers) + 0.8 * u1);
    close(od.cost_stranded_usd, (0.03 - 0.8 * u1) + 0.03);
    close(
        od.cost_fargate_usd + od.cost_stranded_usd,
        3.0 * 0.03 + (u0 - covers),
    );
    let network = od.cost_public_ipv4_usd + od.cost_nat_usd + od.cost_vpc_endpoints_usd;
    close(
        od.cost_usd,
        od.cost_fargate_usd + od.cost_stranded_usd + network,
    );
    // after the term: on-demand, no commitment
    close(od.cost_without_plan_usd, 5410.0 / 3600.0 * rate + network);
    // one more on-demand dollar costs one only in hour 0
    close(od.plan_marginal, u0 / (u0 + u1));
    assert_eq!(od.flows[0].plan_eligible_od_usd, 5410.0 / 3600.0 * rate);

    // the same run on spot strands the whole commitment; spot is never covered
    let spot = plan_run(SPOT_ONLY, PLAN);
    let spot_alone = plan_run(SPOT_ONLY, "");
    close(spot.cost_stranded_usd, 3.0 * 0.03);
    close(spot.cost_fargate_spot_usd, spot_alone.cost_fargate_spot_usd);
    close(spot.cost_usd, spot_alone.cost_usd + 0.09);
    // the saving a flat 20% discount would show is not there: spot costs more here
    let flat = plan_run(
        "[{ provider = \"FARGATE\", weight = 1 }]",
        "on_demand_discount = 0.2",
    );
    assert!(spot_alone.cost_usd < flat.cost_usd);
    assert!(spot.cost_usd > od.cost_usd);
}

#[test]
fn a_savings_plan_with_separate_discounts_covers_the_larger_first() {
    // memory at 40% off is covered first: 2 GB × 90 min 10 s of memory is 0.01336 USD at
    // on-demand over the run, far below the commitment in each hour
    let od = plan_run(
        "[{ provider = \"FARGATE\", weight = 1 }]",
        "[pricing.savings_plan]\nfargate_commitment_per_hour = 0.03\nvcpu_discount = 0.1\nmemory_discount = 0.4",
    );
    let (v, m) = (X86_VCPU, 2.0 * X86_GB);
    let h = |secs: f64| secs / 3600.0;
    // hour 0: memory (3575 s) at 0.6, then vCPU: what is left covers vCPU at 0.9
    let mem0 = 0.6 * h(3575.0) * m;
    let left = 0.03 - mem0;
    let v0 = h(3575.0) * v;
    let covered_v = (left / 0.9).min(v0);
    let charged0 = mem0 + 0.9 * covered_v + (v0 - covered_v);
    let stranded0 = (left - 0.9 * covered_v).max(0.0);
    // hour 1: both under the commitment
    let charged1 = 0.6 * h(1835.0) * m + 0.9 * h(1835.0) * v;
    close(od.cost_fargate_usd, charged0 + charged1);
    close(od.cost_stranded_usd, stranded0 + (0.03 - charged1) + 0.03);
}

#[test]
fn a_savings_plan_input_is_checked() {
    let src = |pricing: &str| {
        world(
            "horizon = \"1d\"",
            "0s",
            SPOT_ONLY,
            &format!("[pricing]\n{pricing}"),
            "schedule = { every = \"1h\" }\nduration = \"5m\"",
        )
    };
    let err = |pricing: &str| load(&src(pricing)).unwrap_err().to_string();
    let e = err(&format!("on_demand_discount = 0.2\n{PLAN}"));
    assert!(e.contains("not both") && e.contains("twice"), "{e}");
    let e = err("[pricing.savings_plan]\ndiscount = 0.2");
    assert!(
        e.contains("`fargate_commitment_per_hour` is required"),
        "{e}"
    );
    let e = err("[pricing.savings_plan]\nfargate_commitment_per_hour = 0.5\nvcpu_discount = 0.2");
    assert!(
        e.contains("both `vcpu_discount` and `memory_discount`"),
        "{e}"
    );
    let e = err("[pricing.savings_plan]\nfargate_commitment_per_hour = 0.5\ndiscount = 1.2");
    assert!(e.contains("outside (0, 0.9]"), "{e}");
    let e = err(&format!("{PLAN}\nends = 2027-06-30T00:00:00"));
    assert!(e.contains("is not a date"), "{e}");
    let s = load(&src(&format!("{PLAN}\nends = 2027-06-30"))).unwrap();
    assert_eq!(s.savings_plan.unwrap().ends.as_deref(), Some("2027-06-30"));
}

/// Two hourly 20-minute deployments at 1 vCPU / 2 GB, half an hour apart, and the default
/// worker, with `pricing` lines: what `recommend` picks for each deployment (`SPOT`/`OD`).
fn picked_under(pricing: &str) -> Vec<String> {
    let src = format!(
        r#"name = "two deployments under a Savings Plan"
region = "us-east-1"
[simulation]
replications = 10
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
strategy = [{{ provider = "FARGATE", weight = 1 }}]
[spot]
interruption_rate = "0.02/h"
[objectives]
max_crashed = 0.05
[network]
egress = "public-ip"
[[flow]]
name = "a"
schedule = {{ every = "1h" }}
duration = "20m"
cpu = 1024
memory = 2048
[[flow]]
name = "b"
schedule = {{ every = "1h", offset = "30m" }}
duration = "20m"
cpu = 1024
memory = 2048
[pricing]
{pricing}
"#
    );
    let dir = std::env::temp_dir().join(format!("spotplan-sp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{:016x}.toml",
        spotplan::sim::rng::name_key(pricing)
    ));
    std::fs::write(&path, src).unwrap();
    let o = spotplan(&[
        "recommend",
        path.to_str().unwrap(),
        "-n",
        "10",
        "--horizon",
        "2d",
        "-q",
        "--no-deployment-guard",
        "--format",
        "json",
    ]);
    std::fs::remove_file(&path).unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let r = &v["recommendation"];
    let uniform = |p: &str| vec![p.to_string(); 2];
    match r["deployments"].as_array().map(Vec::as_slice) {
        Some([]) | None => match r["label"].as_str().unwrap() {
            l if l.starts_with("spot 100%") => uniform("SPOT"),
            l if l.starts_with("spot 0%") => uniform("OD"),
            l => panic!("{l}"),
        },
        Some(d) => d
            .iter()
            .map(
                |x| match x["job_variables"]["capacity_provider_strategy"][0]["capacityProvider"]
                    .as_str()
                    .unwrap()
                {
                    "FARGATE_SPOT" => "SPOT".to_string(),
                    _ => "OD".to_string(),
                },
            )
            .collect(),
    }
}

#[test]
fn under_a_savings_plan_recommend_keeps_on_demand_what_the_commitment_covers() {
    // on demand, the worker and one deployment use about 0.041 USD an hour at on-demand
    // rates; a commitment of 0.033 USD at 20% off covers 0.041: exactly them
    let plan = |c: f64| {
        format!("[pricing.savings_plan]\nfargate_commitment_per_hour = {c}\ndiscount = 0.2")
    };
    // a flat 20% discount says spot saves on both
    assert_eq!(picked_under("on_demand_discount = 0.2"), ["SPOT", "SPOT"]);
    // a small commitment: the worker alone uses it, both move
    assert_eq!(picked_under(&plan(0.02)), ["SPOT", "SPOT"]);
    // the worker and one deployment inside the commitment: moving that one would strand it
    let mix = picked_under(&plan(0.033));
    assert!(
        mix.contains(&"SPOT".to_string()) && mix.contains(&"OD".to_string()),
        "{mix:?}"
    );
    // a commitment that covers everything: spot would only add to it
    assert_eq!(picked_under(&plan(0.06)), ["OD", "OD"]);
}
