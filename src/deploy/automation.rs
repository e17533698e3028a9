//! The fallback automation of `fallback=automation` (a Prefect 3 retry policy, MODEL.md) as
//! plan steps: when a flow run of the work pool's deployments is Crashed (an interrupted spot
//! task that could not reschedule itself, a failed placement), Prefect runs the same
//! deployment again with job variables that put the new run on FARGATE, once.
//!
//! **Bounded to one rerun.** Prefect's trigger language cannot exclude an event by a related
//! resource it lacks, and only a rerun carries one: a run created by an automation's
//! `run-deployment` action has `created_by` = that automation (the action sends the
//! `Prefect-Automation-ID`/`-Name` headers, `prefect/server/events/actions.py`;
//! `prefect/server/api/dependencies.py` `get_created_by`), and its state events relate it as
//! `{"prefect.resource.role": "creator", "prefect.resource.name": <automation name>}`
//! (`prefect/server/models/events.py` `_provenance_as_related_resources`); a scheduled run
//! has none (its creator is a schedule, which events do not relate). So two automations:
//!
//! - the **guard** reacts to a Crashed rerun (creator: the fallback) by moving it to Failed
//!   (`change-flow-run-state`, forced) with a message saying why it is not rerun;
//! - the **fallback** is proactive: `within` [`FALLBACK_WAIT_S`] seconds of a run's Crashed
//!   event, if that run has not moved on (Failed by the guard, or Pending, Running, Completed:
//!   resubmitted by the worker after a late event), it runs the deployment again on FARGATE.
//!   Prefect evaluates proactive triggers every 5 s (`server.events.proactive_granularity`),
//!   so the rerun starts 30–35 s after the crash.
//!
//! Each carries an ownership tag (`spotplan:<pool>/fallback`, `spotplan:<pool>/fallback-guard`):
//! the tag, never the name, is its identity; duplicates with the tag are shown and deleted;
//! the automation an older spotplan made (one, by name, untagged) is replaced in place.
//! The rerun carries the crashed run's own parameters (a backfill's date, not the deployment's
//! default): the action's `parameters` is one template, `{{ flow_run.parameters | tojson }}`
//! inside a `json` kind, which the server renders with the triggering flow run in its context
//! and parses back, so every JSON value keeps its type (`RunDeployment.render_parameters` and
//! `hydrate` in `prefect/server/events/actions.py` and
//! `prefect/utilities/schema_tools/hydration.py`; the server's own upgrade of a v1 template
//! wraps one expression the same way, `_wrap_v1_template`). One template serves every
//! deployment, needs no parameter schema, and works in `emit` before the deployments exist;
//! parameters are JSON in Prefect's database, so each value round-trips. Shapes as Prefect
//! 3.9's server evaluates them
//! (`prefect/server/events/schemas/automations.py` `EventTrigger`). Pure; the HTTP side is
//! `crate::prefect_api`.

use serde::Serialize;
use serde_json::{Value, json};

use super::diff::{Action, Change, Step};

/// Seconds after a Crashed event the fallback waits for the run to move on before rerunning
/// it.
pub const FALLBACK_WAIT_S: u64 = 30;

/// The name an older spotplan gave its one automation (adopted, then replaced in place).
pub fn legacy_name(pool: &str) -> String {
    format!("spotplan: rerun Crashed runs of work pool {pool} on FARGATE")
}

/// The fallback automation's name.
pub fn name_for(pool: &str) -> String {
    format!("spotplan: rerun a Crashed run of work pool {pool} once on FARGATE")
}

/// The guard automation's name.
pub fn guard_name_for(pool: &str) -> String {
    format!("spotplan: a fallback rerun of work pool {pool} that crashes is not rerun")
}

/// The ownership tag of the fallback (`guard`: of its guard).
pub fn tag_for(pool: &str, guard: bool) -> String {
    format!(
        "spotplan:{pool}/{}",
        if guard { "fallback-guard" } else { "fallback" }
    )
}

