//! `spotplan compare A.toml B.toml`: the same workload under two configurations, on common
//! random numbers, with paired differences.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::exit::Outcome;
use super::{Format, UserError};
use crate::sweep::compare::{Paired, paired};
use crate::sweep::replicate;
use crate::units as fmt;

/// Arguments of `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first scenario (A: e.g. your current setup).
    pub a: PathBuf,
    /// The second scenario (B: e.g. a candidate). It is run on A's seed, horizon and
    /// replications, so both see the same arrivals, work and luck.
    pub b: PathBuf,
    /// Replications (default: A's `simulation.replications`).
    #[arg(long, short = 'n')]
    pub replications: Option<u32>,
    /// Seed, horizon, threads, budget.
    #[command(flatten)]
    pub run: super::RunFlags,
    /// Output format (`csv` is not offered: use `json`).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub(super) fn run(a: CompareArgs) -> anyhow::Result<Outcome> {
    if a.format == Format::Csv {
        return Err(UserError("compare has no CSV output; use --format json".into()).into());
    }
    let mut overrides = a.run.overrides()?;
    if let Some(n) = a.replications {
        if !(2..=1_000_000).contains(&n) {
            return Err(UserError(format!("--replications `{n}` is outside 2–1000000")).into());
        }
        overrides.replications = Some(n);
    }
    let sa = super::load_scenario_with(&a.a, &overrides)?;
    // common random numbers: B on A's seed, horizon and replications
    let own = super::load_scenario(&a.b)?;
    let sb = super::load_scenario_with(
        &a.b,
        &crate::scenario::Overrides {
            seed: Some(sa.sim.seed),
            horizon: Some(sa.sim.horizon.to_string()),
            ..Default::default()
        },
    )?;
    let mut notes = Vec::new();
    if (own.sim.seed, own.sim.horizon) != (sa.sim.seed, sa.sim.horizon) {
        notes.push(format!(
            "B runs on A's seed {} and horizon {} (its own: {} and {}), so both see the same luck",
            sa.sim.seed, sa.sim.horizon, own.sim.seed, own.sim.horizon
        ));
    }
    let names =
        |s: &crate::scenario::Scenario| s.flows.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    if names(&sa) != names(&sb) {
        notes.push(format!(
            "the workloads differ (A's flows {:?}, B's {:?}): the differences include the workload, not only the configuration",
            names(&sa),
            names(&sb)
        ));
    }
    let n = sa.sim.replications;
    let est = crate::sim::budget::estimate(&sa, 4, n as u64, 2 * n as u64);
    if let Some(code) = a.run.gate(&est, a.format == Format::Json)? {
        return Ok(code);
    }
    let pool = a.run.pool()?;
    let bar = super::progress_bar(2 * n as u64, a.quiet, "replications");
    let (ra, rb) = pool.install(|| {
        (
            replicate(&sa, n, &|| bar.inc(1)),
            replicate(&sb, n, &|| bar.inc(1)),
        )
    });
    bar.finish_and_clear();
    let per30 = 30.0 * 86_400_000.0 / sa.sim.horizon.0.max(1) as f64;
    let rows = paired(
        &ra,
        &rb,
        per30,
        sa.savings_plan.is_some() || sb.savings_plan.is_some(),
    );
    match a.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "a": {"file": a.a.display().to_string(), "scenario": sa.name, "hash": sa.source.hash},
                "b": {"file": a.b.display().to_string(), "scenario": sb.name, "hash": sb.source.hash},
                "seed": sa.sim.seed, "horizon": sa.sim.horizon.to_string(), "replications": n,
                "notes": notes, "metrics": rows,
            }))?
        ),
        _ => out!("{}", table(&a, &sa, &sb, n, &notes, &rows)),
    }
    Ok(Outcome::Done)
}

fn table(
    a: &CompareArgs,
    sa: &crate::scenario::Scenario,
    sb: &crate::scenario::Scenario,
    n: u32,
    notes: &[String],
    rows: &[Paired],
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "A: {} (\"{}\")", a.a.display(), sa.name);
    let _ = writeln!(o, "B: {} (\"{}\")", a.b.display(), sb.name);
    let _ = writeln!(
        o,
        "{n} replications × {} on seed {}, common random numbers: B − A is paired replication by replication",
        sa.sim.horizon, sa.sim.seed
    );
    for note in notes {
        let _ = writeln!(o, "note: {note}");
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<28} {:>10} {:>10} {:>32}",
        "metric (mean)", "A", "B", "B − A [95% CI, paired]"
    );
    for r in rows {
        let diff = format!("{}{}", r.difference(), if r.clear() { " *" } else { "" });
        let label = if r.unit == "USD" {
            format!("{} (USD)", r.label)
        } else {
            r.label.to_string()
        };
        let _ = writeln!(
            o,
            "{:<28} {:>10} {:>10} {:>32}",
            fmt::clip(&label, 28),
            r.show(r.a.mean),
            r.show(r.b.mean),
            diff
        );
    }
    let _ = writeln!(
        o,
        "\n* the interval excludes 0: a clear difference at 95% (percent differences are in points)"
    );
    crate::report::fit(&o)
}
