//! The fallback automation of `fallback=automation` (a Prefect 3 retry policy, MODEL.md) as a
//! plan step: when a flow run of the work pool's deployments is Crashed (an interrupted spot
//! task that could not reschedule itself, a failed placement), Prefect runs the same
//! deployment again with job variables that put the new run on FARGATE. This is the exact
//! shape Prefect's server evaluates (`prefect/server/events/schemas/automations.py`
//! `EventTrigger`, `prefect/server/events/actions.py` `RunDeployment` with `source =
//! "inferred"`: the deployment of the triggering flow run). Pure; the HTTP side is
//! `crate::prefect_api`.
//!
//! What Prefect's trigger language cannot say, and the automation therefore does not do: pass
//! the crashed run's parameters (the rerun gets the deployment's defaults), and tell a rerun
//! from an original run (a scheduled run carries no "creator" resource to exclude by), so a
//! rerun that crashes on FARGATE too (out of memory, a broken image: not spot) is rerun again.

use serde::Serialize;
use serde_json::{Value, json};

use super::diff::{Action, Change, Step};

/// The automation's name for a work pool (how `plan` finds it again).
pub fn name_for(pool: &str) -> String {
    format!("spotplan: rerun Crashed runs of work pool {pool} on FARGATE")
}

/// The `AutomationCreate` body for work pool `pool`.
pub fn body_for(pool: &str) -> Value {
    json!({
        "name": name_for(pool),
        "description": "Managed by spotplan (retry policy prefect3[fallback=automation]): a flow run of this work pool's deployments that ends Crashed is run again, as a new run of the same deployment with the deployment's default parameters, on FARGATE. A rerun that crashes on FARGATE too is rerun again: watch for Crashed runs created by this automation.",
        "enabled": true,
        "trigger": {
            "type": "event",
            "match": {"prefect.resource.id": "prefect.flow-run.*"},
            "match_related": {
                "prefect.resource.role": "work-pool",
                "prefect.resource.name": pool
            },
            "after": [],
            "expect": ["prefect.flow-run.Crashed"],
            "for_each": ["prefect.resource.id"],
            "posture": "Reactive",
            "threshold": 1,
            "within": 0
        },
        "actions": [{
            "type": "run-deployment",
            "source": "inferred",
            "parameters": null,
            "job_variables": {
                "capacity_provider_strategy": [
                    {"capacityProvider": "FARGATE", "weight": 1, "base": 0}
                ]
            }
        }]
    })
}

/// An automation as the Prefect API returns it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AutomationState {
    /// Its id.
    pub id: String,
    /// The whole response.
    pub body: Value,
}

impl AutomationState {
    /// From an `Automation` response.
    pub fn from_api(v: &Value) -> AutomationState {
        AutomationState {
            id: v["id"].as_str().unwrap_or_default().to_string(),
            body: v.clone(),
        }
    }
}

/// The write that brings the automation in line.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "call")]
pub enum AutomationWrite {
    /// `POST /automations/`.
    Create {
        /// The body.
        body: Value,
    },
    /// `PUT /automations/{id}` (the whole automation).
    Replace {
        /// Its id.
        id: String,
        /// The body.
        body: Value,
    },
}

/// The automation's step and its write, if any.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AutomationPlan {
    /// For display.
    pub step: Step,
    /// What `apply` sends.
    pub write: Option<AutomationWrite>,
}

/// The parts of an automation spotplan owns, in a form where the server's additions (ids,
/// defaults, `0` read back as `0.0`) compare equal.
fn owned(v: &Value) -> Value {
    let t = &v["trigger"];
    let num = |x: &Value| x.as_f64().unwrap_or(0.0);
    json!({
        "enabled": v["enabled"],
        "trigger": {
            "type": t["type"],
            "match": t["match"],
            "match_related": t["match_related"],
            "after": t["after"],
            "expect": t["expect"],
            "for_each": t["for_each"],
            "posture": t["posture"],
            "threshold": num(&t["threshold"]),
            "within": num(&t["within"]),
        },
        "actions": v["actions"].as_array().map(|a| a.iter().map(|x| json!({
            "type": x["type"],
            "source": x["source"],
            "parameters": x["parameters"],
            "job_variables": x["job_variables"],
            "schedule_after": num(&x["schedule_after"]),
        })).collect::<Vec<_>>()),
    })
}