/// `text` as a glob that matches only itself (Prefect matches resource labels with
/// `fnmatch`).
fn literal_glob(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '*' | '?' | '[' => format!("[{c}]"),
            c => c.to_string(),
        })
        .collect()
}

/// The run-deployment action's `parameters`: the triggering (crashed) flow run's own, typed.
pub fn rerun_parameters() -> Value {
    json!({
        "__prefect_kind": "json",
        "value": {
            "__prefect_kind": "jinja",
            "template": "{{ flow_run.parameters | tojson }}"
        }
    })
}

/// Which deployments' crashed runs the fallback reruns (each deployment's retry policy says
/// whether it has one).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Scope {
    /// Every deployment of the work pool.
    Pool,
    /// Only the deployments of these scenario flows, matched by the related deployment
    /// resource of the run's events: by name (`emit`, which knows no ids: a scenario flow
    /// `flow/deployment` by its deployment part), or by id once `plan` has found them.
    Deployments {
        /// The scenario flows.
        flows: Vec<String>,
        /// Their deployments' ids, when known (`plan`).
        ids: Vec<String>,
    },
}

impl Scope {
    /// The related-resource specification that limits the fallback to the scope (`None`:
    /// the whole pool). Prefect requires every specification of `match_related` to match
    /// some related resource, each of its values being alternatives
    /// (`prefect/server/events/schemas/automations.py` `covers_resources`).
    fn spec(&self) -> Option<Value> {
        match self {
            Scope::Pool => None,
            Scope::Deployments { ids, .. } if !ids.is_empty() => Some(json!({
                "prefect.resource.id": ids.iter().map(|i| format!("prefect.deployment.{i}")).collect::<Vec<_>>()
            })),
            Scope::Deployments { flows, .. } => Some(json!({
                "prefect.resource.role": "deployment",
                "prefect.resource.name": flows
                    .iter()
                    .map(|f| literal_glob(f.rsplit('/').next().unwrap_or(f)))
                    .collect::<Vec<_>>()
            })),
        }
    }
}

/// The two `AutomationCreate` bodies for work pool `pool`: the fallback, then its guard.
pub fn bodies_for(pool: &str) -> Vec<Value> {
    scoped_bodies_for(pool, &Scope::Pool)
}

