//! Monte Carlo replications of one scenario, each paired with its all-on-demand baseline on
//! the same random numbers, and the summary every report shows.

use rayon::prelude::*;
use serde::Serialize;

use crate::pricing::PriceSource;
use crate::scenario::engine_startup::StartupSource;
use crate::scenario::{LaunchSource, Scenario, Warning, warnings};
use crate::sim::{self, NoObserver, RunOutcome};
use crate::stats::Stat;

/// One replication and its baseline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Replication {
    /// What the scenario's strategy did.
    pub outcome: RunOutcome,
    /// The same workload all on on-demand FARGATE, same random numbers, USD.
    pub baseline_cost_usd: f64,
    /// That baseline at on-demand rates with no Savings Plan commitment (after its term),
    /// USD; the baseline itself without a plan.
    #[serde(skip)]
    pub baseline_without_plan_usd: f64,
    /// Each flow's part of that baseline (for the per-deployment guards).
    #[serde(skip)]
    pub baseline_flows: Vec<crate::sim::FlowOutcome>,
}

impl Replication {
    /// Saving against the baseline, USD.
    pub fn saving_usd(&self) -> f64 {
        self.baseline_cost_usd - self.outcome.cost_usd
    }
    /// Saving against the baseline after a Savings Plan's term (both at on-demand rates, no
    /// commitment), USD.
    pub fn saving_after_term_usd(&self) -> f64 {
        self.baseline_without_plan_usd - self.outcome.cost_without_plan_usd
    }
    /// Saving as a fraction of the baseline (0 when the baseline is 0).
    pub fn saving_fraction(&self) -> f64 {
        if self.baseline_cost_usd > 0.0 {
            self.saving_usd() / self.baseline_cost_usd
        } else {
            0.0
        }
    }
}

/// Runs replications `0..n` in parallel on the current rayon pool; results are in
/// replication order whatever the thread count. `tick` is called once per replication.
pub fn replicate(s: &Scenario, n: u32, tick: &(dyn Fn() + Sync)) -> Vec<Replication> {
    let baseline = s.all_on_demand();
    (0..n as u64)
        .into_par_iter()
        .map(|rep| {
            let outcome = sim::run(s, rep, &mut NoObserver);
            let base = sim::run(&baseline, rep, &mut NoObserver);
            tick();
            Replication {
                outcome,
                baseline_cost_usd: base.cost_usd,
                baseline_without_plan_usd: base.cost_without_plan_usd,
                baseline_flows: base.flows,
            }
        })
        .collect()
}

/// Replications `0..n` of `s` alone (no baseline), in parallel, in replication order.
pub(crate) fn outcomes(s: &Scenario, n: u64) -> Vec<RunOutcome> {
    (0..n)
        .into_par_iter()
        .map(|rep| sim::run(s, rep, &mut NoObserver))
        .collect()
}

/// Identification of a result: what was simulated, with what, by which tool.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Meta {
    /// `spotplan`.
    pub tool: &'static str,
    /// Tool version.
    pub version: &'static str,
    /// Scenario name.
    pub scenario: String,
    /// Scenario file.
    pub file: String,
    /// Scenario hash (SHA-256 prefix).
    pub scenario_hash: String,
    /// The hash of the scenario in canonical form (comments and formatting do not count):
    /// what `emit`, `plan` and `apply` check a recommendation against.
    pub scenario_canonical_hash: String,
    /// Each top-level section's canonical hash, to say which sections changed.
    pub scenario_sections: std::collections::BTreeMap<String, String>,
    /// Region.
    pub region: String,
    /// Seed.
    pub seed: u64,
    /// Replications.
    pub replications: u32,
    /// Horizon, human form.
    pub horizon: String,
    /// Horizon, ms.
    pub horizon_ms: u64,
    /// Placement reading simulated.
    pub placement: String,
    /// What the scenario asks for (`robust` when it names none) and what a single
    /// simulation does with it, in words.
    pub placement_note: String,
    /// Network egress and its charges, in words (says when assumed).
    pub network: String,
    /// The interruption model in use (`none: no [spot] section…` when there is none).
    pub interruptions: String,
    /// Flat on-demand discount (0–0.9; never applied to spot): an approximation.
    pub on_demand_discount: f64,
    /// A Compute Savings Plan, billed hour by hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub savings_plan: Option<crate::pricing::SavingsPlan>,
    /// Defaults and timing assumptions the figures rest on, in words.
    pub assumptions: Vec<String>,
    /// Effective strategy.
    pub strategy: String,
    /// Where the strategy comes from.
    pub strategy_source: &'static str,
    /// Worker kind.
    pub worker: &'static str,
    /// Retry policy, as its spec (`prefect3-reschedule[fallback=automation]`): the fallback
    /// and every parameter that is not the default.
    pub retry_policy: String,
    /// Prices.
    pub price_source: PriceSource,
    /// The scenario's objectives (what `recommend` must satisfy).
    pub objectives: crate::scenario::Objectives,
    /// Each deployment's own objectives, by deployment.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub deployment_objectives:
        std::collections::BTreeMap<String, crate::scenario::DeploymentObjectives>,
    /// Trap warnings.
    pub warnings: Vec<Warning>,
    /// What the run was estimated to cost before it started (`--dry-run` prints it alone).
    pub work_estimate: crate::sim::budget::WorkEstimate,
}

