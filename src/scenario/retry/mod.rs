//! Retry policies: how runs recover from RunTask capacity failures and spot interruptions.
//!
//! The policy type and the questions the rest of spotplan asks it (the job's environment,
//! whether a SIGTERM reschedules, which deadline rule runs, the Lazarus limit…) live here; the
//! grammar that reads a policy from `[retry]` or a spec is `grammar`; the decisions the
//! simulator applies are `sim::retry` and `sim::deadline`. Nothing else names a variant.

use crate::model::SimTime;

pub(crate) mod grammar;

pub use grammar::*;

/// Delay before a `custom` retry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Delay {
    /// Always this long.
    Fixed(SimTime),
    /// base · factor^(k−1), capped at max, for retry k = 1, 2, …
    Exponential {
        /// First delay.
        base: SimTime,
        /// Factor ≥ 1.
        factor: f64,
        /// Cap.
        max: Option<SimTime>,
    },
}

impl Delay {
    /// The delay before retry number `k` (1-based), before jitter.
    pub fn before_retry(&self, k: u32) -> SimTime {
        match *self {
            Delay::Fixed(d) => d,
            Delay::Exponential { base, factor, max } => {
                let ms = base.0 as f64 * factor.powi(k.saturating_sub(1).min(1000) as i32);
                let ms = ms
                    .min(max.map(|m| m.0 as f64).unwrap_or(f64::MAX))
                    .min(u64::MAX as f64 / 4.0);
                SimTime(ms as u64)
            }
        }
    }
}

/// The `custom` retry policy.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomRetry {
    /// Attempts in all (launches + RunTask retries), ≥ 1.
    pub max_attempts: u32,
    /// Delay schedule.
    pub delay: Delay,
    /// Jitter: each delay is multiplied by 1 + U(0, jitter).
    pub jitter: f64,
    /// Fall back to FARGATE after this many interruptions of the run.
    pub fallback_after_interruptions: Option<u32>,
    /// Fall back to FARGATE after this many capacity failures of the run.
    pub fallback_after_capacity_failures: Option<u32>,
    /// Launch on FARGATE when slack < remaining work + a restart (the safety net).
    pub deadline_aware: bool,
    /// With `deadline_aware`: which rule ([`DeadlineRule`]).
    pub rule: DeadlineRule,
    /// Uniform Progress: how often a run waiting for spot capacity tries FARGATE_SPOT again
    /// (`None`: at the worker's polls).
    pub probe_every: Option<SimTime>,
}

/// How runs recover from RunTask failures and interruptions.
#[derive(Clone, Debug, PartialEq)]
pub enum RetryPolicy {
    /// Prefect 3 ECS worker: RunTask retried `runtask_attempts` times in all, 1 s + U(0, 3 s)
    /// apart, then Crashed. An interruption crashes the run, unless `reschedule`
    /// (`PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule`) makes it AwaitingRetry, picked
    /// up again at the next poll.
    Prefect3 {
        /// RunTask attempts per submission.
        runtask_attempts: u32,
        /// SIGTERM → AwaitingRetry (only once the engine runs).
        reschedule: bool,
        /// A Prefect automation: when a run of the pool's deployments is Crashed, run the
        /// deployment again with job variables on FARGATE (once per run; same scheduled
        /// time for latency and deadline).
        automation: bool,
    },
    /// Prefect 1 (Server or Cloud) as its services behave (`sim::retry`): an interruption
    /// inside a task is the Zombie Killer's (task retries, else Failed, then an empty billed
    /// rerun by Lazarus); one before the first task is Lazarus's (reschedule up to `limit`
    /// times, then Failed). A RunTask failure fails the run (the agent marks it Failed).
    Prefect1Lazarus {
        /// Lazarus reschedules before Failed: 3 (Prefect Server) or 10 (Prefect Cloud).
        limit: u32,
        /// Prefect Cloud's timings (Zombie Killer stale heartbeat 2 min) instead of Server's
        /// (10 min).
        cloud: bool,
    },
    /// A configurable policy.
    Custom(CustomRetry),
}

/// A deadline rule of a deadline-aware `custom` policy (`sim::deadline` decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineRule {
    /// Launch on FARGATE when the slack no longer covers the remaining work and a restart.
    SafetyNet,
    /// Uniform Progress as "Can't Be Late" (NSDI'24) publishes it: its Safety Net, Taking
    /// Risks (spot whenever it places, even behind the line), Uniform Progress (no spot and
    /// behind the line: on demand) and Hysteresis (on demand until ahead of the line at
    /// t + 2d), in that order.
    UniformProgress,
    /// spotplan's earlier reading: the safety net, and on demand whenever behind the line
    /// (without trying spot first), back to spot at a checkpoint once ahead of it.
    CatchUp,
}

