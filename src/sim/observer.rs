//! What the engine reports about each task and run, for `--trace` and tests.

use serde::Serialize;

use crate::model::Provider;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A run was scheduled.
    Scheduled,
    /// The worker picked the run up and called RunTask.
    RunTask,
    /// RunTask returned "Capacity is unavailable at this time…".
    CapacityFailure,
    /// A task was placed (PROVISIONING starts).
    Placed,
    /// SIGTERM: a spot interruption (two-minute warning).
    Interrupted,
    /// The task stopped (billing ends).
    Stopped,
    /// The run finished its work.
    Completed,
    /// The run ended Crashed.
    Crashed,
    /// The run ended Failed.
    Failed,
    /// The run went back to Scheduled (AwaitingRetry, Lazarus, custom retry).
    Rescheduled,
    /// The retry policy moved the run to on-demand FARGATE.
    FallbackToOnDemand,
    /// The run was still in flight when the simulation ended.
    Unfinished,
}

/// One trace record. Times are ms since simulated time zero.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TraceEvent {
    /// When, ms.
    pub t_ms: u64,
    /// Flow index in the scenario.
    pub flow: u32,
    /// Run number within its flow (arrival order, from 0).
    pub run: u64,
    /// Attempt number of the run (from 1; 0 before the first RunTask).
    pub attempt: u32,
    /// What happened.
    pub kind: EventKind,
    /// The provider involved, if any.
    pub provider: Option<Provider>,
    /// What the event carries, typed by event.
    pub detail: Detail,
}

/// The data an event carries (serialised without a tag: `{"billed_s": 61}`, or `null`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Detail {
    /// Nothing beyond the event itself.
    None,
    /// `scheduled`: the run's work, ms (sampled; the simulator's knowledge, not the worker's).
    Work { work_ms: u64 },
    /// `placed`: when the image pull starts and when the task is RUNNING, ms.
    Placed { pull_start_ms: u64, running_ms: u64 },
    /// `interrupted`: work this task saved for the run (checkpoints, finished tasks), ms.
    Interrupted { saved_ms: u64 },
    /// `stopped`: billed seconds of the task (after the one-minute minimum).
    Stopped { billed_s: u64 },
    /// `completed`: the run's latency from its scheduled time, ms.
    Completed { latency_ms: u64 },
    /// `rescheduled`: back to Scheduled, picked up after this delay, ms.
    Requeued { delay_ms: u64 },
    /// `rescheduled` by Prefect 1's Lazarus: its n-th reschedule of the run.
    Lazarus { lazarus: u32 },
    /// `rescheduled` by Uniform Progress: back to spot at a checkpoint once ahead, keeping
    /// this much work, ms.
    BackToSpot { kept_ms: u64 },
    /// `fallback_to_on_demand`: for the rest of the run, or only while catching up with the
    /// expected-progress line.
    Fallback { catching_up: bool },
}

impl Detail {
    /// `key=value` pairs for a CSV cell (`""` for none).
    pub fn to_cell(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
            _ => String::new(),
        }
    }
}

/// Receives trace events. With `ENABLED = false` the engine builds none.
pub trait Observer {
    /// Whether to build and deliver events.
    const ENABLED: bool;
    /// Called for each event, in simulated time order.
    fn event(&mut self, e: &TraceEvent);
}

/// Discards everything (the fast path).
#[derive(Default, Clone, Copy, Debug)]
pub struct NoObserver;

impl Observer for NoObserver {
    const ENABLED: bool = false;
    #[inline(always)]
    fn event(&mut self, _: &TraceEvent) {}
}

/// Keeps every event in memory.
#[derive(Default, Clone, Debug)]
pub struct Recorder {
    /// The events, in order.
    pub events: Vec<TraceEvent>,
}

impl Observer for Recorder {
    const ENABLED: bool = true;
    fn event(&mut self, e: &TraceEvent) {
        self.events.push(*e);
    }
}
