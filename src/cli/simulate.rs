//! `spotplan simulate FILE`

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::exit::Outcome;
use super::{Format, UserError, output};
use crate::report;
use crate::sim::{self, Recorder};
use crate::sweep::{replicate, summarize};

/// Shapes of `--trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    /// spotplan's task events (JSON lines or CSV).
    Events,
    /// ECS "Task State Change" events, JSON lines, as `calibrate --ecs-events` reads them.
    EcsEvents,
    /// Prefect flow runs, JSON lines, as `calibrate --prefect-runs` reads them.
    PrefectRuns,
}

/// Arguments of `simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// Monte Carlo replications (overrides `simulation.replications`).
    #[arg(long, short = 'n')]
    pub replications: Option<u32>,
    /// The placement reading to simulate: `per-call`, `per-call-tie-later`, `per-call-no-base`,
    /// `weighted-random`, `proportional` or `proportional-hold` (overrides
    /// `simulation.placement`; `sweep`/`recommend` take `robust`).
    #[arg(long, value_name = "READING")]
    pub placement: Option<String>,
    /// Seed, horizon, threads.
    #[command(flatten)]
    pub run: super::RunFlags,
    /// Output format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write summary.json, summary.csv, replications.csv and report.txt into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write the task events of replication 0 to FILE (JSON lines; CSV if FILE ends in .csv).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// The trace's shape: spotplan's own events, ECS task state change events as EventBridge
    /// delivers them (plus "Capacity is unavailable" log lines), or Prefect flow runs.
    #[arg(long, value_enum, default_value_t = TraceFormat::Events)]
    pub trace_format: TraceFormat,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub(super) fn run(a: SimulateArgs) -> anyhow::Result<Outcome> {
    if let Some(dir) = &a.out {
        output::check_dir_writable(dir)?;
    }
    if let Some(path) = &a.trace {
        output::check_writable(path)?;
    }
    let mut overrides = a.run.overrides()?;
    if let Some(p) = &a.placement {
        crate::scenario::spec::parse_placement(p).map_err(|m| {
            UserError(format!(
                "--placement: {m}; `simulate` runs one reading (`sweep` and `recommend` evaluate all with `robust`)"
            ))
        })?;
        overrides.placement = Some(p.clone());
    }
    if let Some(n) = a.replications {
        if !(1..=1_000_000).contains(&n) {
            return Err(UserError(format!("--replications `{n}` is outside 1–1000000")).into());
        }
        overrides.replications = Some(n);
    }
    let s = super::load_scenario_with(&a.file, &overrides)?;
    let n = s.sim.replications;
    // the scenario and its all-on-demand baseline, every replication kept
    let est = crate::sim::budget::estimate(&s, 2, n as u64, n as u64);
    if let Some(code) = a.run.gate(&est, a.format == Format::Json)? {
        return Ok(code);
    }
    let pool = a.run.pool()?;
    let bar = super::progress_bar(n as u64, a.quiet, "replications");
    let reps = pool.install(|| replicate(&s, n, &|| bar.inc(1)));
    bar.finish_and_clear();
    let summary = summarize(&s, &reps);

    let text = match a.format {
        Format::Table => report::table(&summary),
        Format::Json => report::json(&summary),
        Format::Csv => report::csv(&summary)?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;

    // every file, or none
    let mut files = output::Outputs::new();
    if let Some(dir) = &a.out {
        files.add(&dir.join("summary.json"), report::json(&summary))?;
        files.add(&dir.join("summary.csv"), report::csv(&summary)?)?;
        files.add(
            &dir.join("replications.csv"),
            report::replications_csv(&reps)?,
        )?;
        files.add(&dir.join("report.txt"), report::table(&summary))?;
    }
    if let Some(path) = &a.trace {
        let mut rec = Recorder::default();
        sim::run(&s, 0, &mut rec);
        let csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        files.add_with(path, |w| match a.trace_format {
            TraceFormat::Events => report::write_trace(w, &s, &rec.events, csv),
            TraceFormat::EcsEvents => report::export::write_ecs_events(w, &s, &rec.events),
            TraceFormat::PrefectRuns => report::export::write_prefect_runs(w, &s, &rec.events),
        })?;
    }
    files.commit()?;
    Ok(Outcome::Done)
}
