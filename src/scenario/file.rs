//! The scenario file as written (serde + JSON Schema types). Nothing here is validated beyond
//! its shape: `validate` turns it into a typed [`crate::scenario::Scenario`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// A human name for the scenario, echoed in every report.
    pub name: String,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: Option<String>,
    /// AWS region whose prices apply, e.g. `us-east-1`.
    pub region: String,
    /// Horizon, replications, seed and placement model.
    #[serde(default)]
    pub simulation: SimulationSection,
    /// The ECS cluster: capacity providers and default strategy.
    pub cluster: ClusterSection,
    /// The always-on worker (Prefect ECS worker or agent) that launches runs with RunTask.
    #[serde(default)]
    pub worker: WorkerSection,
    /// Fargate Spot interruptions and capacity.
    #[serde(default)]
    pub spot: SpotSection,
    /// What happens when RunTask fails or a spot task is interrupted.
    #[serde(default)]
    pub retry: RetrySection,
    /// The workload: one entry per Prefect deployment / scheduled job.
    #[serde(rename = "flow")]
    pub flows: Vec<FlowSection>,
    /// What `recommend` must satisfy.
    #[serde(default)]
    pub objectives: ObjectivesSection,
    /// Where prices come from.
    #[serde(default)]
    pub pricing: PricingSection,
    /// How tasks reach the internet (public IPv4, NAT gateway or VPC endpoints): part of the
    /// bill. Without it, Prefect's default (`assignPublicIp: ENABLED`) is assumed and said.
    #[serde(default)]
    pub network: Option<NetworkSection>,
    /// The grid `sweep` and `recommend` search.
    #[serde(default)]
    pub sweep: SweepSection,
    /// What `emit`, `plan` and `apply` need to know about the account.
    #[serde(default)]
    pub deploy: DeploySection,
}

/// The worker image when `deploy.worker_image` is not given: prefect-aws pinned to the
/// version spotplan is tested with (0.7.12, `.ci/run`), in the tag scheme prefect-aws documents
/// (`prefecthq/prefect-aws:<version>-python3.12`, the package description of prefect-aws
/// 0.7.12, "Available Tags"). Not `:latest`, which moves under a running service: a new
/// worker version would change what was tested and simulated without a plan showing it.
pub(crate) const DEFAULT_WORKER_IMAGE: &str = "prefecthq/prefect-aws:0.7.12-python3.12";

/// `[deploy]`: inputs spotplan cannot know. Each can also be given as a flag of `emit`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploySection {
    /// The 12-digit AWS account id.
    pub account_id: Option<String>,
    /// Subnets for the worker and the flow runs (`subnet-…`).
    pub subnets: Option<Vec<String>>,
    /// Security groups (`sg-…`).
    pub security_groups: Option<Vec<String>>,
    /// Give tasks a public IP. Default: as the bill was priced, `true` for `[network] egress =
    /// "public-ip"` (and without `[network]`, Prefect's default), `false` for `nat` and
    /// `vpc-endpoints`; a value that contradicts the priced network is refused.
    pub assign_public_ip: Option<bool>,
    /// The VPC of the subnets (`vpc-…`), for the work pool.
    pub vpc_id: Option<String>,
    /// The worker's image (default [`DEFAULT_WORKER_IMAGE`]).
    pub worker_image: Option<String>,
    /// The image of flow runs (work pool default; none: Prefect's).
    pub flow_image: Option<String>,
    /// The Prefect work pool (default `ecs-pool`).
    pub work_pool: Option<String>,
    /// The Prefect API URL `plan`/`apply` use (and the worker, unless
    /// `worker_prefect_api_url` says otherwise).
    pub prefect_api_url: Option<String>,
    /// The Prefect API URL the worker task talks to, when it differs from the operator's
    /// (a tunnel, a private endpoint).
    pub worker_prefect_api_url: Option<String>,
    /// ARN of the SSM SecureString parameter holding the Prefect API key.
    pub api_key_parameter: Option<String>,
    /// ARN of the customer-managed KMS key the parameter is encrypted with, if not the AWS
    /// managed `aws/ssm` key: the execution role then needs `kms:Decrypt` on it.
    pub api_key_kms_key: Option<String>,
    /// An existing task execution role to use instead of creating one.
    pub execution_role_arn: Option<String>,
    /// An existing task role for the worker to use instead of creating one.
    pub task_role_arn: Option<String>,
    /// The role flow-run tasks get (the worker passes it: `iam:PassRole`).
    pub flow_task_role_arn: Option<String>,
    /// The execution role of flow-run tasks (default: the worker's).
    pub flow_execution_role_arn: Option<String>,
    /// The worker's log group (default `/ecs/<cluster>/prefect-worker`).
    pub log_group: Option<String>,
    /// The worker's service name (default `prefect-worker`).
    pub service_name: Option<String>,
    /// The account's "Fargate On-Demand vCPU resource count" quota (`L-3032A538`), vCPU:
    /// `plan` checks the pick's peak against it when Service Quotas cannot be read.
    pub fargate_vcpu_quota: Option<f64>,
    /// The account's "Fargate Spot vCPU resource count" quota (`L-36FBB829`), vCPU: the same
    /// for FARGATE_SPOT.
    pub fargate_spot_vcpu_quota: Option<f64>,
}

