//! The command line: argument types (clap) and one file per subcommand. The only place that
//! reads files, looks at the terminal or the clock.

/// `print!` to standard output, returning the I/O error (`?`) instead of panicking: a closed
/// pipe (`spotplan schema | head`) then ends the command quietly with status 0.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        std::io::stdout().lock().write_fmt(format_args!($($t)*))?
    }};
}

/// `println!` to standard output, as [`out!`].
macro_rules! outln {
    () => { out!("\n") };
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let mut o = std::io::stdout().lock();
        o.write_fmt(format_args!($($t)*))?;
        o.write_all(b"\n")?
    }};
}

mod calibrate;
mod compare;
#[cfg(feature = "aws")]
mod deploy;
pub(crate) mod emit;
mod exit;
mod grid;
pub(crate) mod output;
pub(crate) mod prices;
mod recommend;
mod report;
mod schema;
mod simulate;
mod sweep;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::scenario::{self, Scenario, ScenarioError};
use crate::sim::budget::{Budget, WorkEstimate};
use exit::Outcome;

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
    /// Simulate a grid of strategies, retry policies and checkpoint intervals around a
    /// scenario (common random numbers) and tabulate cost and reliability with 95% CIs.
    Sweep(sweep::SweepArgs),
    /// Pick the cheapest configuration that meets the scenario's objectives, with the
    /// runner-up and the binding constraint, ready for ECS and the Prefect work pool.
    Recommend(recommend::RecommendArgs),
    /// Write a self-contained HTML report (charts, tables, assumptions) with its data.
    Report(report::ReportArgs),
    /// Combine the shard files of a sharded sweep into the result one machine would give.
    Merge(sweep::MergeArgs),
    /// Print the JSON Schema of the scenario file format.
    Schema,
    /// Estimate interruption rates, capacity failures and workloads from your own ECS task
    /// records and Prefect runs, and write them as a scenario.
    Calibrate(calibrate::CalibrateArgs),
    /// Write the chosen strategy as deployable artefacts: AWS CLI inputs and scripts for the
    /// cluster and the worker, IAM policies, the Prefect work pool template, CloudFormation
    /// and Terraform.
    Emit(emit::EmitArgs),
    /// Read the account (cluster, crash-detection feed, worker task definition and service)
    /// and, with --prefect-api-url, the work pool, its deployments and the fallback automation;
    /// show what `apply` would change: `+` create, `~` update (old → new), `=` unchanged, `!`
    /// missing.
    #[cfg(feature = "aws")]
    Plan(deploy::PlanArgs),
    /// Make the account (and, with --prefect-api-url, the Prefect work pool, deployments and
    /// automation) match: only the writes the plan lists, in order; a write whose answer was
    /// lost is repeated only where that is harmless, else apply stops and says so.
    #[cfg(feature = "aws")]
    Apply(deploy::ApplyArgs),
    /// Fetch, show and compare Fargate and Fargate Spot prices.
    #[command(subcommand)]
    Pricing(prices::PricingCommand),
    /// The same workload under two scenarios (A: e.g. your current setup, B: a candidate) on
    /// common random numbers: cost, saving, crash and deadline-miss rates, latency, with the
    /// paired difference B − A and its 95% interval.
    Compare(compare::CompareArgs),
    /// Print a shell completion script: `spotplan completions bash > ~/.local/share/bash-completion/completions/spotplan`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Output formats of `simulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A human-readable table.
    Table,
    /// JSON (stable field names; byte-identical for the same scenario and seed).
    Json,
    /// CSV: `simulate` one row per metric, `sweep` one row per candidate.
    Csv,
}

/// Bad input from the user: exit status 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// Runs the CLI; returns the process exit code by the command's table (`exit`).
pub fn run(cli: Cli) -> ExitCode {
    let table = match cli.command {
        #[cfg(feature = "aws")]
        Command::Plan(_) | Command::Apply(_) => exit::Table::Deploy,
        _ => exit::Table::Other,
    };
    let result = match cli.command {
        Command::Simulate(a) => simulate::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Recommend(a) => recommend::run(a),
        Command::Merge(a) => sweep::run_merge(a),
        Command::Report(a) => report::run(a),
        Command::Schema => schema::run(),
        Command::Pricing(c) => prices::run(c),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Emit(a) => emit::run(a),
        Command::Completions { shell } => completions(shell),
        Command::Compare(a) => compare::run(a),
        #[cfg(feature = "aws")]
        Command::Plan(a) => deploy::run_plan(a),
        #[cfg(feature = "aws")]
        Command::Apply(a) => deploy::run_apply(a),
    };
    match &result {
        Ok(_) => {}
        // the reader of our standard output went away (`| head`): nothing left to say
        Err(e) if is_broken_pipe(e) => return ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<ScenarioError>() {
            Some(se) => eprintln!("{se}"),
            None => eprintln!("error: {e:#}"),
        },
    }
    exit::exit_code(table, &result)
}

fn completions(shell: clap_complete::Shell) -> anyhow::Result<Outcome> {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "spotplan", &mut script);
    use std::io::Write as _;
    std::io::stdout().lock().write_all(&script)?;
    Ok(Outcome::Done)
}

/// Whether `e` comes from writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The most worker threads (a pool of thousands only spends its time starting threads).
pub const MAX_THREADS: usize = 1024;

