//! Each Prefect deployment's own job variables as plan steps: a flow's own capacity provider
//! strategy (a per-deployment recommendation, or `strategy` in its `[[flow]]`) and its size and
//! platform when the flows differ (a work pool has one default). Only the variables spotplan
//! sets are compared and written; the deployment's other job variables are kept. Pure; the
//! HTTP side is `crate::prefect_api`.
//!
//! A scenario flow names its deployments by `flow/deployment`, its Prefect flow's name (every
//! deployment of that flow in the pool) or the deployment's name, in that order of precedence
//! (`of_flow`). spotplan cannot create
//! a deployment (it has no code or entrypoint): a missing one is shown with the job variables
//! to deploy it with (`prefect/prefect.yaml` from `emit`).

use serde::Serialize;
use serde_json::Value;

use super::diff::{Action, Change, Step};
use super::workpool::show;

/// A deployment as the Prefect API returns it (the fields spotplan reads).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeploymentState {
    /// Its id.
    pub id: String,
    /// The deployment's name.
    pub name: String,
    /// Its flow's name.
    pub flow_name: String,
    /// Its job variables.
    pub job_variables: Value,
}

/// The job variables spotplan wants on the deployments of one scenario flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeploymentWant {
    /// The scenario flow's name.
    pub flow: String,
    /// The variables (an object).
    pub job_variables: Value,
}

/// `PATCH /deployments/{id}` with the deployment's whole job variables.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeploymentWrite {
    /// The deployment's id.
    pub id: String,
    /// `flow/deployment`, for messages.
    pub label: String,
    /// Its job variables: what it had, with spotplan's set.
    pub job_variables: Value,
}

/// The deployments' steps and writes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DeploymentsPlan {
    /// One per deployment found, and one per scenario flow with none.
    pub steps: Vec<Step>,
    /// What `apply` sends.
    pub writes: Vec<DeploymentWrite>,
}

/// The deployments of scenario flow `flow` among `seen`, the most precise reading first:
/// `flow/deployment` exactly; else every deployment of the Prefect flow of that name; else
/// the deployments of that name (so a flow `report` never takes `etl`'s deployment named
/// `report` when a Prefect flow `report` has deployments).
pub(crate) fn of_flow<'a>(flow: &str, seen: &'a [DeploymentState]) -> Vec<&'a DeploymentState> {
    if flow.contains('/') {
        return seen
            .iter()
            .filter(|d| format!("{}/{}", d.flow_name, d.name) == flow)
            .collect();
    }
    let by_flow: Vec<&DeploymentState> = seen.iter().filter(|d| d.flow_name == flow).collect();
    if !by_flow.is_empty() {
        return by_flow;
    }
    seen.iter().filter(|d| d.name == flow).collect()
}

/// Plans the deployments of work pool `pool`.
pub(crate) fn plan_deployments(
    want: &[DeploymentWant],
    seen: &[DeploymentState],
    pool: &str,
) -> DeploymentsPlan {
    let mut p = DeploymentsPlan::default();
    for w in want {
        let mine = of_flow(&w.flow, seen);
        if mine.is_empty() {
            p.steps.push(Step {
                resource: "deployment",
                name: w.flow.clone(),
                action: Action::Missing,
                changes: vec![Change {
                    field: format!("not in work pool {pool}"),
                    old: "—".into(),
                    new: format!(
                        "deploy it with job variables {} (prefect/prefect.yaml), then apply again",
                        w.job_variables
                    ),
                }],
                kept: Vec::new(),
            });
            continue;
        }
        for d in mine {
            let mut vars = match &d.job_variables {
                Value::Object(m) => m.clone(),
                _ => serde_json::Map::new(),
            };
            let mut changes = Vec::new();
            if let Value::Object(wanted) = &w.job_variables {
                for (k, v) in wanted {
                    // the environment: spotplan's keys set (or removed), the deployment's
                    // own kept
                    let v = &match (k.as_str(), v) {
                        ("env", Value::Object(mine)) => {
                            let mut env = match vars.get(k) {
                                Some(Value::Object(e)) => e.clone(),
                                _ => serde_json::Map::new(),
                            };
                            env.remove(crate::scenario::retry::SIGTERM_BEHAVIOR_ENV);
                            env.extend(mine.clone());
                            Value::Object(env)
                        }
                        _ => v.clone(),
                    };
                    if vars.get(k) != Some(v) {
                        if k == "env" {
                            changes.extend(super::diff::env_changes(vars.get(k), v));
                        } else {
                            changes.push(Change {
                                field: k.replace('_', " "),
                                old: vars.get(k).map_or("pool default".into(), show),
                                new: show(v),
                            });
                        }
                        vars.insert(k.clone(), v.clone());
                    }
                }
            }
            let label = format!("{}/{}", d.flow_name, d.name);
            if !changes.is_empty() {
                p.writes.push(DeploymentWrite {
                    id: d.id.clone(),
                    label: label.clone(),
                    job_variables: Value::Object(vars),
                });
            }
            p.steps.push(Step {
                resource: "deployment",
                name: label,
                action: Action::of(!changes.is_empty()),
                changes,
                kept: Vec::new(),
            });
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seen(name: &str, flow: &str, jv: Value) -> DeploymentState {
        DeploymentState {
            id: format!("id-{name}"),
            name: name.into(),
            flow_name: flow.into(),
            job_variables: jv,
        }
    }

    #[test]
    fn only_spotplans_variables_are_set_the_rest_kept_and_missing_ones_said() {
        let od = json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]);
        let want = vec![
            DeploymentWant {
                flow: "etl".into(),
                job_variables: json!({"capacity_provider_strategy": od, "cpu": 2048}),
            },
            DeploymentWant {
                flow: "report".into(),
                job_variables: json!({"cpu": 512}),
            },
        ];
        let have = vec![
            // by the flow's name: both of its deployments
            seen("prod", "etl", json!({"image": "mine:1", "cpu": 1024})),
            seen(
                "staging",
                "etl",
                json!({"capacity_provider_strategy": od, "cpu": 2048}),
            ),
            seen("other", "unrelated", json!({})),
        ];
        let p = plan_deployments(&want, &have, "spot");
        let signs: Vec<(String, Action)> =
            p.steps.iter().map(|s| (s.name.clone(), s.action)).collect();
        assert_eq!(
            signs,
            [
                ("etl/prod".to_string(), Action::Update),
                ("etl/staging".to_string(), Action::Unchanged),
                ("report".to_string(), Action::Missing),
            ]
        );
        assert_eq!(p.writes.len(), 1);
        assert_eq!(
            p.writes[0].job_variables,
            json!({"image": "mine:1", "cpu": 2048, "capacity_provider_strategy": od})
        );
        let fields: Vec<(&str, &str, &str)> = p.steps[0]
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.old.as_str(), c.new.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("capacity provider strategy", "pool default", "FARGATE w1"),
                ("cpu", "1024", "2048")
            ]
        );
        // by `flow/deployment` and by the deployment's name
        for name in ["etl/prod", "prod"] {
            let w = [DeploymentWant {
                flow: name.into(),
                job_variables: json!({"cpu": 1024}),
            }];
            let p = plan_deployments(&w, &have, "spot");
            assert_eq!(p.steps.len(), 1, "{name}");
            assert_eq!(p.steps[0].action, Action::Unchanged, "{name}");
        }
    }
}
