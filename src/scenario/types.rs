//! The validated scenario: typed values with units, ready for the simulator.

use std::sync::Arc;

use crate::model::{Dist, Placement, PlacementSpec, Provider, Rate, SimTime, Strategy, TaskSize};
use crate::pricing::{MissingRates, PriceTable, TaskRates};

pub use super::network::{Egress, ImageRegistry, NetworkCharges, NetworkSpec, NetworkUsage};
pub use super::retry::{CustomRetry, DeadlineRule, Delay, RetryPolicy};

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Human name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// AWS region.
    pub region: String,
    /// The file it came from and the hash of its bytes (hex SHA-256, first 16 digits).
    pub source: ScenarioSource,
    /// Horizon, replications, seed, placement.
    pub sim: SimulationSettings,
    /// The cluster.
    pub cluster: ClusterSpec,
    /// The worker service and how it sends RunTask.
    pub worker: WorkerSpec,
    /// What each RunTask asks for, after ECS and Prefect rules (see [`Launch`]).
    pub launch: Launch,
    /// The spot interruption and capacity model.
    pub spot: SpotSpec,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// The workload (≥ 1 flow).
    pub flows: Vec<FlowSpec>,
    /// Objectives for `recommend`.
    pub objectives: Objectives,
    /// Prices in use.
    pub prices: PriceTable,
    /// A flat discount on on-demand Fargate rates (0–0.9), never on spot: an approximation.
    pub on_demand_discount: f64,
    /// A Compute Savings Plan, billed hour by hour as the commitment it is (never with a
    /// flat discount).
    pub savings_plan: Option<crate::pricing::SavingsPlan>,
    /// The rates of this configuration, resolved before any run (see [`Scenario::reprice`]).
    pub rates: TaskRates,
    /// Network egress and its resolved rates.
    pub network: NetworkSpec,
    /// The sweep grid.
    pub sweep: SweepSpec,
    /// `[deploy]` as written (checked by `emit`, which merges its flags first).
    pub deploy_section: crate::scenario::file::DeploySection,
}

/// The sweep grid, validated. Every list is non-empty.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    /// FARGATE_SPOT weight shares, percent.
    pub spot_shares: Vec<u32>,
    /// Base values.
    pub bases: Vec<u32>,
    /// The provider holding the base.
    pub base_provider: Provider,
    /// Placements (`robust` or single readings).
    pub placements: Vec<PlacementSpec>,
    /// Retry policies.
    pub retries: Vec<RetryPolicy>,
    /// Checkpoint intervals (`None` = as the scenario says).
    pub checkpoint_every: Vec<Option<SimTime>>,
    /// Replications per candidate.
    pub replications: u32,
    /// Race candidates.
    pub adaptive: bool,
    /// Also search per-deployment strategies (each flow all on spot or all on demand).
    pub per_deployment: bool,
}

/// The limits of a sweep grid, the same wherever the grid comes from (`[sweep]`, flags, a
/// shard file): each share a percentage, each base at most [`SweepSpec::MAX_BASE`], every
/// list non-empty and duplicate-free, 2 to [`SweepSpec::MAX_REPLICATIONS`] replications.
impl SweepSpec {
    /// The largest `base` (ECS allows 0–100000).
    pub const MAX_BASE: u32 = 100_000;
    /// The most replications per candidate.
    pub const MAX_REPLICATIONS: u32 = 1_000_000;