/// Every metric, summarised over replications.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metrics {
    /// Total cost (flows + worker), USD over the horizon.
    pub cost_usd: Stat,
    /// Total cost scaled to 30 days, USD.
    pub cost_per_30d_usd: Stat,
    /// Flow tasks on FARGATE, USD.
    pub cost_fargate_usd: Stat,
    /// Flow tasks on FARGATE_SPOT, USD.
    pub cost_fargate_spot_usd: Stat,
    /// Worker service, USD.
    pub cost_worker_usd: Stat,
    /// Wasted on interrupted work, USD.
    pub cost_wasted_usd: Stat,
    /// Public IPv4 addresses of tasks and workers, USD.
    pub cost_public_ipv4_usd: Stat,
    /// NAT gateways (hours and image data), USD.
    pub cost_nat_usd: Stat,
    /// Interface VPC endpoints, USD.
    pub cost_vpc_endpoints_usd: Stat,
    /// Savings Plan commitment paid and not used, USD (only with a plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_stranded_usd: Option<Stat>,
    /// Image data pulled, GB.
    pub image_pull_gb: Stat,
    /// All-on-demand baseline, USD.
    pub baseline_cost_usd: Stat,
    /// Baseline − cost, USD (paired).
    pub saving_usd: Stat,
    /// Saving / baseline (paired).
    pub saving_fraction: Stat,
    /// With a Savings Plan: the saving once its term has ended (both at on-demand rates, no
    /// commitment), USD (paired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saving_after_term_usd: Option<Stat>,
    /// Spot share of billed task time.
    pub spot_share: Stat,
    /// Runs scheduled.
    pub runs: Stat,
    /// Runs completed.
    pub completed: Stat,
    /// Runs crashed.
    pub crashed: Stat,
    /// Runs failed.
    pub failed: Stat,
    /// Runs unfinished at horizon + drain.
    pub unfinished: Stat,
    /// Crashed + failed, as a fraction of runs.
    pub crash_rate: Stat,
    /// Of the crashed and failed runs, those whose attempt could not be placed (capacity).
    pub crashed_by_capacity: Stat,
    /// Those an interruption ended.
    pub crashed_by_interruption: Stat,
    /// Those whose image pull the registry refused. The three are every crashed or failed run.
    pub crashed_by_image_pull: Stat,
    /// Spot interruptions.
    pub interruptions: Stat,
    /// RunTask capacity failures.
    pub capacity_failures: Stat,
    /// Runs moved to on-demand by the retry policy.
    pub fallbacks: Stat,
    /// Mean latency (scheduled → completed), s.
    pub latency_mean_s: Stat,
    /// Per-replication latency p50, s.
    pub latency_p50_s: Stat,
    /// Per-replication latency p95, s.
    pub latency_p95_s: Stat,
    /// Per-replication latency p99, s.
    pub latency_p99_s: Stat,
    /// Deadline-miss rate (late, crashed, failed or unfinished).
    pub deadline_miss_rate: Stat,
    /// Peak concurrent vCPU on each provider, against the account's Fargate vCPU quotas.
    pub concurrent_vcpu: ConcurrentVcpu,
    /// How often each deadline rule fired, mean per replication (only with a deadline rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_rules: Option<RuleMeans>,
    /// Runs pooled over the replications (the crash rate's trials).
    #[serde(skip)]
    pub runs_pooled: f64,
    /// Runs with a deadline pooled over the replications (the miss rate's trials).
    #[serde(skip)]
    pub deadline_runs_pooled: f64,
    /// The platform-wide rates the objectives are checked on when deployments whose own
    /// objective is unreachable are left out of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective_rates: Option<ObjectiveRates>,
}

