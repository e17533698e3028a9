//! The deadline rules of deadline-aware `custom` policies, as pure decisions the engine
//! applies.
//!
//! The safety net sends a spot launch to FARGATE for good once the slack to the deadline no
//! longer covers a start-up, the remaining work and one interruption. Uniform Progress ("Can't
//! Be Late", NSDI'24) adds an expected-progress line: behind it by more than a tolerance unit a
//! run catches up on FARGATE, and at a checkpoint ahead of it by more than one it returns to
//! spot (hysteresis). Both read what a real scheduler can know of a run (its schedule, the
//! work it has kept and the most it is known to need), never its sampled duration.

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
            startup: fl.provisioning.mean_ms()
                + fl.image_pull.mean_ms()
                + fl.engine_startup.0 as f64,
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

impl Deadline<'_> {
    /// Where a spot launch of run `r` goes now, under `rule`.
    pub(crate) fn at_launch(&self, rule: DeadlineRule, now: SimTime, r: &RunProgress) -> AtLaunch {
        if self.forces_on_demand(now, r) {
            AtLaunch::OnDemandForGood
        } else if rule == DeadlineRule::UniformProgress
            && self.progress_gap(now, r, r.saved) < -self.tolerance()
        {
            AtLaunch::CatchUp
        } else {
            AtLaunch::Spot
        }
    }

    /// Uniform Progress, at a checkpoint of a run catching up on FARGATE that would keep
    /// `kept` more work: whether it is ahead of the line by a tolerance unit, so it stops and
    /// relaunches on spot.
    pub(crate) fn back_to_spot(&self, now: SimTime, r: &RunProgress, kept: SimTime) -> bool {
        self.progress_gap(now, r, r.saved.plus(kept)) > self.tolerance()
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
        let total = if r.seen == SimTime::ZERO {
            self.pace.total_tail
        } else {
            fl.duration
                .conditional_quantile_ms(DEADLINE_QUANTILE, r.seen.0 as f64)
        };
        let left = SimTime((total - r.saved.0 as f64).max(0.0) as u64);
        let work = fl.runtime(left).0 as f64;
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
