//! Monte Carlo replications and their statistics.

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
