//! What a run will cost before it starts: events and memory, from the scenario alone, so a
//! job that would run for hours or exhaust memory is refused up front with its estimate (and
//! the flag that lifts the limit), and `--dry-run` prints the estimate without running.
//!
//! The estimate is an expectation, not a bound: runs from the schedules, [`EVENTS_PER_RUN`]
//! events per run plus [`EVENTS_PER_INTERRUPTION`] per expected interruption (and Uniform
//! Progress's checks), plus the spot environment's own events. On the shipped scenarios it is
//! within 0.8–1.5× of the events the engine runs (`tests/it/hostile.rs`).

use serde::Serialize;

use crate::model::SimTime;
use crate::scenario::{Scenario, Schedule};
use crate::sim::{FlowOutcome, RunOutcome};

/// Engine events per run without interruptions (arrival, pick-up, RunTask and placement,
/// completion, stop): the shipped scenarios without many interruptions run 3.0–3.1.
pub const EVENTS_PER_RUN: f64 = 4.0;
/// Engine events an interruption adds (SIGTERM, stop, reschedule, a new attempt).
pub const EVENTS_PER_INTERRUPTION: f64 = 6.0;

/// Engine speed the time estimate assumes, per thread: the `engine` bench's lower end on the
/// 2-core CI machine (24–31 M events/s) with ample margin for the sweep's bookkeeping.
pub const REFERENCE_EVENTS_PER_SEC: f64 = 15.0e6;

/// Default limits: a refused job would have run over ~10 minutes on 2 threads at the
/// reference speed, or needed over 2 GiB.
pub const DEFAULT_MAX_EVENTS: f64 = 600.0 * REFERENCE_EVENTS_PER_SEC * 2.0;
/// See [`DEFAULT_MAX_EVENTS`].
pub const DEFAULT_MAX_MEMORY: f64 = 2.0 * 1024.0 * 1024.0 * 1024.0;

/// A runaway queue: runs waiting for a concurrency limit that cannot keep up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Backlog {
    /// Work offered per unit of capacity (≥ 1: the queue grows without end).
    pub utilisation: f64,
    /// Runs expected to be still waiting at the end of the horizon, per replication.
    pub waiting_at_end: f64,
}

/// The estimated work of a command.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkEstimate {
    /// Runs scheduled per replication (all flows).
    pub runs_per_replication: f64,
    /// Engine events per replication.
    pub events_per_replication: f64,
    /// Replications per simulated configuration.
    pub replications: u64,
    /// Configurations simulated (candidates × placement readings, baselines included).
    pub simulations: u64,
    /// Engine events in all.
    pub events: f64,
    /// Seconds on one thread at [`REFERENCE_EVENTS_PER_SEC`].
    pub cpu_seconds: f64,
    /// Peak memory, bytes.
    pub memory_bytes: f64,
    /// A concurrency limit that cannot keep up, if any.
    pub backlog: Option<Backlog>,
}

/// Limits on a command's work.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// Most engine events.
    pub max_events: f64,
    /// Most memory, bytes.
    pub max_memory: f64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_events: DEFAULT_MAX_EVENTS,
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

