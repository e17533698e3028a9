//! The account's Fargate vCPU quotas against what the pick runs at once: the engine's peak
//! against a hand count, Service Quotas read through the signed JSON client on moto, and
//! `plan`'s `!` item and "not checked" line.

use crate::common::{SPOT_ONLY, scenario};
use crate::moto::{case, moto, network, spotplan, text};

/// A run every 20 minutes that lasts exactly 50 minutes, with nothing random in its timing:
/// from the third run on, three tasks overlap (at t = 40 min, runs 0, 1 and 2 are live), never
/// four (run 0 stops at 50 min + start-up, before run 3 starts at 60). 2 vCPU each: a peak of
/// 6 vCPU on FARGATE_SPOT in every replication, and the worker's 0.5 vCPU on demand only.
#[test]
fn the_peak_concurrent_vcpu_is_the_hand_count_of_overlapping_tasks() {
    let s = scenario(&format!(
        r#"
name = "overlap"
region = "eu-west-1"
[cluster]
name = "c"
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
kind = "prefect3-ecs-worker"
poll_interval = "0s"
cpu = 512
memory = 1024
strategy = {SPOT_ONLY}
[spot]
interruption_rate = "0/h"
[simulation]
horizon = "1d"
replications = 20
[[flow]]
name = "overlap"
schedule = {{ every = "20m" }}
duration = "50m"
cpu = 2048
memory = 4096
startup = {{ provisioning = "0s", image_pull = "0s" }}
engine_startup = "0s"
"#
    ));
    let reps = spotplan::sweep::replicate(&s, 20, &|| {});
    for r in &reps {
        assert_eq!(r.outcome.peak_cpu_units_spot, 3 * 2048, "{:?}", r.outcome);
        assert_eq!(r.outcome.peak_cpu_units_fargate, 0);
    }
    let m = spotplan::sweep::metrics_of(&s, &reps);
    let c = &m.concurrent_vcpu;
    assert_eq!(c.fargate_spot_p99, 6.0);
    assert_eq!(c.worker, 0.5);
    assert_eq!(c.fargate_p99, 0.5);
    // the all-on-demand baseline runs the same tasks on FARGATE: the same peak there
    let base = spotplan::sim::run(&s.all_on_demand(), 0, &mut spotplan::sim::NoObserver);
    assert_eq!(base.peak_cpu_units_fargate, 3 * 2048);
    assert_eq!(base.peak_cpu_units_spot, 0);
}

/// On moto: Service Quotas read through the signed JSON client. moto 5.2.5 holds the `vpc`
/// quotas only: `vpc` / `L-F678F1CE` ("VPCs per Region") reads 5 as an applied value; the
/// Fargate quotas answer `NoSuchResourceException`, so `plan` says it did not check them and
/// what to state; a stated quota the pick's peak fills above 80% is a `!` item (`plan
/// --strict` exits 3), one it does not is `=` with the figures.
#[test]
fn plan_checks_the_fargate_vcpu_quotas_or_says_it_did_not() {
    let Some(url) = moto() else { return };
    let region = "eu-west-1";
    // the client itself, against moto's Service Quotas
    let conf = crate::stub::sdk_config_at(&url, region);
    let rt = crate::moto::rt();
    let q = spotplan::aws::query::Query::new(&conf, &rt).unwrap();
    assert_eq!(
        spotplan::aws::quotas::quota(&q, "vpc", "L-F678F1CE").unwrap(),
        (5.0, "applied")
    );
    let e = spotplan::aws::quotas::quota(&q, "fargate", "L-3032A538").unwrap_err();
    assert!(e.to_string().contains("NoSuchResourceException"), "{e}");

    // the emit fixture: 2 workers of 0.5 vCPU and one 1-vCPU task at a time on FARGATE (its
    // base of 1 takes every task: they never overlap), nothing on FARGATE_SPOT
    let c = case("quotas");
    let (subnets, sg) = network(&url, region);
    let net = (subnets.as_str(), sg.as_str());
    let p = spotplan(&c, &url, region, &["plan", "--strict"], net);
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        out.contains(
            "not checked: the Fargate On-Demand vCPU resource count quota (L-3032A538) against the 2 vCPU FARGATE runs at once: GetServiceQuota failed: NoSuchResourceException"
        ) && out.contains("state [deploy] fargate_vcpu_quota"),
        "{}",
        text(&p)
    );
    assert!(
        !out.contains("L-36FBB829"),
        "spot is never used: {}",
        text(&p)
    );
    assert_eq!(p.status.code(), Some(3), "{}", text(&p));

    // stated: 2 of 2 vCPU is above 80%
    let src = std::fs::read_to_string(&c.scenario).unwrap();
    std::fs::write(&c.scenario, format!("{src}fargate_vcpu_quota = 2\n")).unwrap();
    let p = spotplan(&c, &url, region, &["plan", "--strict"], net);
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        out.contains("! quotas Fargate vCPU\n    FARGATE: 2 vCPU at once (the p99 of the peaks of ")
            && out.contains("is 100% of the Fargate On-Demand vCPU resource count quota of 2 vCPU (L-3032A538, [deploy] fargate_vcpu_quota; the account's could not be read: GetServiceQuota failed: NoSuchResourceException"),
        "{}",
        text(&p)
    );
    assert!(!out.contains("not checked: the Fargate"), "{}", text(&p));
    assert!(
        String::from_utf8_lossy(&p.stderr).contains("attention: quotas Fargate vCPU: FARGATE:"),
        "{}",
        text(&p)
    );
    // 2 of 4 is not
    std::fs::write(&c.scenario, format!("{src}fargate_vcpu_quota = 4\n")).unwrap();
    let p = spotplan(&c, &url, region, &["plan"], net);
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        out.contains("= quotas Fargate vCPU\n    = FARGATE: 2 vCPU at once (p99) of a 4 vCPU quota (L-3032A538, [deploy] fargate_vcpu_quota"),
        "{}",
        text(&p)
    );
    // a recommendation carries its pick's figures: `plan` reads them, and runs nothing
    std::fs::write(&c.scenario, format!("{src}fargate_vcpu_quota = 1\n")).unwrap();
    let rec = c.scenario.with_extension("rec.json");
    let o = crate::common::recommend_quickly(&c.scenario, &rec);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rec).unwrap()).unwrap();
    let need = &v["recommendation"]["concurrent_vcpu"];
    assert_eq!(need["worker"], 1.0, "{need}");
    let c_rec = crate::moto::Case {
        scenario: rec.clone(),
        cluster: c.cluster.clone(),
        extra: c.extra.clone(),
    };
    let p = spotplan(&c_rec, &url, region, &["plan", "--strict"], net);
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        out.contains(&format!(
            "! quotas Fargate vCPU\n    FARGATE: {} vCPU at once (the p99 of the recommendation's replications' peaks) is",
            need["fargate_p99"].as_f64().unwrap()
        )),
        "{}",
        text(&p)
    );
    assert_eq!(p.status.code(), Some(3), "{}", text(&p));
    drop(c_rec);

    // a quota that is not a number of vCPU is refused before anything is read
    std::fs::write(&c.scenario, format!("{src}fargate_spot_vcpu_quota = -1\n")).unwrap();
    let p = spotplan(&c, &url, region, &["plan"], net);
    assert_eq!(p.status.code(), Some(1), "{}", text(&p));
    assert!(
        String::from_utf8_lossy(&p.stderr)
            .contains("`deploy.fargate_spot_vcpu_quota`: a quota is a number of vCPU above 0"),
        "{}",
        text(&p)
    );
}
