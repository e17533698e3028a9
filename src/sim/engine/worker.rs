//! The worker: polls, the runs it picks up, and the pool's and each flow's concurrency slots.

use super::*;

impl<'a, O: Observer> Engine<'a, O> {
    pub(super) fn next_tick(&self, t: SimTime) -> SimTime {
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

    pub(super) fn schedule_pickup(&mut self) {
        let t = self.next_tick(self.now);
        if self.pickup_at.is_none_or(|p| p > t) {
            self.pickup_at = Some(t);
            self.q.push(t, Ev::Pickup);
        }
    }

    pub(super) fn make_eligible(&mut self, run: u32) {
        self.eligible.push_back(run);
        self.schedule_pickup();
    }

    pub(super) fn on_pickup(&mut self) {
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

    pub(super) fn release_slot(&mut self, run: u32) {
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
}