    /// Every limit broken, in words.
    pub fn check(&self) -> Result<(), crate::model::Invalid> {
        let mut errs = Vec::new();
        if let Some(v) = self.spot_shares.iter().find(|v| **v > 100) {
            errs.push(format!("spot share `{v}` is not a percentage (0–100)"));
        }
        if let Some(b) = self.bases.iter().find(|b| **b > Self::MAX_BASE) {
            errs.push(format!("base `{b}` is outside 0–{}", Self::MAX_BASE));
        }
        let lists = [
            (
                "spot shares",
                self.spot_shares.len(),
                dupes(&self.spot_shares),
            ),
            ("bases", self.bases.len(), dupes(&self.bases)),
            ("placements", self.placements.len(), dupes(&self.placements)),
            ("retry policies", self.retries.len(), dupes(&self.retries)),
            (
                "checkpoint intervals",
                self.checkpoint_every.len(),
                dupes(&self.checkpoint_every),
            ),
        ];
        for (name, len, dup) in lists {
            if len == 0 {
                errs.push(format!("no {name}"));
            }
            if dup {
                errs.push(format!("the {name} repeat a value"));
            }
        }
        if !(2..=Self::MAX_REPLICATIONS).contains(&self.replications) {
            errs.push(format!(
                "`{}` replications is outside 2–{}",
                self.replications,
                Self::MAX_REPLICATIONS
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(crate::model::Invalid(errs.join("; ")))
        }
    }
}

fn dupes<T: PartialEq>(v: &[T]) -> bool {
    v.iter().enumerate().any(|(i, a)| v[..i].contains(a))
}

impl Scenario {
    /// The same scenario with every run sent to on-demand FARGATE: the all-on-demand
    /// baseline, simulated on the same random numbers. Its rates (FARGATE) were resolved
    /// by `validate`, which refuses a scenario without them.
    pub fn all_on_demand(&self) -> Scenario {
        let mut s = self.clone();
        s.launch = Launch {
            source: LaunchSource::Baseline,
            strategy: Strategy::only(Provider::Fargate),
        };
        for f in &mut s.flows {
            f.strategy = None;
        }
        s
    }

    /// The strategy flow `f`'s runs are sent with: its deployment's own, else the pool's.
    pub fn strategy_of(&self, f: usize) -> &Strategy {
        self.flows[f]
            .strategy
            .as_ref()
            .unwrap_or(&self.launch.strategy)
    }

    /// The retry policy flow `f`'s runs follow: its deployment's own, else the scenario's.
    pub fn retry_of(&self, f: usize) -> &RetryPolicy {
        self.flows[f].retry.as_ref().unwrap_or(&self.retry)
    }

    /// The distinct retry policies the flows run, in flow order.
    pub fn policies(&self) -> Vec<&RetryPolicy> {
        let mut out: Vec<&RetryPolicy> = Vec::new();
        for f in 0..self.flows.len() {
            if !out.contains(&self.retry_of(f)) {
                out.push(self.retry_of(f));
            }
        }
        out
    }

    /// The providers any run can be placed on.
    pub fn reachable(&self) -> Vec<Provider> {
        Provider::ALL
            .into_iter()
            .filter(|p| (0..self.flows.len()).any(|f| self.strategy_of(f).uses(*p)))
            .collect()
    }

    /// Whether any flow's strategy can reach FARGATE_SPOT.
    pub fn uses_spot(&self) -> bool {
        self.reachable().contains(&Provider::FargateSpot)
    }

    /// The distinct placement readings of this configuration under its placement model:
    /// `robust` gives every reading that differs for some strategy in use (the pool's or a
    /// deployment's own); one stated reading gives itself.
    pub fn readings(&self) -> Vec<Placement> {
        let strategies: Vec<&Strategy> =
            (0..self.flows.len()).map(|f| self.strategy_of(f)).collect();
        let mut out: Vec<Placement> = Vec::new();
        match self.sim.placement_spec {
            PlacementSpec::Reading(p) => vec![p],
            PlacementSpec::Robust => {
                for p in Placement::ALL {
                    // holding a failed call's turn matters only when spot capacity runs out
                    if p == Placement::ProportionalHold && !self.spot.capacity_can_fail() {
                        continue;
                    }
                    if !out
                        .iter()
                        .any(|q| strategies.iter().all(|s| q.same_as(p, s)))
                    {
                        out.push(p);
                    }
                }
                out
            }
        }
    }

    /// Whether `other` runs every flow as this one does: the same strategy for each flow (its
    /// deployment's own, else the pool's), the same retry policy and checkpoint interval. The
    /// pool's strategy alone says nothing when deployments carry their own.
    pub fn same_configuration(&self, other: &Scenario) -> bool {
        self.flows.len() == other.flows.len()
            && (0..self.flows.len()).all(|f| {
                self.strategy_of(f) == other.strategy_of(f)
                    && self.retry_of(f) == other.retry_of(f)
                    && self.flows[f].checkpoint == other.flows[f].checkpoint
            })
    }

    /// The scenario a candidate configuration runs: the same workload, world and prices with
    /// what `v` changes, its rates resolved again for the providers the new strategy can
    /// reach. The one way a configuration other than the file's is built; the file's
    /// scenario is never changed.
    pub fn variant(&self, v: &Variant<'_>) -> Result<Scenario, MissingRates> {
        let mut c = self.clone();
        c.launch = Launch {
            source: LaunchSource::RequestStrategy,
            strategy: v.strategy.clone(),
        };
        c.sim.placement = v.reading;
        if let Some(spec) = v.placement_spec {
            c.sim.placement_spec = spec;
        }
        for (f, p) in c.flows.iter_mut().zip(v.deployments) {
            f.strategy = Some(Strategy::only(*p));
        }
        if let Some(r) = v.retry {
            // a candidate's policy is every flow's (a configuration of the whole platform);
            // the file's per-deployment policies describe today's only
            c.retry = r.clone();
            for f in &mut c.flows {
                f.retry = None;
            }
        }
        if let Some(every) = v.checkpoint_every {
            for f in &mut c.flows {
                if let Some(ck) = &mut f.checkpoint {
                    ck.every = every;
                }
            }
        }
        for (f, r) in c.flows.iter_mut().zip(v.deployment_retry) {
            f.retry = Some(r.clone());
        }
        for (f, every) in c.flows.iter_mut().zip(v.deployment_checkpoint) {
            if let (Some(ck), Some(every)) = (&mut f.checkpoint, every) {
                ck.every = *every;
            }
        }
        c.reprice()?;
        Ok(c)
    }

    /// Resolves [`Scenario::rates`] for the providers the current strategy can reach (and
    /// FARGATE, which the worker, the baseline and any fallback use). Call it after changing
    /// the strategy; it lists every missing rate at once.
    pub fn reprice(&mut self) -> Result<(), MissingRates> {
        let providers = self.reachable();
        let sizes: Vec<&TaskSize> = self.flows.iter().map(|f| &f.size).collect();
        self.rates = crate::pricing::resolved::resolve(
            &self.prices,
            &sizes,
            &self.worker.size,
            &providers,
            self.on_demand_discount,
        )?;
        Ok(())
    }
}

/// What a candidate configuration changes of a scenario ([`Scenario::variant`]).
#[derive(Clone, Copy, Debug)]
pub struct Variant<'a> {
    /// The strategy sent with every RunTask (as `emit` would configure the work pool).
    pub strategy: &'a Strategy,
    /// The placement reading simulated.
    pub reading: Placement,
    /// The placement model the candidate was evaluated under (`None`: the file's).
    pub placement_spec: Option<PlacementSpec>,
    /// Each flow's own provider, in flow order (empty: the flows keep theirs).
    pub deployments: &'a [Provider],
    /// The retry policy (`None`: the file's).
    pub retry: Option<&'a RetryPolicy>,
    /// The checkpoint interval of every checkpointing flow (`None`: the file's).
    pub checkpoint_every: Option<SimTime>,
    /// Each flow's own retry policy, in flow order (empty: `retry` for every flow).
    pub deployment_retry: &'a [RetryPolicy],
    /// Each checkpointing flow's own interval, in flow order (empty or `None`: as above).
    pub deployment_checkpoint: &'a [Option<SimTime>],
}

/// Provenance of a scenario.
#[derive(Clone, Debug)]
pub struct ScenarioSource {
    /// The path as given.
    pub file: String,
    /// First 16 hex digits of the SHA-256 of the file bytes.
    pub hash: String,
    /// The hash of the file in canonical form (parsed, before command-line overrides, as
    /// JSON: comments, formatting and key order do not count).
    pub canonical: String,
    /// The canonical hash of each top-level section (`region`, `spot`, `flow`, …).
    pub sections: std::collections::BTreeMap<String, String>,
}

/// `[simulation]`, validated.
#[derive(Clone, Debug)]
pub struct SimulationSettings {
    /// Runs are scheduled in [0, horizon).
    pub horizon: SimTime,
    /// Replications, ≥ 1.
    pub replications: u32,
    /// Master seed.
    pub seed: u64,
    /// The placement reading one simulation uses: the scenario's reading, or `per-call`
    /// when it asks for `robust` (or names none), which `simulate` says in its header.
    pub placement: Placement,
    /// What the scenario asks for (`robust` when it names none): the default of
    /// `sweep`/`recommend`.
    pub placement_spec: PlacementSpec,
    /// Whether the scenario names a placement.
    pub placement_stated: bool,
    /// Wall-clock instant of simulated time zero, ms since the Unix epoch (UTC).
    pub start_unix_ms: i64,
    /// In-flight runs may finish until horizon + drain; later ones count as unfinished.
    pub drain: SimTime,
}

/// The cluster as configured.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    /// Cluster name.
    pub name: String,
    /// Associated capacity providers (may include non-Fargate ones, which are not simulated).
    pub capacity_providers: Vec<String>,
    /// The default strategy, if set.
    pub default_strategy: Option<Strategy>,
}

