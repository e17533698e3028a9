//! Retry policies as pure decisions the engine applies: what happens to a run when RunTask
//! finds no spot capacity, and when its spot task is interrupted. One place per policy;
//! Prefect's timings are named constants with the file they come from.

use crate::model::SimTime;
use crate::scenario::{CustomRetry, FlowTasks, RetryPolicy};

/// prefect-aws `EcsWorkerSettings.create_task_run_min_delay_seconds` (1 s) between RunTask
/// attempts (`prefect_aws/settings.py`).
pub(crate) const PREFECT3_RUNTASK_DELAY: SimTime = SimTime(1_000);
/// prefect-aws's jitter on that delay: uniform(0, 3 s) (`prefect_aws/settings.py`).
pub(crate) const PREFECT3_RUNTASK_JITTER_MS: f64 = 3_000.0;
/// After SIGTERM a Prefect engine exits within seconds, rescheduling or crashing
/// (`prefect/cli/flow_run.py`; Python's default SIGTERM action before the handler is
/// installed); billing ends there unless `stop_timeout` is shorter.
pub(crate) const ENGINE_EXIT_AFTER_SIGTERM: SimTime = SimTime(2_000);
/// Whether ECS's SIGTERM at `now` reaches a process that acts on it, given who is PID 1
/// (`mode`) and the policy. Under an init (tini in Prefect's images forwards it to the process
/// group) it always does: the engine exits on it within [`ENGINE_EXIT_AFTER_SIGTERM`]. With
/// `prefect flow-run execute` as PID 1 it does only where that process installed a handler:
/// for `PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule`, once it runs (`execute` in
/// `prefect/cli/flow_run.py`, 3.9.1: `_install_termination_handler` only when the behaviour
/// names an intent; the engine itself runs in a child process that never gets the signal);
/// Linux never delivers a signal to PID 1 that has no handler for it. A shell that does not
/// `exec` forwards nothing. Not heard, the task runs until SIGKILL at `stop_timeout`.
pub(crate) fn sigterm_heard(
    p: &RetryPolicy,
    mode: crate::scenario::Sigterm,
    now: SimTime,
    handler_up: SimTime,
) -> bool {
    use crate::scenario::Sigterm;
    match mode {
        Sigterm::Init => true,
        Sigterm::ExecNoInit => p.reschedules_on_sigterm() && now >= handler_up,
        Sigterm::Shell => false,
    }
}

/// The fallback automation spotplan deploys is proactive: it reruns a Crashed run that has
/// not moved on 30 s after the crash, found by Prefect's proactive evaluation, every 5 s
/// (`deploy::automation::FALLBACK_WAIT_S`; `server.events.proactive_granularity`): the new run
/// exists 35 s after the crash at the latest (the bound taken; stated in results), and the
/// worker picks it up at its next poll. A rerun that crashes is marked Failed by the guard
/// automation and not rerun (`on_crash`).
pub(crate) const AUTOMATION_DELAY: SimTime = SimTime(35_000);
/// Prefect 1 flow-run heartbeat period while the flow runner runs (30 s).
pub(crate) const PREFECT1_HEARTBEAT: SimTime = SimTime(30_000);
/// Lazarus: a pass every 10 min (`loop_seconds_default = 600`, `towel/lazarus.py`).
pub(crate) const LAZARUS_LOOP: SimTime = SimTime(600_000);
/// Lazarus: flow runs whose heartbeat is older than 10 min (`towel/lazarus.py`).
pub(crate) const LAZARUS_STALE: SimTime = SimTime(600_000);
/// Zombie Killer: a pass every 2 min (`loop_seconds_default = 120`, `towel/zombie_killer.py`).
pub(crate) const ZOMBIE_LOOP: SimTime = SimTime(120_000);
/// Zombie Killer: task runs whose flow-run heartbeat is older than 10 min on Prefect Server
/// (`towel/zombie_killer.py`, `heartbeat_cutoff`).
pub(crate) const ZOMBIE_STALE_SERVER: SimTime = SimTime(600_000);
/// Zombie Killer on Prefect Cloud: 2 min (Prefect 1 docs, `concepts/services.md`).
pub(crate) const ZOMBIE_STALE_CLOUD: SimTime = SimTime(120_000);

pub(crate) use crate::scenario::retry::DEADLINE_QUANTILE;

/// The first pass of a loop (period `period`, first at `phase`) strictly after `t`.
pub(crate) fn next_pass(phase: u64, period: SimTime, t: SimTime) -> SimTime {
    let p = period.0.max(1);
    if t.0 < phase {
        return SimTime(phase);
    }
    SimTime(phase + ((t.0 - phase) / p + 1) * p)
}

