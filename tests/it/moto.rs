//! End to end against moto, an independent implementation of the ECS API: `spotplan apply`
//! (the real binary, the real SDK, HTTP on loopback) creates the cluster, task definition and
//! service; the account is then read back with a separate SDK client; `plan` converges to no
//! changes; a failed apply leaves a state that the next apply converges from.
//!
//! `.ci/run` installs `moto[server]` into a venv, starts it on 127.0.0.1 and points
//! SPOTPLAN_MOTO_URL at it. Each test works in its own region (moto keeps one backend per
//! region), so they run in parallel without seeing each other.
//!
//! moto quirk (shared/domain/ecs-fargate-prefect.md §7): CreateService accepts a capacity
//! provider strategy but does not store it, so the first `plan` after creating the service
//! shows a strategy update, which the second `apply` makes with UpdateService (moto stores it
//! there). Against AWS the first apply converges at once.

use std::process::{Command, Output};

use aws_sdk_ecs::types::ClusterField;

use crate::common::*;

/// The URL in `var`, or `None` (the test is skipped with a message) when it is unset outside
/// CI; `.ci/run` sets SPOTPLAN_REQUIRE_E2E so that a missing server fails there.
pub(crate) fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(u) => Some(u),
        Err(_) => {
            assert!(
                std::env::var_os("SPOTPLAN_REQUIRE_E2E").is_none(),
                "SPOTPLAN_REQUIRE_E2E is set but {var} is not"
            );
            eprintln!("{var} is not set: end-to-end test not run (`.ci/run` runs it)");
            None
        }
    }
}

pub(crate) fn moto() -> Option<String> {
    server("SPOTPLAN_MOTO_URL")
}

/// One EC2 Query API call to moto; moto routes on the credential scope of the Authorization
/// header and does not check the signature.
fn ec2(url: &str, region: &str, params: &[(&str, &str)]) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20261129/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0"
    );
    let mut form = vec![("Version", "2016-11-15")];
    form.extend_from_slice(params);
    let mut r = agent
        .post(url)
        .header("Authorization", &auth)
        .send_form(form)
        .unwrap_or_else(|e| panic!("EC2 {params:?} at {url}: {e}"));
    r.body_mut().read_to_string().unwrap()
}

/// [`ec2`], for the other test modules.
pub(crate) fn ec2_call(url: &str, region: &str, params: &[(&str, &str)]) -> String {
    ec2(url, region, params)
}

/// [`first`], for the other test modules.
pub(crate) fn first_of(xml: &str, tag: &str) -> String {
    first(xml, tag)
}

fn first(xml: &str, tag: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .find(|n| n.has_tag_name(tag))
        .and_then(|n| n.text())
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        .to_string()
}

/// A VPC with DNS hostnames (moto needs them for awsvpc tasks), routed to an internet
/// gateway (the fixture is priced with public IPs), two subnets in two zones (comma-joined,
/// as `--subnets` takes them) and a security group.
pub(crate) fn network(url: &str, region: &str) -> (String, String) {
    let (vpc, subnet, sg) = network_with_vpc(url, region);
    let other = first(
        &ec2(
            url,
            region,
            &[
                ("Action", "CreateSubnet"),
                ("VpcId", &vpc),
                ("CidrBlock", "10.0.2.0/24"),
                ("AvailabilityZone", &format!("{region}b")),
            ],
        ),
        "subnetId",
    );
    (format!("{subnet},{other}"), sg)
}

/// The VPC's main route table.
pub(crate) fn main_table(url: &str, region: &str, vpc: &str) -> String {
    first(
        &ec2(
            url,
            region,
            &[
                ("Action", "DescribeRouteTables"),
                ("Filter.1.Name", "vpc-id"),
                ("Filter.1.Value.1", vpc),
                ("Filter.2.Name", "association.main"),
                ("Filter.2.Value.1", "true"),
            ],
        ),
        "routeTableId",
    )
}