/// The most vCPU running at once on each provider (tasks count from placement to stop, as
/// Fargate's `ResourceCount` usage metric counts them): per replication its peak over the
/// horizon, then the 99th percentile of those peaks over the replications (interpolated
/// between order statistics: below 100 replications it lies between the two largest). What an
/// account's Fargate On-Demand (`L-3032A538`) and Fargate Spot (`L-36FBB829`) vCPU resource
/// count quotas must hold: a RunTask above them fails.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConcurrentVcpu {
    /// On-demand FARGATE: flow tasks' peak plus the worker service (always running), vCPU.
    pub fargate_p99: f64,
    /// FARGATE_SPOT flow tasks' peak, vCPU.
    pub fargate_spot_p99: f64,
    /// Of `fargate_p99`, the worker service's vCPU.
    pub worker: f64,
    /// The largest peak of any replication, on-demand (worker included) and spot, vCPU.
    pub fargate_max: f64,
    /// Spot.
    pub fargate_spot_max: f64,
}

impl ConcurrentVcpu {
    /// Each figure's largest over `all` (a candidate's placement readings).
    pub fn largest<'a>(all: impl IntoIterator<Item = &'a ConcurrentVcpu>) -> ConcurrentVcpu {
        all.into_iter()
            .fold(ConcurrentVcpu::default(), |a, c| ConcurrentVcpu {
                fargate_p99: a.fargate_p99.max(c.fargate_p99),
                fargate_spot_p99: a.fargate_spot_p99.max(c.fargate_spot_p99),
                worker: a.worker.max(c.worker),
                fargate_max: a.fargate_max.max(c.fargate_max),
                fargate_spot_max: a.fargate_spot_max.max(c.fargate_spot_max),
            })
    }

    /// From the replications' peaks of `s`.
    pub fn of(s: &Scenario, outcomes: &[&RunOutcome]) -> ConcurrentVcpu {
        let worker = s.worker.count as f64 * s.worker.size.cpu.vcpu();
        let sorted = |f: &dyn Fn(&RunOutcome) -> u64| {
            let mut v: Vec<f64> = outcomes.iter().map(|o| f(o) as f64 / 1024.0).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let od = sorted(&|o| o.peak_cpu_units_fargate);
        let spot = sorted(&|o| o.peak_cpu_units_spot);
        let q = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                // to 0.01 vCPU: the interpolation's float noise is no figure
                (crate::stats::quantile_sorted(v, 0.99) * 100.0).round() / 100.0
            }
        };
        ConcurrentVcpu {
            fargate_p99: worker + q(&od),
            fargate_spot_p99: q(&spot),
            worker,
            fargate_max: worker + od.last().copied().unwrap_or(0.0),
            fargate_spot_max: spot.last().copied().unwrap_or(0.0),
        }
    }
}

/// Platform-wide crashed and deadline-miss rates without the runs of some deployments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectiveRates {
    /// The deployments left out.
    pub left_out: Vec<String>,
    /// Crashed or failed, as a fraction of the other deployments' runs.
    pub crash_rate: Stat,
    /// Deadline misses, as a fraction of the other deployments' runs with a deadline.
    pub deadline_miss_rate: Stat,
    /// Their runs, pooled.
    #[serde(skip)]
    pub runs_pooled: f64,
    /// Their runs with a deadline, pooled.
    #[serde(skip)]
    pub deadline_runs_pooled: f64,
}

/// The platform-wide rates without the deployments whose own objective is unreachable
/// (`None` when there are none).
fn objective_rates(s: &Scenario, reps: &[Replication]) -> Option<ObjectiveRates> {
    let out: Vec<usize> = s.objectives.unreachable.iter().map(|u| u.flow).collect();
    if out.is_empty() || reps.iter().any(|r| r.outcome.flows.len() != s.flows.len()) {
        return None;
    }
    let kept = |r: &Replication| {
        r.outcome
            .flows
            .iter()
            .enumerate()
            .filter(|(f, _)| !out.contains(f))
            .fold([0u64; 4], |a, (_, x)| {
                [
                    a[0] + x.runs,
                    a[1] + x.crashed_or_failed,
                    a[2] + x.deadline_runs,
                    a[3] + x.deadline_misses,
                ]
            })
    };
    let counts: Vec<[u64; 4]> = reps.iter().map(kept).collect();
    let rate = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let runs: f64 = counts.iter().map(|c| c[0] as f64).sum();
    let druns: f64 = counts.iter().map(|c| c[2] as f64).sum();
    let mut left_out: Vec<String> = out.iter().map(|&f| s.flows[f].name.clone()).collect();
    left_out.dedup();
    Some(ObjectiveRates {
        left_out,
        crash_rate: Stat::proportion(
            &counts.iter().map(|c| rate(c[1], c[0])).collect::<Vec<_>>(),
            runs,
        ),
        deadline_miss_rate: Stat::proportion(
            &counts.iter().map(|c| rate(c[3], c[2])).collect::<Vec<_>>(),
            druns,
        ),
        runs_pooled: runs,
        deadline_runs_pooled: druns,
    })
}

