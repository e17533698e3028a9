//! The network options: each priced by billing the same runs again, checked against hand
//! arithmetic and against simulating the scenario with that network stated.

use spotplan::sweep::network::{NetworkOption, options};
use spotplan::sweep::replicate;

use crate::common::{load, root, scenario};

/// A scenario's text with its `[network]` section replaced by `network` (or removed).
fn with_network(src: &str, network: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in src.lines() {
        if line.starts_with('[') {
            skipping = line.trim() == "[network]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    format!("{out}\n{network}\n")
}

/// One hourly 10-minute on-demand flow for a day, a 0.5 GB image, us-east-1's bundled rates.
fn hourly(network: &str, flow_extra: &str) -> String {
    format!(
        r#"
name = "net"
region = "us-east-1"
[simulation]
horizon = "1d"
replications = 2
seed = 1
[cluster]
name = "c"
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
kind = "prefect3-ecs-worker"
strategy = [{{ provider = "FARGATE", weight = 1 }}]
[retry]
policy = "prefect3"
[objectives]
max_crashed = 0.01
{network}
[[flow]]
name = "hourly"
schedule = {{ every = "1h" }}
duration = {{ fixed = "10m" }}
cpu = "1 vCPU"
memory = "2 GB"
startup = {{ provisioning = "30s", image_pull = "30s" }}
image_size = "0.5 GB"
{flow_extra}
"#
    )
}

fn option<'a>(opts: &'a [NetworkOption], name: &str) -> &'a NetworkOption {
    opts.iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no option {name}: {opts:?}"))
}

fn cost(o: &NetworkOption) -> f64 {
    o.cost_per_30d_usd
        .as_ref()
        .unwrap_or_else(|| panic!("{} is not priced: {:?}", o.name, o.unavailable))
        .mean
}

#[test]
fn the_options_bill_what_hand_arithmetic_gives() {
    // 24 runs × 0.5 GB = 12 GB a day; NAT 0.045/h and 0.045/GB; endpoints 0.01/AZ-hour
    let s = scenario(&hourly(
        "[network]\negress = \"nat\"\ninternet = false\nazs = 2",
        "",
    ));
    let reps = replicate(&s, 2, &|| {});
    assert!(
        reps.iter()
            .all(|r| r.outcome.runs == 24 && r.outcome.image_pull_gb == 12.0)
    );
    let opts = options(&s, &reps);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let nat = 30.0 * (0.045 * 24.0 + 12.0 * 0.045); // 48.6
    assert!(option(&opts, "nat").current);
    assert!(close(cost(option(&opts, "nat")), nat));
    let s3 = 30.0 * 0.045 * 24.0; // the layers bypass the NAT: 32.4
    assert!(close(cost(option(&opts, "nat+s3-gateway")), s3));
    let saving = option(&opts, "nat+s3-gateway")
        .saving_per_30d_usd
        .as_ref()
        .unwrap();
    assert!(close(saving.mean, nat - s3) && close(saving.ci95_low, nat - s3));
    // two ECR interface endpoints in two AZs on top: 61.2
    let ecr = s3 + 30.0 * 2.0 * 2.0 * 0.01 * 24.0;
    assert!(close(
        cost(option(&opts, "nat+s3-gateway+ecr-endpoints")),
        ecr
    ));
    // no NAT: ecs, ecr.api, ecr.dkr, logs, sqs and ssm in two AZs: 86.4
    let private = option(&opts, "vpc-endpoints");
    assert!(
        close(cost(private), 30.0 * 6.0 * 2.0 * 0.01 * 24.0),
        "{private:?}"
    );
    assert!(
        private
            .what
            .contains("ecs, ecr.api, ecr.dkr, logs, sqs, ssm"),
        "{}",
        private.what
    );
    assert!(
        private
            .assumptions
            .iter()
            .any(|a| a.contains("worker image")),
        "the worker's Docker Hub image needs copying: {:?}",
        private.assumptions
    );
    // the public-IP option: every task's address-hours and the worker's day
    let task_hours: f64 = reps[0].outcome.flows[0].public_ip_ms as f64 / 3.6e6;
    let ip = option(&opts, "public-ip");
    let want: f64 = reps
        .iter()
        .map(|r| (r.outcome.flows[0].public_ip_ms as f64 / 3.6e6 + 24.0) * 0.005 * 30.0)
        .sum::<f64>()
        / 2.0;
    assert!(task_hours > 24.0 * 10.0 / 60.0, "{task_hours}");
    assert!(close(cost(ip), want));
    assert_eq!(ip.caveat, Some("tasks get public addresses"));
}

