//! `spotplan report FILE --out DIR`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::UserError;
use super::grid::GridArgs;
use crate::report::{charts, html, sweep as render};
use crate::sweep::figures::figures;

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
    let r = super::recommend::recommend_grid(&a.grid)?;
    let (run, rec, article) = (&r.run, &r.rec, &r.article);
    let figs = a
        .grid
        .pool()?
        .install(|| figures(&r.scenario, &run.scenarios, &run.result, &run.matrix, rec));
    let dir = &a.out;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let charts = charts::render_all(&figs, dir).map_err(UserError)?;
    let text = render::recommendation_text(&run.result, rec, article);
    let file = r.file();
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
        html::page(&run.result, rec, article, &charts, &text),
    )?;
    print!("{text}");
    eprintln!("wrote {}", dir.join("index.html").display());
    if run.result.search.interrupted {
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}