impl Metrics {
    /// (key, label, unit, stat) rows in display order; `key` is the JSON field name.
    pub fn rows(&self) -> Vec<(&'static str, &'static str, &'static str, &Stat)> {
        let mut out = vec![
            (
                "cost_per_30d_usd",
                "cost per 30 days",
                "USD",
                &self.cost_per_30d_usd,
            ),
            // the parts below add up to this one (the whole horizon)
            ("cost_usd", "cost over the horizon", "USD", &self.cost_usd),
            (
                "cost_fargate_usd",
                "  flows on FARGATE",
                "USD",
                &self.cost_fargate_usd,
            ),
            (
                "cost_fargate_spot_usd",
                "  flows on FARGATE_SPOT",
                "USD",
                &self.cost_fargate_spot_usd,
            ),
            (
                "cost_worker_usd",
                "  worker service",
                "USD",
                &self.cost_worker_usd,
            ),
            (
                "cost_public_ipv4_usd",
                "  public IPv4 addresses",
                "USD",
                &self.cost_public_ipv4_usd,
            ),
            ("cost_nat_usd", "  NAT gateways", "USD", &self.cost_nat_usd),
            (
                "cost_vpc_endpoints_usd",
                "  VPC endpoints",
                "USD",
                &self.cost_vpc_endpoints_usd,
            ),
        ];
        if let Some(st) = &self.cost_stranded_usd {
            out.push(("cost_stranded_usd", "  stranded plan commitment", "USD", st));
        }
        out.extend([
            (
                "cost_wasted_usd",
                "  of it wasted on lost work",
                "USD",
                &self.cost_wasted_usd,
            ),
            (
                "image_pull_gb",
                "image data pulled",
                "GB",
                &self.image_pull_gb,
            ),
            (
                "baseline_cost_usd",
                "all-on-demand baseline",
                "USD",
                &self.baseline_cost_usd,
            ),
            ("saving_usd", "saving", "USD", &self.saving_usd),
            (
                "saving_fraction",
                "saving",
                "fraction",
                &self.saving_fraction,
            ),
        ]);
        if let Some(st) = &self.saving_after_term_usd {
            out.push((
                "saving_after_term_usd",
                "saving after the plan's term",
                "USD",
                st,
            ));
        }
        out.extend([
            (
                "spot_share",
                "spot share of task time",
                "fraction",
                &self.spot_share,
            ),
            ("runs", "runs", "count", &self.runs),
            ("completed", "completed", "count", &self.completed),
            ("crashed", "crashed", "count", &self.crashed),
            ("failed", "failed", "count", &self.failed),
            ("unfinished", "unfinished", "count", &self.unfinished),
            (
                "crash_rate",
                "crashed or failed",
                "fraction",
                &self.crash_rate,
            ),
            (
                "crashed_by_capacity",
                "  ended by capacity failures",
                "count",
                &self.crashed_by_capacity,
            ),
            (
                "crashed_by_interruption",
                "  ended by interruptions",
                "count",
                &self.crashed_by_interruption,
            ),
            (
                "crashed_by_image_pull",
                "  ended by refused image pulls",
                "count",
                &self.crashed_by_image_pull,
            ),
            (
                "interruptions",
                "interruptions",
                "count",
                &self.interruptions,
            ),
            (
                "capacity_failures",
                "capacity failures",
                "count",
                &self.capacity_failures,
            ),
            (
                "fallbacks",
                "fallbacks to on-demand",
                "count",
                &self.fallbacks,
            ),
            ("latency_mean_s", "latency mean", "s", &self.latency_mean_s),
            ("latency_p50_s", "latency p50", "s", &self.latency_p50_s),
            ("latency_p95_s", "latency p95", "s", &self.latency_p95_s),
            ("latency_p99_s", "latency p99", "s", &self.latency_p99_s),
            (
                "deadline_miss_rate",
                "deadline misses",
                "fraction",
                &self.deadline_miss_rate,
            ),
        ]);
        out
    }
}

