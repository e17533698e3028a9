//! Monte Carlo replications and strategy grids: candidates, each paired with the all-on-demand
//! baseline on common random numbers, run in parallel and collected by index; racing; the
//! per-deployment search; objectives, the Pareto front and the recommendation; chart data. The
//! statistics themselves are `crate::stats`.

pub mod candidate;
pub mod compare;
pub mod deployments;
pub mod execute;
pub mod figures;
pub mod objective;
pub mod recommend;
pub mod replicate;
pub mod result;
pub mod run;

pub use crate::stats::Stat;
pub use replicate::{
    Meta, Metrics, Replication, Summary, assumptions, meta_of, metrics_of, replicate, summarize,
};