/// Who sends RunTask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerKind {
    /// Prefect 3 ECS worker (prefect-aws): `launchType=FARGATE` unless the work pool has a
    /// `capacity_provider_strategy`.
    Prefect3EcsWorker,
    /// Prefect 1 ECS agent: `launchType=FARGATE` unless `run_task_kwargs` has a strategy.
    Prefect1EcsAgent,
    /// A plain RunTask caller that sends neither field unless told to.
    RunTask,
}

impl WorkerKind {
    /// The scenario-file name.
    pub fn name(self) -> &'static str {
        match self {
            WorkerKind::Prefect3EcsWorker => "prefect3-ecs-worker",
            WorkerKind::Prefect1EcsAgent => "prefect1-ecs-agent",
            WorkerKind::RunTask => "runtask",
        }
    }
}

/// The worker service.
#[derive(Clone, Debug)]
pub struct WorkerSpec {
    /// Kind.
    pub kind: WorkerKind,
    /// Worker task size (on-demand FARGATE).
    pub size: TaskSize,
    /// Desired count.
    pub count: u32,
    /// Poll interval; 0 = runs are picked up the moment they are due.
    pub poll_interval: SimTime,
    /// Work-pool concurrency limit.
    pub concurrency_limit: Option<u32>,
}

/// Who receives ECS's SIGTERM in a flow's container (PID 1 in Linux ignores a signal it has
/// no handler for; the kernel never delivers it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sigterm {
    /// An init (tini in Prefect's images, or `linuxParameters.initProcessEnabled`) is PID 1
    /// and forwards SIGTERM to the process group: the engine hears it.
    Init,
    /// No init: `prefect flow-run execute` is PID 1. It installs a SIGTERM handler only for
    /// `PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule`/`relinquish`
    /// (`prefect/cli/flow_run.py`, `execute`, 3.9.1), once it runs: otherwise nobody hears it.
    ExecNoInit,
    /// A shell or wrapper script that does not `exec` is PID 1 and forwards nothing.
    Shell,
}

