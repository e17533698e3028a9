//! The SDK side of plan/apply against a loopback stub of the ECS API (`stub.rs`): the real
//! client, signing and JSON 1.1 protocol; every call's request body, in order; and the error
//! mapping of the errors as ECS sends them.

use serde_json::{Value, json};
use spotplan::aws::ecs::SdkEcs;
use spotplan::deploy::api::EcsApi;
use spotplan::deploy::apply::apply;
use spotplan::deploy::desired::{Choice, Desired, desired};
use spotplan::deploy::inputs::inputs;
use spotplan::deploy::plan::{Call, plan};

use crate::common::*;
use crate::stub::{Reply, Stub};

fn want() -> Desired {
    let s = scenario(&std::fs::read_to_string(root().join("fixtures/emit-scenario.toml")).unwrap());
    let d = inputs(&s.deploy_section, &s.region, &s.cluster.name, &s.network).unwrap();
    desired(
        &s,
        &d,
        &Choice {
            strategy: s.launch.strategy.clone(),
            retry: s.retry.clone(),
            origin: "test".into(),
            deployments: Default::default(),
            deployment_retry: Default::default(),
            quota_need: None,
        },
    )
}

/// ECS, SQS and EventBridge clients of the stub: static credentials, eu-west-1, no SDK
/// retries (apply's own retries are under test).
fn ecs(stub: &Stub) -> SdkEcs {
    SdkEcs::from_config(stub.sdk_config("eu-west-1")).unwrap()
}