/// `[sweep]`: the candidates around the scenario. Every list defaults to the scenario's own
/// value; `spot_share` defaults to `"0:100:10"`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepSection {
    /// FARGATE_SPOT weight share in percent: `"0:100:10"` or `"0,50,100"`.
    pub spot_share: Option<String>,
    /// Base values to try, e.g. `[0, 1]`.
    pub base: Option<Vec<u32>>,
    /// Which provider holds the base: `FARGATE` (default) or `FARGATE_SPOT`.
    pub base_provider: Option<String>,
    /// Placement models to try.
    pub placement: Option<Vec<String>>,
    /// Retry policies to try, as specs: `"prefect3"`, `"custom[fallback_after=1]"`, …
    pub retry: Option<Vec<String>>,
    /// Checkpoint intervals to try for flows that checkpoint, e.g. `["5m", "15m"]`.
    pub checkpoint_every: Option<Vec<String>>,
    /// Replications per candidate (default: `simulation.replications`).
    pub replications: Option<u32>,
    /// Race candidates: stop replicating those that are clearly dominated (default true).
    pub adaptive: Option<bool>,
    /// Also search per-deployment strategies: each flow (deployment) all on FARGATE_SPOT or
    /// all on FARGATE, in its own job variables (default true with two or more flows).
    pub per_deployment: Option<bool>,
}

/// `[simulation]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulationSection {
    /// How long runs are scheduled for, e.g. `"30d"` (default `"30d"`).
    pub horizon: Option<String>,
    /// Monte Carlo replications (default 200).
    pub replications: Option<u32>,
    /// Master seed (default 42).
    pub seed: Option<u64>,
    /// `per-call` (default), `weighted-random` or `proportional`.
    pub placement: Option<String>,
    /// Wall-clock instant of simulated time zero (RFC 3339, UTC), used by cron schedules and
    /// hour-of-day multipliers. Default `2026-01-05T00:00:00Z` (a Monday).
    pub start: Option<String>,
    /// How long after the horizon in-flight runs may still finish (default `"7d"`).
    pub drain: Option<String>,
}

/// `[cluster]`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// Cluster name.
    pub name: Option<String>,
    /// Capacity providers associated with the cluster (`FARGATE`, `FARGATE_SPOT`, or ASG
    /// provider names that are kept but not simulated).
    pub capacity_providers: Vec<String>,
    /// The cluster's default capacity provider strategy, used by RunTask calls that give
    /// neither a strategy nor a launch type.
    #[serde(default)]
    pub strategy: Option<Vec<StrategyItemFile>>,
}

/// One strategy item.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategyItemFile {
    /// `FARGATE` or `FARGATE_SPOT`.
    pub provider: String,
    /// 0–1000; default 0 as in the ECS API (the console's default of 1 does not apply).
    pub weight: Option<i64>,
    /// 0–100000; default 0. At most one item may set it.
    pub base: Option<i64>,
}

