//! `spotplan validate FILE`

use super::exit::Outcome;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::scenario::{ScenarioError, warnings};

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
}

/// Output formats of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// Human-readable lines.
    Text,
    /// JSON: `{"valid": bool, "errors": [...], "warnings": [...]}`.
    Json,
}

pub(super) fn run(a: ValidateArgs) -> anyhow::Result<Outcome> {
    match super::load_scenario(&a.file) {
        Ok(s) => {
            let ws = warnings(&s);
            match a.format {
                ValidateFormat::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"valid": true, "errors": [], "warnings": ws})
                    )?
                ),
                ValidateFormat::Text => {
                    let ok = format!(
                        "ok: `{}` is valid: {} flow(s), strategy {} ({}), placement {}, retry {}",
                        a.file.display(),
                        s.flows.len(),
                        s.launch.strategy,
                        s.worker.kind.name(),
                        match s.sim.placement_spec {
                            crate::model::PlacementSpec::Robust => format!(
                                "robust{} (simulate runs `{}`)",
                                if s.sim.placement_stated {
                                    ""
                                } else {
                                    " by default"
                                },
                                s.sim.placement
                            ),
                            crate::model::PlacementSpec::Reading(p) => p.name().to_string(),
                        },
                        s.retry.name()
                    );
                    outln!("{}", crate::units::wrap(&ok, crate::units::WIDTH, "  "));
                    for w in &ws {
                        let line = format!("warning[{}]: {}", w.code, w.message);
                        outln!("{}", crate::units::wrap(&line, crate::units::WIDTH, "  "));
                    }
                }
            }
            Ok(Outcome::Done)
        }
        Err(e) if a.format == ValidateFormat::Json => {
            if let Some(se) = e.downcast_ref::<ScenarioError>() {
                let errors: Vec<_> = se
                    .diagnostics
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "file": d.file,
                            "line": d.location.map(|l| l.line),
                            "column": d.location.map(|l| l.col),
                            "path": d.path.to_string(),
                            "message": d.message,
                        })
                    })
                    .collect();
                outln!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"valid": false, "errors": errors, "warnings": []})
                    )?
                );
                return Ok(Outcome::BadInput);
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}
