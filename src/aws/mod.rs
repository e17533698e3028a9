//! The only code that touches the `aws_*` crates (and the one HTTP fetch of the Fargate Spot
//! feed): SDK configuration from `--profile/--region/--endpoint-url`, the SDK implementation
//! of `deploy::api::EcsApi` (ECS, SQS, EventBridge, STS), GetProducts paging, and the
//! signed Query and JSON API reads that have no SDK crate here (CloudFormation, EC2, Service
//! Quotas).

pub mod cloudformation;
pub mod config;
pub mod ec2;
pub mod ecs;
pub(crate) mod errors;
pub mod pricing;
pub mod query;
pub mod quotas;
pub(crate) mod spotfeed;
