//! The worker's crash detection: prefect-aws ≥ 0.7's ECS worker learns that a flow run's task
//! stopped from an SQS queue fed by an EventBridge rule on the cluster's "ECS Task State
//! Change" events (its observer, `prefect_aws/observers/ecs.py`, settings
//! `PREFECT_INTEGRATIONS_AWS_ECS_OBSERVER_*` in `prefect_aws/settings.py`). Without it, a run
//! whose spot task is reclaimed before Prefect's engine can report anything stays Running.
//! The names, attributes, policy and rule follow prefect-aws's own template
//! (`prefect_aws/templates/ecs/events-only.json`): a queue `{pool}-ecs-events` with a
//! dead-letter queue `{pool}-ecs-events-dlq`, and a rule `{pool}-ecs-task-events`.
//!
//! This module owns the feed in every form: the desired state `plan`/`apply` converge to, the
//! AWS CLI inputs and script, the CloudFormation resources, the Terraform, and the worker's
//! environment and permissions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The feed's names and ARNs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Feed {
    /// Dead-letter queue.
    pub dlq: String,
    /// The queue the worker reads.
    pub queue: String,
    /// The EventBridge rule.
    pub rule: String,
    /// Region.
    pub region: String,
    dlq_arn: String,
    queue_arn: String,
    rule_arn: String,
    cluster_arn: String,
}

/// The longest work-pool part of the names: rule names are at most 64 characters and
/// `-ecs-task-events` takes 16.
const PREFIX_MAX: usize = 48;

/// The feed of work pool `pool` for `cluster` in `region` of `account`. Characters SQS and
/// EventBridge names refuse become `-`.
pub(crate) fn feed(pool: &str, region: &str, account: &str, cluster: &str) -> Feed {
    let prefix: String = pool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(PREFIX_MAX)
        .collect();
    let (dlq, queue, rule) = (
        format!("{prefix}-ecs-events-dlq"),
        format!("{prefix}-ecs-events"),
        format!("{prefix}-ecs-task-events"),
    );
    Feed {
        dlq_arn: format!("arn:aws:sqs:{region}:{account}:{dlq}"),
        queue_arn: format!("arn:aws:sqs:{region}:{account}:{queue}"),
        rule_arn: format!("arn:aws:events:{region}:{account}:rule/{rule}"),
        cluster_arn: format!("arn:aws:ecs:{region}:{account}:cluster/{cluster}"),
        dlq,
        queue,
        rule,
        region: region.to_string(),
    }
}

/// An SQS queue: its name and the attributes spotplan sets, as SQS's strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// Name.
    pub name: String,
    /// Attributes.
    pub attributes: BTreeMap<String, String>,
}

/// An EventBridge rule on the default bus, with its targets (id, ARN).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleState {
    /// Name.
    pub name: String,
    /// The event pattern.
    pub event_pattern: Value,
    /// `ENABLED`.
    pub enabled: bool,
    /// Description.
    pub description: String,
    /// Targets: (id, ARN).
    pub targets: Vec<(String, String)>,
}

/// A CloudFormation stack (prefect-aws's own) that already feeds the cluster's task state
/// changes into a queue: spotplan uses the queue and manages none of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StackFeed {
    /// The stack's name.
    pub stack: String,
    /// The queue it feeds.
    pub queue: String,
    /// The work pool it was made for (its `WorkPoolName` parameter).
    pub pool: Option<String>,
}

/// The feed as the account should hold it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventsState {
    /// The cluster whose task state changes it carries.
    pub cluster_arn: String,
    /// Dead-letter queue.
    pub dlq: QueueState,
    /// The queue.
    pub queue: QueueState,
    /// The rule.
    pub rule: RuleState,
}

/// The feed as read from the account (`None`: missing).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ObservedEvents {
    /// Dead-letter queue.
    pub dlq: Option<QueueState>,
    /// The queue.
    pub queue: Option<QueueState>,
    /// The rule.
    pub rule: Option<RuleState>,
    /// A CloudFormation stack that already feeds the cluster into a queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackFeed>,
}

