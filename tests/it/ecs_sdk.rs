//! The SDK side of plan/apply, with aws-smithy-mocks: every call's request shape (in order,
//! `RuleMode::Sequential`) and the error mapping.

use aws_sdk_ecs::operation::create_cluster::CreateClusterOutput;
use aws_sdk_ecs::operation::create_service::CreateServiceOutput;
use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionError;
use aws_sdk_ecs::operation::put_cluster_capacity_providers::{
    PutClusterCapacityProvidersError, PutClusterCapacityProvidersOutput,
};
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput;
use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
use aws_sdk_ecs::types::error::{
    ClientException, ResourceInUseException, UpdateInProgressException,
};
use aws_sdk_ecs::types::{
    AssignPublicIp, CapacityProviderStrategyItem, Cluster, ClusterField, Failure,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use spotplan::aws::ecs::SdkEcs;
use spotplan::deploy::apply::{EcsApi, apply};
use spotplan::deploy::emit::{Choice, desired};
use spotplan::deploy::inputs::inputs;
use spotplan::deploy::plan::{Call, plan};
use spotplan::deploy::state::Desired;

use crate::common::*;

fn want() -> Desired {
    let s = scenario(&std::fs::read_to_string(root().join("fixtures/emit-scenario.toml")).unwrap());
    let d = inputs(&s.deploy_section, &s.region, &s.cluster.name).unwrap();
    desired(
        &s,
        &d,
        &Choice {
            strategy: s.launch.strategy.clone(),
            retry: s.retry.clone(),
            origin: "test".into(),
        },
    )
}

fn item(p: &str, w: i32, b: i32) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem::builder()
        .capacity_provider(p)
        .weight(w)
        .base(b)
        .build()
        .unwrap()
}

fn fast(c: aws_sdk_ecs::config::Builder) -> aws_sdk_ecs::config::Builder {
    c.retry_config(aws_sdk_ecs::config::retry::RetryConfig::standard().with_max_attempts(1))
}

#[test]
fn create_from_scratch_sends_the_right_requests_in_order() {
    let d = want();
    let describe_cluster = mock!(aws_sdk_ecs::Client::describe_clusters)
        .match_requests(|r| {
            r.clusters() == ["data-platform"] && r.include().contains(&ClusterField::Settings)
        })
        .then_output(|| {
            DescribeClustersOutput::builder()
                .failures(
                    Failure::builder()
                        .arn("arn:aws:ecs:eu-west-1:111122223333:cluster/data-platform")
                        .reason("MISSING")
                        .build(),
                )
                .build()
        });
    let describe_td = mock!(aws_sdk_ecs::Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some("data-platform-prefect-worker"))
        .then_error(|| {
            DescribeTaskDefinitionError::ClientException(
                ClientException::builder()
                    .message("Unable to describe task definition.")
                    .build(),
            )
        });
    let create_cluster = mock!(aws_sdk_ecs::Client::create_cluster)
        .match_requests(|r| {
            r.cluster_name() == Some("data-platform")
                && r.capacity_providers() == ["FARGATE", "FARGATE_SPOT", "asg-gpu"]
                && r.default_capacity_provider_strategy()
                    == [item("FARGATE_SPOT", 4, 0), item("FARGATE", 1, 1)]
        })
        .then_output(|| CreateClusterOutput::builder().build());
    let register = mock!(aws_sdk_ecs::Client::register_task_definition)
        .match_requests(|r| {
            let c = &r.container_definitions()[0];
            r.family() == Some("data-platform-prefect-worker")
                && r.cpu() == Some("512")
                && r.memory() == Some("1024")
                && r.network_mode() == Some(&aws_sdk_ecs::types::NetworkMode::Awsvpc)
                && c.command()
                    == [
                        "prefect",
                        "worker",
                        "start",
                        "--pool",
                        "spot-pool",
                        "--type",
                        "ecs",
                    ]
                && c.secrets()[0].value_from()
                    == "arn:aws:ssm:eu-west-1:111122223333:parameter/prefect/api-key"
                && c.log_configuration().unwrap().options().unwrap()["awslogs-region"]
                    == "eu-west-1"
        })
        .then_output(|| RegisterTaskDefinitionOutput::builder().build());
    let create_service = mock!(aws_sdk_ecs::Client::create_service)
        .match_requests(|r| {
            let vpc = r
                .network_configuration()
                .unwrap()
                .awsvpc_configuration()
                .unwrap();
            r.cluster() == Some("data-platform")
                && r.service_name() == Some("prefect-worker")
                && r.desired_count() == Some(2)
                && r.capacity_provider_strategy() == [item("FARGATE", 1, 0)]
                && vpc.subnets() == ["subnet-0abc1234", "subnet-0123456789abcdef0"]
                && vpc.assign_public_ip() == Some(&AssignPublicIp::Disabled)
        })
        .then_output(|| CreateServiceOutput::builder().build());
    let client = mock_client!(
        aws_sdk_ecs,
        RuleMode::Sequential,
        [
            &describe_cluster,
            &describe_td,
            &create_cluster,
            &register,
            &create_service
        ],
        fast
    );
    let mut api = SdkEcs::with_client(client).unwrap();
    let seen = api
        .observe(&d.cluster.name, &d.task_definition.family, &d.service.name)
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
    let r = apply(&p, &mut api, &mut |_| {});
    assert!(r.ok(), "{r}");
    for rule in [
        &describe_cluster,
        &describe_td,
        &create_cluster,
        &register,
        &create_service,
    ] {
        assert_eq!(rule.num_calls(), 1);
    }
}

