//! `spotplan calibrate --ecs-events FILE... [--prefect-runs FILE...] [--out scenario.toml]`

use super::exit::Outcome;
use std::io::BufReader;
use std::path::PathBuf;

use clap::Args;

use super::UserError;
use super::prices::PriceFormat;
use crate::calibrate::estimate::Accum;
use crate::calibrate::records::{read_ecs, read_prefect};
use crate::calibrate::write::{calibration, table};

/// Arguments of `calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// ECS task records: `aws ecs describe-tasks` JSON, EventBridge "ECS Task State Change"
    /// events (JSON lines), CSV, or logs with "Capacity is unavailable" lines.
    #[arg(long, num_args = 1.., required = true, value_name = "FILE")]
    pub ecs_events: Vec<PathBuf>,
    /// Prefect flow runs (JSON array, JSON lines or CSV).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub prefect_runs: Vec<PathBuf>,
    /// Write the calibrated scenario here (and empirical duration samples beside it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The region the scenario prices (default: the region in the records' ARNs, else
    /// us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = PriceFormat::Table)]
    pub format: PriceFormat,
}

pub(super) fn run(a: CalibrateArgs) -> anyhow::Result<Outcome> {
    if let Some(p) = &a.out {
        super::output::check_writable(p)?;
    }
    let mut acc = Accum::default();
    let mut names = Vec::new();
    for p in &a.ecs_events {
        let f = std::fs::File::open(p)
            .map_err(|e| UserError(format!("cannot read `{}`: {e}", p.display())))?;
        let mut r = BufReader::with_capacity(1 << 16, f);
        read_ecs(&mut r, &p.display().to_string(), &mut |rec| acc.add(rec))
            .map_err(|e| UserError(e.to_string()))?;
        names.push(
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    for p in &a.prefect_runs {
        let f = std::fs::File::open(p)
            .map_err(|e| UserError(format!("cannot read `{}`: {e}", p.display())))?;
        let mut r = BufReader::new(f);
        read_prefect(&mut r, &p.display().to_string(), &mut |rec| {
            acc.add_run(rec)
        })
        .map_err(|e| UserError(e.to_string()))?;
        names.push(
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    if acc.records == 0 {
        return Err(UserError(
            "the inputs hold no task records, capacity failures or flow runs".into(),
        )
        .into());
    }
    let stem = a
        .out
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned());
    let region = a
        .region
        .clone()
        .or_else(|| acc.region().map(str::to_string))
        .unwrap_or_else(|| "us-east-1".into());
    let c = calibration(&acc, &names, &region, stem.as_deref());
    self_check(&c)?;
    match a.format {
        PriceFormat::Table => out!("{}", table(&c)),
        PriceFormat::Json => outln!("{}", serde_json::to_string_pretty(&c.rows)?),
    }
    match &a.out {
        Some(p) => {
            let dir = p.parent().map(PathBuf::from).unwrap_or_default();
            // the scenario and the files it names, all or none
            let mut files = super::output::Outputs::new();
            files.add(p, &c.scenario)?;
            for (name, body) in &c.files {
                files.add(&dir.join(name), body)?;
            }
            files.commit()?;
            eprintln!(
                "wrote {} (run it with `spotplan simulate {}`)",
                p.display(),
                p.display()
            );
        }
        None => {
            outln!();
            out!("{}", c.scenario);
        }
    }
    Ok(Outcome::Done)
}

/// Validates the calibrated scenario as `simulate` would read it (with the sample files it
/// names), so calibrate never writes a scenario spotplan refuses; on failure, each error is
/// shown with the estimate (the generated line) that made it.
fn self_check(c: &crate::calibrate::write::Calibration) -> Result<(), UserError> {
    let files = c.files.clone();
    let loader = move |name: &str| -> Result<String, String> {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, body)| body.clone())
            .ok_or_else(|| format!("`{name}` is not among the files calibrate writes"))
    };
    let Err(e) = crate::scenario::load(&c.scenario, "calibrated scenario", &loader) else {
        return Ok(());
    };
    let lines: Vec<&str> = c.scenario.lines().collect();
    let mut msg = String::from(
        "the records gave an estimate the scenario format refuses, so nothing was written:",
    );
    for d in &e.diagnostics {
        msg.push_str(&format!("\n  {}: {}", d.path, d.message));
        if let Some(line) = d.location.and_then(|l| lines.get(l.line - 1)) {
            msg.push_str(&format!("\n    from the estimate `{}`", line.trim()));
        }
    }
    Err(UserError(msg))
}
