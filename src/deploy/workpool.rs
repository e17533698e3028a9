//! The Prefect work pool as a plan step: the pool spotplan wants (type `ecs`, the base job
//! template that carries the strategy, the scenario's concurrency limit) against the pool the
//! Prefect API returns. Pure; the HTTP side is `crate::prefect_api`.

use serde::Serialize;
use serde_json::{Value, json};

use super::diff::{Action, Change, Step};

/// A work pool's fields that spotplan owns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolState {
    /// Pool name.
    pub name: String,
    /// Worker type (`ecs`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The base job template.
    pub base_job_template: Value,
    /// Runs in flight at once (`None`: unlimited).
    pub concurrency_limit: Option<u32>,
}

impl PoolState {
    /// Reads the fields spotplan owns from a Prefect `WorkPool` response.
    pub fn from_api(v: &Value) -> PoolState {
        PoolState {
            name: v["name"].as_str().unwrap_or_default().to_string(),
            kind: v["type"].as_str().unwrap_or_default().to_string(),
            base_job_template: v["base_job_template"].clone(),
            concurrency_limit: v["concurrency_limit"].as_u64().map(|n| n as u32),
        }
    }
}

/// The write that brings the pool in line.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "call")]
pub enum PoolWrite {
    /// `POST /work_pools/` (a `WorkPoolCreate`).
    Create {
        /// The body.
        body: Value,
    },
    /// `PATCH /work_pools/{name}` (a `WorkPoolUpdate`).
    Update {
        /// Pool name.
        name: String,
        /// The body.
        body: Value,
    },
}

/// The work pool's step and its write, if any.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolPlan {
    /// For display, with the ECS steps.
    pub step: Step,
    /// What `apply` sends.
    pub write: Option<PoolWrite>,
    /// Why `apply` must not touch the pool yet: a setting that changes what was simulated
    /// differs from the scenario, which does not state it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// The template variables whose defaults spotplan derives from the scenario and the deploy
/// inputs: what was priced and simulated (the strategy, the sizes, the image, the network, the
/// roles, the SIGTERM key of `env`), put back when they differ. `task_definition_arn` is one:
/// a task definition named in the pool replaces the priced sizes (prefect-aws then ignores the
/// `cpu` and `memory` variables). Every other variable's default a team changed, and every
/// variable a team added, is kept.
pub const OWNED: [&str; 17] = [
    "labels",
    "capacity_provider_strategy",
    "launch_type",
    "cluster",
    "env",
    "image",
    "cpu",
    "memory",
    "cpu_architecture",
    "ephemeral_storage_gib",
    "vpc_id",
    "prefect_api_key_secret_arn",
    "network_configuration",
    "execution_role_arn",
    "task_role_arn",
    "configure_cloudwatch_logs",
    "task_definition_arn",
];

/// The label spotplan puts on every flow run's task through the pool's `labels` default
/// (Prefect's worker adds the pool's labels to the ones it derives, `prefect/workers/base.py`
/// `prepare_for_flow_run`; prefect-aws sends them as the RunTask tags): the spotplan version
/// that deployed it, for a cost-allocation tag. The deployment is already a tag of every task:
/// `prefect.io/deployment-name`, from the same labels.
pub const VERSION_LABEL: &str = "spotplan:version";

/// The default of template variable `var`.
fn default_of(t: &Value, var: &str) -> Value {
    t["variables"]["properties"][var]["default"].clone()
}