#[test]
fn images_from_outside_ecr_keep_crossing_the_nat_and_block_the_private_option() {
    let s = scenario(&hourly(
        "[network]\negress = \"nat\"\ninternet = false",
        "image_registry = \"other\"",
    ));
    let opts = options(&s, &replicate(&s, 2, &|| {}));
    let saving = option(&opts, "nat+s3-gateway")
        .saving_per_30d_usd
        .as_ref()
        .unwrap();
    assert_eq!(saving.mean, 0.0, "Docker Hub layers still cross the NAT");
    let private = option(&opts, "vpc-endpoints");
    assert!(private.cost_per_30d_usd.is_none());
    assert!(
        private.unavailable.as_deref().unwrap().contains("`hourly`"),
        "{private:?}"
    );
    // the pool's image decides when the flow does not say
    let ecr = "[deploy]\nflow_image = \"123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1\"";
    let s = scenario(&format!(
        "{}{ecr}\n",
        hourly("[network]\negress = \"nat\"\ninternet = false", "")
    ));
    assert_eq!(
        s.flows[0].image_registry,
        (spotplan::scenario::ImageRegistry::Ecr, true)
    );
    let hub = "[deploy]\nflow_image = \"prefecthq/prefect:3-latest\"";
    let s = scenario(&format!(
        "{}{hub}\n",
        hourly("[network]\negress = \"nat\"", "")
    ));
    assert_eq!(
        s.flows[0].image_registry.0,
        spotplan::scenario::ImageRegistry::Other
    );
}

#[test]
fn an_option_without_its_inputs_is_unpriced_never_zero() {
    // public subnets, no image sizes: a NAT's per-GB charge cannot be billed
    let src =
        hourly("[network]\negress = \"public-ip\"", "").replace("image_size = \"0.5 GB\"", "");
    let s = scenario(&src);
    let opts = options(&s, &replicate(&s, 2, &|| {}));
    for name in ["nat", "nat+s3-gateway", "nat+s3-gateway+ecr-endpoints"] {
        let o = option(&opts, name);
        assert!(
            o.cost_per_30d_usd.is_none() && o.saving_per_30d_usd.is_none(),
            "{o:?}"
        );
        assert!(
            o.unavailable.as_deref().unwrap().contains("image_size"),
            "{o:?}"
        );
    }
    // the private option is offered only when the scenario says nothing needs the internet
    let o = option(&opts, "vpc-endpoints");
    assert!(
        o.unavailable
            .as_deref()
            .unwrap()
            .contains("internet = false"),
        "{o:?}"
    );
    // a region without NAT rates: named, not zero
    let src = hourly("[network]\negress = \"public-ip\"", "").replace("us-east-1", "eu-west-1");
    let s = scenario(&src);
    let opts = options(&s, &replicate(&s, 2, &|| {}));
    let o = option(&opts, "nat");
    assert!(
        o.unavailable
            .as_deref()
            .unwrap()
            .contains("nat_gateway_hour"),
        "{o:?}"
    );
}

#[test]
fn billing_again_equals_simulating_with_that_network() {
    for file in [
        "scenarios/long-checkpointed.toml",
        "scenarios/nightly-batch-deadline.toml",
    ] {
        let src = std::fs::read_to_string(root().join(file)).unwrap();
        let src = with_network(
            &src,
            "[network]\negress = \"nat\"\ninternet = false\nazs = 3",
        )
        .replace("replications = 200", "replications = 4");
        let s = scenario(&src);
        let reps = replicate(&s, 4, &|| {});
        let opts = options(&s, &reps);
        let stated = [
            ("public-ip", "egress = \"public-ip\""),
            ("nat", "egress = \"nat\""),
            ("nat+s3-gateway", "egress = \"nat\"\ns3_gateway = true"),
            (
                "nat+s3-gateway+ecr-endpoints",
                "egress = \"nat\"\ns3_gateway = true\necr_endpoints = true\nazs = 3",
            ),
            (
                "vpc-endpoints",
                "egress = \"vpc-endpoints\"\nendpoints = 6\nazs = 3",
            ),
        ];
        for (name, net) in stated {
            let other = scenario(&with_network(&src, &format!("[network]\n{net}")));
            let theirs = replicate(&other, 4, &|| {});
            let o = option(&opts, name);
            let per30 = 30.0 * 24.0 / s.sim.horizon.hours_f64();
            let simulated: Vec<f64> = theirs
                .iter()
                .zip(&reps)
                .map(|(r, mine)| {
                    assert_eq!(
                        r.outcome.runs, mine.outcome.runs,
                        "the network changes no run"
                    );
                    assert_eq!(r.outcome.image_pull_gb, mine.outcome.image_pull_gb);
                    let x = &r.outcome;
                    (x.cost_public_ipv4_usd + x.cost_nat_usd + x.cost_vpc_endpoints_usd) * per30
                })
                .collect();
            let want = spotplan::stats::Stat::of(&simulated);
            let got = o.cost_per_30d_usd.as_ref().unwrap();
            for (w, g) in [
                (want.mean, got.mean),
                (want.ci95_low, got.ci95_low),
                (want.ci95_high, got.ci95_high),
            ] {
                assert!(
                    (w - g).abs() <= 1e-9 * w.abs().max(1.0),
                    "{file} {name}: billed again {got:?}, simulated {want:?}"
                );
            }
        }
    }
}

