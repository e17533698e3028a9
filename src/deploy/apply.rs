//! Executing a plan, and nothing else: the ECS calls it lists, in order, each retried on
//! transient errors; then, given the Prefect API, the work pool (once the cluster can place
//! its strategy), the deployments' job variables and the fallback automation. The first
//! failure stops it with a report of what was done, what failed (or got no answer, so it may
//! have been made) and what was not done; the next `apply` (a fresh plan) converges.

use std::fmt;

use serde::Serialize;

use super::api::{ApiError, EcsApi, PrefectApi, PrefectError};
use super::automation::AutomationWrite;
use super::deployments::DeploymentWrite;
use super::plan::{Call, Plan};
use super::workpool::PoolWrite;

/// The outcome of an apply.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApplyReport {
    /// Writes made, in order (ECS operations; the Prefect writes in words).
    pub done: Vec<String>,
    /// The write that failed, with the error.
    pub failed: Option<(String, String)>,
    /// Whether the failed write got no answer, so that it may have been made.
    pub unknown: bool,
    /// Writes not attempted.
    pub not_done: Vec<String>,
    /// Scenario flows with no deployment in the work pool (`apply` cannot create them).
    pub missing_deployments: usize,
}

impl ApplyReport {
    /// Whether every write succeeded.
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

/// Whether making call `c` twice leaves what making it once does, so that a try whose answer
/// was lost may be repeated: every call but RegisterTaskDefinition (a second one adds a
/// revision: `apply` looks the definition up first). CreateService is, with its client token
/// (a repeat with the same token makes no second service).
pub fn repeatable(c: &Call) -> bool {
    !matches!(c, Call::RegisterTaskDefinition { .. })
}

/// Attempts per call for transient errors.
pub const ATTEMPTS: u32 = 5;

/// One write of a plan, in apply order.
enum Write<'a> {
    Ecs(&'a Call),
    Pool(&'a PoolWrite, &'a str),
    Deployment(&'a DeploymentWrite),
    Automation(&'a AutomationWrite, &'a str),
}

impl Write<'_> {
    /// The write in the report's words.
    fn label(&self) -> String {
        match self {
            Write::Ecs(c) => operation(c).to_string(),
            Write::Pool(w, name) => format!(
                "work pool {name} ({})",
                if matches!(w, PoolWrite::Create { .. }) {
                    "created"
                } else {
                    "updated"
                }
            ),
            Write::Deployment(w) => format!("deployment {} (job variables)", w.label),
            Write::Automation(w, name) => format!(
                "automation {name} ({})",
                match w {
                    AutomationWrite::Create { .. } => "created",
                    AutomationWrite::Replace { .. } => "updated",
                    AutomationWrite::Delete { .. } => "duplicate deleted",
                }
            ),
        }
    }
}

/// The plan's writes, in apply order: ECS, then the work pool, the deployments and the
/// automation.
fn writes(plan: &Plan) -> Vec<Write<'_>> {
    let mut out: Vec<Write<'_>> = plan.calls().into_iter().map(Write::Ecs).collect();
    if let Some(p) = &plan.prefect {
        if let Some(w) = &p.work_pool.write {
            out.push(Write::Pool(w, &p.work_pool.step.name));
        }
        for w in p.deployments.iter().flat_map(|d| &d.writes) {
            out.push(Write::Deployment(w));
        }
        for a in &p.automations {
            if let Some(w) = &a.write {
                out.push(Write::Automation(w, &a.step.name));
            }
        }
    }
    out
}

/// Why a write failed: its error, and whether its outcome is unknown.
struct Failure {
    error: String,
    unknown: bool,
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure {
            unknown: matches!(e, ApiError::Unknown(_)),
            error: e.to_string(),
        }
    }
}

impl From<PrefectError> for Failure {
    fn from(e: PrefectError) -> Failure {
        Failure {
            unknown: matches!(e, PrefectError::Unknown(_)),
            error: e.to_string(),
        }
    }
}

