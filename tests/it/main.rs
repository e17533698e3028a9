//! spotplan's integration tests: one binary, one module per concern.

mod architecture;
mod billing;
mod browser;
mod calibrate;
mod cli;
mod common;
mod coverage;
mod deploy;
mod determinism;
mod ecs_sdk;
mod emit;
mod errors;
mod hostile;
mod moto;
mod network;
mod objectives;
mod oracle;
mod placement;
mod pricing;
mod pricing_e2e;
mod retry;
mod saved_plan;
mod scenarios;
mod spot;
mod stub;
mod sweep;