impl Sigterm {
    /// The scenario-file name.
    pub fn name(self) -> &'static str {
        match self {
            Sigterm::Init => "init",
            Sigterm::ExecNoInit => "exec-no-init",
            Sigterm::Shell => "shell",
        }
    }
}

/// Why the effective strategy is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchSource {
    /// The strategy sent with each RunTask (work pool / run_task_kwargs).
    RequestStrategy,
    /// A launch type sent with each RunTask (the cluster default is ignored).
    RequestLaunchType,
    /// The worker's implicit `launchType=FARGATE` (Prefect, when no strategy is set).
    WorkerDefaultLaunchType,
    /// Neither was sent: the cluster default strategy.
    ClusterDefault,
    /// The all-on-demand baseline.
    Baseline,
}

/// What each RunTask places on.
#[derive(Clone, Debug)]
pub struct Launch {
    /// Why.
    pub source: LaunchSource,
    /// The effective strategy (a launch type is a one-item strategy on its provider).
    pub strategy: Strategy,
}

/// Spot interruptions and capacity.
#[derive(Clone, Debug, Default)]
pub struct SpotSpec {
    /// Base Poisson interruption rate per running spot task-hour.
    pub rate: Rate,
    /// Its 95% interval per hour, when the scenario gives one.
    pub rate_ci95: Option<[f64; 2]>,
    /// Multipliers by UTC hour of day.
    pub hourly: Option<[f64; 24]>,
    /// SIGTERM → stop (2 s–120 s).
    pub stop_timeout: SimTime,
    /// Capacity outages.
    pub capacity: Option<CapacitySpec>,
    /// Reclaim waves.
    pub waves: Option<WavesSpec>,
    /// Trace replay.
    pub trace: Option<Arc<SpotTrace>>,
    /// Replay starts this far into the trace (wrapping); `None`: a random slot per
    /// replication.
    pub trace_offset: Option<SimTime>,
    /// Whether the scenario has a `[spot]` section that says how spot fails (an interruption
    /// rate or probability, capacity outages, waves or a trace). Without one, spot never
    /// fails: a default that decides results, so it is warned about and printed.
    pub stated: bool,
}