/// Executes the plan's writes: the ECS calls on `ecs`, the Prefect writes on `prefect`.
/// `pause(k)` is called before ECS retry k (the CLI sleeps with backoff; tests do not); the
/// Prefect client retries a busy server itself.
pub fn apply(
    plan: &Plan,
    ecs: &mut dyn EcsApi,
    prefect: Option<&dyn PrefectApi>,
    pause: &mut dyn FnMut(u32),
) -> ApplyReport {
    let writes = writes(plan);
    let mut report = ApplyReport {
        done: Vec::new(),
        failed: None,
        unknown: false,
        not_done: Vec::new(),
        missing_deployments: plan.missing_deployments(),
    };
    for (i, w) in writes.iter().enumerate() {
        let result: Result<(), Failure> = match (w, prefect) {
            (Write::Ecs(c), _) => execute(c, ecs, pause).map_err(Failure::from),
            (Write::Pool(p, _), Some(api)) => api.write_pool(p).map_err(Failure::from),
            (Write::Deployment(d), Some(api)) => api.write_deployment(d).map_err(Failure::from),
            (Write::Automation(a, _), Some(api)) => create_once(a, api).map_err(Failure::from),
            (_, None) => Err(Failure {
                error: "no Prefect API to write to (--prefect-api-url)".into(),
                unknown: false,
            }),
        };
        match result {
            Ok(()) => report.done.push(w.label()),
            Err(f) => {
                report.failed = Some((w.label(), f.error));
                report.unknown = f.unknown;
                report.not_done = writes[i + 1..].iter().map(Write::label).collect();
                break;
            }
        }
    }
    report
}

/// An automation write. A create whose answer was lost may have been made, and Prefect does
/// not keep automation names unique: before trying again, look for the automation by its
/// ownership tag, and create it only if it is not there (once more at most).
fn create_once(w: &AutomationWrite, api: &dyn PrefectApi) -> Result<(), PrefectError> {
    match (api.write_automation(w), w.tag()) {
        (Err(PrefectError::Unknown(lost)), Some(tag))
            if matches!(w, AutomationWrite::Create { .. }) =>
        {
            match api.automations(&[tag.to_string()], &[]) {
                Ok(found) if !found.is_empty() => Ok(()),
                Ok(_) => api.write_automation(w),
                // cannot tell: say so, and let the next plan find it by its tag
                Err(_) => Err(PrefectError::Unknown(lost)),
            }
        }
        (r, _) => r,
    }
}

/// One ECS call, retried on transient errors (and, when repeating it is harmless, on a lost
/// answer) up to [`ATTEMPTS`] times.
fn execute(c: &Call, api: &mut dyn EcsApi, pause: &mut dyn FnMut(u32)) -> Result<(), ApiError> {
    let mut attempt = 1;
    // one idempotency token for every try of this write (36 characters at most)
    let token: String = {
        use rand::RngExt;
        let mut rng = rand::rng();
        (0..16)
            .map(|_| format!("{:02x}", rng.random::<u8>()))
            .collect()
    };
    loop {
        // PutClusterCapacityProviders replaces the whole list: re-read it right before the
        // call, and refuse if a provider was attached since the plan (sending the plan's list
        // would detach it)
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
                        return Err(ApiError::Other(format!(
                            "the cluster's capacity providers changed since the plan ({} attached since); nothing was detached: run `spotplan plan` again",
                            added.join(", ")
                        )));
                    }
                }
                Err(ApiError::Transient(_) | ApiError::Unknown(_)) if attempt < ATTEMPTS => {
                    pause(attempt);
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        match api.execute(c, &token) {
            Err(ApiError::Transient(_)) if attempt < ATTEMPTS => {}
            Err(ApiError::Unknown(_)) if attempt < ATTEMPTS && repeatable(c) => {}
            // a registration whose answer was lost: made if the family's latest revision is
            // exactly the definition, else tried again
            Err(ApiError::Unknown(lost)) if attempt < ATTEMPTS => {
                let Call::RegisterTaskDefinition { spec } = c else {
                    return Err(ApiError::Unknown(lost));
                };
                match api.task_definition(&spec.family) {
                    Ok(Some(t)) if t.spec == *spec => return Ok(()),
                    Ok(_) => {}
                    Err(_) => return Err(ApiError::Unknown(lost)),
                }
            }
            other => return other,
        }
        pause(attempt);
        attempt += 1;
    }
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.done {
            writeln!(f, "done: {d}")?;
        }
        if let Some((op, e)) = &self.failed {
            if self.unknown {
                writeln!(f, "NO ANSWER: {op}: {e}")?;
            } else {
                writeln!(f, "FAILED: {op}: {e}")?;
            }
            for n in &self.not_done {
                writeln!(f, "not done: {n}")?;
            }
            if self.unknown {
                write!(
                    f,
                    "the write got no answer, so it may have been made: run `spotplan plan` to see what the account and the Prefect API hold, then `spotplan apply` to finish"
                )?;
            } else {
                write!(
                    f,
                    "run `spotplan apply` again once the cause is fixed: it plans from what the account holds now"
                )?;
            }
        } else if self.done.is_empty() {
            write!(f, "nothing to do")?;
        } else {
            write!(f, "applied {} call(s)", self.done.len())?;
        }
        if self.missing_deployments > 0 {
            write!(
                f,
                "\nnote: {} deployment(s) not found in the work pool: deploy them with the job variables shown (prefect/prefect.yaml from `spotplan emit`)",
                self.missing_deployments
            )?;
        }
        Ok(())
    }
}
