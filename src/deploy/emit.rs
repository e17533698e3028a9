//! The artefacts `emit` writes: AWS CLI inputs and a script for the cluster, the worker's task
//! definition and service, IAM policies, the Prefect work pool's base job template, and the
//! same as CloudFormation and Terraform. Pure: scenario + inputs in, (path, text) out.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::inputs::DeployInputs;
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
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// The strategy as ECS API JSON.
pub fn strategy_json(s: &Strategy) -> Value {
    Value::Array(
        s.items
            .iter()
            .map(|i| json!({"capacityProvider": i.provider.ecs_name(), "weight": i.weight, "base": i.base}))
            .collect(),
    )
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

fn reschedule(c: &Choice) -> bool {
    matches!(
        c.retry,
        RetryPolicy::Prefect3 {
            reschedule: true,
            ..
        }
    )
}

fn container(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> Value {
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
    let mut environment = vec![json!({"name": env_name, "value": d.prefect_api_url})];
    if let Some(f) = &n.feed {
        environment.extend(f.worker_env());
    }
    json!({
        "name": "prefect-worker",
        "image": d.worker_image,
        "essential": true,
        "command": command,
        "environment": environment,
        "secrets": [{"name": key_name, "valueFrom": d.api_key_parameter}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": d.log_group, "awslogs-region": d.region, "awslogs-stream-prefix": "worker"}
        }
    })
}

fn arch(s: &Scenario) -> &'static str {
    match s.worker.size.arch {
        Architecture::X86_64 => "X86_64",
        Architecture::Arm64 => "ARM64",
    }
}

fn task_definition(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> Value {
    json!({
        "family": n.family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": s.worker.size.cpu.0.to_string(),
        "memory": s.worker.size.memory.0.to_string(),
        "runtimePlatform": {"cpuArchitecture": arch(s), "operatingSystemFamily": "LINUX"},
        "executionRoleArn": n.execution_role_arn,
        "taskRoleArn": n.task_role_arn,
        "containerDefinitions": [container(s, d, n, c)]
    })
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
fn worker_strategy() -> Value {
    json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}])
}

fn trust(d: &DeployInputs) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": d.account_id},
                "ArnLike": {"aws:SourceArn": format!("arn:aws:ecs:{}:{}:*", d.region, d.account_id)}
            }
        }]
    })
}

fn execution_policy(d: &DeployInputs, n: &Names) -> Value {
    let mut policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PullImages", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
            {"Sid": "PullFromThisAccount", "Effect": "Allow",
             "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
             "Resource": format!("arn:aws:ecr:{}:{}:repository/*", d.region, d.account_id)},
            {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [format!("{}:*", n.log_group_arn), format!("arn:aws:logs:{}:{}:log-group:prefect*:*", d.region, d.account_id)]},
            {"Sid": "CreateFlowLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogGroup"],
             "Resource": format!("arn:aws:logs:{}:{}:log-group:prefect*", d.region, d.account_id)},
            {"Sid": "ReadPrefectApiKey", "Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": d.api_key_parameter}
        ]
    });
    // a parameter encrypted with a customer-managed key: ECS decrypts it with the execution
    // role when it starts the worker and every flow run (the key reaches them as a secret)
    if let Some(key) = &d.api_key_kms_key
        && let Some(st) = policy["Statement"].as_array_mut()
    {
        st.push(json!({"Sid": "DecryptPrefectApiKey", "Effect": "Allow", "Action": ["kms:Decrypt"],
            "Resource": key,
            "Condition": {"StringEquals": {"kms:ViaService": format!("ssm.{}.amazonaws.com", d.region)}}}));
    }
    policy
}