impl SpotSpec {
    /// Whether a FARGATE_SPOT RunTask can fail for capacity: capacity outages, or a trace
    /// (its preempted slots).
    pub fn capacity_can_fail(&self) -> bool {
        self.capacity.is_some() || self.trace.is_some()
    }

    /// The interruption model in words, for every result's header and meta.
    pub fn describe(&self) -> String {
        if !self.stated {
            return "none: no [spot] section, so spot tasks are never interrupted and capacity never runs out".into();
        }
        let mut parts = Vec::new();
        if let Some(t) = &self.trace {
            parts.push(format!(
                "trace replay ({} slots of {})",
                t.unavailable.len(),
                t.gap
            ));
        }
        if self.rate.per_hour > 0.0 {
            parts.push(format!(
                "interruptions {}/task-hour{}",
                crate::units::short(self.rate.per_hour),
                if self.hourly.is_some() {
                    " shaped by hour of day"
                } else {
                    ""
                }
            ));
        } else if self.trace.is_none() {
            parts.push("no interruptions".into());
        }
        match &self.capacity {
            Some(c) if c.unavailable > 0.0 => parts.push(format!(
                "capacity out {:.1}% of the time in outages of {} on average",
                100.0 * c.unavailable,
                c.mean_outage
            )),
            _ => parts.push("capacity always there".into()),
        }
        if let Some(w) = &self.waves {
            parts.push(format!(
                "reclaim waves {}/day hitting {:.0}% of spot tasks",
                crate::units::short(w.per_day),
                100.0 * w.hit
            ));
        }
        parts.push(format!("SIGTERM→SIGKILL {}", self.stop_timeout));
        parts.join(", ")
    }
}