/// What a run's retry policy does after a RunTask capacity failure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum OnCapacityFailure {
    /// Call RunTask again after this delay (same submission).
    RetryRunTask(SimTime),
    /// The run ends Crashed.
    Crash,
    /// The run ends Failed.
    Fail,
}

/// The state of a run a decision reads: counts only, never its sampled duration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunCounts {
    /// Launch attempts so far (this one included).
    pub attempts: u32,
    /// RunTask calls in the current submission (Prefect 3's worker).
    pub submission_tries: u32,
    /// Interruptions so far (this one included).
    pub interruptions: u32,
    /// Capacity failures so far (this one included).
    pub capacity_failures: u32,
}

/// After a capacity failure: the decision, and whether the run falls back to FARGATE.
/// `u` is a uniform draw for jitter.
pub(crate) fn on_capacity_failure(
    p: &RetryPolicy,
    r: &RunCounts,
    u: f64,
) -> (OnCapacityFailure, bool) {
    match p {
        RetryPolicy::Prefect3 {
            runtask_attempts, ..
        } => {
            if r.submission_tries < *runtask_attempts {
                let jitter = SimTime((u * PREFECT3_RUNTASK_JITTER_MS) as u64);
                (
                    OnCapacityFailure::RetryRunTask(PREFECT3_RUNTASK_DELAY.plus(jitter)),
                    false,
                )
            } else {
                (OnCapacityFailure::Crash, false)
            }
        }
        // the Prefect 1 ECS agent raises and marks the flow run Failed
        RetryPolicy::Prefect1Lazarus { .. } => (OnCapacityFailure::Fail, false),
        RetryPolicy::Custom(c) => {
            let fallback = c
                .fallback_after_capacity_failures
                .is_some_and(|k| r.capacity_failures >= k);
            match custom_retry_after(c, r, u) {
                Some(d) => (OnCapacityFailure::RetryRunTask(d), fallback),
                None => (OnCapacityFailure::Crash, fallback),
            }
        }
    }
}

/// Where an attempt was when its SIGTERM came.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InterruptAt {
    /// Now.
    pub now: SimTime,
    /// When `prefect flow-run execute` installed its SIGTERM handler (the unprotected part of
    /// the engine start-up over).
    pub handler_up: SimTime,
    /// When the engine started running the flow (after provisioning, pull and engine
    /// start-up); `now < engine_up` means it had not.
    pub engine_up: SimTime,
    /// The flow run's last heartbeat (Prefect 1).
    pub heartbeat: SimTime,
}

/// What a run's retry policy does after an interruption.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum OnInterrupt {
    /// The run ends Crashed when the task stops.
    Crash,
    /// Prefect 3 reschedule: AwaitingRetry at once; the worker's next poll launches it.
    RescheduleNow,
    /// Once the task stopped, wait this long, then launch again.
    Requeue(SimTime),
    /// Prefect 1 before its first task: the Lazarus pass at this time reschedules it (or
    /// fails it past the limit).
    Lazarus(SimTime),
    /// Prefect 1 inside a task: the Zombie Killer pass at this time retries the task (if it
    /// has retries left) or fails it.
    Zombie(SimTime),
}

/// Loop phases of the Prefect 1 services in one replication, ms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServicePhases {
    /// First Lazarus pass.
    pub lazarus: u64,
    /// First Zombie Killer pass.
    pub zombie: u64,
}

/// After an interruption: the decision, and whether the run falls back to FARGATE.
pub(crate) fn on_interrupt(
    p: &RetryPolicy,
    at: &InterruptAt,
    r: &RunCounts,
    phases: ServicePhases,
    u: f64,
) -> (OnInterrupt, bool) {
    let engine_running = at.now >= at.engine_up;
    match p {
        RetryPolicy::Prefect3 {
            reschedule: false, ..
        } => (OnInterrupt::Crash, false),
        // the handler exists once `prefect flow-run execute` installed it (Prefect ≥ 3.2.10;
        // `_install_termination_handler`, prefect/cli/flow_run.py): before, a SIGTERM kills
        // the process and leaves the run Pending for the observer to crash
        RetryPolicy::Prefect3 {
            reschedule: true, ..
        } if at.now >= at.handler_up => (OnInterrupt::RescheduleNow, false),
        RetryPolicy::Prefect3 { .. } => (OnInterrupt::Crash, false),
        RetryPolicy::Prefect1Lazarus { cloud, .. } => {
            if engine_running {
                let stale = if *cloud {
                    ZOMBIE_STALE_CLOUD
                } else {
                    ZOMBIE_STALE_SERVER
                };
                let stale_at = SimTime(at.heartbeat.plus(stale).0.max(at.now.0));
                let t = next_pass(phases.zombie, ZOMBIE_LOOP, stale_at);
                (OnInterrupt::Zombie(t), false)
            } else {
                // a long image pull can make the heartbeat stale before the SIGTERM
                let stale_at = SimTime(at.heartbeat.plus(LAZARUS_STALE).0.max(at.now.0));
                let t = next_pass(phases.lazarus, LAZARUS_LOOP, stale_at);
                (OnInterrupt::Lazarus(t), false)
            }
        }
        RetryPolicy::Custom(c) => {
            let fallback = c
                .fallback_after_interruptions
                .is_some_and(|k| r.interruptions >= k);
            match custom_retry_after(c, r, u) {
                Some(d) => (OnInterrupt::Requeue(d), fallback),
                None => (OnInterrupt::Crash, fallback),
            }
        }
    }
}