/// `[worker]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    /// Who sends RunTask: `prefect3-ecs-worker`, `prefect1-ecs-agent` (both send
    /// `launchType=FARGATE` unless given a strategy) or `runtask` (sends neither, so the
    /// cluster default applies). Default `runtask`.
    pub kind: Option<String>,
    /// Worker task cpu (units or `"0.5 vCPU"`); default 512.
    pub cpu: Option<NumOrText>,
    /// Worker task memory (MiB or `"1 GB"`); default 1024.
    pub memory: Option<NumOrText>,
    /// Worker architecture; default `x86_64`.
    pub architecture: Option<String>,
    /// Worker service desired count (billed on on-demand FARGATE for the whole horizon).
    pub count: Option<u32>,
    /// How often the worker polls for scheduled runs; default `"10s"`; `"0s"` = immediately.
    pub poll_interval: Option<String>,
    /// Work-pool concurrency limit: runs in flight at once; others queue.
    pub concurrency_limit: Option<u32>,
    /// The strategy sent with each RunTask (work pool `capacity_provider_strategy`).
    pub strategy: Option<Vec<StrategyItemFile>>,
    /// The launch type sent with each RunTask (`FARGATE`; Prefect's pseudo type
    /// `FARGATE_SPOT` means a one-item FARGATE_SPOT strategy).
    pub launch_type: Option<String>,
}

/// `[spot]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpotSection {
    /// Poisson interruption rate per running spot task-hour, e.g. `"0.05/h"`, or with its
    /// 95% interval (as `calibrate` writes it): `{ value = "0.05/h", ci95 = ["0.03/h",
    /// "0.08/h"] }`; `recommend` then checks the pick at the interval's ends.
    pub interruption_rate: Option<StringOr<RateInterval>>,
    /// The same as a probability over a duration: `{ probability = 0.05, per = "1h" }`.
    pub interruption_probability: Option<ProbabilityFile>,
    /// 24 multipliers of the rate by UTC hour of day (hour 0 first).
    pub hourly_multipliers: Option<Vec<f64>>,
    /// SIGTERM → SIGKILL grace (container `stopTimeout`), 2s–120s; default `"30s"`.
    pub stop_timeout: Option<String>,
    /// Spot capacity outages: `{ unavailable = 0.02, mean_outage = "20m" }`.
    pub capacity: Option<CapacityFile>,
    /// Correlated reclaim waves: `{ per_day = 0.5, hit = 0.6 }`.
    pub reclaim_waves: Option<WavesFile>,
    /// A preemption trace `{"metadata":{"gap_seconds":N},"data":[0,1,...]}` (1 = spot
    /// preempted/unavailable in that slot), path relative to the scenario file.
    pub trace: Option<String>,
    /// Where replay starts in the trace (e.g. `"0s"`, `"3d"`); without it each replication
    /// starts at a random slot (so replications sample the whole trace).
    pub trace_offset: Option<String>,
}

/// A rate with its 95% interval.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateInterval {
    /// The rate, e.g. `"0.05/h"`.
    pub value: String,
    /// Its 95% interval, low then high, e.g. `["0.03/h", "0.08/h"]`.
    pub ci95: [String; 2],
}

/// Interruption probability over a period.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbabilityFile {
    /// Probability in [0, 1) that a running spot task is interrupted within `per`.
    pub probability: f64,
    /// The period, e.g. `"1h"`.
    pub per: String,
}

/// Alternating available/unavailable spot capacity.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityFile {
    /// Long-run fraction of time spot capacity is unavailable, in [0, 1).
    pub unavailable: f64,
    /// Mean length of one outage, e.g. `"20m"`.
    pub mean_outage: String,
    /// The 95% interval of `unavailable`, low then high (as `calibrate` writes it):
    /// `recommend` then checks the pick at its ends.
    pub unavailable_ci95: Option<[f64; 2]>,
}

/// Reclaim waves.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WavesFile {
    /// Waves per day (Poisson).
    pub per_day: f64,
    /// Probability that a wave interrupts each running spot task, in [0, 1].
    pub hit: f64,
}

