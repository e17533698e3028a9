//! The deadline rules of deadline-aware `custom` policies, as pure decisions the engine
//! applies.
//!
//! The safety net sends a spot launch to FARGATE for good once the slack to the deadline no
//! longer covers a start-up, the remaining work and one interruption.
//!
//! Uniform Progress as "Can't Be Late" (Wu et al., NSDI'24, §4) publishes it applies four
//! rules in order. Its mapping to ECS and Prefect: a decision is taken only when a run has no
//! task (a new run, after an interruption, after a capacity failure) and at checkpoints;
//! "spot available" is learnt by a FARGATE_SPOT RunTask (a capacity failure says no); d (the
//! changeover) is provisioning + image pull + engine start-up + the worker's poll; C(t) is the
//! remaining work at the deadline quantile; the line is ep(t) = C · t / D.
//! 1. **Safety Net**: R(t) < C(t) + 2d: on demand until the end. (The paper's jobs keep their
//!    progress when preempted; a task keeps only its last checkpoint, so the net also budgets
//!    the work one interruption loses.)
//! 2. **Taking Risks**: spot whenever it places, even behind the line, kept until preempted
//!    (an interruption sets the work back to the last checkpoint).
//! 3. **Uniform Progress**: idle (spot did not place) and behind the line: on demand;
//!    otherwise wait, paying nothing, and try spot again every `probe_every`.
//! 4. **Hysteresis**: on demand until, at a checkpoint, the work kept reaches ep(t + 2d);
//!    then stop and relaunch on spot. Spot is never probed while a task runs on demand.
//!
//! `catch-up` is spotplan's earlier reading: on demand whenever behind the line (by a
//! tolerance unit), without trying spot first, back to spot at a checkpoint once ahead. Every
//! rule reads what a real scheduler can know of a run (its schedule, the work it has kept and
//! the most it is known to need), never its sampled duration.

use super::retry::{DEADLINE_QUANTILE, ENGINE_EXIT_AFTER_SIGTERM};
use crate::model::SimTime;
use crate::scenario::{DeadlineRule, FlowSpec, RetryPolicy};

/// Uniform Progress's tolerance unit for a flow without checkpoints, as a fraction of its
/// median work.
pub(crate) const TOLERANCE_WITHOUT_CHECKPOINTS: f64 = 0.05;

/// What the rules read of a flow's distributions when a run has not been interrupted yet
/// (`seen` = 0, nearly every launch): the same values
/// [`crate::model::dist::Dist::conditional_quantile_ms`] gives, worked out once per flow
/// instead of an inverse CDF per launch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pace {
    /// Mean provisioning + image pull + engine start-up, ms.
    pub startup: f64,
    /// The [`DEADLINE_QUANTILE`] of the work, ms.
    pub total_tail: f64,
    /// The median of the work, ms.
    pub total_median: f64,
}

impl Pace {
    /// The flow's pacing values.
    pub(crate) fn of(fl: &FlowSpec) -> Pace {
        Pace {
            startup: fl.mean_startup_ms(),
            total_tail: fl.duration.conditional_quantile_ms(DEADLINE_QUANTILE, 0.0),
            total_median: fl.duration.conditional_quantile_ms(0.5, 0.0),
        }
    }
}

/// What the rules read of a run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunProgress {
    /// Its scheduled time (the deadline counts from it).
    pub scheduled: SimTime,
    /// Work its checkpoints (or finished tasks) keep.
    pub saved: SimTime,
    /// The most work it is known to need: the most it had done when an attempt was
    /// interrupted.
    pub seen: SimTime,
    /// Launch attempts so far.
    pub attempts: u32,
}

/// Where a spot launch goes under a deadline rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtLaunch {
    /// Spot, as the strategy chose.
    Spot,
    /// FARGATE for the rest of the run (the safety net).
    OnDemandForGood,
    /// FARGATE until the run is ahead of the line again (Uniform Progress).
    CatchUp,
}

/// One flow's deadline, with what the rules need to judge a run of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline<'a> {
    /// The flow.
    pub flow: &'a FlowSpec,
    /// Its pacing values.
    pub pace: Pace,
    /// Its retry policy (its next delay is part of a restart).
    pub policy: &'a RetryPolicy,
    /// The worker's poll interval (a restart waits for a poll).
    pub poll_interval: SimTime,
    /// The spot task's stop timeout (a SIGTERM's engine exit is at most this long).
    pub stop_timeout: SimTime,
}

