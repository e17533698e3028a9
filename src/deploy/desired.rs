//! The desired state, typed and in one place: the names and ARNs every artefact shares, the
//! worker's task-definition spec, the cluster's and the pool's strategies, the work pool's base
//! job template, the deployments' own job variables, the fallback automation and the crash
//! feed. `emit` renders it, `plan` diffs it against what the account and the Prefect API hold,
//! and the clients send its parts.

use serde::Serialize;
use serde_json::{Value, json};

use super::deployments::DeploymentWant;
use super::inputs::DeployInputs;
use super::state::{ClusterState, ServiceState, TaskDefinitionState};
use super::task_definition::{ContainerSpec, TaskDefinitionSpec};
use super::workpool::PoolState;
use crate::model::{Architecture, Strategy};
use crate::scenario::{RetryPolicy, Scenario, WorkerKind};

/// What to deploy: the strategy and retry policy chosen, and where they come from.
#[derive(Clone, Debug)]
pub struct Choice {
    /// The capacity provider strategy for RunTask (work pool) and the cluster default.
    pub strategy: Strategy,
    /// The retry policy (decides the SIGTERM behaviour env var).
    pub retry: RetryPolicy,
    /// Where the choice comes from, for the headers.
    pub origin: String,
    /// Deployments' own job variables (a per-deployment recommendation, or the `strategy`
    /// of a `[[flow]]`), by scenario flow name, overriding the pool's.
    pub deployments: std::collections::BTreeMap<String, Value>,
    /// Deployments' own retry policies (a per-deployment recommendation), by scenario flow
    /// name; the others run `retry`.
    pub deployment_retry: std::collections::BTreeMap<String, RetryPolicy>,
    /// What the choice runs at once, as simulated (the recommendation's figures, or the
    /// scenario's replications), for `plan`'s quota check; `None`: not known.
    pub quota_need: Option<super::quotas::QuotaNeed>,
}

impl Choice {
    /// What the scenario itself runs: the pool's strategy and retry policy, and each
    /// `[[flow]]`'s own `strategy` and `retry`.
    pub fn of_scenario(s: &Scenario, origin: String) -> Choice {
        Choice {
            strategy: s.launch.strategy.clone(),
            retry: s.retry.clone(),
            origin,
            deployments: s
                .flows
                .iter()
                .filter_map(|f| {
                    let st = f.strategy.as_ref()?;
                    Some((
                        f.name.clone(),
                        json!({"capacity_provider_strategy": st.to_ecs_json()}),
                    ))
                })
                .collect(),
            deployment_retry: s
                .flows
                .iter()
                .filter_map(|f| Some((f.name.clone(), f.retry.clone()?)))
                .collect(),
            quota_need: None,
        }
    }

    /// Which deployments the fallback automation covers: `None` when no deployment's policy
    /// has it, the whole pool when every flow's does.
    pub fn automation_scope(&self, s: &Scenario) -> Option<crate::deploy::automation::Scope> {
        let with: Vec<String> = s
            .flows
            .iter()
            .filter(|f| {
                self.deployment_retry
                    .get(&f.name)
                    .unwrap_or(&self.retry)
                    .fallback_automation()
            })
            .map(|f| f.name.clone())
            .collect();
        if with.is_empty() {
            None
        } else if with.len() == s.flows.len() {
            Some(crate::deploy::automation::Scope::Pool)
        } else {
            Some(crate::deploy::automation::Scope::Deployments {
                flows: with,
                ids: Vec::new(),
            })
        }
    }
}

/// The names and ARNs every artefact shares.
pub(crate) struct Names {
    pub(crate) cluster: String,
    pub(crate) family: String,
    pub(crate) execution_role_name: String,
    pub(crate) task_role_name: String,
    pub(crate) execution_role_arn: String,
    pub(crate) task_role_arn: String,
    pub(crate) flow_execution_role_arn: String,
    pub(crate) flow_task_role_arn: Option<String>,
    pub(crate) log_group_arn: String,
    pub(crate) cluster_arn: String,
    /// The worker's crash-detection feed (Prefect 3 ECS workers).
    pub(crate) feed: Option<super::events::Feed>,
}