#[test]
fn an_existing_cluster_is_updated_with_its_providers_kept_and_services_forced() {
    let d = want();
    let cluster = Cluster::builder()
        .cluster_name("data-platform")
        .status("ACTIVE")
        .capacity_providers("FARGATE")
        .capacity_providers("team-b-asg")
        .default_capacity_provider_strategy(item("FARGATE", 1, 0))
        .build();
    let put = mock!(aws_sdk_ecs::Client::put_cluster_capacity_providers)
        .match_requests(|r| {
            r.cluster() == Some("data-platform")
                && r.capacity_providers() == ["FARGATE", "FARGATE_SPOT", "asg-gpu", "team-b-asg"]
                && r.default_capacity_provider_strategy()
                    == [item("FARGATE_SPOT", 4, 0), item("FARGATE", 1, 1)]
        })
        .sequence()
        .error(|| {
            PutClusterCapacityProvidersError::UpdateInProgressException(
                UpdateInProgressException::builder().message("busy").build(),
            )
        })
        .output(|| PutClusterCapacityProvidersOutput::builder().build())
        .build();
    let update = mock!(aws_sdk_ecs::Client::update_service)
        .match_requests(|r| {
            r.service() == Some("prefect-worker")
                && r.force_new_deployment() == Some(true)
                && r.desired_count() == Some(2)
        })
        .then_output(|| UpdateServiceOutput::builder().build());
    // the re-read right before each Put attempt (a provider attached since the plan would
    // stop it): the cluster as planned
    let reread = {
        let cluster = cluster.clone();
        mock!(aws_sdk_ecs::Client::describe_clusters)
            .match_requests(|r| r.clusters() == ["data-platform"])
            .then_output(move || {
                DescribeClustersOutput::builder()
                    .clusters(cluster.clone())
                    .build()
            })
    };
    let client = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&reread, &put, &update],
        fast
    );
    let mut api = SdkEcs::with_client(client).unwrap();
    let observed = spotplan::deploy::state::Observed {
        cluster: Some(spotplan::deploy::state::ClusterState {
            name: "data-platform".into(),
            capacity_providers: cluster.capacity_providers().to_vec(),
            default_strategy: vec![spotplan::deploy::state::Item {
                provider: "FARGATE".into(),
                weight: 1,
                base: 0,
            }],
        }),
        task_definition: Some(spotplan::deploy::state::TaskDefinitionState {
            family: d.task_definition.family.clone(),
            revision: Some(7),
            body: d.task_definition.body.clone(),
        }),
        service: Some(spotplan::deploy::state::ServiceState {
            capacity_provider_strategy: vec![],
            ..d.service.clone()
        }),
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
    let r = apply(&p, &mut api, &mut |_| pauses += 1);
    assert!(r.ok(), "{r}");
    assert_eq!(
        (pauses, put.num_calls(), update.num_calls()),
        (1, 2, 1),
        "UpdateInProgressException is retried"
    );
    assert_eq!(
        reread.num_calls(),
        2,
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
    let in_use = mock!(aws_sdk_ecs::Client::put_cluster_capacity_providers).then_error(|| {
        PutClusterCapacityProvidersError::ResourceInUseException(
            ResourceInUseException::builder()
                .message("The specified capacity provider is in use and cannot be removed.")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&in_use], fast);
    let e = SdkEcs::with_client(client)
        .unwrap()
        .execute(&call)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "a capacity provider is still in use by tasks and cannot be removed (The specified capacity provider is in use and cannot be removed.)"
    );
    let denied = mock!(aws_sdk_ecs::Client::put_cluster_capacity_providers).then_error(|| {
        PutClusterCapacityProvidersError::generic(
            aws_sdk_ecs::error::ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("User is not authorized to perform: ecs:PutClusterCapacityProviders")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&denied], fast);
    let e = SdkEcs::with_client(client)
        .unwrap()
        .execute(&call)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "access denied: the credentials need `ecs:PutClusterCapacityProviders` (User is not authorized to perform: ecs:PutClusterCapacityProviders)"
    );
}
