//! Monte Carlo replications and strategy grids: candidates, each paired with the all-on-demand
//! baseline on common random numbers, run in parallel and collected by index; racing; the
//! per-deployment search; objectives, the Pareto front and the recommendation; chart data. The
//! statistics themselves are `crate::stats`.
//!
//! `summary`: replications of one scenario and the summary every report shows; `cells`: a
//! grid's candidate × replication cells, run in full, by shard or raced; `job`: a whole sweep
//! (the grid, its cells, the per-deployment search, shards and their merge).

pub(crate) mod candidate;
pub mod cells;
pub mod compare;
pub mod decision;
pub(crate) mod deployments;
pub(crate) mod figures;
pub mod job;
pub mod network;
pub mod objective;
pub mod recommend;
pub(crate) mod result;
pub mod select;
pub mod sensitivity;
pub(crate) mod summary;

pub use crate::stats::Stat;
pub(crate) use summary::outcomes;
pub use summary::{
    ConcurrentVcpu, Meta, Metrics, ObjectivesChecked, Replication, RuleMeans, Summary, assumptions,
    meta_of, metrics_of, replicate, summarize,
};