fn task_policy(d: &DeployInputs, n: &Names) -> Value {
    let mut pass = vec![n.flow_execution_role_arn.clone()];
    if let Some(r) = &n.flow_task_role_arn {
        pass.push(r.clone());
    }
    let mut p = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "RunFlowTasksInThisCluster", "Effect": "Allow", "Action": ["ecs:RunTask"],
             "Resource": format!("arn:aws:ecs:{}:{}:task-definition/*", d.region, d.account_id),
             "Condition": {"ArnEquals": {"ecs:cluster": n.cluster_arn}}},
            {"Sid": "WatchAndStopFlowTasks", "Effect": "Allow", "Action": ["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"],
             "Resource": format!("arn:aws:ecs:{}:{}:task/{}/*", d.region, d.account_id, n.cluster)},
            {"Sid": "TaskDefinitions", "Effect": "Allow",
             "Action": ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:ListTaskDefinitions"],
             "Resource": "*"},
            {"Sid": "DescribeNetwork", "Effect": "Allow", "Action": ["ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeSecurityGroups"], "Resource": "*"},
            {"Sid": "ReadFlowLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents"],
             "Resource": format!("arn:aws:logs:{}:{}:log-group:prefect*:*", d.region, d.account_id)},
            {"Sid": "PassFlowRoles", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": pass,
             "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}
        ]
    });
    if let (Some(f), Some(st)) = (&n.feed, p["Statement"].as_array_mut()) {
        st.push(f.worker_statement());
    }
    p
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

/// The flow task definition prefect-aws registers: the runtime platform always (ECS would
/// otherwise run x86_64 Linux), ephemeral storage only when the flows need more than the
/// 20 GiB included (a template placeholder cannot drop a whole object).
fn task_definition_template(size: Option<crate::model::TaskSize>) -> Value {
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
) -> Vec<super::deployments::DeploymentWant> {
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
            (!v.is_empty()).then(|| super::deployments::DeploymentWant {
                flow: f.name.clone(),
                job_variables: Value::Object(v),
            })
        })
        .collect()
}

/// `prefect/deployments.json`: each deployment's job variables, keyed by flow name.
fn deployments_json(want: &[super::deployments::DeploymentWant]) -> Value {
    Value::Object(
        want.iter()
            .map(|w| (w.flow.clone(), json!({ "job_variables": w.job_variables })))
            .collect(),
    )
}