pub(crate) fn names(s: &Scenario, d: &DeployInputs) -> Names {
    let cluster = s.cluster.name.clone();
    let role = |suffix: &str| format!("{cluster}-prefect-worker-{suffix}");
    let arn = |name: &str| format!("arn:aws:iam::{}:role/{name}", d.account_id);
    let execution_role_arn = d
        .execution_role_arn
        .clone()
        .unwrap_or_else(|| arn(&role("execution")));
    Names {
        family: format!("{cluster}-prefect-worker"),
        execution_role_name: role("execution"),
        task_role_name: role("task"),
        task_role_arn: d
            .task_role_arn
            .clone()
            .unwrap_or_else(|| arn(&role("task"))),
        flow_execution_role_arn: d
            .flow_execution_role_arn
            .clone()
            .unwrap_or_else(|| execution_role_arn.clone()),
        flow_task_role_arn: d.flow_task_role_arn.clone(),
        execution_role_arn,
        log_group_arn: format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            d.region, d.account_id, d.log_group
        ),
        cluster_arn: format!(
            "arn:aws:ecs:{}:{}:cluster/{cluster}",
            d.region, d.account_id
        ),
        feed: crash_feed(s, d),
        cluster,
    }
}

pub(crate) fn capacity_providers(s: &Scenario, c: &Choice) -> Vec<String> {
    let mut v = s.cluster.capacity_providers.clone();
    for i in &c.strategy.items {
        if !v.iter().any(|p| p == i.provider.ecs_name()) {
            v.push(i.provider.ecs_name().to_string());
        }
    }
    v
}

pub(crate) fn container(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> ContainerSpec {
    let (command, env_name, key_name): (Vec<String>, &str, &str) = match s.worker.kind {
        WorkerKind::Prefect1EcsAgent => (
            [
                "prefect",
                "agent",
                "ecs",
                "start",
                "--cluster",
                &n.cluster,
                "--label",
                &d.work_pool,
            ]
            .map(String::from)
            .to_vec(),
            "PREFECT__CLOUD__API",
            "PREFECT__CLOUD__API_KEY",
        ),
        _ => (
            [
                "prefect",
                "worker",
                "start",
                "--pool",
                &d.work_pool,
                "--type",
                "ecs",
            ]
            .map(String::from)
            .to_vec(),
            "PREFECT_API_URL",
            "PREFECT_API_KEY",
        ),
    };
    let _ = c;
    let mut environment = vec![(env_name.to_string(), d.worker_prefect_api_url.clone())];
    if let Some(f) = &n.feed {
        environment.extend(f.worker_env());
    }
    ContainerSpec {
        name: "prefect-worker".into(),
        image: d.worker_image.clone(),
        essential: true,
        command,
        environment,
        secrets: vec![(key_name.to_string(), d.api_key_parameter.clone())],
        log_group: d.log_group.clone(),
        log_region: d.region.clone(),
        log_stream_prefix: "worker".into(),
    }
}

pub(crate) fn arch(s: &Scenario) -> &'static str {
    match s.worker.size.arch {
        Architecture::X86_64 => "X86_64",
        Architecture::Arm64 => "ARM64",
    }
}

pub(crate) fn task_definition(
    s: &Scenario,
    d: &DeployInputs,
    n: &Names,
    c: &Choice,
) -> TaskDefinitionSpec {
    TaskDefinitionSpec {
        family: n.family.clone(),
        cpu: s.worker.size.cpu.0.to_string(),
        memory: s.worker.size.memory.0.to_string(),
        cpu_architecture: arch(s).into(),
        execution_role_arn: n.execution_role_arn.clone(),
        task_role_arn: n.task_role_arn.clone(),
        container: container(s, d, n, c),
    }
}

pub(crate) fn network(d: &DeployInputs) -> Value {
    json!({"awsvpcConfiguration": {
        "subnets": d.subnets,
        "securityGroups": d.security_groups,
        "assignPublicIp": if d.assign_public_ip { "ENABLED" } else { "DISABLED" }
    }})
}

