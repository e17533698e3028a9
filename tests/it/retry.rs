//! Each retry preset's observable behaviour, read from the task trace.

use spotplan::model::Provider;
use spotplan::sim::{Detail, EventKind, TraceEvent};

use crate::common::*;

fn spot_scenario(spot: &str, retry: &str, flow_extra: &str) -> String {
    world(
        "horizon = \"2d\"",
        "10s",
        SPOT_ONLY,
        &format!(
            r#"
[spot]
{spot}
[retry]
{retry}
"#
        ),
        &format!(
            "schedule = {{ every = \"1d\" }}\nduration = \"30m\"\nstartup = {{ provisioning = \"10s\", image_pull = \"10s\" }}\n{flow_extra}"
        ),
    )
}

/// Spot capacity is (almost) never there.
const NO_CAPACITY: &str = "capacity = { unavailable = 0.999999, mean_outage = \"1000d\" }";
/// Every spot task is interrupted within seconds.
const ALWAYS_INTERRUPTED: &str = "interruption_rate = \"10000/h\"";

fn of_run(events: &[TraceEvent], run: u64) -> Vec<TraceEvent> {
    events
        .iter()
        .filter(|e| e.flow == 0 && e.run == run)
        .copied()
        .collect()
}

fn kinds(events: &[TraceEvent]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

#[test]
fn prefect3_retries_runtask_three_times_one_to_four_seconds_apart_then_crashes() {
    let s = scenario(&spot_scenario(NO_CAPACITY, "policy = \"prefect3\"", ""));
    let (o, events) = trace(&s, 0);
    assert_eq!(
        (o.runs, o.crashed, o.capacity_failures, o.tasks),
        (2, 2, 6, 0)
    );
    let run = of_run(&events, 0);
    use EventKind::*;
    assert_eq!(
        kinds(&run),
        vec![
            Scheduled,
            RunTask,
            CapacityFailure,
            RunTask,
            CapacityFailure,
            RunTask,
            CapacityFailure,
            Crashed
        ]
    );
    let calls: Vec<u64> = run
        .iter()
        .filter(|e| e.kind == RunTask)
        .map(|e| e.t_ms)
        .collect();
    for w in calls.windows(2) {
        let gap = w[1] - w[0];
        assert!((1000..=4000).contains(&gap), "retry gap {gap} ms");
    }
}

#[test]
fn prefect3_runtask_attempts_is_configurable() {
    let s = scenario(&spot_scenario(
        NO_CAPACITY,
        "policy = \"prefect3\"\nruntask_attempts = 5",
        "",
    ));
    let o = &outcomes(&s, 1)[0];
    assert_eq!(o.capacity_failures, 10);
}

#[test]
fn prefect3_crashes_an_interrupted_run_and_does_not_retry() {
    let s = scenario(&spot_scenario(
        ALWAYS_INTERRUPTED,
        "policy = \"prefect3\"",
        "",
    ));
    let (o, events) = trace(&s, 0);
    assert_eq!((o.crashed, o.interruptions, o.tasks), (2, 2, 2));
    use EventKind::*;
    assert_eq!(
        kinds(&of_run(&events, 0)),
        vec![Scheduled, RunTask, Placed, Interrupted, Stopped, Crashed]
    );
}

#[test]
fn prefect3_reschedule_picks_the_run_up_again_at_the_next_poll() {
    let spot = "interruption_rate = \"1/h\"";
    let s = scenario(&spot_scenario(spot, "policy = \"prefect3-reschedule\"", ""));
    let mut seen = 0;
    for rep in 0..20 {
        let (o, events) = trace(&s, rep);
        assert_eq!(o.crashed + o.failed, 0, "reschedule never gives up");
        assert_eq!(o.completed, o.runs);
        for (i, e) in events.iter().enumerate() {
            if e.kind == EventKind::Interrupted {
                seen += 1;
                // AwaitingRetry is proposed at SIGTERM; the next RunTask of this run comes at
                // the next poll tick, within 10 s, before the old task has even stopped (30 s)
                let resched = events[i + 1];
                assert_eq!(
                    (resched.kind, resched.t_ms),
                    (EventKind::Rescheduled, e.t_ms)
                );
                let next = events[i..]
                    .iter()
                    .find(|x| x.kind == EventKind::RunTask && x.run == e.run)
                    .unwrap();
                assert!(
                    next.t_ms - e.t_ms <= 10_000,
                    "picked up {} ms later",
                    next.t_ms - e.t_ms
                );
                assert_eq!(next.attempt, e.attempt + 1);
            }
        }
    }
    assert!(seen > 5, "too few interruptions to test: {seen}");
}

#[test]
fn prefect1_lazarus_reschedules_after_a_stale_heartbeat_then_fails_at_the_limit() {
    let s = scenario(&spot_scenario(
        ALWAYS_INTERRUPTED,
        "policy = \"prefect1-lazarus\"\nlazarus_limit = 3",
        "",
    ));
    let (o, events) = trace(&s, 0);
    assert_eq!(
        (o.failed, o.interruptions),
        (2, 8),
        "limit 3: 4 attempts, then Failed"
    );
    let run = of_run(&events, 0);
    let ints: Vec<u64> = run
        .iter()
        .filter(|e| e.kind == EventKind::Interrupted)
        .map(|e| e.t_ms)
        .collect();
    let res: Vec<u64> = run
        .iter()
        .filter(|e| e.kind == EventKind::Rescheduled)
        .map(|e| e.t_ms)
        .collect();
    assert_eq!((ints.len(), res.len()), (4, 3));
    for (i, r) in ints.iter().zip(&res) {
        // heartbeat at most 30 s before the interruption; stale after 10 min; passes every 10 min
        let d = r - i;
        assert!(
            (570_000..=1_200_000).contains(&d),
            "rescheduled {d} ms after the interruption"
        );
    }
    assert_eq!(run.last().unwrap().kind, EventKind::Failed);

    let cloud = scenario(&spot_scenario(
        ALWAYS_INTERRUPTED,
        "policy = \"prefect1-lazarus\"\nlazarus_limit = 10",
        "",
    ));
    assert_eq!(outcomes(&cloud, 1)[0].interruptions, 22);
}

#[test]
fn prefect1_agent_fails_a_run_when_runtask_fails() {
    let s = scenario(&spot_scenario(
        NO_CAPACITY,
        "policy = \"prefect1-lazarus\"",
        "",
    ));
    let o = &outcomes(&s, 1)[0];
    assert_eq!((o.failed, o.capacity_failures), (2, 2));
}

#[test]
fn custom_falls_back_to_fargate_after_k_interruptions() {
    let s = scenario(&spot_scenario(
        ALWAYS_INTERRUPTED,
        "policy = \"custom\"\nmax_attempts = 5\ndelay = \"30s\"\nfallback_after_interruptions = 2",
        "",
    ));
    let (o, events) = trace(&s, 0);
    assert_eq!((o.completed, o.interruptions, o.fallbacks), (2, 4, 2));
    let placed: Vec<Option<Provider>> = of_run(&events, 0)
        .iter()
        .filter(|e| e.kind == EventKind::Placed)
        .map(|e| e.provider)
        .collect();
    assert_eq!(
        placed,
        vec![
            Some(Provider::FargateSpot),
            Some(Provider::FargateSpot),
            Some(Provider::Fargate)
        ]
    );
}

#[test]
fn custom_falls_back_after_capacity_failures() {
    let s = scenario(&spot_scenario(
        NO_CAPACITY,
        "policy = \"custom\"\nmax_attempts = 5\ndelay = \"5s\"\nfallback_after_capacity_failures = 3",
        "",
    ));
    let o = &outcomes(&s, 1)[0];
    assert_eq!((o.completed, o.capacity_failures, o.fallbacks), (2, 6, 2));
    assert_eq!(o.billed_secs_spot, 0);
}

#[test]
fn custom_gives_up_after_max_attempts_with_exponential_delays() {
    let s = scenario(&spot_scenario(
        NO_CAPACITY,
        "policy = \"custom\"\nmax_attempts = 4\ndelay = { exponential = { base = \"10s\", factor = 3.0, max = \"60s\" } }",
        "",
    ));
    let (o, events) = trace(&s, 0);
    assert_eq!((o.crashed, o.capacity_failures), (2, 8));
    let calls: Vec<u64> = of_run(&events, 0)
        .iter()
        .filter(|e| e.kind == EventKind::RunTask)
        .map(|e| e.t_ms)
        .collect();
    let gaps: Vec<u64> = calls.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, vec![10_000, 30_000, 60_000]);
}

