//! The result of one replication.

use serde::{Deserialize, Serialize};

/// Everything one replication measured. Money in USD (f64, summed in a fixed order), times
/// in ms, counts exact.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Replication index.
    pub replication: u64,
    /// Total cost: flows on both providers, the worker service and the network charges, USD.
    pub cost_usd: f64,
    /// Flow tasks on FARGATE, USD.
    pub cost_fargate_usd: f64,
    /// Flow tasks on FARGATE_SPOT, USD.
    pub cost_fargate_spot_usd: f64,
    /// The worker service over the horizon, USD.
    pub cost_worker_usd: f64,
    /// Billed time of interrupted tasks not kept by a checkpoint, USD.
    pub cost_wasted_usd: f64,
    /// Public IPv4 addresses of tasks (placement to stop) and workers (the horizon), USD.
    pub cost_public_ipv4_usd: f64,
    /// NAT gateway hours over the horizon and the image bytes they processed, USD.
    pub cost_nat_usd: f64,
    /// Interface VPC endpoint hours over the horizon, USD.
    pub cost_vpc_endpoints_usd: f64,
    /// Savings Plan commitment paid and not used (0 without a plan), USD.
    #[serde(default)]
    pub cost_stranded_usd: f64,
    /// The same bill at on-demand rates with no commitment (after a Savings Plan's term;
    /// the cost itself without a plan), USD.
    #[serde(default)]
    pub cost_without_plan_usd: f64,
    /// With a Savings Plan: the share of eligible on-demand usage that fell in hours the
    /// commitment did not cover in full, where one more on-demand USD costs one USD (in the
    /// other hours it costs nothing: the commitment is paid anyway). The per-deployment
    /// search's marginal rate. 0 without a plan.
    #[serde(default)]
    pub plan_marginal: f64,
    /// With a Savings Plan: the vCPU and memory it covers (flows on FARGATE and the worker)
    /// at on-demand rates, USD; 0 without a plan.
    #[serde(default)]
    pub plan_eligible_od_usd: f64,
    /// What that usage was charged (plan rate under the commitment, on-demand above), USD;
    /// with the stranded commitment, the plan's whole bill.
    #[serde(default)]
    pub plan_eligible_usd: f64,
    /// Image data pulled by every attempt, GB.
    pub image_pull_gb: f64,
    /// Billed task-seconds on FARGATE.
    pub billed_secs_fargate: u64,
    /// Billed task-seconds on FARGATE_SPOT.
    pub billed_secs_spot: u64,
    /// Runs scheduled in the horizon.
    pub runs: u64,
    /// Runs that completed.
    pub completed: u64,
    /// Runs that ended Crashed.
    pub crashed: u64,
    /// Runs that ended Failed.
    pub failed: u64,
    /// Of the runs that ended Crashed or Failed, those whose last attempt could not be placed
    /// (RunTask failed for capacity until the policy gave up).
    #[serde(default)]
    pub crashed_by_capacity: u64,
    /// Those ended by an interruption (SIGTERM or SIGKILL, and what Prefect did after it:
    /// Crashed, Lazarus' limit, a task the Zombie Killer failed).
    #[serde(default)]
    pub crashed_by_interruption: u64,
    /// Those whose image pull the registry refused (`[network] pull_limit`): the task
    /// stopped (CannotPullContainerError) and the run was Crashed. The three add up to crashed
    /// + failed: the model has no other way for a run to end badly.
    #[serde(default)]
    pub crashed_by_image_pull: u64,
    /// Runs still in flight at horizon + drain.
    pub unfinished: u64,
    /// Spot interruptions (SIGTERMs).
    pub interruptions: u64,
    /// RunTask capacity failures.
    pub capacity_failures: u64,
    /// Runs the retry policy moved to on-demand.
    pub fallbacks: u64,
    /// Tasks placed.
    pub tasks: u64,
    /// Runs of flows with a deadline.
    pub deadline_runs: u64,
    /// Of those, runs not completed by their deadline.
    pub deadline_misses: u64,
    /// Mean end-to-end latency (scheduled → completed) of completed runs, ms.
    pub latency_mean_ms: f64,
    /// Latency percentiles of completed runs, ms (0 when none completed; 3 significant digits).
    pub latency_p50_ms: u64,
    /// 95th percentile, ms.
    pub latency_p95_ms: u64,
    /// 99th percentile, ms.
    pub latency_p99_ms: u64,
    /// Events the engine processed.
    pub events: u64,
    /// Worker polls at which runs waited because the work pool's concurrency limit was
    /// reached (0: flows never competed for slots).
    pub pool_limit_waits: u64,
    /// The most CPU units (1024 = 1 vCPU) of flow tasks on FARGATE at once, from placement
    /// to stop: what counts against the account's Fargate On-Demand vCPU quota (the worker's
    /// are added by the summary).
    #[serde(default)]
    pub peak_cpu_units_fargate: u64,
    /// The same on FARGATE_SPOT (the Fargate Spot vCPU quota).
    #[serde(default)]
    pub peak_cpu_units_spot: u64,
    /// How often each deadline rule decided (deadline-aware `custom` policies).
    #[serde(default)]
    pub deadline_rules: RuleCounts,
    /// Per flow, in scenario order.
    pub flows: Vec<FlowOutcome>,
}

