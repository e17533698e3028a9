//! `EcsApi` over the AWS SDK: DescribeClusters (SETTINGS), DescribeTaskDefinition,
//! DescribeServices to observe; CreateCluster, PutClusterCapacityProviders,
//! RegisterTaskDefinition, CreateService, UpdateService to apply; and the worker's
//! crash-detection feed: SQS GetQueueUrl/GetQueueAttributes, CreateQueue, SetQueueAttributes,
//! EventBridge DescribeRule/ListTargetsByRule, PutRule, PutTargets. Errors in plain words.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ClusterField, Compatibility,
    ContainerDefinition, CpuArchitecture, KeyValuePair, LogConfiguration, LogDriver,
    NetworkConfiguration, NetworkMode, OsFamily, RuntimePlatform, Secret,
};
use serde_json::Value;

use super::errors::{broke, dispatch_in_words, words};
use crate::deploy::api::{ApiError, EcsApi};
use crate::deploy::events::{ObservedEvents, QueueState, RuleState};
use crate::deploy::plan::Call;
use crate::deploy::state::{ClusterState, Item, Observed, ServiceState, TaskDefinitionState};
use crate::deploy::task_definition::{ContainerSpec, TaskDefinitionSpec};

/// The SDK-backed ECS API, with its own runtime (the CLI is synchronous).
pub struct SdkEcs {
    rt: tokio::runtime::Runtime,
    client: Client,
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
    /// The configuration the clients were built from (for STS).
    conf: aws_config::SdkConfig,
    /// The signed Query API client (EC2, CloudFormation), made at its first use.
    query: Option<super::query::Query>,
}

impl SdkEcs {
    /// A client for `region` with the shared AWS configuration.
    pub fn new(args: &super::config::AwsArgs, region: &str) -> Result<SdkEcs, ApiError> {
        let rt = runtime().map_err(ApiError::Other)?;
        let conf = rt.block_on(super::config::sdk_config(args, region));
        Ok(SdkEcs::with(rt, conf))
    }

    /// Clients built from `conf` (tests point it at a stub).
    pub fn from_config(conf: aws_config::SdkConfig) -> Result<SdkEcs, ApiError> {
        Ok(SdkEcs::with(runtime().map_err(ApiError::Other)?, conf))
    }

    fn with(rt: tokio::runtime::Runtime, conf: aws_config::SdkConfig) -> SdkEcs {
        SdkEcs {
            rt,
            client: Client::new(&conf),
            sqs: aws_sdk_sqs::Client::new(&conf),
            events: aws_sdk_eventbridge::Client::new(&conf),
            conf,
            query: None,
        }
    }

    /// The Query API client, made once (it resolves the credentials).
    fn query(&mut self) -> Result<&super::query::Query, ApiError> {
        if self.query.is_none() {
            self.query = Some(super::query::Query::new(&self.conf, &self.rt)?);
        }
        Ok(self.query.as_ref().expect("just made"))
    }

    /// The account the credentials belong to (STS GetCallerIdentity), to compare with
    /// `deploy.account_id` before anything is read or changed.
    pub fn caller_account(&self) -> Result<String, ApiError> {
        let sts = aws_sdk_sts::Client::new(&self.conf);
        self.rt.block_on(async {
            let out = sts
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| explain("GetCallerIdentity", e))?;
            out.account()
                .map(str::to_string)
                .ok_or_else(|| ApiError::Other("STS GetCallerIdentity named no account".into()))
        })
    }
}

/// The error code ECS sent; for a modeled error built in code (mocks), the variant's name.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn code_of<E: ProvideErrorMetadata + std::fmt::Debug>(e: &SdkError<E>) -> String {
    e.code().map(str::to_string).unwrap_or_else(|| {
        e.as_service_error()
            .map(|se| format!("{se:?}"))
            .and_then(|d| d.split('(').next().map(str::to_string))
            .filter(|v| v.ends_with("Exception"))
            .unwrap_or_default()
    })
}