/// `prefect/prefect.yaml`: the `deployments` entries to merge into the project's
/// `prefect.yaml` (the work pool and each deployment's job variables; JSON is YAML).
fn prefect_yaml(pool: &str, want: &[super::deployments::DeploymentWant]) -> String {
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
fn base_job_template(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> Value {
    let strategy = strategy_json(&c.strategy);
    let mut env = serde_json::Map::new();
    if reschedule(c) {
        env.insert(
            "PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR".into(),
            json!("reschedule"),
        );
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

fn cluster_script(d: &DeployInputs, n: &Names) -> String {
    format!(
        r#"#!/usr/bin/env bash
# Generated by spotplan emit: makes cluster `{cluster}` ({region}) carry the capacity providers
# and default strategy of put-cluster-capacity-providers.json. PutClusterCapacityProviders
# replaces the whole list, so providers already on the cluster (an ASG provider, say) are
# listed again and kept.
set -euo pipefail
cd "$(dirname "$0")"
REGION="${{AWS_REGION:-{region}}}"
status=$(aws ecs describe-clusters --region "$REGION" --clusters {cluster} \
  --query 'clusters[0].status' --output text 2>/dev/null || true)
if [ "$status" = "ACTIVE" ]; then
  existing=$(aws ecs describe-clusters --region "$REGION" --clusters {cluster} \
    --query 'clusters[0].capacityProviders' --output json)
  merged=$(python3 -c 'import json,sys
want = json.load(open("put-cluster-capacity-providers.json"))
have = json.loads(sys.argv[1]) or []
want["capacityProviders"] += [p for p in have if p not in want["capacityProviders"]]
print(json.dumps(want))' "$existing")
  aws ecs put-cluster-capacity-providers --region "$REGION" --cli-input-json "$merged"
else
  aws ecs create-cluster --region "$REGION" --cli-input-json file://create-cluster.json
fi
"#,
        cluster = n.cluster,
        region = d.region
    )
}

fn worker_script(d: &DeployInputs, n: &Names) -> String {
    format!(
        r#"#!/usr/bin/env bash
# Generated by spotplan emit: registers the worker's task definition and creates or updates
# its service (on-demand FARGATE) in cluster `{cluster}`. Create the log group and the roles
# (iam/) first, or deploy cloudformation.json / terraform/ instead.
set -euo pipefail
cd "$(dirname "$0")"
REGION="${{AWS_REGION:-{region}}}"
aws logs create-log-group --region "$REGION" --log-group-name '{log_group}' 2>/dev/null || true
aws ecs register-task-definition --region "$REGION" --cli-input-json file://task-definition.json >/dev/null
status=$(aws ecs describe-services --region "$REGION" --cluster {cluster} --services {service} \
  --query 'services[0].status' --output text 2>/dev/null || true)
if [ "$status" = "ACTIVE" ]; then
  aws ecs update-service --region "$REGION" --cli-input-json file://update-service.json >/dev/null
else
  aws ecs create-service --region "$REGION" --cli-input-json file://create-service.json >/dev/null
fi
"#,
        cluster = n.cluster,
        region = d.region,
        log_group = d.log_group,
        service = d.service_name
    )
}

fn cloudformation(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> Value {
    let cfn_strategy = |v: &Value| -> Value {
        Value::Array(
            v.as_array()
                .into_iter()
                .flatten()
                .map(|i| json!({"CapacityProvider": i["capacityProvider"], "Weight": i["weight"], "Base": i["base"]}))
                .collect(),
        )
    };
    let mut resources = serde_json::Map::new();
    resources.insert(
        "Cluster".into(),
        json!({
            "Type": "AWS::ECS::Cluster",
            "Properties": {"ClusterName": n.cluster}
        }),
    );
    resources.insert(
        "ClusterCapacityProviders".into(),
        json!({
            "Type": "AWS::ECS::ClusterCapacityProviderAssociations",
            "Properties": {
                "Cluster": {"Ref": "Cluster"},
                "CapacityProviders": capacity_providers(s, c),
                "DefaultCapacityProviderStrategy": cfn_strategy(&strategy_json(&c.strategy))
            }
        }),
    );
    resources.insert(
        "WorkerLogGroup".into(),
        json!({
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": d.log_group, "RetentionInDays": 30}
        }),
    );
    let exec_ref = if d.execution_role_arn.is_none() {
        resources.insert("ExecutionRole".into(), json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": n.execution_role_name,
                "AssumeRolePolicyDocument": trust(d),
                "Policies": [{"PolicyName": "prefect-worker-execution", "PolicyDocument": execution_policy(d, n)}]
            }
        }));
        json!({"Fn::GetAtt": ["ExecutionRole", "Arn"]})
    } else {
        json!(n.execution_role_arn)
    };
    let task_ref = if d.task_role_arn.is_none() {
        resources.insert("TaskRole".into(), json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": n.task_role_name,
                "AssumeRolePolicyDocument": trust(d),
                "Policies": [{"PolicyName": "prefect-worker", "PolicyDocument": task_policy(d, n)}]
            }
        }));
        json!({"Fn::GetAtt": ["TaskRole", "Arn"]})
    } else {
        json!(n.task_role_arn)
    };
    let cont = container(s, d, n, c);
    let cfn_kv = |v: &Value| -> Value {
        Value::Array(
            v.as_array()
                .into_iter()
                .flatten()
                .map(|e| json!({"Name": e["name"], "Value": e["value"]}))
                .collect(),
        )
    };
    for (id, r) in n.feed.iter().flat_map(|f| f.cloudformation()) {
        resources.insert(id, r);
    }
    resources.insert("WorkerTaskDefinition".into(), json!({
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Family": n.family,
            "NetworkMode": "awsvpc",
            "RequiresCompatibilities": ["FARGATE"],
            "Cpu": s.worker.size.cpu.0.to_string(),
            "Memory": s.worker.size.memory.0.to_string(),
            "RuntimePlatform": {"CpuArchitecture": arch(s), "OperatingSystemFamily": "LINUX"},
            "ExecutionRoleArn": exec_ref,
            "TaskRoleArn": task_ref,
            "ContainerDefinitions": [{
                "Name": cont["name"],
                "Image": cont["image"],
                "Essential": true,
                "Command": cont["command"],
                "Environment": cfn_kv(&cont["environment"]),
                "Secrets": [{"Name": cont["secrets"][0]["name"], "ValueFrom": {"Ref": "PrefectApiKeyParameterArn"}}],
                "LogConfiguration": {"LogDriver": "awslogs", "Options": {
                    "awslogs-group": {"Ref": "WorkerLogGroup"}, "awslogs-region": {"Ref": "AWS::Region"}, "awslogs-stream-prefix": "worker"}}
            }]
        }
    }));
    resources.insert("WorkerService".into(), json!({
        "Type": "AWS::ECS::Service",
        "DependsOn": ["ClusterCapacityProviders"],
        "Properties": {
            "Cluster": {"Ref": "Cluster"},
            "ServiceName": d.service_name,
            "TaskDefinition": {"Ref": "WorkerTaskDefinition"},
            "DesiredCount": s.worker.count,
            "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1, "Base": 0}],
            "NetworkConfiguration": {"AwsvpcConfiguration": {
                "Subnets": d.subnets, "SecurityGroups": d.security_groups,
                "AssignPublicIp": if d.assign_public_ip { "ENABLED" } else { "DISABLED" }}}
        }
    }));
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("Prefect ECS worker and cluster `{}` with the capacity provider strategy chosen by spotplan ({})", n.cluster, c.origin),
        "Parameters": {"PrefectApiKeyParameterArn": {
            "Type": "String", "Default": d.api_key_parameter,
            "Description": "ARN of the SSM SecureString parameter holding the Prefect API key (the key itself is never in this template)"}},
        "Resources": Value::Object(resources),
        "Outputs": {
            "ClusterArn": {"Value": {"Fn::GetAtt": ["Cluster", "Arn"]}},
            "WorkerService": {"Value": {"Ref": "WorkerService"}}
        }
    })
}

