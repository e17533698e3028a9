//! Scenario files: serde types (`file`), parsing with located errors (`parse`), validation
//! into the typed [`Scenario`] (`validate`) and the trap warnings (`warnings`).

pub mod error;
pub mod file;
mod locate;
pub mod parse;
pub mod retry;
pub mod spec;
pub mod types;
pub mod validate;
pub mod warnings;
pub mod workload;

pub use error::{Diagnostic, FieldPath, Location, ScenarioError};
pub use types::*;
pub use validate::{Loader, PriceRequest, PriceResolver, ResolvedPrices};
pub use warnings::{Warning, warnings};

/// Parses and validates scenario text. `file` names it in errors; `loader` reads the files it
/// references (traces, CSV schedules, empirical durations).
pub fn load(src: &str, file: &str, loader: Loader<'_>) -> Result<Scenario, ScenarioError> {
    load_with_prices(src, file, loader, &validate::bundled_only)
}

/// As [`load`], with a resolver for the `cache` and `live` price sources.
pub fn load_with_prices(
    src: &str,
    file: &str,
    loader: Loader<'_>,
    prices: validate::PriceResolver<'_>,
) -> Result<Scenario, ScenarioError> {
    let f = parse::parse_file(src, file)?;
    validate::validate(&f, src, file, loader, prices)
}

/// The JSON Schema of the scenario format.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(file::ScenarioFile)).unwrap_or_default()
}
