//! Arrivals: each flow's schedule (fixed interval, Poisson, times, cron) turned into runs, one
//! at a time.

use super::*;

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

impl<'a, O: Observer> Engine<'a, O> {
    pub(super) fn wall(&self, t: SimTime) -> Option<DateTime<Utc>> {
        DateTime::<Utc>::from_timestamp_millis(self.s.sim.start_unix_ms + t.0 as i64)
    }

    pub(super) fn cron_next(
        &self,
        cron: &croner::Cron,
        after: SimTime,
        inclusive: bool,
    ) -> Option<SimTime> {
        let w = self.wall(after)?;
        let next = cron.find_next_occurrence(&w, inclusive).ok()?;
        let ms = next.timestamp_millis() - self.s.sim.start_unix_ms;
        (ms >= 0).then_some(SimTime(ms as u64))
    }

    pub(super) fn first_arrival(&self, f: usize) -> Option<SimTime> {
        let t = match &self.s.flows[f].schedule {
            Schedule::Every { offset, .. } => *offset,
            Schedule::Cron {
                weekly: Some(w), ..
            } => weekly_at(w, 0)?,
            Schedule::Cron { cron, .. } => self.cron_next(cron, SimTime::ZERO, true)?,
            Schedule::Poisson(r) => {
                SimTime::from_ms_f64(self.st.arrivals.exp1(self.flow_keys[f], 0) * r.mean_gap_ms())
            }
            Schedule::Times(v) => *v.first()?,
        };
        (t < self.s.sim.horizon).then_some(t)
    }

    pub(super) fn next_arrival(&self, f: usize, k: u64) -> Option<SimTime> {
        let now = self.now;
        let t = match &self.s.flows[f].schedule {
            Schedule::Every { interval, .. } => now.plus(*interval),
            Schedule::Cron {
                weekly: Some(w), ..
            } => weekly_at(w, k)?,
            Schedule::Cron { cron, .. } => self.cron_next(cron, now, false)?,
            Schedule::Poisson(r) => now.plus(SimTime::from_ms_f64(
                self.st.arrivals.exp1(self.flow_keys[f], k) * r.mean_gap_ms(),
            )),
            Schedule::Times(v) => *v.get(k as usize)?,
        };
        (t < self.s.sim.horizon).then_some(t)
    }

    pub(super) fn on_arrival(&mut self, flow: u32) {
        let f = flow as usize;
        let k = self.arrivals_k[f];
        self.arrivals_k[f] += 1;
        match self.next_arrival(f, k + 1) {
            Some(t) => self.q.push_lane(f, t, Ev::Arrival { flow }),
            None => self.arrivals_open -= 1,
        }
        // the draw key of the run: its deployment's name and its place in that schedule
        let id = self.flow_keys[f] ^ k;
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
            probes: 0,
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
}
