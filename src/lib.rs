//! # spotplan
//!
//! How to run batch workflows on AWS ECS Fargate and Fargate Spot, and what it costs.
//!
//! The picture in words: a scenario file (TOML) is parsed into serde types
//! (`scenario::file`) and validated once into a typed [`scenario::Scenario`] with units
//! ([`model`]) and the prices in use ([`pricing`]). The simulator ([`sim::run`]) is a pure,
//! synchronous, seeded function of (scenario, replication) that returns a
//! [`sim::RunOutcome`] and reports task events to an [`sim::Observer`]. [`sweep`] runs
//! replications in parallel (rayon), each paired with the all-on-demand baseline on the same
//! random numbers, and summarises them with confidence intervals. [`report`] renders the
//! summary as a table, JSON or CSV. [`cli`] is the only module that reads files or talks to
//! the terminal.
//!
//! ## The public API
//!
//! What `main.rs`, `tests/`, `benches/` and `examples/` use, and nothing else (`unreachable_pub`
//! is on; modules no outside code names are `pub(crate)`):
//!
//! - [`cli`]: `Cli`, `run`, `load_scenario` (the binary and the CLI tests);
//! - [`scenario`]: loading with overrides, the validated `Scenario`, its retry grammar
//!   (`scenario::retry`, `scenario::spec`) and its warnings;
//! - [`model`], [`units`], [`stats`]: values in their units, the summary `Stat`;
//! - [`sim`]: `run`, its observers and outcomes, `budget`, `latency`, `rng` (the engine's
//!   oracle, determinism, memory and fuzz tests; the engine bench);
//! - [`sweep`]: replications and their summary, `cells`, `job`, `recommend` (sweep tests,
//!   the sweep bench);
//! - [`report`]: `charts`, `export`, `sweep` (chart, trace and recommendation tests);
//! - [`pricing`]: the snapshot and Price List parsing (pricing tests);
//! - [`calibrate`]: readers, estimators, fits and the written scenario (calibration tests,
//!   bench and memory test);
//! - [`deploy`]: desired state, plan, apply, the `api` traits and, with the `testing`
//!   feature, the in-memory `fake`s (deploy tests);
//! - [`aws`], [`prefect_api`]: the SDK and HTTP clients (their stub and end-to-end tests).

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
