//! `spotplan recommend FILE`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::grid::{GridArgs, cancel_flag};
use super::progress_bar;
use crate::model::Placement;
use crate::report::sweep as render;
use crate::sweep::execute::execute;
use crate::sweep::recommend::{ArticleCheck, Recommendation, article_check, recommend};
use crate::sweep::run::Control;

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
pub struct RecommendationFile<'a> {
    /// `spotplan-recommendation/1`.
    pub format: &'static str,
    /// What was simulated.
    pub meta: &'a crate::sweep::Meta,
    /// The pick.
    pub recommendation: &'a Recommendation,
    /// The recommended candidate's metrics.
    pub metrics: Option<&'a crate::sweep::Metrics>,
    /// What the original article's strategy does here.
    pub article: &'a [ArticleCheck],
}

pub fn run(a: RecommendArgs) -> anyhow::Result<ExitCode> {
    let (s, spec) = a.grid.load()?;
    let (cands, _) = crate::sweep::execute::prepare(&s, &spec);
    let bar = progress_bar(
        cands.len() as u64 * spec.replications as u64,
        a.grid.quiet,
        "candidate-replications",
    );
    let ctl = Control {
        cancel: cancel_flag(),
        tick: &|n| bar.inc(n),
    };
    let pool = a.grid.pool()?;
    let (run, article) = pool.install(|| {
        let run = execute(&s, &spec, None, &ctl);
        let mut placements = vec![s.sim.placement];
        if s.sim.placement != Placement::PerCall {
            placements.push(Placement::PerCall);
        }
        let article = article_check(&s, &placements, spec.replications.min(100));
        (run, article)
    });
    bar.finish_and_clear();
    let rec = recommend(&run.result, &run.matrix);
    let file = RecommendationFile {
        format: "spotplan-recommendation/1",
        meta: &run.result.meta,
        recommendation: &rec,
        metrics: rec.candidate.map(|i| &run.result.candidates[i].metrics),
        article: &article,
    };
    match a.format {
        RecFormat::Text => print!(
            "{}",
            render::recommendation_text(&run.result, &rec, &article)
        ),
        RecFormat::Json => println!("{}", serde_json::to_string_pretty(&file)?),
    }
    if let Some(p) = &a.out {
        std::fs::write(p, serde_json::to_string_pretty(&file)? + "\n")
            .with_context(|| format!("cannot write `{}`", p.display()))?;
    }
    if run.result.search.interrupted {
        eprintln!(
            "interrupted: the recommendation uses the {} candidate-replications that finished",
            run.result.search.cells_run
        );
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}