#[test]
fn custom_deadline_aware_moves_late_runs_to_on_demand() {
    // 30 min of work, 40 min deadline, capacity gaps delay the start: once the slack no longer
    // covers the work plus a restart, the run launches on FARGATE and makes its deadline
    let spot = "capacity = { unavailable = 0.5, mean_outage = \"2h\" }";
    let aware = scenario(&spot_scenario(
        spot,
        "policy = \"custom\"\nmax_attempts = 1000\ndelay = \"1m\"\ndeadline_aware = true",
        "deadline = \"40m\"",
    ));
    let blind = scenario(&spot_scenario(
        spot,
        "policy = \"custom\"\nmax_attempts = 1000\ndelay = \"1m\"",
        "deadline = \"40m\"",
    ));
    let a = outcomes(&aware, 100);
    let b = outcomes(&blind, 100);
    let miss = |v: &[spotplan::sim::RunOutcome]| v.iter().map(|o| o.deadline_misses).sum::<u64>();
    let fb: u64 = a.iter().map(|o| o.fallbacks).sum();
    assert!(fb > 0);
    assert!(
        miss(&a) < miss(&b) / 4,
        "aware {} vs blind {}",
        miss(&a),
        miss(&b)
    );
    // every deadline-aware fallback happened early enough: launched by deadline − work − startup
    for rep in 0..20 {
        let (_, events) = trace(&aware, rep);
        for e in events
            .iter()
            .filter(|e| e.kind == EventKind::FallbackToOnDemand)
        {
            let sched = events
                .iter()
                .find(|x| x.kind == EventKind::Scheduled && x.run == e.run)
                .unwrap();
            assert!(e.t_ms - sched.t_ms <= 40 * 60_000 - 30 * 60_000);
        }
    }
}

