//! Domain values with units: simulated time, task sizes, providers and strategies.

pub mod dist;
pub mod provider;
pub mod size;
pub mod time;

pub use dist::Dist;
pub use provider::{Placement, PlacementSpec, Provider, Strategy, StrategyItem};
pub use size::{Architecture, Cpu, Memory, OperatingSystem, TaskSize};
pub use time::{Rate, SimTime};
