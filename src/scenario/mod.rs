//! Scenario files: serde types (`file`), parsing with located errors (`parse`), validation
//! into the typed [`Scenario`] (`validate`) and the trap warnings (`warnings`).

pub mod canonical;
pub mod engine_startup;
pub(crate) mod error;
pub(crate) mod file;
pub mod generate;
mod locate;
pub mod network;
pub(crate) mod overrides;
pub(crate) mod parse;
pub mod retry;
pub mod spec;
pub(crate) mod types;
pub mod validate;
pub mod warnings;
pub(crate) mod workload;

pub use error::{Diagnostic, FieldPath, Location, ScenarioError};
pub use overrides::Overrides;
pub use types::*;
pub use validate::{Loader, PriceRequest, PriceResolver, ResolvedPrices};
pub use warnings::{Warning, warnings};

/// Parses and validates scenario text. `file` names it in errors; `loader` reads the files it
/// references (traces, CSV schedules, empirical durations).
pub fn load(src: &str, file: &str, loader: Loader<'_>) -> Result<Scenario, ScenarioError> {
    load_with(
        src,
        file,
        loader,
        &validate::bundled_only,
        &Overrides::default(),
    )
}

/// As [`load`], with a resolver for the `cache` and `live` price sources, and the command
/// line's values in place of the file's: they are validated with the rest, and the scenario is
/// never changed afterwards.
pub fn load_with(
    src: &str,
    file: &str,
    loader: Loader<'_>,
    prices: validate::PriceResolver<'_>,
    overrides: &Overrides,
) -> Result<Scenario, ScenarioError> {
    let parsed = parse::parse_file(src, file)?;
    let f = overrides.apply(&parsed);
    let mut s = validate::validate(&f, src, file, loader, prices)?;
    // the file as written, in canonical form: what a recommendation or a shard is bound to
    let (canonical, sections) = canonical::hashes(&parsed);
    s.source.canonical = canonical;
    s.source.sections = sections;
    // (the objectives assumed for a file without any are part of building the scenario)
    if let Some(none) = overrides.assumed_objectives {
        if !s.objectives.any() && s.flows.iter().all(|f| f.objectives.is_none()) {
            s.objectives = Objectives::default_for(&s, none);
        } else if overrides.deployment_guard != Some(false) {
            s.objectives.deployment_guard = Some(types::DEPLOYMENT_GUARD);
        }
    }
    Ok(s)
}

/// The JSON Schema of the scenario format.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(file::ScenarioFile)).unwrap_or_default()
}
