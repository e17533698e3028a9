//! `spotplan schema`

use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    outln!(
        "{}",
        serde_json::to_string_pretty(&crate::scenario::json_schema())?
    );
    Ok(ExitCode::SUCCESS)
}
