//! Putting a chosen strategy into production: the deploy inputs, and the artefacts `emit`
//! writes (AWS CLI inputs, scripts, IAM, the Prefect work pool template, CloudFormation,
//! Terraform).

pub mod emit;
pub mod inputs;
