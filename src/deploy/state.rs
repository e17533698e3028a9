//! Desired and observed account state, in the same domain types, so `plan` can diff them.

use serde::{Deserialize, Serialize};

/// One capacity provider strategy item as ECS stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Provider name.
    #[serde(rename = "capacityProvider")]
    pub provider: String,
    /// Weight.
    pub weight: u32,
    /// Base.
    pub base: u32,
}

impl Item {
    /// A strategy's items as ECS stores them.
    pub fn of(s: &crate::model::Strategy) -> Vec<Item> {
        s.items
            .iter()
            .map(|i| Item {
                provider: i.provider.ecs_name().to_string(),
                weight: i.weight,
                base: i.base,
            })
            .collect()
    }
}

/// A strategy in words: `FARGATE_SPOT w4, FARGATE w1 b1` (or `none`).
pub fn words(items: &[Item]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|i| {
            if i.base > 0 {
                format!("{} w{} b{}", i.provider, i.weight, i.base)
            } else {
                format!("{} w{}", i.provider, i.weight)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The cluster's capacity side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Name.
    pub name: String,
    /// Associated capacity providers.
    pub capacity_providers: Vec<String>,
    /// Default strategy.
    pub default_strategy: Vec<Item>,
}

/// The worker's service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceState {
    /// Service name.
    pub name: String,
    /// Task definition family (desired) or `family:revision` / ARN (observed).
    pub task_definition: String,
    /// Desired count.
    pub desired_count: u32,
    /// The service's strategy.
    pub capacity_provider_strategy: Vec<Item>,
    /// Subnets.
    pub subnets: Vec<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// Public IP.
    pub assign_public_ip: bool,
}

/// The worker's task definition, desired or observed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskDefinitionState {
    /// Family.
    pub family: String,
    /// Revision (observed only).
    pub revision: Option<u32>,
    /// The fields spotplan sets.
    pub spec: super::task_definition::TaskDefinitionSpec,
}

/// What the account holds (`None`: missing).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Observed {
    /// Cluster, if it exists and is ACTIVE.
    pub cluster: Option<ClusterState>,
    /// The latest ACTIVE revision of the worker family.
    pub task_definition: Option<TaskDefinitionState>,
    /// The service, if it exists and is ACTIVE.
    pub service: Option<ServiceState>,
    /// The crash-detection feed.
    pub events: super::events::ObservedEvents,
    /// What the Prefect API holds, when it was read (`--prefect-api-url`).
    pub prefect: Option<PrefectObserved>,
    /// The subnets, security groups, routes and VPC endpoints, when EC2 was read.
    pub network: Option<super::network::NetworkSeen>,
    /// The Fargate vCPU quotas, when they were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quotas: Option<super::quotas::QuotasSeen>,
}

/// What the Prefect API holds of spotplan's: the work pool, its deployments and the fallback
/// automation's namesakes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PrefectObserved {
    /// The work pool (`None`: missing).
    pub pool: Option<super::workpool::PoolState>,
    /// The pool's deployments (none read when the pool is missing).
    pub deployments: Vec<super::deployments::DeploymentState>,
    /// The automations carrying spotplan's tags for the pool, and one an older spotplan
    /// named (untagged).
    pub automations: Vec<super::automation::AutomationState>,
}
