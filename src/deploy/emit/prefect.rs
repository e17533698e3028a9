//! The Prefect side: the ECS work pool's base job template, each deployment's job variables
//! (`prefect/deployments.json`, `prefect/prefect.yaml`), the fallback automation, and the script
//! that loads them with Prefect's CLI.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::*;

/// The flow task definition prefect-aws registers: the runtime platform always (ECS would
/// otherwise run x86_64 Linux), ephemeral storage only when the flows need more than the
/// 20 GiB included (a template placeholder cannot drop a whole object).
pub(super) fn task_definition_template(size: Option<crate::model::TaskSize>) -> Value {
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
            (!v.is_empty()).then(|| crate::deploy::deployments::DeploymentWant {
                flow: f.name.clone(),
                job_variables: Value::Object(v),
            })
        })
        .collect()
}

/// `prefect/deployments.json`: each deployment's job variables, keyed by flow name.
pub(super) fn deployments_json(want: &[crate::deploy::deployments::DeploymentWant]) -> Value {
    Value::Object(
        want.iter()
            .map(|w| (w.flow.clone(), json!({ "job_variables": w.job_variables })))
            .collect(),
    )
}

/// `prefect/prefect.yaml`: the `deployments` entries to merge into the project's
/// `prefect.yaml` (the work pool and each deployment's job variables; JSON is YAML).
pub(super) fn prefect_yaml(
    pool: &str,
    want: &[crate::deploy::deployments::DeploymentWant],
) -> String {
    let mut o = String::from(
        "# Written by `spotplan emit`: merge these entries into your project's prefect.yaml (keep\n\
         # your entrypoints, parameters and schedules), then `prefect deploy`. `spotplan apply\n\
         # --prefect-api-url` sets the same job variables on deployments that already exist.\n\
         deployments:\n",
    );
    for w in want {
        let _ = write!(
            o,
            "  - name: {}\n    work_pool:\n      name: {}\n      job_variables: {}\n",
            serde_json::to_string(&w.flow).unwrap_or_default(),
            serde_json::to_string(pool).unwrap_or_default(),
            w.job_variables
        );
    }
    o
}

/// The Prefect ECS work pool's base job template (prefect-aws `ECSWorker`): the job
/// configuration of the default template, with variable defaults set from the choice.
pub(super) fn base_job_template(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> Value {
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
        None,
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
    let _ = s;
    json!({
        "job_configuration": {
            "command": "{{ command }}",
            "env": "{{ env }}",
            "labels": "{{ labels }}",
            "name": "{{ name }}",
            "task_definition": task_definition_template(size),
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

pub(super) fn work_pool_script(d: &DeployInputs, c: &Choice) -> String {
    let mut o = format!(
        r#"#!/usr/bin/env bash
# Generated by spotplan emit: creates or updates the Prefect work pool `{pool}` with the base job
# template that carries the capacity provider strategy{env}. Without it the Prefect 3 ECS worker
# sends launchType=FARGATE and no run ever goes to FARGATE_SPOT. Needs PREFECT_API_URL and
# PREFECT_API_KEY in the environment.
set -euo pipefail
cd "$(dirname "$0")"
prefect work-pool create '{pool}' --type ecs --base-job-template base-job-template.json --overwrite
"#,
        pool = d.work_pool,
        env = c
            .retry
            .job_env()
            .iter()
            .map(|(k, v)| format!(" and {k}={v}"))
            .collect::<String>()
    );
    if fallback_automation(d, c).is_some() {
        let _ = write!(
            o,
            r#"# the fallback automation of the retry policy (a Crashed run is run again on FARGATE):
# created once, then updated in place. Its id comes from the REST API: `prefect automation
# inspect --json` wraps long lines at the terminal's width, which breaks the JSON.
name='{name}'
id=$(python3 - "$name" <<'PY'
import json, os, sys, urllib.request
req = urllib.request.Request(
    os.environ["PREFECT_API_URL"].rstrip("/") + "/automations/filter",
    data=json.dumps({{"automations": {{"name": {{"any_": [sys.argv[1]]}}}}}}).encode(),
    headers={{"Content-Type": "application/json"}},
)
if os.environ.get("PREFECT_API_KEY"):
    req.add_header("Authorization", "Bearer " + os.environ["PREFECT_API_KEY"])
found = json.load(urllib.request.urlopen(req))
print(found[0]["id"] if found else "")
PY
)
if [ -n "$id" ]; then
  prefect automation update --id "$id" --from-file automation.json
else
  prefect automation create --from-file automation.json
fi
"#,
            name = crate::deploy::automation::name_for(&d.work_pool).replace('\'', "'\\''")
        );
    }
    o
}

/// The fallback automation's body, when the retry policy relies on one.
pub fn fallback_automation(d: &DeployInputs, c: &Choice) -> Option<Value> {
    c.retry
        .fallback_automation()
        .then(|| crate::deploy::automation::body_for(&d.work_pool))
}