#[test]
fn checkpoints_keep_work_across_interruptions() {
    let spot = "interruption_rate = \"2/h\"\nstop_timeout = \"2s\"";
    let with = scenario(&spot_scenario(
        spot,
        "policy = \"custom\"\nmax_attempts = 100000",
        "checkpoint = { every = \"5m\", cost = \"0s\" }",
    ));
    let without = scenario(&spot_scenario(
        spot,
        "policy = \"custom\"\nmax_attempts = 100000",
        "",
    ));
    let a: f64 = outcomes(&with, 200).iter().map(|o| o.latency_mean_ms).sum();
    let b: f64 = outcomes(&without, 200)
        .iter()
        .map(|o| o.latency_mean_ms)
        .sum();
    assert!(a < b * 0.9, "checkpointed {a} vs from scratch {b}");
    // and the first interruption of a checkpointed run keeps whole intervals of work
    let (_, events) = trace(&with, 3);
    for e in events.iter().filter(|e| e.kind == EventKind::Interrupted) {
        let Detail::Interrupted { saved_ms } = e.detail else {
            panic!("{e:?}")
        };
        assert_eq!(saved_ms % 300_000, 0, "kept {saved_ms} ms");
    }
}

#[test]
fn concurrency_limits_queue_runs() {
    let src = base(
        r#"
[simulation]
horizon = "1h"
[cluster]
capacity_providers = ["FARGATE"]
[worker]
count = 0
poll_interval = "0s"
concurrency_limit = 2
strategy = [{ provider = "FARGATE", weight = 1 }]
"#,
        "schedule = { every = \"1m\" }\nduration = \"10m\"\nstartup = { provisioning = \"0s\", image_pull = \"0s\" }",
    );
    let (o, events) = trace(&scenario(&src), 0);
    // at most 2 tasks in flight at any time
    let mut live = 0i64;
    let mut peak = 0;
    for e in &events {
        match e.kind {
            EventKind::Placed => live += 1,
            EventKind::Stopped => live -= 1,
            _ => {}
        }
        peak = peak.max(live);
    }
    assert_eq!(peak, 2);
    // 60 runs of 10 min through 2 slots: the last starts at ~290 min
    assert_eq!(o.completed, 60);
    assert!(o.latency_p99_ms > 4 * 3_600_000);
}

// ---- Prefect as its code behaves -----------------------------------------------------------

/// One run at t = 0 (picked up within the 10 s poll; provisioning 10 s, pull 10 s, or 60 s
/// with the 40 s trace, engine start-up 5 s, 60 min of work) on spot, whose only
/// interruption is the trace's preemption (replayed from 0).
fn preempted_once(
    trace_file: &str,
    retry: &str,
    flow_extra: &str,
) -> (spotplan::sim::RunOutcome, Vec<TraceEvent>) {
    let pull = if trace_file == AT_40S { "60s" } else { "10s" };
    let src = world(
        "horizon = \"1d\"",
        "10s",
        SPOT_ONLY,
        &format!(
            "[spot]\ntrace = \"{trace_file}\"\ntrace_offset = \"0s\"\nstop_timeout = \"30s\"\n[retry]\n{retry}"
        ),
        &format!(
            "schedule = {{ every = \"2d\" }}\nduration = \"60m\"\nstartup = {{ provisioning = \"10s\", image_pull = \"{pull}\" }}\nengine_startup = \"5s\"\n{flow_extra}"
        ),
    );
    trace(&scenario(&src), 0)
}

const AT_20M: &str = "trace-preempt-at-20m.json";
const AT_40S: &str = "trace-preempt-at-40s.json";

fn first(events: &[TraceEvent], kind: EventKind) -> TraceEvent {
    *events
        .iter()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} in {:?}", kinds(events)))
}

