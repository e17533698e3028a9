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
    /// Billed seconds (on `stopped`), or the image-pull start in ms (on `placed`).
    pub value: u64,
    /// On `placed`: when the task starts RUNNING, ms. Otherwise 0.
    pub aux: u64,
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
