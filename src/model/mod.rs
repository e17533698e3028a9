//! Domain values with units: simulated time, task sizes, providers and strategies.

pub(crate) mod dist;
pub(crate) mod invalid;
pub(crate) mod provider;
pub(crate) mod size;
pub(crate) mod time;

pub use dist::Dist;
pub use invalid::Invalid;
pub use provider::{Placement, PlacementSpec, Provider, Strategy, StrategyItem};
pub use size::{Architecture, Cpu, Memory, OperatingSystem, TaskSize};
pub use time::{Rate, SimTime};