#[test]
fn prefect1_zombie_killer_retries_a_killed_task_and_the_run_resumes_from_it() {
    // 4 tasks of 15 min; killed at 20 min, 19 min 35 s into the work: inside task 2
    let (o, events) = preempted_once(
        AT_20M,
        "policy = \"prefect1-lazarus\"",
        "tasks = { count = 4, retries = 1 }",
    );
    use EventKind::*;
    assert_eq!(
        kinds(&events),
        vec![
            Scheduled,
            RunTask,
            Placed,
            Interrupted,
            Stopped,
            Rescheduled,
            RunTask,
            Placed,
            Stopped,
            Completed
        ]
    );
    let int = first(&events, Interrupted);
    assert_eq!(int.t_ms, 20 * 60_000);
    // task 1 (15 min of work) is kept: the new attempt does the other 45 min
    assert_eq!(
        int.detail,
        Detail::Interrupted {
            saved_ms: 15 * 60_000
        }
    );
    // the flow run's last heartbeat: engine up at 25 s, every 30 s → 19 min 55 s; the Zombie
    // Killer (a pass every 2 min) acts once it is 10 min stale (Prefect Server)
    let hb = 25_000 + (int.t_ms - 25_000) / 30_000 * 30_000;
    let zk = first(&events, Rescheduled).t_ms;
    assert!(
        (hb + 600_000..hb + 600_000 + 120_000).contains(&zk),
        "zombie pass at {zk}, heartbeat {hb}"
    );
    let done = first(&events, Completed);
    let placed_again = events.iter().filter(|e| e.kind == Placed).nth(1).unwrap();
    // second attempt: startup 25 s and the remaining 45 min of work
    assert_eq!(done.t_ms, placed_again.t_ms + 25_000 + 45 * 60_000);
    assert_eq!((o.completed, o.failed, o.crashed), (1, 0, 0));
    // Prefect Cloud: stale after 2 minutes instead of 10
    let (_, cloud) = preempted_once(
        AT_20M,
        "policy = \"prefect1-lazarus\"\nbackend = \"cloud\"",
        "tasks = { count = 4, retries = 1 }",
    );
    let zk = first(&cloud, Rescheduled).t_ms;
    assert!(
        (hb + 120_000..hb + 240_000).contains(&zk),
        "cloud pass at {zk}"
    );
}

#[test]
fn prefect1_without_task_retries_fails_the_run_after_an_empty_billed_rerun() {
    let (o, events) = preempted_once(
        AT_20M,
        "policy = \"prefect1-lazarus\"",
        "tasks = { count = 4 }",
    );
    use EventKind::*;
    // the Zombie Killer fails the task; Lazarus later reruns the flow run (a new container,
    // billed), which finds the failed task and ends Failed at once
    assert_eq!(
        kinds(&events),
        vec![
            Scheduled,
            RunTask,
            Placed,
            Interrupted,
            Stopped,
            Rescheduled,
            RunTask,
            Placed,
            Stopped,
            Failed
        ]
    );
    assert_eq!((o.completed, o.failed), (0, 1));
    let stops: Vec<TraceEvent> = events
        .iter()
        .filter(|e| e.kind == Stopped)
        .copied()
        .collect();
    // the rerun: pull 10 s + engine start-up 5 s, billed as the 60 s minimum
    assert_eq!(stops[1].detail, Detail::Stopped { billed_s: 60 });
    let lazarus = first(&events, Rescheduled).t_ms;
    let int = first(&events, Interrupted).t_ms;
    let hb = 25_000 + (int - 25_000) / 30_000 * 30_000;
    assert!(
        lazarus >= hb + 600_000,
        "Lazarus waits for a 10 min stale heartbeat"
    );
    // without `tasks` a run is one task without retries, and validate says so
    let s = scenario(&spot_scenario(
        ALWAYS_INTERRUPTED,
        "policy = \"prefect1-lazarus\"",
        "",
    ));
    assert!(
        spotplan::scenario::warnings(&s)
            .iter()
            .any(|w| w.code == "prefect1-one-task"),
        "{:?}",
        spotplan::scenario::warnings(&s)
    );
}

#[test]
fn prefect1_lazarus_handles_a_run_killed_before_its_first_task() {
    // killed at 40 s, during the image pull: Lazarus (not the Zombie Killer) reschedules it
    let (o, events) = preempted_once(
        AT_40S,
        "policy = \"prefect1-lazarus\"",
        "tasks = { count = 4 }",
    );
    assert_eq!((o.completed, o.failed), (1, 0));
    let int = first(&events, EventKind::Interrupted);
    assert_eq!(int.t_ms, 40_000);
    let res = first(&events, EventKind::Rescheduled).t_ms;
    let pull_start = first(&events, EventKind::Placed).t_ms + 10_000;
    // heartbeat: the pull start; stale after 10 min; a pass every 10 min
    assert!(
        (pull_start + 600_000..=pull_start + 1_200_000).contains(&res),
        "{res}"
    );
}

#[test]
fn prefect3_reschedule_crashes_a_run_interrupted_before_the_engine_is_up() {
    // SIGTERM at 40 s, during the image pull: no handler yet, the run is Crashed
    let (o, events) = preempted_once(AT_40S, "policy = \"prefect3-reschedule\"", "");
    use EventKind::*;
    assert_eq!(
        kinds(&events),
        vec![Scheduled, RunTask, Placed, Interrupted, Stopped, Crashed]
    );
    assert_eq!(o.crashed, 1);
    // the engine exits within 2 s of SIGTERM, well before the 30 s stop timeout
    assert_eq!(first(&events, Stopped).t_ms, 42_000);
    // the same interruption once the engine runs is rescheduled at once; but the preemption
    // slot (a minute) has no spot capacity either, so the worker's three RunTask calls
    // within seconds all fail and the rescheduled run is Crashed
    let (o, events) = preempted_once(AT_20M, "policy = \"prefect3-reschedule\"", "");
    assert_eq!(first(&events, Rescheduled).t_ms, 20 * 60_000);
    assert_eq!((o.completed, o.crashed, o.capacity_failures), (0, 1, 3));
}

