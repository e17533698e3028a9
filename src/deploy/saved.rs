//! Saved plans (`plan --out`), as Terraform keeps them: the plan, the observation it was
//! computed from and everything needed to compute it again (the account, the region, the
//! Prefect workspace, the inputs, the scenario's and recommendation's hashes, spotplan's
//! version). The file holds spotplan's own values only: every other value (a team's env in
//! the work pool or a deployment, a worker environment someone added, an automation that is
//! not spotplan's) appears as a salted SHA-256 digest. `apply` of a saved plan reads the same
//! things again, computes the plan again, and goes on only when the redacted forms are
//! identical, so what runs is exactly what was reviewed; a saved plan is used once.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::desired::Desired;
use super::plan::Plan;

/// The format a saved plan declares.
pub const FORMAT: &str = "spotplan-plan/1";

/// A saved plan, as written by `plan --out`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// [`FORMAT`].
    pub format: String,
    /// The spotplan that computed it (`apply` refuses another one: its plan could differ).
    pub spotplan_version: String,
    /// The AWS account the credentials belonged to.
    pub account: String,
    /// The region.
    pub region: String,
    /// The Prefect workspace read (`None`: the Prefect side was not read).
    pub prefect_api_url: Option<String>,
    /// The inputs as given (the CLI's target arguments, paths absolute).
    pub inputs: Value,
    /// Whether the plan was made with `--allow-other-account`.
    pub allow_other_account: bool,
    /// The scenario's canonical hash (as a recommendation's `meta.scenario_hash`: comments
    /// and layout do not count).
    pub scenario_hash: String,
    /// The recommendation file's SHA-256, when the plan deploys one.
    pub recommendation_sha256: Option<String>,
    /// The salt of the digests.
    pub salt: String,
    /// The plan, with every value that is not spotplan's as a digest.
    pub plan: Value,
    /// Set when `apply` started on it: a saved plan is used once.
    pub applied: bool,
}

/// Keys whose subtrees hold values that are not all spotplan's: the work pool's template, a
/// deployment's job variables, a container's environment, an automation's body.
const MIXED: [&str; 4] = ["base_job_template", "job_variables", "environment", "body"];

/// Every string in `v`.
fn strings(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// `v`'s digest under `salt`.
pub fn digest(salt: &str, v: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(v.as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn redact(v: &mut Value, mixed: bool, owned: &BTreeSet<String>, salt: &str) {
    match v {
        Value::String(s) if mixed && !owned.contains(s.as_str()) => *s = digest(salt, s),
        Value::Array(a) => a.iter_mut().for_each(|x| redact(x, mixed, owned, salt)),
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                redact(x, mixed || MIXED.contains(&k.as_str()), owned, salt);
            }
        }
        _ => {}
    }
}

/// The plan as a saved plan holds it: inside the work pool's template, the deployments' job
/// variables, containers' environments and automations' bodies, each string that the
/// desired state does not hold is replaced by its digest under `salt`.
pub fn redacted(plan: &Plan, d: &Desired, salt: &str) -> Value {
    let mut owned = BTreeSet::new();
    strings(&serde_json::to_value(d).unwrap_or_default(), &mut owned);
    let mut v = serde_json::to_value(plan).unwrap_or_default();
    redact(&mut v, false, &owned, salt);
    v
}

/// Where `saved` and `now` differ, one line per differing value (`path: old → new`), at most
/// `max` lines and then a count of the rest.
pub fn differences(saved: &Value, now: &Value, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    walk("", saved, now, &mut out);
    if out.len() > max {
        let rest = out.len() - max;
        out.truncate(max);
        out.push(format!("… and {rest} more"));
    }
    out
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                walk(&at(k), v, y.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, v) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                walk(&at(k), &Value::Null, v, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                walk(&at(&i.to_string()), v, w, out);
            }
        }
        _ if a != b => out.push(format!(
            "{}: {} → {}",
            if path.is_empty() { "(the plan)" } else { path },
            brief(a),
            brief(b)
        )),
        _ => {}
    }
}

/// A value in a difference line: a digest by its first 12 hex digits, anything else clipped.
fn brief(v: &Value) -> String {
    match v.as_str() {
        Some(d) if d.starts_with("sha256:") && d.len() > 19 => format!("sha256:{}…", &d[7..19]),
        _ => crate::units::clip(&v.to_string(), 40),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_not_in_the_desired_state_are_digested_only_where_foreign_values_live() {
        let owned: BTreeSet<String> = ["reschedule".to_string()].into();
        let mut v = json!({
            "name": "etl-pool",
            "job_variables": {"env": {
                "PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR": "reschedule",
                "DB_PASSWORD": "hunter2"
            }},
        });
        redact(&mut v, false, &owned, "salt");
        let env = &v["job_variables"]["env"];
        assert_eq!(
            env["PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR"],
            "reschedule"
        );
        assert_eq!(env["DB_PASSWORD"], digest("salt", "hunter2"));
        assert_ne!(digest("salt", "hunter2"), digest("pepper", "hunter2"));
        // outside the mixed subtrees, names are spotplan's and stay readable
        assert_eq!(v["name"], "etl-pool");
        assert!(!v.to_string().contains("hunter2"));
    }

    #[test]
    fn differences_name_each_path_that_changed() {
        let a = json!({"cluster": {"default_strategy": [1, 2]}, "x": "same"});
        let b = json!({"cluster": {"default_strategy": [1, 3]}, "x": "same", "y": true});
        assert_eq!(
            differences(&a, &b, 10),
            vec!["cluster.default_strategy.1: 2 → 3", "y: null → true"]
        );
        assert_eq!(differences(&a, &b, 1).last().unwrap(), "… and 1 more");
        assert!(differences(&a, &a, 10).is_empty());
    }
}
