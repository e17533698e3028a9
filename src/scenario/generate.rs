//! Synthetic platforms for the scale benchmark and the search's property tests: `n`
//! deployments of a data platform as scenario TOML, deterministic in `(n, seed)`.
//!
//! What is generated, stated once (deployment `i` draws from a stream keyed by `seed` and `i`,
//! so deployment `i` is the same in every platform of the same seed, whatever `n`):
//!
//! - **schedule mix**: 40% hourly at a random minute (`every = "1h"`, offset), 10% every
//!   15 minutes, 40% daily at a random hour (cron), 10% Poisson at 1–4 runs per hour;
//! - **run length against period**: the median is 10–50% of the period for the 15-minute and
//!   hourly flows and for Poisson flows 3–12 minutes, 20 minutes to 3 hours for daily ones;
//!   log-normal with p95 = 2 × median;
//! - **sizes**: 0.25–4 vCPU at 2 GB per vCPU (Fargate pairs);
//! - **deadlines**: every other deployment has one: its period (15-minute and hourly flows) or
//!   4× the median (daily and Poisson);
//! - **checkpoints**: none (the grid's checkpoint intervals apply only to flows that do);
//! - **network**: one NAT gateway, 300 MB images; `[spot]` 0.05 interruptions per hour with
//!   5% capacity outages of 20 minutes on average; `us-east-1`; horizon 30 days,
//!   100 replications, the default grid (`prefect3` and its fallback automation, robust
//!   placement); no `[objectives]` (the assumed ones apply).

use std::fmt::Write;

use rand::{RngExt, SeedableRng};
use rand_xoshiro::SplitMix64;

/// Scenario TOML of a platform of `n` deployments.
pub fn platform(n: usize, seed: u64) -> String {
    let mut s = format!(
        r#"name = "generated platform of {n} deployments (seed {seed})"
region = "us-east-1"

[simulation]
horizon = "30d"
replications = 100
seed = {seed}

[cluster]
name = "platform"
capacity_providers = ["FARGATE", "FARGATE_SPOT"]

[worker]
kind = "prefect3-ecs-worker"
strategy = [{{ provider = "FARGATE", weight = 1 }}]

[spot]
interruption_rate = "0.05/h"
stop_timeout = "120s"
capacity = {{ unavailable = 0.05, mean_outage = "20m" }}

[retry]
policy = "prefect3"

[network]
egress = "nat"
nat_gateways = 1

[sweep]
retry = ["prefect3", "prefect3[fallback=automation]"]
"#
    );
    for i in 0..n {
        deployment(&mut s, i, seed);
    }
    s
}

/// Deployment `i`: its draws are keyed by `(seed, i)` only.
fn deployment(s: &mut String, i: usize, seed: u64) {
    let mut g = SplitMix64::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64);
    let mut u = || g.random::<f64>();
    let kind = u();
    let share = 0.1 + 0.4 * u();
    let (schedule, median_s, period_s) = if kind < 0.40 {
        let offset = (u() * 60.0) as u32;
        (
            format!(r#"{{ every = "1h", offset = "{offset}m" }}"#),
            share * 3600.0,
            Some(3600.0),
        )
    } else if kind < 0.50 {
        (
            r#"{ every = "15m" }"#.to_string(),
            share * 900.0,
            Some(900.0),
        )
    } else if kind < 0.90 {
        let hour = (u() * 24.0) as u32;
        (
            format!(r#"{{ cron = "0 {hour} * * *" }}"#),
            1200.0 + u() * 9600.0,
            None,
        )
    } else {
        let per_h = 1 + (u() * 4.0) as u32;
        (
            format!(r#"{{ poisson = "{per_h}/h" }}"#),
            180.0 + u() * 540.0,
            None,
        )
    };
    let median = median_s.round() as u64;
    let cpus = [256u32, 512, 1024, 2048, 4096][(u() * 5.0) as usize];
    let memory = (cpus * 2).max(512);
    let _ = write!(
        s,
        r#"
[[flow]]
name = "deployment-{i:03}"
schedule = {schedule}
duration = {{ lognormal = {{ median = "{median}s", p95 = "{}s" }} }}
cpu = {cpus}
memory = {memory}
image_size = "300 MB"
"#,
        2 * median
    );
    if i.is_multiple_of(2) {
        let deadline = period_s.unwrap_or(4.0 * median as f64).round() as u64;
        let _ = writeln!(s, r#"deadline = "{deadline}s""#);
    }
}