/// Whether `rule` is Uniform Progress as published: it decides after a capacity failure (the
/// retry policy's count does not) and its spot launches are Taking Risks.
pub(crate) fn published(rule: Option<DeadlineRule>) -> bool {
    rule == Some(DeadlineRule::UniformProgress)
}

/// What Uniform Progress as published does when a FARGATE_SPOT RunTask of a run failed for
/// capacity (spot is not available: the run is idle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WithoutSpot {
    /// Safety Net: on demand for the rest of the run.
    OnDemandForGood,
    /// Uniform Progress: behind the line, on demand until ahead of it at t + 2d.
    CatchUp,
    /// Ahead of the line: wait, paying nothing, and try spot again after the probe interval.
    Wait,
}

impl Deadline<'_> {
    /// Where a spot launch of run `r` goes now, under `rule`. Uniform Progress as published
    /// applies its Safety Net (R(t) < C(t) + 2d), else Taking Risks: spot whenever it
    /// places, even behind the line. spotplan's earlier `catch-up` rule goes on demand
    /// whenever behind, without trying spot first.
    pub(crate) fn at_launch(&self, rule: DeadlineRule, now: SimTime, r: &RunProgress) -> AtLaunch {
        match rule {
            DeadlineRule::UniformProgress if self.published_safety_net(now, r) => {
                AtLaunch::OnDemandForGood
            }
            DeadlineRule::UniformProgress => AtLaunch::Spot,
            _ if self.forces_on_demand(now, r) => AtLaunch::OnDemandForGood,
            DeadlineRule::CatchUp if self.progress_gap(now, r, r.saved) < -self.tolerance() => {
                AtLaunch::CatchUp
            }
            _ => AtLaunch::Spot,
        }
    }

    /// Uniform Progress as published, when spot did not place (a capacity failure): its
    /// Safety Net, then its Uniform Progress rule (idle and behind the line: on demand),
    /// else wait for spot.
    pub(crate) fn without_spot(&self, now: SimTime, r: &RunProgress) -> WithoutSpot {
        if self.published_safety_net(now, r) {
            WithoutSpot::OnDemandForGood
        } else if (r.saved.0 as f64) < self.line(now, r) {
            WithoutSpot::CatchUp
        } else {
            WithoutSpot::Wait
        }
    }

    /// At a checkpoint of a run catching up on FARGATE that would keep `kept` more work:
    /// whether it stops and relaunches on spot. Uniform Progress as published (Hysteresis):
    /// once the work kept reaches the line at t + 2d (the switch costs d, and the Safety Net
    /// must not hold after it). `catch-up`: once ahead of the line by a tolerance unit.
    pub(crate) fn back_to_spot(
        &self,
        rule: DeadlineRule,
        now: SimTime,
        r: &RunProgress,
        kept: SimTime,
    ) -> bool {
        let progress = r.saved.plus(kept);
        match rule {
            DeadlineRule::UniformProgress => {
                let d = SimTime::from_ms_f64(self.changeover());
                let after = RunProgress {
                    saved: progress,
                    ..*r
                };
                progress.0 as f64 >= self.line(now.plus(d).plus(d), r)
                    && !self.published_safety_net(now.plus(d), &after)
            }
            _ => self.progress_gap(now, r, progress) > self.tolerance(),
        }
    }

    /// Uniform Progress's changeover d, ms: what a switch costs before the work goes on:
    /// mean provisioning + image pull + engine start-up, and the worker's poll.
    pub(crate) fn changeover(&self) -> f64 {
        self.pace.startup + self.poll_interval.0 as f64
    }

    /// The work run `r` still needs at the [`DEADLINE_QUANTILE`] given what it is known to
    /// need, less what it keeps, with its checkpoints' overhead, ms: the paper's C(t).
    fn remaining(&self, r: &RunProgress) -> f64 {
        let left = SimTime((self.total(r) - r.saved.0 as f64).max(0.0) as u64);
        self.flow.runtime(left).0 as f64
    }

    /// The run's whole work at the [`DEADLINE_QUANTILE`] given what it is known to need, ms.
    fn total(&self, r: &RunProgress) -> f64 {
        if r.seen == SimTime::ZERO {
            self.pace.total_tail
        } else {
            self.flow
                .duration
                .conditional_quantile_ms(DEADLINE_QUANTILE, r.seen.0 as f64)
        }
    }

    /// The published Safety Net: the time to the deadline R(t) is below the remaining work
    /// C(t) and two changeovers, and (the paper's jobs keep their progress when preempted;
    /// ECS tasks keep only their last checkpoint) the work one interruption can lose: a
    /// checkpoint cycle, or all of it without checkpoints.
    pub(crate) fn published_safety_net(&self, now: SimTime, r: &RunProgress) -> bool {
        let Some(deadline) = self.flow.deadline else {
            return false;
        };
        let left = r.scheduled.plus(deadline).0 as f64 - now.0 as f64;
        let work = self.remaining(r);
        let lost = match self.flow.checkpoint {
            Some(c) => c.cycle().0 as f64,
            None => work,
        };
        left < work + 2.0 * self.changeover() + lost
    }

    /// The published line ep(t) = C · t / D at time `at`, ms of work: from the scheduled
    /// time (none) to the deadline (all of it: the work at the [`DEADLINE_QUANTILE`] given
    /// what the run is known to need).
    fn line(&self, at: SimTime, r: &RunProgress) -> f64 {
        let Some(deadline) = self.flow.deadline else {
            return 0.0;
        };
        let total = self.total(r);
        // no rule makes progress before a first task is up: the line starts one changeover
        // after the scheduled time
        let d = self.changeover();
        let elapsed = (at.0.saturating_sub(r.scheduled.0) as f64 - d).max(0.0);
        total * (elapsed / (deadline.0 as f64 - d).max(1.0)).min(1.0)
    }

    /// The safety net: whether the slack to the deadline no longer covers a start-up, the
    /// remaining work and one interruption (the work it loses and a restart). The remaining
    /// work is the flow's duration distribution's [`DEADLINE_QUANTILE`] given that the run has
    /// already needed more than it has done (`seen`), less the work it keeps.
    pub(crate) fn forces_on_demand(&self, now: SimTime, r: &RunProgress) -> bool {
        let fl = self.flow;
        let Some(deadline) = fl.deadline else {
            return false;
        };
        let due = r.scheduled.plus(deadline);
        let slack = due.0 as f64 - now.0 as f64;
        let startup = self.pace.startup;
        let work = self.remaining(r);
        // an interruption on the way costs a restart: the work since the last checkpoint
        // (all of it without checkpoints), the engine's exit, a poll, the policy's next
        // delay and another startup
        let delay = self.policy.delay_before_retry(r.attempts.max(1)).0 as f64;
        let lost = match fl.checkpoint {
            Some(c) => c.cycle().0 as f64,
            None => work,
        };
        let exit = ENGINE_EXIT_AFTER_SIGTERM.0.min(self.stop_timeout.0) as f64;
        let restart = lost + exit + self.poll_interval.0 as f64 + delay + startup;
        slack < startup + work + restart
    }

    /// Uniform Progress: work done (`progress`) minus the work the expected-progress line asks
    /// for by `now` (ms; negative = behind). The line runs from the scheduled time (no work) to
    /// the deadline less a restart (all the work: its median given what the run is known to
    /// need; the tail is the safety net's).
    pub(crate) fn progress_gap(&self, now: SimTime, r: &RunProgress, progress: SimTime) -> f64 {
        let fl = self.flow;
        let Some(deadline) = fl.deadline else {
            return 0.0;
        };
        let total = if r.seen == SimTime::ZERO {
            self.pace.total_median
        } else {
            fl.duration.conditional_quantile_ms(0.5, r.seen.0 as f64)
        };
        let restart = self.pace.startup + self.poll_interval.0 as f64;
        let window = (deadline.0 as f64 - restart).max(1.0);
        let elapsed = now.0.saturating_sub(r.scheduled.0) as f64;
        progress.0 as f64 - total * (elapsed / window).min(1.0)
    }

    /// Uniform Progress's hysteresis unit: one checkpoint interval (or
    /// [`TOLERANCE_WITHOUT_CHECKPOINTS`] of the median work for a flow without checkpoints).
    /// Behind by more than one starts catching up on demand; ahead by more than one returns to
    /// spot.
    pub(crate) fn tolerance(&self) -> f64 {
        match self.flow.checkpoint {
            Some(c) => c.every.0 as f64,
            None => TOLERANCE_WITHOUT_CHECKPOINTS * self.flow.duration.median_ms(),
        }
    }
}