/// The worker service runs on on-demand FARGATE: a spot interruption of the worker would
/// stop every submission.
/// The worker's service runs on on-demand FARGATE.
pub(crate) fn worker_strategy() -> Strategy {
    Strategy::only(crate::model::Provider::Fargate)
}

/// The size every flow shares, if they all share one.
pub(crate) fn common_size(s: &Scenario) -> Option<crate::model::TaskSize> {
    let first = s.flows.first()?.size;
    s.flows.iter().all(|f| f.size == first).then_some(first)
}

pub(crate) fn arch_name(a: crate::model::Architecture) -> &'static str {
    match a {
        crate::model::Architecture::Arm64 => "ARM64",
        _ => "X86_64",
    }
}

/// What the account and the Prefect API should hold: the cluster, the worker's task definition
/// and service, the crash-detection feed, the work pool, the deployments' own job variables
/// and the fallback automation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Desired {
    /// Cluster.
    pub cluster: ClusterState,
    /// Worker task definition.
    pub task_definition: TaskDefinitionState,
    /// Worker service.
    pub service: ServiceState,
    /// The worker's crash-detection feed (Prefect 3 ECS workers).
    pub events: Option<super::events::EventsState>,
    /// The work pool (with `--prefect-api-url`).
    pub pool: PoolState,
    /// Deployments' own job variables (with `--prefect-api-url`).
    pub deployments: Vec<DeploymentWant>,
    /// The fallback automation and its guard, when the retry policy relies on them.
    pub automations: Vec<Value>,
    /// Which deployments the fallback covers (`plan` limits it by their ids once found).
    pub automation_scope: Option<crate::deploy::automation::Scope>,
    /// The network as priced, which `plan` checks the subnets' routes against.
    pub network: super::network::NetworkWant,
    /// What the pick runs at once, which `plan` checks the account's Fargate vCPU quotas
    /// against (set by the caller that simulated it; `None`: not checked).
    pub quotas: Option<super::quotas::QuotaNeed>,
}

/// The state `apply` makes the account (and, with `--prefect-api-url`, the Prefect API) hold:
/// the same cluster, task definition, service, work pool and automation the emitted files
/// describe.
pub fn desired(s: &Scenario, d: &DeployInputs, c: &Choice) -> Desired {
    use super::state::{ClusterState, Item, ServiceState, TaskDefinitionState};
    let n = names(s, d);
    Desired {
        cluster: ClusterState {
            name: n.cluster.clone(),
            capacity_providers: capacity_providers(s, c),
            default_strategy: Item::of(&c.strategy),
        },
        task_definition: TaskDefinitionState {
            family: n.family.clone(),
            revision: None,
            spec: task_definition(s, d, &n, c),
        },
        service: ServiceState {
            name: d.service_name.clone(),
            task_definition: n.family.clone(),
            desired_count: s.worker.count,
            capacity_provider_strategy: Item::of(&worker_strategy()),
            subnets: d.subnets.clone(),
            security_groups: d.security_groups.clone(),
            assign_public_ip: d.assign_public_ip,
        },
        events: crash_feed(s, d).map(|f| f.desired()),
        pool: work_pool(s, d, c),
        deployments: deployment_job_variables(s, c),
        automations: fallback_automations(s, d, c),
        automation_scope: c.automation_scope(s),
        network: super::network::NetworkWant::of(
            &s.network,
            &d.region,
            &d.vpc_id,
            &d.subnets,
            &d.security_groups,
            &d.api_key_parameter,
        ),
        // the quotas the scenario states stand in for the account's when those cannot be read
        quotas: c.quota_need.clone().map(|n| super::quotas::QuotaNeed {
            stated: d.vcpu_quotas,
            ..n
        }),
    }
}