/// `[retry]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    /// `prefect3` (default), `prefect3-reschedule`, `prefect1-lazarus` or `custom`.
    pub policy: Option<String>,
    /// RunTask attempts per submission for the Prefect 3 worker
    /// (`create_task_run_max_attempts`, default 3).
    pub runtask_attempts: Option<u32>,
    /// `prefect1-lazarus`: reschedules before Failed: 3 (Prefect Server, default) or 10 (Cloud).
    pub lazarus_limit: Option<u32>,
    /// `prefect3`/`prefect3-reschedule`: `automation` to model a Prefect automation that
    /// reruns a Crashed run on FARGATE (default `none`).
    pub fallback: Option<String>,
    /// `prefect1-lazarus`: `server` (default: Zombie Killer stale heartbeat 10 min, Lazarus
    /// limit 3) or `cloud` (2 min, limit 10).
    pub backend: Option<String>,
    /// `custom`: attempts in all (first launch included), default 3.
    pub max_attempts: Option<u32>,
    /// `custom`: delay before the next attempt: `"30s"`, or
    /// `{ exponential = { base = "10s", factor = 2.0, max = "10m" } }`.
    pub delay: Option<StringOr<DelayFile>>,
    /// `custom`: jitter as a fraction of the delay, uniform in [0, jitter]; default 0.
    pub jitter: Option<f64>,
    /// `custom`: after this many spot interruptions of a run, launch it on FARGATE.
    pub fallback_after_interruptions: Option<u32>,
    /// `custom`: after this many capacity failures of a run, launch it on FARGATE.
    pub fallback_after_capacity_failures: Option<u32>,
    /// `custom`: launch on FARGATE when the slack to the deadline no longer covers the
    /// remaining work plus a restart.
    pub deadline_aware: Option<bool>,
    /// `custom` with `deadline_aware`: `safety-net` (default: greedy spot, then on demand
    /// for the rest once the slack runs out), `uniform-progress` (as "Can't Be Late"
    /// publishes it: spot whenever it places; without spot and behind the expected-progress
    /// line, on demand until ahead of it at t + 2d, back to spot at a checkpoint) or
    /// `catch-up` (on demand whenever behind the line, without trying spot first).
    pub deadline_rule: Option<String>,
    /// `custom` with `deadline_rule = "uniform-progress"`: how often a run waiting for spot
    /// capacity tries FARGATE_SPOT again, paying nothing meanwhile (default: the worker's
    /// poll interval).
    // (left out of the canonical form when absent: older scenarios keep their hashes)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_every: Option<String>,
}

/// An exponential delay.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayFile {
    /// Exponential backoff.
    pub exponential: ExponentialDelayFile,
}

/// Exponential backoff parameters: delay k = min(base · factor^(k−1), max).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExponentialDelayFile {
    /// First delay.
    pub base: String,
    /// Growth factor ≥ 1 (default 2).
    pub factor: Option<f64>,
    /// Cap (default none).
    pub max: Option<String>,
}

