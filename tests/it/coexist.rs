//! Coexisting with what others made, against moto (`.ci/run` starts it): prefect-aws's own
//! events stack, deployed by prefect-aws's own code (`prefect_aws._cli.utils.deploy_stack` with
//! its `events-only.json`, what `prefect-aws ecs-worker deploy-events` runs), is used as it is;
//! a target someone added to spotplan's rule is kept.

use std::process::Command;

use crate::moto::{case, client, moto, network, rt, server, spotplan, text};

/// Runs `script` with prefect-aws's Python against moto; its standard output.
pub(crate) fn python(url: &str, region: &str, script: &str) -> String {
    let py = server("SPOTPLAN_PREFECT_PYTHON").expect("SPOTPLAN_PREFECT_PYTHON");
    let o = Command::new(py)
        .args(["-c", script])
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", region)
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The rule's targets and the queue's policy, as boto3 reads them.
fn feed_state(url: &str, region: &str, pool: &str) -> String {
    python(
        url,
        region,
        &format!(
            r#"
import boto3, json
ev, sqs = boto3.client("events"), boto3.client("sqs")
u = sqs.get_queue_url(QueueName="{pool}-ecs-events")["QueueUrl"]
print(json.dumps({{
  "targets": ev.list_targets_by_rule(Rule="{pool}-ecs-task-events")["Targets"],
  # moto does not apply a CloudFormation QueuePolicy: no policy reads as None
  "policy": sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["Policy"]).get("Attributes", {{}}).get("Policy"),
  "rules": [r["Name"] for r in ev.list_rules()["Rules"] if r["Name"].startswith("{pool}")],
}}, sort_keys=True))
"#
        ),
    )
}

#[test]
fn prefect_aws_events_stack_is_used_and_never_changed() {
    let (Some(url), Some(_)) = (moto(), server("SPOTPLAN_PREFECT_PYTHON")) else {
        return;
    };
    let region = "ap-southeast-2";
    let c = case("stack");
    let pool = c.cluster.clone();
    let arn = rt().block_on(async {
        client(&url, region)
            .create_cluster()
            .cluster_name(&c.cluster)
            .send()
            .await
            .unwrap()
            .cluster()
            .unwrap()
            .cluster_arn()
            .unwrap()
            .to_string()
    });
    let stack = format!("{pool}-events");
    python(
        &url,
        region,
        &format!(
            r#"
import json
from prefect_aws._cli.utils import load_template, deploy_stack, add_cli_tags, get_aws_client
deploy_stack(cf_client=get_aws_client("cloudformation", "{region}", None), stack_name="{stack}",
  template_body=json.dumps(load_template("events-only.json")),
  parameters=[{{"ParameterKey": "WorkPoolName", "ParameterValue": "{pool}"}},
              {{"ParameterKey": "ExistingClusterArn", "ParameterValue": "{arn}"}}],
  tags=add_cli_tags("{pool}", "events"), wait=True)
"#
        ),
    );
    let before = feed_state(&url, region, &pool);
    let (subnet, sg) = network(&url, region);
    let net = (subnet.as_str(), sg.as_str());

    let p = spotplan(&c, &url, region, &["plan"], net);
    assert!(p.status.success(), "{}", text(&p));
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        out.contains(&format!(
            "= queue {pool}-ecs-events\n    = stack {stack}: used, not managed"
        )),
        "{}",
        text(&p)
    );
    assert!(
        !out.contains("event rule") && !out.contains("-dlq"),
        "{}",
        text(&p)
    );
    let a = spotplan(&c, &url, region, &["apply", "--yes"], net);
    assert!(a.status.success(), "{}", text(&a));
    let done = String::from_utf8_lossy(&a.stderr);
    for op in ["CreateQueue", "SetQueueAttributes", "PutRule"] {
        assert!(!done.contains(&format!("done: {op}")), "{}", text(&a));
    }
    // one event, one message: the stack's rule, target and policy exactly as they were
    assert_eq!(feed_state(&url, region, &pool), before);
    assert!(before.contains("\"Id\": \"Target0\""), "{before}");
}

