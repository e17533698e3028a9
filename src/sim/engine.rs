//! The discrete-event engine: one replication of a scenario.
//!
//! Ordering guarantee: events fire in `(time, seq)` order; at equal times, in the order they
//! were scheduled. All randomness is keyed (see [`super::rng`]), so the run is a pure function
//! of (scenario, replication).

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::deadline::{AtLaunch, Deadline, Pace, RunProgress};
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
    Requeue { run: u32 },
    Lazarus { run: u32 },
    Zombie { run: u32 },
    Automation { run: u32 },
    ProgressCheck { task: u32, generation: u32 },
    Spot(SpotChange),
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
    pull_start: SimTime,
    pull_end: SimTime,
    /// The engine runs the flow from here (after the pull and the engine start-up): work
    /// starts, heartbeats start, Prefect 3's SIGTERM handler is installed.
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
    arrivals_open: usize,
    live_runs: u64,
    spot: SpotEnv,
    generations: u32,
    meter: Meter,
    latency: Latencies,
    out: RunOutcome,
}

/// The counts a retry decision reads.
fn counts(r: &Run) -> RunCounts {
    RunCounts {
        attempts: r.attempts,
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

/// Occurrence `k` of a weekly-periodic schedule whose first week holds `week`.
fn weekly_at(week: &[SimTime], k: u64) -> Option<SimTime> {
    let n = week.len() as u64;
    if n == 0 {
        return None;
    }
    Some(SimTime(
        week[(k % n) as usize].0 + (k / n) * 7 * SimTime::DAY.0,
    ))
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
        arrivals_open: n,
        live_runs: 0,
        spot,
        generations: 0,
        meter: Meter::new(n),
        latency: Latencies::default(),
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
                    if tk.live && tk.generation == generation && !tk.stopping {
                        self.interrupt(task);
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

    fn wall(&self, t: SimTime) -> Option<DateTime<Utc>> {
        DateTime::<Utc>::from_timestamp_millis(self.s.sim.start_unix_ms + t.0 as i64)
    }

    fn cron_next(&self, cron: &croner::Cron, after: SimTime, inclusive: bool) -> Option<SimTime> {
        let w = self.wall(after)?;
        let next = cron.find_next_occurrence(&w, inclusive).ok()?;
        let ms = next.timestamp_millis() - self.s.sim.start_unix_ms;
        (ms >= 0).then_some(SimTime(ms as u64))
    }

    fn first_arrival(&self, f: usize) -> Option<SimTime> {
        let t = match &self.s.flows[f].schedule {
            Schedule::Every { offset, .. } => *offset,
            Schedule::Cron {
                weekly: Some(w), ..
            } => weekly_at(w, 0)?,
            Schedule::Cron { cron, .. } => self.cron_next(cron, SimTime::ZERO, true)?,
            Schedule::Poisson(r) => {
                SimTime::from_ms_f64(self.st.arrivals.exp1(f as u64, 0) * r.mean_gap_ms())
            }
            Schedule::Times(v) => *v.first()?,
        };
        (t < self.s.sim.horizon).then_some(t)
    }

    fn next_arrival(&self, f: usize, k: u64) -> Option<SimTime> {
        let now = self.now;
        let t = match &self.s.flows[f].schedule {
            Schedule::Every { interval, .. } => now.plus(*interval),
            Schedule::Cron {
                weekly: Some(w), ..
            } => weekly_at(w, k)?,
            Schedule::Cron { cron, .. } => self.cron_next(cron, now, false)?,
            Schedule::Poisson(r) => now.plus(SimTime::from_ms_f64(
                self.st.arrivals.exp1(f as u64, k) * r.mean_gap_ms(),
            )),
            Schedule::Times(v) => *v.get(k as usize)?,
        };
        (t < self.s.sim.horizon).then_some(t)
    }

    fn on_arrival(&mut self, flow: u32) {
        let f = flow as usize;
        let k = self.arrivals_k[f];
        self.arrivals_k[f] += 1;
        match self.next_arrival(f, k + 1) {
            Some(t) => self.q.push_lane(f, t, Ev::Arrival { flow }),
            None => self.arrivals_open -= 1,
        }
        let id = ((f as u64) << 40) | k;
        let work = self.samplers[f][0].sample(&mut self.st.durations.rng(id, 0));
        let run = self.runs.insert(Run {
            id,
            k,
            flow,
            scheduled: self.now,
            work,
            saved: SimTime::ZERO,
            attempts: 0,
            submission_tries: 0,
            interruptions: 0,
            capacity_failures: 0,
            lazarus: 0,
            fallback: false,
            holds_slot: false,
            cur_task: 0,
            task_retries: 0,
            heartbeat: SimTime::ZERO,
            task_failed: false,
            automated: false,
            seen: SimTime::ZERO,
            catching_up: false,
        });
        self.live_runs += 1;
        self.out.runs += 1;
        self.per_flow[f].runs += 1;
        if self.s.flows[f].deadline.is_some() {
            self.out.deadline_runs += 1;
            self.per_flow[f].deadline_runs += 1;
        }
        self.emit(
            flow,
            k,
            0,
            EventKind::Scheduled,
            None,
            Detail::Work { work_ms: work.0 },
        );
        self.make_eligible(run);
    }

    // ---- worker: polling and concurrency --------------------------------------------------

    fn next_tick(&self, t: SimTime) -> SimTime {
        let p = self.s.worker.poll_interval.0;
        if p == 0 {
            return t;
        }
        let ph = self.poll_phase;
        if t.0 <= ph {
            return SimTime(ph);
        }
        SimTime(ph + (t.0 - ph).div_ceil(p) * p)
    }

    fn schedule_pickup(&mut self) {
        let t = self.next_tick(self.now);
        if self.pickup_at.is_none_or(|p| p > t) {
            self.pickup_at = Some(t);
            self.q.push(t, Ev::Pickup);
        }
    }

    fn make_eligible(&mut self, run: u32) {
        self.eligible.push_back(run);
        self.schedule_pickup();
    }

    fn on_pickup(&mut self) {
        if self.pickup_at == Some(self.now) {
            self.pickup_at = None;
        }
        let pool_limit = self.s.worker.concurrency_limit.unwrap_or(u32::MAX);
        let mut i = 0;
        while i < self.eligible.len() && self.pool_in_flight < pool_limit {
            let run = self.eligible[i];
            let flow = self.runs.items[run as usize].flow as usize;
            let flow_limit = self.s.flows[flow].concurrency_limit.unwrap_or(u32::MAX);
            if self.flow_in_flight[flow] >= flow_limit {
                i += 1;
                continue;
            }
            self.eligible.remove(i);
            self.pool_in_flight += 1;
            self.flow_in_flight[flow] += 1;
            let r = &mut self.runs.items[run as usize];
            r.holds_slot = true;
            r.submission_tries = 0;
            self.submit(run);
        }
        if self.pool_in_flight >= pool_limit && i < self.eligible.len() {
            // runs wait for the work pool's slots: flows share a binding limit
            self.out.pool_limit_waits += 1;
        }
    }

    fn release_slot(&mut self, run: u32) {
        let r = &mut self.runs.items[run as usize];
        if r.holds_slot {
            r.holds_slot = false;
            self.pool_in_flight -= 1;
            self.flow_in_flight[r.flow as usize] -= 1;
            if !self.eligible.is_empty() {
                self.schedule_pickup();
            }
        }
    }

    // ---- RunTask and placement ------------------------------------------------------------

    fn spot_unavailable(&self) -> bool {
        self.spot.unavailable()
    }

    /// The retry policy of a run's flow.
    fn policy(&self, r: &Run) -> &'a RetryPolicy {
        self.s.retry_of(r.flow as usize)
    }

    /// The deadline rules' view of flow `flow`.
    fn deadline(&self, flow: u32) -> Deadline<'a> {
        let f = flow as usize;
        Deadline {
            flow: &self.s.flows[f],
            pace: self.pace_of(f),
            policy: self.s.retry_of(f),
            poll_interval: self.s.worker.poll_interval,
            stop_timeout: self.s.spot.stop_timeout,
        }
    }

    /// The flow's pacing values: worked out once when a deadline rule is in use, else now
    /// (the rules' paths are then never taken; this keeps them safe if that changes).
    fn pace_of(&self, flow: usize) -> Pace {
        self.pace
            .get(flow)
            .copied()
            .unwrap_or_else(|| Pace::of(&self.s.flows[flow]))
    }

    /// Uniform Progress, at a checkpoint of a task catching up on demand: once ahead of the
    /// line by a tolerance unit, stop it (its work is checkpointed) and relaunch on spot.
    fn on_progress_check(&mut self, task: u32, generation: u32) {
        let tk = self.tasks.items[task as usize];
        if !tk.live || tk.generation != generation || tk.stopping {
            return;
        }
        let Some(c) = self.s.flows[tk.flow as usize].checkpoint else {
            return;
        };
        let run = tk.run;
        let r = self.runs.items[run as usize];
        let (kept, _) = c.progress(self.now.minus(tk.run_start), tk.remaining);
        if kept >= tk.remaining {
            return; // finishing now: nothing to switch
        }
        if self
            .deadline(r.flow)
            .back_to_spot(self.now, &progress(&r), kept)
        {
            self.bill(task, self.now);
            self.retire_task(task);
            let rr = &mut self.runs.items[run as usize];
            rr.saved = rr.saved.plus(kept);
            rr.catching_up = false;
            self.back_to_queue(run, Detail::BackToSpot { kept_ms: kept.0 }, SimTime::ZERO);
        } else {
            self.q.push(
                self.now.plus(c.cycle()),
                Ev::ProgressCheck { task, generation },
            );
        }
    }

    fn submit(&mut self, run: u32) {
        let r = &mut self.runs.items[run as usize];
        r.attempts += 1;
        r.submission_tries += 1;
        let r = *r;
        let mut provider = if r.fallback {
            Provider::Fargate
        } else {
            let u = self.st.placement.uniform(r.id, r.attempts as u64);
            let k = self.flow_placer[r.flow as usize];
            self.placers[k].choose(self.in_flight[k], u)
        };
        if provider == Provider::FargateSpot
            && let Some(rule) = self.policy(&r).deadline_rule()
        {
            match self
                .deadline(r.flow)
                .at_launch(rule, self.now, &progress(&r))
            {
                AtLaunch::Spot => {}
                AtLaunch::OnDemandForGood => {
                    provider = Provider::Fargate;
                    self.fall_back(run);
                }
                AtLaunch::CatchUp => {
                    // behind the expected-progress line: catch up on demand (not for good)
                    provider = Provider::Fargate;
                    self.runs.items[run as usize].catching_up = true;
                    self.emit_fallback(&r, true);
                }
            }
        }
        self.emit(
            r.flow,
            r.k,
            r.attempts,
            EventKind::RunTask,
            Some(provider),
            Detail::None,
        );
        if provider == Provider::FargateSpot && self.spot_unavailable() {
            self.on_capacity_failure(run);
        } else {
            self.place(run, provider);
        }
    }

    fn on_capacity_failure(&mut self, run: u32) {
        self.out.capacity_failures += 1;
        let r = &mut self.runs.items[run as usize];
        r.capacity_failures += 1;
        let r = *r;
        self.emit(
            r.flow,
            r.k,
            r.attempts,
            EventKind::CapacityFailure,
            Some(Provider::FargateSpot),
            Detail::None,
        );
        let u = self.st.retries.uniform(r.id, r.attempts as u64);
        let (decision, fallback) = retry::on_capacity_failure(self.policy(&r), &counts(&r), u);
        if fallback {
            self.fall_back(run);
        }
        match decision {
            OnCapacityFailure::RetryRunTask(d) => self.q.push(self.now.plus(d), Ev::Submit { run }),
            OnCapacityFailure::Crash => self.crash(run),
            OnCapacityFailure::Fail => self.end_run(run, EventKind::Failed),
        }
    }

    /// A run Crashed: the end, unless the fallback automation relaunches it on FARGATE.
    fn crash(&mut self, run: u32) {
        let r = self.runs.items[run as usize];
        match retry::on_crash(self.policy(&r), r.automated) {
            OnCrash::End => self.end_run(run, EventKind::Crashed),
            OnCrash::Rerun(delay) => {
                self.runs.items[run as usize].automated = true;
                self.fall_back(run);
                self.release_slot(run);
                self.q.push(self.now.plus(delay), Ev::Automation { run });
            }
        }
    }

    /// Traces a move to FARGATE: for good (a fallback: `catching_up` false), or Uniform
    /// Progress catching up (it may return to spot).
    fn emit_fallback(&mut self, r: &Run, catching_up: bool) {
        self.emit(
            r.flow,
            r.k,
            r.attempts,
            EventKind::FallbackToOnDemand,
            Some(Provider::Fargate),
            Detail::Fallback { catching_up },
        );
    }

    fn fall_back(&mut self, run: u32) {
        let r = &mut self.runs.items[run as usize];
        if !r.fallback {
            r.fallback = true;
            let r = *r;
            self.out.fallbacks += 1;
            self.emit_fallback(&r, false);
        }
    }

    fn place(&mut self, run: u32, provider: Provider) {
        let r = self.runs.items[run as usize];
        let f = r.flow as usize;
        let fl = &self.s.flows[f];
        let mut g = self.st.startup.rng(r.id, r.attempts as u64);
        let prov = self.samplers[f][1].sample(&mut g);
        let pull = self.samplers[f][2].sample(&mut g);
        let pull_start = self.now.plus(prov);
        let pull_end = pull_start.plus(pull);
        let run_start = pull_end.plus(fl.engine_startup);
        // a Prefect 1 rerun of a run whose task failed ends at once, Failed
        let remaining = if r.task_failed {
            SimTime::ZERO
        } else {
            r.work.minus(r.saved)
        };
        let end = run_start.plus(fl.runtime(remaining));
        let generation = self.next_generation();
        let task = self.tasks.insert(Task {
            run,
            run_id: r.id,
            run_k: r.k,
            flow: r.flow,
            attempt: r.attempts,
            provider,
            placed: self.now,
            generation,
            live: true,
            stopping: false,
            pull_start,
            pull_end,
            run_start,
            remaining,
            useful: SimTime::ZERO,
            after: AfterStop::Nothing,
        });
        self.live_tasks.push(task);
        self.in_flight[self.flow_placer[r.flow as usize]][provider.index()] += 1;
        self.out.tasks += 1;
        self.emit(
            r.flow,
            r.k,
            r.attempts,
            EventKind::Placed,
            Some(provider),
            Detail::Placed {
                pull_start_ms: pull_start.0,
                running_ms: run_start.0,
            },
        );
        if provider == Provider::Fargate
            && r.catching_up
            && let Some(c) = fl.checkpoint
        {
            self.q.push(
                run_start.plus(c.cycle()),
                Ev::ProgressCheck { task, generation },
            );
        }
        if provider == Provider::FargateSpot {
            let u = self.st.interruptions.uniform_open0(r.id, r.attempts as u64);
            if let Some(ti) = self.hazard.first_event_from_uniform(u, pull_start, end) {
                self.q.push(ti, Ev::Interrupt { task, generation });
                return;
            }
        }
        self.q.push(end, Ev::Done { task, generation });
    }

    // ---- task ends ------------------------------------------------------------------------

    fn bill(&mut self, task: u32, stop: SimTime) {
        let tk = self.tasks.items[task as usize];
        let secs = self.meter.bill(
            self.s,
            &TaskSpan {
                flow: tk.flow as usize,
                provider: tk.provider,
                placed: tk.placed,
                pull_start: tk.pull_start,
                pull_end: tk.pull_end,
                stop,
                interrupted: tk.stopping,
                useful: tk.useful,
            },
        );
        if stop <= tk.pull_start {
            return;
        }
        self.emit(
            tk.flow,
            tk.run_k,
            tk.attempt,
            EventKind::Stopped,
            Some(tk.provider),
            Detail::Stopped { billed_s: secs },
        );
    }

    fn retire_task(&mut self, task: u32) {
        let tk = &mut self.tasks.items[task as usize];
        tk.live = false;
        let p = tk.provider.index();
        self.in_flight[self.flow_placer[tk.flow as usize]][p] -= 1;
        if let Some(pos) = self.live_tasks.iter().position(|&t| t == task) {
            self.live_tasks.swap_remove(pos);
        }
        self.tasks.remove(task);
    }

    fn on_done(&mut self, task: u32, generation: u32) {
        let tk = self.tasks.items[task as usize];
        if !tk.live || tk.generation != generation {
            return;
        }
        self.bill(task, self.now);
        self.retire_task(task);
        let run = tk.run;
        let r = self.runs.items[run as usize];
        if r.task_failed {
            // the flow runner finds the failed task and the run ends Failed
            self.end_run(run, EventKind::Failed);
            return;
        }
        let latency = self.now.minus(r.scheduled);
        self.latency.record(latency.0);
        self.out.completed += 1;
        if let Some(d) = self.s.flows[r.flow as usize].deadline
            && latency > d
        {
            self.out.deadline_misses += 1;
            self.per_flow[r.flow as usize].deadline_misses += 1;
        }
        self.emit(
            r.flow,
            r.k,
            r.attempts,
            EventKind::Completed,
            Some(tk.provider),
            Detail::Completed {
                latency_ms: latency.0,
            },
        );
        self.release_slot(run);
        self.runs.remove(run);
        self.live_runs -= 1;
    }

    /// Ends a run Crashed or Failed now.
    fn end_run(&mut self, run: u32, how: EventKind) {
        let r = self.runs.items[run as usize];
        match how {
            EventKind::Failed => self.out.failed += 1,
            _ => self.out.crashed += 1,
        }
        let pf = &mut self.per_flow[r.flow as usize];
        pf.crashed_or_failed += 1;
        if self.s.flows[r.flow as usize].deadline.is_some() {
            self.out.deadline_misses += 1;
            pf.deadline_misses += 1;
        }
        self.emit(r.flow, r.k, r.attempts, how, None, Detail::None);
        self.release_slot(run);
        self.runs.remove(run);
        self.live_runs -= 1;
    }

    /// SIGTERM to a spot task now: progress since the last checkpoint (or, under Prefect 1,
    /// the last finished task) is lost; the engine exits within seconds (the task stops then,
    /// or at `stop_timeout` if sooner); the retry policy decides what becomes of the run.
    fn interrupt(&mut self, task: u32) {
        let now = self.now;
        let exit = if retry::ENGINE_EXIT_AFTER_SIGTERM < self.s.spot.stop_timeout {
            retry::ENGINE_EXIT_AFTER_SIGTERM
        } else {
            self.s.spot.stop_timeout
        };
        let stop = now.plus(exit);
        let mut tk = self.tasks.items[task as usize];
        tk.generation = self.next_generation();
        tk.stopping = true;
        let fl = &self.s.flows[tk.flow as usize];
        let (gained, done) = if now >= tk.run_start {
            let elapsed = now.minus(tk.run_start);
            match fl.checkpoint {
                Some(c) => c.progress(elapsed, tk.remaining),
                None => (SimTime::ZERO, SimTime(elapsed.0.min(tk.remaining.0))),
            }
        } else {
            (SimTime::ZERO, SimTime::ZERO)
        };
        let run = tk.run;
        let mut r = self.runs.items[run as usize];
        let mut gained = gained;
        let times = retry::AttemptTimes {
            now,
            pull_start: tk.pull_start,
            engine_up: tk.run_start,
        };
        if let Some(p1) =
            retry::prefect1_at_sigterm(self.policy(&r), &fl.tasks, r.saved, done, r.work, times)
        {
            // finished Prefect 1 tasks keep their results: task boundaries are checkpoints
            gained = SimTime(gained.0.max(p1.kept.0));
            if p1.task != r.cur_task {
                r.cur_task = p1.task;
                r.task_retries = 0;
            }
            r.heartbeat = p1.heartbeat;
        }
        tk.useful = gained;
        r.seen = SimTime(r.seen.0.max(r.saved.plus(done).0));
        r.saved = r.saved.plus(gained);
        r.interruptions += 1;
        self.out.interruptions += 1;
        self.runs.items[run as usize] = r;
        self.emit(
            r.flow,
            r.k,
            r.attempts,
            EventKind::Interrupted,
            Some(tk.provider),
            Detail::Interrupted { saved_ms: gained.0 },
        );
        let at = retry::InterruptAt {
            now,
            engine_up: tk.run_start,
            heartbeat: r.heartbeat,
        };
        let u = self.st.retries.uniform(r.id, r.attempts as u64);
        let (decision, fallback) =
            retry::on_interrupt(self.policy(&r), &at, &counts(&r), self.phases, u);
        if fallback {
            self.fall_back(run);
        }
        tk.after = match decision {
            OnInterrupt::Crash => AfterStop::Crash,
            OnInterrupt::RescheduleNow => {
                // the SIGTERM handler proposes AwaitingRetry at once; the next poll picks it up
                self.back_to_queue(run, Detail::Requeued { delay_ms: 0 }, SimTime::ZERO);
                AfterStop::Nothing
            }
            OnInterrupt::Requeue(d) => AfterStop::Requeue(d),
            OnInterrupt::Lazarus(t) => {
                self.q.push(t, Ev::Lazarus { run });
                AfterStop::Nothing
            }
            OnInterrupt::Zombie(t) => {
                self.q.push(t, Ev::Zombie { run });
                AfterStop::Nothing
            }
        };
        self.tasks.items[task as usize] = tk;
        self.q.push(stop, Ev::Stopped { task });
    }

    /// The Zombie Killer finds the interrupted task run's flow-run heartbeat stale: Retrying
    /// (after the task's `retry_delay`) while it has retries, else Failed, and then Lazarus
    /// reruns the flow run, which ends Failed.
    fn on_zombie(&mut self, run: u32) {
        let r = self.runs.items[run as usize];
        let tasks = &self.s.flows[r.flow as usize].tasks;
        if r.task_retries < tasks.retries {
            let delay = tasks.retry_delay;
            let rr = &mut self.runs.items[run as usize];
            rr.task_retries += 1;
            self.back_to_queue(run, Detail::Requeued { delay_ms: delay.0 }, delay);
        } else {
            self.runs.items[run as usize].task_failed = true;
            let t = retry::lazarus_after_zombie(self.phases, self.now, r.heartbeat);
            self.q.push(t, Ev::Lazarus { run });
        }
    }

    fn on_stopped(&mut self, task: u32) {
        let tk = self.tasks.items[task as usize];
        if !tk.live {
            return;
        }
        self.bill(task, self.now);
        self.retire_task(task);
        match tk.after {
            AfterStop::Nothing => {}
            AfterStop::Crash => self.crash(tk.run),
            AfterStop::Requeue(d) => {
                self.back_to_queue(tk.run, Detail::Requeued { delay_ms: d.0 }, d);
            }
        }
    }

    /// The run goes back to Scheduled (why: `detail`): its slot is released and the worker
    /// picks it up at its next poll after `after`.
    fn back_to_queue(&mut self, run: u32, detail: Detail, after: SimTime) {
        let r = self.runs.items[run as usize];
        self.emit(
            r.flow,
            r.k,
            r.attempts,
            EventKind::Rescheduled,
            None,
            detail,
        );
        self.release_slot(run);
        if after.0 == 0 {
            self.make_eligible(run);
        } else {
            self.q.push(self.now.plus(after), Ev::Requeue { run });
        }
    }

    fn on_lazarus(&mut self, run: u32) {
        let Some(limit) = self.policy(&self.runs.items[run as usize]).lazarus_limit() else {
            return;
        };
        let r = &mut self.runs.items[run as usize];
        if r.lazarus < limit {
            r.lazarus += 1;
            let lazarus = r.lazarus;
            self.back_to_queue(run, Detail::Lazarus { lazarus }, SimTime::ZERO);
        } else {
            self.end_run(run, EventKind::Failed);
        }
    }

    // ---- spot capacity, waves, trace ------------------------------------------------------

    /// An outage starts or ends, a wave hits, or the trace changes: running spot tasks the
    /// change hits get their SIGTERM (in task order), then the next change is scheduled.
    fn on_spot_change(&mut self, change: SpotChange) {
        let (next, hits) = self.spot.apply(&self.s.spot, change, self.now, self.end);
        if hits {
            let now = self.now;
            let mut victims: Vec<u32> = self
                .live_tasks
                .iter()
                .copied()
                .filter(|&t| {
                    let tk = &self.tasks.items[t as usize];
                    tk.provider == Provider::FargateSpot
                        && !tk.stopping
                        && tk.pull_start <= now
                        && self.spot.wave_hits(
                            &self.s.spot,
                            change,
                            tk.run_id ^ ((tk.attempt as u64) << 56),
                        )
                })
                .collect();
            victims.sort_unstable();
            for t in victims {
                self.interrupt(t);
            }
        }
        if let Some((t, c)) = next {
            self.q.push(t, Ev::Spot(c));
        }
    }

    // ---- the end --------------------------------------------------------------------------

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
                if self.s.flows[r.flow as usize].deadline.is_some() {
                    self.out.deadline_misses += 1;
                    self.per_flow[r.flow as usize].deadline_misses += 1;
                }
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
        out.flows = std::mem::take(&mut self.per_flow);
        out
    }
}
