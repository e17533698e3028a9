//! The discrete-event engine: one replication of a scenario.
//!
//! Ordering guarantee: events fire in `(time, seq)` order; at equal times, in the order they
//! were scheduled. All randomness is keyed (see [`super::rng`]), so the run is a pure function
//! of (scenario, replication).

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::deadline::{self, AtLaunch, Deadline, Pace, RunProgress, WithoutSpot};
mod arrivals;
mod ends;
mod launch;
mod prefect1;
mod worker;

use super::hazard::Hazard;
use super::latency::Latencies;
use super::meter::{Meter, TaskSpan};
use super::observer::{Detail, EventKind, Observer, TraceEvent};
use super::outcome::{FlowOutcome, RunOutcome};
use super::placement::Placer;
use super::queue::EventQueue;
use super::retry::{self, OnCapacityFailure, OnCrash, OnInterrupt, RunCounts, ServicePhases};
use super::rng::{Purpose, Stream};
use super::spot_env::{SpotChange, SpotEnv};
use crate::model::{Provider, SimTime};
use crate::scenario::{RetryPolicy, Scenario, Schedule, SpotSpec};

#[derive(Clone, Copy, Debug)]
enum Ev {
    Arrival { flow: u32 },
    Pickup,
    Submit { run: u32 },
    Done { task: u32, generation: u32 },
    Interrupt { task: u32, generation: u32 },
    Stopped { task: u32 },
    Kill { task: u32, generation: u32 },
    PullRefused { task: u32, generation: u32 },
    Requeue { run: u32 },
    Lazarus { run: u32 },
    Zombie { run: u32 },
    Automation { run: u32 },
    ProgressCheck { task: u32, generation: u32 },
    Spot(SpotChange),
}

/// Why a run ended Crashed or Failed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cause {
    /// Its attempt could not be placed (RunTask failed for capacity until the policy gave up).
    Capacity,
    /// An interruption (SIGTERM or SIGKILL) and what Prefect did after it.
    Interruption,
    /// The registry refused the image pull.
    ImagePull,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum AfterStop {
    Nothing,
    Crash,
    Requeue(SimTime),
}

#[derive(Clone, Copy, Debug)]
struct Run {
    id: u64,
    k: u64,
    flow: u32,
    scheduled: SimTime,
    work: SimTime,
    saved: SimTime,
    attempts: u32,
    interruptions: u32,
    capacity_failures: u32,
    lazarus: u32,
    /// (Apart from `attempts`: both grow in `submit`, and adjacent they are read as one
    /// 8-byte word just after `on_pickup` stored 4 of its bytes, a store-forwarding stall.)
    submission_tries: u32,
    fallback: bool,
    holds_slot: bool,
    /// Prefect 1: the task the last interruption hit, and the Zombie Killer retries it had.
    cur_task: u32,
    task_retries: u32,
    /// Prefect 1: the flow run's last heartbeat before its interruption.
    heartbeat: SimTime,
    /// Prefect 1: a task of the run was failed by the Zombie Killer; a rerun ends Failed.
    task_failed: bool,
    /// Prefect 3 automation: the run was relaunched on FARGATE once.
    automated: bool,
    /// The most work the run is known to need: the most it had done when an attempt was
    /// interrupted (it needs more than that).
    seen: SimTime,
    /// Uniform Progress: on demand to catch up with the expected-progress line.
    catching_up: bool,
    /// Uniform Progress: spot probes while it waited for capacity (not attempts of the
    /// retry policy's count).
    probes: u32,
}

#[derive(Clone, Copy, Debug)]
struct Task {
    run: u32,
    run_id: u64,
    run_k: u64,
    flow: u32,
    attempt: u32,
    provider: Provider,
    /// When RunTask placed it (the ENI, and a public IP, exist from here).
    placed: SimTime,
    /// Unique per placement and per interruption (a replication-wide counter), so an event
    /// left in the queue for an earlier task in a reused slot can never match.
    generation: u32,
    live: bool,
    stopping: bool,
    /// SIGTERM was sent and nobody in the container heard it: the task runs on until its
    /// SIGKILL (an `Ev::Kill`), unless it finishes first.
    unheard: bool,
    pull_start: SimTime,
    pull_end: SimTime,
    /// Prefect 3's SIGTERM handler exists from here (the unprotected part of the engine
    /// start-up is over): a SIGTERM can reschedule the run.
    handler_up: SimTime,
    /// The engine runs the flow from here (after the pull and the engine start-up): work
    /// starts, heartbeats start.
    run_start: SimTime,
    remaining: SimTime,
    useful: SimTime,
    after: AfterStop,
}