/// The engine start-up's two parts under `prefect3-reschedule`: a SIGTERM (at 40 s; the
/// worker's poll at 9.4 s, the pull over at 29.4 s) before `prefect flow-run execute`
/// installed its handler crashes the run; one during flow loading, with the handler
/// installed, reschedules it. Measured on
/// Prefect 3.9.1 by `tools/engine-startup/measure.py` (exit −15 and the run left Pending;
/// exit 0 and the run AwaitingRetry).
#[test]
fn prefect3_reschedule_needs_the_handler_not_the_flow_code() {
    // the flow's start-up keys, e.g. `engine_startup = "65s"`
    let with = |startup: &str| {
        let src = world(
            "horizon = \"1d\"",
            "10s",
            SPOT_ONLY,
            &format!(
                "[spot]\ntrace = \"{AT_40S}\"\ntrace_offset = \"0s\"\nstop_timeout = \"30s\"\n[retry]\npolicy = \"prefect3-reschedule\""
            ),
            &format!(
                "schedule = {{ every = \"2d\" }}\nduration = \"60m\"\nstartup = {{ provisioning = \"10s\", image_pull = \"10s\" }}\n{startup}"
            ),
        );
        trace(&scenario(&src), 0)
    };
    let run = |unprotected: &str, loading: &str| {
        with(&format!(
            "engine_unprotected = \"{unprotected}\"\nflow_loading = \"{loading}\""
        ))
    };
    use EventKind::*;
    // handler at 29.4 + 30 = 59.4 s: the SIGTERM at 40 s kills the process
    let (o, events) = run("30s", "30s");
    assert_eq!(
        first(&events, Placed).detail,
        Detail::Placed {
            pull_start_ms: 19_416,
            running_ms: 89_416
        }
    );
    assert_eq!(first(&events, Interrupted).t_ms, 40_000);
    assert_eq!(
        kinds(&events),
        vec![Scheduled, RunTask, Placed, Interrupted, Stopped, Crashed]
    );
    assert_eq!(o.crashed, 1);
    // handler at 29.4 + 5 = 34.4 s, flow code at 94.4 s: the SIGTERM at 40 s reschedules
    let (_, events) = run("5s", "60s");
    assert_eq!(first(&events, Interrupted).t_ms, 40_000);
    assert_eq!(
        kinds(&events)[..5],
        [Scheduled, RunTask, Placed, Interrupted, Rescheduled]
    );
    assert_eq!(first(&events, Rescheduled).t_ms, 40_000);
    // one `engine_startup` total splits 16:31: 65 s → 22.1 s unprotected, the handler at
    // 51.5 s, after the SIGTERM: crashed; 30 s → 10.2 s, the handler at 39.6 s: rescheduled
    let (o, _) = with("engine_startup = \"65s\"");
    assert_eq!(o.crashed, 1);
    let (_, events) = with("engine_startup = \"30s\"");
    assert_eq!(first(&events, Rescheduled).t_ms, 40_000);
}

#[test]
fn prefect3_fallback_automation_reruns_a_crashed_run_on_fargate() {
    let (o, events) = preempted_once(
        AT_20M,
        "policy = \"prefect3\"\nfallback = \"automation\"",
        "",
    );
    use EventKind::*;
    assert_eq!(
        kinds(&events),
        vec![
            Scheduled,
            RunTask,
            Placed,
            Interrupted,
            Stopped,
            FallbackToOnDemand,
            RunTask,
            Placed,
            Stopped,
            Completed
        ]
    );
    assert_eq!((o.completed, o.crashed, o.fallbacks), (1, 0, 1));
    let stop = first(&events, Stopped).t_ms;
    let again = events.iter().filter(|e| e.kind == RunTask).nth(1).unwrap();
    assert_eq!(again.provider, Some(Provider::Fargate));
    // the automation's rerun exists 35 s after the Crashed event (its 30 s window and the 5 s
    // proactive evaluation); the worker polls every 10 s
    assert!(
        (stop + 35_000..=stop + 45_000).contains(&again.t_ms),
        "{}",
        again.t_ms
    );
    // latency counts from the original scheduled time; the whole hour is redone
    let done = first(&events, Completed);
    assert_eq!(
        done.detail,
        Detail::Completed {
            latency_ms: done.t_ms
        }
    );
    assert!(done.t_ms >= again.t_ms + 25_000 + 3_600_000);
}

