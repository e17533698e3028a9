#!/usr/bin/env python3
"""Uniform Progress ("Can't Be Late", Wu et al., NSDI'24) for Prefect deployments on ECS,
as spotplan simulated it (`custom[deadline_aware=uniform-progress]`). Written by
`spotplan emit`; this is code you run and own (`--allow-custom-code`).

The rules, in order, decided when a run has no task and at checkpoints:
  Safety Net        time left < remaining work + 2 changeovers + one checkpoint cycle:
                    FARGATE for the rest of the run.
  Taking Risks      otherwise a launch tries FARGATE_SPOT, kept until interrupted.
  Uniform Progress  FARGATE_SPOT did not place (the worker crashed the run: "Capacity is
                    unavailable") and the run is behind the line C * (t - d) / (D - d):
                    FARGATE until ahead of it; ahead: wait `probe_every`, try spot again.
  Hysteresis        at a checkpoint on FARGATE, once the work kept reaches the line at
                    t + 2d: back to FARGATE_SPOT.

Two parts:
  python uniform_progress.py watch   every probe_every seconds, beside the worker: relaunches
                                     runs the worker crashed for capacity, and decides each
                                     rescheduled run's capacity provider (job variables).
  python uniform_progress.py once    one pass (cron, tests).
  In the flow, after each checkpoint:
      from uniform_progress import checkpoint
      checkpoint(seconds_of_work_kept)
  records the run's progress (a Prefect variable `spotplan-up-<flow run id>`) and applies
  Hysteresis: the run is scheduled again on FARGATE_SPOT and the Prefect supervisor is sent
  SIGTERM, which reschedules it (PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule).

C is the work's 95% quantile as spotplan planned it (a run that was interrupted is not
conditioned on what it had done, as the simulation does: the controller keeps no history).
Deployments are matched by name (spotplan's flow names) in the work pool WORK_POOL.
"""

import json
import os
import signal
import sys
import time
from datetime import datetime, timedelta, timezone

# per deployment: deadline_s (D), tail_s (C), d_s (changeover), every_s and cost_s (checkpoint),
# lost_s (one checkpoint cycle, or all the work without checkpoints), probe_s
PARAMS = json.loads("""__PARAMS__""")
WORK_POOL = "__WORK_POOL__"