/// Plans the automation: `want` is `Some(body)` when the retry policy needs it. An
/// automation that is no longer wanted is left alone (spotplan deletes nothing) and said so.
pub fn plan_automation(want: Option<&Value>, seen: &[AutomationState]) -> Option<AutomationPlan> {
    let name = |b: &Value| b["name"].as_str().unwrap_or_default().to_string();
    match (want, seen) {
        (None, []) => None,
        (None, [s, ..]) => Some(AutomationPlan {
            step: Step {
                resource: "automation",
                name: name(&s.body),
                action: Action::Unchanged,
                changes: vec![Change {
                    field: "not used by this retry policy".into(),
                    old: "enabled".into(),
                    new: "left as it is (spotplan deletes nothing: pause or delete it in Prefect)"
                        .into(),
                }],
                kept: Vec::new(),
            },
            write: None,
        }),
        (Some(w), []) => Some(AutomationPlan {
            step: Step {
                resource: "automation",
                name: name(w),
                action: Action::Create,
                changes: vec![Change {
                    field: "on a Crashed run of the pool".into(),
                    old: "—".into(),
                    new: "run its deployment again on FARGATE".into(),
                }],
                kept: Vec::new(),
            },
            write: Some(AutomationWrite::Create { body: w.clone() }),
        }),
        (Some(w), [s, ..]) => {
            let changed = owned(w) != owned(&s.body);
            Some(AutomationPlan {
                step: Step {
                    resource: "automation",
                    name: name(w),
                    action: Action::of(changed),
                    changes: if changed {
                        vec![Change {
                            field: "trigger or action".into(),
                            old: "edited".into(),
                            new: "spotplan's".into(),
                        }]
                    } else {
                        Vec::new()
                    },
                    kept: Vec::new(),
                },
                write: changed.then(|| AutomationWrite::Replace {
                    id: s.id.clone(),
                    body: w.clone(),
                }),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The automation as Prefect 3.9's server returned it for [`body_for`] (recorded).
    fn as_returned(pool: &str) -> Value {
        let mut v = body_for(pool);
        v["id"] = json!("2b19f850-c7ef-4b90-b1e1-c48d189a4cdb");
        v["tags"] = json!([]);
        v["trigger"]["id"] = json!("41391a15-a90c-4bab-ad37-0d1610bd49de");
        v["trigger"]["within"] = json!(0.0);
        v["actions"][0]["deployment_id"] = Value::Null;
        v["actions"][0]["schedule_after"] = json!(0.0);
        v["actions_on_trigger"] = json!([]);
        v["actions_on_resolve"] = json!([]);
        v
    }

    #[test]
    fn the_automation_is_created_then_unchanged_then_put_back_after_an_edit() {
        let want = body_for("spot");
        let p = plan_automation(Some(&want), &[]).unwrap();
        assert_eq!(p.step.action, Action::Create);
        assert!(matches!(p.write, Some(AutomationWrite::Create { .. })));
        let seen = AutomationState::from_api(&as_returned("spot"));
        let p = plan_automation(Some(&want), std::slice::from_ref(&seen)).unwrap();
        assert_eq!((p.step.action, p.write), (Action::Unchanged, None));
        let mut edited = seen.clone();
        edited.body["actions"][0]["job_variables"] = json!({});
        let p = plan_automation(Some(&want), &[edited]).unwrap();
        assert_eq!(p.step.action, Action::Update);
        assert!(matches!(
            p.write,
            Some(AutomationWrite::Replace { ref id, .. }) if id == "2b19f850-c7ef-4b90-b1e1-c48d189a4cdb"
        ));
        // no longer wanted: shown, never deleted
        let p = plan_automation(None, &[seen]).unwrap();
        assert_eq!((p.step.action, p.write), (Action::Unchanged, None));
        assert!(plan_automation(None, &[]).is_none());
    }
}