#[test]
fn the_deadline_rule_reads_the_distribution_never_the_sampled_duration() {
    // daily runs whose work varies widely and a 100 min deadline; first launches of
    // different runs know the same thing (nothing done yet), so the rule must send them all
    // to the same provider, however long each will turn out
    let first_providers = |median: &str, p95: &str| -> Vec<Provider> {
        let src = world(
            "horizon = \"20d\"",
            "10s",
            SPOT_ONLY,
            "[spot]\ninterruption_rate = \"0.01/h\"\n[retry]\npolicy = \"custom\"\nmax_attempts = 5\ndeadline_aware = true",
            &format!(
                "schedule = {{ every = \"1d\" }}\nduration = {{ lognormal = {{ median = \"{median}\", p95 = \"{p95}\" }} }}\ndeadline = \"100m\""
            ),
        );
        let s = scenario(&src);
        let mut out = Vec::new();
        let mut works = Vec::new();
        for rep in 0..5 {
            let (_, events) = trace(&s, rep);
            for e in &events {
                if let Detail::Work { work_ms } = e.detail {
                    works.push(work_ms);
                }
                if e.kind == EventKind::RunTask && e.attempt == 1 {
                    out.push(e.provider.unwrap());
                }
            }
        }
        // the samples do differ: some runs need far more than others
        let (lo, hi) = (works.iter().min().unwrap(), works.iter().max().unwrap());
        assert!(hi > &(3 * lo), "{lo} … {hi}");
        out
    };
    // p95 2 h: the 95% quantile of the work exceeds the slack: every run on FARGATE
    let v = first_providers("40m", "2h");
    assert_eq!(v.len(), 100);
    assert!(v.iter().all(|p| *p == Provider::Fargate), "{v:?}");
    // p95 45 min: the work and one interruption's loss (all of it: no checkpoints) fit in
    // 100 min: every first launch on spot, even the runs that will need far longer
    let v = first_providers("20m", "45m");
    assert!(v.iter().all(|p| *p == Provider::FargateSpot), "{v:?}");
}

/// An 8 h daily job checkpointing every 15 min with a 10 h deadline; spot interrupted at
/// 0.1/h and unavailable 30% of the time in outages of 3 h on average.
fn long_tight(rule: &str) -> spotplan::scenario::Scenario {
    scenario(&world(
        "horizon = \"60d\"",
        "10s",
        SPOT_ONLY,
        &format!(
            "[spot]\ninterruption_rate = \"0.1/h\"\nstop_timeout = \"120s\"\ncapacity = {{ unavailable = 0.3, mean_outage = \"3h\" }}\n\
             [retry]\npolicy = \"custom\"\nmax_attempts = 1000\ndelay = \"1m\"\ndeadline_aware = true\ndeadline_rule = \"{rule}\""
        ),
        "schedule = { every = \"1d\" }\nduration = \"8h\"\ncpu = \"4 vCPU\"\nmemory = \"16 GB\"\n\
         checkpoint = { every = \"15m\", cost = \"20s\" }\nstartup = { provisioning = \"1m\", image_pull = \"2m\" }\ndeadline = \"10h\"",
    ))
}

#[test]
fn catch_up_beats_the_greedy_safety_net_on_cost_at_zero_deadline_misses() {
    let (greedy, up) = (long_tight("safety-net"), long_tight("catch-up"));
    let n = 60;
    let (g, u) = (outcomes(&greedy, n), outcomes(&up, n));
    let misses = |v: &[spotplan::sim::RunOutcome]| v.iter().map(|o| o.deadline_misses).sum::<u64>();
    // the safety net holds for both: it budgets an interruption (the work since the last
    // checkpoint and a restart) on top of the remaining work
    assert_eq!((misses(&g), misses(&u)), (0, 0));
    // on common random numbers (same runs, same outages), Uniform Progress catches up on
    // demand early and returns to spot, where the greedy rule waits out outages and is then
    // held on demand for the rest of the run
    let d: Vec<f64> = g
        .iter()
        .zip(&u)
        .map(|(a, b)| a.cost_usd - b.cost_usd)
        .collect();
    let (mean, se) = mean_se(&d);
    assert!(mean - 3.0 * se > 0.0, "greedy − UP = {mean} ± {se} USD");
    let spot = |v: &[spotplan::sim::RunOutcome]| {
        v.iter().map(|o| o.billed_secs_spot).sum::<u64>() as f64
            / v.iter()
                .map(|o| o.billed_secs_spot + o.billed_secs_fargate)
                .sum::<u64>() as f64
    };
    assert!(
        spot(&u) > spot(&g),
        "UP {} vs greedy {}",
        spot(&u),
        spot(&g)
    );
    // and it is a different rule: it catches up on demand (a non-sticky move, value 1) and
    // later returns the same run to spot; the greedy rule never does
    let returns = |s: &spotplan::scenario::Scenario| -> usize {
        (0..5)
            .map(|rep| {
                let (_, ev) = trace(s, rep);
                ev.iter()
                    .enumerate()
                    .filter(|(_, e)| e.detail == Detail::Fallback { catching_up: true })
                    .filter(|(i, e)| {
                        ev[*i..].iter().any(|x| {
                            x.kind == EventKind::RunTask
                                && x.run == e.run
                                && x.provider == Some(Provider::FargateSpot)
                        })
                    })
                    .count()
            })
            .sum()
    };
    assert!(returns(&up) > 0);
    assert_eq!(returns(&greedy), 0);
}

