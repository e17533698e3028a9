//! Flags shared by `sweep`, `recommend` and `report`: the grid, replications, seed, threads,
//! progress and Ctrl-C.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;

use clap::Args;

use super::UserError;
use crate::model::{Provider, SimTime};
use crate::scenario::spec::{
    parse_percent_range, parse_placement_spec, parse_retry_spec, split_list,
};
use crate::scenario::{Scenario, SweepSpec};

/// Grid and run flags; each overrides the scenario's `[sweep]` / `[simulation]`.
#[derive(Debug, Args, Clone)]
pub struct GridArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// FARGATE_SPOT weight shares in percent: `0:100:10` or `0,50,100`.
    #[arg(long, value_name = "RANGE")]
    pub spot_share: Option<String>,
    /// Base values to try, e.g. `0,1`.
    #[arg(long, value_name = "LIST")]
    pub base: Option<String>,
    /// The provider holding the base: FARGATE or FARGATE_SPOT.
    #[arg(long, value_name = "PROVIDER")]
    pub base_provider: Option<String>,
    /// Placements: `robust` (every reading; the default when the scenario names none) or
    /// readings, e.g. `per-call,per-call-tie-later,per-call-no-base,weighted-random,proportional,
    /// proportional-hold`.
    #[arg(long, value_name = "LIST")]
    pub placement: Option<String>,
    /// Retry policies, e.g. `prefect3,prefect3-reschedule,prefect3[fallback=automation]`.
    #[arg(long, value_name = "LIST")]
    pub retry: Option<String>,
    /// Checkpoint intervals for flows that checkpoint, e.g. `5m,15m`.
    #[arg(long, value_name = "LIST")]
    pub checkpoint: Option<String>,
    /// Replications per candidate.
    #[arg(long, short = 'n')]
    pub replications: Option<u32>,
    /// Race candidates: stop replicating those clearly dominated (default unless sharded).
    #[arg(long, overrides_with = "no_adaptive")]
    pub adaptive: bool,
    /// Run every candidate for every replication.
    #[arg(long)]
    pub no_adaptive: bool,
    /// With a scenario that states no [objectives]: pick the cheapest candidate, whatever its
    /// crash and deadline-miss rates (otherwise ≤ 1% each is assumed, and said).
    #[arg(long)]
    pub no_objectives: bool,
    /// With stated platform-wide [objectives]: do not also hold each deployment to at most
    /// 0.5 points more crashes and deadline misses than all on demand (paired, 95%).
    #[arg(long)]
    pub no_deployment_guard: bool,
    /// `recommend`/`report`: what a change must save (paired 95% lower bound, per 30 days) to
    /// be advised over a current configuration that meets the objectives: a share of today's
    /// whole bill and a floor in USD, e.g. `1%,1` (the default) or `0.05,20`.
    #[arg(long, value_name = "SHARE,USD", default_value = "1%,1")]
    pub materiality: String,
    /// Seed, horizon, threads.
    #[command(flatten)]
    pub run: super::RunFlags,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// `recommend`/`report`: let `custom` retry policies be recommended (they need code of
    /// your own to deploy; by default only Prefect-deployable policies are).
    #[arg(long)]
    pub allow_custom_code: bool,
}

impl GridArgs {
    /// Loads the scenario and applies the flags; returns it with its sweep spec.
    pub fn load(&self) -> anyhow::Result<(Scenario, SweepSpec)> {
        let overrides = crate::scenario::Overrides {
            assumed_objectives: Some(self.no_objectives),
            deployment_guard: Some(!self.no_deployment_guard),
            ..self.run.overrides()?
        };
        let s = super::load_scenario_with(&self.file, &overrides)?;
        if self.no_objectives && s.objectives.any() {
            return Err(UserError(
                "--no-objectives: the scenario states [objectives]; remove them or drop the flag"
                    .into(),
            )
            .into());
        }

        let mut spec = s.sweep.clone();
        let flag = |name: &str, m: String| UserError(format!("--{name}: {m}"));
        let bad = |name: &str, m: crate::model::Invalid| flag(name, m.0);
        if let Some(v) = &self.spot_share {
            spec.spot_shares = parse_percent_range(v).map_err(|m| bad("spot-share", m))?;
        }
        if let Some(v) = &self.base {
            spec.bases = split_list(v)
                .iter()
                .map(|b| match b.parse::<u32>() {
                    Ok(x) if x <= 100_000 => Ok(x),
                    _ => Err(flag("base", format!("`{b}` is not a base (0–100000)"))),
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = &self.base_provider {
            spec.base_provider = Provider::from_ecs_name(v).ok_or_else(|| {
                flag(
                    "base-provider",
                    format!("`{v}` is not a provider; allowed: `FARGATE`, `FARGATE_SPOT`"),
                )
            })?;
        }
        if let Some(v) = &self.placement {
            spec.placements = split_list(v)
                .iter()
                .map(|p| parse_placement_spec(p).map_err(|m| bad("placement", m)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = &self.retry {
            spec.retries = split_list(v)
                .iter()
                .map(|p| parse_retry_spec(p).map_err(|m| bad("retry", m)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = &self.checkpoint {
            spec.checkpoint_every = split_list(v)
                .iter()
                .map(|c| match SimTime::parse_human(c) {
                    Ok(t) if t.0 > 0 => Ok(Some(t)),
                    Ok(_) => Err(flag(
                        "checkpoint",
                        format!("`{c}` must be longer than zero"),
                    )),
                    Err(m) => Err(bad("checkpoint", m)),
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(n) = self.replications {
            if !(2..=1_000_000).contains(&n) {
                return Err(flag("replications", format!("`{n}` is outside 2–1000000")).into());
            }
            spec.replications = n;
        }
        if self.adaptive {
            spec.adaptive = true;
        }
        if self.no_adaptive {
            spec.adaptive = false;
        }
        Ok((s, spec))
    }

    /// A rayon pool with the requested threads.
    pub fn pool(&self) -> anyhow::Result<rayon::ThreadPool> {
        self.run.pool()
    }
}

/// The process-wide Ctrl-C flag; the first call installs the handler.
pub(super) fn cancel_flag() -> &'static AtomicBool {
    static FLAG: OnceLock<&'static AtomicBool> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
        flag
    })
}

impl GridArgs {
    /// `--materiality` parsed.
    pub fn materiality(&self) -> anyhow::Result<crate::sweep::compare::Materiality> {
        let bad = || {
            UserError(format!(
                "--materiality `{}`: expected SHARE,USD (e.g. `1%,1` or `0.01,1`), a share of \
                 the bill in [0, 1] and a floor in USD ≥ 0",
                self.materiality
            ))
        };
        let (share, floor) = self.materiality.split_once(',').ok_or_else(bad)?;
        let share = share.trim();
        let share: f64 = match share.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map_err(|_| bad())? / 100.0,
            None => share.parse().map_err(|_| bad())?,
        };
        let floor_usd: f64 = floor.trim().parse().map_err(|_| bad())?;
        if !(0.0..=1.0).contains(&share) || !floor_usd.is_finite() || floor_usd < 0.0 {
            return Err(bad().into());
        }
        Ok(crate::sweep::compare::Materiality { share, floor_usd })
    }
}