/// A JSON value as an HCL expression, laid out as `terraform fmt` lays it out (inside
/// `jsonencode(...)` it yields the same JSON); `${` and `%{` are escaped.
fn hcl(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Object(m) => {
            let body: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{} : {}", hcl(&json!(k)), hcl(v)))
                .collect();
            format!("{{ {} }}", body.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(hcl).collect::<Vec<_>>().join(", ")),
        Value::String(_) => serde_json::to_string(v)
            .unwrap_or_default()
            .replace("${", "$${")
            .replace("%{", "%%{"),
        other => other.to_string(),
    }
}

fn terraform(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> String {
    let mut o = String::new();
    let strategy_blocks: String = c
        .strategy
        .items
        .iter()
        .map(|i| format!("  default_capacity_provider_strategy {{\n    capacity_provider = \"{}\"\n    weight            = {}\n    base              = {}\n  }}\n", i.provider.ecs_name(), i.weight, i.base))
        .collect();
    let providers = capacity_providers(s, c)
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    o.push_str(&format!(
        "# Generated by spotplan emit ({origin}).\n\nterraform {{\n  required_providers {{\n    aws = {{\n      source = \"hashicorp/aws\"\n    }}\n  }}\n}}\n\nprovider \"aws\" {{\n  region = \"{region}\"\n}}\n\nresource \"aws_ecs_cluster\" \"this\" {{\n  name = \"{cluster}\"\n}}\n\nresource \"aws_ecs_cluster_capacity_providers\" \"this\" {{\n  cluster_name       = aws_ecs_cluster.this.name\n  capacity_providers = [{providers}]\n\n{strategy_blocks}}}\n\nresource \"aws_cloudwatch_log_group\" \"worker\" {{\n  name              = \"{lg}\"\n  retention_in_days = 30\n}}\n\n",
        origin = c.origin,
        region = d.region,
        cluster = n.cluster,
        lg = d.log_group
    ));
    let exec = if d.execution_role_arn.is_none() {
        o.push_str(&format!(
            "resource \"aws_iam_role\" \"execution\" {{\n  name               = \"{}\"\n  assume_role_policy = jsonencode({})\n}}\n\nresource \"aws_iam_role_policy\" \"execution\" {{\n  name   = \"prefect-worker-execution\"\n  role   = aws_iam_role.execution.id\n  policy = jsonencode({})\n}}\n\n",
            n.execution_role_name,
            hcl(&trust(d)),
            hcl(&execution_policy(d, n))
        ));
        "aws_iam_role.execution.arn".to_string()
    } else {
        format!("\"{}\"", n.execution_role_arn)
    };
    let task = if d.task_role_arn.is_none() {
        o.push_str(&format!(
            "resource \"aws_iam_role\" \"task\" {{\n  name               = \"{}\"\n  assume_role_policy = jsonencode({})\n}}\n\nresource \"aws_iam_role_policy\" \"task\" {{\n  name   = \"prefect-worker\"\n  role   = aws_iam_role.task.id\n  policy = jsonencode({})\n}}\n\n",
            n.task_role_name,
            hcl(&trust(d)),
            hcl(&task_policy(d, n))
        ));
        "aws_iam_role.task.arn".to_string()
    } else {
        format!("\"{}\"", n.task_role_arn)
    };
    let cont = container(s, d, n, c);
    o.push_str(&format!(
        "resource \"aws_ecs_task_definition\" \"worker\" {{\n  family                   = \"{family}\"\n  network_mode             = \"awsvpc\"\n  requires_compatibilities = [\"FARGATE\"]\n  cpu                      = \"{cpu}\"\n  memory                   = \"{mem}\"\n  execution_role_arn       = {exec}\n  task_role_arn            = {task}\n  container_definitions    = jsonencode([{cont}])\n\n  runtime_platform {{\n    cpu_architecture        = \"{arch}\"\n    operating_system_family = \"LINUX\"\n  }}\n}}\n\n",
        family = n.family,
        cpu = s.worker.size.cpu.0,
        mem = s.worker.size.memory.0,
        cont = hcl(&cont),
        arch = arch(s)
    ));
    let list = |v: &[String]| {
        v.iter()
            .map(|x| format!("\"{x}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    o.push_str(&format!(
        "resource \"aws_ecs_service\" \"worker\" {{\n  name            = \"{svc}\"\n  cluster         = aws_ecs_cluster.this.id\n  task_definition = aws_ecs_task_definition.worker.arn\n  desired_count   = {count}\n\n  capacity_provider_strategy {{\n    capacity_provider = \"FARGATE\"\n    weight            = 1\n    base              = 0\n  }}\n\n  network_configuration {{\n    subnets          = [{subnets}]\n    security_groups  = [{sgs}]\n    assign_public_ip = {public}\n  }}\n\n  depends_on = [aws_ecs_cluster_capacity_providers.this]\n}}\n",
        svc = d.service_name,
        count = s.worker.count,
        subnets = list(&d.subnets),
        sgs = list(&d.security_groups),
        public = d.assign_public_ip
    ));
    if let Some(f) = &n.feed {
        o.push_str(&f.terraform());
    }
    o
}

fn work_pool_script(d: &DeployInputs, c: &Choice) -> String {
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
        env = if reschedule(c) {
            " and PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule"
        } else {
            ""
        }
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
            name = super::automation::name_for(&d.work_pool).replace('\'', "'\\''")
        );
    }
    o
}

