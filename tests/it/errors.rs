//! Every user-facing scenario error, pinned: file, line:column, field path, bad value, what is
//! allowed.

use crate::common::*;

const GOOD: &str = r#"name = "pinned"
region = "us-east-1"

[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
strategy = [
  { provider = "FARGATE_SPOT", weight = 3 },
  { provider = "FARGATE", weight = 2, base = 1 },
]

[worker]
kind = "runtask"

[[flow]]
name = "etl"
schedule = { every = "1h" }
duration = "10m"
cpu = 1024
memory = 2048
"#;

/// The error text after replacing `from` with `to` in the good scenario.
fn error_after(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    let src = GOOD.replacen(from, to, 1);
    match load(&src) {
        Ok(_) => panic!("expected an error after replacing {from:?} with {to:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_good_scenario_is_valid() {
    scenario(GOOD);
}

#[test]
fn unknown_field_with_a_suggestion() {
    assert_eq!(
        error_after("weight = 3 }", "weigth = 3 }"),
        "error: test.toml:7:32: `cluster.strategy[0].weigth`: unknown field `weigth`, expected one of `provider`, `weight`, `base`; did you mean `weight`?"
    );
    assert_eq!(
        error_after("[worker]", "[wroker]"),
        "error: test.toml:11:2: `wroker`: unknown field `wroker`, expected one of `name`, `description`, `region`, `simulation`, `cluster`, `worker`, `spot`, `retry`, `flow`, `objectives`, `pricing`, `network`, `sweep`, `deploy`; did you mean `worker`?"
    );
}

#[test]
fn toml_syntax_errors_are_located() {
    let e = error_after("cpu = 1024", "cpu = = 1024");
    assert!(e.starts_with("error: test.toml:18:7: "), "{e}");
}

#[test]
fn wrong_types_are_located() {
    assert_eq!(
        error_after("kind = \"runtask\"", "kind = 3"),
        "error: test.toml:12:8: `worker.kind`: invalid type: integer `3`, expected a string"
    );
}

#[test]
fn invalid_fargate_cpu_memory_combinations() {
    assert_eq!(
        error_after("memory = 2048", "memory = 9216"),
        "error: test.toml:19:10: `flow[0].memory`: memory `9216` MiB is not valid with cpu `1024`; allowed: 2048–8192 MiB in 1024 MiB steps"
    );
    assert_eq!(
        error_after("cpu = 1024", "cpu = 768"),
        "error: test.toml:18:7: `flow[0].cpu`: cpu `768` is not a Fargate size; allowed: 256, 512, 1024, 2048, 4096, 8192, 16384 (units; 1024 = 1 vCPU)"
    );
    assert_eq!(
        error_after(
            "cpu = 1024\nmemory = 2048",
            "cpu = \"8 vCPU\"\nmemory = \"18 GB\""
        ),
        "error: test.toml:19:10: `flow[0].memory`: memory `18432` MiB is not valid with cpu `8192`; allowed: 16384–61440 MiB in 4096 MiB steps"
    );
    assert_eq!(
        error_after("cpu = 1024", "cpu = \"lots\""),
        "error: test.toml:18:7: `flow[0].cpu`: `lots` is not a cpu; write units like 1024 or vCPUs like \"1 vCPU\""
    );
}

#[test]
fn weight_and_base_limits() {
    assert_eq!(
        error_after("weight = 3 }", "weight = 1001 }"),
        "error: test.toml:7:41: `cluster.strategy[0].weight`: weight `1001` is outside 0–1000"
    );
    assert_eq!(
        error_after("weight = 3 }", "weight = -1 }"),
        "error: test.toml:7:41: `cluster.strategy[0].weight`: weight `-1` is outside 0–1000"
    );
    assert_eq!(
        error_after("base = 1 }", "base = 100001 }"),
        "error: test.toml:8:46: `cluster.strategy[1].base`: base `100001` is outside 0–100000"
    );
}

#[test]
fn two_items_with_a_base() {
    assert_eq!(
        error_after("weight = 3 }", "weight = 3, base = 2 }"),
        "error: test.toml:8:46: `cluster.strategy[1].base`: only one item of a strategy may set `base`; items 0 and 1 both do"
    );
}

#[test]
fn all_weights_zero() {
    let src = GOOD
        .replace("weight = 3 }", "weight = 0 }")
        .replace("weight = 2,", "weight = 0,");
    assert_eq!(
        load(&src).unwrap_err().to_string(),
        "error: test.toml:6:1: `cluster.strategy`: every weight is 0: ECS rejects RunTask and CreateService with this strategy; give at least one item a weight above 0 (the API default weight is 0)"
    );
}

#[test]
fn more_than_twenty_items() {
    let items: Vec<String> = (0..21)
        .map(|_| "{ provider = \"FARGATE\", weight = 1 }".to_string())
        .collect();
    let e = error_after(
        "strategy = [\n  { provider = \"FARGATE_SPOT\", weight = 3 },\n  { provider = \"FARGATE\", weight = 2, base = 1 },\n]",
        &format!("strategy = [{}]", items.join(", ")),
    );
    assert!(
        e.starts_with("error: test.toml:6:1: `cluster.strategy`: a strategy can hold at most 20 items; this one has 21\n"),
        "{e}"
    );
}

#[test]
fn provider_not_in_the_cluster() {
    assert_eq!(
        error_after(
            "capacity_providers = [\"FARGATE\", \"FARGATE_SPOT\"]",
            "capacity_providers = [\"FARGATE\"]"
        ),
        "error: test.toml:7:16: `cluster.strategy[0].provider`: provider `FARGATE_SPOT` is not one of the cluster's capacity providers (`FARGATE`); add it to `cluster.capacity_providers`"
    );
    let src = GOOD
        .replace(
            "\"FARGATE\", \"FARGATE_SPOT\"]",
            "\"FARGATE\", \"FARGATE_SPOT\", \"my-asg\"]",
        )
        .replace(
            "{ provider = \"FARGATE_SPOT\", weight = 3 }",
            "{ provider = \"my-asg\", weight = 3 }",
        );
    assert_eq!(
        load(&src).unwrap_err().to_string(),
        "error: test.toml:7:16: `cluster.strategy[0].provider`: provider `my-asg` is not simulated: spotplan models `FARGATE` and `FARGATE_SPOT`, and a strategy cannot mix Fargate and Auto Scaling group providers"
    );
}

#[test]
fn launch_type_together_with_a_strategy() {
    assert_eq!(
        error_after(
            "kind = \"runtask\"",
            "kind = \"runtask\"\nlaunch_type = \"FARGATE\"\nstrategy = [{ provider = \"FARGATE\", weight = 1 }]"
        ),
        "error: test.toml:13:15: `worker.launch_type`: `launch_type` and `strategy` cannot both be set: ECS rejects such a RunTask with \"You may choose a capacity provider or a launch type but not both.\"; remove one"
    );
}

#[test]
fn spot_with_windows() {
    assert_eq!(
        error_after("memory = 2048", "memory = 2048\nos = \"windows\""),
        "error: test.toml:20:6: `flow[0].os`: windows tasks cannot run on FARGATE_SPOT (Fargate Spot supports Linux only); use a strategy without FARGATE_SPOT or os = \"linux\""
    );
}

#[test]
fn value_errors_name_what_is_allowed() {
    let cases = [
        (
            "duration = \"10m\"",
            "duration = \"10\"",
            "error: test.toml:17:12: `flow[0].duration`: `10` has no unit; write it like \"90s\", \"12m\", \"1h30m\" or \"30d\"",
        ),
        (
            "schedule = { every = \"1h\" }",
            "schedule = { every = \"1h\", cron = \"0 * * * *\" }",
            "error: test.toml:16:1: `flow[0].schedule`: give exactly one of `every`, `cron`, `poisson`, `csv`; got every, cron",
        ),
        (
            "schedule = { every = \"1h\" }",
            "schedule = { cron = \"61 * * * *\" }",
            "error: test.toml:16:21: `flow[0].schedule.cron`: `61 * * * *` is not a cron expression (Component error: Number out of bounds.); write 5 fields like \"0 2 * * *\" (UTC)",
        ),
        (
            "kind = \"runtask\"",
            "kind = \"prefect2\"",
            "error: test.toml:12:8: `worker.kind`: `prefect2` is not a worker kind; allowed: `prefect3-ecs-worker`, `prefect1-ecs-agent`, `runtask`",
        ),
        (
            "[worker]",
            "[retry]\npolicy = \"lazarus\"\n[worker]",
            "error: test.toml:12:10: `retry.policy`: `lazarus` is not a retry policy; allowed: `prefect3`, `prefect3-reschedule`, `prefect1-lazarus`, `custom`",
        ),
        (
            "[worker]",
            "[retry]\npolicy = \"prefect3\"\nmax_attempts = 3\n[worker]",
            "error: test.toml:13:16: `retry.max_attempts`: `max_attempts` applies only to policy `custom`, not `prefect3`",
        ),
        (
            "[worker]",
            "[spot]\nstop_timeout = \"3m\"\n[worker]",
            "error: test.toml:12:16: `spot.stop_timeout`: `3m` is outside 2s–120s (the Fargate stopTimeout range)",
        ),
        (
            "[worker]",
            "[spot]\ninterruption_rate = \"0.05\"\n[worker]",
            "error: test.toml:12:21: `spot.interruption_rate`: `0.05` is not a rate; write it like \"0.05/h\", \"6/h\" or \"2/d\"",
        ),
        (
            "[worker]",
            "[spot]\nhourly_multipliers = [1.0, 2.0]\n[worker]",
            "error: test.toml:12:1: `spot.hourly_multipliers`: needs 24 values (one per UTC hour); got 2",
        ),
        (
            "[worker]",
            "[spot]\ncapacity = { unavailable = 1.0, mean_outage = \"1h\" }\n[worker]",
            "error: test.toml:12:28: `spot.capacity.unavailable`: `1` is outside [0, 1)",
        ),
        (
            "[worker]",
            "[simulation]\nplacement = \"round-robin\"\n[worker]",
            "error: test.toml:12:13: `simulation.placement`: `round-robin` is not a placement model; allowed: `robust`, `per-call`, `per-call-tie-later`, `per-call-no-base`, `weighted-random`, `proportional`, `proportional-hold`",
        ),
        (
            "region = \"us-east-1\"",
            "region = \"mars-north-1\"",
            "error: test.toml:2:10: `region`: region `mars-north-1` has no bundled prices; bundled regions: `ap-northeast-1`, `ap-south-1`, `eu-central-1`, `eu-west-1`, `us-east-1`, `us-west-2`; or give every rate under [pricing.rates]",
        ),
        (
            "region = \"us-east-1\"",
            "region = \"eu-central-1\"",
            "error: test.toml:2:10: `pricing.rates`: no price for 2 rate(s) that this configuration can reach: FARGATE_SPOT x86_64 in `eu-central-1`: `spot_vcpu_hour`, FARGATE_SPOT x86_64 in `eu-central-1`: `spot_gb_hour`; a missing rate is never taken as 0: set them under [pricing.rates] (USD per hour), or run `spotplan pricing fetch --region eu-central-1` and use [pricing] source = \"cache\"",
        ),
        (
            "[worker]",
            "[pricing]\nsource = \"today\"\n[worker]",
            "error: test.toml:12:10: `pricing.source`: `today` is not a price source; allowed: `bundled`, `cache`, `live` (and single rates under [pricing.rates])",
        ),
        (
            "duration = \"10m\"",
            "duration = { lognormal = { median = \"10m\", p95 = \"5m\" } }",
            "error: test.toml:17:50: `flow[0].duration.lognormal.p95`: p95 `5m` must be above the median `10m`",
        ),
        (
            "duration = \"10m\"",
            "duration = { empirical = \"missing.csv\" }",
            "error: test.toml:17:26: `flow[0].duration.empirical`: cannot read `missing.csv`: No such file or directory (os error 2)",
        ),
        (
            "[worker]",
            "[spot]\ntrace = \"bad-trace.json\"\n[worker]",
            "error: test.toml:12:9: `spot.trace`: `bad-trace.json`: `data[2]` is `7`; allowed: 0, 1, false, true",
        ),
    ];
    let mut wrong = Vec::new();
    for (from, to, want) in cases {
        let got = error_after(from, to);
        if got != want {
            wrong.push(format!(
                "replacing {from:?} with {to:?}\n  got:  {got}\n  want: {want}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn launch_type_without_strategy_and_prefect_default_are_allowed() {
    let s = scenario(&GOOD.replace("kind = \"runtask\"", "kind = \"prefect3-ecs-worker\""));
    assert_eq!(s.launch.strategy.to_string(), "FARGATE w1");
    let w = spotplan::scenario::warnings(&s);
    assert!(
        w.iter().any(|w| w.code == "launch-type-ignores-strategy"),
        "{w:?}"
    );
}

#[test]
fn warnings_for_the_traps() {
    let s = scenario(&GOOD.replace(
        "[worker]",
        "[simulation]\nplacement = \"per-call\"\n[worker]",
    ));
    let w = spotplan::scenario::warnings(&s);
    assert_eq!(
        w[0].message,
        "with `per-call` placement the base of 1 on FARGATE is met inside every single-task RunTask call, so every run lands on FARGATE: expected spot share 0%, not the 60% the weights suggest"
    );
    let s = scenario(&GOOD.replace(
        "duration = \"10m\"",
        "duration = \"10m\"\ndeadline = \"5m\"",
    ));
    let w = spotplan::scenario::warnings(&s);
    assert!(w.iter().any(|w| w.code == "deadline-shorter-than-run"
        && w.message == "flow `etl`: its deadline 5m is shorter than startup plus the median work (640s), so most runs miss it even with no interruption"), "{w:?}");
    let s = scenario(
        &GOOD
            .replace(
                "[worker]",
                "[spot]\ninterruption_rate = \"0.5/h\"\n[worker]",
            )
            .replace("duration = \"10m\"", "duration = \"5h\""),
    );
    let w = spotplan::scenario::warnings(&s);
    assert!(
        w.iter().any(|w| w.code == "interruptions-above-break-even"),
        "{w:?}"
    );
    let s = scenario(&GOOD.replace(
        "[worker]",
        "[spot]\ninterruption_rate = \"0.05/h\"\n[worker]",
    ));
    assert!(
        !spotplan::scenario::warnings(&s)
            .iter()
            .any(|w| w.code == "interruptions-above-break-even")
    );
}

#[test]
fn retry_specs_and_retry_sections_refuse_the_same_zero_exponential_base() {
    let spec =
        spotplan::scenario::spec::parse_retry_spec("custom[delay=0s,backoff=2]").unwrap_err();
    assert_eq!(
        spec,
        "`custom[delay=0s,backoff=2]`: an exponential backoff (`backoff`) needs a first delay longer than zero"
    );
    let src = crate::common::world(
        "horizon = \"1d\"",
        "0s",
        crate::common::SPOT_ONLY,
        "[retry]\npolicy = \"custom\"\ndelay = { exponential = { base = \"0s\", factor = 2.0 } }",
        "schedule = { every = \"1h\" }\nduration = \"1m\"",
    );
    let e = crate::common::load(&src).unwrap_err().to_string();
    assert!(e.contains("retry.delay.exponential.base"), "{e}");
    // one grammar: the same rule, in the words of each form
    assert!(
        e.contains("an exponential backoff (`delay.exponential.factor`) needs a first delay longer than zero"),
        "{e}"
    );
}

#[test]
fn a_retry_section_and_its_spec_give_the_same_policy() {
    let pairs = [
        ("policy = \"prefect3\"", "prefect3"),
        (
            "policy = \"prefect3\"\nruntask_attempts = 5\nfallback = \"automation\"",
            "prefect3[runtask_attempts=5,fallback=automation]",
        ),
        ("policy = \"prefect3-reschedule\"", "prefect3-reschedule"),
        ("policy = \"prefect1-lazarus\"", "prefect1-lazarus"),
        (
            "policy = \"prefect1-lazarus\"\nbackend = \"cloud\"",
            "prefect1-lazarus[backend=cloud]",
        ),
        (
            "policy = \"prefect1-lazarus\"\nlazarus_limit = 7",
            "prefect1-lazarus[limit=7]",
        ),
        (
            "policy = \"custom\"\nmax_attempts = 6\ndelay = { exponential = { base = \"30s\", factor = 2.0, max = \"10m\" } }\njitter = 0.2\nfallback_after_interruptions = 1\nfallback_after_capacity_failures = 3\ndeadline_aware = true",
            "custom[max_attempts=6,delay=30s,backoff=2,max_delay=10m,jitter=0.2,fallback_after=1,fallback_after_capacity=3,deadline_aware=true]",
        ),
        (
            "policy = \"custom\"\ndelay = \"1m\"\ndeadline_aware = true\ndeadline_rule = \"uniform-progress\"",
            "custom[delay=1m,deadline_aware=uniform-progress]",
        ),
    ];
    for (section, spec) in pairs {
        let src = crate::common::world(
            "horizon = \"1d\"",
            "0s",
            crate::common::SPOT_ONLY,
            &format!("[retry]\n{section}"),
            "schedule = { every = \"1h\" }\nduration = \"1m\"\ndeadline = \"1h\"",
        );
        let from_file = crate::common::scenario(&src).retry;
        let from_spec = spotplan::scenario::spec::parse_retry_spec(spec).unwrap();
        assert_eq!(from_file, from_spec, "{section} vs {spec}");
        // and the spec written back parses to the same policy
        let again = spotplan::scenario::spec::retry_spec(&from_spec);
        assert_eq!(
            spotplan::scenario::spec::parse_retry_spec(&again).unwrap(),
            from_spec,
            "{again}"
        );
    }
}

#[test]
fn errors_point_the_right_way_with_an_example() {
    let flow = |f: &str| {
        format!(
            "name = \"x\"\nregion = \"us-east-1\"\n[cluster]\ncapacity_providers = [\"FARGATE\", \"FARGATE_SPOT\"]\n[worker]\nstrategy = [{{ provider = \"FARGATE_SPOT\", weight = 1 }}]\n[[flow]]\nname = \"a\"\n{f}\n"
        )
    };
    for (src, want) in [
        (
            flow("schedule = \"daily at 01:00\"\nduration = \"5m\""),
            "expected a table; write `schedule = { every = \"1h\" }`",
        ),
        (
            flow("schedule = { every = \"1h\" }\nduration = \"5m\"\ndeadline = 5"),
            "write `deadline = \"5m\"`",
        ),
        (
            flow("schedule = { every = \"1h\" }\nduration = 5"),
            "write `duration = \"12m\"`",
        ),
        (
            flow("schedule = { every = \"1h\" }\nduration = \"5m\"")
                .replace("provider = \"FARGATE_SPOT\"", "provider = \"FARGATE-SPOT\""),
            "provider `FARGATE-SPOT` is not a capacity provider; did you mean `FARGATE_SPOT`?",
        ),
    ] {
        let e = crate::common::load(&src).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
        assert!(
            !e.contains("ScheduleFile") && !e.contains("add it to"),
            "{e}"
        );
    }
}

#[test]
fn an_objective_of_exactly_zero_is_refused() {
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml"))
        .unwrap()
        .replace("max_crashed = 0.005", "max_crashed = 0");
    let e = load(&src).expect_err("0 cannot be shown");
    let text = e.to_string();
    assert!(
        text.contains("objectives.max_crashed")
            && text.contains("0 cannot be shown from finite samples"),
        "{text}"
    );
}