/// What becomes of a run that ended Crashed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum OnCrash {
    /// It stays Crashed.
    End,
    /// The fallback automation runs the deployment again on FARGATE after this delay (once
    /// per run: `automated` says it already did).
    Rerun(SimTime),
}

/// After a crash: whether the fallback automation reruns the run (once).
pub(crate) fn on_crash(p: &RetryPolicy, automated: bool) -> OnCrash {
    match p {
        RetryPolicy::Prefect3 {
            automation: true, ..
        } if !automated => OnCrash::Rerun(AUTOMATION_DELAY),
        _ => OnCrash::End,
    }
}

/// Prefect 1 at a SIGTERM: what the run keeps and where its flow-run heartbeat stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Prefect1AtSigterm {
    /// Work kept by the task runs it finished (their results persist), counted from the work
    /// the run had saved before this attempt.
    pub kept: SimTime,
    /// The task the SIGTERM hit.
    pub task: u32,
    /// The flow run's last heartbeat: the last [`PREFECT1_HEARTBEAT`] since the engine
    /// started, or the pull's start when it had not.
    pub heartbeat: SimTime,
}

/// When an attempt got its SIGTERM, and the times of the attempt it is read against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttemptTimes {
    /// Now.
    pub now: SimTime,
    /// When the image pull started.
    pub pull_start: SimTime,
    /// When the engine started running the flow.
    pub engine_up: SimTime,
}

/// Where an attempt of a Prefect 1 run stood at its SIGTERM (`None` under other policies,
/// whose runs keep only what checkpoints keep). `saved` is the work kept before the attempt,
/// `done` the attempt's progress and `work` the run's total.
pub(crate) fn prefect1_at_sigterm(
    p: &RetryPolicy,
    tasks: &FlowTasks,
    saved: SimTime,
    done: SimTime,
    work: SimTime,
    at: AttemptTimes,
) -> Option<Prefect1AtSigterm> {
    let RetryPolicy::Prefect1Lazarus { .. } = p else {
        return None;
    };
    let (task, task_start) = tasks.at(saved.plus(done), work);
    let heartbeat = if at.now >= at.engine_up {
        let beat = PREFECT1_HEARTBEAT.0;
        SimTime(at.engine_up.0 + (at.now.0 - at.engine_up.0) / beat * beat)
    } else {
        at.pull_start
    };
    Some(Prefect1AtSigterm {
        kept: SimTime(task_start.0.saturating_sub(saved.0)),
        task,
        heartbeat,
    })
}

/// The Lazarus pass after a Zombie Killer failed a run's task at `zombie_pass`: the flow
/// run is still Running with a stale heartbeat and no running task run.
pub(crate) fn lazarus_after_zombie(
    phases: ServicePhases,
    zombie_pass: SimTime,
    heartbeat: SimTime,
) -> SimTime {
    let ready = SimTime(zombie_pass.0.max(heartbeat.plus(LAZARUS_STALE).0));
    next_pass(
        phases.lazarus,
        LAZARUS_LOOP,
        SimTime(ready.0.saturating_sub(1)),
    )
}

/// `custom`: the delay before the next attempt, or `None` when the attempts are used up.
fn custom_retry_after(c: &CustomRetry, r: &RunCounts, u: f64) -> Option<SimTime> {
    (r.attempts < c.max_attempts).then(|| custom_delay(c, r.attempts, u))
}

/// The `custom` delay before retry `attempts` (its schedule, times 1 + U(0, jitter)).
pub(crate) fn custom_delay(c: &CustomRetry, attempts: u32, u: f64) -> SimTime {
    let base = c.delay.before_retry(attempts);
    if c.jitter > 0.0 {
        SimTime((base.0 as f64 * (1.0 + c.jitter * u)) as u64)
    } else {
        base
    }
}