impl Feed {
    /// The rule's event pattern: this cluster's task state changes.
    pub(crate) fn event_pattern(&self) -> Value {
        json!({
            "source": ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            "detail": {"clusterArn": [self.cluster_arn]}
        })
    }

    /// EventBridge may send to the queue, for this rule only.
    pub(crate) fn queue_policy(&self) -> Value {
        policy(json!(self.queue_arn), json!(self.rule_arn))
    }

    fn redrive(&self) -> Value {
        redrive(json!(self.dlq_arn))
    }

    /// The desired state.
    pub(crate) fn desired(&self) -> EventsState {
        let attrs = |v: &[(&str, String)]| {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        EventsState {
            cluster_arn: self.cluster_arn.clone(),
            dlq: QueueState {
                name: self.dlq.clone(),
                attributes: attrs(&[
                    ("MessageRetentionPeriod", "1209600".into()),
                    ("VisibilityTimeout", "60".into()),
                ]),
            },
            queue: QueueState {
                name: self.queue.clone(),
                attributes: attrs(&[
                    ("MessageRetentionPeriod", "604800".into()),
                    ("VisibilityTimeout", "300".into()),
                    ("RedrivePolicy", self.redrive().to_string()),
                    ("Policy", self.queue_policy().to_string()),
                ]),
            },
            rule: RuleState {
                name: self.rule.clone(),
                event_pattern: self.event_pattern(),
                enabled: true,
                description: "ECS task state changes for the Prefect worker (spotplan)".into(),
                targets: vec![("prefect-ecs-events".into(), self.queue_arn.clone())],
            },
        }
    }

    /// The worker's environment: the observer on, reading this queue. prefect-aws 0.7.12 reads
    /// `…_OBSERVER_ENABLED` nowhere (`EcsWorker.__aenter__` in `prefect_aws/workers/ecs_worker.py`
    /// always calls `start_observer`), so the queue name is what matters: without it the
    /// observer looks for `prefect-ecs-tasks-events`. The flag is set for versions that read it.
    pub(crate) fn worker_env(&self) -> Vec<(String, String)> {
        [
            ("PREFECT_INTEGRATIONS_AWS_ECS_OBSERVER_ENABLED", "true"),
            (
                "PREFECT_INTEGRATIONS_AWS_ECS_OBSERVER_SQS_QUEUE_NAME",
                &self.queue,
            ),
            (
                "PREFECT_INTEGRATIONS_AWS_ECS_OBSERVER_SQS_QUEUE_REGION",
                &self.region,
            ),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    }

    /// The worker task role's statement for the queue.
    pub(crate) fn worker_statement(&self) -> Value {
        json!({"Sid": "ReadTaskStateChanges", "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                       "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            "Resource": self.queue_arn})
    }

    /// The AWS CLI inputs and the script that applies them (idempotent: CreateQueue with the
    /// same attributes returns the queue, SetQueueAttributes puts them back, PutRule and
    /// PutTargets replace).
    pub(crate) fn cli_files(&self) -> Vec<(String, String)> {
        let d = self.desired();
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
        vec![
            (
                "events/dlq-attributes.json".into(),
                pretty(&json!(d.dlq.attributes)),
            ),
            (
                "events/queue-attributes.json".into(),
                pretty(&json!(d.queue.attributes)),
            ),
            (
                "events/put-rule.json".into(),
                pretty(&json!({
                    "Name": d.rule.name,
                    "EventPattern": d.rule.event_pattern.to_string(),
                    "State": "ENABLED",
                    "Description": d.rule.description,
                })),
            ),
            (
                "events/put-targets.json".into(),
                pretty(&json!({
                    "Rule": d.rule.name,
                    "Targets": d.rule.targets.iter().map(|(id, arn)| json!({"Id": id, "Arn": arn})).collect::<Vec<_>>(),
                })),
            ),
            (
                "events/apply.sh".into(),
                format!(
                    r#"#!/usr/bin/env bash
# Generated by spotplan emit: the crash-detection feed of the Prefect ECS worker (prefect-aws's
# observer). SQS queue:  {queue} (dead letters: {dlq})
# EventBridge rule:      {rule} (this cluster's ECS Task State Change events)
# Safe to run again. The region is fixed: the queue policy and the rule name its ARNs.
set -euo pipefail
cd "$(dirname "$0")"
REGION={region}
queue() {{ # name attributes-file
  url=$(aws sqs create-queue --region "$REGION" --queue-name "$1" --attributes "file://$2" \
      --query QueueUrl --output text 2>/dev/null \
    || aws sqs get-queue-url --region "$REGION" --queue-name "$1" --query QueueUrl --output text)
  aws sqs set-queue-attributes --region "$REGION" --queue-url "$url" --attributes "file://$2"
}}
queue {dlq} dlq-attributes.json
queue {queue} queue-attributes.json
aws events put-rule --region "$REGION" --cli-input-json file://put-rule.json
aws events put-targets --region "$REGION" --cli-input-json file://put-targets.json
"#,
                    queue = self.queue,
                    dlq = self.dlq,
                    rule = self.rule,
                    region = self.region,
                ),
            ),
        ]
    }

    /// The CloudFormation resources (logical ids `CrashEvents*`).
    pub(crate) fn cloudformation(&self) -> Vec<(String, Value)> {
        let d = self.desired();
        let num = |q: &QueueState, k: &str| {
            q.attributes
                .get(k)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_default()
        };
        vec![
            (
                "CrashEventsDeadLetterQueue".into(),
                json!({"Type": "AWS::SQS::Queue", "Properties": {
                    "QueueName": d.dlq.name,
                    "MessageRetentionPeriod": num(&d.dlq, "MessageRetentionPeriod"),
                    "VisibilityTimeout": num(&d.dlq, "VisibilityTimeout"),
                }}),
            ),
            (
                "CrashEventsQueue".into(),
                json!({"Type": "AWS::SQS::Queue", "Properties": {
                    "QueueName": d.queue.name,
                    "MessageRetentionPeriod": num(&d.queue, "MessageRetentionPeriod"),
                    "VisibilityTimeout": num(&d.queue, "VisibilityTimeout"),
                    "RedrivePolicy": redrive(json!({"Fn::GetAtt": ["CrashEventsDeadLetterQueue", "Arn"]})),
                }}),
            ),
            (
                "CrashEventsQueuePolicy".into(),
                json!({"Type": "AWS::SQS::QueuePolicy", "Properties": {
                    "Queues": [{"Ref": "CrashEventsQueue"}],
                    "PolicyDocument": policy(
                        json!({"Fn::GetAtt": ["CrashEventsQueue", "Arn"]}),
                        json!({"Fn::GetAtt": ["CrashEventsRule", "Arn"]}),
                    ),
                }}),
            ),
            (
                "CrashEventsRule".into(),
                json!({"Type": "AWS::Events::Rule", "Properties": {
                    "Name": d.rule.name,
                    "Description": d.rule.description,
                    "EventPattern": d.rule.event_pattern,
                    "State": "ENABLED",
                    "Targets": [{"Id": d.rule.targets[0].0, "Arn": {"Fn::GetAtt": ["CrashEventsQueue", "Arn"]}}]
                }}),
            ),
        ]
    }

    /// The Terraform resources.
    pub(crate) fn terraform(&self) -> String {
        let d = self.desired();
        let attr = |q: &QueueState, k: &str| q.attributes.get(k).cloned().unwrap_or_default();
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        format!(
            r#"
# The worker's crash detection (prefect-aws's ECS observer): task state changes to SQS.
resource "aws_sqs_queue" "crash_events_dlq" {{
  name                       = {dlq}
  message_retention_seconds  = {dlq_retention}
  visibility_timeout_seconds = {dlq_visibility}
}}

resource "aws_sqs_queue" "crash_events" {{
  name                       = {queue}
  message_retention_seconds  = {retention}
  visibility_timeout_seconds = {visibility}
  redrive_policy = jsonencode({{
    deadLetterTargetArn = aws_sqs_queue.crash_events_dlq.arn
    maxReceiveCount     = 3
  }})
}}

resource "aws_cloudwatch_event_rule" "crash_events" {{
  name          = {rule}
  description   = {description}
  event_pattern = {pattern}
}}

resource "aws_cloudwatch_event_target" "crash_events" {{
  rule      = aws_cloudwatch_event_rule.crash_events.name
  target_id = {target}
  arn       = aws_sqs_queue.crash_events.arn
}}

resource "aws_sqs_queue_policy" "crash_events" {{
  queue_url = aws_sqs_queue.crash_events.id
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Sid       = "EventBridgeTaskStateChanges"
      Effect    = "Allow"
      Principal = {{ Service = "events.amazonaws.com" }}
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.crash_events.arn
      Condition = {{ ArnEquals = {{ "aws:SourceArn" = aws_cloudwatch_event_rule.crash_events.arn }} }}
    }}]
  }})
}}
"#,
            dlq = q(&d.dlq.name),
            dlq_retention = attr(&d.dlq, "MessageRetentionPeriod"),
            dlq_visibility = attr(&d.dlq, "VisibilityTimeout"),
            queue = q(&d.queue.name),
            retention = attr(&d.queue, "MessageRetentionPeriod"),
            visibility = attr(&d.queue, "VisibilityTimeout"),
            rule = q(&d.rule.name),
            description = q(&d.rule.description),
            pattern = q(&d.rule.event_pattern.to_string()),
            target = q(&d.rule.targets[0].0),
        )
    }
}

