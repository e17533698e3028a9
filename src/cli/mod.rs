//! The command line: argument types (clap) and one file per subcommand. The only place that
//! reads files, looks at the terminal or the clock.

mod schema;
mod simulate;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::scenario::{self, Scenario, ScenarioError};

/// spotplan: how to run batch workflows on AWS ECS Fargate and Fargate Spot.
///
/// Simulates Prefect flow runs (or any scheduled batch jobs) launched as ECS tasks under a
/// capacity provider strategy and retry policy, with spot interruptions and capacity
/// shortfalls, and reports cost, saving against all-on-demand and reliability with
/// confidence intervals.
#[derive(Debug, Parser)]
#[command(name = "spotplan", version, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario file through the simulator (Monte Carlo) and report cost and reliability.
    Simulate(simulate::SimulateArgs),
    /// Check a scenario file and warn about configuration traps.
    Validate(validate::ValidateArgs),
    /// Print the JSON Schema of the scenario file format.
    Schema,
}

/// Output formats of `simulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A human-readable table.
    Table,
    /// JSON (stable field names; byte-identical for the same scenario and seed).
    Json,
    /// CSV, one row per metric.
    Csv,
}

/// Bad input from the user: exit status 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// Runs the CLI; returns the process exit code (0 ok, 1 bad input, 2 unexpected failure).
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Simulate(a) => simulate::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Schema => schema::run(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(se) = e.downcast_ref::<ScenarioError>() {
                eprintln!("{se}");
                ExitCode::from(1)
            } else if let Some(ue) = e.downcast_ref::<UserError>() {
                eprintln!("error: {ue}");
                ExitCode::from(1)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        }
    }
}

/// Reads and validates a scenario file; files it names are read relative to it.
pub fn load_scenario(path: &Path) -> anyhow::Result<Scenario> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| UserError(format!("cannot read scenario `{}`: {e}", path.display())))?;
    let dir: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let loader = move |name: &str| -> Result<String, String> {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| format!("{e} (looked at `{}`)", p.display()))
    };
    Ok(scenario::load(&src, &path.display().to_string(), &loader)?)
}
