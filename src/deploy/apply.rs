//! Executing a plan: only the calls the plan lists, in order, each retried on transient
//! errors; a failure stops with a report of what was done and what was not, and the next
//! `apply` (a fresh plan) converges.

use std::fmt;

use serde::Serialize;

use super::plan::{Call, Plan};
use super::state::Observed;

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
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// The ECS operations spotplan needs. Implemented over the SDK (`aws`) and in memory (tests).
pub trait EcsApi {
    /// Reads the cluster, the latest worker task definition and the service.
    fn observe(&mut self, cluster: &str, family: &str, service: &str)
    -> Result<Observed, ApiError>;
    /// Executes one planned call.
    fn execute(&mut self, call: &Call) -> Result<(), ApiError>;
    /// The cluster as it is now (for the re-read right before PutClusterCapacityProviders).
    fn cluster(&mut self, name: &str) -> Result<Option<super::state::ClusterState>, ApiError>;
    /// Reads the crash-detection feed: the queues and the rule with its targets.
    fn observe_events(
        &mut self,
        dlq: &str,
        queue: &str,
        rule: &str,
    ) -> Result<super::events::ObservedEvents, ApiError>;
}

/// Reads everything `d` describes: the cluster, the worker's task definition and service, and
/// the crash-detection feed when there is one.
pub fn observe(api: &mut dyn EcsApi, d: &super::state::Desired) -> Result<Observed, ApiError> {
    let mut o = api.observe(&d.cluster.name, &d.task_definition.family, &d.service.name)?;
    if let Some(e) = &d.events {
        o.events = api.observe_events(&e.dlq.name, &e.queue.name, &e.rule.name)?;
    }
    Ok(o)
}

/// The outcome of an apply.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApplyReport {
    /// Calls made successfully, in order (names of the API operations).
    pub done: Vec<String>,
    /// The call that failed, with the error.
    pub failed: Option<(String, String)>,
    /// Calls not attempted.
    pub not_done: Vec<String>,
}

impl ApplyReport {
    /// Whether every call succeeded.
    pub fn ok(&self) -> bool {
        self.failed.is_none()
    }
}

/// The API operation of a call.
pub fn operation(c: &Call) -> &'static str {
    match c {
        Call::CreateCluster { .. } => "CreateCluster",
        Call::PutClusterCapacityProviders { .. } => "PutClusterCapacityProviders",
        Call::RegisterTaskDefinition { .. } => "RegisterTaskDefinition",
        Call::CreateService { .. } => "CreateService",
        Call::UpdateService { .. } => "UpdateService",
        Call::CreateQueue { .. } => "CreateQueue",
        Call::SetQueueAttributes { .. } => "SetQueueAttributes",
        Call::PutRule { .. } => "PutRule",
    }
}

/// Attempts per call for transient errors.
pub const ATTEMPTS: u32 = 5;

/// Executes the plan's calls. `pause(k)` is called before retry k (the CLI sleeps with
/// backoff; tests do not).
pub fn apply(plan: &Plan, api: &mut dyn EcsApi, pause: &mut dyn FnMut(u32)) -> ApplyReport {
    let calls = plan.calls();
    let mut report = ApplyReport {
        done: Vec::new(),
        failed: None,
        not_done: Vec::new(),
    };
    for (i, c) in calls.iter().enumerate() {
        let mut attempt = 1;
        let result = loop {
            // PutClusterCapacityProviders replaces the whole list: re-read it right before
            // the call, and refuse if a provider was attached since the plan (sending the
            // plan's list would detach it)
            if let Call::PutClusterCapacityProviders {
                cluster,
                capacity_providers,
                ..
            } = c
            {
                match api.cluster(cluster) {
                    Ok(now) => {
                        let added: Vec<String> = now
                            .map(|n| n.capacity_providers)
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|p| !capacity_providers.contains(p))
                            .collect();
                        if !added.is_empty() {
                            break Err(ApiError::Other(format!(
                                "the cluster's capacity providers changed since the plan ({} attached since); nothing was detached: run `spotplan plan` again",
                                added.join(", ")
                            )));
                        }
                    }
                    Err(ApiError::Transient(_)) if attempt < ATTEMPTS => {
                        pause(attempt);
                        attempt += 1;
                        continue;
                    }
                    Err(e) => break Err(e),
                }
            }
            match api.execute(c) {
                Err(ApiError::Transient(_)) if attempt < ATTEMPTS => {
                    pause(attempt);
                    attempt += 1;
                }
                other => break other,
            }
        };
        match result {
            Ok(()) => report.done.push(operation(c).to_string()),
            Err(e) => {
                report.failed = Some((operation(c).to_string(), e.to_string()));
                report.not_done = calls[i + 1..]
                    .iter()
                    .map(|c| operation(c).to_string())
                    .collect();
                break;
            }
        }
    }
    report
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.done {
            writeln!(f, "done: {d}")?;
        }
        if let Some((op, e)) = &self.failed {
            writeln!(f, "FAILED: {op}: {e}")?;
            for n in &self.not_done {
                writeln!(f, "not done: {n}")?;
            }
            write!(
                f,
                "run `spotplan apply` again once the cause is fixed: it plans from what the account holds now"
            )?;
        } else if self.done.is_empty() {
            write!(f, "nothing to do")?;
        } else {
            write!(f, "applied {} call(s)", self.done.len())?;
        }
        Ok(())
    }
}
