//! Values the command line gives in place of the file's (`--seed`, `--horizon`,
//! `--replications`, `--placement`, the objectives assumed when the file states none). They are applied while validating, so that a validated [`super::Scenario`] is never
//! changed afterwards: every value in it has passed the same checks.

use super::file::ScenarioFile;

/// Command-line values that replace the file's; `None` keeps the file's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// `simulation.seed`.
    pub seed: Option<u64>,
    /// `simulation.horizon`, as written (`7d`).
    pub horizon: Option<String>,
    /// `simulation.replications`.
    pub replications: Option<u32>,
    /// `simulation.placement`, as written (a reading, or `robust`).
    pub placement: Option<String>,
    /// The objectives to assume when the file states none: `Some(false)` the default ones
    /// (said in every result), `Some(true)` none at all (`--no-objectives`); `None` assumes
    /// nothing (commands that do not pick).
    pub assumed_objectives: Option<bool>,
    /// `Some(false)` (`--no-deployment-guard`): stated platform-wide objectives do not also
    /// guard each deployment against all on demand.
    pub deployment_guard: Option<bool>,
}

impl Overrides {
    /// The file with the command line's values in place of its own.
    pub(crate) fn apply(&self, f: &ScenarioFile) -> ScenarioFile {
        let mut f = f.clone();
        if let Some(v) = self.seed {
            f.simulation.seed = Some(v);
        }
        if let Some(v) = &self.horizon {
            f.simulation.horizon = Some(v.clone());
        }
        if let Some(v) = self.replications {
            // the sweep's replications default to the file's simulation's, not to an
            // override of them (`simulate -n 1` changes no sweep)
            if f.sweep.replications.is_none() {
                f.sweep.replications = Some(
                    f.simulation
                        .replications
                        .unwrap_or(super::validate::DEFAULT_REPLICATIONS),
                );
            }
            f.simulation.replications = Some(v);
        }
        if let Some(v) = &self.placement {
            f.simulation.placement = Some(v.clone());
        }
        f
    }
}