/// `[[flow]]`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowSection {
    /// Deployment name.
    pub name: String,
    /// When runs are scheduled.
    pub schedule: ScheduleFile,
    /// Work per run (excluding startup and checkpoint overhead).
    pub duration: StringOr<DistFile>,
    /// Task cpu (units or `"1 vCPU"`); default 1024.
    pub cpu: Option<NumOrText>,
    /// Task memory (MiB or `"2 GB"`); default 2048.
    pub memory: Option<NumOrText>,
    /// `x86_64` (default) or `arm64`.
    pub architecture: Option<String>,
    /// `linux` (default) or `windows`.
    pub os: Option<String>,
    /// Ephemeral storage in GiB, 20 (default) to 200; above 20 is billed.
    pub ephemeral_storage: Option<u32>,
    /// Startup: `{ provisioning = "20s", image_pull = { uniform = ["15s", "45s"] } }`.
    pub startup: Option<StartupFile>,
    /// Deadline after the scheduled time, e.g. `"55m"`.
    pub deadline: Option<String>,
    /// Checkpoints: `{ every = "5m", cost = "10s" }` (work lost since the last one).
    pub checkpoint: Option<CheckpointFile>,
    /// Deployment concurrency limit: runs of this flow in flight at once.
    pub concurrency_limit: Option<u32>,
    /// Engine start-up after the image pull, both parts (billed, no work): split in the
    /// measured proportion. Refused with `engine_unprotected` or `flow_loading`.
    pub engine_startup: Option<String>,
    /// From the container's start to Prefect's SIGTERM handler (a SIGTERM crashes the run);
    /// default measured at the flow's CPU size (1.6 s per vCPU below one vCPU).
    pub engine_unprotected: Option<String>,
    /// From the handler to the flow's code running (a SIGTERM can reschedule); default
    /// measured at the flow's CPU size (3.1 s per vCPU below one vCPU).
    pub flow_loading: Option<String>,
    /// Prefect 1 tasks of a run (`prefect1-lazarus`): `{ count = 4, retries = 1 }` (equal
    /// parts) or `{ sizes = [1, 2, 1], retries = 1, retry_delay = "1m" }` (relative work).
    /// Without it a run is one task without retries.
    pub tasks: Option<TasksFile>,
    /// This deployment's own capacity provider strategy (its `job_variables`'
    /// `capacity_provider_strategy`, or a Prefect 1 run config's `run_task_kwargs`),
    /// overriding the work pool's `worker.strategy`: `[{ provider = "FARGATE", weight = 1 }]`.
    pub strategy: Option<Vec<StrategyItemFile>>,
    /// Compressed size of the flow's container image (e.g. `"1.2 GB"`, `"800 MB"`): every
    /// attempt pulls it again, through the NAT gateway when `[network] egress = "nat"`.
    pub image_size: Option<String>,
    /// Where the image comes from: `ecr` (this region's Amazon ECR: with an S3 gateway
    /// endpoint its layers bypass the NAT) or `other` (Docker Hub, another registry or region).
    /// Default: read from `[deploy] flow_image` when given, else `ecr`, said in results.
    pub image_registry: Option<String>,
    /// Who receives ECS's SIGTERM in the flow's container: `init` (default: Prefect's images
    /// run tini, `ENTRYPOINT ["/usr/bin/tini", "-g", "--", …]`, which forwards it to every
    /// process), `exec-no-init` (no init: `prefect` is PID 1 and hears SIGTERM only through
    /// the reschedule handler once it is installed) or `shell` (a shell or wrapper script is
    /// PID 1 and forwards nothing). Where it is not heard, the task runs, billed, until
    /// SIGKILL at `stop_timeout`.
    pub sigterm: Option<String>,
    /// This deployment's own retry policy, as a spec (`"prefect3[fallback=automation]"`),
    /// overriding `[retry]`: its job variables' env, and the fallback automation limited to
    /// the deployments whose policy has it.
    pub retry: Option<String>,
    /// This deployment's own objectives, beside the platform-wide ones:
    /// `{ max_crashed = 0.001, max_deadline_miss = 0.01, max_p95_latency = "45m",
    /// max_monthly_cost = 50.0 }` (its runs and its tasks' cost only).
    pub objectives: Option<ObjectivesSection>,
}

/// A flow's Prefect 1 tasks.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TasksFile {
    /// Tasks of equal work.
    pub count: Option<u32>,
    /// Relative work of each task, in order.
    pub sizes: Option<Vec<f64>>,
    /// `max_retries` of each task (default 0).
    pub retries: Option<u32>,
    /// `retry_delay` of each task (default `"0s"`).
    pub retry_delay: Option<String>,
    /// Whether finished tasks' results are persisted where a restarted run can read them (an
    /// `S3Result` or another result backend): then a Lazarus restart skips the tasks that
    /// finished. `false`: a `LocalResult` in the container, lost with it, so a restart runs
    /// every task again. Default `true`, said in results.
    pub persisted_results: Option<bool>,
}

