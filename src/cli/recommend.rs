//! `spotplan recommend FILE`

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::exit::Outcome;
use super::grid::{GridArgs, cancel_flag};
use super::{UserError, progress_bar};
use crate::report::sweep as render;
use crate::sweep::cells::Control;
use crate::sweep::job::execute;
use crate::sweep::recommend::{Recommendation, recommend};

/// Arguments of `recommend`.
#[derive(Debug, Args)]
pub struct RecommendArgs {
    /// The grid and run flags.
    #[command(flatten)]
    pub grid: GridArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RecFormat::Text)]
    pub format: RecFormat,
    /// Write the recommendation (strategy for ECS and the Prefect work pool) as JSON to FILE,
    /// for `emit` and `apply`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Output formats of `recommend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecFormat {
    /// Words.
    Text,
    /// JSON: the recommendation, the current configuration beside it and the sweep.
    Json,
}

/// The recommendation file.
#[derive(serde::Serialize)]
pub(super) struct RecommendationFile<'a> {
    /// `spotplan-recommendation/1`.
    pub format: &'static str,
    /// Whether the sweep was interrupted (Ctrl-C): the pick rests on the cells that
    /// finished, and `emit`/`plan`/`apply` refuse it.
    pub partial: bool,
    /// What was simulated.
    pub meta: &'a crate::sweep::Meta,
    /// The pick.
    pub recommendation: &'a Recommendation,
    /// The recommended candidate's metrics.
    pub metrics: Option<&'a crate::sweep::Metrics>,
    /// The scenario's own configuration against the recommendation (paired, B − A).
    pub current: Option<&'a crate::sweep::compare::Current>,
    /// The scenario file, relative to the directory this file is written to (`emit`, `plan`
    /// and `apply` resolve it there, not against their working directory); absent on
    /// standard output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario_path: Option<String>,
}

/// A recommendation run: the scenario, the sweep, the pick and the current configuration.
pub(super) struct Recommended {
    /// The scenario with the flags applied.
    pub scenario: crate::scenario::Scenario,
    /// The sweep.
    pub run: crate::sweep::job::SweepRun,
    /// The pick.
    pub rec: Recommendation,
    /// The scenario's own configuration against the pick, paired.
    pub current: Option<crate::sweep::compare::Current>,
    /// The current configuration's cost per 30 days in each replication, USD.
    pub current_costs: Vec<f64>,
}

impl Recommended {
    /// The `recommendation.json` content.
    /// `dest`: where it is written, if to a file.
    pub(super) fn file(&self, dest: Option<&std::path::Path>) -> RecommendationFile<'_> {
        RecommendationFile {
            format: "spotplan-recommendation/1",
            partial: self.run.result.search.interrupted,
            meta: &self.run.result.meta,
            recommendation: &self.rec,
            metrics: self
                .rec
                .candidate
                .map(|i| &self.run.result.candidates[i].metrics),
            current: self.current.as_ref(),
            scenario_path: dest.and_then(|d| {
                super::output::relative_to(std::path::Path::new(&self.scenario.source.file), d)
            }),
        }
    }
}

/// Nothing feasible when no candidate meets the objectives (status 3, a distinct answer a
/// script can test; the output says which objective binds), else done.
pub(super) fn feasible(rec: &Recommendation) -> Outcome {
    if rec.candidate.is_none() {
        Outcome::NothingFeasible
    } else {
        Outcome::Done
    }
}

/// Runs the sweep of `grid` (with progress and Ctrl-C), picks the recommendation and
/// simulates the scenario's own configuration under every reading of its placement model.
/// `None` after `--dry-run` (the estimate printed, as JSON when `json`).
pub(super) fn recommend_grid(grid: &GridArgs, json: bool) -> anyhow::Result<Option<Recommended>> {
    let (s, spec) = grid.load()?;
    let materiality = grid.materiality()?;
    let (_, variants) = crate::sweep::job::prepare(&s, &spec)
        .map_err(|e| UserError(format!("`{}`: {e}", s.source.file)))?;
    // the grid with its baseline, and the current configuration under each reading
    let est = crate::sim::budget::estimate(
        &s,
        variants.len() as u64 + 3 + s.readings().len() as u64,
        spec.replications as u64,
        variants.len() as u64 * spec.replications as u64,
    );
    if grid.run.gate(&est, json)?.is_some() {
        return Ok(None);
    }
    let bar = progress_bar(
        variants.len() as u64 * spec.replications as u64,
        grid.quiet,
        "candidate-replications",
    );
    let ctl = Control {
        cancel: cancel_flag(),
        tick: &|n| bar.inc(n),
    };
    let pool = grid.pool()?;
    let run = pool.install(|| execute(&s, &spec, None, &ctl));
    let run = run.map_err(|e| UserError(format!("`{}`: {e}", s.source.file)))?;
    bar.finish_and_clear();
    let rec = recommend(&run.result, &run.matrix, grid.allow_custom_code);
    // the scenario's own configuration beside the pick, under every reading, on the same
    // random numbers
    let (mut current, current_costs) =
        pool.install(|| crate::sweep::compare::current(&s, &run, rec.candidate, materiality));
    // how sure the pick is: it and today's configuration at each end of the uncertain inputs
    if !run.result.search.interrupted {
        let costliest = current.worst_reading.clone();
        current.sensitivity = pool.install(|| {
            crate::sweep::sensitivity::of(&s, &run, rec.candidate, &costliest, &current_costs)
        });
    }
    let current = Some(current);
    Ok(Some(Recommended {
        scenario: s,
        run,
        rec,
        current,
        current_costs,
    }))
}

pub(super) fn run(a: RecommendArgs) -> anyhow::Result<Outcome> {
    if let Some(p) = &a.out {
        super::output::check_writable(p)?;
    }
    let Some(r) = recommend_grid(&a.grid, a.format == RecFormat::Json)? else {
        return Ok(Outcome::Done);
    };
    let (run, rec) = (&r.run, &r.rec);
    match a.format {
        RecFormat::Text => out!(
            "{}",
            render::recommendation_text(&run.result, rec, r.current.as_ref())
        ),
        RecFormat::Json => outln!("{}", serde_json::to_string_pretty(&r.file(None))?),
    }
    if let Some(p) = &a.out {
        super::output::write_file(p, serde_json::to_string_pretty(&r.file(Some(p)))? + "\n")?;
    }
    if run.result.search.interrupted {
        eprintln!(
            "interrupted: the recommendation uses the {} candidate-replications that finished",
            run.result.search.cells_run
        );
        return Ok(Outcome::Interrupted);
    }
    Ok(feasible(rec))
}
