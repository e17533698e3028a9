//! Closed-form oracles for Poisson interruptions with restarts from scratch.
//!
//! With interruption rate λ, work L and a fixed downtime D after each interruption, the time
//! to finish is T with E[T] = (1/λ + D)(e^{λL} − 1), the number of interruptions N has
//! E[N] = e^{λL} − 1, and one attempt survives with probability e^{−λL}.

use crate::common::*;

/// λ = 1/h, L = 1 h, D = the engine's exit 2 s after SIGTERM (the task stops then, well
/// before `stop_timeout`) + retry delay 60 s; provisioning, pull, engine start-up and poll 0.
fn restart_scenario() -> String {
    world(
        "horizon = \"20d\"\nplacement = \"per-call\"",
        "0s",
        SPOT_ONLY,
        r#"
[spot]
interruption_rate = "1/h"
stop_timeout = "60s"
[retry]
policy = "custom"
max_attempts = 1000000
delay = "60s"
"#,
        r#"schedule = { every = "1d" }
duration = "1h"
engine_startup = "0s"
startup = { provisioning = "0s", image_pull = "0s" }"#,
    )
}

#[test]
fn mean_completion_time_matches_the_closed_form() {
    let s = scenario(&restart_scenario());
    let outs = outcomes(&s, 600);
    let lambda: f64 = 1.0 / 3600.0; // per second
    let (l, d): (f64, f64) = (3600.0, 62.0);
    let want = (1.0 / lambda + d) * ((lambda * l).exp() - 1.0);
    let lat: Vec<f64> = outs.iter().map(|o| o.latency_mean_ms / 1000.0).collect();
    let (m, se) = mean_se(&lat);
    assert!(outs.iter().all(|o| o.completed == o.runs && o.runs == 20));
    assert!(
        (m - want).abs() < 3.0 * se,
        "mean completion {m:.1}s vs closed form {want:.1}s (se {se:.1})"
    );
    // and the oracle is sharp: a 5% error would be caught
    assert!(3.0 * se < 0.05 * want, "test too weak: se {se}");
}

#[test]
fn mean_interruptions_match_the_closed_form() {
    let s = scenario(&restart_scenario());
    let outs = outcomes(&s, 600);
    let per_run: Vec<f64> = outs
        .iter()
        .map(|o| o.interruptions as f64 / o.runs as f64)
        .collect();
    let (m, se) = mean_se(&per_run);
    let want = 1f64.exp() - 1.0;
    assert!(
        (m - want).abs() < 3.0 * se,
        "mean interruptions {m:.4} vs {want:.4} (se {se:.4})"
    );
}

#[test]
fn single_attempt_survives_with_probability_exp_minus_lambda_l() {
    // prefect3 crashes an interrupted run: completed / runs estimates e^{-λL}
    let src = restart_scenario()
        .replace(
            "interruption_rate = \"1/h\"",
            "interruption_rate = \"0.5/h\"",
        )
        .replace(
            "policy = \"custom\"\nmax_attempts = 1000000\ndelay = \"60s\"",
            "policy = \"prefect3\"",
        );
    let s = scenario(&src);
    let outs = outcomes(&s, 500);
    let runs: u64 = outs.iter().map(|o| o.runs).sum();
    let done: u64 = outs.iter().map(|o| o.completed).sum();
    let crashed: u64 = outs.iter().map(|o| o.crashed).sum();
    assert_eq!(done + crashed, runs);
    let p = done as f64 / runs as f64;
    let want = (-0.5f64).exp();
    let se = (want * (1.0 - want) / runs as f64).sqrt();
    assert!(
        (p - want).abs() < 3.0 * se,
        "survival {p:.4} vs {want:.4} (se {se:.4})"
    );
}

#[test]
fn hourly_multipliers_scale_the_hazard() {
    // multipliers all 2.0 must behave exactly like a doubled rate
    let doubled =
        restart_scenario().replace("interruption_rate = \"1/h\"", "interruption_rate = \"2/h\"");
    let shaped = restart_scenario().replace(
        "interruption_rate = \"1/h\"",
        "interruption_rate = \"1/h\"\nhourly_multipliers = [2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2]",
    );
    let a = outcomes(&scenario(&doubled), 50);
    let b = outcomes(&scenario(&shaped), 50);
    let ia: u64 = a.iter().map(|o| o.interruptions).sum();
    let ib: u64 = b.iter().map(|o| o.interruptions).sum();
    // identical Exp(1) draws, hazard inverted both ways: equal up to millisecond rounding
    assert!((ia as i64 - ib as i64).abs() <= 2, "{ia} vs {ib}");
}
