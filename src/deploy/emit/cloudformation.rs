//! The CloudFormation template: everything `emit` describes as one stack.

use serde_json::{Value, json};

use super::iam::{execution_policy, task_policy, trust};
use crate::deploy::desired::*;
use crate::deploy::inputs::DeployInputs;
use crate::scenario::Scenario;

pub(super) fn cloudformation(s: &Scenario, d: &DeployInputs, n: &Names, c: &Choice) -> Value {
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
                "DefaultCapacityProviderStrategy": cfn_strategy(&c.strategy.to_ecs_json())
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
    // a role spotplan makes when none is given, referred to by its ARN
    let mut role = |logical: &str, name: &str, policy: &str, doc: Value| {
        resources.insert(
            logical.into(),
            json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": name,
                    "AssumeRolePolicyDocument": trust(d),
                    "Policies": [{"PolicyName": policy, "PolicyDocument": doc}]
                }
            }),
        );
        json!({"Fn::GetAtt": [logical, "Arn"]})
    };
    let exec_ref = match d.execution_role_arn {
        None => role(
            "ExecutionRole",
            &n.execution_role_name,
            "prefect-worker-execution",
            execution_policy(d, n),
        ),
        Some(_) => json!(n.execution_role_arn),
    };
    let task_ref = match d.task_role_arn {
        None => role(
            "TaskRole",
            &n.task_role_name,
            "prefect-worker",
            task_policy(d, n),
        ),
        Some(_) => json!(n.task_role_arn),
    };
    let cont = container(s, d, n, c).to_json();
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
