//! Running a whole sweep: the grid, the cells (all, a shard, or raced), the result.

use serde::{Deserialize, Serialize};

use super::candidate::{Candidate, dominated, grid};
use super::cells::{Control, Elimination, Entrants, Matrix, race, run_cells, shard_cells};
use super::deployments::{self, DeploymentSearch};
use super::result::{Search, SweepResult, assemble};
use crate::model::SimTime;
use crate::pricing::{MissingRate, MissingRates};
use crate::scenario::spec::{parse_placement_spec, parse_retry_spec, retry_spec};
use crate::scenario::{Scenario, SweepSpec};
use crate::sim::RunOutcome;

/// A sweep in progress or done.
pub struct SweepRun {
    /// The grid.
    pub candidates: Vec<Candidate>,
    /// The scenario of each variant (a candidate under one placement reading): the rows of
    /// the outcome matrix; `Candidate::variants` says which are whose.
    pub scenarios: Vec<Scenario>,
    /// Outcomes.
    pub matrix: Matrix,
    /// The result.
    pub result: SweepResult,
}

/// Builds the grid and the scenario of every variant (candidate × distinct reading), each
/// with its rates resolved. Every rate any variant can reach must exist: the error lists all
/// that are missing.
pub fn prepare(
    base: &Scenario,
    spec: &SweepSpec,
) -> Result<(Vec<Candidate>, Vec<Scenario>), MissingRates> {
    let mut candidates = grid(spec, base);
    let mut scenarios = Vec::new();
    let mut missing: Vec<MissingRate> = Vec::new();
    for c in &mut candidates {
        for &reading in &c.readings {
            match c.scenario(base, reading) {
                Ok(v) => {
                    c.variants.push(scenarios.len());
                    scenarios.push(v);
                }
                Err(MissingRates(m)) => {
                    for x in m {
                        if !missing.contains(&x) {
                            missing.push(x);
                        }
                    }
                }
            }
        }
    }
    if missing.is_empty() {
        Ok((candidates, scenarios))
    } else {
        Err(MissingRates(missing))
    }
}

/// The variant rows of each candidate.
pub fn groups(candidates: &[Candidate]) -> Vec<Vec<usize>> {
    candidates.iter().map(|c| c.variants.clone()).collect()
}

/// Runs a sweep: raced when `spec.adaptive` (and not sharded), else every cell (of the shard).
pub fn execute(
    base: &Scenario,
    spec: &SweepSpec,
    shard: Option<(u32, u32)>,
    ctl: &Control,
) -> Result<SweepRun, MissingRates> {
    let (mut candidates, mut scenarios) = prepare(base, spec)?;
    let reps = spec.replications;
    let mut matrix = Matrix::new(scenarios.len(), reps);
    let judged = with_unreachable(base, &mut scenarios, &mut matrix, ctl);
    let base = &judged;
    let adaptive = spec.adaptive && shard.is_none();
    let (rounds, eliminated) = if adaptive {
        let g = groups(&candidates);
        let before = dominated(&candidates)
            .into_iter()
            .map(|(c, by, p)| Elimination {
                candidate: c,
                after: 0,
                reason: format!(
                    "dominated by candidate {by}: its `per-call` reading runs every task on {p}, \
                     which is candidate {by}, so at its worst reading it is never cheaper and it \
                     is feasible only where {by} is"
                ),
            })
            .collect();
        let entrants = Entrants {
            groups: &g,
            objectives: &base.objectives,
            replications: reps,
            before,
        };
        race(base, &scenarios, entrants, &mut matrix, ctl)
    } else {
        let cells = shard_cells(scenarios.len(), reps, shard.unwrap_or((0, 1)));
        run_cells(base, &scenarios, &cells, &mut matrix, ctl);
        (Vec::new(), Vec::new())
    };
    let found = per_deployment(
        base,
        spec,
        shard,
        ctl,
        &mut candidates,
        &mut scenarios,
        &mut matrix,
    )?;
    let racing = Racing {
        adaptive,
        rounds,
        eliminated,
    };
    Ok(finish(
        base, candidates, scenarios, matrix, racing, found, ctl,
    ))
}

/// `base` as the sweep judges it: with each deployment objective that all on demand misses
/// ([`super::objective::unreachable`], from every replication's baseline, run first) set on
/// it and on every variant.
fn with_unreachable(
    base: &Scenario,
    scenarios: &mut [Scenario],
    matrix: &mut Matrix,
    ctl: &Control,
) -> Scenario {
    let mut judged = base.clone();
    if base.flows.iter().all(|f| f.objectives.is_none()) {
        return judged;
    }
    super::cells::fill_baselines(base, matrix, ctl);
    let baselines: Vec<RunOutcome> = matrix.baselines.iter().flatten().cloned().collect();
    let list = super::objective::unreachable(base, &baselines);
    for v in scenarios.iter_mut() {
        v.objectives.unreachable = list.clone();
    }
    judged.objectives.unreachable = list;
    judged
}