/// The quantile of the remaining work the deadline rules plan for.
pub const DEADLINE_QUANTILE: f64 = 0.95;

/// The Prefect setting that makes a SIGTERM reschedule the flow run instead of crashing it
/// (Prefect ≥ 3.2.10, `prefect/cli/flow_run.py`).
pub const SIGTERM_BEHAVIOR_ENV: &str = "PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR";

impl RetryPolicy {
    /// The scenario-file name.
    pub fn name(&self) -> &'static str {
        match self {
            RetryPolicy::Prefect3 {
                reschedule: false, ..
            } => "prefect3",
            RetryPolicy::Prefect3 {
                reschedule: true, ..
            } => "prefect3-reschedule",
            RetryPolicy::Prefect1Lazarus { .. } => "prefect1-lazarus",
            RetryPolicy::Custom(_) => "custom",
        }
    }

    /// The policy in plain words, for people who do not know spotplan's names.
    pub fn in_words(&self) -> String {
        let then = if self.fallback_automation() {
            "; an automation reruns a crashed run on on-demand Fargate"
        } else {
            ""
        };
        match self {
            RetryPolicy::Prefect3 {
                reschedule: false, ..
            } => format!("Prefect's defaults (an interrupted run crashes){then}"),
            RetryPolicy::Prefect3 { .. } => {
                format!("Prefect reschedules an interrupted run{then}")
            }
            RetryPolicy::Prefect1Lazarus { .. } => {
                "Prefect 1's Lazarus and Zombie Killer restart interrupted runs".into()
            }
            RetryPolicy::Custom(c) if !c.deadline_aware => {
                "a retry controller of your own requeues interrupted runs".into()
            }
            RetryPolicy::Custom(c) if c.rule == DeadlineRule::UniformProgress => {
                "a deadline controller (Uniform Progress) moves late runs to on-demand".into()
            }
            RetryPolicy::Custom(_) => "a deadline controller moves late runs to on-demand".into(),
        }
    }

    /// Whether a SIGTERM to a running flow run makes it AwaitingRetry (Prefect 3 with
    /// [`SIGTERM_BEHAVIOR_ENV`] `=reschedule`) instead of crashing it.
    pub fn reschedules_on_sigterm(&self) -> bool {
        matches!(
            self,
            RetryPolicy::Prefect3 {
                reschedule: true,
                ..
            }
        )
    }

    /// Whether a Prefect automation reruns a Crashed run on FARGATE (Prefect 3).
    pub fn fallback_automation(&self) -> bool {
        matches!(
            self,
            RetryPolicy::Prefect3 {
                automation: true,
                ..
            }
        )
    }

    /// The deadline rule the policy runs, if any (deadline-aware `custom` policies).
    pub fn deadline_rule(&self) -> Option<DeadlineRule> {
        match self {
            RetryPolicy::Custom(CustomRetry {
                deadline_aware: true,
                rule,
                ..
            }) => Some(*rule),
            _ => None,
        }
    }

    /// Uniform Progress: how often a run waiting for spot capacity tries it again:
    /// `probe_every`, else the worker's poll interval `poll`, and never more often than once a
    /// second.
    pub fn probe_interval(&self, poll: SimTime) -> SimTime {
        self.custom()
            .and_then(|c| c.probe_every)
            .unwrap_or(poll)
            .max(SimTime::from_secs(1))
    }

    /// Whether it runs Uniform Progress as published (its controller is code of the user's
    /// own, which `emit` writes).
    pub fn runs_uniform_progress(&self) -> bool {
        self.deadline_rule() == Some(DeadlineRule::UniformProgress)
    }

    /// The environment variables a flow run's container needs for the policy to behave as
    /// simulated (name, value), in a fixed order: what the work pool's or a deployment's job
    /// variables set.
    pub fn job_env(&self) -> Vec<(&'static str, &'static str)> {
        if self.reschedules_on_sigterm() {
            vec![(SIGTERM_BEHAVIOR_ENV, "reschedule")]
        } else {
            Vec::new()
        }
    }

    /// Whether it is Prefect 1's (run by Prefect 1's ECS agent; every other policy by a
    /// Prefect 3 worker or the user's own code): the deployments of one pool cannot mix them.
    pub fn prefect1(&self) -> bool {
        matches!(self, RetryPolicy::Prefect1Lazarus { .. })
    }

    /// The env a deployment running this policy must set in its own job variables, in a pool
    /// whose policy is `pool`: `None` when the pool's env already is its env; else its env
    /// (possibly empty, so that it does not inherit the pool's SIGTERM setting).
    pub fn env_within(&self, pool: &RetryPolicy) -> Option<Vec<(&'static str, &'static str)>> {
        (self.job_env() != pool.job_env()).then(|| self.job_env())
    }

    /// Lazarus's reschedules before a run is Failed (Prefect 1 only).
    pub fn lazarus_limit(&self) -> Option<u32> {
        match self {
            RetryPolicy::Prefect1Lazarus { limit, .. } => Some(*limit),
            _ => None,
        }
    }

    /// Whether a restarted run keeps the results of the tasks it finished (Prefect 1's task
    /// runs: their boundaries act as checkpoints).
    pub fn keeps_finished_tasks(&self) -> bool {
        matches!(self, RetryPolicy::Prefect1Lazarus { .. })
    }

    /// Whether deploying the policy needs code of the user's own (every `custom` policy: its
    /// attempts, delays, fallbacks and deadline rule are what-if studies).
    pub fn needs_own_code(&self) -> bool {
        matches!(self, RetryPolicy::Custom(_))
    }

    /// The `custom` policy's parameters.
    pub fn custom(&self) -> Option<&CustomRetry> {
        match self {
            RetryPolicy::Custom(c) => Some(c),
            _ => None,
        }
    }

    /// The scheduled delay before launch attempt `attempts + 1` after an interruption, before
    /// jitter: the `custom` schedule's, else none (Prefect's own policies relaunch at the next
    /// poll).
    pub fn delay_before_retry(&self, attempts: u32) -> SimTime {
        match self {
            RetryPolicy::Custom(c) => c.delay.before_retry(attempts),
            _ => SimTime::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Checkpoint;

    #[test]
    fn policies_answer_what_a_deployment_needs() {
        let p = parse_spec("prefect3-reschedule").unwrap();
        assert_eq!(p.job_env(), vec![(SIGTERM_BEHAVIOR_ENV, "reschedule")]);
        assert!(p.reschedules_on_sigterm() && !p.fallback_automation());
        let a = parse_spec("prefect3[fallback=automation]").unwrap();
        assert!(a.job_env().is_empty() && a.fallback_automation());
        assert_eq!(
            parse_spec("prefect1-lazarus[backend=cloud]")
                .unwrap()
                .lazarus_limit(),
            Some(10)
        );
        assert_eq!(
            parse_spec("prefect1-lazarus").unwrap().lazarus_limit(),
            Some(3)
        );
        assert_eq!(
            parse_spec("custom[deadline_aware=uniform-progress]")
                .unwrap()
                .deadline_rule(),
            Some(DeadlineRule::UniformProgress)
        );
        assert_eq!(
            parse_spec("custom[deadline_aware=true]")
                .unwrap()
                .deadline_rule(),
            Some(DeadlineRule::SafetyNet)
        );
        assert_eq!(a.deadline_rule(), None);
        let c = parse_spec("custom[delay=30s,backoff=2]").unwrap();
        assert!(c.needs_own_code() && !a.needs_own_code());
        assert_eq!(c.delay_before_retry(2), SimTime(60_000));
        assert_eq!(a.delay_before_retry(2), SimTime::ZERO);
    }

    #[test]
    fn checkpoint_arithmetic() {
        let c = Checkpoint {
            every: SimTime(10),
            cost: SimTime(2),
        };
        assert_eq!(c.cycle(), SimTime(12));
        // no checkpoint after the last piece of work
        assert_eq!(c.runtime(SimTime(20)), SimTime(22));
        assert_eq!(c.runtime(SimTime(25)), SimTime(29));
        assert_eq!(c.runtime(SimTime(0)), SimTime(0));
        // two cycles and 1 ms into the third: 20 kept, 21 done
        assert_eq!(
            c.progress(SimTime(25), SimTime(100)),
            (SimTime(20), SimTime(21))
        );
        // inside a checkpoint's cost the work is done but not yet kept
        assert_eq!(
            c.progress(SimTime(35), SimTime(100)),
            (SimTime(20), SimTime(30))
        );
        // never more than the attempt's remaining work
        assert_eq!(
            c.progress(SimTime(35), SimTime(25)),
            (SimTime(20), SimTime(25))
        );
    }
}