/// Prefect 1's task-level resumption needs results a restarted run can read (an S3Result):
/// with `persisted_results = false` (LocalResults, lost with the container) the run killed in
/// task 2 keeps nothing and the new attempt does all 60 minutes again. Whichever it is, the
/// results say so.
#[test]
fn prefect1_without_persisted_results_reruns_every_task_after_a_restart() {
    let (o, events) = preempted_once(
        AT_20M,
        "policy = \"prefect1-lazarus\"",
        "tasks = { count = 4, retries = 1, persisted_results = false }",
    );
    use EventKind::*;
    let int = first(&events, Interrupted);
    assert_eq!(int.detail, Detail::Interrupted { saved_ms: 0 });
    let done = first(&events, Completed);
    let placed_again = events.iter().filter(|e| e.kind == Placed).nth(1).unwrap();
    assert_eq!(done.t_ms, placed_again.t_ms + 25_000 + 60 * 60_000);
    assert_eq!(o.completed, 1);
    // the assumption, in the header: said when not stated, and what `false` means
    let with = |extra: &str| {
        let src = std::fs::read_to_string(root().join("scenarios/article-prefect1-lazarus.toml"))
            .unwrap()
            .replace("tasks = { count = 4 }", extra);
        simulated(&src, "json")["meta"]["assumptions"].to_string()
    };
    let unstated = with("tasks = { count = 4 }");
    assert!(
        unstated.contains("a restarted run skips the tasks that finished, whose results are persisted (an S3Result) for `hourly-flow`"),
        "{unstated}"
    );
    let lost = with("tasks = { count = 4, persisted_results = false }");
    assert!(
        lost.contains("`hourly-flow` keep no task results across a restart")
            && !lost.contains("whose results are persisted"),
        "{lost}"
    );
}

/// The result's header and JSON meta give the retry policy as its spec, the fallback
/// automation included (before, `fallback = "automation"` was dropped: "retry
/// prefect3-reschedule").
#[test]
fn the_header_shows_the_fallback_with_the_retry_policy() {
    let src = std::fs::read_to_string(root().join("scenarios/article-prefect3-reschedule.toml"))
        .unwrap()
        .replacen(
            "policy = \"prefect3-reschedule\"",
            "policy = \"prefect3-reschedule\"\nfallback = \"automation\"",
            1,
        );
    let text = simulated(&src, "table");
    assert!(
        text.as_str()
            .is_some_and(|t| t.contains("· retry prefect3-reschedule[fallback=automation]\n")),
        "{text}"
    );
    assert_eq!(
        simulated(&src, "json")["meta"]["retry_policy"],
        "prefect3-reschedule[fallback=automation]"
    );
}

