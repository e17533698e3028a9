//! CloudFormation, read through the Query API ([`super::query`]): the stack of prefect-aws's
//! that already feeds a cluster's task state changes into a queue. prefect-aws deploys the
//! same feed spotplan makes (`prefect-aws ecs-worker deploy-events` with
//! `prefect_aws/templates/ecs/events-only.json`, parameter `ExistingClusterArn`; and
//! `deploy-service` with `service.json`, parameter `ExistingClusterIdentifier`), with the same
//! names; both templates output `EcsEventsQueueArn` (0.7.12).

use super::query::{Query, child};
use crate::deploy::api::ApiError;
use crate::deploy::events::StackFeed;

/// Stack states whose resources exist (a stack that failed to create, or is being deleted,
/// feeds nothing).
fn live(status: &str) -> bool {
    !(status.starts_with("DELETE_") || status == "ROLLBACK_COMPLETE" || status == "CREATE_FAILED")
}

/// The `(key, value)` pairs of `stack`'s `<list>` (`Parameters`, `Outputs`, `Tags`).
fn pairs(
    stack: roxmltree::Node<'_, '_>,
    list: &str,
    key: &str,
    value: &str,
) -> Vec<(String, String)> {
    stack
        .children()
        .filter(|n| n.has_tag_name(list))
        .flat_map(|l| l.children().filter(|n| n.has_tag_name("member")))
        .filter_map(|m| Some((child(m, key)?, child(m, value).unwrap_or_default())))
        .collect()
}

/// The stacks of one DescribeStacks answer that feed `cluster_arn` (or cluster `name`), and
/// the next page's token.
pub(crate) fn feeding(
    xml: &str,
    cluster_arn: &str,
    name: &str,
) -> Result<(Vec<StackFeed>, Option<String>), String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for stack in doc.descendants().filter(|n| {
        n.has_tag_name("member") && n.parent().is_some_and(|p| p.has_tag_name("Stacks"))
    }) {
        let (Some(stack_name), Some(status)) =
            (child(stack, "StackName"), child(stack, "StackStatus"))
        else {
            continue;
        };
        let params = pairs(stack, "Parameters", "ParameterKey", "ParameterValue");
        let param = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
        let ours = param("ExistingClusterArn") == Some(cluster_arn)
            || param("ExistingClusterIdentifier").is_some_and(|c| c == cluster_arn || c == name);
        let queue = pairs(stack, "Outputs", "OutputKey", "OutputValue")
            .into_iter()
            .find(|(k, _)| k == "EcsEventsQueueArn")
            .and_then(|(_, arn)| arn.rsplit(':').next().map(str::to_string));
        if let (true, true, Some(queue)) = (live(&status), ours, queue) {
            out.push(StackFeed {
                stack: stack_name,
                queue,
                pool: param("WorkPoolName").map(str::to_string),
            });
        }
    }
    let next = doc
        .descendants()
        .find(|n| n.has_tag_name("NextToken"))
        .and_then(|n| n.text())
        .map(str::to_string);
    Ok((out, next))
}

/// The first stack (by name) that feeds `cluster_arn`, reading every page of DescribeStacks.
pub fn feeding_stack(
    q: &Query,
    cluster_arn: &str,
    name: &str,
) -> Result<Option<StackFeed>, ApiError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..1000 {
        let params: Vec<(String, String)> = token
            .iter()
            .map(|t| ("NextToken".to_string(), t.clone()))
            .collect();
        let xml = q.call("cloudformation", "2010-05-15", "DescribeStacks", &params)?;
        let (found, next) = feeding(&xml, cluster_arn, name)
            .map_err(|e| ApiError::Other(format!("DescribeStacks: unreadable answer: {e}")))?;
        all.extend(found);
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    all.sort_by(|a, b| a.stack.cmp(&b.stack));
    Ok(all.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of AWS's DescribeStacks answer (CloudFormation API Reference, DescribeStacks,
    /// "Examples"), with the parameters and outputs of prefect-aws's events stack.
    const ANSWER: &str = r#"<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult>
    <Stacks>
      <member>
        <StackName>prefect-events</StackName>
        <StackStatus>CREATE_COMPLETE</StackStatus>
        <Parameters>
          <member><ParameterKey>WorkPoolName</ParameterKey><ParameterValue>etl</ParameterValue></member>
          <member><ParameterKey>ExistingClusterArn</ParameterKey><ParameterValue>arn:aws:ecs:eu-west-1:1:cluster/dp</ParameterValue></member>
        </Parameters>
        <Outputs>
          <member><OutputKey>EcsEventsQueueArn</OutputKey><OutputValue>arn:aws:sqs:eu-west-1:1:etl-ecs-events</OutputValue></member>
        </Outputs>
      </member>
      <member>
        <StackName>gone</StackName>
        <StackStatus>ROLLBACK_COMPLETE</StackStatus>
        <Parameters>
          <member><ParameterKey>ExistingClusterArn</ParameterKey><ParameterValue>arn:aws:ecs:eu-west-1:1:cluster/dp</ParameterValue></member>
        </Parameters>
        <Outputs>
          <member><OutputKey>EcsEventsQueueArn</OutputKey><OutputValue>arn:aws:sqs:eu-west-1:1:old</OutputValue></member>
        </Outputs>
      </member>
    </Stacks>
    <NextToken>page2</NextToken>
  </DescribeStacksResult>
</DescribeStacksResponse>"#;

    #[test]
    fn a_live_stack_feeding_the_cluster_is_found_with_its_queue() {
        let (found, next) = feeding(ANSWER, "arn:aws:ecs:eu-west-1:1:cluster/dp", "dp").unwrap();
        assert_eq!(
            found,
            vec![StackFeed {
                stack: "prefect-events".into(),
                queue: "etl-ecs-events".into(),
                pool: Some("etl".into()),
            }]
        );
        assert_eq!(next.as_deref(), Some("page2"));
        let (other, _) = feeding(ANSWER, "arn:aws:ecs:eu-west-1:1:cluster/x", "x").unwrap();
        assert!(other.is_empty());
    }
}
