//! `spotplan report FILE --out DIR`

use std::path::PathBuf;

use clap::Args;

use super::exit::Outcome;
use super::grid::GridArgs;
use super::output;
use crate::report::{charts, html, sweep as render};
use crate::sweep::figures::{CurrentRun, figures};

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

pub(super) fn run(a: ReportArgs) -> anyhow::Result<Outcome> {
    output::check_dir_writable(&a.out)?;
    let Some(r) = super::recommend::recommend_grid(&a.grid, false)? else {
        return Ok(Outcome::Done);
    };
    let (run, rec) = (&r.run, &r.rec);
    let current = r.current.as_ref().map(|c| CurrentRun {
        current: c,
        costs_per_30d: &r.current_costs,
    });
    let figs = a.grid.pool()?.install(|| {
        figures(
            &r.scenario,
            &run.scenarios,
            &run.result,
            &run.matrix,
            rec,
            current.as_ref(),
        )
    });
    let dir = &a.out;
    let charts = charts::render_all(&figs)?;
    let text = render::recommendation_text(&run.result, rec, r.current.as_ref());
    let decision = crate::sweep::decision::decide(&r.scenario, run, rec, r.current.as_ref());
    let file = r.file(Some(&dir.join("recommendation.json")));
    // every file, or none
    let mut files = output::Outputs::new();
    for c in &charts {
        files.add(&dir.join(format!("{}.svg", c.name)), &c.svg)?;
        files.add(&dir.join(format!("{}.png", c.name)), &c.png)?;
    }
    files.add(
        &dir.join("recommendation.json"),
        serde_json::to_string_pretty(&file)? + "\n",
    )?;
    files.add(&dir.join("sweep.json"), render::json(&run.result))?;
    files.add(&dir.join("sweep.csv"), render::csv(&run.result)?)?;
    files.add(
        &dir.join("figures.json"),
        serde_json::to_string_pretty(&figs)? + "\n",
    )?;
    files.add(
        &dir.join("decision.json"),
        serde_json::to_string_pretty(&decision)? + "\n",
    )?;
    files.add(
        &dir.join("index.html"),
        html::page(
            &run.result,
            rec,
            &charts,
            &text,
            r.current.as_ref(),
            &decision,
        ),
    )?;
    files.commit()?;
    out!("{text}");
    eprintln!("wrote {}", dir.join("index.html").display());
    if run.result.search.interrupted {
        return Ok(Outcome::Interrupted);
    }
    Ok(super::recommend::feasible(rec))
}
