//! The discrete-event simulator of ECS RunTask on FARGATE / FARGATE_SPOT driven by a Prefect
//! worker: placement, spot interruptions and capacity, retry policies, the billing meter.

pub mod budget;
pub(crate) mod deadline;
mod engine;
pub(crate) mod hazard;
pub mod latency;
pub(crate) mod meter;
pub(crate) mod observer;
pub(crate) mod outcome;
pub(crate) mod placement;
pub(crate) mod queue;
pub(crate) mod retry;
pub mod rng;
pub(crate) mod spot_env;

pub use engine::run;
pub use observer::{Detail, EventKind, NoObserver, Observer, Recorder, TraceEvent};
pub use outcome::{FlowOutcome, RuleCounts, RunOutcome};
