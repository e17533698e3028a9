//! Helpers: build scenarios from TOML text, run replications, collect traces.

use std::path::{Path, PathBuf};

use spotplan::scenario::{self, Scenario, ScenarioError};
use spotplan::sim::{self, NoObserver, Recorder, RunOutcome, TraceEvent};

/// Runs the `spotplan` binary from the repository root.
pub(crate) fn spotplan(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// Its standard output, as text.
pub(crate) fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Its standard error, as text.
pub(crate) fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Loads scenario text; referenced files are read from `fixtures/`.
pub(crate) fn load(src: &str) -> Result<Scenario, ScenarioError> {
    let dir = root().join("fixtures");
    let loader =
        move |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string());
    scenario::load(src, "test.toml", &loader)
}

/// Loads scenario text that must be valid.
pub(crate) fn scenario(src: &str) -> Scenario {
    match load(src) {
        Ok(s) => s,
        Err(e) => panic!("scenario should be valid:\n{e}\n---\n{src}"),
    }
}

/// Runs replications 0..n and returns their outcomes.
pub(crate) fn outcomes(s: &Scenario, n: u64) -> Vec<RunOutcome> {
    (0..n)
        .map(|rep| sim::run(s, rep, &mut NoObserver))
        .collect()
}

/// The trace of replication `rep`.
pub(crate) fn trace(s: &Scenario, rep: u64) -> (RunOutcome, Vec<TraceEvent>) {
    let mut r = Recorder::default();
    let o = sim::run(s, rep, &mut r);
    (o, r.events)
}

/// A minimal valid scenario: the top-level `sections`, then one flow `job` with the fields in
/// `flow`.
pub(crate) fn base(sections: &str, flow: &str) -> String {
    format!(
        r#"name = "test"
region = "us-east-1"
{sections}

[[flow]]
name = "job"
{flow}
"#
    )
}

/// Mean and standard error of the mean.
pub(crate) fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// The request strategy "all on FARGATE_SPOT".
pub(crate) const SPOT_ONLY: &str = r#"[{ provider = "FARGATE_SPOT", weight = 1 }]"#;

/// A one-flow test world: both Fargate providers on the cluster, no worker service cost,
/// `simulation` lines (e.g. `horizon = "1d"`), the worker's poll interval and request
/// strategy, further sections in `extra` (`[spot]`, `[retry]`, …) and the flow's fields.
pub(crate) fn world(
    simulation: &str,
    poll: &str,
    strategy: &str,
    extra: &str,
    flow: &str,
) -> String {
    base(
        &format!(
            "[simulation]\n{simulation}\n[cluster]\ncapacity_providers = [\"FARGATE\", \"FARGATE_SPOT\"]\n\
             [worker]\ncount = 0\npoll_interval = \"{poll}\"\nstrategy = {strategy}\n{extra}"
        ),
        flow,
    )
}

/// The emit fixture's scenario with flow `etl` on its own strategy (all FARGATE) and the
/// `fallback=automation` retry policy: what per-deployment job variables and the fallback
/// automation are made from.
pub(crate) fn own_strategy_and_automation(src: &str) -> String {
    src.replace(
        "duration = \"10m\"",
        "duration = \"10m\"\nstrategy = [{ provider = \"FARGATE\", weight = 1 }]",
    )
    .replace(
        "policy = \"prefect3-reschedule\"",
        "policy = \"prefect3-reschedule\"\nfallback = \"automation\"",
    )
}

/// `spotplan recommend` of `scenario` on a small grid (10 replications over 2 days, 0% and
/// 100% spot), the recommendation file written to `out`.
pub(crate) fn recommend_quickly(scenario: &Path, out: &Path) -> std::process::Output {
    spotplan(&[
        "recommend",
        scenario.to_str().unwrap(),
        "-n",
        "10",
        "--horizon",
        "2d",
        "--spot-share",
        "0,100",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ])
}