/// The queue policy (EventBridge may send to `queue`, for rule `rule` only), with the ARNs as
/// values or as CloudFormation references. Terraform's HCL spells the same document.
fn policy(queue: Value, rule: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventBridgeTaskStateChanges",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule}}
        }]
    })
}

/// Dead letters to `dlq` after three receives (prefect-aws's template).
fn redrive(dlq: Value) -> Value {
    json!({"deadLetterTargetArn": dlq, "maxReceiveCount": 3})
}

/// Whether two attribute values say the same thing: JSON documents (a policy, a redrive
/// policy) compared as JSON, since SQS may return them reformatted; the rest as strings.
fn same_value(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(x @ Value::Object(_)), Ok(y @ Value::Object(_))) => x == y,
        _ => a == b,
    }
}

/// The attributes of `want` that `seen` lacks or holds otherwise.
pub(crate) fn attribute_changes(want: &QueueState, seen: &QueueState) -> Vec<String> {
    want.attributes
        .iter()
        .filter(|(k, v)| !seen.attributes.get(*k).is_some_and(|s| same_value(s, v)))
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prefect_aws_and_fit_the_services_limits() {
        let f = feed("spot-pool", "eu-west-1", "111122223333", "data-platform");
        assert_eq!(
            (f.dlq.as_str(), f.queue.as_str(), f.rule.as_str()),
            (
                "spot-pool-ecs-events-dlq",
                "spot-pool-ecs-events",
                "spot-pool-ecs-task-events"
            )
        );
        let long = feed(&"a pool/with spaces ".repeat(10), "eu-west-1", "1", "c");
        assert!(long.rule.len() <= 64 && long.dlq.len() <= 80, "{long:?}");
        assert!(
            long.queue
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(
            f.event_pattern()["detail"]["clusterArn"][0],
            "arn:aws:ecs:eu-west-1:111122223333:cluster/data-platform"
        );
    }

    #[test]
    fn a_reformatted_policy_is_the_same_an_edited_one_is_not() {
        let f = feed("p", "eu-west-1", "111122223333", "c");
        let want = f.desired().queue;
        let mut seen = want.clone();
        let policy: Value = serde_json::from_str(&want.attributes["Policy"]).unwrap();
        seen.attributes.insert(
            "Policy".into(),
            serde_json::to_string_pretty(&policy).unwrap(),
        );
        seen.attributes
            .insert("ApproximateNumberOfMessages".into(), "7".into());
        assert!(attribute_changes(&want, &seen).is_empty());
        seen.attributes
            .insert("VisibilityTimeout".into(), "30".into());
        seen.attributes.remove("RedrivePolicy");
        assert_eq!(
            attribute_changes(&want, &seen),
            ["RedrivePolicy", "VisibilityTimeout"]
        );
    }
}
