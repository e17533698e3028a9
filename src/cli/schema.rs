//! `spotplan schema`

use super::exit::Outcome;

pub(super) fn run() -> anyhow::Result<Outcome> {
    outln!(
        "{}",
        serde_json::to_string_pretty(&crate::scenario::json_schema())?
    );
    Ok(Outcome::Done)
}