/// Every artefact, as (path relative to the output directory, content).
pub fn artefacts(s: &Scenario, d: &DeployInputs, c: &Choice) -> Vec<(String, String)> {
    let n = names(s, d);
    let strategy = strategy_json(&c.strategy);
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
            pretty(&task_definition(s, d, &n, c)),
        ),
        (
            "worker/create-service.json".into(),
            pretty(&json!({
                "cluster": n.cluster, "serviceName": d.service_name, "taskDefinition": n.family,
                "desiredCount": s.worker.count, "capacityProviderStrategy": worker_strategy(),
                "networkConfiguration": network(d)
            })),
        ),
        (
            "worker/update-service.json".into(),
            pretty(&json!({
                "cluster": n.cluster, "service": d.service_name, "taskDefinition": n.family,
                "desiredCount": s.worker.count, "capacityProviderStrategy": worker_strategy(),
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
    let items = |v: &Value| -> Vec<Item> { serde_json::from_value(v.clone()).unwrap_or_default() };
    Desired {
        cluster: ClusterState {
            name: n.cluster.clone(),
            capacity_providers: capacity_providers(s, c),
            default_strategy: items(&strategy_json(&c.strategy)),
        },
        task_definition: TaskDefinitionState {
            family: n.family.clone(),
            revision: None,
            body: task_definition(s, d, &n, c),
        },
        service: ServiceState {
            name: d.service_name.clone(),
            task_definition: n.family.clone(),
            desired_count: s.worker.count,
            capacity_provider_strategy: items(&worker_strategy()),
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

/// The fallback automation's body, when the retry policy relies on one.
pub fn fallback_automation(d: &DeployInputs, c: &Choice) -> Option<Value> {
    matches!(
        c.retry,
        RetryPolicy::Prefect3 {
            automation: true,
            ..
        }
    )
    .then(|| super::automation::body_for(&d.work_pool))
}