/// The worker's crash-detection feed: Prefect 3 ECS workers (prefect-aws's observer) only.
pub(crate) fn crash_feed(s: &Scenario, d: &DeployInputs) -> Option<super::events::Feed> {
    (s.worker.kind != WorkerKind::Prefect1EcsAgent)
        .then(|| super::events::feed(&d.work_pool, &d.region, &d.account_id, &s.cluster.name))
}

/// The work pool `apply --prefect-api-url` makes the Prefect API hold: type `ecs`, the base
/// job template `prefect/base-job-template.json` holds, the scenario's concurrency limit.
pub fn work_pool(s: &Scenario, d: &DeployInputs, c: &Choice) -> PoolState {
    PoolState {
        name: d.work_pool.clone(),
        kind: "ecs".into(),
        base_job_template: base_job_template(s, d, &names(s, d), c),
        concurrency_limit: s.worker.concurrency_limit,
    }
}
/// The flow task definition prefect-aws registers: the runtime platform always (ECS would
/// otherwise run x86_64 Linux), ephemeral storage only when the flows need more than the
/// 20 GiB included (a template placeholder cannot drop a whole object), and ECS's own init
/// as PID 1 (`linuxParameters.initProcessEnabled`) when `init`: a flow whose image has none
/// (`[[flow]] sigterm` other than `init`) then hears SIGTERM as the simulation of `init`
/// assumes.
pub(crate) fn task_definition_template(size: Option<crate::model::TaskSize>, init: bool) -> Value {
    let mut td = json!({
        "containerDefinitions": [{"image": "{{ image }}", "name": "{{ container_name }}"}],
        "cpu": "{{ cpu }}",
        "family": "{{ family }}",
        "memory": "{{ memory }}",
        "executionRoleArn": "{{ execution_role_arn }}",
        "runtimePlatform": {"cpuArchitecture": "{{ cpu_architecture }}", "operatingSystemFamily": "LINUX"}
    });
    if size.is_some_and(|z| z.storage_gib > 20) {
        td["ephemeralStorage"] = json!({"sizeInGiB": "{{ ephemeral_storage_gib }}"});
    }
    if init {
        td["containerDefinitions"][0]["linuxParameters"] = json!({"initProcessEnabled": true});
    }
    td
}

/// Each deployment's own job variables, by scenario flow name: its flow's size and platform
/// when the flows differ (a work pool has one default), and its own strategy when the choice
/// gives it one. Flows that need nothing of their own are absent.
pub fn deployment_job_variables(
    s: &Scenario,
    c: &Choice,
) -> Vec<crate::deploy::deployments::DeploymentWant> {
    let sizes = common_size(s).is_none();
    s.flows
        .iter()
        .filter_map(|f| {
            let mut v = serde_json::Map::new();
            if sizes {
                v.insert("cpu".into(), json!(f.size.cpu.0));
                v.insert("memory".into(), json!(f.size.memory.0));
                v.insert("cpu_architecture".into(), json!(arch_name(f.size.arch)));
                if f.size.storage_gib > 20 {
                    v.insert("ephemeral_storage_gib".into(), json!(f.size.storage_gib));
                }
            }
            if let Some(Value::Object(own)) = c.deployments.get(&f.name) {
                v.extend(own.clone());
            }
            // its own retry policy: its SIGTERM setting in its own env (an empty one when it
            // has none, so that it does not inherit the pool's)
            if let Some(env) = c
                .deployment_retry
                .get(&f.name)
                .and_then(|own| own.env_within(&c.retry))
            {
                let env: serde_json::Map<String, Value> = env
                    .into_iter()
                    .map(|(k, x)| (k.to_string(), json!(x)))
                    .collect();
                v.insert("env".into(), Value::Object(env));
            }
            (!v.is_empty()).then(|| crate::deploy::deployments::DeploymentWant {
                flow: f.name.clone(),
                job_variables: Value::Object(v),
            })
        })
        .collect()
}

