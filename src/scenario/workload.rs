//! The load a scenario offers, from the scenario alone: the runs its schedules start in the
//! horizon, the engine events they take, and whether a concurrency limit can keep up. The
//! warnings read it (no runs, a backlog that grows) and `sim::budget` turns it into a job's
//! time and memory.
//!
//! The event count is an expectation, not a bound: [`EVENTS_PER_RUN`] events per run plus
//! [`EVENTS_PER_INTERRUPTION`] per expected interruption (and Uniform Progress's checks), plus
//! the spot environment's own events. On the shipped scenarios it is within 0.8–1.5× of the
//! events the engine runs (`tests/it/hostile.rs`).

use serde::Serialize;

use super::types::{DeadlineRule, Scenario, Schedule};
use crate::model::SimTime;

/// Engine events per run without interruptions (arrival, pick-up, RunTask and placement,
/// completion, stop): the shipped scenarios without many interruptions run 3.0–3.1.
pub(crate) const EVENTS_PER_RUN: f64 = 4.0;
/// Engine events an interruption adds (SIGTERM, stop, reschedule, a new attempt).
pub(crate) const EVENTS_PER_INTERRUPTION: f64 = 6.0;

/// A runaway queue: runs waiting for a concurrency limit that cannot keep up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Backlog {
    /// Work offered per unit of capacity (≥ 1: the queue grows without end).
    pub utilisation: f64,
    /// Runs expected to be still waiting at the end of the horizon, per replication.
    pub waiting_at_end: f64,
}

/// The expected load of one replication.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Load {
    /// Runs scheduled (all flows).
    pub runs_per_replication: f64,
    /// Engine events.
    pub events_per_replication: f64,
    /// A concurrency limit that cannot keep up, if any.
    pub backlog: Option<Backlog>,
}

impl Load {
    /// The load of `s`.
    pub(crate) fn of(s: &Scenario) -> Load {
        let horizon = s.sim.horizon;
        // interruptions per task-hour on spot: the Poisson rate and the waves' hits
        let per_hour = s.spot.rate.per_hour
            + s.spot
                .waves
                .as_ref()
                .map_or(0.0, |w| w.per_day * w.hit / 24.0);
        let mut runs = 0.0;
        let mut run_events = 0.0;
        for (k, f) in s.flows.iter().enumerate() {
            let rule = s.retry_of(k).deadline_rule();
            // both rules that catch up on demand check the line at checkpoints
            let uniform_progress = matches!(
                rule,
                Some(DeadlineRule::UniformProgress | DeadlineRule::CatchUp)
            );
            let n = arrivals(&f.schedule, horizon, s.sim.start_unix_ms);
            let busy_h = (f.duration.mean_ms()
                + f.provisioning.mean_ms()
                + f.image_pull.mean_ms()
                + f.engine.total().0 as f64)
                / 3_600_000.0;
            let checks = match (&f.checkpoint, uniform_progress) {
                (Some(c), true) => f.duration.mean_ms() / c.every.0.max(1) as f64,
                _ => 0.0,
            };
            // Uniform Progress waits out an outage met ahead of the line, probing spot (a
            // RunTask and its failure) every probe interval: per launch, the chance it meets
            // one times the probes over a mean outage
            let launches = 1.0 + per_hour * busy_h;
            let probes = match (
                &s.spot.capacity,
                rule == Some(DeadlineRule::UniformProgress),
            ) {
                (Some(c), true) if c.unavailable > 0.0 => {
                    let every = s.retry_of(k).probe_interval(s.worker.poll_interval);
                    launches * c.unavailable * 2.0 * c.mean_outage.0 as f64 / every.0.max(1) as f64
                }
                _ => 0.0,
            };
            runs += n;
            run_events += n
                * (EVENTS_PER_RUN + EVENTS_PER_INTERRUPTION * per_hour * busy_h + checks + probes);
        }
        let mut env = 0.0;
        if let Some(c) = &s.spot.capacity
            && c.unavailable > 0.0
        {
            env += 2.0 * c.unavailable * horizon.0 as f64 / c.mean_outage.0.max(1) as f64;
        }
        if let Some(w) = &s.spot.waves {
            env += w.per_day * horizon.0 as f64 / SimTime::DAY.0 as f64;
        }
        if let Some(t) = &s.spot.trace {
            env += horizon.0 as f64 / t.gap.0.max(1) as f64;
        }
        Load {
            runs_per_replication: runs,
            events_per_replication: run_events + env,
            backlog: backlog(s),
        }
    }
}

/// Expected arrivals of `schedule` in `horizon` (scenario start `start_unix_ms`).
/// Runs flow `flow` of `s` starts per hour on average over the horizon.
pub(crate) fn runs_per_hour(s: &Scenario, flow: usize) -> f64 {
    arrivals(&s.flows[flow].schedule, s.sim.horizon, s.sim.start_unix_ms)
        / s.sim.horizon.hours_f64().max(1e-9)
}

fn arrivals(schedule: &Schedule, horizon: SimTime, start_unix_ms: i64) -> f64 {
    let h = horizon.0 as f64;
    match schedule {
        Schedule::Every { interval, offset } => {
            if offset.0 >= horizon.0 {
                0.0
            } else {
                ((horizon.0 - offset.0) as f64 / interval.0.max(1) as f64).floor() + 1.0
            }
        }
        Schedule::Poisson(r) => r.per_ms() * h,
        Schedule::Times(v) => v.iter().filter(|t| **t < horizon).count() as f64,
        Schedule::Cron {
            weekly: Some(w), ..
        } => w.len() as f64 * h / (7.0 * SimTime::DAY.0 as f64),
        Schedule::Cron { cron, weekly: None } => {
            // the mean gap of the first occurrences (non-weekly crons are monthly or rarer)
            let Some(mut t) = chrono::DateTime::from_timestamp_millis(start_unix_ms) else {
                return 0.0;
            };
            let first = t;
            let mut n = 0u32;
            while n < 64 {
                match cron.find_next_occurrence(&t, n == 0) {
                    Ok(next) => {
                        t = next + chrono::Duration::milliseconds(1);
                        n += 1;
                    }
                    Err(_) => break,
                }
            }
            let span = (t - first).num_milliseconds().max(1) as f64;
            if n == 0 {
                0.0
            } else {
                (n as f64 * h / span).min(n as f64 * h)
            }
        }
    }
}

/// A concurrency limit below the work offered to it: the queue grows for the whole horizon.
pub(crate) fn backlog(s: &Scenario) -> Option<Backlog> {
    let hours = s.sim.horizon.hours_f64();
    if hours <= 0.0 {
        return None;
    }
    let (mut runs, mut offered) = (0.0, 0.0);
    for f in &s.flows {
        let n = arrivals(&f.schedule, s.sim.horizon, s.sim.start_unix_ms);
        runs += n;
        let busy_ms = f.duration.mean_ms()
            + f.provisioning.mean_ms()
            + f.image_pull.mean_ms()
            + f.engine.total().0 as f64;
        // task-hours asked for per hour: the mean number of runs in flight
        offered += n / hours * busy_ms / 3_600_000.0;
    }
    let limit = s
        .worker
        .concurrency_limit
        .map(f64::from)
        .into_iter()
        .chain(
            s.flows
                .iter()
                .filter_map(|f| f.concurrency_limit.map(f64::from)),
        )
        .fold(f64::INFINITY, f64::min);
    (limit.is_finite() && offered >= limit).then(|| Backlog {
        utilisation: offered / limit,
        waiting_at_end: runs * (1.0 - limit / offered),
    })
}