/// `spotplan simulate -n 2 --format FORMAT` of scenario text `src` (written to a temporary
/// file): the JSON, or the table as a JSON string.
fn simulated(src: &str, format: &str) -> serde_json::Value {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let k = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("spotplan-simulated-{}-{k}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("s.toml");
    std::fs::write(&f, src).unwrap();
    let o = spotplan(&[
        "simulate",
        f.to_str().unwrap(),
        "-n",
        "2",
        "--format",
        format,
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(o.status.success(), "{}", stderr(&o));
    if format == "json" {
        serde_json::from_slice(&o.stdout).unwrap()
    } else {
        serde_json::Value::String(stdout(&o))
    }
}

/// Who hears ECS's SIGTERM (`[[flow]] sigterm`), on the run the trace interrupts at 20 min
/// (stop timeout 30 s). Under an init the engine exits 2 s later; with `prefect flow-run
/// execute` as PID 1 only its reschedule handler hears it (`prefect/cli/flow_run.py`
/// `execute`, 3.9.1); behind a shell nobody does, and the task runs, billed, until SIGKILL
/// 30 s later, and is Crashed: a SIGKILL leaves no reschedule.
#[test]
fn sigterm_modes_decide_who_hears_the_interruption_and_when_billing_ends() {
    use EventKind::*;
    let stopped = |retry: &str, mode: &str| {
        let (o, events) = preempted_once(AT_20M, retry, &format!("sigterm = \"{mode}\""));
        (o, first(&events, Stopped).t_ms, kinds(&events))
    };
    let resched = "policy = \"prefect3-reschedule\"";
    let crash = "policy = \"prefect3\"";
    // reschedule: heard under an init and by prefect as PID 1 (the engine is up at 20 min)
    for mode in ["init", "exec-no-init"] {
        let (o, stop, k) = stopped(resched, mode);
        assert_eq!(stop, 20 * 60_000 + 2_000, "{mode}");
        assert_eq!(k[4], Rescheduled, "{mode}: {k:?}");
        assert_eq!(o.interruptions, 1);
    }
    // behind a shell: SIGKILL at 20 min 30 s, Crashed, no reschedule
    let (o, stop, k) = stopped(resched, "shell");
    assert_eq!(stop, 20 * 60_000 + 30_000);
    assert_eq!(
        k,
        vec![Scheduled, RunTask, Placed, Interrupted, Stopped, Crashed]
    );
    assert_eq!((o.interruptions, o.crashed), (1, 1));
    // crash mode: prefect as PID 1 installs no handler, so it is killed at the stop timeout;
    // under an init it exits at once
    let (_, stop, _) = stopped(crash, "exec-no-init");
    assert_eq!(stop, 20 * 60_000 + 30_000);
    let (o_init, stop, _) = stopped(crash, "init");
    assert_eq!(stop, 20 * 60_000 + 2_000);
    // the 28 s more are billed: per second, on the spot rate
    let (o_shell, _, _) = stopped(crash, "shell");
    assert_eq!(o_shell.billed_secs_spot, o_init.billed_secs_spot + 28);
    // a run whose work ends inside the 30 s it is not heard finishes: 19 min 45 s of work
    // from 25–35 s ends at 20 min 10–20 s
    let run = |mode: &str| {
        let src = world(
            "horizon = \"1d\"",
            "10s",
            SPOT_ONLY,
            &format!(
                "[spot]\ntrace = \"{AT_20M}\"\ntrace_offset = \"0s\"\nstop_timeout = \"30s\"\n[retry]\n{crash}"
            ),
            &format!(
                "schedule = {{ every = \"2d\" }}\nduration = \"19m 45s\"\nstartup = {{ provisioning = \"10s\", image_pull = \"10s\" }}\nengine_startup = \"5s\"\nsigterm = \"{mode}\""
            ),
        );
        trace(&scenario(&src), 0).0
    };
    let (heard, unheard) = (run("init"), run("shell"));
    assert_eq!((heard.completed, heard.crashed), (0, 1));
    assert_eq!((unheard.completed, unheard.crashed), (1, 0));
    assert_eq!(
        unheard.interruptions, 1,
        "the SIGTERM is counted all the same"
    );
}

/// The price of the fix: a flow behind a shell is simulated again with an init (ECS's, which
/// `emit` sets) on the same seeds, and `simulate` says what it changes. On the shipped hourly
/// ETL with `hourly-etl` behind a shell its interruptions crash the run (no reschedule): the
/// init brings the crash rate back to the scenario's own.
#[test]
fn simulate_prices_an_init_for_flows_without_one() {
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml")).unwrap();
    let shell = src.replacen(
        "duration = { lognormal = { median = \"12m\", p95 = \"40m\" } }",
        "duration = { lognormal = { median = \"12m\", p95 = \"40m\" } }\nsigterm = \"shell\"",
        1,
    );
    assert_ne!(shell, src);
    let v = simulated(&shell, "json");
    let fix = &v["init_fix"];
    assert_eq!(fix["flows"], serde_json::json!(["hourly-etl"]));
    let today = simulated(&src, "json");
    assert!(today.get("init_fix").is_none());
    // with the init the run is the scenario's own: the same cost and crash rate
    assert_eq!(
        fix["cost_per_30d_usd"]["mean"],
        today["metrics"]["cost_per_30d_usd"]["mean"]
    );
    assert_eq!(
        fix["crash_rate"]["mean"],
        today["metrics"]["crash_rate"]["mean"]
    );
    assert!(
        v["metrics"]["crash_rate"]["mean"].as_f64().unwrap()
            > fix["crash_rate"]["mean"].as_f64().unwrap()
    );
    let a: Vec<String> = serde_json::from_value(v["meta"]["assumptions"].clone()).unwrap();
    assert!(
        a.iter()
            .any(|l| l.starts_with("`hourly-etl`: no init in the container")),
        "{a:?}"
    );
}

/// Crash causes: the shipped hourly ETL's crashed runs under `prefect3-reschedule` are its
/// capacity failures (three RunTask calls in a row into an outage) and the interruptions that
/// come before the engine is up; every crashed or failed run has exactly one of the two.
#[test]
fn crashed_runs_are_told_apart_by_cause() {
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml")).unwrap();
    let s = scenario(&src);
    for rep in 0..4 {
        let (o, events) = trace(&s, rep);
        assert_eq!(
            o.crashed_by_capacity + o.crashed_by_interruption,
            o.crashed + o.failed
        );
        // a run crashed by capacity has a capacity failure as its last event before the end
        let mut by_capacity = 0;
        for (i, e) in events.iter().enumerate() {
            if e.kind == EventKind::Crashed
                && events[..i]
                    .iter()
                    .rev()
                    .find(|x| x.run == e.run && x.flow == e.flow)
                    .is_some_and(|x| x.kind == EventKind::CapacityFailure)
            {
                by_capacity += 1;
            }
        }
        assert_eq!(o.crashed_by_capacity, by_capacity, "replication {rep}");
        assert!(o.crashed_by_capacity > 0, "replication {rep}: {o:?}");
    }
}