/// `[network]`: how flow-run tasks and the worker reach ECR, logs and the Prefect API.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// `public-ip` (public subnets, `assignPublicIp: ENABLED`, the Prefect worker's
    /// default: each task and worker pays the public IPv4 charge while it runs), `nat`
    /// (private subnets behind NAT gateways: gateway hours and every image pull's bytes) or
    /// `vpc-endpoints` (private subnets with interface endpoints for ECR and logs and the S3
    /// gateway endpoint: endpoint hours; image layers come through S3 at no data charge).
    pub egress: String,
    /// With `nat`: NAT gateways billed over the whole horizon (default 1).
    pub nat_gateways: Option<u32>,
    /// With `vpc-endpoints`: interface endpoints (default 3: `ecr.api`, `ecr.dkr`, `logs`).
    pub endpoints: Option<u32>,
    /// The availability zones the subnets span, which each interface endpoint covers (with
    /// `vpc-endpoints` default 2; with `nat` it sizes `ecr_endpoints` and the endpoint options
    /// `recommend` prices, which assume 2 when it is not given).
    pub azs: Option<u32>,
    /// With `nat`: a (free) S3 gateway endpoint in the VPC, so image layers from this region's
    /// ECR bypass the NAT's per-GB charge (default false).
    pub s3_gateway: Option<bool>,
    /// With `nat`: `ecr.api` and `ecr.dkr` interface endpoints in `azs` AZs (default false).
    pub ecr_endpoints: Option<bool>,
    /// Whether the worker or any flow needs the internet. `false` says nothing does and the
    /// Prefect API is reachable privately: only then are interface endpoints without a NAT
    /// offered. Implied `false` by `vpc-endpoints`; not said otherwise.
    pub internet: Option<bool>,
    /// With `nat`: the pulls per hour one address may make of images from outside ECR
    /// (`image_registry = "other"`), e.g. `"10/h"` (Docker Hub without a login); every NAT
    /// gateway is one address. A pull above it is refused: the task stops
    /// (CannotPullContainerError) and the run is Crashed. Not given: pulls are never refused.
    pub pull_limit: Option<String>,
}

/// A schedule: exactly one of the fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// Fixed interval, e.g. `"1h"`.
    pub every: Option<String>,
    /// Offset of the first run for `every` (default `"0s"`).
    pub offset: Option<String>,
    /// A cron expression (5 fields, UTC), e.g. `"0 2 * * *"`.
    pub cron: Option<String>,
    /// Poisson arrivals, e.g. `"6/h"`.
    pub poisson: Option<String>,
    /// A CSV file of start times (column `start`, or the first column): offsets from the
    /// horizon start (`"1h30m"`, or seconds) or RFC 3339 instants.
    pub csv: Option<String>,
}

/// A duration distribution: exactly one of the fields (a plain string means fixed).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistFile {
    /// Always this value.
    pub fixed: Option<String>,
    /// Uniform between two durations `["15s", "45s"]`.
    pub uniform: Option<Vec<String>>,
    /// Exponential with this mean: `{ mean = "10m" }`.
    pub exponential: Option<MeanFile>,
    /// Lognormal by median and 95th percentile.
    pub lognormal: Option<LognormalFile>,
    /// Gamma by shape and mean.
    pub gamma: Option<GammaFile>,
    /// Resample a CSV of observed durations (column `duration` or the first column; human
    /// durations or seconds).
    pub empirical: Option<String>,
}

/// `{ mean = "10m" }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeanFile {
    /// The mean.
    pub mean: String,
}

/// `{ median = "12m", p95 = "40m" }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LognormalFile {
    /// Median.
    pub median: String,
    /// 95th percentile, above the median.
    pub p95: String,
}

/// `{ shape = 2.0, mean = "20m" }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GammaFile {
    /// Shape k > 0.
    pub shape: f64,
    /// Mean (scale = mean / shape).
    pub mean: String,
}

/// `{ provisioning = "20s", image_pull = "30s" }`
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartupFile {
    /// PROVISIONING/PENDING time before the image pull (not billed); default `"20s"`.
    pub provisioning: Option<StringOr<DistFile>>,
    /// Image pull time (billed); default `"20s"`.
    pub image_pull: Option<StringOr<DistFile>>,
}

/// `{ every = "5m", cost = "10s" }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointFile {
    /// Work between checkpoints.
    pub every: String,
    /// Time one checkpoint takes (default `"0s"`).
    pub cost: Option<String>,
}

