//! How tasks end: billing, completion, the SIGTERM of an interruption, the stop, requeues,
//! and the spot environment's changes that interrupt running tasks.

use super::*;

impl<'a, O: Observer> Engine<'a, O> {
    pub(super) fn bill(&mut self, task: u32, stop: SimTime) {
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

    pub(super) fn retire_task(&mut self, task: u32) {
        let tk = &mut self.tasks.items[task as usize];
        tk.live = false;
        let p = tk.provider.index();
        self.in_flight[self.flow_placer[tk.flow as usize]][p] -= 1;
        self.cpu_units[p] -= self.s.flows[tk.flow as usize].size.cpu.0 as u64;
        if let Some(pos) = self.live_tasks.iter().position(|&t| t == task) {
            self.live_tasks.swap_remove(pos);
        }
        self.tasks.remove(task);
    }

    pub(super) fn on_done(&mut self, task: u32, generation: u32) {
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
            self.end_run(run, EventKind::Failed, Cause::Interruption);
            return;
        }
        let latency = self.now.minus(r.scheduled);
        self.latency.record(latency.0);
        if let Some(l) = &mut self.flow_latency[r.flow as usize] {
            l.record(latency.0);
        }
        self.out.completed += 1;
        if self.s.flows[r.flow as usize]
            .deadline
            .is_some_and(|d| latency > d)
        {
            self.miss_deadline(r.flow);
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

    /// Ends a run Crashed or Failed now, for `cause`.
    pub(super) fn end_run(&mut self, run: u32, how: EventKind, cause: Cause) {
        let r = self.runs.items[run as usize];
        match how {
            EventKind::Failed => self.out.failed += 1,
            _ => self.out.crashed += 1,
        }
        *match cause {
            Cause::Capacity => &mut self.out.crashed_by_capacity,
            Cause::Interruption => &mut self.out.crashed_by_interruption,
            Cause::ImagePull => &mut self.out.crashed_by_image_pull,
        } += 1;
        self.per_flow[r.flow as usize].crashed_or_failed += 1;
        self.miss_deadline(r.flow);
        self.emit(r.flow, r.k, r.attempts, how, None, Detail::None);
        self.release_slot(run);
        self.runs.remove(run);
        self.live_runs -= 1;
    }

    /// SIGTERM to a spot task now: progress since the last checkpoint (or, under Prefect 1,
    /// the last finished task) is lost; the engine exits within seconds (the task stops then,
    /// or at `stop_timeout` if sooner); the retry policy decides what becomes of the run.
    /// ECS sends SIGTERM to a spot task. Heard ([`retry::sigterm_heard`]), the engine exits
    /// on it within [`retry::ENGINE_EXIT_AFTER_SIGTERM`] (or at `stop_timeout` if sooner);
    /// not heard, the task runs on (and may still finish) until SIGKILL at `stop_timeout`.
    pub(super) fn interrupt(&mut self, task: u32) {
        let now = self.now;
        let tk = self.tasks.items[task as usize];
        let r = self.runs.items[tk.run as usize];
        let mode = self.s.flows[tk.flow as usize].sigterm.0;
        if !retry::sigterm_heard(self.policy(&r), mode, now, tk.handler_up) {
            let generation = tk.generation;
            self.tasks.items[task as usize].unheard = true;
            self.out.interruptions += 1; // a SIGTERM, whether or not the run outlives it
            self.q.push(
                now.plus(self.s.spot.stop_timeout),
                Ev::Kill { task, generation },
            );
            return;
        }
        let exit = if retry::ENGINE_EXIT_AFTER_SIGTERM < self.s.spot.stop_timeout {
            retry::ENGINE_EXIT_AFTER_SIGTERM
        } else {
            self.s.spot.stop_timeout
        };
        self.stop_on_signal(task, exit);
    }

    /// The task stops `exit` after now on a signal (SIGTERM heard, or SIGKILL of one that was
    /// not: `exit` 0): the interruption is counted, the run keeps what it checkpointed, and
    /// the retry policy decides what follows. A SIGKILL leaves no handler a chance: the run
    /// cannot reschedule itself.
    pub(super) fn stop_on_signal(&mut self, task: u32, exit: SimTime) {
        let now = self.now;
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
            // finished Prefect 1 tasks keep their results when they are persisted (an
            // S3Result): task boundaries are checkpoints. A LocalResult dies with the
            // container, and a restart runs every task again.
            if fl.tasks.persisted_results {
                gained = SimTime(gained.0.max(p1.kept.0));
            }
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
        if !tk.unheard {
            self.out.interruptions += 1;
        }
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
            handler_up: tk.handler_up,
            engine_up: tk.run_start,
            heartbeat: r.heartbeat,
        };
        let u = self.st.retries.uniform(r.id, r.attempts as u64);
        let (mut decision, fallback) =
            retry::on_interrupt(self.policy(&r), &at, &counts(&r), self.phases, u);
        if tk.unheard && decision == OnInterrupt::RescheduleNow {
            decision = OnInterrupt::Crash; // killed: the reschedule handler never ran
        }
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

    /// The registry refused the image pull (above `[network] pull_limit`): the task stops at
    /// the pull's start with no exit code (CannotPullContainerError), unbilled, and the
    /// prefect-aws observer marks the run Crashed (a task stopped without an exit code,
    /// `prefect_aws/observers/ecs.py`).
    pub(super) fn on_pull_refused(&mut self, task: u32, generation: u32) {
        let tk = self.tasks.items[task as usize];
        if !tk.live || tk.generation != generation {
            return;
        }
        self.bill(task, self.now);
        self.retire_task(task);
        self.crash(tk.run, Cause::ImagePull);
    }

    pub(super) fn on_stopped(&mut self, task: u32) {
        let tk = self.tasks.items[task as usize];
        if !tk.live {
            return;
        }
        self.bill(task, self.now);
        self.retire_task(task);
        match tk.after {
            AfterStop::Nothing => {}
            AfterStop::Crash => self.crash(tk.run, Cause::Interruption),
            AfterStop::Requeue(d) => {
                self.back_to_queue(tk.run, Detail::Requeued { delay_ms: d.0 }, d);
            }
        }
    }

    /// The run goes back to Scheduled (why: `detail`): its slot is released and the worker
    /// picks it up at its next poll after `after`.
    pub(super) fn back_to_queue(&mut self, run: u32, detail: Detail, after: SimTime) {
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

    /// An outage starts or ends, a wave hits, or the trace changes: running spot tasks the
    /// change hits get their SIGTERM (in task order), then the next change is scheduled.
    pub(super) fn on_spot_change(&mut self, change: SpotChange) {
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
                        && !tk.unheard
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
}
