//! Monte Carlo replications and their statistics.

pub mod replicate;
pub mod stats;

pub use replicate::{Meta, Metrics, Replication, Summary, replicate, summarize};
pub use stats::Stat;
