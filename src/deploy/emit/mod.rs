//! The artefacts `emit` writes: AWS CLI inputs and a script for the cluster, the worker's task
//! definition and service, IAM policies, the Prefect work pool's base job template, and the
//! same as CloudFormation and Terraform. Pure: scenario + inputs in, (path, text) out.

use serde_json::{Value, json};

use super::inputs::DeployInputs;
use super::task_definition::{ContainerSpec, TaskDefinitionSpec};
use crate::model::{Architecture, Strategy};
use crate::scenario::{RetryPolicy, Scenario, WorkerKind};

mod cli;
mod cloudformation;
mod iam;
mod prefect;
mod terraform;

use cli::{cluster_script, worker_script};
use cloudformation::cloudformation;
use iam::{execution_policy, task_policy, trust};
use prefect::{base_job_template, deployments_json, prefect_yaml, work_pool_script};
pub use prefect::{deployment_job_variables, fallback_automation};
use terraform::terraform;

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
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// The names and ARNs every artefact shares.
struct Names {
    cluster: String,
    family: String,
    execution_role_name: String,
    task_role_name: String,
    execution_role_arn: String,
    task_role_arn: String,
    flow_execution_role_arn: String,
    flow_task_role_arn: Option<String>,
    log_group_arn: String,
    cluster_arn: String,
    /// The worker's crash-detection feed (Prefect 3 ECS workers).
    feed: Option<super::events::Feed>,
}

fn names(s: &Scenario, d: &DeployInputs) -> Names {
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

fn capacity_providers(s: &Scenario, c: &Choice) -> Vec<String> {
    let mut v = s.cluster.capacity_providers.clone();
    for i in &c.strategy.items {
        if !v.iter().any(|p| p == i.provider.ecs_name()) {
            v.push(i.provider.ecs_name().to_string());
        }
    }
    v
}

fn container(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> ContainerSpec {
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
    let mut environment = vec![(env_name.to_string(), d.prefect_api_url.clone())];
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

fn arch(s: &Scenario) -> &'static str {
    match s.worker.size.arch {
        Architecture::X86_64 => "X86_64",
        Architecture::Arm64 => "ARM64",
    }
}

fn task_definition(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> TaskDefinitionSpec {
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

fn network(d: &DeployInputs) -> Value {
    json!({"awsvpcConfiguration": {
        "subnets": d.subnets,
        "securityGroups": d.security_groups,
        "assignPublicIp": if d.assign_public_ip { "ENABLED" } else { "DISABLED" }
    }})
}

/// The worker service runs on on-demand FARGATE: a spot interruption of the worker would
/// stop every submission.
/// The worker's service runs on on-demand FARGATE.
fn worker_strategy() -> Strategy {
    Strategy::only(crate::model::Provider::Fargate)
}

/// The size every flow shares, if they all share one.
fn common_size(s: &Scenario) -> Option<crate::model::TaskSize> {
    let first = s.flows.first()?.size;
    s.flows.iter().all(|f| f.size == first).then_some(first)
}

fn arch_name(a: crate::model::Architecture) -> &'static str {
    match a {
        crate::model::Architecture::Arm64 => "ARM64",
        _ => "X86_64",
    }
}

/// Every artefact, as (path relative to the output directory, content).
pub fn artefacts(s: &Scenario, d: &DeployInputs, c: &Choice) -> Vec<(String, String)> {
    let n = names(s, d);
    let strategy = c.strategy.to_ecs_json();
    let providers = capacity_providers(s, c);
    let mut out = vec![
        (
            "cluster/create-cluster.json".to_string(),
            pretty(&json!({
                "clusterName": n.cluster, "capacityProviders": providers, "defaultCapacityProviderStrategy": strategy
            })),
        ),
        (
            "cluster/put-cluster-capacity-providers.json".into(),
            pretty(&json!({
                "cluster": n.cluster, "capacityProviders": providers, "defaultCapacityProviderStrategy": strategy
            })),
        ),
        ("cluster/apply.sh".into(), cluster_script(d, &n)),
        (
            "worker/task-definition.json".into(),
            pretty(&task_definition(s, d, &n, c).to_json()),
        ),
        (
            "worker/create-service.json".into(),
            pretty(&json!({
                "cluster": n.cluster, "serviceName": d.service_name, "taskDefinition": n.family,
                "desiredCount": s.worker.count, "capacityProviderStrategy": worker_strategy().to_ecs_json(),
                "networkConfiguration": network(d)
            })),
        ),
        (
            "worker/update-service.json".into(),
            pretty(&json!({
                "cluster": n.cluster, "service": d.service_name, "taskDefinition": n.family,
                "desiredCount": s.worker.count, "capacityProviderStrategy": worker_strategy().to_ecs_json(),
                "networkConfiguration": network(d), "forceNewDeployment": true
            })),
        ),
        ("worker/apply.sh".into(), worker_script(d, &n)),
        ("iam/ecs-tasks-trust-policy.json".into(), pretty(&trust(d))),
        (
            "iam/execution-role-policy.json".into(),
            pretty(&execution_policy(d, &n)),
        ),
        (
            "iam/worker-task-role-policy.json".into(),
            pretty(&task_policy(d, &n)),
        ),
        (
            "cloudformation.json".into(),
            pretty(&cloudformation(s, d, &n, c)),
        ),
        ("terraform/main.tf".into(), terraform(s, d, &n, c)),
    ];
    if let Some(f) = &n.feed {
        out.extend(f.cli_files());
    }
    match s.worker.kind {
        WorkerKind::Prefect1EcsAgent => out.push((
            "prefect/run-task-kwargs.json".into(),
            pretty(&json!({"cluster": n.cluster, "capacityProviderStrategy": strategy, "networkConfiguration": network(d)})),
        )),
        _ => {
            out.push(("prefect/base-job-template.json".into(), pretty(&base_job_template(s, d, &n, c))));
            let own = deployment_job_variables(s, c);
            if !own.is_empty() {
                out.push(("prefect/deployments.json".into(), pretty(&deployments_json(&own))));
                out.push(("prefect/prefect.yaml".into(), prefect_yaml(&d.work_pool, &own)));
            }
            if let Some(body) = fallback_automation(d, c) {
                out.push(("prefect/automation.json".into(), pretty(&body)));
            }
            out.push(("prefect/work-pool.sh".into(), work_pool_script(d, c)));
        }
    }
    out
}

/// The state `apply` makes the account hold: the same cluster, task definition and service
/// the emitted files describe.
pub fn desired(s: &Scenario, d: &DeployInputs, c: &Choice) -> super::state::Desired {
    use super::state::{ClusterState, Desired, Item, ServiceState, TaskDefinitionState};
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
    }
}

/// The worker's crash-detection feed: Prefect 3 ECS workers (prefect-aws's observer) only.
fn crash_feed(s: &Scenario, d: &DeployInputs) -> Option<super::events::Feed> {
    (s.worker.kind != WorkerKind::Prefect1EcsAgent)
        .then(|| super::events::feed(&d.work_pool, &d.region, &d.account_id, &s.cluster.name))
}

/// The work pool `apply --prefect-api-url` makes the Prefect API hold: type `ecs`, the base
/// job template `prefect/base-job-template.json` holds, the scenario's concurrency limit.
pub fn work_pool(s: &Scenario, d: &DeployInputs, c: &Choice) -> super::workpool::PoolState {
    super::workpool::PoolState {
        name: d.work_pool.clone(),
        kind: "ecs".into(),
        base_job_template: base_job_template(s, d, &names(s, d), c),
        concurrency_limit: s.worker.concurrency_limit,
    }
}
