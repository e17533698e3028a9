//! What a run will cost before it starts: events and memory, from the scenario alone, so a
//! job that would run for hours or exhaust memory is refused up front with its estimate (and
//! the flag that lifts the limit), and `--dry-run` prints the estimate without running.
//!
//! The estimate is an expectation, not a bound: the scenario's expected load
//! (`crate::scenario::workload`: runs, engine events, a backlog) times the configurations and
//! replications, and the memory the engine and the kept outcomes take.

use serde::Serialize;

use crate::scenario::Scenario;
use crate::scenario::workload::{Backlog, Load};
use crate::sim::{FlowOutcome, RunOutcome};
use crate::units::{human_bytes, human_count, human_secs};

/// Engine speed the time estimate assumes, per thread: the `engine` bench's lower end on the
/// 2-core CI machine (24–31 M events/s) with ample margin for the sweep's bookkeeping.
pub const REFERENCE_EVENTS_PER_SEC: f64 = 15.0e6;

/// Default limits: a refused job would have run over ~10 minutes on 2 threads at the
/// reference speed, or needed over 2 GiB.
pub const DEFAULT_MAX_EVENTS: f64 = 600.0 * REFERENCE_EVENTS_PER_SEC * 2.0;
/// See [`DEFAULT_MAX_EVENTS`].
pub const DEFAULT_MAX_MEMORY: f64 = 2.0 * 1024.0 * 1024.0 * 1024.0;

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

/// A job refused before it starts: what it would take, over which limit, and the flags that
/// lift it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct OverBudget(pub String);

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
    let load = Load::of(s);
    let events = load.events_per_replication * replications as f64 * simulations as f64;
    // kept outcomes, plus an engine: live runs (the backlog at worst), exact latencies up to
    // 4096, and the per-flow latency histograms
    let outcome = std::mem::size_of::<RunOutcome>() as f64
        + s.flows.len() as f64 * std::mem::size_of::<FlowOutcome>() as f64;
    let live = load.backlog.as_ref().map_or(1_000.0, |b| b.waiting_at_end) * 256.0;
    let per_thread = live + 4096.0 * 8.0 + 256.0 * 1024.0 * (1 + s.flows.len()) as f64;
    WorkEstimate {
        runs_per_replication: load.runs_per_replication,
        events_per_replication: load.events_per_replication,
        replications,
        simulations,
        events,
        cpu_seconds: events / REFERENCE_EVENTS_PER_SEC,
        memory_bytes: kept_outcomes as f64 * outcome + per_thread,
        backlog: load.backlog,
    }
}

impl WorkEstimate {
    /// The refusal when the estimate exceeds `b`.
    pub fn check(&self, b: &Budget) -> Result<(), OverBudget> {
        self.over(b).map_err(OverBudget)
    }

    /// [`Self::check`]'s work, its refusal in words.
    fn over(&self, b: &Budget) -> Result<(), String> {
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