/// The per-deployment phase: candidates (and matrix rows) added after the grid's, each
/// simulated jointly with every replication.
fn per_deployment(
    base: &Scenario,
    spec: &SweepSpec,
    shard: Option<(u32, u32)>,
    ctl: &Control,
    candidates: &mut Vec<Candidate>,
    scenarios: &mut Vec<Scenario>,
    matrix: &mut Matrix,
) -> Result<DeploymentSearch, MissingRates> {
    let mut found = DeploymentSearch::default();
    match (shard, deployments::applies(base)) {
        (_, Err(why)) => found.note = why,
        (Some(_), Ok(())) => found.note = "run by `merge`, once every shard is in".into(),
        (None, Ok(())) if !spec.per_deployment => {
            found.note = "off ([sweep] per_deployment = false)".into()
        }
        (None, Ok(())) => {
            let mut g = deployments::Grid {
                candidates,
                scenarios,
                matrix,
            };
            deployments::search(base, spec, ctl, &mut g, &mut found)?;
        }
    }
    Ok(found)
}

/// What racing did: whether it ran, its rounds and its eliminations.
struct Racing {
    adaptive: bool,
    rounds: Vec<super::cells::Round>,
    eliminated: Vec<super::cells::Elimination>,
}

/// The sweep run: the result assembled from every cell, with what racing and the
/// per-deployment search did.
fn finish(
    base: &Scenario,
    candidates: Vec<Candidate>,
    scenarios: Vec<Scenario>,
    matrix: Matrix,
    racing: Racing,
    deployments: DeploymentSearch,
    ctl: &Control,
) -> SweepRun {
    let cells_run = matrix.cells_run();
    let cells_full = matrix.outcomes.len() as u64 * matrix.replications as u64;
    let search = Search {
        adaptive: racing.adaptive,
        rounds: racing.rounds,
        eliminated: racing.eliminated,
        cells_run,
        cells_full,
        saving: if cells_full > 0 {
            1.0 - cells_run as f64 / cells_full as f64
        } else {
            0.0
        },
        interrupted: ctl.cancel.load(std::sync::atomic::Ordering::Relaxed),
        deployments,
    };
    let result = assemble(base, &candidates, &scenarios, &matrix, search);
    SweepRun {
        candidates,
        scenarios,
        matrix,
        result,
    }
}

/// The grid of a sweep in words, stored in shard files so `merge` rebuilds the same grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridEcho {
    /// Spot shares, percent.
    pub spot_shares: Vec<u32>,
    /// Bases.
    pub bases: Vec<u32>,
    /// Base provider.
    pub base_provider: String,
    /// Placement models.
    pub placements: Vec<String>,
    /// Retry specs.
    pub retries: Vec<String>,
    /// Checkpoint intervals.
    pub checkpoint_every: Vec<Option<String>>,
    /// Replications.
    pub replications: u32,
    /// Per-deployment search on.
    pub per_deployment: bool,
}

impl GridEcho {
    /// The echo of a spec.
    pub fn of(s: &SweepSpec) -> GridEcho {
        GridEcho {
            spot_shares: s.spot_shares.clone(),
            bases: s.bases.clone(),
            base_provider: s.base_provider.ecs_name().to_string(),
            placements: s.placements.iter().map(|p| p.name().to_string()).collect(),
            retries: s.retries.iter().map(retry_spec).collect(),
            checkpoint_every: s
                .checkpoint_every
                .iter()
                .map(|c| c.map(|t| t.to_string()))
                .collect(),
            replications: s.replications,
            per_deployment: s.per_deployment,
        }
    }
    /// Back to a spec (not adaptive: shards cover the full grid).
    pub fn spec(&self) -> Result<SweepSpec, String> {
        Ok(SweepSpec {
            spot_shares: self.spot_shares.clone(),
            bases: self.bases.clone(),
            base_provider: crate::model::Provider::from_ecs_name(&self.base_provider)
                .ok_or_else(|| format!("unknown base provider `{}`", self.base_provider))?,
            placements: self
                .placements
                .iter()
                .map(|p| parse_placement_spec(p))
                .collect::<Result<_, _>>()?,
            retries: self
                .retries
                .iter()
                .map(|r| parse_retry_spec(r))
                .collect::<Result<_, _>>()?,
            checkpoint_every: self
                .checkpoint_every
                .iter()
                .map(|c| c.as_deref().map(SimTime::parse_human).transpose())
                .collect::<Result<_, _>>()?,
            replications: self.replications,
            adaptive: false,
            per_deployment: self.per_deployment,
        })
    }
}