/// The error message ECS sent (or the modeled error's own).
fn message_of<E: ProvideErrorMetadata + std::fmt::Debug + std::fmt::Display>(
    e: &SdkError<E>,
    code: &str,
) -> String {
    e.message().map(str::to_string).unwrap_or_else(|| {
        e.as_service_error()
            .map(|se| se.to_string())
            .map(|m| {
                m.strip_prefix(&format!("{code}: "))
                    .map(str::to_string)
                    .unwrap_or(m)
            })
            .filter(|m| m != code)
            .unwrap_or_default()
    })
}

/// Maps an SDK error to a domain error; `op` names the permission on access denied.
pub fn explain<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &str,
    e: SdkError<E>,
) -> ApiError {
    let code = code_of(&e);
    let msg = message_of(&e, &code);
    match code.as_str() {
        "UpdateInProgressException" | "ThrottlingException" | "ServerException" => {
            ApiError::Transient(format!("{code}: {msg}"))
        }
        "ResourceInUseException" => ApiError::InUse(msg),
        "AccessDeniedException" | "AccessDenied" => ApiError::AccessDenied {
            permission: format!("{}:{op}", iam_service(op)),
            message: msg,
        },
        "" => match &e {
            SdkError::DispatchFailure(_) => ApiError::Other(dispatch_in_words(op, &e)),
            SdkError::TimeoutError(_) => ApiError::Other(format!(
                "no answer from {op} after {} s (--aws-timeout); check `--endpoint-url` or the network",
                super::config::operation_timeout_s()
            )),
            other => ApiError::Other(format!("{op} failed: {}", words(other))),
        },
        _ => ApiError::Other(format!("{op} failed: {code}: {msg}")),
    }
}

/// The IAM service prefix of an operation spotplan calls: the crash feed's queue calls are
/// SQS's, its rule calls EventBridge's (`events:`), the identity check STS's, the rest ECS's.
pub fn iam_service(op: &str) -> &'static str {
    match op {
        "CreateQueue" | "GetQueueUrl" | "GetQueueAttributes" | "SetQueueAttributes" => "sqs",
        "PutRule" | "DescribeRule" | "PutTargets" | "ListTargetsByRule" => "events",
        "GetCallerIdentity" => "sts",
        _ => "ecs",
    }
}

/// As [`explain`], for a write: a timeout or an unreadable answer after the request went out
/// means the write may have been made ([`ApiError::Unknown`]), for `apply` to decide.
pub fn explain_write<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &str,
    e: SdkError<E>,
) -> ApiError {
    match &e {
        SdkError::TimeoutError(_) => ApiError::Unknown(format!(
            "no answer from {op} after {} s (--aws-timeout): it may or may not have been applied; run `spotplan plan`",
            super::config::operation_timeout_s()
        )),
        SdkError::ResponseError(_) => ApiError::Unknown(format!(
            "{op}: the AWS API's answer could not be read: {}",
            words(&e)
        )),
        // the connection broke once the request may have been sent: the write may have been
        // made (a refused connection, a name that does not resolve or missing credentials
        // send nothing, and stay errors)
        SdkError::DispatchFailure(d) if !d.is_timeout() && !d.is_user() && broke(&words(&e)) => {
            ApiError::Unknown(format!(
                "{op}: the connection broke before AWS answered: it may or may not have been applied; run `spotplan plan` ({})",
                words(&e)
            ))
        }
        _ => explain(op, e),
    }
}

/// The latest ACTIVE revision of `family` (`None`: there is none).
async fn latest_task_definition(
    c: &Client,
    family: &str,
) -> Result<Option<TaskDefinitionState>, ApiError> {
    match c
        .describe_task_definition()
        .task_definition(family)
        .send()
        .await
    {
        Ok(o) => Ok(o.task_definition().map(|t| TaskDefinitionState {
            family: family.to_string(),
            revision: Some(t.revision() as u32),
            spec: spec_from_sdk(t),
        })),
        Err(e) if code_of(&e) == "ClientException" => Ok(None),
        Err(e) => Err(explain("DescribeTaskDefinition", e)),
    }
}