/// [`network`], with the VPC's id first.
fn network_with_vpc(url: &str, region: &str) -> (String, String, String) {
    let vpc = first(
        &ec2(
            url,
            region,
            &[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")],
        ),
        "vpcId",
    );
    ec2(
        url,
        region,
        &[
            ("Action", "ModifyVpcAttribute"),
            ("VpcId", &vpc),
            ("EnableDnsHostnames.Value", "true"),
        ],
    );
    let subnet = first(
        &ec2(
            url,
            region,
            &[
                ("Action", "CreateSubnet"),
                ("VpcId", &vpc),
                ("CidrBlock", "10.0.1.0/24"),
                ("AvailabilityZone", &format!("{region}a")),
            ],
        ),
        "subnetId",
    );
    let igw = first(
        &ec2(url, region, &[("Action", "CreateInternetGateway")]),
        "internetGatewayId",
    );
    ec2(
        url,
        region,
        &[
            ("Action", "AttachInternetGateway"),
            ("InternetGatewayId", &igw),
            ("VpcId", &vpc),
        ],
    );
    let table = main_table(url, region, &vpc);
    ec2(
        url,
        region,
        &[
            ("Action", "CreateRoute"),
            ("RouteTableId", &table),
            ("DestinationCidrBlock", "0.0.0.0/0"),
            ("GatewayId", &igw),
        ],
    );
    let sg = first(
        &ec2(
            url,
            region,
            &[
                ("Action", "CreateSecurityGroup"),
                ("GroupName", "prefect-worker"),
                ("GroupDescription", "prefect worker"),
                ("VpcId", &vpc),
            ],
        ),
        "groupId",
    );
    (vpc, subnet, sg)
}

/// The emit fixture with a cluster name of its own, so that a test can run again against the
/// same moto server.
pub(crate) struct Case {
    pub(crate) scenario: std::path::PathBuf,
    pub(crate) cluster: String,
    pub(crate) extra: Vec<String>,
}

pub(crate) fn case(tag: &str) -> Case {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let cluster = format!("dp-{tag}-{}-{nanos}", std::process::id());
    let src = std::fs::read_to_string(root().join("fixtures/emit-scenario.toml")).unwrap();
    let src = src.replacen(
        "name = \"data-platform\"",
        &format!("name = \"{cluster}\""),
        1,
    );
    assert!(src.contains(&cluster));
    let scenario = std::env::temp_dir().join(format!("{cluster}.toml"));
    std::fs::write(&scenario, src).unwrap();
    // the work pool names the crash-detection queues and rule: one per test
    Case {
        scenario,
        extra: vec!["--work-pool".into(), cluster.clone()],
        cluster,
    }
}

pub(crate) fn spotplan(
    c: &Case,
    url: &str,
    region: &str,
    args: &[&str],
    net: (&str, &str),
) -> Output {
    // the subnets' VPC, unless the test gives one
    let vpc = if c.extra.iter().any(|a| a == "--vpc-id") {
        Vec::new()
    } else {
        let xml = ec2(
            url,
            region,
            &[
                ("Action", "DescribeSubnets"),
                ("SubnetId.1", net.0.split(',').next().unwrap_or_default()),
            ],
        );
        vec!["--vpc-id".to_string(), first(&xml, "vpcId")]
    };
    Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args(args)
        .args(&c.extra)
        .args(&vpc)
        .arg(&c.scenario)
        .args(["--endpoint-url", url, "--region", region])
        .args(["--subnets", net.0, "--security-groups", net.1])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing-secret-never-printed")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PREFECT_API_KEY", KEY)
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

/// Runs an emitted `script` with `args` under bash, with the AWS CLI on `path` (see
/// [`aws_cli_path`]) and test credentials, no profile.
pub(crate) fn run_aws_script(script: &std::path::Path, args: &[&str], path: &str) -> Output {
    Command::new("bash")
        .arg(script)
        .args(args)
        .env("PATH", path)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .output()
        .unwrap()
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub(crate) fn client(url: &str, region: &str) -> aws_sdk_ecs::Client {
    let conf = aws_sdk_ecs::Config::builder()
        .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
        .region(aws_sdk_ecs::config::Region::new(region.to_string()))
        .endpoint_url(url)
        .http_client(spotplan::aws::config::https_client())
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_ecs::Client::from_conf(conf)
}

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn apply_creates_the_account_and_converges() {
    let Some(url) = moto() else { return };
    let region = "eu-west-1";
    let c = case("apply");
    let (cl, family) = (c.cluster.as_str(), format!("{}-prefect-worker", c.cluster));
    let (subnet, sg) = network(&url, region);
    let net = (subnet.as_str(), sg.as_str());

    // Nothing there yet: plan shows six creations and exits 2 with --detailed-exitcode.
    let p = spotplan(&c, &url, region, &["plan", "--detailed-exitcode"], net);
    assert_eq!(p.status.code(), Some(2), "{}", text(&p));
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(out.contains(&format!("+ cluster {cl}")), "{}", text(&p));
    assert!(
        out.contains(&format!("+ event rule {cl}-ecs-task-events")),
        "{}",
        text(&p)
    );
    assert!(out.contains("6 change(s) to apply"), "{}", text(&p));
    // the Prefect side was not read: --strict says so and exits 3, before the changes' 2
    let p = spotplan(
        &c,
        &url,
        region,
        &["plan", "--detailed-exitcode", "--strict"],
        net,
    );
    assert_eq!(p.status.code(), Some(3), "{}", text(&p));
    assert!(
        String::from_utf8_lossy(&p.stderr).contains("attention: not checked: "),
        "{}",
        text(&p)
    );

    let a = spotplan(&c, &url, region, &["apply", "--yes"], net);
    assert!(a.status.success(), "{}", text(&a));
    let err = String::from_utf8_lossy(&a.stderr);
    assert!(err.contains("applied 6 call(s)"), "{}", text(&a));
    assert!(!text(&a).contains("testing-secret-never-printed"));

    // Read back with an independent client.
    let ecs = client(&url, region);
    rt().block_on(async {
        let c = ecs
            .describe_clusters()
            .clusters(cl)
            .include(ClusterField::Settings)
            .send()
            .await
            .unwrap();
        let c = &c.clusters()[0];
        assert_eq!(c.status(), Some("ACTIVE"));
        assert_eq!(
            c.capacity_providers(),
            ["FARGATE", "FARGATE_SPOT", "asg-gpu"]
        );
        let strat: Vec<(String, i32, i32)> = c
            .default_capacity_provider_strategy()
            .iter()
            .map(|i| (i.capacity_provider().to_string(), i.weight(), i.base()))
            .collect();
        assert_eq!(
            strat,
            [
                ("FARGATE_SPOT".to_string(), 4, 0),
                ("FARGATE".to_string(), 1, 1)
            ]
        );

        let td = ecs
            .describe_task_definition()
            .task_definition(&family)
            .send()
            .await
            .unwrap();
        let td = td.task_definition().unwrap();
        assert_eq!(td.revision(), 1);
        assert_eq!(td.network_mode().map(|m| m.as_str()), Some("awsvpc"));
        assert!(
            td.container_definitions()[0]
                .image()
                .unwrap()
                .starts_with("prefecthq/prefect")
        );

        let s = ecs
            .describe_services()
            .cluster(cl)
            .services("prefect-worker")
            .send()
            .await
            .unwrap();
        let s = &s.services()[0];
        assert_eq!(s.desired_count(), 2);
        let vpc = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .unwrap();
        assert_eq!(vpc.subnets().join(","), subnet);
        assert_eq!(vpc.security_groups(), std::slice::from_ref(&sg));
        // the worker reads the feed
        let env: Vec<(&str, &str)> = td.container_definitions()[0]
            .environment()
            .iter()
            .map(|e| (e.name().unwrap_or(""), e.value().unwrap_or("")))
            .collect();
        let queue = format!("{cl}-ecs-events");
        assert!(
            env.contains(&(
                "PREFECT_INTEGRATIONS_AWS_ECS_OBSERVER_SQS_QUEUE_NAME",
                &queue
            )),
            "{env:?}"
        );
    });

    // The crash-detection feed, read back with independent clients.
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
        .region(aws_sdk_ecs::config::Region::new(region))
        .endpoint_url(&url)
        .http_client(spotplan::aws::config::https_client())
        .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
            aws_sdk_ecs::config::Credentials::new("testing", "testing", None, None, "test"),
        ))
        .build();
    let (sqs, events) = (
        aws_sdk_sqs::Client::new(&conf),
        aws_sdk_eventbridge::Client::new(&conf),
    );
    rt().block_on(async {
        let url = sqs
            .get_queue_url()
            .queue_name(format!("{cl}-ecs-events"))
            .send()
            .await
            .unwrap();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(url.queue_url().unwrap())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = attrs.attributes().unwrap();
        let redrive = &attrs[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy];
        assert!(
            redrive.contains(&format!(":{cl}-ecs-events-dlq")),
            "{redrive}"
        );
        let policy = &attrs[&aws_sdk_sqs::types::QueueAttributeName::Policy];
        assert!(policy.contains("events.amazonaws.com"), "{policy}");
        let rule = events
            .describe_rule()
            .name(format!("{cl}-ecs-task-events"))
            .send()
            .await
            .unwrap();
        let pattern: serde_json::Value =
            serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
        assert_eq!(
            pattern["detail-type"],
            serde_json::json!(["ECS Task State Change"])
        );
        assert!(
            pattern["detail"]["clusterArn"][0]
                .as_str()
                .unwrap()
                .ends_with(&format!(":cluster/{cl}"))
        );
        let targets = events
            .list_targets_by_rule()
            .rule(format!("{cl}-ecs-task-events"))
            .send()
            .await
            .unwrap();
        assert!(
            targets.targets()[0]
                .arn()
                .ends_with(&format!(":{cl}-ecs-events"))
        );
    });

    // moto drops the service strategy on CreateService (see the module note): one update.
    let a2 = spotplan(&c, &url, region, &["apply", "--yes"], net);
    assert!(a2.status.success(), "{}", text(&a2));
    let out2 = String::from_utf8_lossy(&a2.stdout);
    assert!(out2.contains(&format!("= cluster {cl}")), "{}", text(&a2));
    assert!(
        out2.contains(&format!("= task definition {family}:1")),
        "{}",
        text(&a2)
    );
    assert!(out2.contains("~ service prefect-worker"), "{}", text(&a2));
    assert!(
        String::from_utf8_lossy(&a2.stderr).contains("applied 1 call(s)"),
        "{}",
        text(&a2)
    );

    // Converged: plan has nothing to do, apply makes no call.
    let p3 = spotplan(
        &c,
        &url,
        region,
        &["plan", "--detailed-exitcode", "--format", "json"],
        net,
    );
    assert_eq!(p3.status.code(), Some(0), "{}", text(&p3));
    let j: serde_json::Value = serde_json::from_slice(&p3.stdout).unwrap();
    for s in j["steps"].as_array().unwrap() {
        assert_eq!(s["action"], "unchanged", "{s}");
    }
    let a3 = spotplan(&c, &url, region, &["apply", "--yes"], net);
    assert!(a3.status.success(), "{}", text(&a3));
    assert!(
        !String::from_utf8_lossy(&a3.stderr).contains("applied"),
        "{}",
        text(&a3)
    );
}

