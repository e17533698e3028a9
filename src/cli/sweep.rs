//! `spotplan sweep FILE` and `spotplan merge SHARD...`

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::exit::Outcome;
use super::grid::{GridArgs, cancel_flag};
use super::{Format, UserError, output, progress_bar};
use crate::report::sweep as render;
use crate::sweep::cells::Control;
use crate::sweep::job::{ShardFile, execute, merge};
use crate::sweep::result::SweepResult;

/// Arguments of `sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The grid and run flags.
    #[command(flatten)]
    pub grid: GridArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The full table, every metric with its 95% interval (wider than 100 columns).
    #[arg(long)]
    pub wide: bool,
    /// The table's width in columns, 100–400 (default 100): the columns beyond 100 go to the
    /// candidate labels, so long ones are not cut.
    #[arg(long, value_name = "N", default_value_t = 100, conflicts_with = "wide",
          value_parser = clap::value_parser!(u16).range(100..=400))]
    pub width: u16,
    /// Also write sweep.json and sweep.csv into DIR (with --shard: the shard file).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run only shard I of N (`I/N`, 0-based) of the full grid and write a shard file for
    /// `spotplan merge` (to --out DIR as shard-I-of-N.json, else standard output).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

/// Arguments of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard files written by `sweep --shard`.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// The scenario file (default: the path recorded in the shards).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The full table, every metric with its 95% interval (wider than 100 columns).
    #[arg(long)]
    pub wide: bool,
    /// The table's width in columns, 100–400 (default 100): the columns beyond 100 go to the
    /// candidate labels, so long ones are not cut.
    #[arg(long, value_name = "N", default_value_t = 100, conflicts_with = "wide",
          value_parser = clap::value_parser!(u16).range(100..=400))]
    pub width: u16,
    /// Also write sweep.json and sweep.csv into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn parse_shard(text: &str) -> Result<(u32, u32), UserError> {
    let bad = || {
        UserError(format!(
            "--shard `{text}` is not `I/N` with 0 ≤ I < N, e.g. `0/4`"
        ))
    };
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n) = (
        i.trim().parse::<u32>().map_err(|_| bad())?,
        n.trim().parse::<u32>().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Prints a sweep in `format` and writes sweep.json / sweep.csv into `out`.
pub(super) fn emit(
    r: &SweepResult,
    format: Format,
    (wide, width): (bool, u16),
    out: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let text = match format {
        Format::Table if wide => render::table_wide(r),
        Format::Table => render::table(r, width as usize),
        Format::Json => render::json(r),
        Format::Csv => render::csv(r)?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    if let Some(dir) = out {
        let mut files = output::Outputs::new();
        files.add(&dir.join("sweep.json"), render::json(r))?;
        files.add(&dir.join("sweep.csv"), render::csv(r)?)?;
        files.commit()?;
    }
    Ok(())
}

pub(super) fn run(a: SweepArgs) -> anyhow::Result<Outcome> {
    if let Some(dir) = &a.out {
        output::check_dir_writable(dir)?;
    }
    let (s, mut spec) = a.grid.load()?;
    let shard = a.shard.as_deref().map(parse_shard).transpose()?;
    if shard.is_some() {
        if a.grid.adaptive {
            return Err(UserError("--adaptive cannot be sharded: racing needs every candidate's results after each round; drop --adaptive".into()).into());
        }
        spec.adaptive = false;
    }
    let (_, variants) = crate::sweep::job::prepare(&s, &spec)
        .map_err(|e| UserError(format!("`{}`: {e}", s.source.file)))?;
    let total = variants.len() as u64 * spec.replications as u64;
    // every variant and the baseline; a shard runs its part of the cells
    let share = shard.map_or(1, |(_, n)| n.max(1)) as u64;
    let est = crate::sim::budget::estimate(
        &s,
        (variants.len() as u64 + 1).div_ceil(share),
        spec.replications as u64,
        total.div_ceil(share),
    );
    if let Some(code) = a.grid.run.gate(&est, a.format == Format::Json)? {
        return Ok(code);
    }
    if let Some((_, n)) = shard
        && n as u64 > total
    {
        return Err(UserError(format!(
            "--shard: {n} shards for {total} cells ({} candidate variants × {} replications) would leave shards with nothing to do; use at most {total}",
            variants.len(),
            spec.replications
        ))
        .into());
    }
    let total = shard
        .map(|(_, n)| total.div_ceil(n as u64))
        .unwrap_or(total);
    let bar = progress_bar(total, a.grid.quiet, "candidate-replications");
    let cancel = cancel_flag();
    let ctl = Control {
        cancel,
        tick: &|n| bar.inc(n),
    };
    let run = a
        .grid
        .pool()?
        .install(|| execute(&s, &spec, shard, &ctl))
        .map_err(|e| UserError(e.to_string()))?;
    bar.finish_and_clear();
    if let Some(sh) = shard {
        let mut file = ShardFile::of(&s, &spec, &run, sh);
        let dest = a
            .out
            .as_ref()
            .map(|dir| dir.join(format!("shard-{}-of-{}.json", sh.0, sh.1)));
        file.scenario_path = dest
            .as_ref()
            .and_then(|p| output::relative_to(std::path::Path::new(&s.source.file), p));
        let body = serde_json::to_string(&file)? + "\n";
        match dest {
            Some(p) => {
                output::write_file(&p, body)?;
                eprintln!("wrote {}", p.display());
            }
            None => out!("{body}"),
        }
    } else {
        emit(&run.result, a.format, (a.wide, a.width), a.out.as_ref())?;
    }
    if run.result.search.interrupted {
        eprintln!(
            "interrupted: {} of {} candidate-replications finished; the results above use what finished",
            run.result.search.cells_run, run.result.search.cells_full
        );
        return Ok(Outcome::Interrupted);
    }
    Ok(Outcome::Done)
}

pub(super) fn run_merge(a: MergeArgs) -> anyhow::Result<Outcome> {
    let mut shards = Vec::new();
    for p in &a.shards {
        let text = std::fs::read_to_string(p)
            .map_err(|e| UserError(format!("cannot read shard `{}`: {e}", p.display())))?;
        let f: ShardFile = serde_json::from_str(&text).map_err(|e| {
            UserError(format!(
                "`{}` is not a spotplan shard file: {e}",
                p.display()
            ))
        })?;
        shards.push(f);
    }
    // the scenario beside the first shard file (as it recorded), not in the working directory
    let path = match &a.scenario {
        Some(p) => p.clone(),
        None => {
            let dir = a.shards[0].parent().unwrap_or(std::path::Path::new(""));
            match &shards[0].scenario_path {
                Some(rel) => dir.join(rel),
                None => PathBuf::from(&shards[0].scenario_file),
            }
        }
    };
    // on the shards' seed and horizon, whatever the file says now
    let overrides = crate::scenario::Overrides {
        seed: shards.first().map(|s| s.seed),
        // the objectives the shards' sweep assumed, if the scenario states none (`false`
        // also when it states them: the sweep's commands always pick)
        assumed_objectives: shards
            .first()
            .map(|s| s.objectives_assumed.unwrap_or(false)),
        deployment_guard: shards.first().map(|s| s.deployment_guard),
        horizon: shards
            .first()
            .map(|s| crate::model::SimTime(s.horizon_ms).to_string()),
        ..Default::default()
    };
    let mut base = super::load_scenario_with(&path, &overrides)?;
    if a.scenario.is_none() {
        // the result names the file as the sweep was given it, as the unsharded run does
        base.source.file = shards[0].scenario_file.clone();
    }
    let run = merge(&base, &shards)?;
    emit(&run.result, a.format, (a.wide, a.width), a.out.as_ref())?;
    Ok(Outcome::Done)
}