/// The ACTIVE cluster of a DescribeClusters answer, as spotplan's state.
fn active_cluster(clusters: &[aws_sdk_ecs::types::Cluster], name: &str) -> Option<ClusterState> {
    clusters
        .iter()
        .find(|x| x.status() == Some("ACTIVE"))
        .map(|x| ClusterState {
            name: x.cluster_name().unwrap_or(name).to_string(),
            capacity_providers: x.capacity_providers().to_vec(),
            default_strategy: items(x.default_capacity_provider_strategy()),
        })
}

fn items(v: &[CapacityProviderStrategyItem]) -> Vec<Item> {
    v.iter()
        .map(|i| Item {
            provider: i.capacity_provider().to_string(),
            weight: i.weight() as u32,
            base: i.base() as u32,
        })
        .collect()
}

fn sdk_items(v: &[Item]) -> Result<Vec<CapacityProviderStrategyItem>, ApiError> {
    v.iter()
        .map(|i| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(&i.provider)
                .weight(i.weight as i32)
                .base(i.base as i32)
                .build()
                .map_err(|e| ApiError::Other(e.to_string()))
        })
        .collect()
}

fn network(s: &ServiceState) -> Result<NetworkConfiguration, ApiError> {
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(s.subnets.clone()))
        .set_security_groups(Some(s.security_groups.clone()))
        .assign_public_ip(if s.assign_public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| ApiError::Other(e.to_string()))?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build())
}