/// The Prefect ECS work pool's base job template (prefect-aws `ECSWorker`): the job
/// configuration of the default template, with variable defaults set from the choice.
pub(crate) fn base_job_template(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> Value {
    let strategy = c.strategy.to_ecs_json();
    let mut env = serde_json::Map::new();
    for (k, v) in c.retry.job_env() {
        env.insert(k.into(), json!(v));
    }
    let nullable = |t: &str| json!({"anyOf": [{"type": t}, {"type": "null"}]});
    let mut props = serde_json::Map::new();
    let mut var = |name: &str, mut schema: Value, title: &str, default: Option<Value>| {
        schema["title"] = json!(title);
        if let Some(d) = default {
            schema["default"] = d;
        }
        props.insert(name.into(), schema);
    };
    var(
        "capacity_provider_strategy",
        json!({"type": "array", "items": {"$ref": "#/definitions/CapacityProvider"},
        "description": "Chosen by spotplan; sent with every RunTask, so the launch type is not."}),
        "Capacity Provider Strategy",
        Some(strategy.clone()),
    );
    var(
        "launch_type",
        json!({"anyOf": [{"type": "string", "enum": ["FARGATE", "EC2", "EXTERNAL", "FARGATE_SPOT"]}, {"type": "null"}],
        "description": "Ignored while capacity_provider_strategy is set."}),
        "Launch Type",
        Some(json!("FARGATE")),
    );
    var(
        "cluster",
        nullable("string"),
        "Cluster",
        Some(json!(n.cluster)),
    );
    var(
        "env",
        json!({"type": "object", "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "null"}]}}),
        "Environment Variables",
        Some(Value::Object(env)),
    );
    var(
        "image",
        nullable("string"),
        "Image",
        d.flow_image.clone().map(Value::from),
    );
    // the flows' size and platform, as simulated and priced (a pool default when every flow
    // shares them; otherwise each deployment's job variables, `prefect/deployments.json`)
    let size = common_size(s);
    var(
        "cpu",
        nullable("integer"),
        "CPU",
        size.map(|z| json!(z.cpu.0)),
    );
    var(
        "memory",
        nullable("integer"),
        "Memory",
        size.map(|z| json!(z.memory.0)),
    );
    var(
        "cpu_architecture",
        json!({"type": "string", "enum": ["X86_64", "ARM64"],
        "description": "The task's CPU architecture (runtimePlatform), as spotplan priced it."}),
        "CPU Architecture",
        Some(json!(size.map_or("X86_64", |z| arch_name(z.arch)))),
    );
    var(
        "ephemeral_storage_gib",
        json!({"type": "integer", "minimum": 21, "maximum": 200,
        "description": "Ephemeral storage above the 20 GiB included, as spotplan priced it."}),
        "Ephemeral Storage (GiB)",
        size.filter(|z| z.storage_gib > 20)
            .map(|z| json!(z.storage_gib)),
    );
    var(
        "vpc_id",
        nullable("string"),
        "VPC ID",
        Some(json!(d.vpc_id)),
    );
    var(
        "prefect_api_key_secret_arn",
        nullable("string"),
        "Prefect API Key Secret ARN",
        Some(json!(d.api_key_parameter)),
    );
    var(
        "network_configuration",
        json!({"type": "object"}),
        "Network Configuration",
        Some(network(d)["awsvpcConfiguration"].clone()),
    );
    var(
        "execution_role_arn",
        nullable("string"),
        "Execution Role ARN",
        Some(json!(n.flow_execution_role_arn)),
    );
    var(
        "task_role_arn",
        nullable("string"),
        "Task Role ARN",
        n.flow_task_role_arn.clone().map(Value::from),
    );
    var(
        "task_definition_arn",
        nullable("string"),
        "Task Definition Arn",
        None,
    );
    var("family", nullable("string"), "Family", None);
    var("container_name", nullable("string"), "Container Name", None);
    var("name", nullable("string"), "Name", None);
    var("command", nullable("string"), "Command", None);
    var(
        "labels",
        json!({"type": "object", "additionalProperties": {"type": "string"}}),
        "Labels",
        Some(json!({super::workpool::VERSION_LABEL: env!("CARGO_PKG_VERSION")})),
    );
    var("stream_output", nullable("boolean"), "Stream Output", None);
    var(
        "configure_cloudwatch_logs",
        nullable("boolean"),
        "Configure Cloudwatch Logs",
        Some(json!(true)),
    );
    var(
        "cloudwatch_logs_options",
        json!({"type": "object", "additionalProperties": {"type": "string"}}),
        "Cloudwatch Logs Options",
        None,
    );
    var(
        "cloudwatch_logs_prefix",
        nullable("string"),
        "Cloudwatch Logs Prefix",
        None,
    );
    var(
        "task_start_timeout_seconds",
        json!({"type": "integer"}),
        "Task Start Timeout Seconds",
        Some(json!(300)),
    );
    var(
        "task_watch_poll_interval",
        json!({"type": "number"}),
        "Task Watch Poll Interval",
        Some(json!(5.0)),
    );
    var(
        "auto_deregister_task_definition",
        json!({"type": "boolean"}),
        "Auto Deregister Task Definition",
        Some(json!(false)),
    );
    var(
        "match_latest_revision_in_family",
        json!({"type": "boolean"}),
        "Match Latest Revision In Family",
        Some(json!(true)),
    );
    json!({
        "job_configuration": {
            "command": "{{ command }}",
            "env": "{{ env }}",
            "labels": "{{ labels }}",
            "name": "{{ name }}",
            "task_definition": task_definition_template(
                size,
                s.flows.iter().any(|f| f.sigterm.0 != crate::scenario::Sigterm::Init)
            ),
            "task_run_request": {
                "launchType": "{{ launch_type }}",
                "cluster": "{{ cluster }}",
                "overrides": {
                    "containerOverrides": [{
                        "name": "{{ container_name }}", "command": "{{ command }}", "environment": "{{ env }}",
                        "cpu": "{{ cpu }}", "memory": "{{ memory }}"
                    }],
                    "cpu": "{{ cpu }}",
                    "memory": "{{ memory }}",
                    "taskRoleArn": "{{ task_role_arn }}"
                },
                "tags": "{{ labels }}",
                "taskDefinition": "{{ task_definition_arn }}",
                "capacityProviderStrategy": "{{ capacity_provider_strategy }}"
            },
            "configure_cloudwatch_logs": "{{ configure_cloudwatch_logs }}",
            "cloudwatch_logs_options": "{{ cloudwatch_logs_options }}",
            "cloudwatch_logs_prefix": "{{ cloudwatch_logs_prefix }}",
            "network_configuration": "{{ network_configuration }}",
            "stream_output": "{{ stream_output }}",
            "task_start_timeout_seconds": "{{ task_start_timeout_seconds }}",
            "task_watch_poll_interval": "{{ task_watch_poll_interval }}",
            "auto_deregister_task_definition": "{{ auto_deregister_task_definition }}",
            "vpc_id": "{{ vpc_id }}",
            "container_name": "{{ container_name }}",
            "cluster": "{{ cluster }}",
            "match_latest_revision_in_family": "{{ match_latest_revision_in_family }}",
            "execution_role_arn": "{{ execution_role_arn }}",
            "prefect_api_key_secret_arn": "{{ prefect_api_key_secret_arn }}"
        },
        "variables": {
            "description": format!("ECS job variables written by spotplan ({})", c.origin),
            "type": "object",
            "definitions": {"CapacityProvider": {
                "type": "object", "title": "CapacityProvider", "required": ["capacityProvider", "weight", "base"],
                "properties": {"capacityProvider": {"type": "string"}, "weight": {"type": "integer"}, "base": {"type": "integer"}}
            }},
            "properties": Value::Object(props)
        }
    })
}

/// The fallback automation and its guard ([`crate::deploy::automation::scoped_bodies_for`]),
/// when some deployment's retry policy relies on them, limited to those deployments.
pub fn fallback_automations(s: &Scenario, d: &DeployInputs, c: &Choice) -> Vec<Value> {
    match c.automation_scope(s) {
        Some(scope) => crate::deploy::automation::scoped_bodies_for(&d.work_pool, &scope),
        None => Vec::new(),
    }
}