/// `[objectives]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectivesSection {
    /// Largest acceptable deadline-miss rate, in [0, 1].
    pub max_deadline_miss: Option<f64>,
    /// Largest acceptable crashed-or-failed rate, in [0, 1].
    pub max_crashed: Option<f64>,
    /// Largest acceptable p95 end-to-end latency, e.g. `"45m"`.
    pub max_p95_latency: Option<String>,
    /// Largest acceptable cost per 30 days, USD.
    pub max_monthly_cost: Option<f64>,
    /// Confidence for the objectives (default 0.95).
    pub confidence: Option<f64>,
}

/// `[pricing]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingSection {
    /// `bundled` (default): the snapshot shipped with spotplan; `cache`: the prices
    /// `spotplan pricing fetch` saved; `live`: the cache, refreshed from AWS when older than
    /// `max_age`.
    pub source: Option<String>,
    /// For `live`: the oldest cache accepted before fetching again (default `"7d"`).
    pub max_age: Option<String>,
    /// Explicit rates that override the source's, USD per hour.
    pub rates: Option<crate::pricing::RegionRates>,
    /// A discount on on-demand Fargate (a Compute Savings Plan, an EDP), 0–0.9, e.g. `0.2`
    /// for 20% off. Never applied to FARGATE_SPOT (Savings Plans do not cover Spot). A flat
    /// approximation: for a Compute Savings Plan, `[pricing.savings_plan]` bills the
    /// commitment hour by hour. Not both.
    pub on_demand_discount: Option<f64>,
    /// A Compute Savings Plan as a commitment, billed hour by hour.
    // (left out of the canonical form when absent: older scenarios keep their hashes)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub savings_plan: Option<SavingsPlanSection>,
}

/// `[pricing.savings_plan]`: the part of a Compute Savings Plan this platform's Fargate uses.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SavingsPlanSection {
    /// USD per hour at plan rates: the part of the commitment this platform's Fargate usage
    /// consumes today (required).
    pub fargate_commitment_per_hour: Option<f64>,
    /// The plan's discount on on-demand Fargate, 0–0.9 (0.2: 20% off).
    pub discount: Option<f64>,
    /// The discount on vCPU, when vCPU and memory differ (with `memory_discount`).
    pub vcpu_discount: Option<f64>,
    /// The discount on memory, when vCPU and memory differ (with `vcpu_discount`).
    pub memory_discount: Option<f64>,
    /// When the term ends, a TOML date (`2027-06-30`): results also give the saving after it.
    #[schemars(with = "String")]
    pub ends: Option<toml::value::Datetime>,
}

/// A number or a string, e.g. cpu `1024` or `"1 vCPU"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum NumOrText {
    /// A TOML integer or float.
    Num(f64),
    /// A TOML string.
    Text(String),
}

impl NumOrText {
    /// The value as text (numbers without a fraction print as integers).
    pub fn as_text(&self) -> String {
        match self {
            // whole numbers print as integers while exact (1e308 stays 1e308, not i64::MAX)
            NumOrText::Num(n) if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 => {
                format!("{}", *n as i64)
            }
            // huge or tiny numbers in exponent form (never 309 digits in an error)
            NumOrText::Num(n) if n.abs() >= 1e15 || (*n != 0.0 && n.abs() < 1e-6) => {
                format!("{n:e}")
            }
            NumOrText::Num(n) => n.to_string(),
            NumOrText::Text(t) => t.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for NumOrText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumOrText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumOrText, E> {
                Ok(NumOrText::Num(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumOrText, E> {
                Ok(NumOrText::Num(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumOrText, E> {
                Ok(NumOrText::Num(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NumOrText, E> {
                Ok(NumOrText::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for NumOrText {
    fn schema_name() -> Cow<'static, str> {
        "NumOrText".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["number", "string"] })
    }
}

/// Either a plain string (a shorthand, e.g. a fixed duration) or a table of type `T`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum StringOr<T> {
    /// The shorthand string.
    Text(String),
    /// The full table.
    Table(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for StringOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = StringOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a table")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringOr<T>, E> {
                Ok(StringOr::Text(v.to_string()))
            }
            fn visit_map<M: MapAccess<'de>>(self, m: M) -> Result<StringOr<T>, M::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(m)).map(StringOr::Table)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for StringOr<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("StringOr{}", T::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let t = g.subschema_for::<T>();
        json_schema!({ "anyOf": [ { "type": "string" }, t ] })
    }
}