/// A registered task definition as the JSON `emit` writes (the fields spotplan owns).
/// The fields spotplan sets, read from ECS's task definition (the first container).
fn spec_from_sdk(t: &aws_sdk_ecs::types::TaskDefinition) -> TaskDefinitionSpec {
    let c = t.container_definitions().first();
    let log = c.and_then(|c| c.log_configuration());
    let opt = |k: &str| {
        log.and_then(|l| l.options())
            .and_then(|o| o.get(k))
            .cloned()
            .unwrap_or_default()
    };
    TaskDefinitionSpec {
        family: t.family().unwrap_or_default().to_string(),
        cpu: t.cpu().unwrap_or_default().to_string(),
        memory: t.memory().unwrap_or_default().to_string(),
        cpu_architecture: t
            .runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map_or("X86_64", |a| a.as_str())
            .to_string(),
        execution_role_arn: t.execution_role_arn().unwrap_or_default().to_string(),
        task_role_arn: t.task_role_arn().unwrap_or_default().to_string(),
        container: ContainerSpec {
            name: c.and_then(|c| c.name()).unwrap_or_default().to_string(),
            image: c.and_then(|c| c.image()).unwrap_or_default().to_string(),
            essential: c.and_then(|c| c.essential()).unwrap_or(true),
            command: c.map(|c| c.command().to_vec()).unwrap_or_default(),
            environment: c
                .map(|c| {
                    c.environment()
                        .iter()
                        .map(|e| {
                            (
                                e.name().unwrap_or_default().to_string(),
                                e.value().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            secrets: c
                .map(|c| {
                    c.secrets()
                        .iter()
                        .map(|s| (s.name().to_string(), s.value_from().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            log_group: opt("awslogs-group"),
            log_region: opt("awslogs-region"),
            log_stream_prefix: opt("awslogs-stream-prefix"),
        },
    }
}

impl EcsApi for SdkEcs {
    fn cluster(&mut self, name: &str) -> Result<Option<ClusterState>, ApiError> {
        let c = &self.client;
        self.rt.block_on(async {
            let out = c
                .describe_clusters()
                .clusters(name)
                .send()
                .await
                .map_err(|e| explain("DescribeClusters", e))?;
            Ok(active_cluster(out.clusters(), name))
        })
    }

    fn observe(
        &mut self,
        cluster: &str,
        family: &str,
        service: &str,
    ) -> Result<Observed, ApiError> {
        let c = &self.client;
        self.rt.block_on(async {
            let out = c
                .describe_clusters()
                .clusters(cluster)
                .include(ClusterField::Settings)
                .send()
                .await
                .map_err(|e| explain("DescribeClusters", e))?;
            let cl = active_cluster(out.clusters(), cluster);
            let td = latest_task_definition(c, family).await?;
            let sv = if cl.is_some() {
                let out = c
                    .describe_services()
                    .cluster(cluster)
                    .services(service)
                    .send()
                    .await
                    .map_err(|e| explain("DescribeServices", e))?;
                out.services()
                    .iter()
                    .find(|s| s.status() == Some("ACTIVE"))
                    .map(|s| {
                        let vpc = s
                            .network_configuration()
                            .and_then(|n| n.awsvpc_configuration());
                        ServiceState {
                            name: s.service_name().unwrap_or(service).to_string(),
                            task_definition: s.task_definition().unwrap_or("").to_string(),
                            desired_count: s.desired_count() as u32,
                            capacity_provider_strategy: items(s.capacity_provider_strategy()),
                            subnets: vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(),
                            security_groups: vpc
                                .map(|v| v.security_groups().to_vec())
                                .unwrap_or_default(),
                            assign_public_ip: vpc.and_then(|v| v.assign_public_ip())
                                == Some(&AssignPublicIp::Enabled),
                        }
                    })
            } else {
                None
            };
            Ok(Observed {
                cluster: cl,
                task_definition: td,
                service: sv,
                events: Default::default(),
                prefect: None,
                network: None,
                quotas: None,
            })
        })
    }

    fn observe_network(
        &mut self,
        want: &crate::deploy::network::NetworkWant,
    ) -> Result<Option<crate::deploy::network::NetworkSeen>, ApiError> {
        super::ec2::observe(self.query()?, want).map(Some)
    }

    fn observe_quotas(&mut self) -> Result<Option<crate::deploy::quotas::QuotasSeen>, ApiError> {
        Ok(Some(super::quotas::observe(self.query())))
    }

    fn feeding_stack(
        &mut self,
        cluster_arn: &str,
        name: &str,
    ) -> Result<Option<crate::deploy::events::StackFeed>, ApiError> {
        super::cloudformation::feeding_stack(self.query()?, cluster_arn, name)
    }

    fn observe_events(
        &mut self,
        dlq: &str,
        queue: &str,
        rule: &str,
    ) -> Result<ObservedEvents, ApiError> {
        let (sqs, ev) = (&self.sqs, &self.events);
        self.rt.block_on(async {
            let mut out = ObservedEvents::default();
            for (name, slot) in [(dlq, &mut out.dlq), (queue, &mut out.queue)] {
                let url = match sqs.get_queue_url().queue_name(name).send().await {
                    Ok(o) => o.queue_url().unwrap_or_default().to_string(),
                    Err(e) if is_missing_queue(&e) => continue,
                    Err(e) => return Err(explain("GetQueueUrl", e)),
                };
                let attrs = sqs
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                    .send()
                    .await
                    .map_err(|e| explain("GetQueueAttributes", e))?;
                *slot = Some(QueueState {
                    name: name.to_string(),
                    // the message counts change by the second and are nothing spotplan
                    // sets: a saved plan would never match them again
                    attributes: attrs
                        .attributes()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| !k.as_str().starts_with("Approximate"))
                        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                        .collect(),
                });
            }
            let described = match ev.describe_rule().name(rule).send().await {
                Ok(o) => Some(o),
                Err(e) if code_of(&e) == "ResourceNotFoundException" => None,
                Err(e) => return Err(explain("DescribeRule", e)),
            };
            if let Some(r) = described {
                let targets = ev
                    .list_targets_by_rule()
                    .rule(rule)
                    .send()
                    .await
                    .map_err(|e| explain("ListTargetsByRule", e))?;
                out.rule = Some(RuleState {
                    name: rule.to_string(),
                    event_pattern: r
                        .event_pattern()
                        .and_then(|p| serde_json::from_str(p).ok())
                        .unwrap_or(Value::Null),
                    enabled: r.state().map(|s| s.as_str()) == Some("ENABLED"),
                    description: r.description().unwrap_or_default().to_string(),
                    targets: targets
                        .targets()
                        .iter()
                        .map(|t| (t.id().to_string(), t.arn().to_string()))
                        .collect(),
                });
            }
            Ok(out)
        })
    }

    fn execute(&mut self, call: &Call, token: &str) -> Result<(), ApiError> {
        match self.execute_events(call) {
            Some(r) => r,
            None => self.execute_ecs(call, token),
        }
    }

    fn task_definition(&mut self, family: &str) -> Result<Option<TaskDefinitionState>, ApiError> {
        self.rt
            .block_on(latest_task_definition(&self.client, family))
    }
}

impl SdkEcs {
    /// An ECS call.
    fn execute_ecs(&mut self, call: &Call, token: &str) -> Result<(), ApiError> {
        let c = &self.client;
        self.rt.block_on(async {
            match call {
                Call::CreateQueue { .. }
                | Call::SetQueueAttributes { .. }
                | Call::PutRule { .. } => Err(ApiError::Other(
                    "the feed's calls go through SQS and EventBridge".into(),
                )),
                Call::CreateCluster {
                    cluster,
                    capacity_providers,
                    default_strategy,
                } => c
                    .create_cluster()
                    .cluster_name(cluster)
                    .set_capacity_providers(Some(capacity_providers.clone()))
                    .set_default_capacity_provider_strategy(Some(sdk_items(default_strategy)?))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| explain_write("CreateCluster", e)),
                Call::PutClusterCapacityProviders {
                    cluster,
                    capacity_providers,
                    default_strategy,
                } => c
                    .put_cluster_capacity_providers()
                    .cluster(cluster)
                    .set_capacity_providers(Some(capacity_providers.clone()))
                    .set_default_capacity_provider_strategy(Some(sdk_items(default_strategy)?))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| explain_write("PutClusterCapacityProviders", e)),
                Call::RegisterTaskDefinition { spec } => {
                    let k = &spec.container;
                    let log = LogConfiguration::builder()
                        .log_driver(LogDriver::Awslogs)
                        .options("awslogs-group", &k.log_group)
                        .options("awslogs-region", &k.log_region)
                        .options("awslogs-stream-prefix", &k.log_stream_prefix)
                        .build()
                        .map_err(|e| ApiError::Other(e.to_string()))?;
                    let container = ContainerDefinition::builder()
                        .name(&k.name)
                        .image(&k.image)
                        .essential(k.essential)
                        .set_command(Some(k.command.clone()))
                        .set_environment(Some(
                            k.environment
                                .iter()
                                .map(|(n, v)| KeyValuePair::builder().name(n).value(v).build())
                                .collect(),
                        ))
                        .set_secrets(Some(
                            k.secrets
                                .iter()
                                .map(|(n, v)| Secret::builder().name(n).value_from(v).build())
                                .collect::<Result<_, _>>()
                                .map_err(|e| ApiError::Other(e.to_string()))?,
                        ))
                        .log_configuration(log)
                        .build();
                    c.register_task_definition()
                        .family(&spec.family)
                        .network_mode(NetworkMode::Awsvpc)
                        .requires_compatibilities(Compatibility::Fargate)
                        .cpu(&spec.cpu)
                        .memory(&spec.memory)
                        .execution_role_arn(&spec.execution_role_arn)
                        .task_role_arn(&spec.task_role_arn)
                        .runtime_platform(
                            RuntimePlatform::builder()
                                .cpu_architecture(CpuArchitecture::from(
                                    spec.cpu_architecture.as_str(),
                                ))
                                .operating_system_family(OsFamily::Linux)
                                .build(),
                        )
                        .container_definitions(container)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| explain_write("RegisterTaskDefinition", e))
                }
                Call::CreateService { service, cluster } => c
                    .create_service()
                    .cluster(cluster)
                    .service_name(&service.name)
                    .task_definition(&service.task_definition)
                    .desired_count(service.desired_count as i32)
                    .set_capacity_provider_strategy(Some(sdk_items(
                        &service.capacity_provider_strategy,
                    )?))
                    .network_configuration(network(service)?)
                    // a try repeated after a lost answer makes no second service
                    .client_token(token)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| explain_write("CreateService", e)),
                Call::UpdateService {
                    service,
                    cluster,
                    force_new_deployment,
                } => c
                    .update_service()
                    .cluster(cluster)
                    .service(&service.name)
                    .task_definition(&service.task_definition)
                    .desired_count(service.desired_count as i32)
                    .set_capacity_provider_strategy(Some(sdk_items(
                        &service.capacity_provider_strategy,
                    )?))
                    .network_configuration(network(service)?)
                    .force_new_deployment(*force_new_deployment)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| explain_write("UpdateService", e)),
            }
        })
    }
}

/// Whether SQS says the queue does not exist (`QueueDoesNotExist`; older query-protocol
/// endpoints and moto say `AWS.SimpleQueueService.NonExistentQueue`).
fn is_missing_queue<E: ProvideErrorMetadata + std::fmt::Debug>(e: &SdkError<E>) -> bool {
    let code = code_of(e);
    code.contains("QueueDoesNotExist") || code.contains("NonExistentQueue")
}

impl SdkEcs {
    /// The feed's calls (`None` for an ECS call).
    fn execute_events(&mut self, call: &Call) -> Option<Result<(), ApiError>> {
        let (sqs, ev) = (&self.sqs, &self.events);
        let attrs = |q: &QueueState| {
            q.attributes
                .iter()
                .map(|(k, v)| {
                    (
                        aws_sdk_sqs::types::QueueAttributeName::from(k.as_str()),
                        v.clone(),
                    )
                })
                .collect::<std::collections::HashMap<_, _>>()
        };
        let r = match call {
            Call::CreateQueue { queue } => self.rt.block_on(async {
                sqs.create_queue()
                    .queue_name(&queue.name)
                    .set_attributes(Some(attrs(queue)))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| explain_write("CreateQueue", e))
            }),
            Call::SetQueueAttributes { queue } => self.rt.block_on(async {
                let url = sqs
                    .get_queue_url()
                    .queue_name(&queue.name)
                    .send()
                    .await
                    .map_err(|e| explain("GetQueueUrl", e))?;
                sqs.set_queue_attributes()
                    .queue_url(url.queue_url().unwrap_or_default())
                    .set_attributes(Some(attrs(queue)))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| explain_write("SetQueueAttributes", e))
            }),
            Call::PutRule { rule } => self.rt.block_on(async {
                ev.put_rule()
                    .name(&rule.name)
                    .event_pattern(rule.event_pattern.to_string())
                    .state(aws_sdk_eventbridge::types::RuleState::Enabled)
                    .description(&rule.description)
                    .send()
                    .await
                    .map_err(|e| explain_write("PutRule", e))?;
                let targets = rule
                    .targets
                    .iter()
                    .map(|(id, arn)| {
                        aws_sdk_eventbridge::types::Target::builder()
                            .id(id)
                            .arn(arn)
                            .build()
                            .map_err(|e| ApiError::Other(e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let out = ev
                    .put_targets()
                    .rule(&rule.name)
                    .set_targets(Some(targets))
                    .send()
                    .await
                    .map_err(|e| explain_write("PutTargets", e))?;
                match out.failed_entries() {
                    [] => Ok(()),
                    [f, ..] => Err(ApiError::Other(format!(
                        "PutTargets refused target {}: {} {}",
                        f.target_id().unwrap_or("?"),
                        f.error_code().unwrap_or(""),
                        f.error_message().unwrap_or("")
                    ))),
                }
            }),
            _ => return None,
        };
        Some(r)
    }
}
