//! The Uniform Progress controller (`prefect/uniform_progress.py`) for the deployments whose
//! retry policy runs it: the rules of `sim::deadline` in Python, with each deployment's
//! parameters worked out here from the scenario, as the simulation has them.

use serde_json::{Map, Value, json};

use crate::deploy::desired::Choice;
use crate::deploy::inputs::DeployInputs;
use crate::scenario::Scenario;
use crate::scenario::retry::DEADLINE_QUANTILE;

const TEMPLATE: &str = include_str!("uniform_progress.py");

/// The controller, when some deployment's policy (as `c` deploys it) runs Uniform Progress as
/// published.
pub(super) fn controller(s: &Scenario, d: &DeployInputs, c: &Choice) -> Option<String> {
    let mut params = Map::new();
    for fl in &s.flows {
        let policy = c.deployment_retry.get(&fl.name).unwrap_or(&c.retry);
        let (Some(deadline), true) = (fl.deadline, policy.runs_uniform_progress()) else {
            continue;
        };
        let secs = |ms: f64| (ms / 1000.0 * 1000.0).round() / 1000.0;
        let poll = s.worker.poll_interval.0 as f64;
        let (every, cost, lost) = match fl.checkpoint {
            Some(c) => (c.every.0 as f64, c.cost.0 as f64, c.cycle().0 as f64),
            None => (0.0, 0.0, 0.0),
        };
        let probe = policy.probe_interval(s.worker.poll_interval);
        params.insert(
            fl.name.clone(),
            json!({
                "deadline_s": secs(deadline.0 as f64),
                "tail_s": secs(fl.duration.conditional_quantile_ms(DEADLINE_QUANTILE, 0.0)),
                "d_s": secs(fl.mean_startup_ms() + poll),
                "every_s": secs(every),
                "cost_s": secs(cost),
                "lost_s": secs(lost),
                "probe_s": secs(probe.0 as f64),
            }),
        );
    }
    if params.is_empty() {
        return None;
    }
    let text = serde_json::to_string_pretty(&Value::Object(params)).unwrap_or_default();
    // (a work pool name is letters, digits, `-` and `_`: nothing to escape in the string)
    Some(
        TEMPLATE
            .replace("__PARAMS__", &text)
            .replace("__WORK_POOL__", &d.work_pool),
    )
}
