//! The exit-code table, one per command, and the one function that maps how a command ended
//! to its status.
//!
//! | status | `plan` | `apply` | `recommend`, `report` | the others |
//! |---|---|---|---|---|
//! | 0 | no changes (any, without `--detailed-exitcode`) | done, or nothing to do | a feasible pick | done |
//! | 1 | any error | any error, a failed write, declined | bad input | bad input |
//! | 2 | changes, with `--detailed-exitcode` | — | an environment or AWS failure | an environment or AWS failure |
//! | 3 | something needs a person, with `--strict` | — | nothing feasible | — |
//! | 130 | — | — | interrupted | interrupted (`sweep`) |
//!
//! `plan` and `apply` follow Terraform's convention: an error is 1, so that an unreachable API
//! never reads as "changes pending" to a CI gate.

use std::process::ExitCode;

use crate::scenario::ScenarioError;

use super::UserError;

/// How a command ended, when it did not fail with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked.
    Done,
    /// `plan --detailed-exitcode`: the account differs from the plan's desired state.
    Changes,
    /// `recommend`, `report`: no candidate meets the objectives (the output says which binds).
    NothingFeasible,
    /// `plan --strict`: a `!` item or an unchecked side (the output says which).
    NeedsAttention,
    /// Ctrl-C: the partial result was written and marked so.
    Interrupted,
    /// The input was bad and the command has said why (`validate` on an invalid scenario).
    BadInput,
    /// `apply`: a write failed, and the report says what was done and what was not.
    Failed,
    /// `apply`: the user did not confirm.
    Declined,
}

/// Which table a command's status is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Table {
    /// `plan` and `apply`: any error is 1.
    Deploy,
    /// Every other command: bad input 1, any other failure 2.
    Other,
}

/// The error's class: bad input (a scenario error, an invalid value, shards that do not merge,
/// a job over its budget, or a [`UserError`]) or anything else.
fn bad_input(e: &anyhow::Error) -> bool {
    e.is::<ScenarioError>()
        || e.is::<UserError>()
        || e.is::<crate::model::Invalid>()
        || e.is::<crate::sweep::job::MergeError>()
        || e.is::<crate::sim::budget::OverBudget>()
}

/// The exit status of a command that ended with `r`, by `table`.
pub(super) fn status(table: Table, r: &anyhow::Result<Outcome>) -> u8 {
    match (r, table) {
        (Ok(Outcome::Done), _) => 0,
        (Ok(Outcome::Changes), _) => 2,
        (Ok(Outcome::NothingFeasible | Outcome::NeedsAttention), _) => 3,
        (Ok(Outcome::Interrupted), _) => 130,
        (Ok(Outcome::BadInput | Outcome::Failed | Outcome::Declined), _) => 1,
        (Err(_), Table::Deploy) => 1,
        (Err(e), Table::Other) if bad_input(e) => 1,
        (Err(_), Table::Other) => 2,
    }
}

/// [`status`] as the process's exit code.
pub(super) fn exit_code(table: Table, r: &anyhow::Result<Outcome>) -> ExitCode {
    ExitCode::from(status(table, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let user = || -> anyhow::Result<Outcome> { Err(UserError("x".into()).into()) };
        let other = || -> anyhow::Result<Outcome> { Err(anyhow::anyhow!("AWS said no")) };
        assert_eq!(status(Table::Other, &Ok(Outcome::Done)), 0);
        assert_eq!(status(Table::Other, &user()), 1);
        assert_eq!(status(Table::Other, &other()), 2);
        assert_eq!(status(Table::Other, &Ok(Outcome::NothingFeasible)), 3);
        assert_eq!(status(Table::Other, &Ok(Outcome::Interrupted)), 130);
        assert_eq!(status(Table::Deploy, &other()), 1);
        assert_eq!(status(Table::Deploy, &user()), 1);
        assert_eq!(status(Table::Deploy, &Ok(Outcome::Changes)), 2);
        assert_eq!(status(Table::Deploy, &Ok(Outcome::Failed)), 1);
        assert_eq!(status(Table::Deploy, &Ok(Outcome::Declined)), 1);
    }
}