/// A simulation result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Identification.
    pub meta: Meta,
    /// Metrics.
    pub metrics: Metrics,
    /// The network options, billed on the same runs (the scenario's own first).
    pub network: Vec<super::network::NetworkOption>,
    /// What an init in the flow containers that have none would change (`None` when every
    /// flow has one, or nothing runs on spot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_fix: Option<InitFix>,
    /// The objectives checked on these replications, at the one placement reading simulated
    /// (`recommend` checks every reading): platform-wide, then each deployment's own.
    pub objectives_checked: ObjectivesChecked,
}

/// The scenario's objectives checked on one simulation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectivesChecked {
    /// The placement reading the figures come from.
    pub reading: String,
    /// Whether they were stated (`false`: none, or only the ones `recommend` assumes).
    pub stated: bool,
    /// Platform-wide objectives.
    pub platform: Vec<super::objective::Check>,
    /// Each deployment's own, by deployment name.
    pub deployments: Vec<(String, super::objective::Check)>,
}

/// The same replications with an init as PID 1 in every flow container (ECS's, through
/// `linuxParameters.initProcessEnabled`, which `emit` sets), paired with the scenario's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InitFix {
    /// The flows without an init today.
    pub flows: Vec<String>,
    /// Cost per 30 days with the init, USD.
    pub cost_per_30d_usd: Stat,
    /// What the init saves per 30 days (today − with it, paired), USD.
    pub saving_per_30d_usd: Stat,
    /// Crashed-or-failed rate with the init.
    pub crash_rate: Stat,
}

/// Simulates `s` again with an init in every flow container, on the same seeds as `reps`.
fn init_fix(s: &Scenario, reps: &[Replication]) -> Option<InitFix> {
    use crate::scenario::Sigterm;
    let flows: Vec<String> = s
        .flows
        .iter()
        .filter(|f| f.sigterm.0 != Sigterm::Init)
        .map(|f| f.name.clone())
        .collect();
    if flows.is_empty() || !s.uses_spot() || reps.is_empty() {
        return None;
    }
    let mut v = s.clone();
    for f in &mut v.flows {
        f.sigterm = (Sigterm::Init, true);
    }
    let per30 = 30.0 * 86_400_000.0 / s.sim.horizon.0 as f64;
    let fixed = outcomes(&v, reps.len() as u64);
    let runs: f64 = fixed.iter().map(|o| o.runs as f64).sum();
    Some(InitFix {
        flows,
        cost_per_30d_usd: Stat::of(&fixed.iter().map(|o| o.cost_usd * per30).collect::<Vec<_>>()),
        saving_per_30d_usd: Stat::of(
            &reps
                .iter()
                .zip(&fixed)
                .map(|(r, f)| (r.outcome.cost_usd - f.cost_usd) * per30)
                .collect::<Vec<_>>(),
        ),
        crash_rate: Stat::proportion(
            &fixed.iter().map(RunOutcome::crash_rate).collect::<Vec<_>>(),
            runs,
        ),
    })
}

fn launch_source_name(l: LaunchSource) -> &'static str {
    match l {
        LaunchSource::RequestStrategy => "worker.strategy (sent with each RunTask)",
        LaunchSource::RequestLaunchType => "worker.launch_type (cluster default ignored)",
        LaunchSource::WorkerDefaultLaunchType => "the worker's implicit launchType=FARGATE",
        LaunchSource::ClusterDefault => "cluster.strategy (cluster default)",
        LaunchSource::Baseline => "all-on-demand baseline",
    }
}

/// How often each rule of a deadline-aware policy fired, mean per replication.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleMeans {
    /// Safety Net: runs sent on demand for the rest of the run.
    pub safety_net: f64,
    /// Taking Risks: spot launches Uniform Progress decided.
    pub taking_risks: f64,
    /// Uniform Progress (or `catch-up`): moves on demand to catch up with the line.
    pub uniform_progress: f64,
    /// Hysteresis: runs relaunched on spot from a checkpoint on demand.
    pub hysteresis: f64,
    /// Waits for spot capacity, ahead of the line.
    pub waits: f64,
}

impl RuleMeans {
    fn of(reps: &[Replication]) -> RuleMeans {
        let n = reps.len().max(1) as f64;
        let mean = |f: &dyn Fn(&crate::sim::RuleCounts) -> u64| {
            reps.iter()
                .map(|r| f(&r.outcome.deadline_rules) as f64)
                .sum::<f64>()
                / n
        };
        RuleMeans {
            safety_net: mean(&|c| c.safety_net),
            taking_risks: mean(&|c| c.taking_risks),
            uniform_progress: mean(&|c| c.uniform_progress),
            hysteresis: mean(&|c| c.hysteresis),
            waits: mean(&|c| c.waits),
        }
    }