/// Alternating available/unavailable capacity with exponential durations.
#[derive(Clone, Copy, Debug)]
pub struct CapacitySpec {
    /// Long-run unavailable fraction in [0, 1).
    pub unavailable: f64,
    /// Mean outage, ms > 0.
    pub mean_outage: SimTime,
    /// The 95% interval of `unavailable`, when the scenario gives one.
    pub unavailable_ci95: Option<[f64; 2]>,
}

impl CapacitySpec {
    /// Mean available period, ms: mean_outage · (1 − u) / u.
    pub fn mean_available_ms(&self) -> f64 {
        self.mean_outage.0 as f64 * (1.0 - self.unavailable) / self.unavailable
    }
}

/// Reclaim waves.
#[derive(Clone, Copy, Debug)]
pub struct WavesSpec {
    /// Waves per day.
    pub per_day: f64,
    /// Probability each running spot task is hit.
    pub hit: f64,
}

/// A preemption trace: slot i covers [i·gap, (i+1)·gap); `true` = preempted/unavailable.
/// Each replication starts at a random slot (or at [`SpotSpec::trace_offset`]) and wraps
/// around.
#[derive(Clone, Debug, PartialEq)]
pub struct SpotTrace {
    /// Slot length.
    pub gap: SimTime,
    /// Slot states (non-empty).
    pub unavailable: Vec<bool>,
}

/// When runs of a flow are scheduled.
#[derive(Clone, Debug)]
pub enum Schedule {
    /// Every `interval` from `offset`.
    Every {
        /// Interval > 0.
        interval: SimTime,
        /// First run.
        offset: SimTime,
    },
    /// A cron expression evaluated in UTC from the simulation start. When the day-of-month
    /// and month fields are `*` the schedule repeats every week, and `weekly` holds the
    /// occurrences of the first week (offsets from the start), so arrivals need no cron search.
    Cron {
        /// The parsed expression.
        cron: Arc<croner::Cron>,
        /// Occurrences in [0, 7 d), when the schedule is weekly-periodic.
        weekly: Option<Arc<Vec<SimTime>>>,
    },
    /// Poisson arrivals.
    Poisson(Rate),
    /// Explicit start offsets, sorted.
    Times(Arc<Vec<SimTime>>),
}

/// Checkpointing: every `every` of work, taking `cost`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Checkpoint {
    /// Work between checkpoints, > 0.
    pub every: SimTime,
    /// Time a checkpoint takes.
    pub cost: SimTime,
}

impl Checkpoint {
    /// One cycle of an attempt: `every` of work, then the checkpoint's `cost`.
    pub fn cycle(&self) -> SimTime {
        SimTime(self.every.0 + self.cost.0)
    }

    /// The running time of `work` with a checkpoint after every `every` of it (none after the
    /// last piece).
    pub fn runtime(&self, work: SimTime) -> SimTime {
        if work.0 == 0 {
            return work;
        }
        let n = (work.0 - 1) / self.every.0;
        work.plus(SimTime(n * self.cost.0))
    }

    /// After an attempt with `remaining` work has run for `elapsed`: the work its checkpoints
    /// keep, and the work it has done (what they keep plus the progress since the last one),
    /// each at most `remaining`.
    pub fn progress(&self, elapsed: SimTime, remaining: SimTime) -> (SimTime, SimTime) {
        let cycle = self.cycle().0;
        let cycles = elapsed.0 / cycle;
        let into = elapsed.0 - cycles * cycle;
        let kept = (cycles * self.every.0).min(remaining.0);
        (
            SimTime(kept),
            SimTime((kept + into.min(self.every.0)).min(remaining.0)),
        )
    }
}

