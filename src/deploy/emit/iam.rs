//! The IAM documents: the ECS tasks trust policy, the worker's execution role policy and its task
//! role policy (least privilege: resources by ARN wherever AWS has resource-level permissions).

use serde_json::{Value, json};

use crate::deploy::desired::*;
use crate::deploy::inputs::DeployInputs;

pub(super) fn trust(d: &DeployInputs) -> Value {
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

pub(super) fn execution_policy(d: &DeployInputs, n: &Names) -> Value {
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

pub(super) fn task_policy(d: &DeployInputs, n: &Names) -> Value {
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
