//! The worker's task definition as one typed value: what `emit` renders (ECS's JSON shape,
//! CloudFormation and Terraform), what `apply` registers (the SDK's builders, field by field)
//! and what `plan` compares with the revision ECS holds (read from the SDK's types into the
//! same value, so ECS's own additions never count as differences).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::diff::Change;

/// The worker's container: the fields spotplan sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// Container name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Essential.
    pub essential: bool,
    /// Command.
    pub command: Vec<String>,
    /// Environment: (name, value), in order.
    pub environment: Vec<(String, String)>,
    /// Secrets: (name, valueFrom), in order.
    pub secrets: Vec<(String, String)>,
    /// awslogs group.
    pub log_group: String,
    /// awslogs region.
    pub log_region: String,
    /// awslogs stream prefix.
    pub log_stream_prefix: String,
}

/// A Fargate task definition (awsvpc, Linux): the fields spotplan sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDefinitionSpec {
    /// Family.
    pub family: String,
    /// CPU units, as ECS writes them (`"512"`).
    pub cpu: String,
    /// Memory MiB, as ECS writes them (`"1024"`).
    pub memory: String,
    /// `X86_64` or `ARM64`.
    pub cpu_architecture: String,
    /// Execution role ARN.
    pub execution_role_arn: String,
    /// Task role ARN.
    pub task_role_arn: String,
    /// The one container.
    pub container: ContainerSpec,
}

impl ContainerSpec {
    /// ECS's JSON shape of the container.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "image": self.image,
            "essential": self.essential,
            "command": self.command,
            "environment": self.environment.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
            "secrets": self.secrets.iter().map(|(n, v)| json!({"name": n, "valueFrom": v})).collect::<Vec<_>>(),
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": self.log_group,
                    "awslogs-region": self.log_region,
                    "awslogs-stream-prefix": self.log_stream_prefix
                }
            }
        })
    }
}

impl TaskDefinitionSpec {
    /// ECS's JSON shape (the RegisterTaskDefinition input, `worker/task-definition.json`).
    pub fn to_json(&self) -> Value {
        json!({
            "family": self.family,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": self.cpu,
            "memory": self.memory,
            "runtimePlatform": {"cpuArchitecture": self.cpu_architecture, "operatingSystemFamily": "LINUX"},
            "executionRoleArn": self.execution_role_arn,
            "taskRoleArn": self.task_role_arn,
            "containerDefinitions": [self.container.to_json()]
        })
    }

    /// What differs from `seen` (ECS's revision), field by field, in words.
    pub fn changes(&self, seen: &TaskDefinitionSpec) -> Vec<Change> {
        let pairs = |v: &[(String, String)]| {
            v.iter()
                .map(|(a, b)| format!("{a}={b}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (w, s) = (&self.container, &seen.container);
        // the environment's values are shown for spotplan's own keys only: a key someone
        // added to the worker by hand may hold a secret
        let env = |v: &[(String, String)]| {
            v.iter()
                .map(|(a, b)| {
                    if w.environment.iter().any(|(k, _)| k == a) {
                        format!("{a}={b}")
                    } else {
                        format!("{a}=(not spotplan's: value not shown)")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let fields: [(&str, String, String); 13] = [
            ("cpu", seen.cpu.clone(), self.cpu.clone()),
            ("memory", seen.memory.clone(), self.memory.clone()),
            (
                "cpu architecture",
                seen.cpu_architecture.clone(),
                self.cpu_architecture.clone(),
            ),
            (
                "execution role",
                seen.execution_role_arn.clone(),
                self.execution_role_arn.clone(),
            ),
            (
                "task role",
                seen.task_role_arn.clone(),
                self.task_role_arn.clone(),
            ),
            ("container name", s.name.clone(), w.name.clone()),
            ("image", s.image.clone(), w.image.clone()),
            (
                "essential",
                s.essential.to_string(),
                w.essential.to_string(),
            ),
            ("command", s.command.join(" "), w.command.join(" ")),
            ("environment", env(&s.environment), env(&w.environment)),
            ("secrets", pairs(&s.secrets), pairs(&w.secrets)),
            (
                "log group",
                format!("{} ({})", s.log_group, s.log_region),
                format!("{} ({})", w.log_group, w.log_region),
            ),
            (
                "log stream prefix",
                s.log_stream_prefix.clone(),
                w.log_stream_prefix.clone(),
            ),
        ];
        fields
            .into_iter()
            .filter(|(_, old, new)| old != new)
            .map(|(field, old, new)| Change {
                field: field.into(),
                old,
                new,
            })
            .collect()
    }
}
