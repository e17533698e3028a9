//! # spotplan
//!
//! How to run batch workflows on AWS ECS Fargate and Fargate Spot, and what it costs.
//!
//! The picture in words: a scenario file (TOML) is parsed into serde types
//! ([`scenario::file`]) and validated once into a typed [`scenario::Scenario`] with units
//! ([`model`]) and the prices in use ([`pricing`]). The simulator ([`sim::run`]) is a pure,
//! synchronous, seeded function of (scenario, replication) that returns a
//! [`sim::RunOutcome`] and reports task events to an [`sim::Observer`]. [`sweep`] runs
//! replications in parallel (rayon), each paired with the all-on-demand baseline on the same
//! random numbers, and summarises them with confidence intervals. [`report`] renders the
//! summary as a table, JSON or CSV. [`cli`] is the only module that reads files or talks to
//! the terminal.

#[cfg(feature = "aws")]
pub mod aws;
pub mod calibrate;
pub mod cli;
pub mod deploy;
pub mod model;
#[cfg(feature = "aws")]
pub mod prefect_api;
pub mod pricing;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod stats;
pub mod sweep;
pub mod units;
