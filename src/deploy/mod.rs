//! Putting a chosen strategy into production. The deploy inputs (`inputs`) and the choice
//! become one typed desired state (`desired`); `emit` renders it as artefacts (AWS CLI inputs
//! and scripts, IAM, the Prefect work pool template, CloudFormation, Terraform); `plan` diffs
//! it against what the account and the Prefect API hold (`state`, read through `api`'s
//! traits) into one `Plan`, which `apply` alone executes, at once or from a file `plan --out` saved (`saved`).

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
pub mod network;
pub mod plan;
pub mod quotas;
pub mod saved;
pub mod state;
pub(crate) mod task_definition;
pub mod workpool;
