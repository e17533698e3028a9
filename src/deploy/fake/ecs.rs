//! An in-memory ECS account for plan/apply tests: it behaves like ECS where spotplan relies
//! on it (PutClusterCapacityProviders replaces the list and refuses to detach a provider in
//! use; task definitions get revisions) and counts write calls; failures can be injected.

use std::collections::BTreeMap;

use crate::deploy::api::{ApiError, EcsApi};
use crate::deploy::apply::operation;
use crate::deploy::events::{ObservedEvents, QueueState, RuleState};
use crate::deploy::plan::Call;
use crate::deploy::state::{ClusterState, Observed, ServiceState, TaskDefinitionState};
use crate::deploy::task_definition::TaskDefinitionSpec;

/// The fake account.
#[derive(Clone, Debug, Default)]
pub struct FakeEcs {
    /// Clusters by name.
    pub clusters: BTreeMap<String, ClusterState>,
    /// Task definition revisions by family (index + 1 = revision).
    pub task_definitions: BTreeMap<String, Vec<TaskDefinitionSpec>>,
    /// Services by (cluster, name).
    pub services: BTreeMap<(String, String), ServiceState>,
    /// Providers with running tasks (cannot be detached).
    pub in_use: Vec<String>,
    /// Write calls made, by operation.
    pub writes: Vec<String>,
    /// Read calls made.
    pub reads: u32,
    /// Fail these operations (once each time they are listed) with the given error.
    pub fail: Vec<(String, ApiError)>,
    /// `UpdateService` calls that forced a new deployment.
    pub forced_deployments: u32,
    /// A provider someone attaches between the plan and the re-read before the Put.
    pub attach_before_put: Option<String>,
    /// SQS queues by name (CreateQueue with other attributes than an existing queue's fails,
    /// as SQS's does).
    pub queues: BTreeMap<String, QueueState>,
    /// EventBridge rules by name (PutRule replaces the rule; PutTargets adds or replaces
    /// targets by id and keeps the others, as EventBridge's does).
    pub rules: BTreeMap<String, RuleState>,
    /// The network EC2 would describe (`None`: not read).
    pub network: Option<crate::deploy::network::NetworkSeen>,
    /// The Fargate vCPU quotas Service Quotas would give (`None`: not readable).
    pub quotas: Option<crate::deploy::quotas::QuotasSeen>,
    /// The client tokens of the services created.
    pub tokens: Vec<String>,
    /// A CloudFormation stack that feeds the cluster (prefect-aws's events stack).
    pub stack_feed: Option<crate::deploy::events::StackFeed>,
    /// Make these operations (once each time they are listed) but lose their answer: the
    /// call answers [`ApiError::Unknown`], as a timeout after the request went out does.
    pub lose_answer: Vec<String>,
}

impl EcsApi for FakeEcs {
    fn observe(
        &mut self,
        cluster: &str,
        family: &str,
        service: &str,
    ) -> Result<Observed, ApiError> {
        self.reads += 3;
        let td = self.task_definitions.get(family).and_then(|v| {
            v.last().map(|b| TaskDefinitionState {
                family: family.into(),
                revision: Some(v.len() as u32),
                spec: b.clone(),
            })
        });
        Ok(Observed {
            cluster: self.clusters.get(cluster).cloned(),
            task_definition: td,
            service: self
                .services
                .get(&(cluster.to_string(), service.to_string()))
                .cloned(),
            events: ObservedEvents::default(),
            prefect: None,
            network: None,
            quotas: None,
        })
    }

    fn observe_events(
        &mut self,
        dlq: &str,
        queue: &str,
        rule: &str,
    ) -> Result<ObservedEvents, ApiError> {
        self.reads += 3;
        Ok(ObservedEvents {
            dlq: self.queues.get(dlq).cloned(),
            queue: self.queues.get(queue).cloned(),
            rule: self.rules.get(rule).cloned(),
            stack: None,
        })
    }

    fn observe_network(
        &mut self,
        _want: &crate::deploy::network::NetworkWant,
    ) -> Result<Option<crate::deploy::network::NetworkSeen>, ApiError> {
        self.reads += 1;
        Ok(self.network.clone())
    }

    fn observe_quotas(&mut self) -> Result<Option<crate::deploy::quotas::QuotasSeen>, ApiError> {
        self.reads += 1;
        Ok(self.quotas.clone())
    }

    fn feeding_stack(
        &mut self,
        _cluster_arn: &str,
        _name: &str,
    ) -> Result<Option<crate::deploy::events::StackFeed>, ApiError> {
        self.reads += 1;
        Ok(self.stack_feed.clone())
    }

    fn task_definition(&mut self, family: &str) -> Result<Option<TaskDefinitionState>, ApiError> {
        self.reads += 1;
        Ok(self.task_definitions.get(family).and_then(|v| {
            v.last().map(|b| TaskDefinitionState {
                family: family.into(),
                revision: Some(v.len() as u32),
                spec: b.clone(),
            })
        }))
    }

