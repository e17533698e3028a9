//! The discrete-event simulator of ECS RunTask on FARGATE / FARGATE_SPOT driven by a Prefect
//! worker: placement, spot interruptions and capacity, retry policies, the billing meter.

pub mod budget;
pub mod deadline;
mod engine;
pub mod hazard;
pub mod latency;
pub mod meter;
pub mod observer;
pub mod outcome;
pub mod placement;
pub mod queue;
pub mod retry;
pub mod rng;
pub mod spot_env;

pub use engine::run;
pub use observer::{Detail, EventKind, NoObserver, Observer, Recorder, TraceEvent};
pub use outcome::{FlowOutcome, RunOutcome};
