//! Launching a run: RunTask under the placement reading, the deadline rules, capacity
//! failures, crashes and the fallback to FARGATE, and placing the task.

use super::*;

impl<'a, O: Observer> Engine<'a, O> {
    pub(super) fn spot_unavailable(&self) -> bool {
        self.spot.unavailable()
    }

    /// The retry policy of a run's flow.
    pub(super) fn policy(&self, r: &Run) -> &'a RetryPolicy {
        self.s.retry_of(r.flow as usize)
    }

    /// The deadline rules' view of flow `flow`.
    pub(super) fn deadline(&self, flow: u32) -> Deadline<'a> {
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
    pub(super) fn pace_of(&self, flow: usize) -> Pace {
        self.pace
            .get(flow)
            .copied()
            .unwrap_or_else(|| Pace::of(&self.s.flows[flow]))
    }

    /// Uniform Progress, at a checkpoint of a task catching up on demand: once ahead of the
    /// line by a tolerance unit, stop it (its work is checkpointed) and relaunch on spot.
    pub(super) fn on_progress_check(&mut self, task: u32, generation: u32) {
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
        let Some(rule) = self.policy(&r).deadline_rule() else {
            return;
        };
        if self
            .deadline(r.flow)
            .back_to_spot(rule, self.now, &progress(&r), kept)
        {
            self.out.deadline_rules.hysteresis += 1;
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

    pub(super) fn submit(&mut self, run: u32) {
        let r = &mut self.runs.items[run as usize];
        r.attempts += 1;
        r.submission_tries += 1;
        let r = *r;
        let mut provider = if r.fallback || r.catching_up {
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
                AtLaunch::Spot => {
                    if deadline::published(Some(rule)) {
                        self.out.deadline_rules.taking_risks += 1;
                    }
                }
                AtLaunch::OnDemandForGood => {
                    provider = Provider::Fargate;
                    self.out.deadline_rules.safety_net += 1;
                    self.fall_back(run);
                }
                AtLaunch::CatchUp => {
                    // behind the expected-progress line: catch up on demand (not for good)
                    provider = Provider::Fargate;
                    self.out.deadline_rules.uniform_progress += 1;
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
            if !r.fallback {
                // the placer's reading says whether the failed call counts in its split
                self.placers[self.flow_placer[r.flow as usize]].failed();
            }
            self.on_capacity_failure(run);
        } else {
            self.place(run, provider);
        }
    }

    /// Whether the registry refuses flow `flow`'s image pull of a task placed now: with
    /// `[network] pull_limit`, an image from outside ECR pulled through the NAT's addresses
    /// when they made their hourly allowance of such pulls in the last hour (counted at
    /// placement; refused pulls do not count). Otherwise the pull is counted.
    fn pull_refused(&mut self, flow: usize) -> bool {
        let net = &self.s.network;
        let Some(cap) = net.outside_pulls_per_hour() else {
            return false;
        };
        if self.s.flows[flow].image_registry.0 != crate::scenario::ImageRegistry::Other {
            return false;
        }
        let hour = SimTime(3_600_000);
        while self
            .outside_pulls
            .front()
            .is_some_and(|&t| t.plus(hour) <= self.now)
        {
            self.outside_pulls.pop_front();
        }
        if self.outside_pulls.len() >= cap as usize {
            return true;
        }
        self.outside_pulls.push_back(self.now);
        false
    }

    pub(super) fn on_capacity_failure(&mut self, run: u32) {
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
        if !r.fallback && deadline::published(self.policy(&r).deadline_rule()) {
            self.without_spot(run);
            return;
        }
        let u = self.st.retries.uniform(r.id, r.attempts as u64);
        let (decision, fallback) = retry::on_capacity_failure(self.policy(&r), &counts(&r), u);
        if fallback {
            self.fall_back(run);
        }
        match decision {
            OnCapacityFailure::RetryRunTask(d) => self.q.push(self.now.plus(d), Ev::Submit { run }),
            OnCapacityFailure::Crash => self.crash(run, Cause::Capacity),
            OnCapacityFailure::Fail => self.end_run(run, EventKind::Failed, Cause::Capacity),
        }
    }

    /// Uniform Progress as published, after spot did not place: on demand for good (Safety
    /// Net), on demand to catch up (behind the line), or wait and probe spot again.
    fn without_spot(&mut self, run: u32) {
        let r = self.runs.items[run as usize];
        match self.deadline(r.flow).without_spot(self.now, &progress(&r)) {
            WithoutSpot::OnDemandForGood => {
                self.out.deadline_rules.safety_net += 1;
                self.fall_back(run);
                self.q.push(self.now, Ev::Submit { run });
            }
            WithoutSpot::CatchUp => {
                self.out.deadline_rules.uniform_progress += 1;
                self.runs.items[run as usize].catching_up = true;
                self.emit_fallback(&r, true);
                self.q.push(self.now, Ev::Submit { run });
            }
            WithoutSpot::Wait => {
                self.out.deadline_rules.waits += 1;
                self.runs.items[run as usize].probes += 1;
                let every = self.policy(&r).probe_interval(self.s.worker.poll_interval);
                self.q.push(self.now.plus(every), Ev::Submit { run });
            }
        }
    }

    /// A run Crashed (for `cause`): the end, unless the fallback automation relaunches it on
    /// FARGATE.
    pub(super) fn crash(&mut self, run: u32, cause: Cause) {
        let r = self.runs.items[run as usize];
        match retry::on_crash(self.policy(&r), r.automated) {
            OnCrash::End => self.end_run(run, EventKind::Crashed, cause),
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
    pub(super) fn emit_fallback(&mut self, r: &Run, catching_up: bool) {
        self.emit(
            r.flow,
            r.k,
            r.attempts,
            EventKind::FallbackToOnDemand,
            Some(Provider::Fargate),
            Detail::Fallback { catching_up },
        );
    }

    pub(super) fn fall_back(&mut self, run: u32) {
        let r = &mut self.runs.items[run as usize];
        if !r.fallback {
            r.fallback = true;
            let r = *r;
            self.out.fallbacks += 1;
            self.emit_fallback(&r, false);
        }
    }

    pub(super) fn place(&mut self, run: u32, provider: Provider) {
        let r = self.runs.items[run as usize];
        let f = r.flow as usize;
        let fl = &self.s.flows[f];
        let mut g = self.st.startup.rng(r.id, r.attempts as u64);
        let prov = self.samplers[f][1].sample(&mut g);
        let pull = self.samplers[f][2].sample(&mut g);
        let pull_start = self.now.plus(prov);
        let pull_end = pull_start.plus(pull);
        let handler_up = pull_end.plus(fl.engine.unprotected);
        let run_start = handler_up.plus(fl.engine.loading);
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
            unheard: false,
            pull_start,
            pull_end,
            handler_up,
            run_start,
            remaining,
            useful: SimTime::ZERO,
            after: AfterStop::Nothing,
        });
        self.live_tasks.push(task);
        self.meter.open(provider, pull_start);
        self.in_flight[self.flow_placer[r.flow as usize]][provider.index()] += 1;
        let units = &mut self.cpu_units[provider.index()];
        *units += fl.size.cpu.0 as u64;
        let peak = match provider {
            Provider::Fargate => &mut self.out.peak_cpu_units_fargate,
            Provider::FargateSpot => &mut self.out.peak_cpu_units_spot,
        };
        *peak = (*peak).max(*units);
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
        if self.pull_refused(r.flow as usize) {
            self.q
                .push(pull_start, Ev::PullRefused { task, generation });
            return;
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
}
