//! The words of a plan: what happens to one resource (`+` create, `~` update, `=` unchanged,
//! `!` missing), the fields that change (old → new), and how a step reads. Shared by the ECS
//! and the Prefect halves of a plan and by the typed specs that diff themselves.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

/// What happens to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `+`
    Create,
    /// `~`
    Update,
    /// `=`
    Unchanged,
    /// `!`: wanted but absent, and not something `apply` can create (a Prefect deployment)
    Missing,
}

impl Action {
    /// `Update` when something changes, else `Unchanged`.
    pub fn of(changed: bool) -> Action {
        if changed {
            Action::Update
        } else {
            Action::Unchanged
        }
    }
}

/// One field that changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Field.
    pub field: String,
    /// Old value, in words.
    pub old: String,
    /// New value, in words.
    pub new: String,
}

/// One resource of the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// `cluster`, `task definition` or `service`.
    pub resource: &'static str,
    /// Its name.
    pub name: String,
    /// What happens.
    pub action: Action,
    /// Field changes (updates).
    pub changes: Vec<Change>,
    /// What is not spotplan's and is kept, in words (a capacity provider on the cluster, an
    /// env key in the pool's defaults).
    pub kept: Vec<String>,
}

impl Step {
    /// A check of the account against what was priced (nothing for `apply` to do): `!` with
    /// each `problem` (a person must act), else `=`; `facts` are what was found.
    pub fn check(
        resource: &'static str,
        name: String,
        problems: Vec<Change>,
        facts: Vec<String>,
    ) -> Step {
        Step {
            resource,
            name,
            action: if problems.is_empty() {
                Action::Unchanged
            } else {
                Action::Missing
            },
            changes: problems,
            kept: facts,
        }
    }
}

impl fmt::Display for Step {
    /// `+` create, `~` update with old → new, `=` unchanged; one line per changed field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.action {
            Action::Create => '+',
            Action::Update => '~',
            Action::Unchanged => '=',
            Action::Missing => '!',
        };
        writeln!(f, "{sign} {} {}", self.resource, self.name)?;
        for c in &self.changes {
            if self.action == Action::Missing {
                writeln!(f, "    {}: {}", c.field, c.new)?;
            } else {
                writeln!(f, "    {}: {} → {}", c.field, c.old, c.new)?;
            }
        }
        for k in &self.kept {
            writeln!(f, "    = {k}")?;
        }
        Ok(())
    }
}

/// The closing line of a plan that makes `n` calls.
pub fn summary(n: usize) -> String {
    if n == 0 {
        "no changes".into()
    } else {
        format!("{n} change(s) to apply")
    }
}

/// A long value cut for a plan line.
pub fn clip(v: &str) -> String {
    crate::units::clip(v, 60)
}

/// The changes of an `env` object, key by key. The value is shown for spotplan's own key only:
/// every other key is the team's, and its value (a token, a password) is never printed, only
/// that it changes. `old` is `None` where the object is inherited (a deployment without its own
/// env takes the pool's).
pub fn env_changes(old: Option<&Value>, new: &Value) -> Vec<Change> {
    map_changes(
        "env",
        crate::scenario::retry::SIGTERM_BEHAVIOR_ENV,
        old,
        new,
    )
}

/// The changes of a string map (`env`, `labels`) named `what`, key by key, with the value of
/// spotplan's own key `own` only.
pub fn map_changes(what: &str, own: &str, old: Option<&Value>, new: &Value) -> Vec<Change> {
    let none = Map::new();
    let n = new.as_object().unwrap_or(&none);
    let o = match old {
        None if n.is_empty() => {
            return vec![Change {
                field: what.into(),
                old: "pool default".into(),
                new: "its own, empty (the pool's is not inherited)".into(),
            }];
        }
        None => &none,
        Some(v) => v.as_object().unwrap_or(&none),
    };
    let unset = if old.is_none() {
        "pool default"
    } else {
        "unset"
    };
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| {
            let shown = |v: Option<&Value>| match v {
                None => unset.to_string(),
                Some(v) if k == own => v.as_str().map_or_else(|| v.to_string(), str::to_string),
                Some(_) => "(the team's value, not shown)".into(),
            };
            Change {
                field: format!("{what} {k}"),
                old: shown(o.get(k)),
                new: shown(n.get(k)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn env_changes_show_spotplans_value_and_never_the_teams() {
        let key = crate::scenario::retry::SIGTERM_BEHAVIOR_ENV;
        let old = json!({"DB_PASSWORD": "hunter2", "TOKEN": "old-token"});
        let new = json!({"DB_PASSWORD": "hunter2", "TOKEN": "new-token", key: "reschedule"});
        let c = env_changes(Some(&old), &new);
        let words: Vec<String> = c
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, c.old, c.new))
            .collect();
        assert_eq!(
            words,
            vec![
                format!("env {key}: unset → reschedule"),
                "env TOKEN: (the team's value, not shown) → (the team's value, not shown)"
                    .to_string(),
            ]
        );
        // a deployment that inherits the pool's env and gets its own, empty one
        let c = env_changes(None, &json!({}));
        assert_eq!((c[0].old.as_str(), c.len()), ("pool default", 1));
        let c = env_changes(None, &json!({key: "reschedule"}));
        assert_eq!(c[0].old, "pool default");
    }
}