/// A subnet that does not exist: before, the cluster and the task definition were made and
/// CreateService failed (moto, like ECS, checks the subnets); now `plan` reads the subnets
/// (EC2 DescribeSubnets) and `apply` refuses before any change. With the right subnets the
/// next apply makes everything. (A failure half-way, and the apply that finishes it, are
/// tested on the in-memory account and the SDK stub.)
#[test]
fn a_subnet_that_does_not_exist_is_refused_before_any_change() {
    let Some(url) = moto() else { return };
    let region = "eu-central-1";
    let c = case("partial");
    let (cl, family) = (c.cluster.as_str(), format!("{}-prefect-worker", c.cluster));
    let (subnet, sg) = network(&url, region);
    let first_subnet = subnet.split(',').next().unwrap().to_string();
    let bad = spotplan(
        &c,
        &url,
        region,
        &["apply", "--yes"],
        (&format!("{first_subnet},subnet-00000000000000000"), &sg),
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("subnet subnet-00000000000000000 does not exist in eu-central-1")
            && err.contains("every task would fail to start"),
        "{}",
        text(&bad)
    );
    assert!(!err.contains("done:"), "{}", text(&bad));
    let clusters = rt().block_on(client(&url, region).describe_clusters().clusters(cl).send());
    assert!(
        clusters
            .unwrap()
            .clusters()
            .iter()
            .all(|x| x.status() != Some("ACTIVE")),
        "nothing is made"
    );

    let net = (subnet.as_str(), sg.as_str());
    let good = spotplan(&c, &url, region, &["apply", "--yes"], net);
    assert!(good.status.success(), "{}", text(&good));
    let out = String::from_utf8_lossy(&good.stdout);
    assert!(out.contains(&format!("+ cluster {cl}")), "{}", text(&good));
    assert!(out.contains("+ service prefect-worker"), "{}", text(&good));

    // --region reaches the task definition's log configuration, not only the client
    let td = rt().block_on(
        client(&url, region)
            .describe_task_definition()
            .task_definition(&family)
            .send(),
    );
    let td = td.unwrap();
    let log = td.task_definition().unwrap().container_definitions()[0]
        .log_configuration()
        .unwrap();
    assert_eq!(
        log.options()
            .unwrap()
            .get("awslogs-region")
            .map(String::as_str),
        Some(region)
    );
}

pub(crate) const KEY: &str = "pnu_TESTKEY0000never0printed0000000000";

/// The automations the Prefect server holds with `tag`.
fn automations_tagged(prefect: &str, tag: &str) -> serde_json::Value {
    http(
        "POST",
        &format!("{prefect}/automations/filter"),
        Some(serde_json::json!({"automations": {"tags": {"any_": [tag]}}})),
    )
}

/// One call to the Prefect server under test, retried while it is busy (its SQLite is shared by
/// the tests that run at once) as Prefect's own client retries; anything but 2xx fails the test.
pub(crate) fn http(method: &str, url: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let (status, v) = spotplan::prefect_api::PrefectHttp::new("", None)
        .request(method, url, body.as_ref())
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    assert!(
        (200..300).contains(&status),
        "{method} {url}: HTTP {status}: {v}"
    );
    v
}