    /// In words, for the text results.
    pub fn line(&self) -> String {
        let v = |x: f64| crate::units::num(x);
        format!(
            "deadline rules fired per replication (mean): safety net {}, taking risks {}, uniform progress {}, hysteresis {}, waits for spot {}",
            v(self.safety_net),
            v(self.taking_risks),
            v(self.uniform_progress),
            v(self.hysteresis),
            v(self.waits)
        )
    }
}

/// Every metric over `reps` of `s`.
impl Metrics {
    /// The bill's parts, mean USD over the horizon: the worker service, a Savings Plan's
    /// stranded commitment, flow tasks on each provider, public IPv4 addresses, NAT gateways
    /// (hours and data), interface endpoints.
    /// They add up to the cost.
    pub fn bill(&self) -> [(&'static str, f64); 7] {
        [
            ("worker", self.cost_worker_usd.mean),
            (
                "stranded Savings Plan commitment",
                self.cost_stranded_usd.as_ref().map_or(0.0, |s| s.mean),
            ),
            ("flows on FARGATE", self.cost_fargate_usd.mean),
            ("flows on FARGATE_SPOT", self.cost_fargate_spot_usd.mean),
            ("public IPv4", self.cost_public_ipv4_usd.mean),
            ("NAT", self.cost_nat_usd.mean),
            ("interface endpoints", self.cost_vpc_endpoints_usd.mean),
        ]
    }
}

pub fn metrics_of(s: &Scenario, reps: &[Replication]) -> Metrics {
    let col = |f: &dyn Fn(&Replication) -> f64| Stat::of(&reps.iter().map(f).collect::<Vec<_>>());
    // proportions get intervals that stay within [0, 1]
    let share = |f: &dyn Fn(&Replication) -> f64, trials: f64| {
        Stat::proportion(&reps.iter().map(f).collect::<Vec<_>>(), trials)
    };
    let runs: f64 = reps.iter().map(|r| r.outcome.runs as f64).sum();
    let deadline_runs: f64 = reps.iter().map(|r| r.outcome.deadline_runs as f64).sum();
    let tasks: f64 = reps.iter().map(|r| r.outcome.tasks as f64).sum();
    let per30 = 30.0 * 86_400_000.0 / s.sim.horizon.0 as f64;
    Metrics {
        cost_usd: col(&|r| r.outcome.cost_usd),
        cost_per_30d_usd: col(&|r| r.outcome.cost_usd * per30),
        cost_fargate_usd: col(&|r| r.outcome.cost_fargate_usd),
        cost_fargate_spot_usd: col(&|r| r.outcome.cost_fargate_spot_usd),
        cost_worker_usd: col(&|r| r.outcome.cost_worker_usd),
        cost_wasted_usd: col(&|r| r.outcome.cost_wasted_usd),
        cost_public_ipv4_usd: col(&|r| r.outcome.cost_public_ipv4_usd),
        cost_nat_usd: col(&|r| r.outcome.cost_nat_usd),
        cost_vpc_endpoints_usd: col(&|r| r.outcome.cost_vpc_endpoints_usd),
        cost_stranded_usd: s
            .savings_plan
            .is_some()
            .then(|| col(&|r| r.outcome.cost_stranded_usd)),
        saving_after_term_usd: s
            .savings_plan
            .is_some()
            .then(|| col(&|r| r.saving_after_term_usd())),
        image_pull_gb: col(&|r| r.outcome.image_pull_gb),
        baseline_cost_usd: col(&|r| r.baseline_cost_usd),
        saving_usd: col(&|r| r.saving_usd()),
        saving_fraction: col(&|r| r.saving_fraction()),
        spot_share: share(&|r| r.outcome.spot_share(), tasks),
        runs: col(&|r| r.outcome.runs as f64),
        completed: col(&|r| r.outcome.completed as f64),
        crashed: col(&|r| r.outcome.crashed as f64),
        failed: col(&|r| r.outcome.failed as f64),
        unfinished: col(&|r| r.outcome.unfinished as f64),
        crash_rate: share(&|r| r.outcome.crash_rate(), runs),
        crashed_by_capacity: col(&|r| r.outcome.crashed_by_capacity as f64),
        crashed_by_interruption: col(&|r| r.outcome.crashed_by_interruption as f64),
        crashed_by_image_pull: col(&|r| r.outcome.crashed_by_image_pull as f64),
        interruptions: col(&|r| r.outcome.interruptions as f64),
        capacity_failures: col(&|r| r.outcome.capacity_failures as f64),
        fallbacks: col(&|r| r.outcome.fallbacks as f64),
        latency_mean_s: col(&|r| r.outcome.latency_mean_ms / 1000.0),
        latency_p50_s: col(&|r| r.outcome.latency_p50_ms as f64 / 1000.0),
        latency_p95_s: col(&|r| r.outcome.latency_p95_ms as f64 / 1000.0),
        latency_p99_s: col(&|r| r.outcome.latency_p99_ms as f64 / 1000.0),
        deadline_miss_rate: share(&|r| r.outcome.deadline_miss_rate(), deadline_runs),
        concurrent_vcpu: ConcurrentVcpu::of(
            s,
            &reps.iter().map(|r| &r.outcome).collect::<Vec<_>>(),
        ),
        deadline_rules: (0..s.flows.len())
            .any(|f| s.retry_of(f).deadline_rule().is_some())
            .then(|| RuleMeans::of(reps)),
        runs_pooled: runs,
        deadline_runs_pooled: deadline_runs,
        objective_rates: objective_rates(s, reps),
    }
}

/// The defaults and timing assumptions behind a result of `s`.
pub fn assumptions(s: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = &s.savings_plan {
        out.push(p.describe());
    }
    if s.on_demand_discount > 0.0 {
        out.push(format!(
            "on-demand discount {:.1}% on every on-demand hour (stated; never on FARGATE_SPOT):              a flat approximation, for a Compute Savings Plan is a commitment paid hour by hour              whether used or not, so moving work to spot can strand it; state              [pricing.savings_plan] for that bill",
            100.0 * s.on_demand_discount
        ));
    }
    // the engine start-up's two parts, where the scenario did not give both
    for (source, how) in [
        (
            StartupSource::Measured,
            "measured for Prefect 3.9.1 at the task's CPU",
        ),
        (
            StartupSource::SplitTotal,
            "`engine_startup` split in the measured proportion 16:31",
        ),
    ] {
        // flows of one start-up together, in order of first appearance
        let mut flows: Vec<(String, Vec<String>)> = Vec::new();
        for f in s.flows.iter().filter(|f| f.engine.source == source) {
            let d = f.engine.describe();
            let name = format!("`{}`", f.name);
            match flows.iter_mut().find(|(x, _)| *x == d) {
                Some((_, names)) => names.push(name),
                None => flows.push((d, vec![name])),
            }
        }
        let flows: Vec<String> = flows
            .into_iter()
            .map(|(d, names)| format!("{d} for {}", names.join(", ")))
            .collect();
        if !flows.is_empty() {
            out.push(format!(
                "engine start-up per attempt, {how} (a SIGTERM in the unprotected part crashes \
                 even a rescheduling run): {}; set `engine_unprotected` and `flow_loading`",
                flows.join("; ")
            ));
        }
    }
    // who hears SIGTERM decides how an interruption ends and how long it is billed
    let named = |pick: &dyn Fn(&crate::scenario::FlowSpec) -> bool| -> String {
        s.flows
            .iter()
            .filter(|f| pick(f))
            .map(|f| format!("`{}`", f.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if s.uses_spot() {
        let default = named(&|f| !f.sigterm.1);
        if !default.is_empty() {
            out.push(format!(
                "the flow containers of {default} run an init that forwards SIGTERM (Prefect's images run tini; the default): set [[flow]] sigterm = \"exec-no-init\" or \"shell\" where not"
            ));
        }
        let deaf = named(&|f| f.sigterm.0 != crate::scenario::Sigterm::Init);
        if !deaf.is_empty() {
            out.push(format!(
                "{deaf}: no init in the container, so a SIGTERM nobody handles leaves the task running, billed, until SIGKILL at stop_timeout ({}); emit sets linuxParameters.initProcessEnabled for them",
                s.spot.stop_timeout
            ));
        }
    }
    if let crate::scenario::Egress::Nat {
        s3_gateway: true, ..
    } = s.network.egress
    {
        let assumed = s.flows.iter().filter(|f| !f.image_registry.1).count();
        if assumed > 0 {
            out.push(format!(
                "{assumed} deployment(s) without image_registry pull from this region's ECR, so the S3 gateway endpoint keeps their layers off the NAT: set image_registry = \"other\" where not"
            ));
        }
    }
    // Prefect 1's task-level resumption rests on persisted results
    let lazarus = |pick: &dyn Fn(&crate::scenario::FlowTasks) -> bool| -> String {
        (0..s.flows.len())
            .filter(|&f| s.retry_of(f).prefect1() && pick(&s.flows[f].tasks))
            .map(|f| format!("`{}`", s.flows[f].name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let assumed = lazarus(&|t| t.ends.len() > 1 && !t.persisted_stated);
    if !assumed.is_empty() {
        out.push(format!(
            "Prefect 1: a restarted run skips the tasks that finished, whose results are persisted (an S3Result) for {assumed}: set tasks.persisted_results = false where they are LocalResults (lost with the container; a restart runs every task again)"
        ));
    }
    let lost = lazarus(&|t| !t.persisted_results);
    if !lost.is_empty() {
        out.push(format!(
            "Prefect 1: {lost} keep no task results across a restart (persisted_results = false): a restart runs every task again"
        ));
    }
    for p in s.policies() {
        for a in crate::sim::retry::assumptions(p) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out.extend(s.objectives.assumed.clone());
    // the guard also holds stated objectives: a default that changes answers, so said
    if let (None, Some(g)) = (&s.objectives.assumed, s.objectives.deployment_guard) {
        out.push(format!(
            "deployment guard: beside the stated objectives, each deployment's crashed-or-failed and deadline-miss rates may be at most {} points above all on demand (paired 95% upper bound; --no-deployment-guard turns it off)",
            100.0 * g
        ));
    }
    out
}

/// What a single simulation of `s` does about placement, in words.
pub(crate) fn placement_note(s: &Scenario) -> String {
    let one = crate::model::PlacementSpec::Robust
        .readings(&s.launch.strategy, s.spot.capacity_can_fail())
        .len()
        == 1;
    match (s.sim.placement_spec, s.sim.placement_stated) {
        (_, _) if one => format!(
            "{}: the strategy reaches one provider, so every reading places it the same way",
            s.sim.placement
        ),
        (crate::model::PlacementSpec::Reading(p), _) => {
            format!(
                "{p}: the reading asked for (AWS documents none for count=1 RunTask calls); {}",
                p.on_retry()
            )
        }
        (crate::model::PlacementSpec::Robust, stated) => format!(
            "{}: one reading of the {} `robust` ({}); `sweep`/`recommend` evaluate every reading",
            s.sim.placement,
            if stated {
                "scenario's"
            } else {
                "default (no placement named)"
            },
            s.sim.placement.on_retry(),
        ),
    }
}

/// Identification of a result of `s` over `replications`.
pub fn meta_of(s: &Scenario, replications: u32) -> Meta {
    Meta {
        tool: "spotplan",
        version: env!("CARGO_PKG_VERSION"),
        scenario: s.name.clone(),
        file: s.source.file.clone(),
        scenario_hash: s.source.hash.clone(),
        scenario_canonical_hash: s.source.canonical.clone(),
        scenario_sections: s.source.sections.clone(),
        region: s.region.clone(),
        seed: s.sim.seed,
        replications,
        horizon: s.sim.horizon.to_string(),
        horizon_ms: s.sim.horizon.0,
        placement: s.sim.placement.to_string(),
        placement_note: placement_note(s),
        network: s.network.describe(),
        interruptions: s.spot.describe(),
        on_demand_discount: s.on_demand_discount,
        savings_plan: s.savings_plan.clone(),
        assumptions: assumptions(s),
        strategy: s.launch.strategy.to_string(),
        strategy_source: launch_source_name(s.launch.source),
        worker: s.worker.kind.name(),
        retry_policy: crate::scenario::spec::retry_spec(&s.retry),
        price_source: s.prices.source.clone(),
        objectives: s.objectives.clone(),
        deployment_objectives: s
            .flows
            .iter()
            .filter_map(|f| f.objectives.clone().map(|o| (f.name.clone(), o)))
            .collect(),
        warnings: warnings(s),
        work_estimate: crate::sim::budget::estimate(s, 2, replications as u64, replications as u64),
    }
}

/// Summarises replications of `s`.
pub fn summarize(s: &Scenario, reps: &[Replication]) -> Summary {
    let metrics = metrics_of(s, reps);
    let c = s.objectives.confidence;
    let objectives_checked = ObjectivesChecked {
        reading: s.sim.placement.to_string(),
        stated: s.objectives.assumed.is_none(),
        platform: super::objective::checks(&metrics, &s.objectives, c),
        deployments: super::objective::deployment_checks(s, reps, c)
            .into_iter()
            .map(|(f, ch)| (s.flows[f].name.clone(), ch))
            .collect(),
    };
    Summary {
        init_fix: init_fix(s, reps),
        meta: meta_of(s, reps.len() as u32),
        metrics,
        network: super::network::options(s, reps),
        objectives_checked,
    }
}
