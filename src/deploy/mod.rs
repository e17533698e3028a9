//! Putting a chosen strategy into production: the deploy inputs, and the artefacts `emit`
//! writes (AWS CLI inputs, scripts, IAM, the Prefect work pool template, CloudFormation,
//! Terraform).

pub mod api;
pub mod apply;
pub mod automation;
pub mod deployments;
pub mod desired;
pub mod diff;
pub mod emit;
pub mod events;
#[cfg(feature = "testing")]
pub mod fake;
pub mod inputs;
pub mod plan;
pub mod state;
pub mod task_definition;
pub mod workpool;