#[test]
fn apply_creates_and_updates_the_prefect_work_pool() {
    let (Some(url), Some(prefect)) = (moto(), server("SPOTPLAN_PREFECT_API_URL")) else {
        return;
    };
    let region = "ap-southeast-2";
    let mut c = case("pool");
    let pool = c.cluster.clone();
    c.prefect(&prefect);
    let (subnet, sg) = network(&url, region);
    let net = (subnet.as_str(), sg.as_str());
    let run = |args: &[&str]| {
        let o = spotplan(&c, &url, region, args, net);
        assert!(
            !text(&o).contains(KEY),
            "the API key was printed:\n{}",
            text(&o)
        );
        o
    };

    let p = run(&["plan"]);
    assert!(p.status.success(), "{}", text(&p));
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        out.contains(&format!(
            "+ work pool {pool}\n    capacity provider strategy: — → FARGATE_SPOT w4, FARGATE w1 b1\n"
        )),
        "{}",
        text(&p)
    );
    assert!(out.contains("7 change(s) to apply"), "{}", text(&p));

    let a = run(&["apply", "--yes"]);
    assert!(a.status.success(), "{}", text(&a));
    assert!(
        String::from_utf8_lossy(&a.stderr).contains(&format!("done: work pool {pool} (created)")),
        "{}",
        text(&a)
    );

    // Read the pool back from the Prefect server.
    let got = http("GET", &format!("{prefect}/work_pools/{pool}"), None);
    assert_eq!(got["type"], "ecs", "{got}");
    let vars = &got["base_job_template"]["variables"]["properties"];
    assert_eq!(
        vars["capacity_provider_strategy"]["default"],
        serde_json::json!([
            {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0},
            {"capacityProvider": "FARGATE", "weight": 1, "base": 1}
        ])
    );
    assert_eq!(
        vars["env"]["default"]["PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR"],
        "reschedule"
    );
    assert_eq!(
        got["base_job_template"]["job_configuration"]["task_run_request"]["capacityProviderStrategy"],
        "{{ capacity_provider_strategy }}"
    );

    // Someone edits the pool by hand: another strategy, an env var of the team's own and a
    // concurrency limit the scenario does not state (it was simulated without one).
    let mut edited = got["base_job_template"].clone();
    edited["variables"]["properties"]["capacity_provider_strategy"]["default"] =
        serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]);
    edited["variables"]["properties"]["env"]["default"]["TEAM_FLAG"] = serde_json::json!("1");
    http(
        "PATCH",
        &format!("{prefect}/work_pools/{pool}"),
        Some(serde_json::json!({"base_job_template": edited, "concurrency_limit": 7})),
    );
    let p2 = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(p2.status.code(), Some(2), "{}", text(&p2));
    let out2 = String::from_utf8_lossy(&p2.stdout);
    assert!(
        out2.contains(&format!(
            "~ work pool {pool}\n    capacity provider strategy: FARGATE w1 → FARGATE_SPOT w4, FARGATE w1 b1\n    concurrency limit: 7 → unlimited\n    = env TEAM_FLAG (not spotplan's: kept)\n"
        )),
        "{}",
        text(&p2)
    );
    // the limit is never removed in silence: apply refuses and changes nothing
    let a2 = run(&["apply", "--yes"]);
    assert_eq!(a2.status.code(), Some(1), "{}", text(&a2));
    assert!(
        text(&a2).contains("has a concurrency limit of 7, which the scenario does not state"),
        "{}",
        text(&a2)
    );
    let held = http("GET", &format!("{prefect}/work_pools/{pool}"), None);
    assert_eq!(held["concurrency_limit"], 7);
    // the team removes its limit: apply puts the strategy back and keeps the team's env key
    http(
        "PATCH",
        &format!("{prefect}/work_pools/{pool}"),
        Some(serde_json::json!({"concurrency_limit": null})),
    );
    let a2 = run(&["apply", "--yes"]);
    assert!(a2.status.success(), "{}", text(&a2));
    let back = http("GET", &format!("{prefect}/work_pools/{pool}"), None);
    let mut expected = got["base_job_template"].clone();
    expected["variables"]["properties"]["env"]["default"]["TEAM_FLAG"] = serde_json::json!("1");
    assert_eq!(back["base_job_template"], expected);
    assert_eq!(back["concurrency_limit"], serde_json::Value::Null);

    // Converged (moto's service-strategy quirk aside, see the module note).
    run(&["apply", "--yes"]);
    let p3 = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(p3.status.code(), Some(0), "{}", text(&p3));
    assert!(
        String::from_utf8_lossy(&p3.stdout).contains(&format!("= work pool {pool}\n")),
        "{}",
        text(&p3)
    );
}

