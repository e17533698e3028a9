//! The artefacts `emit` writes: AWS CLI inputs and a script for the cluster, the worker's task
//! definition and service, IAM policies, the Prefect work pool's base job template, and the
//! same as CloudFormation and Terraform, and the Cost Explorer query of the billed month. Pure: scenario + inputs in, (path, text) out.

use serde_json::{Value, json};

use super::desired::{
    Choice, capacity_providers, deployment_job_variables, fallback_automations, names, network,
    task_definition, worker_strategy,
};
use super::inputs::DeployInputs;
use crate::scenario::{Scenario, WorkerKind};

mod billing;
mod cli;
mod cloudformation;
mod iam;
mod prefect;
mod terraform;
mod uniform_progress;

use super::desired::base_job_template;
pub use billing::BILLING_NOTE;
use cli::{cluster_script, worker_script};
use cloudformation::cloudformation;
use iam::{execution_policy, task_policy, trust};
use prefect::{deployments_json, prefect_yaml, work_pool_script};
use terraform::terraform;

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
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
            for (body, file) in fallback_automations(s, d, c)
                .iter()
                .zip(["automation.json", "automation-guard.json"])
            {
                out.push((format!("prefect/{file}"), pretty(body)));
            }
            out.push(("prefect/work-pool.sh".into(), work_pool_script(s, d, c)));
            if let Some(py) = uniform_progress::controller(s, d, c) {
                out.push(("prefect/uniform_progress.py".into(), py));
            }
            out.extend(billing::files(&d.work_pool));
        }
    }
    out
}