#[test]
fn network_keys_are_checked() {
    let bad = [
        (
            "egress = \"public-ip\"\ns3_gateway = true",
            "applies only to egress = \"nat\"",
        ),
        (
            "egress = \"vpc-endpoints\"\ninternet = true",
            "contradicts it",
        ),
        ("egress = \"nat\"\necr_endpoints = true", "needs `azs`"),
        ("egress = \"nat\"\nazs = 9", "outside 1–6"),
    ];
    for (net, want) in bad {
        let e = load(&hourly(&format!("[network]\n{net}"), ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{net}: {e}");
    }
    let e = load(&hourly(
        "[network]\negress = \"nat\"",
        "image_registry = \"dockerhub\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("not an image registry") && e.contains("image_registry"),
        "{e}"
    );
}

#[test]
fn recommend_names_a_network_lever_that_saves_more_and_never_the_one_in_place() {
    // a 3 GB image pulled every hour through a NAT: ~97 USD of NAT data a month that an S3
    // gateway endpoint removes, far more than spot can save on 10-minute runs
    let src = hourly("[network]\negress = \"nat\"", "image_registry = \"ecr\"")
        .replace("image_size = \"0.5 GB\"", "image_size = \"3 GB\"")
        .replace("horizon = \"1d\"", "horizon = \"7d\"");
    let run = |src: &str, tag: &str| {
        let f =
            std::env::temp_dir().join(format!("spotplan-net-{tag}-{}.toml", std::process::id()));
        std::fs::write(&f, src).unwrap();
        let o = crate::common::spotplan(&["recommend", f.to_str().unwrap(), "-q", "-n", "6"]);
        let j = crate::common::spotplan(&[
            "recommend",
            f.to_str().unwrap(),
            "-q",
            "-n",
            "6",
            "--format",
            "json",
        ]);
        let _ = std::fs::remove_file(&f);
        let text = crate::common::stdout(&o);
        let json: serde_json::Value = serde_json::from_slice(&j.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", crate::common::stderr(&j)));
        (text, json)
    };
    let (text, json) = run(&src, "nat");
    let head: String = text.split("\n\n").next().unwrap().to_string();
    assert!(
        head.contains("Also: nat+s3-gateway instead of nat would save"),
        "line two names the S3 gateway: {head}"
    );
    let net = json["current"]["network"].as_array().unwrap();
    let s3 = net.iter().find(|o| o["name"] == "nat+s3-gateway").unwrap();
    // 7 days × 24 pulls × 3 GB × 0.045 USD, per 30 days: 97.2 USD
    let saving = s3["saving_per_30d_usd"]["mean"].as_f64().unwrap();
    assert!((saving - 97.2).abs() < 1e-6, "{saving}");
    assert!(
        text.contains("network options on the pick's runs"),
        "{text}"
    );
    // with the endpoint already in place the headline says nothing about the network
    let (text, json) = run(
        &src.replace("egress = \"nat\"", "egress = \"nat\"\ns3_gateway = true"),
        "s3",
    );
    let head: String = text.split("\n\n").next().unwrap().to_string();
    assert!(!head.contains("Also:"), "{head}");
    let net = json["current"]["network"].as_array().unwrap();
    assert_eq!(net[0]["name"], "nat+s3-gateway");
    assert_eq!(net[0]["current"], true);
}

#[test]
fn the_report_page_shows_the_lever_and_the_network_table() {
    let src = hourly("[network]\negress = \"nat\"", "image_registry = \"ecr\"")
        .replace("image_size = \"0.5 GB\"", "image_size = \"3 GB\"")
        .replace("horizon = \"1d\"", "horizon = \"7d\"");
    let dir = std::env::temp_dir().join(format!("spotplan-net-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("s.toml");
    std::fs::write(&f, &src).unwrap();
    let out = dir.join("out");
    let o = crate::common::spotplan(&[
        "report",
        f.to_str().unwrap(),
        "-q",
        "-n",
        "6",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let lever = html.split("id=\"also-0\">").nth(1).expect("line two");
    assert!(
        lever.starts_with(
            "Also: an S3 gateway endpoint (free) beside the NAT gateway would save $97.2"
        ),
        "{lever}"
    );
    let table = html
        .split("id=\"network-table\">")
        .nth(1)
        .expect("the table");
    let table = table.split("</table>").next().unwrap();
    assert!(
        table.contains("<th class=\"l\">nat (today)</th>"),
        "{table}"
    );
    assert!(
        table.contains("<td>$97.2"),
        "the saving in dollars: {table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An image from outside ECR pulled through a NAT on every attempt is warned about with its
/// pull rate (one hourly flow: 1.0 pull per hour at least) and Docker Hub's limits; from ECR,
/// or with public IPs (each task its own address), it is not.
#[test]
fn images_pulled_through_a_nat_from_outside_ecr_are_warned_about_rate_limits() {
    let codes = |src: &str| -> Vec<spotplan::scenario::Warning> {
        spotplan::scenario::warnings(&scenario(src))
            .into_iter()
            .filter(|w| w.code == "registry-rate-limit")
            .collect()
    };
    let w = codes(&hourly(
        "[network]\negress = \"nat\"",
        "image_registry = \"other\"",
    ));
    assert_eq!(w.len(), 1);
    assert!(
        w[0].message.starts_with("`hourly` pull their images from outside ECR on every attempt, through 1 NAT gateway address(es): at least 1.0 pulls per hour")
            && w[0].message.contains("10 pulls per hour per IPv4 address")
            && w[0].message.contains("CannotPullContainerError"),
        "{}",
        w[0].message
    );
    assert!(
        codes(&hourly(
            "[network]\negress = \"nat\"",
            "image_registry = \"ecr\""
        ))
        .is_empty()
    );
    assert!(
        codes(&hourly(
            "[network]\negress = \"public-ip\"",
            "image_registry = \"other\""
        ))
        .is_empty()
    );
}

/// A registry that allows 10 pulls an hour per address, behind one NAT, and a flow placed
/// every 5 minutes: in every hour the 11th and 12th pulls are refused (the window holds the
/// last hour's successful pulls; a refused one does not count), so 2 runs in 12 are Crashed
/// (CannotPullContainerError), unbilled: 48 a day, hand-counted. At 12 an hour none is; from
/// ECR none is; a limit without a NAT is refused.
#[test]
fn a_registry_pull_limit_behind_a_nat_crashes_the_pulls_above_it() {
    let src = |limit: &str, registry: &str| {
        format!(
            r#"
name = "pulls"
region = "us-east-1"
[simulation]
horizon = "1d"
replications = 2
drain = "1h"
[cluster]
name = "c"
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
kind = "prefect3-ecs-worker"
strategy = [{{ provider = "FARGATE", weight = 1 }}]
[retry]
policy = "prefect3"
[network]
egress = "nat"
pull_limit = "{limit}"
[[flow]]
name = "five-minutely"
schedule = {{ every = "5m" }}
duration = {{ fixed = "1m" }}
startup = {{ provisioning = "10s", image_pull = "10s" }}
image_size = "0.2 GB"
image_registry = "{registry}"
"#
        )
    };
    let s = scenario(&src("10/h", "other"));
    for rep in 0..2 {
        let o = spotplan::sim::run(&s, rep, &mut spotplan::sim::NoObserver);
        assert_eq!(o.runs, 288);
        assert_eq!(o.crashed_by_image_pull, 48, "{o:?}");
        assert_eq!(o.crashed, 48);
        assert_eq!(o.completed, 240);
    }
    for (limit, registry) in [("12/h", "other"), ("10/h", "ecr")] {
        let o = spotplan::sim::run(
            &scenario(&src(limit, registry)),
            0,
            &mut spotplan::sim::NoObserver,
        );
        assert_eq!((o.crashed, o.completed), (0, 288), "{limit} {registry}");
    }
    let e = crate::common::load(
        &src("10/h", "other").replace("egress = \"nat\"", "egress = \"public-ip\""),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`pull_limit` is for egress = \"nat\""), "{e}");
    let e = crate::common::load(&src("2.5/h", "other"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("a whole number of pulls per hour"), "{e}");
}