/// `--seed`, `--horizon`, `--threads` and the work budget, shared by every simulating command.
#[derive(Debug, Clone, clap::Args)]
pub struct RunFlags {
    /// Master seed (overrides `simulation.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Horizon, e.g. 7d or 12h (overrides `simulation.horizon`).
    #[arg(long)]
    pub horizon: Option<String>,
    /// Worker threads (default: all cores, at most 1024). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the work estimate (runs, engine events, CPU time, memory) and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Most engine events a run may take (default 1.8e10: about 10 minutes on 2 cores);
    /// larger runs are refused before they start.
    #[arg(long, value_name = "N")]
    pub max_events: Option<f64>,
    /// Most memory a run may need (default 2GB), e.g. `8GB`.
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
}

impl RunFlags {
    /// `--seed` and `--horizon` as overrides of the scenario's values (checked here, so that
    /// a bad flag is named as such), and `--threads` checked.
    pub fn overrides(&self) -> Result<scenario::Overrides, UserError> {
        if let Some(h) = &self.horizon {
            let d = crate::model::SimTime::parse_human(h)
                .map_err(|m| UserError(format!("--horizon: {m}")))?;
            if d.0 == 0 {
                return Err(UserError("--horizon must be longer than zero".into()));
            }
        }
        if let Some(t) = self.threads
            && !(1..=MAX_THREADS).contains(&t)
        {
            return Err(UserError(format!(
                "--threads `{t}` is outside 1–{MAX_THREADS}"
            )));
        }
        Ok(scenario::Overrides {
            seed: self.seed,
            horizon: self.horizon.clone(),
            ..Default::default()
        })
    }

    /// The budget the flags set (the defaults otherwise).
    pub fn budget(&self) -> Result<Budget, UserError> {
        let mut b = Budget::default();
        if let Some(n) = self.max_events {
            if !(n.is_finite() && n >= 1.0) {
                return Err(UserError(format!("--max-events `{n}` must be at least 1")));
            }
            b.max_events = n;
        }
        if let Some(m) = &self.max_memory {
            b.max_memory = crate::units::parse_bytes(m)
                .map_err(|e| UserError(format!("--max-memory: {e}")))?;
        }
        Ok(b)
    }

    /// Before any simulation: with `--dry-run`, prints the estimate (JSON when `json`) and
    /// returns the exit code to stop with; otherwise refuses a run past the budget.
    pub fn gate(&self, est: &WorkEstimate, json: bool) -> anyhow::Result<Option<Outcome>> {
        if self.dry_run {
            if json {
                outln!("{}", serde_json::to_string_pretty(est)?);
            } else {
                outln!(
                    "{}",
                    crate::units::wrap(&est.summary(), crate::units::WIDTH, "  ")
                );
                if let Some(b) = &est.backlog {
                    outln!(
                        "backlog: the concurrency limit is {:.0}% used; about {:.0} runs would wait at the end",
                        b.utilisation * 100.0,
                        b.waiting_at_end
                    );
                }
            }
            return Ok(Some(Outcome::Done));
        }
        est.check(&self.budget()?)?;
        Ok(None)
    }

    /// A rayon pool with the requested threads.
    pub fn pool(&self) -> anyhow::Result<rayon::ThreadPool> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads.unwrap_or(0))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start the worker threads: {e}"))
    }
}

/// The largest scenario file read, bytes: a platform of thousands of deployments is a few MB;
/// beyond this the TOML parser's memory, not the user's intent, decides what happens.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;
/// The largest file a scenario names (traces, CSV schedules, empirical durations) or a
/// recommendation file, bytes.
pub const MAX_DATA_BYTES: u64 = 256 << 20;

/// Reads a text file of at most `max` bytes, refusing a larger one before reading it.
pub fn read_capped(path: &Path, max: u64) -> Result<String, String> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    if len > max {
        return Err(format!(
            "it is {} MB, more than the {} MB spotplan reads",
            len >> 20,
            max >> 20
        ));
    }
    let mut s = String::new();
    // (a file that grows while read is cut at the cap, then refused as it is over it)
    f.take(max + 1)
        .read_to_string(&mut s)
        .map_err(|e| e.to_string())?;
    if s.len() as u64 > max {
        return Err(format!(
            "it is more than the {} MB spotplan reads",
            max >> 20
        ));
    }
    Ok(s)
}

/// Reads and validates a scenario file; files it names are read relative to it.
pub fn load_scenario(path: &Path) -> anyhow::Result<Scenario> {
    load_scenario_with(path, &scenario::Overrides::default())
}

/// As [`load_scenario`], with the command line's values in place of the file's.
pub fn load_scenario_with(
    path: &Path,
    overrides: &scenario::Overrides,
) -> anyhow::Result<Scenario> {
    let src = read_capped(path, MAX_SCENARIO_BYTES)
        .map_err(|e| UserError(format!("cannot read scenario `{}`: {e}", path.display())))?;
    let dir: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let loader = move |name: &str| -> Result<String, String> {
        let p = dir.join(name);
        read_capped(&p, MAX_DATA_BYTES).map_err(|e| format!("{e} (looked at `{}`)", p.display()))
    };
    Ok(scenario::load_with(
        &src,
        &path.display().to_string(),
        &loader,
        &prices::resolve,
        overrides,
    )?)
}

/// A progress bar with ETA on a terminal; hidden on a pipe or with `--quiet`.
pub fn progress_bar(total: u64, quiet: bool, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    b.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {{pos}}/{{len}} {what} [{{bar:30}}] {{elapsed}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}