/// A strategy as ECS's JSON carries it (`base` 0 when absent).
fn strategy(v: &Value) -> Vec<(String, i64, i64)> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a strategy: {v}"))
        .iter()
        .map(|i| {
            (
                i["capacityProvider"].as_str().unwrap().to_string(),
                i["weight"].as_i64().unwrap_or(0),
                i["base"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

fn items(v: &[(&str, i64, i64)]) -> Vec<(String, i64, i64)> {
    v.iter().map(|(p, w, b)| (p.to_string(), *w, *b)).collect()
}

#[test]
fn create_from_scratch_sends_the_right_requests_in_order() {
    let d = want();
    let stub = Stub::start(|r, _| match r.operation() {
        "DescribeClusters" => Reply::ok(json!({
            "clusters": [],
            "failures": [{
                "arn": "arn:aws:ecs:eu-west-1:111122223333:cluster/data-platform",
                "reason": "MISSING"
            }]
        })),
        "DescribeTaskDefinition" => Reply::error(
            400,
            "ClientException",
            "Unable to describe task definition.",
        ),
        "CreateCluster" | "RegisterTaskDefinition" | "CreateService" => Reply::ok(json!({})),
        // the crash-detection feed, as SQS (JSON 1.0) and EventBridge say "missing"
        "GetQueueUrl" => Reply::error(
            400,
            "com.amazonaws.sqs#QueueDoesNotExist",
            "The specified queue does not exist.",
        ),
        "DescribeRule" => Reply::error(400, "ResourceNotFoundException", "Rule does not exist."),
        "CreateQueue" => Reply::ok(json!({"QueueUrl": "http://stub/queue"})),
        "PutRule" => Reply::ok(json!({"RuleArn": "arn:aws:events:eu-west-1:111122223333:rule/r"})),
        "PutTargets" => Reply::ok(json!({"FailedEntryCount": 0, "FailedEntries": []})),
        _ => Reply::error(400, "InvalidAction", "not expected here"),
    });
    let mut api = ecs(&stub);
    let mut seen = api
        .observe(&d.cluster.name, &d.task_definition.family, &d.service.name)
        .unwrap();
    let feed = d.events.as_ref().unwrap();
    seen.events = api
        .observe_events(&feed.dlq.name, &feed.queue.name, &feed.rule.name)
        .unwrap();
    assert_eq!(
        (
            seen.cluster.is_none(),
            seen.task_definition.is_none(),
            seen.service.is_none()
        ),
        (true, true, true)
    );
    let p = plan(&d, &seen);
    let r = apply(&p, &mut api, None, &mut |_| {});
    assert!(r.ok(), "{r}");
    assert_eq!(
        stub.operations(),
        [
            "DescribeClusters",
            "DescribeTaskDefinition",
            "GetQueueUrl",
            "GetQueueUrl",
            "DescribeRule",
            "CreateCluster",
            "CreateQueue",
            "CreateQueue",
            "PutRule",
            "PutTargets",
            "RegisterTaskDefinition",
            "CreateService"
        ]
    );
    let all = stub.requests();
    for r in &all {
        let auth = r.header("authorization").unwrap_or("");
        let service = match r.operation() {
            "GetQueueUrl" | "CreateQueue" => "sqs",
            "DescribeRule" | "PutRule" | "PutTargets" => "events",
            _ => "ecs",
        };
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDSPOTPLANTEST/")
                && auth.contains(&format!("/eu-west-1/{service}/aws4_request")),
            "signed for {service} in eu-west-1: {auth}"
        );
    }
    // the feed: prefect-aws's names and attributes, the rule on this cluster's task changes,
    // feeding the queue that EventBridge may write to for this rule only
    let q = stub.calls("CreateQueue");
    assert_eq!(q[0].json()["QueueName"], "spot-pool-ecs-events-dlq");
    let queue = q[1].json();
    assert_eq!(queue["QueueName"], "spot-pool-ecs-events");
    let redrive: Value =
        serde_json::from_str(queue["Attributes"]["RedrivePolicy"].as_str().unwrap()).unwrap();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        "arn:aws:sqs:eu-west-1:111122223333:spot-pool-ecs-events-dlq"
    );
    let policy: Value =
        serde_json::from_str(queue["Attributes"]["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        "arn:aws:events:eu-west-1:111122223333:rule/spot-pool-ecs-task-events"
    );
    // CreateService carries an idempotency token, so a try repeated after a lost answer
    // makes no second service
    let token = stub.calls("CreateService")[0].json()["clientToken"].clone();
    assert!(
        token
            .as_str()
            .is_some_and(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_hexdigit())),
        "{token}"
    );
    let rule = stub.calls("PutRule")[0].json();
    let pattern: Value = serde_json::from_str(rule["EventPattern"].as_str().unwrap()).unwrap();
    assert_eq!(
        pattern,
        json!({"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
               "detail": {"clusterArn": ["arn:aws:ecs:eu-west-1:111122223333:cluster/data-platform"]}})
    );
    assert_eq!(
        stub.calls("PutTargets")[0].json()["Targets"],
        json!([{"Id": "prefect-ecs-events", "Arn": "arn:aws:sqs:eu-west-1:111122223333:spot-pool-ecs-events"}])
    );
    let reqs: Vec<_> = all
        .into_iter()
        .filter(|r| {
            r.header("authorization")
                .is_some_and(|a| a.contains("/ecs/aws4_request"))
        })
        .collect();
    let body: Vec<Value> = reqs.iter().map(|r| r.json()).collect();
    assert_eq!(body[0]["clusters"], json!(["data-platform"]));
    assert!(
        body[0]["include"]
            .as_array()
            .unwrap()
            .contains(&json!("SETTINGS"))
    );
    assert_eq!(body[1]["taskDefinition"], "data-platform-prefect-worker");
    assert_eq!(body[2]["clusterName"], "data-platform");
    assert_eq!(
        body[2]["capacityProviders"],
        json!(["FARGATE", "FARGATE_SPOT", "asg-gpu"])
    );
    assert_eq!(
        strategy(&body[2]["defaultCapacityProviderStrategy"]),
        items(&[("FARGATE_SPOT", 4, 0), ("FARGATE", 1, 1)])
    );
    let td = &body[3];
    let c = &td["containerDefinitions"][0];
    assert_eq!(
        (&td["family"], &td["cpu"], &td["memory"], &td["networkMode"]),
        (
            &json!("data-platform-prefect-worker"),
            &json!("512"),
            &json!("1024"),
            &json!("awsvpc")
        )
    );
    assert_eq!(
        c["command"],
        json!([
            "prefect",
            "worker",
            "start",
            "--pool",
            "spot-pool",
            "--type",
            "ecs"
        ])
    );
    assert_eq!(
        c["secrets"][0]["valueFrom"],
        "arn:aws:ssm:eu-west-1:111122223333:parameter/prefect/api-key"
    );
    assert_eq!(
        c["logConfiguration"]["options"]["awslogs-region"],
        "eu-west-1"
    );
    let svc = &body[4];
    let vpc = &svc["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(
        (&svc["cluster"], &svc["serviceName"], &svc["desiredCount"]),
        (&json!("data-platform"), &json!("prefect-worker"), &json!(2))
    );
    assert_eq!(
        strategy(&svc["capacityProviderStrategy"]),
        items(&[("FARGATE", 1, 0)])
    );
    assert_eq!(
        vpc["subnets"],
        json!(["subnet-0abc1234", "subnet-0123456789abcdef0"])
    );
    // the fixture states no [network]: priced as Prefect's default, public IPs, so deployed so
    assert_eq!(vpc["assignPublicIp"], "ENABLED");
}

#[test]
fn an_existing_cluster_is_updated_with_its_providers_kept_and_services_forced() {
    // (the ECS side only: the feed is the first test's)
    let mut d = want();
    d.events = None;
    let stub = Stub::start(|r, nth| match r.operation() {
        // the re-read right before each Put attempt (a provider attached since the plan
        // would stop it): the cluster as planned
        "DescribeClusters" => Reply::ok(json!({
            "clusters": [{
                "clusterName": "data-platform",
                "status": "ACTIVE",
                "capacityProviders": ["FARGATE", "team-b-asg"],
                "defaultCapacityProviderStrategy": [
                    {"capacityProvider": "FARGATE", "weight": 1, "base": 0}
                ]
            }],
            "failures": []
        })),
        "PutClusterCapacityProviders" if nth == 0 => {
            Reply::error(400, "UpdateInProgressException", "busy")
        }
        "PutClusterCapacityProviders" | "UpdateService" => Reply::ok(json!({})),
        _ => Reply::error(400, "InvalidAction", "not expected here"),
    });
    let mut api = ecs(&stub);
    let observed = spotplan::deploy::state::Observed {
        cluster: Some(spotplan::deploy::state::ClusterState {
            name: "data-platform".into(),
            capacity_providers: vec!["FARGATE".into(), "team-b-asg".into()],
            default_strategy: vec![spotplan::deploy::state::Item {
                provider: "FARGATE".into(),
                weight: 1,
                base: 0,
            }],
        }),
        task_definition: Some(spotplan::deploy::state::TaskDefinitionState {
            family: d.task_definition.family.clone(),
            revision: Some(7),
            spec: d.task_definition.spec.clone(),
        }),
        service: Some(spotplan::deploy::state::ServiceState {
            capacity_provider_strategy: vec![],
            ..d.service.clone()
        }),
        events: Default::default(),
        prefect: None,
        network: None,
        quotas: None,
    };
    let p = plan(&d, &observed);
    assert!(
        matches!(
            p.calls()[..],
            [
                Call::PutClusterCapacityProviders { .. },
                Call::UpdateService {
                    force_new_deployment: true,
                    ..
                }
            ]
        ),
        "{p}"
    );
    let mut pauses = 0;
    let r = apply(&p, &mut api, None, &mut |_| pauses += 1);
    assert!(r.ok(), "{r}");
    let puts = stub.calls("PutClusterCapacityProviders");
    assert_eq!(
        (pauses, puts.len(), stub.calls("UpdateService").len()),
        (1, 2, 1),
        "UpdateInProgressException is retried"
    );
    for put in &puts {
        let b = put.json();
        assert_eq!(b["cluster"], "data-platform");
        assert_eq!(
            b["capacityProviders"],
            json!(["FARGATE", "FARGATE_SPOT", "asg-gpu", "team-b-asg"])
        );
        assert_eq!(
            strategy(&b["defaultCapacityProviderStrategy"]),
            items(&[("FARGATE_SPOT", 4, 0), ("FARGATE", 1, 1)])
        );
    }
    let u = stub.calls("UpdateService")[0].json();
    assert_eq!(
        (&u["service"], &u["forceNewDeployment"], &u["desiredCount"]),
        (&json!("prefect-worker"), &json!(true), &json!(2))
    );
    assert_eq!(
        stub.operations(),
        [
            "DescribeClusters",
            "PutClusterCapacityProviders",
            "DescribeClusters",
            "PutClusterCapacityProviders",
            "UpdateService"
        ],
        "the providers are re-read before each Put"
    );
}

#[test]
fn errors_are_explained_in_plain_words() {
    let d = want();
    let call = Call::PutClusterCapacityProviders {
        cluster: "data-platform".into(),
        capacity_providers: vec!["FARGATE".into()],
        default_strategy: d.cluster.default_strategy.clone(),
    };
    let stub = Stub::start(|r, _| match r.operation() {
        "PutClusterCapacityProviders" => Reply::error(
            400,
            "ResourceInUseException",
            "The specified capacity provider is in use and cannot be removed.",
        ),
        _ => Reply::error(400, "InvalidAction", "not expected here"),
    });
    let e = ecs(&stub).execute(&call, "token").unwrap_err();
    assert_eq!(
        e.to_string(),
        "a capacity provider is still in use by tasks and cannot be removed (The specified capacity provider is in use and cannot be removed.)"
    );
    // an error ECS does not model: read from its code
    let stub = Stub::start(|_, _| {
        Reply::error(
            400,
            "AccessDeniedException",
            "User is not authorized to perform: ecs:PutClusterCapacityProviders",
        )
    });
    let e = ecs(&stub).execute(&call, "token").unwrap_err();
    assert_eq!(
        e.to_string(),
        "access denied: the credentials need `ecs:PutClusterCapacityProviders` (User is not authorized to perform: ecs:PutClusterCapacityProviders)"
    );
    // the crash feed's reads are SQS's and EventBridge's, and named so
    let stub = Stub::start(|_, _| Reply::error(400, "AccessDenied", "not authorized"));
    let e = ecs(&stub).observe_events("q-dlq", "q", "rule").unwrap_err();
    assert!(e.to_string().contains("`sqs:GetQueueUrl`"), "{e}");
    assert_eq!(spotplan::aws::ecs::iam_service("DescribeRule"), "events");
    assert_eq!(
        spotplan::aws::ecs::iam_service("ListTargetsByRule"),
        "events"
    );
    assert_eq!(
        spotplan::aws::ecs::iam_service("RegisterTaskDefinition"),
        "ecs"
    );
}

/// An endpoint that reads the request and closes the connection without an answer: a read
/// says the connection broke (not "never reached AWS", which it may have), and a write says it
/// may or may not have been applied ([`ApiError::Unknown`], for `apply` to decide).
#[test]
fn a_connection_dropped_after_the_request_is_an_unknown_outcome_for_a_write() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let mut buf = [0u8; 65536];
            let _ = c.read(&mut buf);
            drop(c);
        }
    });
    let conf = crate::stub::sdk_config_at(&url, "eu-west-1");
    let mut api = SdkEcs::from_config(conf).unwrap();
    let call = Call::CreateCluster {
        cluster: "data-platform".into(),
        capacity_providers: vec!["FARGATE".into()],
        default_strategy: Vec::new(),
    };
    let e = api.execute(&call, "token").unwrap_err();
    assert!(
        matches!(&e, spotplan::deploy::api::ApiError::Unknown(m) if m.contains("may or may not have been applied")),
        "{e:?}"
    );
    let e = api.cluster("data-platform").unwrap_err().to_string();
    assert!(
        e.contains("the connection to the endpoint broke before an answer came")
            && !e.contains("never reached"),
        "{e}"
    );
}