SPOT = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
ON_DEMAND = [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
CAPACITY = "Capacity is unavailable"


def runtime(p, work):
    """Running time of `work` seconds with its checkpoints' cost (none after the last)."""
    if work <= 0 or not p["every_s"]:
        return max(work, 0)
    return work + int((work - 1e-9) // p["every_s"]) * p["cost_s"]


def line(p, elapsed):
    """Work (s) the line asks for `elapsed` s after the scheduled time."""
    d = p["d_s"]
    return p["tail_s"] * min(max(elapsed - d, 0) / max(p["deadline_s"] - d, 1), 1)


def safety_net(p, elapsed, saved):
    work = runtime(p, max(p["tail_s"] - saved, 0))
    lost = p["lost_s"] if p["every_s"] else work
    return p["deadline_s"] - elapsed < work + 2 * p["d_s"] + lost


def without_spot(p, elapsed, saved):
    """After a capacity failure: 'for-good', 'catch-up' or 'wait'."""
    if safety_net(p, elapsed, saved):
        return "for-good"
    return "catch-up" if saved < line(p, elapsed) else "wait"


def at_launch(p, elapsed, saved):
    """A run with no task: 'for-good' (Safety Net) or 'spot' (Taking Risks)."""
    return "for-good" if safety_net(p, elapsed, saved) else "spot"


def back_to_spot(p, elapsed, saved):
    d = p["d_s"]
    return saved >= line(p, elapsed + 2 * d) and not safety_net(p, elapsed + d, saved)


def _now():
    return datetime.now(timezone.utc)


def _var_name(run_id):
    return f"spotplan-up-{run_id}"


def _progress(client, run_id):
    v = client.read_variable_by_name(_var_name(run_id))
    if v is None:
        return {"saved_s": 0.0, "mode": "spot"}
    value = v.value
    return json.loads(value) if isinstance(value, str) else dict(value)


def _save(client, run_id, progress):
    from prefect.client.schemas.actions import VariableCreate, VariableUpdate

    name = _var_name(run_id)
    value = json.dumps(progress, sort_keys=True)
    if client.read_variable_by_name(name) is None:
        client.create_variable(VariableCreate(name=name, value=value))
    else:
        client.update_variable(VariableUpdate(name=name, value=value))


def _schedule(client, run, at, strategy):
    """Scheduled again at `at` on `strategy` (job variables can change only while Scheduled)."""
    from prefect.states import Scheduled

    client.set_flow_run_state(run.id, Scheduled(scheduled_time=at), force=True)
    jv = dict(run.job_variables or {})
    jv["capacity_provider_strategy"] = strategy
    jv["launch_type"] = None
    client.update_flow_run(run.id, job_variables=jv)


def _elapsed(run, progress):
    start = progress.get("scheduled") or run.expected_start_time.isoformat()
    return (_now() - datetime.fromisoformat(start)).total_seconds(), start


def once(client):
    """One pass over the deployments' Crashed and rescheduled runs. Returns the decisions."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.objects import StateType

    in_pool = WorkPoolFilter(name=WorkPoolFilterName(any_=[WORK_POOL]))
    deployments = {
        d.id: d.name
        for d in client.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=list(PARAMS))),
            work_pool_filter=in_pool,
        )
    }
    runs = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.CRASHED, StateType.SCHEDULED])
            )
        ),
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=list(PARAMS))),
        work_pool_filter=in_pool,
    )
    out = []
    for run in runs:
        name = deployments.get(run.deployment_id)
        if name is None:
            continue
        p = PARAMS[name]
        progress = _progress(client, run.id)
        elapsed, start = _elapsed(run, progress)
        progress["scheduled"] = start
        state = run.state
        if state.type == StateType.CRASHED:
            if CAPACITY not in (state.message or ""):
                continue  # not a capacity failure: the retry policy's, not this rule's
            decision = without_spot(p, elapsed, progress["saved_s"])
            if decision == "wait":
                _schedule(client, run, _now() + timedelta(seconds=p["probe_s"]), SPOT)
                progress["mode"] = "spot"
            else:
                _schedule(client, run, _now(), ON_DEMAND)
                progress["mode"] = decision
        elif run.run_count > 0 and progress.get("mode") != "for-good":
            # rescheduled after an attempt (an interruption, a hysteresis switch): decided once
            if progress.get("decided") == state.id.hex:
                continue
            decision = at_launch(p, elapsed, progress["saved_s"])
            strategy = ON_DEMAND if decision == "for-good" else SPOT
            jv = dict(run.job_variables or {})
            jv["capacity_provider_strategy"] = strategy
            jv["launch_type"] = None
            client.update_flow_run(run.id, job_variables=jv)
            progress["mode"] = decision
        else:
            continue
        progress["decided"] = client.read_flow_run(run.id).state.id.hex
        _save(client, run.id, progress)
        out.append((str(run.id), name, decision))
    forget_finished(client)
    return out


def forget_finished(client):
    """Deletes the progress variables of runs that have ended (or no longer exist)."""
    from prefect.exceptions import ObjectNotFound

    for v in client.read_variables():
        if not v.name.startswith("spotplan-up-"):
            continue
        try:
            state = client.read_flow_run(v.name[len("spotplan-up-") :]).state
        except ObjectNotFound:
            state = None
        if state is None or state.is_final():
            client.delete_variable_by_name(v.name)


def checkpoint(saved_s, signal_supervisor=True):
    """In the flow, after a checkpoint keeping `saved_s` seconds of work: records it, and on
    FARGATE applies Hysteresis. Returns True when the run is being moved back to spot."""
    from prefect import get_client, runtime

    run_id = runtime.flow_run.id
    name = runtime.deployment.name
    if run_id is None or name not in PARAMS:
        return False
    p = PARAMS[name]
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        progress = _progress(client, run_id)
        elapsed, start = _elapsed(run, progress)
        progress.update(saved_s=float(saved_s), scheduled=start)
        moving = progress.get("mode") == "catch-up" and back_to_spot(p, elapsed, saved_s)
        if moving:
            _schedule(client, run, _now() + timedelta(seconds=p["d_s"]), SPOT)
            progress["mode"] = "spot"
            progress["decided"] = client.read_flow_run(run_id).state.id.hex
        _save(client, run_id, progress)
    if moving and signal_supervisor:
        os.kill(os.getppid(), signal.SIGTERM)
    return moving


def main(argv):
    from prefect import get_client

    if len(argv) != 2 or argv[1] not in ("watch", "once"):
        print(__doc__, file=sys.stderr)
        return 2
    probe = min(p["probe_s"] for p in PARAMS.values())
    while True:
        with get_client(sync_client=True) as client:
            for run_id, name, decision in once(client):
                print(f"{name} {run_id}: {decision}", flush=True)
        if argv[1] == "once":
            return 0
        time.sleep(probe)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