/// How often each rule of a deadline-aware policy fired (the rules: `sim/deadline.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleCounts {
    /// Safety Net: runs sent on demand for the rest of the run.
    pub safety_net: u64,
    /// Taking Risks: spot launches the rule decided (Uniform Progress as published).
    pub taking_risks: u64,
    /// Uniform Progress (or `catch-up`): moves on demand to catch up with the line.
    pub uniform_progress: u64,
    /// Hysteresis: runs stopped at a checkpoint on demand and relaunched on spot.
    pub hysteresis: u64,
    /// Waits for spot capacity (ahead of the line, paying nothing): the probes that followed.
    pub waits: u64,
}

/// What one flow (deployment) ran in one replication: the parts of the bill and of the
/// objectives that add up across flows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowOutcome {
    /// Runs scheduled.
    pub runs: u64,
    /// Runs that ended Crashed or Failed.
    pub crashed_or_failed: u64,
    /// Runs with a deadline.
    pub deadline_runs: u64,
    /// Of those, not completed by it.
    pub deadline_misses: u64,
    /// Its tasks (both providers) and their per-task network charges (public IPv4, NAT
    /// data), USD; the worker and hourly network charges are the scenario's.
    pub cost_usd: f64,
    /// With a Savings Plan: what its FARGATE vCPU and memory (what the plan covers) were
    /// charged, USD (part of `cost_usd`); 0 without a plan.
    #[serde(default)]
    pub plan_eligible_usd: f64,
    /// The same usage at on-demand rates, USD.
    #[serde(default)]
    pub plan_eligible_od_usd: f64,
    /// Task time holding a public IPv4 address, ms.
    pub public_ip_ms: u64,
    /// Image data pulled, GB.
    pub image_pull_gb: f64,
    /// p95 latency of its completed runs, ms: kept only for a deployment with its own
    /// `max_p95_latency` objective (else 0).
    #[serde(default)]
    pub latency_p95_ms: u64,
}

impl RunOutcome {
    /// Spot share of billed task time (0–1).
    pub fn spot_share(&self) -> f64 {
        let total = self.billed_secs_fargate + self.billed_secs_spot;
        if total == 0 {
            0.0
        } else {
            self.billed_secs_spot as f64 / total as f64
        }
    }
    /// Deadline-miss rate among runs with a deadline (0 if none).
    pub fn deadline_miss_rate(&self) -> f64 {
        if self.deadline_runs == 0 {
            0.0
        } else {
            self.deadline_misses as f64 / self.deadline_runs as f64
        }
    }
    /// Crashed-or-failed rate among runs (0 if none).
    pub fn crash_rate(&self) -> f64 {
        if self.runs == 0 {
            0.0
        } else {
            (self.crashed + self.failed) as f64 / self.runs as f64
        }
    }
}
