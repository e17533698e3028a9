//! Prefect 1's services as events: the Zombie Killer's and Lazarus's passes.

use super::*;

impl<'a, O: Observer> Engine<'a, O> {
    /// The Zombie Killer finds the interrupted task run's flow-run heartbeat stale: Retrying
    /// (after the task's `retry_delay`) while it has retries, else Failed, and then Lazarus
    /// reruns the flow run, which ends Failed.
    pub(super) fn on_zombie(&mut self, run: u32) {
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

    pub(super) fn on_lazarus(&mut self, run: u32) {
        let Some(limit) = self.policy(&self.runs.items[run as usize]).lazarus_limit() else {
            return;
        };
        let r = &mut self.runs.items[run as usize];
        if r.lazarus < limit {
            r.lazarus += 1;
            let lazarus = r.lazarus;
            self.back_to_queue(run, Detail::Lazarus { lazarus }, SimTime::ZERO);
        } else {
            self.end_run(run, EventKind::Failed, super::Cause::Interruption);
        }
    }

    // ---- spot capacity, waves, trace ------------------------------------------------------
}
