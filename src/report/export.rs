//! Task histories in the shapes real systems export, written from a simulated trace: ECS
//! "Task State Change" events as EventBridge delivers them (JSON lines) with the worker's
//! "Capacity is unavailable" log lines, and Prefect flow runs. `calibrate` reads them back.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::model::Provider;
use crate::scenario::Scenario;
use crate::sim::{Detail, EventKind, TraceEvent};

/// The capacity failure text of RunTask (domain file §2.2).
pub const CAPACITY_REASON: &str = "Capacity is unavailable at this time. Please try again later or in a different availability zone";
/// The stop reason of a spot interruption.
pub const SPOT_REASON: &str = "Your Spot Task was interrupted.";

fn iso(s: &Scenario, t_ms: u64) -> String {
    DateTime::<Utc>::from_timestamp_millis(s.sim.start_unix_ms + t_ms as i64)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[derive(Default)]
struct Task {
    created: u64,
    pull: u64,
    started: u64,
    stopping: Option<u64>,
    provider: Option<Provider>,
}

/// Writes ECS task state change events (one STOPPED event per task) and capacity-failure log
/// lines, in time order of the stop / failure.
pub fn write_ecs_events(
    out: &mut dyn Write,
    s: &Scenario,
    events: &[TraceEvent],
) -> std::io::Result<()> {
    let mut open: BTreeMap<(u32, u64, u32), Task> = BTreeMap::new();
    let arn = |k: &(u32, u64, u32)| {
        format!(
            "arn:aws:ecs:{}:111122223333:task/{}/{:08x}{:08x}{:04x}",
            s.region, s.cluster.name, k.0, k.1, k.2
        )
    };
    for e in events {
        let key = (e.flow, e.run, e.attempt);
        let flow = &s.flows[e.flow as usize];
        match (e.kind, e.detail) {
            (
                EventKind::Placed,
                Detail::Placed {
                    pull_start_ms,
                    running_ms,
                },
            ) => {
                open.insert(
                    key,
                    Task {
                        created: e.t_ms,
                        pull: pull_start_ms,
                        started: running_ms,
                        stopping: None,
                        provider: e.provider,
                    },
                );
            }
            (EventKind::Interrupted, _) => {
                if let Some(t) = open.get_mut(&key) {
                    t.stopping = Some(e.t_ms);
                }
            }
            (EventKind::CapacityFailure, _) => {
                writeln!(
                    out,
                    "{} Failed to run ECS task for flow run {}-{}: {CAPACITY_REASON}",
                    iso(s, e.t_ms),
                    flow.name,
                    e.run
                )?;
            }
            (EventKind::Stopped, _) => {
                let Some(t) = open.remove(&key) else { continue };
                let interrupted = t.stopping.is_some();
                let mut detail = serde_json::json!({
                    "capacityProviderName": t.provider.map(|p| p.ecs_name()).unwrap_or("FARGATE"),
                    "clusterArn": format!("arn:aws:ecs:{}:111122223333:cluster/{}", s.region, s.cluster.name),
                    "cpu": flow.size.cpu.0.to_string(),
                    "memory": flow.size.memory.0.to_string(),
                    "createdAt": iso(s, t.created),
                    "desiredStatus": "STOPPED",
                    "lastStatus": "STOPPED",
                    "group": format!("family:{}", flow.name),
                    "startedBy": "spotplan-simulator",
                    "taskArn": arn(&key),
                    "stopCode": if interrupted { "SpotInterruption" } else { "EssentialContainerExited" },
                    "stoppedReason": if interrupted { SPOT_REASON } else { "Essential container in task exited" },
                    "stoppedAt": iso(s, e.t_ms),
                });
                if e.t_ms > t.pull {
                    detail["pullStartedAt"] = iso(s, t.pull).into();
                }
                if e.t_ms > t.started && t.stopping.is_none_or(|x| x > t.started) {
                    detail["startedAt"] = iso(s, t.started).into();
                }
                if let Some(x) = t.stopping {
                    detail["stoppingAt"] = iso(s, x).into();
                }
                let ev = serde_json::json!({
                    "version": "0",
                    "id": format!("{:08x}-sim", e.t_ms),
                    "detail-type": "ECS Task State Change",
                    "source": "aws.ecs",
                    "account": "111122223333",
                    "time": iso(s, e.t_ms),
                    "region": s.region,
                    "resources": [arn(&key)],
                    "detail": detail,
                });
                writeln!(out, "{ev}")?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes Prefect flow runs (JSON lines): deployment, expected start, start, end, state.
pub fn write_prefect_runs(
    out: &mut dyn Write,
    s: &Scenario,
    events: &[TraceEvent],
) -> std::io::Result<()> {
    let mut runs: BTreeMap<(u32, u64), (u64, Option<u64>)> = BTreeMap::new();
    for e in events {
        let key = (e.flow, e.run);
        match e.kind {
            EventKind::Scheduled => {
                runs.insert(key, (e.t_ms, None));
            }
            EventKind::Placed => {
                if let (Some(r), Detail::Placed { running_ms, .. }) = (runs.get_mut(&key), e.detail)
                {
                    r.1.get_or_insert(running_ms);
                }
            }
            EventKind::Completed
            | EventKind::Crashed
            | EventKind::Failed
            | EventKind::Unfinished => {
                let Some((sched, start)) = runs.remove(&key) else {
                    continue;
                };
                let (ty, name) = match e.kind {
                    EventKind::Completed => ("COMPLETED", "Completed"),
                    EventKind::Crashed => ("CRASHED", "Crashed"),
                    EventKind::Failed => ("FAILED", "Failed"),
                    _ => ("RUNNING", "Running"),
                };
                let v = serde_json::json!({
                    "deployment": s.flows[e.flow as usize].name,
                    "flow_run": format!("{}-{}", s.flows[e.flow as usize].name, e.run),
                    "expected_start_time": iso(s, sched),
                    "start_time": start.map(|t| iso(s, t)),
                    "end_time": (e.kind != EventKind::Unfinished).then(|| iso(s, e.t_ms)),
                    "state_type": ty,
                    "state_name": name,
                });
                writeln!(out, "{v}")?;
            }
            _ => {}
        }
    }
    Ok(())
}
