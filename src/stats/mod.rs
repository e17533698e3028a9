//! Statistics shared by `sweep` and `calibrate`: a metric over replications with its interval
//! and quantiles (`summary`), intervals bounded to their range (`interval`) and the
//! distribution math they rest on (`dist`).

pub(crate) mod dist;
pub(crate) mod interval;
pub(crate) mod summary;

pub use interval::rate_upper;
pub use summary::{Stat, paired, quantile_sorted};