/// The two bodies, the fallback limited to `scope`.
pub fn scoped_bodies_for(pool: &str, scope: &Scope) -> Vec<Value> {
    let in_pool = json!({"prefect.resource.role": "work-pool", "prefect.resource.name": pool});
    let (related, whose) = match (scope.spec(), scope) {
        (Some(spec), Scope::Deployments { flows, .. }) => (
            json!([in_pool, spec]),
            format!(
                "a flow run of this work pool's deployment(s) {}",
                flows
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        _ => (
            in_pool.clone(),
            "a flow run of this work pool's deployments".to_string(),
        ),
    };
    vec![
        json!({
            "name": name_for(pool),
            "description": format!("Managed by spotplan (retry policy prefect3[fallback=automation]): {FALLBACK_WAIT_S} s after {whose} ends Crashed, unless it moved on (to Failed, Pending, Running or Completed), the deployment is run again, once, as a new run with the crashed run's parameters, on FARGATE. A rerun that crashes too is marked Failed by the automation tagged {} and not rerun.", tag_for(pool, true)),
            "enabled": true,
            "tags": [tag_for(pool, false)],
            "trigger": {
                "type": "event",
                "match": {"prefect.resource.id": "prefect.flow-run.*"},
                "match_related": related,
                "after": ["prefect.flow-run.Crashed"],
                "expect": [
                    "prefect.flow-run.Completed",
                    "prefect.flow-run.Failed",
                    "prefect.flow-run.Pending",
                    "prefect.flow-run.Running"
                ],
                "for_each": ["prefect.resource.id"],
                "posture": "Proactive",
                "threshold": 1,
                "within": FALLBACK_WAIT_S
            },
            "actions": [{
                "type": "run-deployment",
                "source": "inferred",
                "parameters": rerun_parameters(),
                "job_variables": {
                    "capacity_provider_strategy": [
                        {"capacityProvider": "FARGATE", "weight": 1, "base": 0}
                    ]
                }
            }]
        }),
        json!({
            "name": guard_name_for(pool),
            "description": format!("Managed by spotplan: a flow run created by the automation tagged {} (a fallback rerun on FARGATE) that ends Crashed is marked Failed, so that it is not rerun again: its cause is not spot.", tag_for(pool, false)),
            "enabled": true,
            "tags": [tag_for(pool, true)],
            "trigger": {
                "type": "event",
                "match": {"prefect.resource.id": "prefect.flow-run.*"},
                "match_related": [
                    in_pool,
                    {"prefect.resource.role": "creator", "prefect.resource.name": literal_glob(&name_for(pool))}
                ],
                "after": [],
                "expect": ["prefect.flow-run.Crashed"],
                "for_each": ["prefect.resource.id"],
                "posture": "Reactive",
                "threshold": 1,
                "within": 0
            },
            "actions": [{
                "type": "change-flow-run-state",
                "state": "FAILED",
                "name": "Failed",
                "message": "spotplan: this fallback rerun on FARGATE crashed too, so it is not rerun again (the cause is not spot: see its logs)",
                "force": true
            }]
        }),
    ]
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

    /// Whether it carries `tag`.
    pub fn tagged(&self, tag: &str) -> bool {
        self.body["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == tag))
    }

    fn name(&self) -> &str {
        self.body["name"].as_str().unwrap_or_default()
    }

    /// When it was created (the API's `created`), for keeping the oldest of duplicates.
    fn created(&self) -> &str {
        self.body["created"].as_str().unwrap_or_default()
    }
}

/// A write that brings an automation in line.
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
    /// `DELETE /automations/{id}`: a duplicate carrying spotplan's tag.
    Delete {
        /// Its id.
        id: String,
    },
}

impl AutomationWrite {
    /// The tag of the automation this write makes, if it makes one.
    pub fn tag(&self) -> Option<&str> {
        match self {
            AutomationWrite::Create { body } | AutomationWrite::Replace { body, .. } => {
                body["tags"][0].as_str()
            }
            AutomationWrite::Delete { .. } => None,
        }
    }
}

/// One automation's step and its write, if any.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AutomationPlan {
    /// For display.
    pub step: Step,
    /// What `apply` sends.
    pub write: Option<AutomationWrite>,
}

/// Whether `seen` holds everything `want` says (objects: every key of `want`, recursively;
/// numbers by value, so the server's `30.0` for `30` is equal; lists of strings as sets, as
/// the server keeps them; other arrays element by element):
/// the server's additions (ids, defaults) do not count.
fn holds(want: &Value, seen: &Value) -> bool {
    match (want, seen) {
        (Value::Object(w), Value::Object(s)) => w
            .iter()
            .all(|(k, v)| holds(v, s.get(k).unwrap_or(&Value::Null))),
        // lists of strings are sets to Prefect (`expect`, `after`, `for_each`): any order
        (Value::Array(w), Value::Array(s)) if w.iter().chain(s).all(Value::is_string) => {
            let sorted = |v: &[Value]| {
                let mut t: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                t.sort();
                t
            };
            sorted(w) == sorted(s)
        }
        (Value::Array(w), Value::Array(s)) => {
            w.len() == s.len() && w.iter().zip(s).all(|(a, b)| holds(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (w, s) => w == s,
    }
}

/// Plans the automations `want` (each identified by its first tag) against what the API
/// holds: a missing one is created (or, for the fallback, an older spotplan's untagged one is
/// replaced in place), an edited one put back, and every further one carrying the same tag
/// deleted (the oldest is kept). Automations spotplan no longer wants are left alone
/// (spotplan deletes only duplicates) and said so.
pub fn plan_automations(
    pool: &str,
    want: &[Value],
    seen: &[AutomationState],
) -> Vec<AutomationPlan> {
    let mut out = Vec::new();
    let tags = [tag_for(pool, false), tag_for(pool, true)];
    if want.is_empty() {
        for s in seen
            .iter()
            .filter(|s| tags.iter().any(|t| s.tagged(t)) || s.name() == legacy_name(pool))
        {
            out.push(AutomationPlan {
                step: Step {
                    resource: "automation",
                    name: s.name().to_string(),
                    action: Action::Unchanged,
                    changes: vec![Change {
                        field: "not used by this retry policy".into(),
                        old: "enabled".into(),
                        new: "left as it is (spotplan deletes nothing it no longer uses: pause \
                              or delete it in Prefect)"
                            .into(),
                    }],
                    kept: Vec::new(),
                },
                write: None,
            });
        }
        return out;
    }
    for w in want {
        let tag = w["tags"][0].as_str().unwrap_or_default();
        let name = w["name"].as_str().unwrap_or_default().to_string();
        let mut mine: Vec<&AutomationState> = seen.iter().filter(|s| s.tagged(tag)).collect();
        mine.sort_by(|a, b| a.created().cmp(b.created()).then(a.id.cmp(&b.id)));
        let legacy = (tag == tags[0])
            .then(|| {
                seen.iter()
                    .find(|s| s.name() == legacy_name(pool) && !s.tagged(tag))
            })
            .flatten();
        match (mine.first(), legacy) {
            (None, None) => out.push(AutomationPlan {
                step: Step {
                    resource: "automation",
                    name,
                    action: Action::Create,
                    changes: vec![Change {
                        field: if tag == tags[0] {
                            "on a Crashed run of the pool".into()
                        } else {
                            "on a Crashed fallback rerun".into()
                        },
                        old: "—".into(),
                        new: if tag == tags[0] {
                            format!(
                                "run its deployment again on FARGATE, once, after {FALLBACK_WAIT_S} s"
                            )
                        } else {
                            "mark it Failed: it is not rerun again".into()
                        },
                    }],
                    kept: Vec::new(),
                },
                write: Some(AutomationWrite::Create { body: w.clone() }),
            }),
            (None, Some(old)) => out.push(AutomationPlan {
                step: Step {
                    resource: "automation",
                    name,
                    action: Action::Update,
                    changes: vec![Change {
                        field: format!("`{}` (made by an older spotplan)", old.name()),
                        old: "reruns every crash, without bound".into(),
                        new: "tagged, reruns a crash once".into(),
                    }],
                    kept: Vec::new(),
                },
                write: Some(AutomationWrite::Replace {
                    id: old.id.clone(),
                    body: w.clone(),
                }),
            }),
            (Some(s), _) => {
                let changed = !holds(w, &s.body);
                out.push(AutomationPlan {
                    step: Step {
                        resource: "automation",
                        name,
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
                });
            }
        }
        for d in mine.iter().skip(1) {
            out.push(AutomationPlan {
                step: Step {
                    resource: "automation",
                    name: d.name().to_string(),
                    action: Action::Update,
                    changes: vec![Change {
                        field: format!("duplicate {} with tag {tag}", d.id),
                        old: "acts on the same events twice".into(),
                        new: "deleted".into(),
                    }],
                    kept: Vec::new(),
                },
                write: Some(AutomationWrite::Delete { id: d.id.clone() }),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An automation as Prefect 3.9's server returns `body` (its additions recorded).
    fn as_returned(body: &Value, id: &str, created: &str) -> AutomationState {
        let mut v = body.clone();
        v["id"] = json!(id);
        v["created"] = json!(created);
        v["trigger"]["id"] = json!("41391a15-a90c-4bab-ad37-0d1610bd49de");
        v["trigger"]["within"] = json!(v["trigger"]["within"].as_f64().unwrap());
        v["trigger"]["threshold"] = json!(1);
        // the server keeps `expect` as a set: its order is not the body's
        if let Some(e) = v["trigger"]["expect"].as_array_mut() {
            e.reverse();
        }
        v["actions"][0]["deployment_id"] = Value::Null;
        v["actions"][0]["schedule_after"] = json!(0.0);
        v["actions_on_trigger"] = json!([]);
        v["actions_on_resolve"] = json!([]);
        AutomationState::from_api(&v)
    }

    #[test]
    fn the_automations_are_created_then_unchanged_then_put_back_after_an_edit() {
        let want = bodies_for("spot");
        let p = plan_automations("spot", &want, &[]);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|x| x.step.action == Action::Create));
        let seen: Vec<AutomationState> = want
            .iter()
            .enumerate()
            .map(|(i, b)| as_returned(b, &format!("id-{i}"), "2026-12-01T00:00:00Z"))
            .collect();
        let p = plan_automations("spot", &want, &seen);
        assert!(
            p.iter()
                .all(|x| x.step.action == Action::Unchanged && x.write.is_none())
        );
        let mut edited = seen.clone();
        edited[0].body["actions"][0]["job_variables"] = json!({});
        let p = plan_automations("spot", &want, &edited);
        assert_eq!(p[0].step.action, Action::Update);
        assert!(matches!(
            p[0].write,
            Some(AutomationWrite::Replace { ref id, .. }) if id == "id-0"
        ));
        assert_eq!(p[1].write, None);
        // no longer wanted: shown, never deleted
        let p = plan_automations("spot", &[], &seen);
        assert!(p.iter().all(|x| x.write.is_none()) && p.len() == 2);
        assert!(plan_automations("spot", &[], &[]).is_empty());
    }

    #[test]
    fn tagged_duplicates_are_deleted_keeping_the_oldest_and_an_old_one_is_adopted() {
        let want = bodies_for("spot");
        let older = as_returned(&want[0], "b-old", "2026-12-01T00:00:00Z");
        let newer = as_returned(&want[0], "a-new", "2026-12-02T00:00:00Z");
        let guard = as_returned(&want[1], "g", "2026-12-01T00:00:00Z");
        // a namesake without the tag is someone else's: never touched
        let mut foreign = as_returned(&want[0], "f", "2026-11-01T00:00:00Z");
        foreign.body["tags"] = json!([]);
        let p = plan_automations("spot", &want, &[newer, foreign, older, guard.clone()]);
        let writes: Vec<&AutomationWrite> = p.iter().filter_map(|x| x.write.as_ref()).collect();
        assert_eq!(
            writes,
            vec![&AutomationWrite::Delete { id: "a-new".into() }]
        );
        // an older spotplan's single untagged automation is replaced in place, once
        let mut legacy = as_returned(&want[0], "legacy", "2026-10-01T00:00:00Z");
        legacy.body["name"] = json!(legacy_name("spot"));
        legacy.body["tags"] = json!([]);
        let p = plan_automations("spot", &want, &[legacy, guard]);
        assert!(matches!(
            p[0].write,
            Some(AutomationWrite::Replace { ref id, .. }) if id == "legacy"
        ));
        assert_eq!(p[1].write, None);
    }

    #[test]
    fn the_guard_matches_the_fallback_by_its_exact_name() {
        let b = bodies_for("pool*[x]?");
        let creator = &b[1]["trigger"]["match_related"][1]["prefect.resource.name"];
        assert_eq!(
            creator,
            "spotplan: rerun a Crashed run of work pool pool[*][[]x][?] once on FARGATE"
        );
        assert_eq!(b[0]["trigger"]["posture"], "Proactive");
        assert_eq!(b[0]["tags"], json!(["spotplan:pool*[x]?/fallback"]));
    }
}