/// What one shard computed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardFile {
    /// [`SHARD_FORMAT`].
    pub format: String,
    /// Tool version.
    pub version: String,
    /// Scenario file as given.
    pub scenario_file: String,
    /// Scenario hash (of the file's canonical form: comments and formatting do not count).
    pub scenario_hash: String,
    /// The scenario file relative to the shard file's directory, when written to a file:
    /// `merge` resolves it there, not against its working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_path: Option<String>,
    /// Seed.
    pub seed: u64,
    /// Horizon, ms.
    pub horizon_ms: u64,
    /// The grid.
    pub grid: GridEcho,
    /// The objectives the sweep assumed for a scenario that states none: `Some(false)` the
    /// default ones, `Some(true)` none (`--no-objectives`), `None` the scenario's own; `merge`
    /// assumes the same.
    pub objectives_assumed: Option<bool>,
    /// Whether the sweep guarded each deployment against all on demand; `merge` does the same.
    pub deployment_guard: bool,
    /// [i, n].
    pub shard: [u32; 2],
    /// Whether the shard ran all its cells (false after Ctrl-C: `merge` refuses it).
    pub finished: bool,
    /// Variants (candidate × placement reading) in the grid: the matrix rows.
    pub candidates: usize,
    /// (variant, replication, outcome).
    pub cells: Vec<(usize, u32, RunOutcome)>,
    /// (replication, baseline cost USD).
    pub baselines: Vec<(u32, RunOutcome)>,
}

/// The format tag of shard files.
pub const SHARD_FORMAT: &str = "spotplan-shard/6";

impl ShardFile {
    /// The shard's part of a run.
    pub fn of(base: &Scenario, spec: &SweepSpec, run: &SweepRun, shard: (u32, u32)) -> ShardFile {
        let mut cells = Vec::new();
        for (c, row) in run.matrix.outcomes.iter().enumerate() {
            for (r, o) in row.iter().enumerate() {
                if let Some(o) = o {
                    cells.push((c, r as u32, o.clone()));
                }
            }
        }
        let baselines = run
            .matrix
            .baselines
            .iter()
            .enumerate()
            .filter_map(|(r, b)| b.as_ref().map(|b| (r as u32, b.clone())))
            .collect();
        ShardFile {
            format: SHARD_FORMAT.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            scenario_file: base.source.file.clone(),
            scenario_hash: base.source.canonical.clone(),
            scenario_path: None,
            seed: base.sim.seed,
            horizon_ms: base.sim.horizon.0,
            grid: GridEcho::of(spec),
            // `Some(true)`: --no-objectives (nothing at all assumed)
            objectives_assumed: base
                .objectives
                .assumed
                .as_ref()
                .map(|_| !base.objectives.any() && base.objectives.deployment_guard.is_none()),
            deployment_guard: base.objectives.deployment_guard.is_some(),
            shard: [shard.0, shard.1],
            finished: !run.result.search.interrupted,
            candidates: run.scenarios.len(),
            cells,
            baselines,
        }
    }
}

/// Shards that cannot be merged, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

/// Combines every shard of one sweep into the result one machine would give. `base` must be
/// the scenario the shards ran (same hash; seed and horizon as recorded).
pub fn merge(base: &Scenario, shards: &[ShardFile]) -> Result<SweepRun, MergeError> {
    merge_shards(base, shards).map_err(MergeError)
}

