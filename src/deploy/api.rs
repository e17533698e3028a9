//! What spotplan needs of ECS and of the Prefect API, as traits over domain types: the SDK
//! (`aws`) and HTTP (`prefect_api`) clients implement them, and so do the in-memory fakes the
//! tests use (`fake`, with the `testing` feature). A write can answer "outcome unknown" when
//! its answer was lost, and `apply` decides what follows.

use super::automation::{AutomationState, AutomationWrite};
use super::deployments::{DeploymentState, DeploymentWrite};
use super::desired::Desired;
use super::plan::Call;
use super::state::{Observed, PrefectObserved};
use super::workpool::{PoolState, PoolWrite};

/// Errors from the ECS API, in domain terms.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Worth retrying: UpdateInProgressException, throttling, 5xx.
    #[error("{0} (transient)")]
    Transient(String),
    /// ResourceInUseException: a provider to detach still has tasks.
    #[error("a capacity provider is still in use by tasks and cannot be removed ({0})")]
    InUse(String),
    /// Access denied, with the missing permission.
    #[error("access denied: the credentials need `{permission}` ({message})")]
    AccessDenied {
        /// e.g. `ecs:PutClusterCapacityProviders`.
        permission: String,
        /// AWS's message.
        message: String,
    },
    /// A write whose answer was lost (a timeout after the request went out): it may have
    /// been made. `apply` repeats it only when repeating it is harmless.
    #[error("{0} (no answer: it may have gone through)")]
    Unknown(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// The ECS operations spotplan needs. Implemented over the SDK (`aws`) and in memory (tests).
pub trait EcsApi {
    /// Reads the cluster, the latest worker task definition and the service.
    fn observe(&mut self, cluster: &str, family: &str, service: &str)
    -> Result<Observed, ApiError>;
    /// Executes one planned call. `token` is the write's idempotency token, the same on every
    /// try of it (CreateService's `clientToken`: a repeat with it makes no second service).
    fn execute(&mut self, call: &Call, token: &str) -> Result<(), ApiError>;
    /// The latest ACTIVE revision of task definition `family` (to tell whether a registration
    /// whose answer was lost went through).
    fn task_definition(
        &mut self,
        family: &str,
    ) -> Result<Option<super::state::TaskDefinitionState>, ApiError>;
    /// The cluster as it is now (for the re-read right before PutClusterCapacityProviders).
    fn cluster(&mut self, name: &str) -> Result<Option<super::state::ClusterState>, ApiError>;
    /// Reads the crash-detection feed: the queues and the rule with its targets.
    fn observe_events(
        &mut self,
        dlq: &str,
        queue: &str,
        rule: &str,
    ) -> Result<super::events::ObservedEvents, ApiError>;
    /// The subnets, security groups, their route tables and the VPC's endpoints `want` names
    /// (`None`: this API cannot read EC2).
    fn observe_network(
        &mut self,
        want: &super::network::NetworkWant,
    ) -> Result<Option<super::network::NetworkSeen>, ApiError>;
    /// The account's Fargate On-Demand and Spot vCPU quotas (`None`: this API cannot read
    /// Service Quotas). A quota that cannot be read is a note in its place, never an error:
    /// `plan` then says it did not check it.
    fn observe_quotas(&mut self) -> Result<Option<super::quotas::QuotasSeen>, ApiError>;
    /// The CloudFormation stack that already feeds `cluster_arn` (or cluster `name`)'s task
    /// state changes into a queue, if one does (prefect-aws's events stack).
    fn feeding_stack(
        &mut self,
        cluster_arn: &str,
        name: &str,
    ) -> Result<Option<super::events::StackFeed>, ApiError>;
}

/// Errors from the Prefect API, in domain terms.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrefectError {
    /// The API refused or failed the call: nothing was changed by it.
    #[error("{0}")]
    Failed(String),
    /// A write whose answer was lost: it may have been made.
    #[error("{0}")]
    Unknown(String),
}

/// The Prefect REST operations spotplan needs. Implemented over HTTP (`prefect_api`) and in
/// memory (tests, with the `testing` feature).
pub trait PrefectApi {
    /// The work pool, or `None` when the API says it does not exist.
    fn pool(&self, name: &str) -> Result<Option<PoolState>, PrefectError>;
    /// The deployments of work pool `pool`, with their flows' names.
    fn deployments(&self, pool: &str) -> Result<Vec<DeploymentState>, PrefectError>;
    /// The automations carrying any of `tags` or named any of `names`.
    fn automations(
        &self,
        tags: &[String],
        names: &[String],
    ) -> Result<Vec<AutomationState>, PrefectError>;
    /// Creates or updates the work pool.
    fn write_pool(&self, w: &PoolWrite) -> Result<(), PrefectError>;
    /// Sets a deployment's job variables.
    fn write_deployment(&self, w: &DeploymentWrite) -> Result<(), PrefectError>;
    /// Creates, replaces or deletes an automation.
    fn write_automation(&self, w: &AutomationWrite) -> Result<(), PrefectError>;
}

/// Why the account or the Prefect API could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ObserveError {
    /// Reading ECS, SQS or EventBridge failed.
    #[error("cannot read the account: {0}")]
    Ecs(ApiError),
    /// Reading the Prefect API failed (`what`: the work pool, the deployments…).
    #[error("cannot read {what}: {error}")]
    Prefect {
        /// What was being read.
        what: &'static str,
        /// The error.
        error: PrefectError,
    },
}

/// Reads everything `d` describes: the cluster, the worker's task definition and service, the
/// crash-detection feed when there is one, and, given a Prefect API, the work pool, its
/// deployments (when the pool exists and any deployment needs its own job variables or the
/// fallback automation is limited to some) and the
/// fallback automation's namesakes.
pub fn observe(
    ecs: &mut dyn EcsApi,
    prefect: Option<&dyn PrefectApi>,
    d: &Desired,
) -> Result<Observed, ObserveError> {
    let mut o = ecs
        .observe(&d.cluster.name, &d.task_definition.family, &d.service.name)
        .map_err(ObserveError::Ecs)?;
    o.network = ecs.observe_network(&d.network).map_err(ObserveError::Ecs)?;
    if d.quotas.is_some() {
        o.quotas = ecs.observe_quotas().map_err(ObserveError::Ecs)?;
    }
    if let Some(e) = &d.events {
        o.events = ecs
            .observe_events(&e.dlq.name, &e.queue.name, &e.rule.name)
            .map_err(ObserveError::Ecs)?;
        o.events.stack = ecs
            .feeding_stack(&e.cluster_arn, &d.cluster.name)
            .map_err(ObserveError::Ecs)?;
    }
    if let Some(api) = prefect {
        let read = |what| move |error| ObserveError::Prefect { what, error };
        let pool = api.pool(&d.pool.name).map_err(read("the work pool"))?;
        let scoped = matches!(
            d.automation_scope,
            Some(super::automation::Scope::Deployments { .. })
        );
        let deployments = if pool.is_some() && (!d.deployments.is_empty() || scoped) {
            api.deployments(&d.pool.name)
                .map_err(read("the deployments"))?
        } else {
            Vec::new()
        };
        let name = &d.pool.name;
        let automations = api
            .automations(
                &[
                    super::automation::tag_for(name, false),
                    super::automation::tag_for(name, true),
                ],
                &[super::automation::legacy_name(name)],
            )
            .map_err(read("the automations"))?;
        o.prefect = Some(PrefectObserved {
            pool,
            deployments,
            automations,
        });
    }
    Ok(o)
}
