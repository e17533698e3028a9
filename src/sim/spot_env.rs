//! The spot environment of one replication, beside the per-task Poisson hazard
//! ([`super::hazard`]): capacity outages (an alternating renewal process), reclaim waves and
//! trace replay. It owns their state and says when each changes next; the engine applies
//! what a change means (RunTask failures while unavailable, SIGTERM to the victims).
//! Adding an interruption model touches this file and its parser.

use super::rng::Stream;
use crate::model::SimTime;
use crate::scenario::SpotSpec;

/// What changes in the spot environment (one event variant of the engine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpotChange {
    /// A capacity outage starts or ends.
    CapacityFlip,
    /// A reclaim wave hits running spot tasks.
    Wave,
    /// The trace's state changes at a slot boundary.
    TraceEdge,
}

/// The state of the outages, waves and trace of one replication.
#[derive(Clone, Debug)]
pub(crate) struct SpotEnv {
    capacity: Stream,
    waves_stream: Stream,
    cap_unavailable: bool,
    cap_flips: u64,
    trace_unavailable: bool,
    trace_slot: u64,
    waves: u64,
}

impl SpotEnv {
    /// At time zero: the capacity state drawn from its long-run fraction, the trace slot at
    /// `trace_offset` or drawn.
    pub(crate) fn new(spec: &SpotSpec, capacity: Stream, waves: Stream, trace: Stream) -> SpotEnv {
        let mut e = SpotEnv {
            capacity,
            waves_stream: waves,
            cap_unavailable: false,
            cap_flips: 0,
            trace_unavailable: false,
            trace_slot: 0,
            waves: 0,
        };
        if let Some(c) = spec.capacity {
            e.cap_unavailable = capacity.uniform(0, 0) < c.unavailable;
        }
        if let Some(tr) = &spec.trace {
            let n = tr.unavailable.len() as u64;
            e.trace_slot = match spec.trace_offset {
                Some(off) => (off.0 / tr.gap.0.max(1)) % n,
                None => (trace.uniform(0, 0) * n as f64) as u64,
            };
            e.trace_unavailable = e.trace_state(spec, SimTime::ZERO);
        }
        e
    }

    /// Whether a FARGATE_SPOT placement fails now (an outage, or a preempted trace slot).
    #[inline]
    pub(crate) fn unavailable(&self) -> bool {
        self.cap_unavailable || self.trace_unavailable
    }

    /// The first changes to schedule, with their times (≤ `end`).
    pub(crate) fn first(&self, spec: &SpotSpec, end: SimTime) -> Vec<(SimTime, SpotChange)> {
        [
            self.next_flip(spec, SimTime::ZERO, end),
            self.next_wave(spec, SimTime::ZERO, end),
            self.next_edge(spec, SimTime::ZERO, end),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Applies `change` at `now` and returns the next change of its kind (if before `end`),
    /// and whether running spot tasks are hit (a wave: each with [`SpotEnv::wave_hits`];
    /// a trace slot turning preempted: all).
    pub(crate) fn apply(
        &mut self,
        spec: &SpotSpec,
        change: SpotChange,
        now: SimTime,
        end: SimTime,
    ) -> (Option<(SimTime, SpotChange)>, bool) {
        match change {
            SpotChange::CapacityFlip => {
                self.cap_unavailable = !self.cap_unavailable;
                self.cap_flips += 1;
                (self.next_flip(spec, now, end), false)
            }
            SpotChange::Wave => {
                self.waves += 1;
                (self.next_wave(spec, now, end), spec.waves.is_some())
            }
            SpotChange::TraceEdge => {
                let was = self.trace_unavailable;
                self.trace_unavailable = self.trace_state(spec, now);
                (
                    self.next_edge(spec, now, end),
                    !was && self.trace_unavailable,
                )
            }
        }
    }

    /// Whether the current wave hits the attempt keyed `key` (a run id and attempt); for a
    /// trace preemption every running spot task is hit.
    #[inline]
    pub(crate) fn wave_hits(&self, spec: &SpotSpec, change: SpotChange, key: u64) -> bool {
        match (change, spec.waves) {
            (SpotChange::Wave, Some(w)) => self.waves_stream.uniform(self.waves, key) < w.hit,
            (SpotChange::TraceEdge, _) => true,
            _ => false,
        }
    }

    fn next_flip(
        &self,
        spec: &SpotSpec,
        now: SimTime,
        end: SimTime,
    ) -> Option<(SimTime, SpotChange)> {
        let c = spec.capacity?;
        let mean = if self.cap_unavailable {
            c.mean_outage.0 as f64
        } else {
            c.mean_available_ms()
        };
        let dt = self.capacity.exp1(self.cap_flips + 1, 0) * mean;
        let t = now.plus(SimTime(dt.max(1.0) as u64));
        (t <= end).then_some((t, SpotChange::CapacityFlip))
    }

    fn next_wave(
        &self,
        spec: &SpotSpec,
        now: SimTime,
        end: SimTime,
    ) -> Option<(SimTime, SpotChange)> {
        let w = spec.waves?;
        let dt = self.waves_stream.exp1(self.waves, u64::MAX) / w.per_day * SimTime::DAY.0 as f64;
        let t = now.plus(SimTime(dt.max(1.0) as u64));
        (t <= end).then_some((t, SpotChange::Wave))
    }

    fn trace_state(&self, spec: &SpotSpec, t: SimTime) -> bool {
        let Some(tr) = &spec.trace else {
            return false;
        };
        let n = tr.unavailable.len() as u64;
        tr.unavailable[((self.trace_slot + t.0 / tr.gap.0.max(1)) % n) as usize]
    }

    fn next_edge(
        &self,
        spec: &SpotSpec,
        now: SimTime,
        end: SimTime,
    ) -> Option<(SimTime, SpotChange)> {
        let tr = spec.trace.as_ref()?;
        let gap = tr.gap.0.max(1);
        let n = tr.unavailable.len() as u64;
        let cur = now.0 / gap;
        for step in 1..=n {
            let t = SimTime((cur + step) * gap);
            if t > end {
                return None;
            }
            if self.trace_state(spec, t) != self.trace_unavailable {
                return Some((t, SpotChange::TraceEdge));
            }
        }
        None
    }
}