#[test]
fn a_target_someone_added_to_the_rule_is_kept_and_the_plan_converges() {
    let (Some(url), Some(_)) = (moto(), server("SPOTPLAN_PREFECT_PYTHON")) else {
        return;
    };
    let region = "ap-southeast-2";
    let c = case("target");
    let pool = c.cluster.clone();
    let (subnet, sg) = network(&url, region);
    let net = (subnet.as_str(), sg.as_str());
    let a = spotplan(&c, &url, region, &["apply", "--yes"], net);
    assert!(a.status.success(), "{}", text(&a));
    spotplan(&c, &url, region, &["apply", "--yes"], net); // moto's service-strategy quirk
    python(
        &url,
        region,
        &format!(
            r#"
import boto3
q = boto3.client("sqs").create_queue(QueueName="{pool}-audit")["QueueUrl"]
arn = boto3.client("sqs").get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
boto3.client("events").put_targets(Rule="{pool}-ecs-task-events", Targets=[{{"Id": "audit", "Arn": arn}}])
"#
        ),
    );
    let p = spotplan(&c, &url, region, &["plan", "--detailed-exitcode"], net);
    assert_eq!(p.status.code(), Some(0), "{}", text(&p));
    assert!(
        String::from_utf8_lossy(&p.stdout).contains(&format!(
            "= event rule {pool}-ecs-task-events\n    = target audit → arn:aws:sqs:{region}:111122223333:{pool}-audit (not spotplan's: kept)"
        )),
        "{}",
        text(&p)
    );
    let state = feed_state(&url, region, &pool);
    assert!(
        state.contains("\"Id\": \"audit\"") && state.contains("\"Id\": \"prefect-ecs-events\""),
        "{state}"
    );
}

/// The network as deployed against the network as priced, on moto's EC2: a scenario priced
/// behind a NAT gateway with an S3 gateway endpoint, deployed to subnets routed to an internet
/// gateway, is a `!` item naming each subnet's route (`plan --strict` exits 3); once the route
/// goes to a NAT gateway and the S3 gateway endpoint is there, the network reads `=`.
#[test]
fn the_subnets_routes_are_checked_against_the_priced_egress() {
    use crate::moto::{ec2_call, first_of, main_table};
    let Some(url) = moto() else { return };
    let region = "eu-central-1";
    let mut c = case("routes");
    let src = std::fs::read_to_string(&c.scenario).unwrap();
    let src = src.replacen(
        "duration = \"10m\"",
        "duration = \"10m\"\nimage_size = \"1 GB\"",
        1,
    );
    std::fs::write(
        &c.scenario,
        format!(
            "{src}\n[network]\negress = \"nat\"\ns3_gateway = true\n\n[pricing.rates]\nnat_gateway_hour = 0.048\nnat_gb = 0.048\n"
        ),
    )
    .unwrap();
    let (subnets, sg) = network(&url, region);
    let first = subnets.split(',').next().unwrap().to_string();
    let vpc = first_of(
        &ec2_call(
            &url,
            region,
            &[("Action", "DescribeSubnets"), ("SubnetId.1", &first)],
        ),
        "vpcId",
    );
    c.extra.extend(["--vpc-id".into(), vpc.clone()]);
    let net = (subnets.as_str(), sg.as_str());
    let p = spotplan(&c, &url, region, &["plan", "--strict"], net);
    assert_eq!(p.status.code(), Some(3), "{}", text(&p));
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        out.contains(&format!(
            "! network {vpc} (priced: nat)\n    {first}: 0.0.0.0/0 → igw-"
        )),
        "{}",
        text(&p)
    );
    assert!(
        out.contains("no S3 gateway endpoint (com.amazonaws.eu-central-1.s3)"),
        "{}",
        text(&p)
    );
    assert!(
        String::from_utf8_lossy(&p.stderr).contains("attention: network"),
        "{}",
        text(&p)
    );

    // a NAT gateway for the VPC's main table, and the S3 gateway endpoint on it
    let nat = first_of(
        &ec2_call(
            &url,
            region,
            &[("Action", "CreateNatGateway"), ("SubnetId", &first)],
        ),
        "natGatewayId",
    );
    let table = main_table(&url, region, &vpc);
    ec2_call(
        &url,
        region,
        &[
            ("Action", "ReplaceRoute"),
            ("RouteTableId", &table),
            ("DestinationCidrBlock", "0.0.0.0/0"),
            ("NatGatewayId", &nat),
        ],
    );
    ec2_call(
        &url,
        region,
        &[
            ("Action", "CreateVpcEndpoint"),
            ("VpcId", &vpc),
            ("ServiceName", &format!("com.amazonaws.{region}.s3")),
            ("VpcEndpointType", "Gateway"),
            ("RouteTableId.1", &table),
        ],
    );
    let p = spotplan(&c, &url, region, &["plan"], net);
    assert!(p.status.success(), "{}", text(&p));
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        out.contains(&format!(
            "= network {vpc} (priced: nat)\n    = subnet {first} in {region}a: 0.0.0.0/0 → {nat}, S3 gateway route\n"
        )),
        "{}",
        text(&p)
    );
}