/// The timing assumptions a policy's results rest on, in words (for result headers).
pub(crate) fn assumptions(p: &RetryPolicy) -> Vec<String> {
    let mut out = vec![format!(
        "the engine exits {} after SIGTERM (or at stop_timeout if sooner)",
        ENGINE_EXIT_AFTER_SIGTERM
    )];
    match p {
        RetryPolicy::Prefect3 {
            automation: true, ..
        } => out.push(format!(
            "the fallback automation starts the new run {AUTOMATION_DELAY} after the crash"
        )),
        RetryPolicy::Custom(c) if c.deadline_aware => {
            out.push(format!(
                "the deadline rule plans for the {:.0}% quantile of the remaining work",
                100.0 * DEADLINE_QUANTILE
            ));
            if super::deadline::published(p.deadline_rule()) {
                out.push(format!(
                    "Uniform Progress: d (a changeover) is the mean provisioning, image pull and engine start-up plus the worker's poll; a run waiting for spot capacity tries it again every {} ({})",
                    c.probe_every.map_or("worker poll (at least 1s)".to_string(), |t| t.to_string()),
                    if c.probe_every.is_some() {
                        "probe_every"
                    } else {
                        "the default: set probe_every"
                    }
                ));
            }
        }
        _ => {}
    }
    out
}

/// How a policy is deployed, in words; `None` when it needs code of the user's own (every
/// `custom` policy: its attempts, delays, fallbacks and deadline rule are what-if studies).
pub(crate) fn deployment(p: &RetryPolicy) -> Option<&'static str> {
    match p {
        RetryPolicy::Prefect3 {
            reschedule,
            automation,
            ..
        } => Some(match (reschedule, automation) {
            (false, false) => "the Prefect ECS worker's defaults",
            (true, false) => {
                "work pool env PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule (Prefect ≥ 3.2.10)"
            }
            (false, true) => {
                "a Prefect automation: when a run of the pool's deployments is Crashed, run the deployment again with job variables on FARGATE"
            }
            (true, true) => {
                "work pool env PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule (Prefect ≥ 3.2.10) and a Prefect automation that reruns a Crashed run on FARGATE"
            }
        }),
        RetryPolicy::Prefect1Lazarus { .. } => {
            Some("Prefect 1 Server or Cloud services (Lazarus, Zombie Killer) and task retries")
        }
        RetryPolicy::Custom(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automation_reruns_a_crashed_run_once() {
        let a = crate::scenario::retry::parse_spec("prefect3[fallback=automation]").unwrap();
        assert_eq!(on_crash(&a, false), OnCrash::Rerun(AUTOMATION_DELAY));
        assert_eq!(on_crash(&a, true), OnCrash::End);
        let p = crate::scenario::retry::parse_spec("prefect3").unwrap();
        assert_eq!(on_crash(&p, false), OnCrash::End);
    }

    #[test]
    fn prefect1_keeps_finished_tasks_and_its_last_heartbeat() {
        let tasks = FlowTasks {
            ends: vec![0.25, 0.5, 0.75, 1.0],
            retries: 0,
            retry_delay: SimTime::ZERO,
            stated: true,
            persisted_results: true,
            persisted_stated: false,
        };
        let p = crate::scenario::retry::parse_spec("prefect1-lazarus").unwrap();
        let at = AttemptTimes {
            now: SimTime(100_000),
            pull_start: SimTime(10_000),
            engine_up: SimTime(20_000),
        };
        // 10 s saved before, 45 s done in this attempt, of 100 s: inside task 2 (50–75 s)
        let s = prefect1_at_sigterm(
            &p,
            &tasks,
            SimTime(10_000),
            SimTime(45_000),
            SimTime(100_000),
            at,
        )
        .unwrap();
        assert_eq!(s.task, 2);
        assert_eq!(s.kept, SimTime(40_000));
        // heartbeats every 30 s from the engine's start: 20 s, 50 s, 80 s
        assert_eq!(s.heartbeat, SimTime(80_000));
        // before the engine ran, the heartbeat is the pull's start
        let early = AttemptTimes {
            now: SimTime(15_000),
            ..at
        };
        let s = prefect1_at_sigterm(
            &p,
            &tasks,
            SimTime::ZERO,
            SimTime::ZERO,
            SimTime(100_000),
            early,
        )
        .unwrap();
        assert_eq!(s.heartbeat, SimTime(10_000));
        assert_eq!(s.kept, SimTime::ZERO);
        let p3 = crate::scenario::retry::parse_spec("prefect3").unwrap();
        assert!(
            prefect1_at_sigterm(&p3, &tasks, SimTime::ZERO, SimTime::ZERO, SimTime(1), at)
                .is_none()
        );
    }

    #[test]
    fn passes_are_strictly_after() {
        assert_eq!(next_pass(100, SimTime(600), SimTime(50)), SimTime(100));
        assert_eq!(next_pass(100, SimTime(600), SimTime(100)), SimTime(700));
        assert_eq!(next_pass(100, SimTime(600), SimTime(699)), SimTime(700));
        assert_eq!(next_pass(100, SimTime(600), SimTime(700)), SimTime(1300));
    }
}