/// A vector with a free list; indices stay valid while an entry is live.
struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T: Copy> Slab<T> {
    fn new() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
    #[inline]
    fn insert(&mut self, v: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = v;
                i
            }
            None => {
                self.items.push(v);
                (self.items.len() - 1) as u32
            }
        }
    }
    #[inline]
    fn remove(&mut self, i: u32) {
        self.free.push(i);
    }
}

struct Streams {
    arrivals: Stream,
    durations: Stream,
    startup: Stream,
    interruptions: Stream,
    capacity: Stream,
    waves: Stream,
    retries: Stream,
    placement: Stream,
    phases: Stream,
    trace: Stream,
}

struct Engine<'a, O: Observer> {
    s: &'a Scenario,
    obs: &'a mut O,
    q: EventQueue<Ev>,
    now: SimTime,
    end: SimTime,
    runs: Slab<Run>,
    tasks: Slab<Task>,
    live_tasks: Vec<u32>,
    eligible: VecDeque<u32>,
    pickup_at: Option<SimTime>,
    pool_in_flight: u32,
    flow_in_flight: Vec<u32>,
    /// One placer per distinct strategy (the pool's first, then deployments' own), with the
    /// tasks in flight of each, by provider.
    placers: Vec<Placer>,
    in_flight: Vec<[u32; 2]>,
    /// CPU units of live tasks by provider (placement to stop), for the quota peaks.
    cpu_units: [u64; 2],
    /// Placements of images from outside ECR through the NAT in the last hour (with
    /// `[network] pull_limit`), oldest first.
    outside_pulls: VecDeque<SimTime>,
    /// The placer of each flow.
    flow_placer: Vec<usize>,
    /// Per flow: work, provisioning and image-pull samplers.
    samplers: Vec<[crate::model::dist::Sampler; 3]>,
    /// Per flow: what it ran and what became of its runs.
    per_flow: Vec<FlowOutcome>,
    /// Per flow, for the deadline-aware rule: what it reads of a run not yet interrupted
    /// (worked out once; empty unless the rule is in use).
    pace: Vec<Pace>,
    st: Streams,
    hazard: Hazard,
    poll_phase: u64,
    phases: ServicePhases,
    arrivals_k: Vec<u64>,
    /// Each flow's draw key ([`super::rng::name_key`] of its name).
    flow_keys: Vec<u64>,
    arrivals_open: usize,
    live_runs: u64,
    spot: SpotEnv,
    generations: u32,
    meter: Meter,
    latency: Latencies,
    /// Per flow, for flows with their own p95 latency objective only.
    flow_latency: Vec<Option<Latencies>>,
    out: RunOutcome,
}

/// The counts a retry decision reads.
fn counts(r: &Run) -> RunCounts {
    RunCounts {
        attempts: r.attempts - r.probes,
        submission_tries: r.submission_tries,
        interruptions: r.interruptions,
        capacity_failures: r.capacity_failures,
    }
}

/// What a deadline rule reads of a run.
fn progress(r: &Run) -> RunProgress {
    RunProgress {
        scheduled: r.scheduled,
        saved: r.saved,
        seen: r.seen,
        attempts: r.attempts,
    }
}

