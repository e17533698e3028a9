//! The words of a plan: what happens to one resource (`+` create, `~` update, `=` unchanged,
//! `!` missing), the fields that change (old → new), and how a step reads. Shared by the ECS
//! and the Prefect halves of a plan and by the typed specs that diff themselves.

use std::fmt;

use serde::Serialize;

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
