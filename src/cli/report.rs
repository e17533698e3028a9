//! `spotplan report FILE --out DIR`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::grid::{GridArgs, cancel_flag};
use super::{UserError, progress_bar};
use crate::model::Placement;
use crate::report::{charts, html, sweep as render};
use crate::sweep::execute::execute;
use crate::sweep::figures::figures;
use crate::sweep::recommend::{article_check, recommend};
use crate::sweep::run::Control;

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The grid and run flags.
    #[command(flatten)]
    pub grid: GridArgs,
    /// The directory for index.html, the charts (SVG and PNG), sweep.json, sweep.csv and
    /// recommendation.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
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
    let (run, article, rec, figs) = pool.install(|| {
        let run = execute(&s, &spec, None, &ctl);
        let mut placements = vec![s.sim.placement];
        if s.sim.placement != Placement::PerCall {
            placements.push(Placement::PerCall);
        }
        let article = article_check(&s, &placements, spec.replications.min(100));
        let rec = recommend(&run.result, &run.matrix);
        let figs = figures(&s, &run.scenarios, &run.result, &run.matrix, &rec);
        (run, article, rec, figs)
    });
    bar.finish_and_clear();
    let dir = &a.out;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let charts = charts::render_all(&figs, dir).map_err(UserError)?;
    let text = render::recommendation_text(&run.result, &rec, &article);
    let file = super::recommend::RecommendationFile {
        format: "spotplan-recommendation/1",
        meta: &run.result.meta,
        recommendation: &rec,
        metrics: rec.candidate.map(|i| &run.result.candidates[i].metrics),
        article: &article,
    };
    std::fs::write(
        dir.join("recommendation.json"),
        serde_json::to_string_pretty(&file)? + "\n",
    )?;
    std::fs::write(dir.join("sweep.json"), render::json(&run.result))?;
    std::fs::write(dir.join("sweep.csv"), render::csv(&run.result)?)?;
    std::fs::write(
        dir.join("figures.json"),
        serde_json::to_string_pretty(&figs)? + "\n",
    )?;
    std::fs::write(
        dir.join("index.html"),
        html::page(&run.result, &rec, &article, &charts, &text),
    )?;
    print!("{text}");
    eprintln!("wrote {}", dir.join("index.html").display());
    if run.result.search.interrupted {
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}