/// Simulates replication `rep` of the scenario (seed from the scenario) and returns what it
/// measured. Pure: no I/O, no clock.
pub fn run<O: Observer>(s: &Scenario, rep: u64, obs: &mut O) -> RunOutcome {
    let seed = s.sim.seed;
    let st = Streams {
        arrivals: Stream::new(seed, rep, Purpose::Arrivals),
        durations: Stream::new(seed, rep, Purpose::Durations),
        startup: Stream::new(seed, rep, Purpose::Startup),
        interruptions: Stream::new(seed, rep, Purpose::Interruptions),
        capacity: Stream::new(seed, rep, Purpose::Capacity),
        waves: Stream::new(seed, rep, Purpose::Waves),
        retries: Stream::new(seed, rep, Purpose::Retries),
        placement: Stream::new(seed, rep, Purpose::Placement),
        phases: Stream::new(seed, rep, Purpose::Phases),
        trace: Stream::new(seed, rep, Purpose::Trace),
    };
    let poll = s.worker.poll_interval.0;
    let poll_phase = if poll > 0 {
        (st.phases.uniform(1, 0) * poll as f64) as u64
    } else {
        0
    };
    let phases = ServicePhases {
        lazarus: (st.phases.uniform(2, 0) * retry::LAZARUS_LOOP.0 as f64) as u64,
        zombie: (st.phases.uniform(3, 0) * retry::ZOMBIE_LOOP.0 as f64) as u64,
    };
    let n = s.flows.len();
    // no outages, waves or trace until `start` finds the configuration can reach spot
    let spot = SpotEnv::new(&SpotSpec::default(), st.capacity, st.waves, st.trace);
    let mut e = Engine {
        s,
        obs,
        q: EventQueue::new(),
        now: SimTime::ZERO,
        end: s.sim.horizon.plus(s.sim.drain),
        runs: Slab::new(),
        tasks: Slab::new(),
        live_tasks: Vec::new(),
        eligible: VecDeque::new(),
        pickup_at: None,
        pool_in_flight: 0,
        flow_in_flight: vec![0; n],
        placers: Vec::new(),
        in_flight: Vec::new(),
        cpu_units: [0; 2],
        outside_pulls: VecDeque::new(),
        flow_placer: Vec::new(),
        samplers: s
            .flows
            .iter()
            .map(|f| {
                [
                    f.duration.sampler(),
                    f.provisioning.sampler(),
                    f.image_pull.sampler(),
                ]
            })
            .collect(),
        per_flow: vec![FlowOutcome::default(); n],
        pace: if (0..n).any(|f| s.retry_of(f).deadline_rule().is_some()) {
            s.flows.iter().map(Pace::of).collect()
        } else {
            Vec::new()
        },
        st,
        hazard: Hazard::new(s.spot.rate.per_ms(), s.spot.hourly, s.sim.start_unix_ms),
        poll_phase,
        phases,
        arrivals_k: vec![0; n],
        flow_keys: s
            .flows
            .iter()
            .map(|f| super::rng::name_key(&f.name))
            .collect(),
        arrivals_open: n,
        live_runs: 0,
        spot,
        generations: 0,
        meter: Meter::new(s),
        latency: Latencies::default(),
        flow_latency: s
            .flows
            .iter()
            .map(|f| {
                f.objectives
                    .as_ref()
                    .and_then(|o| o.max_p95_latency_ms)
                    .map(|_| Latencies::default())
            })
            .collect(),
        out: RunOutcome {
            replication: rep,
            ..Default::default()
        },
    };
    e.set_up_placers();
    e.start();
    e.main_loop();
    e.finish()
}

impl<'a, O: Observer> Engine<'a, O> {
    #[inline]
    fn emit(
        &mut self,
        flow: u32,
        run: u64,
        attempt: u32,
        kind: EventKind,
        provider: Option<Provider>,
        detail: Detail,
    ) {
        if O::ENABLED {
            self.obs.event(&TraceEvent {
                t_ms: self.now.0,
                flow,
                run,
                attempt,
                kind,
                provider,
                detail,
            });
        }
    }

    /// A run of flow `flow` that has a deadline missed it (completed late, ended Crashed or
    /// Failed, or unfinished at the end): counted for the replication and the flow.
    pub(super) fn miss_deadline(&mut self, flow: u32) {
        if self.s.flows[flow as usize].deadline.is_some() {
            self.out.deadline_misses += 1;
            self.per_flow[flow as usize].deadline_misses += 1;
        }
    }

    fn next_generation(&mut self) -> u32 {
        self.generations = self.generations.wrapping_add(1);
        self.generations
    }

    fn set_up_placers(&mut self) {
        let mut strategies: Vec<&crate::model::Strategy> = vec![&self.s.launch.strategy];
        for f in 0..self.s.flows.len() {
            let st = self.s.strategy_of(f);
            let k = match strategies.iter().position(|x| *x == st) {
                Some(k) => k,
                None => {
                    strategies.push(st);
                    strategies.len() - 1
                }
            };
            self.flow_placer.push(k);
        }
        self.placers = strategies
            .iter()
            .map(|st| Placer::new(st, self.s.sim.placement))
            .collect();
        self.in_flight = vec![[0; 2]; strategies.len()];
    }