/// Expected arrivals of `schedule` in `horizon` (scenario start `start_unix_ms`).
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
pub fn backlog(s: &Scenario) -> Option<Backlog> {
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
            + f.engine_startup.0 as f64;
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

/// The estimated work of simulating `s` (`simulations` configurations × `replications`),
/// keeping `kept_outcomes` replication outcomes (a sweep keeps every cell; `simulate` its
/// replications). It does not depend on the thread count (it is part of the JSON meta, which
/// is byte-identical on any machine): per-engine memory is counted once.
pub fn estimate(
    s: &Scenario,
    simulations: u64,
    replications: u64,
    kept_outcomes: u64,
) -> WorkEstimate {
    let horizon = s.sim.horizon;
    // interruptions per task-hour on spot: the Poisson rate and the waves' hits
    let per_hour = s.spot.rate.per_hour
        + s.spot
            .waves
            .as_ref()
            .map_or(0.0, |w| w.per_day * w.hit / 24.0);
    let uniform_progress = matches!(
        s.retry,
        crate::scenario::RetryPolicy::Custom(crate::scenario::CustomRetry {
            uniform_progress: true,
            ..
        })
    );
    let mut runs = 0.0;
    let mut run_events = 0.0;
    for f in &s.flows {
        let n = arrivals(&f.schedule, horizon, s.sim.start_unix_ms);
        let busy_h = (f.duration.mean_ms()
            + f.provisioning.mean_ms()
            + f.image_pull.mean_ms()
            + f.engine_startup.0 as f64)
            / 3_600_000.0;
        let checks = match (&f.checkpoint, uniform_progress) {
            (Some(c), true) => f.duration.mean_ms() / c.every.0.max(1) as f64,
            _ => 0.0,
        };
        runs += n;
        run_events += n * (EVENTS_PER_RUN + EVENTS_PER_INTERRUPTION * per_hour * busy_h + checks);
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
    let events_per_replication = run_events + env;
    let events = events_per_replication * replications as f64 * simulations as f64;
    let backlog = backlog(s);
    // kept outcomes, plus an engine: live runs (the backlog at worst), exact latencies up to
    // 4096, and the per-flow latency histograms
    let outcome = std::mem::size_of::<RunOutcome>() as f64
        + s.flows.len() as f64 * std::mem::size_of::<FlowOutcome>() as f64;
    let live = backlog.as_ref().map_or(1_000.0, |b| b.waiting_at_end) * 256.0;
    let per_thread = live + 4096.0 * 8.0 + 256.0 * 1024.0 * (1 + s.flows.len()) as f64;
    WorkEstimate {
        runs_per_replication: runs,
        events_per_replication,
        replications,
        simulations,
        events,
        cpu_seconds: events / REFERENCE_EVENTS_PER_SEC,
        memory_bytes: kept_outcomes as f64 * outcome + per_thread,
        backlog,
    }
}

impl WorkEstimate {
    /// The refusal, in words, when the estimate exceeds `b`.
    pub fn check(&self, b: &Budget) -> Result<(), String> {
        let mut over = Vec::new();
        if self.events > b.max_events {
            over.push(format!(
                "{} engine events (about {} of CPU), over the limit of {} (`--max-events`)",
                human_count(self.events),
                human_secs(self.cpu_seconds),
                human_count(b.max_events)
            ));
        }
        if self.memory_bytes > b.max_memory {
            over.push(format!(
                "{} of memory, over the limit of {} (`--max-memory`)",
                human_bytes(self.memory_bytes),
                human_bytes(b.max_memory)
            ));
        }
        if over.is_empty() {
            return Ok(());
        }
        Err(format!(
            "this run is too big to start: {} ({} runs a replication × {} replications × {} configurations){}. Shorten --horizon, lower --replications or the grid, or lift the limit with the flag named (`--dry-run` shows the estimate)",
            over.join("; "),
            human_count(self.runs_per_replication),
            self.replications,
            self.simulations,
            match &self.backlog {
                Some(b) => format!(
                    "; the concurrency limit cannot keep up (utilisation {:.0}%), so {} runs would still wait at the end",
                    b.utilisation * 100.0,
                    human_count(b.waiting_at_end)
                ),
                None => String::new(),
            }
        ))
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        format!(
            "estimate: {} runs a replication, {} engine events ({} replications × {} configurations), about {} of CPU, {} of memory",
            human_count(self.runs_per_replication),
            human_count(self.events),
            self.replications,
            self.simulations,
            human_secs(self.cpu_seconds),
            human_bytes(self.memory_bytes)
        )
    }
}

/// `1.2e9` as `1.2 G`, `35 000` as `35 k`.
pub fn human_count(x: f64) -> String {
    match x {
        x if x >= 1e12 => format!("{:.1} T", x / 1e12),
        x if x >= 1e9 => format!("{:.1} G", x / 1e9),
        x if x >= 1e6 => format!("{:.1} M", x / 1e6),
        x if x >= 1e4 => format!("{:.0} k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

fn human_secs(s: f64) -> String {
    match s {
        s if s >= 86_400.0 => format!("{:.1} days", s / 86_400.0),
        s if s >= 3_600.0 => format!("{:.1} h", s / 3_600.0),
        s if s >= 60.0 => format!("{:.0} min", s / 60.0),
        s => format!("{s:.1} s"),
    }
}

fn human_bytes(b: f64) -> String {
    match b {
        b if b >= 1024.0 * 1024.0 * 1024.0 => format!("{:.1} GiB", b / 1024.0 / 1024.0 / 1024.0),
        b if b >= 1024.0 * 1024.0 => format!("{:.0} MiB", b / 1024.0 / 1024.0),
        b => format!("{:.0} KiB", b / 1024.0),
    }
}

/// Parses `--max-memory`: `2GB`, `512MiB`, `4G`, or bytes.
pub fn parse_bytes(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{t}` is not a size; write it like `2GB` or `512MB`"))?;
    let k = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        u => return Err(format!("`{u}` is not a size unit; use KB, MB, GB or TB")),
    };
    let v = n * k;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("`{t}` must be a size above zero"));
    }
    Ok(v)
}