/// One deployment.
#[derive(Clone, Debug)]
pub struct FlowSpec {
    /// Name.
    pub name: String,
    /// Schedule.
    pub schedule: Schedule,
    /// Work per run.
    pub duration: Dist,
    /// Task size.
    pub size: TaskSize,
    /// Unbilled provisioning time.
    pub provisioning: Dist,
    /// Billed image pull time.
    pub image_pull: Dist,
    /// Deadline after the scheduled time.
    pub deadline: Option<SimTime>,
    /// Checkpoints.
    pub checkpoint: Option<Checkpoint>,
    /// Deployment concurrency limit.
    pub concurrency_limit: Option<u32>,
    /// Compressed image size, GB (10^9 bytes): pulled again by every attempt.
    pub image_gb: Option<f64>,
    /// Its own objectives (`[[flow]] objectives`), if any.
    pub objectives: Option<DeploymentObjectives>,
    /// Where its image comes from, and whether the scenario says so (else this region's ECR
    /// is assumed, and said wherever it decides a network figure).
    pub image_registry: (ImageRegistry, bool),
    /// Billed time from the container's start to the engine running the flow, in two parts:
    /// before Prefect 3's SIGTERM handler exists, and flow loading after it.
    pub engine: super::engine_startup::EngineStartup,
    /// Who receives ECS's SIGTERM in the container, and whether the scenario says so (else
    /// `init`, said in results).
    pub sigterm: (Sigterm, bool),
    /// The deployment's own strategy, overriding the pool's ([`Scenario::strategy_of`]).
    pub strategy: Option<Strategy>,
    /// The deployment's own retry policy (`[[flow]] retry`), overriding the scenario's
    /// ([`Scenario::retry_of`]).
    pub retry: Option<RetryPolicy>,
    /// The flow's Prefect 1 tasks (used by `prefect1-lazarus`): their boundaries keep
    /// finished work, and their retries let the Zombie Killer retry an interrupted one.
    pub tasks: FlowTasks,
}

impl FlowSpec {
    /// The running time of `work` of this flow, with its checkpoints' cost.
    pub fn runtime(&self, work: SimTime) -> SimTime {
        self.checkpoint.map_or(work, |c| c.runtime(work))
    }

    /// Mean start-up of an attempt (provisioning, image pull, engine start-up), ms: what a
    /// deadline rule's changeover adds to the worker's poll.
    pub fn mean_startup_ms(&self) -> f64 {
        self.provisioning.mean_ms() + self.image_pull.mean_ms() + self.engine.total().0 as f64
    }
}

/// A flow run as a sequence of Prefect tasks.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowTasks {
    /// Cumulative fraction of the run's work at the end of each task (last = 1).
    pub ends: Vec<f64>,
    /// `max_retries` of each task.
    pub retries: u32,
    /// `retry_delay` of each task.
    pub retry_delay: SimTime,
    /// Whether the scenario says so (else one task without retries is assumed).
    pub stated: bool,
    /// Finished tasks' results survive a restart (`tasks.persisted_results`): a Lazarus
    /// restart then starts at the task that was running. Otherwise it runs every task again.
    pub persisted_results: bool,
    /// Whether the scenario says `persisted_results`.
    pub persisted_stated: bool,
}

impl FlowTasks {
    /// One task without retries: what a flow without `tasks` is taken to be.
    pub fn single() -> FlowTasks {
        FlowTasks {
            ends: vec![1.0],
            retries: 0,
            retry_delay: SimTime::ZERO,
            stated: false,
            persisted_results: true,
            persisted_stated: false,
        }
    }

    /// The task running when `done` of `total` work is done, and the work at its start.
    pub fn at(&self, done: SimTime, total: SimTime) -> (u32, SimTime) {
        let mut start = SimTime::ZERO;
        for (k, e) in self.ends.iter().enumerate() {
            let end = SimTime((e * total.0 as f64).round() as u64);
            if done < end || k + 1 == self.ends.len() {
                return (k as u32, start);
            }
            start = end;
        }
        (0, SimTime::ZERO)
    }
}