    fn cluster(&mut self, name: &str) -> Result<Option<ClusterState>, ApiError> {
        self.reads += 1;
        if let Some(attach) = self.attach_before_put.take()
            && let Some(c) = self.clusters.get_mut(name)
        {
            c.capacity_providers.push(attach);
        }
        Ok(self.clusters.get(name).cloned())
    }

    fn execute(&mut self, call: &Call, token: &str) -> Result<(), ApiError> {
        let op = operation(call).to_string();
        if let Some(i) = self.fail.iter().position(|(o, _)| *o == op) {
            let (_, e) = self.fail.remove(i);
            return Err(e);
        }
        // ECS's CreateService with a client token it has seen answers with that service
        if matches!(call, Call::CreateService { .. }) && self.tokens.iter().any(|t| t == token) {
            return Ok(());
        }
        self.make(call)?;
        if matches!(call, Call::CreateService { .. }) {
            self.tokens.push(token.to_string());
        }
        if let Some(i) = self.lose_answer.iter().position(|o| *o == op) {
            self.lose_answer.remove(i);
            return Err(ApiError::Unknown(format!("{op}: no answer in time")));
        }
        Ok(())
    }
}

impl FakeEcs {
    /// Makes the call, as ECS, SQS or EventBridge would.
    fn make(&mut self, call: &Call) -> Result<(), ApiError> {
        match call {
            Call::CreateCluster {
                cluster,
                capacity_providers,
                default_strategy,
            } => {
                self.clusters.insert(
                    cluster.clone(),
                    ClusterState {
                        name: cluster.clone(),
                        capacity_providers: capacity_providers.clone(),
                        default_strategy: default_strategy.clone(),
                    },
                );
            }
            Call::PutClusterCapacityProviders {
                cluster,
                capacity_providers,
                default_strategy,
            } => {
                let c = self.clusters.get_mut(cluster).ok_or_else(|| {
                    ApiError::Other(format!("ClusterNotFoundException: {cluster}"))
                })?;
                if let Some(p) = c
                    .capacity_providers
                    .iter()
                    .find(|p| !capacity_providers.contains(p) && self.in_use.contains(p))
                {
                    return Err(ApiError::InUse(format!(
                        "The specified capacity provider is in use and cannot be removed: {p}"
                    )));
                }
                c.capacity_providers = capacity_providers.clone();
                c.default_strategy = default_strategy.clone();
            }
            Call::RegisterTaskDefinition { spec } => {
                self.task_definitions
                    .entry(spec.family.clone())
                    .or_default()
                    .push(spec.clone());
            }
            Call::CreateService { service, cluster } => {
                if !self.clusters.contains_key(cluster) {
                    return Err(ApiError::Other(format!(
                        "ClusterNotFoundException: {cluster}"
                    )));
                }
                if self
                    .services
                    .contains_key(&(cluster.clone(), service.name.clone()))
                {
                    return Err(ApiError::Other(
                        "InvalidParameterException: Creation of service was not idempotent.".into(),
                    ));
                }
                let rev = self
                    .task_definitions
                    .get(&service.task_definition)
                    .map(|v| v.len())
                    .unwrap_or(0);
                let mut s = service.clone();
                s.task_definition = format!("{}:{rev}", service.task_definition);
                self.services
                    .insert((cluster.clone(), service.name.clone()), s);
            }
            Call::UpdateService {
                service,
                cluster,
                force_new_deployment,
            } => {
                let rev = self
                    .task_definitions
                    .get(&service.task_definition)
                    .map(|v| v.len())
                    .unwrap_or(0);
                let s = self
                    .services
                    .get_mut(&(cluster.clone(), service.name.clone()))
                    .ok_or_else(|| {
                        ApiError::Other(format!("ServiceNotFoundException: {}", service.name))
                    })?;
                *s = service.clone();
                s.task_definition = format!("{}:{rev}", service.task_definition);
                if *force_new_deployment {
                    self.forced_deployments += 1;
                }
            }
            Call::CreateQueue { queue } => match self.queues.get(&queue.name) {
                Some(q) if q.attributes != queue.attributes => {
                    return Err(ApiError::Other(format!(
                        "QueueAlreadyExists: {} exists with other attributes",
                        queue.name
                    )));
                }
                _ => {
                    self.queues.insert(queue.name.clone(), queue.clone());
                }
            },
            Call::SetQueueAttributes { queue } => {
                let q = self
                    .queues
                    .get_mut(&queue.name)
                    .ok_or_else(|| ApiError::Other(format!("QueueDoesNotExist: {}", queue.name)))?;
                q.attributes.extend(queue.attributes.clone());
            }
            Call::PutRule { rule } => {
                let mut targets = self
                    .rules
                    .get(&rule.name)
                    .map(|r| r.targets.clone())
                    .unwrap_or_default();
                for t in &rule.targets {
                    match targets.iter_mut().find(|(id, _)| *id == t.0) {
                        Some(x) => *x = t.clone(),
                        None => targets.push(t.clone()),
                    }
                }
                self.rules.insert(
                    rule.name.clone(),
                    RuleState {
                        targets,
                        ..rule.clone()
                    },
                );
            }
        }
        self.writes.push(operation(call).to_string());
        Ok(())
    }
}