    fn start(&mut self) {
        for f in 0..self.s.flows.len() {
            match self.first_arrival(f) {
                Some(t) => self.q.push_lane(f, t, Ev::Arrival { flow: f as u32 }),
                None => self.arrivals_open -= 1,
            }
        }
        // (a policy that needs code of the user's own keeps the spot environment's events even
        // on a strategy without spot, as it always has: its figures stay comparable)
        let uses_spot = self.s.uses_spot()
            || (0..self.s.flows.len()).any(|f| self.s.retry_of(f).needs_own_code());
        if !uses_spot {
            return;
        }
        self.spot = SpotEnv::new(&self.s.spot, self.st.capacity, self.st.waves, self.st.trace);
        for (t, change) in self.spot.first(&self.s.spot, self.end) {
            self.q.push(t, Ev::Spot(change));
        }
    }

    fn main_loop(&mut self) {
        while let Some((t, ev)) = self.q.pop() {
            if t > self.end {
                break;
            }
            self.now = t;
            self.out.events += 1;
            match ev {
                Ev::Arrival { flow } => self.on_arrival(flow),
                Ev::Pickup => self.on_pickup(),
                Ev::Submit { run } => self.submit(run),
                Ev::Done { task, generation } => self.on_done(task, generation),
                Ev::Interrupt { task, generation } => {
                    let tk = self.tasks.items[task as usize];
                    if tk.live && tk.generation == generation && !tk.stopping && !tk.unheard {
                        self.interrupt(task);
                    }
                }
                Ev::PullRefused { task, generation } => self.on_pull_refused(task, generation),
                Ev::Kill { task, generation } => {
                    let tk = self.tasks.items[task as usize];
                    if tk.live && tk.generation == generation && !tk.stopping {
                        self.stop_on_signal(task, SimTime::ZERO);
                    }
                }
                Ev::Stopped { task } => self.on_stopped(task),
                Ev::Requeue { run } => {
                    self.make_eligible(run);
                }
                Ev::Lazarus { run } => self.on_lazarus(run),
                Ev::Zombie { run } => self.on_zombie(run),
                Ev::ProgressCheck { task, generation } => self.on_progress_check(task, generation),
                Ev::Automation { run } => {
                    let r = &mut self.runs.items[run as usize];
                    r.submission_tries = 0;
                    self.make_eligible(run);
                }
                Ev::Spot(change) => self.on_spot_change(change),
            }
            if self.arrivals_open == 0 && self.live_runs == 0 && self.live_tasks.is_empty() {
                break;
            }
        }
    }

    // ---- arrivals -------------------------------------------------------------------------

    fn finish(mut self) -> RunOutcome {
        // bill what is still running at the cutoff; in-flight runs are unfinished
        let end = self.end;
        self.now = end;
        let mut live: Vec<u32> = self.live_tasks.clone();
        live.sort_unstable();
        for t in live {
            self.bill(t, end);
        }
        if self.live_runs > 0 {
            let mut open: Vec<u32> = (0..self.runs.items.len() as u32).collect();
            let free: std::collections::BTreeSet<u32> = self.runs.free.iter().copied().collect();
            open.retain(|i| !free.contains(i));
            for run in open {
                let r = self.runs.items[run as usize];
                self.out.unfinished += 1;
                self.miss_deadline(r.flow);
                self.emit(
                    r.flow,
                    r.k,
                    r.attempts,
                    EventKind::Unfinished,
                    None,
                    Detail::None,
                );
            }
        }
        let mut out = self.out;
        self.meter.price(self.s, &mut out, &mut self.per_flow);
        if out.completed > 0 {
            out.latency_mean_ms = self.latency.mean();
            [out.latency_p50_ms, out.latency_p95_ms, out.latency_p99_ms] =
                self.latency.percentiles();
        }
        for (pf, l) in self.per_flow.iter_mut().zip(&mut self.flow_latency) {
            if let Some(l) = l.as_mut().filter(|l| l.count() > 0) {
                pf.latency_p95_ms = l.percentiles()[1];
            }
        }
        out.flows = std::mem::take(&mut self.per_flow);
        out
    }
}
