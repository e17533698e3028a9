//! `spotplan recommend FILE`

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::exit::Outcome;
use super::grid::{GridArgs, cancel_flag};
use super::{UserError, progress_bar};
use crate::model::Placement;
use crate::report::sweep as render;
use crate::sweep::cells::Control;
use crate::sweep::job::execute;
use crate::sweep::recommend::{ArticleCheck, Recommendation, article_check, recommend};
use crate::sweep::summary::{self, replicate};

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
    /// JSON: the recommendation, the article check and the sweep.
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
    /// What the original article's strategy does here.
    pub article: &'a [ArticleCheck],
    /// The scenario's own configuration against the recommendation (paired, B − A).
    pub current: Option<&'a crate::sweep::compare::Current>,
}

/// A recommendation run: the scenario, the sweep, the pick and the article check.
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
    /// The article's configuration, simulated.
    pub article: Vec<ArticleCheck>,
}

impl Recommended {
    /// The `recommendation.json` content.
    pub(super) fn file(&self) -> RecommendationFile<'_> {
        RecommendationFile {
            format: "spotplan-recommendation/1",
            partial: self.run.result.search.interrupted,
            meta: &self.run.result.meta,
            recommendation: &self.rec,
            metrics: self
                .rec
                .candidate
                .map(|i| &self.run.result.candidates[i].metrics),
            article: &self.article,
            current: self.current.as_ref(),
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
/// simulates the article's configuration under the scenario's and `per-call` placement.
/// `None` after `--dry-run` (the estimate printed, as JSON when `json`).
pub(super) fn recommend_grid(grid: &GridArgs, json: bool) -> anyhow::Result<Option<Recommended>> {
    let (s, spec) = grid.load()?;
    let (_, variants) = crate::sweep::job::prepare(&s, &spec)
        .map_err(|e| UserError(format!("`{}`: {e}", s.source.file)))?;
    // the grid with its baseline, and the article's configuration under each reading
    let est = crate::sim::budget::estimate(
        &s,
        variants.len() as u64 + 3 + Placement::ALL.len() as u64,
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
    let (run, article) = grid.pool()?.install(|| {
        let run = execute(&s, &spec, None, &ctl);
        let article = article_check(&s, &Placement::ALL, spec.replications.min(100));
        (run, article)
    });
    let run = run.map_err(|e| UserError(format!("`{}`: {e}", s.source.file)))?;
    bar.finish_and_clear();
    let rec = recommend(&run.result, &run.matrix, grid.allow_custom_code);
    // the scenario's own configuration beside the pick, on the same random numbers
    let pool = grid.pool()?;
    let mut current_costs = Vec::new();
    let current = rec.candidate.map(|i| {
        let c = &run.result.candidates[i];
        let picked = &run.scenarios[c.variant];
        let n = spec.replications;
        // the pick's replications are in the sweep's matrix (with their baselines) when it
        // ran them all; only the current configuration needs simulating then
        let kept: Option<Vec<summary::Replication>> = run
            .matrix
            .outcomes
            .get(c.variant)
            .and_then(|row| {
                row.iter()
                    .zip(&run.matrix.baselines)
                    .map(|(o, b)| {
                        Some(summary::Replication {
                            outcome: o.clone()?,
                            baseline_cost_usd: (*b)?,
                        })
                    })
                    .collect()
            })
            .filter(|v: &Vec<_>| v.len() == n as usize);
        let (ra, rb) = pool.install(|| {
            let ra = replicate(&s, n, &|| {});
            let rb = kept.unwrap_or_else(|| replicate(picked, n, &|| {}));
            (ra, rb)
        });
        let per30 = 30.0 * 86_400_000.0 / s.sim.horizon.0.max(1) as f64;
        current_costs = ra.iter().map(|x| x.outcome.cost_usd * per30).collect();
        crate::sweep::compare::Current {
            configuration: format!(
                "{} · {} · placement {}",
                s.launch.strategy,
                crate::scenario::spec::retry_spec(&s.retry),
                s.sim.placement
            ),
            same: s.same_configuration(picked),
            rows: crate::sweep::compare::paired(&ra, &rb, per30),
        }
    });
    Ok(Some(Recommended {
        scenario: s,
        run,
        rec,
        article,
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
    let (run, rec, article) = (&r.run, &r.rec, &r.article);
    let file = r.file();
    match a.format {
        RecFormat::Text => out!(
            "{}",
            render::recommendation_text(&run.result, rec, article, r.current.as_ref())
        ),
        RecFormat::Json => outln!("{}", serde_json::to_string_pretty(&file)?),
    }
    if let Some(p) = &a.out {
        super::output::write_file(p, serde_json::to_string_pretty(&file)? + "\n")?;
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