/// A flow with its own strategy and the `fallback=automation` policy, against the real Prefect
/// server: `apply` creates the fallback automation; a deployment that does not exist yet is
/// shown, not invented; once deployed, its job variables get the flow's strategy (its own
/// variables kept) and the plan converges. Then Prefect itself: a run of the deployment marked
/// Crashed is run again by the automation, as a new run on FARGATE.
#[test]
fn apply_sets_deployment_job_variables_and_the_automation_that_reruns_crashed_runs() {
    let (Some(url), Some(prefect)) = (moto(), server("SPOTPLAN_PREFECT_API_URL")) else {
        return;
    };
    let region = "ap-southeast-2";
    let mut c = case("own");
    let src = own_strategy_and_automation(&std::fs::read_to_string(&c.scenario).unwrap());
    std::fs::write(&c.scenario, src).unwrap();
    let pool = c.cluster.clone();
    c.prefect(&prefect);
    let (subnet, sg) = network(&url, region);
    let net = (subnet.as_str(), sg.as_str());
    let run = |args: &[&str]| {
        let o = spotplan(&c, &url, region, args, net);
        assert!(!text(&o).contains(KEY), "the API key was printed");
        o
    };
    let name = spotplan::deploy::automation::name_for(&pool);
    let guard_name = spotplan::deploy::automation::guard_name_for(&pool);

    let a = run(&["apply", "--yes"]);
    assert!(a.status.success(), "{}", text(&a));
    let out = String::from_utf8_lossy(&a.stdout);
    assert!(
        out.contains("! deployment etl\n    not in work pool"),
        "{}",
        text(&a)
    );
    // a `!` item needs a person: plan --strict exits 3 and names it
    let p = run(&["plan", "--strict"]);
    assert_eq!(p.status.code(), Some(3), "{}", text(&p));
    assert!(
        String::from_utf8_lossy(&p.stderr)
            .contains("attention: deployment etl: not there, and apply cannot make it"),
        "{}",
        text(&p)
    );
    assert!(
        out.contains(&format!("+ automation {name}\n")),
        "{}",
        text(&a)
    );
    assert!(
        out.contains(&format!("+ automation {guard_name}\n")),
        "{}",
        text(&a)
    );
    let found = automations_tagged(
        &prefect,
        &spotplan::deploy::automation::tag_for(&pool, false),
    );
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(
        found[0]["trigger"]["match_related"]["prefect.resource.name"],
        pool.as_str()
    );

    // the team deploys its flow into the pool, with a job variable of its own
    let flow = http(
        "POST",
        &format!("{prefect}/flows/"),
        Some(serde_json::json!({"name": "etl"})),
    );
    let dep = http(
        "POST",
        &format!("{prefect}/deployments/"),
        // (a deployment name of its own: Prefect upserts deployments by flow and name, and
        // the server outlives one test run)
        Some(serde_json::json!({
            "name": format!("prod-{pool}"), "flow_id": flow["id"], "work_pool_name": pool,
            "job_variables": {"image": "example/etl:1"},
            // a backfill's date, a count and a list, checked by the server
            "parameter_openapi_schema": {
                "type": "object",
                "properties": {
                    "day": {"type": "string", "format": "date"},
                    "n": {"type": "integer"},
                    "xs": {"type": "array", "items": {"type": "integer"}}
                },
                "required": ["day", "n"]
            },
            "parameters": {"day": "2000-01-01", "n": 1},
            "enforce_parameter_schema": true
        })),
    );
    let p = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(p.status.code(), Some(2), "{}", text(&p));
    assert!(
        String::from_utf8_lossy(&p.stdout).contains(&format!(
            "~ deployment etl/prod-{pool}\n    capacity provider strategy: pool default → FARGATE w1\n"
        )),
        "{}",
        text(&p)
    );
    let a = run(&["apply", "--yes"]);
    assert!(a.status.success(), "{}", text(&a));
    let got = http(
        "GET",
        &format!("{prefect}/deployments/{}", dep["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(
        got["job_variables"],
        serde_json::json!({
            "image": "example/etl:1",
            "capacity_provider_strategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
        })
    );
    run(&["apply", "--yes"]);
    let p = run(&["plan", "--detailed-exitcode"]);
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        out.contains(&format!("= deployment etl/prod-{pool}\n"))
            && out.contains(&format!("= automation {name}\n"))
            && out.contains(&format!("= automation {guard_name}\n")),
        "{}",
        text(&p)
    );

    // Prefect's own triggers and actions. Two runs crash; one of them moves on by itself
    // (the worker resubmitted it after a late event), so only the other comes back, once, as
    // a new run on FARGATE; when that rerun crashes too, the guard marks it Failed and nothing
    // runs it again.
    let dep_id = dep["id"].as_str().unwrap().to_string();
    let parameters = serde_json::json!({"day": "2026-01-15", "n": 7, "xs": [1, 2, 3]});
    let new_run = || {
        http(
            "POST",
            &format!("{prefect}/deployments/{dep_id}/create_flow_run"),
            Some(serde_json::json!({"parameters": parameters})),
        )["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let set = |id: &str, state: &str| {
        http(
            "POST",
            &format!("{prefect}/flow_runs/{id}/set_state"),
            Some(serde_json::json!({"state": {"type": state}, "force": true})),
        );
    };
    let runs = || -> Vec<serde_json::Value> {
        http(
            "POST",
            &format!("{prefect}/flow_runs/filter"),
            Some(serde_json::json!({"deployments": {"id": {"any_": [dep_id]}}})),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
    };
    let (crashed, resumed) = (new_run(), new_run());
    for id in [&crashed, &resumed] {
        set(id, "RUNNING");
        set(id, "CRASHED");
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    set(&resumed, "RUNNING");
    let wait = |what: &str, secs: u64, done: &dyn Fn(&[serde_json::Value]) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let r = runs();
            if done(&r) {
                return r;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what} within {secs} s: {r:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    };
    let originals = [crashed.clone(), resumed.clone()];
    let reruns_of = |r: &[serde_json::Value]| -> Vec<serde_json::Value> {
        r.iter()
            .filter(|x| !originals.iter().any(|o| x["id"] == o.as_str()))
            .cloned()
            .collect()
    };
    let r = wait("a rerun", 90, &|r| !reruns_of(r).is_empty());
    let rerun = reruns_of(&r)[0].clone();
    assert_eq!(rerun["created_by"]["type"], "AUTOMATION", "{rerun}");
    assert_eq!(
        rerun["created_by"]["display_value"],
        name.as_str(),
        "{rerun}"
    );
    assert_eq!(
        rerun["job_variables"]["capacity_provider_strategy"],
        serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}])
    );
    // the crashed run's own parameters, typed, not the deployment's defaults
    assert_eq!(rerun["parameters"], parameters, "{rerun}");
    // the rerun crashes too: the guard marks it Failed
    let rerun_id = rerun["id"].as_str().unwrap().to_string();
    set(&rerun_id, "RUNNING");
    set(&rerun_id, "CRASHED");
    wait("the guard marking the crashed rerun Failed", 30, &|r| {
        r.iter()
            .any(|x| x["id"] == rerun_id.as_str() && x["state"]["type"] == "FAILED")
    });
    // and past the fallback's window (30 s, evaluated every 5 s), no run was added: the
    // resumed original was not rerun, nor the crashed rerun
    std::thread::sleep(std::time::Duration::from_secs(45));
    let r = runs();
    assert_eq!(reruns_of(&r).len(), 1, "one rerun in all: {r:?}");
}

/// Two deployments, only `report`'s policy with the fallback automation, against the real
/// Prefect server: the fallback is limited to `report`'s deployment (by name until it exists,
/// then by its id), and Prefect's own trigger reruns a Crashed run of `report` and not one of
/// `etl`.
#[test]
fn a_fallback_for_one_deployment_reruns_its_crashed_runs_only() {
    let (Some(url), Some(prefect)) = (moto(), server("SPOTPLAN_PREFECT_API_URL")) else {
        return;
    };
    let region = "ap-southeast-2";
    let mut c = case("scoped");
    let src = std::fs::read_to_string(&c.scenario).unwrap().replace(
        "[deploy]",
        "[[flow]]\nname = \"report\"\nschedule = { every = \"1h\" }\nduration = \"10m\"\nretry = \"prefect3-reschedule[fallback=automation]\"\n\n[deploy]",
    );
    std::fs::write(&c.scenario, src).unwrap();
    let pool = c.cluster.clone();
    c.prefect(&prefect);
    let (subnet, sg) = network(&url, region);
    let net = (subnet.as_str(), sg.as_str());
    let run = |args: &[&str]| {
        let o = spotplan(&c, &url, region, args, net);
        assert!(!text(&o).contains(KEY), "the API key was printed");
        o
    };
    let name = spotplan::deploy::automation::name_for(&pool);
    let a = run(&["apply", "--yes"]);
    assert!(a.status.success(), "{}", text(&a));
    let held = || {
        automations_tagged(
            &prefect,
            &spotplan::deploy::automation::tag_for(&pool, false),
        )
    };
    let found = held();
    assert_eq!(
        found[0]["trigger"]["match_related"][1],
        serde_json::json!({"prefect.resource.role": "deployment", "prefect.resource.name": ["report"]}),
        "{found}"
    );
    // the team deploys both flows into the pool
    let deploy = |flow: &str| -> String {
        let f = http(
            "POST",
            &format!("{prefect}/flows/"),
            Some(serde_json::json!({"name": flow})),
        );
        http(
            "POST",
            &format!("{prefect}/deployments/"),
            Some(serde_json::json!({
                "name": format!("prod-{pool}"), "flow_id": f["id"], "work_pool_name": pool
            })),
        )["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (etl, report) = (deploy("etl"), deploy("report"));
    let p = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(p.status.code(), Some(2), "{}", text(&p));
    assert!(
        String::from_utf8_lossy(&p.stdout).contains(&format!("~ automation {name}\n")),
        "{}",
        text(&p)
    );
    let a = run(&["apply", "--yes"]);
    assert!(a.status.success(), "{}", text(&a));
    let found = held();
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(
        found[0]["trigger"]["match_related"][1],
        serde_json::json!({"prefect.resource.id": [format!("prefect.deployment.{report}")]}),
        "{found}"
    );
    let p = run(&["plan", "--detailed-exitcode"]);
    assert!(
        String::from_utf8_lossy(&p.stdout).contains(&format!("= automation {name}\n")),
        "{}",
        text(&p)
    );
    // `report`'s deployment got its own env: its policy reschedules, as the pool's does
    let got = http("GET", &format!("{prefect}/deployments/{etl}"), None);
    assert!(got["job_variables"].get("env").is_none(), "{got}");

    // Prefect's own trigger: a Crashed run of each; only `report`'s comes back
    let crash = |dep: &str| -> String {
        let id = http(
            "POST",
            &format!("{prefect}/deployments/{dep}/create_flow_run"),
            Some(serde_json::json!({})),
        )["id"]
            .as_str()
            .unwrap()
            .to_string();
        for state in ["RUNNING", "CRASHED"] {
            http(
                "POST",
                &format!("{prefect}/flow_runs/{id}/set_state"),
                Some(serde_json::json!({"state": {"type": state}, "force": true})),
            );
        }
        id
    };
    let runs = |dep: &str| -> Vec<serde_json::Value> {
        http(
            "POST",
            &format!("{prefect}/flow_runs/filter"),
            Some(serde_json::json!({"deployments": {"id": {"any_": [dep]}}})),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
    };
    let (_, _) = (crash(&etl), crash(&report));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while runs(&report).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no rerun of `report` within 90 s: {:?}",
            runs(&report)
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let rerun = runs(&report)
        .into_iter()
        .find(|r| r["created_by"]["type"] == "AUTOMATION")
        .expect("the rerun");
    assert_eq!(rerun["created_by"]["display_value"], name.as_str());
    // past the fallback's window (30 s, evaluated every 5 s): `etl`'s crashed run stays alone
    std::thread::sleep(std::time::Duration::from_secs(40));
    assert_eq!(runs(&etl).len(), 1, "{:?}", runs(&etl));
}

/// The emitted script, run twice with Prefect's own CLI against the real server, leaves one
/// automation, spotplan's.
#[test]
fn the_emitted_script_creates_the_automation_once_with_prefects_cli() {
    let (Some(prefect), Some(python)) = (
        server("SPOTPLAN_PREFECT_API_URL"),
        server("SPOTPLAN_PREFECT_PYTHON"),
    ) else {
        return;
    };
    let bin = std::path::Path::new(&python)
        .parent()
        .unwrap()
        .to_path_buf();
    let c = case("script");
    let pool = c.cluster.clone();
    let src = own_strategy_and_automation(&std::fs::read_to_string(&c.scenario).unwrap());
    std::fs::write(&c.scenario, src).unwrap();
    let dir = std::env::temp_dir().join(format!("spotplan-script-{pool}"));
    let o = Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .arg("emit")
        .arg(&c.scenario)
        .arg("--out")
        .arg(&dir)
        .args(["--work-pool", &pool])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for _ in 0..2 {
        let o = Command::new("bash")
            .arg(dir.join("prefect/work-pool.sh"))
            .env("PATH", &path)
            .env("PREFECT_API_URL", &prefect)
            .env("PREFECT_HOME", dir.join("prefect-home"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    for (want, guard) in spotplan::deploy::automation::bodies_for(&pool)
        .into_iter()
        .zip([false, true])
    {
        let tag = spotplan::deploy::automation::tag_for(&pool, guard);
        let found = automations_tagged(&prefect, &tag);
        let found = found.as_array().unwrap();
        assert_eq!(
            found.len(),
            1,
            "one automation {tag} after two runs: {found:?}"
        );
        assert_eq!(found[0]["name"], want["name"]);
        let set = |v: &serde_json::Value| {
            let mut t: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.to_string())
                .collect();
            t.sort();
            t
        };
        // (a set to Prefect: its order is the server's)
        assert_eq!(
            set(&found[0]["trigger"]["expect"]),
            set(&want["trigger"]["expect"])
        );
        assert_eq!(found[0]["trigger"]["posture"], want["trigger"]["posture"]);
        assert_eq!(
            found[0]["trigger"]["match_related"],
            want["trigger"]["match_related"]
        );
        assert_eq!(found[0]["actions"][0], {
            let mut a = found[0]["actions"][0].clone();
            for (k, v) in want["actions"][0].as_object().unwrap() {
                a[k] = v.clone();
            }
            a
        });
    }
    let pool_back = http("GET", &format!("{prefect}/work_pools/{pool}"), None);
    assert_eq!(pool_back["type"], "ecs");
    // the prefect.yaml fragment is YAML (PyYAML, as Prefect reads it) with the deployment's
    // job variables
    let y = Command::new(&python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(dir.join("prefect/prefect.yaml"))
        .output()
        .unwrap();
    assert!(y.status.success(), "{}", text(&y));
    let y: serde_json::Value = serde_json::from_slice(&y.stdout).unwrap();
    assert_eq!(y["deployments"][0]["name"], "etl");
    assert_eq!(y["deployments"][0]["work_pool"]["name"], pool.as_str());
    assert_eq!(
        y["deployments"][0]["work_pool"]["job_variables"]["capacity_provider_strategy"],
        serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The emitted `events/apply.sh`, run twice with the AWS CLI against moto, makes the
/// crash-detection feed `apply` would: a plan afterwards finds the queues and the rule as
/// wanted.
#[test]
fn the_emitted_feed_script_makes_what_apply_wants() {
    let (Some(url), Some(aws)) = (moto(), server("SPOTPLAN_AWS_CLI")) else {
        return;
    };
    // (the fixture's region: the script and its ARNs are emitted for it)
    let region = "eu-west-1";
    let c = case("feed");
    let (subnet, sg) = network(&url, region);
    let dir = std::env::temp_dir().join(format!("spotplan-feed-{}", c.cluster));
    emit_cli(&c, &dir);
    let path = aws_cli_path(&dir, &aws, &url);
    for _ in 0..2 {
        let o = run_aws_script(&dir.join("events/apply.sh"), &[], &path);
        assert!(o.status.success(), "{}", text(&o));
    }
    let p = spotplan(
        &c,
        &url,
        region,
        &["plan", "--format", "json"],
        (&subnet, &sg),
    );
    assert!(p.status.success(), "{}", text(&p));
    let j: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    let feed: Vec<&serde_json::Value> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["resource"] == "queue" || s["resource"] == "event rule")
        .collect();
    assert_eq!(feed.len(), 3, "{j}");
    for s in feed {
        assert_eq!(s["action"], "unchanged", "{s}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A real prefect-aws ECS worker (the version `.ci/run` installs beside the Prefect server)
/// polls the work pool `apply` created, picks up a flow run of a deployment and submits it to
/// ECS (moto, through a recording proxy): the RunTask request it sends carries the
/// recommendation's capacity provider strategy, no launch type, the network configuration,
/// and not the API key.
#[test]
fn a_real_prefect_aws_worker_runs_a_flow_run_on_the_strategy() {
    let (Some(url), Some(prefect), Some(python)) = (
        moto(),
        server("SPOTPLAN_PREFECT_API_URL"),
        server("SPOTPLAN_PREFECT_PYTHON"),
    ) else {
        return;
    };
    let region = "us-west-2";
    let mut c = case("worker");
    let pool = c.cluster.clone();
    let (vpc, subnet, sg) = network_with_vpc(&url, region);
    c.prefect(&prefect);
    c.extra.extend(["--vpc-id".into(), vpc.clone()]);
    let a = spotplan(&c, &url, region, &["apply", "--yes"], (&subnet, &sg));
    assert!(a.status.success(), "{}", text(&a));

    // a deployment in the pool, and a run of it due now
    let flow = http(
        "POST",
        &format!("{prefect}/flows/"),
        Some(serde_json::json!({"name": format!("flow-{pool}")})),
    );
    let dep = http(
        "POST",
        &format!("{prefect}/deployments/"),
        Some(serde_json::json!({"name": "prod", "flow_id": flow["id"], "work_pool_name": pool})),
    );
    let run = http(
        "POST",
        &format!(
            "{prefect}/deployments/{}/create_flow_run",
            dep["id"].as_str().unwrap()
        ),
        Some(serde_json::json!({})),
    );

    // the worker, its AWS calls through a recording proxy in front of moto
    let upstream = url.clone();
    let proxy = crate::stub::Stub::start(move |req, _| crate::stub::forward(&upstream, req));
    let bin = std::path::Path::new(&python)
        .parent()
        .unwrap()
        .to_path_buf();
    let home = std::env::temp_dir().join(format!("spotplan-worker-{pool}"));
    let mut worker = start_worker(&bin, &prefect, &pool, &proxy.url, region, true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let run_task = loop {
        if let Some(r) = proxy
            .requests()
            .into_iter()
            .find(|r| r.operation() == "RunTask")
        {
            break Some(r);
        }
        if std::time::Instant::now() > deadline || worker.try_wait().unwrap().is_some() {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    // let the worker finish its poll (it returns once the task is created), then stop it
    let stop = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while worker.try_wait().unwrap().is_none() && std::time::Instant::now() < stop {
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let _ = worker.kill();
    let out = worker.wait_with_output().unwrap();
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let Some(run_task) = run_task else {
        panic!(
            "the worker sent no RunTask; it called {:?}\n{log}",
            proxy.operations()
        );
    };
    let body = run_task.json();
    assert_eq!(
        body["capacityProviderStrategy"],
        serde_json::json!([
            {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0},
            {"capacityProvider": "FARGATE", "weight": 1, "base": 1}
        ]),
        "{body}"
    );
    assert!(body.get("launchType").is_none(), "{body}");
    assert_eq!(body["cluster"], pool.as_str(), "{body}");
    let vpc_conf = &body["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(vpc_conf["subnets"], serde_json::json!([subnet]), "{body}");
    assert!(
        !run_task.body.contains(KEY),
        "the API key is in the RunTask request"
    );
    assert!(
        proxy.requests().iter().all(|r| !r.body.contains(KEY)),
        "the API key went to AWS"
    );
    // the task definition the worker registered takes the key from SSM
    let td = proxy
        .requests()
        .into_iter()
        .find(|r| r.operation() == "RegisterTaskDefinition")
        .map(|r| r.json())
        .unwrap_or_default();
    assert_eq!(
        td["containerDefinitions"][0]["secrets"][0]["name"], "PREFECT_API_KEY",
        "{td}"
    );
    let _ = run;
    let _ = std::fs::remove_dir_all(&home);
}

/// `spotplan emit --format cli` of case `c` into `dir`: its output.
pub(crate) fn emit_cli(c: &Case, dir: &std::path::Path) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .arg("emit")
        .arg(&c.scenario)
        .arg("--out")
        .arg(dir)
        .args(&c.extra)
        .args(["--format", "cli"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    o
}

/// A PATH whose `aws` is the AWS CLI at `aws` pointed at moto's `url` (the AWS CLI v1 does not
/// read AWS_ENDPOINT_URL), the wrapper kept in `dir/bin`.
pub(crate) fn aws_cli_path(dir: &std::path::Path, aws: &str, url: &str) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("aws");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec '{aws}' --endpoint-url '{url}' \"$@\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A real prefect-aws ECS worker on work pool `pool` (`--run-once` when `once`), its AWS calls
/// to `aws_url` (a recording proxy in front of moto) in `region`, with the environment the
/// emitted task definition sets: the observer reads the queue `apply` created. `bin` is the
/// directory of prefect-aws's Python.
pub(crate) fn start_worker(
    bin: &std::path::Path,
    prefect: &str,
    pool: &str,
    aws_url: &str,
    region: &str,
    once: bool,
) -> std::process::Child {
    let home = std::env::temp_dir().join(format!("spotplan-worker-{pool}"));
    let mut args = vec!["worker", "start", "--pool", pool, "--type", "ecs"];
    if once {
        args.push("--run-once");
    }
    Command::new(bin.join("prefect"))
        .args(args)
        .env("PREFECT_API_URL", prefect)
        .env("PREFECT_API_KEY", KEY)
        .env("PREFECT_HOME", &home)
        .env("PREFECT_WORKER_QUERY_SECONDS", "2")
        .env("AWS_ENDPOINT_URL", aws_url)
        .env("AWS_DEFAULT_REGION", region)
        .env("AWS_REGION", region)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env(
            "PREFECT_INTEGRATIONS_AWS_ECS_OBSERVER_SQS_QUEUE_NAME",
            format!("{pool}-ecs-events"),
        )
        .env(
            "PREFECT_INTEGRATIONS_AWS_ECS_OBSERVER_SQS_QUEUE_REGION",
            region,
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

impl Case {
    /// Also the work pool on the Prefect API at `url` (the pool is named after the cluster).
    pub(crate) fn prefect(&mut self, url: &str) {
        self.extra
            .extend(["--prefect-api-url".to_string(), url.to_string()]);
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.scenario);
    }
}

/// prefect-aws itself (the version `.ci/run` installs beside the Prefect server) renders the
/// emitted work pool and prepares the RunTask request exactly as its worker does, checking the
/// network configuration against moto's EC2: the request carries the strategy and the
/// network, no launch type, and the API key nowhere: it reaches the task as a secret.
#[test]
fn prefect_aws_renders_the_work_pool_with_the_strategy_and_without_the_key() {
    let Some(url) = moto() else { return };
    let Some(python) = server("SPOTPLAN_PREFECT_PYTHON") else {
        return;
    };
    let region = "ap-southeast-2";
    let (vpc, subnet, sg) = network_with_vpc(&url, region);
    let dir = std::env::temp_dir().join(format!("spotplan-prefect-aws-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let o = Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args(["emit", "fixtures/emit-scenario.toml", "--out"])
        .arg(&dir)
        .args([
            "--vpc-id",
            &vpc,
            "--subnets",
            &subnet,
            "--security-groups",
            &sg,
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let template = dir.join("prefect/base-job-template.json");
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&template).unwrap()).unwrap();
    let r = Command::new(&python)
        .arg(root().join("tests/support/render_ecs_job.py"))
        .arg(&template)
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_DEFAULT_REGION", region)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("PREFECT_API_URL", "http://127.0.0.1:9/api")
        .env("PREFECT_API_KEY", KEY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(
        r.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(
        !stdout.contains(KEY),
        "the API key leaks into the request: {stdout}"
    );
    let got: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let req = &got["run_task"];
    let props = &want["variables"]["properties"];
    assert_eq!(
        req["capacityProviderStrategy"],
        props["capacity_provider_strategy"]["default"]
    );
    assert!(req.get("launchType").is_none(), "{req}");
    let vpc_conf = &req["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(vpc_conf["subnets"], serde_json::json!([subnet]), "{req}");
    assert_eq!(vpc_conf["securityGroups"], serde_json::json!([sg]), "{req}");
    let env = req["overrides"]["containerOverrides"][0]["environment"].to_string();
    assert!(!env.contains("PREFECT_API_KEY"), "{env}");
    let td = &got["task_definition"];
    let container = &td["containerDefinitions"][0];
    assert_eq!(
        container["secrets"],
        serde_json::json!([{"name": "PREFECT_API_KEY", "valueFrom": props["prefect_api_key_secret_arn"]["default"]}]),
        "{td}"
    );
    // the size and platform the scenario was priced at
    assert_eq!(td["cpu"], "1024", "{td}");
    assert_eq!(td["memory"], "2048", "{td}");
    assert_eq!(td["runtimePlatform"]["cpuArchitecture"], "X86_64", "{td}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `--prefect-api-url` without `/api` (the UI's address) is found by probing the API before
/// anything else: `apply` stops with exit 1, says which URL was meant, and changes nothing in
/// the account (it used to read 404 as "pool missing", register a task definition and
/// redeploy the worker before failing).
#[test]
fn a_mistyped_prefect_api_url_stops_apply_before_any_aws_change() {
    let (Some(url), Some(prefect)) = (moto(), server("SPOTPLAN_PREFECT_API_URL")) else {
        return;
    };
    let region = "ca-central-1";
    let mut c = case("probe");
    let wrong = prefect
        .trim_end_matches('/')
        .trim_end_matches("/api")
        .to_string();
    let pool_only = c.extra.clone();
    c.prefect(&wrong);
    let (subnet, sg) = network(&url, region);
    let a = spotplan(&c, &url, region, &["apply", "--yes"], (&subnet, &sg));
    assert_eq!(a.status.code(), Some(1), "{}", text(&a));
    let err = String::from_utf8_lossy(&a.stderr);
    assert!(err.contains(&format!("no Prefect API at {wrong}")), "{err}");
    assert!(err.contains(&format!("did you mean {wrong}/api?")), "{err}");
    // nothing was created
    let rt = rt();
    let clusters = rt
        .block_on(client(&url, region).list_clusters().send())
        .unwrap();
    assert!(
        !clusters
            .cluster_arns()
            .iter()
            .any(|a| a.contains(&c.cluster)),
        "{clusters:?}"
    );
    // the right URL answers the probe with the server's version
    c.extra = pool_only;
    c.prefect(&prefect);
    let p = spotplan(&c, &url, region, &["plan"], (&subnet, &sg));
    assert!(p.status.success(), "{}", text(&p));
    assert!(
        String::from_utf8_lossy(&p.stderr).contains("(server 3."),
        "{}",
        text(&p)
    );
}

/// STS GetCallerIdentity is compared with `deploy.account_id` before anything is read: other
/// credentials are refused (exit 1) unless `--allow-other-account`. (`.ci/run` starts moto as
/// account 111122223333, the fixture's.)
#[test]
fn credentials_of_another_account_are_refused() {
    let Some(url) = moto() else { return };
    let region = "sa-east-1";
    let mut c = case("account");
    c.extra
        .extend(["--account-id".to_string(), "222233334444".to_string()]);
    let (subnet, sg) = network(&url, region);
    let p = spotplan(&c, &url, region, &["plan"], (&subnet, &sg));
    assert_eq!(p.status.code(), Some(1), "{}", text(&p));
    assert!(
        String::from_utf8_lossy(&p.stderr).contains(
            "the credentials belong to account 111122223333, but deploy.account_id is 222233334444"
        ),
        "{}",
        text(&p)
    );
    c.extra.push("--allow-other-account".into());
    let p = spotplan(&c, &url, region, &["plan"], (&subnet, &sg));
    assert!(p.status.success(), "{}", text(&p));
}