/// `[objectives]`, validated.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Objectives {
    /// Max deadline-miss rate.
    pub max_deadline_miss: Option<f64>,
    /// Max crashed-or-failed rate.
    pub max_crashed: Option<f64>,
    /// Max p95 latency, ms.
    pub max_p95_latency_ms: Option<u64>,
    /// Max cost per 30 days, USD.
    pub max_monthly_cost: Option<f64>,
    /// Confidence level.
    pub confidence: f64,
    /// Set when the objectives are not the scenario's own: what was assumed instead.
    pub assumed: Option<String>,
    /// The guard on every deployment: its crashed-or-failed and deadline-miss rates may be at
    /// most this much above all on demand (the one-sided upper bound of the paired
    /// difference, same replications), as a fraction (0.005 = 0.5 points). Set for the
    /// commands that pick, unless turned off.
    pub deployment_guard: Option<f64>,
    /// Deployment objectives all on demand misses (found by the sweep from its baseline).
    pub unreachable: Vec<Unreachable>,
}

/// One deployment's own objectives: its runs' rates and p95 latency, its tasks' cost per 30
/// days (at the platform-wide confidence).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct DeploymentObjectives {
    /// Max deadline-miss rate of its runs.
    pub max_deadline_miss: Option<f64>,
    /// Max crashed-or-failed rate of its runs.
    pub max_crashed: Option<f64>,
    /// Max p95 latency of its runs, ms.
    pub max_p95_latency_ms: Option<u64>,
    /// Max cost of its tasks per 30 days, USD.
    pub max_monthly_cost: Option<f64>,
}

/// A deployment objective that all on demand misses: no choice of provider can meet it, so it
/// is not checked, the deployment keeps today's option unless another is cheaper and no
/// worse on that metric, and its runs are left out of platform-wide rate objectives.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Unreachable {
    /// The deployment.
    pub deployment: String,
    /// Its index in the scenario.
    pub flow: usize,
    /// `max_crashed`, `max_deadline_miss` or `max_p95_latency`.
    pub objective: &'static str,
    /// All on demand's mean of it (a rate, or seconds).
    pub on_demand: f64,
    /// Its limit (a rate, or seconds).
    pub limit: f64,
    /// Why, in words.
    pub cause: String,
}

/// The deployment guard's default: 0.5 points above all on demand.
pub const DEPLOYMENT_GUARD: f64 = 0.005;

impl Objectives {
    /// Whether the scenario states any objective.
    pub fn any(&self) -> bool {
        self.max_deadline_miss.is_some()
            || self.max_crashed.is_some()
            || self.max_p95_latency_ms.is_some()
            || self.max_monthly_cost.is_some()
    }

    /// The objectives `recommend` uses for a scenario without any: none platform-wide, and
    /// on each deployment the guard relative to all on demand (its crashed and deadline-miss
    /// rates at most 0.5 points above, paired), said in every result; a workload's own tail
    /// (deadline misses even on demand) then never makes every option infeasible. With
    /// `none` (`--no-objectives`), none: the cheapest candidate wins.
    pub fn default_for(s: &Scenario, none: bool) -> Objectives {
        if none {
            return Objectives {
                assumed: Some("no objectives (--no-objectives): the cheapest candidate wins, whatever its crash and deadline-miss rates".into()),
                deployment_guard: None,
                ..s.objectives.clone()
            };
        }
        let deadlines = s.flows.iter().any(|f| f.deadline.is_some());
        Objectives {
            deployment_guard: Some(DEPLOYMENT_GUARD),
            assumed: Some(format!(
                "objectives: the scenario states none, so each deployment's crashed-or-failed rate{} may be at most {} points above all on demand (the paired 95% upper bound over the same replications; state [objectives], or --no-objectives for the cheapest regardless)",
                if deadlines {
                    " and deadline-miss rate"
                } else {
                    ""
                },
                100.0 * DEPLOYMENT_GUARD
            )),
            ..s.objectives.clone()
        }
    }
}
