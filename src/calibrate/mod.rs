//! Calibration from a user's own history: interruption rates, capacity failures and workloads
//! estimated from ECS task records and Prefect flow runs, written as a scenario.

pub mod estimate;
pub mod fit;
pub mod records;
pub(crate) mod sample;
pub mod synthetic;
pub mod write;