/// A job variable's value in words: a strategy as `FARGATE_SPOT w4, FARGATE w1 b1`.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::Array(a) if a.iter().all(|i| i.get("capacityProvider").is_some()) => {
            if a.is_empty() {
                return "none".into();
            }
            a.iter()
                .map(|i| {
                    let base = i["base"].as_u64().unwrap_or(0);
                    let w = &i["weight"];
                    if base > 0 {
                        format!(
                            "{} w{w} b{base}",
                            i["capacityProvider"].as_str().unwrap_or("?")
                        )
                    } else {
                        format!("{} w{w}", i["capacityProvider"].as_str().unwrap_or("?"))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn limit(v: Option<u32>) -> String {
    v.map_or("unlimited".into(), |n| n.to_string())
}

/// Diffs the pool. Changes name the template variables whose defaults differ (the strategy
/// first); any other difference in the template shows as `job template`.
pub fn plan_pool(want: &PoolState, seen: Option<&PoolState>) -> PoolPlan {
    let Some(seen) = seen else {
        let strategy = default_of(&want.base_job_template, "capacity_provider_strategy");
        return PoolPlan {
            step: Step {
                resource: "work pool",
                name: want.name.clone(),
                action: Action::Create,
                changes: vec![
                    Change {
                        field: "capacity provider strategy".into(),
                        old: "—".into(),
                        new: show(&strategy),
                    },
                    Change {
                        field: "concurrency limit".into(),
                        old: "—".into(),
                        new: limit(want.concurrency_limit),
                    },
                ],
                kept: Vec::new(),
            },
            write: Some(PoolWrite::Create {
                body: json!({
                    "name": want.name,
                    "type": want.kind,
                    "description": "Managed by spotplan: the capacity provider strategy it chose.",
                    "base_job_template": want.base_job_template,
                    "concurrency_limit": want.concurrency_limit,
                }),
            }),
            refused: None,
        };
    };
    // the team's own env keys and labels in the pool's defaults are kept (they change nothing
    // simulated); spotplan's keys (the SIGTERM behaviour, its version label) are set or removed
    let mut kept = Vec::new();
    let mut want_t = want.base_job_template.clone();
    for (var, own) in [
        ("env", crate::scenario::retry::SIGTERM_BEHAVIOR_ENV),
        ("labels", VERSION_LABEL),
    ] {
        let (Value::Object(theirs), Some(prop)) = (
            default_of(&seen.base_job_template, var),
            want_t["variables"]["properties"].get_mut(var),
        ) else {
            continue;
        };
        let mut map = match prop.get("default") {
            Some(Value::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        for (k, v) in theirs {
            if k != own && !map.contains_key(&k) {
                kept.push(format!(
                    "{} {k} (not spotplan's: kept)",
                    if var == "env" { "env" } else { "label" }
                ));
                map.insert(k, v);
            }
        }
        if !map.is_empty() || prop.get("default").is_some() {
            prop["default"] = Value::Object(map);
        }
    }
    // the team's own variables, and its defaults of variables spotplan does not derive, are
    // kept (their values are not printed: a command or a label may hold anything)
    if let (Some(theirs), Some(Value::Object(mine))) = (
        seen.base_job_template["variables"]["properties"].as_object(),
        want_t["variables"].get_mut("properties"),
    ) {
        for (k, v) in theirs {
            match mine.get_mut(k) {
                None => {
                    kept.push(format!("variable {k} (not spotplan's: kept)"));
                    mine.insert(k.clone(), v.clone());
                }
                Some(m) if !OWNED.contains(&k.as_str()) && m.get("default") != v.get("default") => {
                    kept.push(format!("variable {k}: the team's default (kept)"));
                    match v.get("default") {
                        Some(d) => m["default"] = d.clone(),
                        None => {
                            if let Value::Object(o) = m {
                                o.remove("default");
                            }
                        }
                    }
                }
                Some(_) => {}
            }
        }
    }
    // what the team added to the job configuration (a field of the RunTask request or of the
    // task definition that spotplan's template does not have) is kept too
    for part in ["", "task_run_request", "task_definition"] {
        let theirs = match part {
            "" => seen.base_job_template["job_configuration"].as_object(),
            p => seen.base_job_template["job_configuration"][p].as_object(),
        };
        let mine = match part {
            "" => want_t["job_configuration"].as_object_mut(),
            p => want_t["job_configuration"][p].as_object_mut(),
        };
        if let (Some(theirs), Some(mine)) = (theirs, mine) {
            for (k, v) in theirs {
                if !mine.contains_key(k) {
                    kept.push(format!(
                        "job configuration {}{k} (not spotplan's: kept)",
                        if part.is_empty() {
                            String::new()
                        } else {
                            format!("{part}.")
                        }
                    ));
                    mine.insert(k.clone(), v.clone());
                }
            }
        }
    }
    // a concurrency limit changes what was simulated: one the scenario does not state is
    // never removed in silence
    let refused = match (seen.concurrency_limit, want.concurrency_limit) {
        (Some(n), None) => Some(format!(
            "work pool `{}` has a concurrency limit of {n}, which the scenario does not state (it was simulated without one): state `[worker] concurrency_limit = {n}` and run recommend again, or remove the pool's limit in Prefect",
            want.name
        )),
        _ => None,
    };
    let want = &PoolState {
        base_job_template: want_t,
        ..want.clone()
    };
    let mut changes = Vec::new();
    if seen.kind != want.kind {
        changes.push(Change {
            field: "type (fixed at creation: delete the pool or choose another name)".into(),
            old: seen.kind.clone(),
            new: want.kind.clone(),
        });
    }
    let (w, s) = (&want.base_job_template, &seen.base_job_template);
    let mut vars: Vec<&str> = w["variables"]["properties"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    vars.sort_by_key(|v| (*v != "capacity_provider_strategy", *v));
    for v in vars {
        let (a, b) = (default_of(s, v), default_of(w, v));
        if a != b && v == "env" {
            changes.extend(super::diff::env_changes(Some(&a), &b));
        } else if a != b && v == "labels" {
            changes.extend(super::diff::map_changes(
                "label",
                VERSION_LABEL,
                Some(&a),
                &b,
            ));
        } else if a != b {
            changes.push(Change {
                field: v.replace('_', " "),
                old: show(&a),
                new: show(&b),
            });
        }
    }
    if changes.is_empty() && s != w {
        changes.push(Change {
            field: "job template".into(),
            old: "differs".into(),
            new: "spotplan's".into(),
        });
    }
    if seen.concurrency_limit != want.concurrency_limit {
        changes.push(Change {
            field: "concurrency limit".into(),
            old: limit(seen.concurrency_limit),
            new: limit(want.concurrency_limit),
        });
    }
    let update = !changes.is_empty();
    PoolPlan {
        step: Step {
            resource: "work pool",
            name: want.name.clone(),
            action: Action::of(update),
            changes,
            kept,
        },
        write: (update && seen.kind == want.kind && refused.is_none()).then(|| PoolWrite::Update {
            name: want.name.clone(),
            body: json!({
                "base_job_template": want.base_job_template,
                "concurrency_limit": want.concurrency_limit,
            }),
        }),
        refused,
    }
}