/// [`merge`]'s work, its refusal in words.
fn merge_shards(base: &Scenario, shards: &[ShardFile]) -> Result<SweepRun, String> {
    let first = shards.first().ok_or("no shard files given")?;
    let n = first.shard[1];
    for s in shards {
        if s.format != SHARD_FORMAT {
            return Err(format!("not a spotplan shard file (format `{}`)", s.format));
        }
        if s.scenario_hash != first.scenario_hash
            || s.grid != first.grid
            || s.seed != first.seed
            || s.horizon_ms != first.horizon_ms
            || s.shard[1] != n
        {
            return Err("the shard files come from different sweeps (scenario, grid, seed, horizon or shard count differ)".into());
        }
    }
    if base.source.canonical != first.scenario_hash {
        return Err(format!(
            "scenario `{}` has hash {} (canonical form), but the shards were run on hash {}: it changed since",
            base.source.file, base.source.canonical, first.scenario_hash
        ));
    }
    let spec = first.grid.spec()?;
    spec.check()
        .map_err(|m| format!("the shards' grid is not one `sweep` accepts: {m}"))?;
    let cells_full = first.candidates as u64 * spec.replications as u64;
    if n == 0 || n as u64 > cells_full {
        return Err(format!(
            "the shards say the sweep was cut into {n} shards, but its grid has {cells_full} cells"
        ));
    }
    let mut seen = vec![false; n as usize];
    for s in shards {
        let i = s.shard[0];
        if i >= n {
            return Err(format!(
                "shard {i}/{n} does not exist (shards are 0/{n} to {}/{n})",
                n - 1
            ));
        }
        if std::mem::replace(&mut seen[i as usize], true) {
            return Err(format!("shard {i}/{n} is given twice"));
        }
        if !s.finished {
            return Err(format!(
                "shard {i}/{n} was interrupted before it finished (it holds {} cells); run it again",
                s.cells.len()
            ));
        }
    }
    let missing: Vec<String> = (0..n)
        .filter(|i| !seen[*i as usize])
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing shard(s) {}", missing.join(", ")));
    }
    // every cell exactly once, where its shard should have it (checked before anything the
    // size of the grid is allocated: the cells are in the files)
    let given: u64 = shards.iter().map(|s| s.cells.len() as u64).sum();
    if given != cells_full {
        return Err(format!(
            "the shards hold {given} cells, but the grid has {cells_full} ({} candidate variants × {} replications)",
            first.candidates, spec.replications
        ));
    }
    for s in shards {
        let (i, reps) = (s.shard[0], spec.replications);
        for (k, (c, r, _)) in s.cells.iter().enumerate() {
            let cell = *c as u64 * reps as u64 + *r as u64;
            if *c >= first.candidates || *r >= reps || cell % n as u64 != i as u64 {
                return Err(format!(
                    "shard {i}/{n}: cell ({c}, {r}) is not one of its cells"
                ));
            }
            if k > 0 {
                let (pc, pr, _) = &s.cells[k - 1];
                if (pc, pr) >= (c, r) {
                    return Err(format!(
                        "shard {i}/{n}: cell ({c}, {r}) is duplicated or out of order"
                    ));
                }
            }
        }
    }
    // the scenario is built with the shards' seed and horizon (`spotplan merge` loads it so)
    if (base.sim.seed, base.sim.horizon) != (first.seed, SimTime(first.horizon_ms)) {
        return Err(format!(
            "the scenario has seed {} and horizon {}, but the shards ran seed {} and horizon {}: load it with theirs",
            base.sim.seed,
            base.sim.horizon,
            first.seed,
            SimTime(first.horizon_ms)
        ));
    }
    let (candidates, scenarios) = prepare(base, &spec).map_err(|e| e.to_string())?;
    if scenarios.len() != first.candidates {
        return Err(format!(
            "the grid gives {} candidate variants but the shards have {}",
            scenarios.len(),
            first.candidates
        ));
    }
    let mut matrix = Matrix::new(scenarios.len(), spec.replications);
    for s in shards {
        for (c, r, o) in &s.cells {
            matrix.outcomes[*c][*r as usize] = Some(o.clone());
        }
        for (r, b) in &s.baselines {
            *matrix
                .baselines
                .get_mut(*r as usize)
                .ok_or("baseline outside the grid")? = Some(b.clone());
        }
    }
    if let Some(r) = matrix.baselines.iter().position(Option::is_none) {
        return Err(format!(
            "no shard holds the all-on-demand baseline of replication {r}"
        ));
    }
    let never = std::sync::atomic::AtomicBool::new(false);
    let ctl = Control {
        cancel: &never,
        tick: &|_| {},
    };
    // the per-deployment phase needs every grid cell, so it runs here, as one machine would
    let (mut candidates, mut scenarios) = (candidates, scenarios);
    let judged = with_unreachable(base, &mut scenarios, &mut matrix, &ctl);
    let base = &judged;
    let found = per_deployment(
        base,
        &spec,
        None,
        &ctl,
        &mut candidates,
        &mut scenarios,
        &mut matrix,
    )
    .map_err(|e| e.to_string())?;
    let racing = Racing {
        adaptive: false,
        rounds: Vec::new(),
        eliminated: Vec::new(),
    };
    Ok(finish(
        base, candidates, scenarios, matrix, racing, found, &ctl,
    ))
}
