"""Drives the emitted Uniform Progress controller against a real Prefect server: a pool and
deployment named as the scenario's flow, runs in the states the controller acts on, then one
pass of the controller and the flow-side checkpoint. Prints what became of each run (JSON).
Usage: python uniform_progress_case.py EMITTED_DIR POOL"""

import json
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, sys.argv[1])
import uniform_progress as up  # noqa: E402

from prefect import get_client  # noqa: E402
from prefect.client.schemas.actions import VariableCreate, WorkPoolCreate  # noqa: E402
from prefect.states import Crashed, Running, Scheduled, AwaitingRetry  # noqa: E402

pool = sys.argv[2]
name = next(iter(up.PARAMS))
now = datetime.now(timezone.utc)
CAPACITY = ("Failed to submit flow run to infrastructure: RuntimeError: Failed to run ECS "
            "task: Capacity is unavailable at this time. Please try again later or in a "
            "different availability zone")

with get_client(sync_client=True) as c:
    # the work pool spotplan emitted, its base job template as `emit` wrote it
    with open(f"{sys.argv[1]}/base-job-template.json") as f:
        template = json.load(f)
    c.create_work_pool(WorkPoolCreate(name=pool, type="ecs", base_job_template=template))
    flow_id = c.create_flow_from_name(name)
    dep = c.create_deployment(flow_id=flow_id, name=name, work_pool_name=pool)

    def run(label, saved, mode, state, message=None):
        r = c.create_flow_run_from_deployment(
            dep, state=Scheduled(scheduled_time=now - timedelta(seconds=3600)))
        if saved is not None:
            c.create_variable(VariableCreate(
                name=up._var_name(r.id),
                value=json.dumps({"saved_s": saved, "mode": mode})))
        for s in state:
            c.set_flow_run_state(r.id, s(message=message) if s is Crashed else s(), force=True)
        return label, r.id

    runs = [
        run("ahead", 3400.0, "spot", [Crashed], CAPACITY),
        run("behind", 3000.0, "spot", [Crashed], CAPACITY),
        run("late", 0.0, "spot", [Crashed], CAPACITY),
        run("interrupted", 3400.0, "spot", [Crashed], "The following containers stopped with a non-zero exit code: [prefect: 137]"),
        run("rescheduled", 3400.0, "spot", [Running, AwaitingRetry]),
    ]
    decisions = up.once(c)
    # a second pass changes nothing it decided (a Crashed run is Scheduled now)
    again = up.once(c)
    out = {"decisions": sorted(d[2] for d in decisions), "again": again, "runs": {}}
    for label, rid in runs:
        r = c.read_flow_run(rid)
        out["runs"][label] = {
            "state": r.state.type.value,
            "scheduled_in_s": round((r.state.state_details.scheduled_time - now).total_seconds())
            if r.state.state_details.scheduled_time else None,
            "strategy": (r.job_variables or {}).get("capacity_provider_strategy"),
        }
    # the flow side: a run catching up on FARGATE, at a checkpoint
    for label, saved in [("checkpoint-behind", 3000.0), ("checkpoint-ahead", 3600.0)]:
        _, rid = run(label, saved, "catch-up", [Running])
        import os
        os.environ["PREFECT__FLOW_RUN_ID"] = str(rid)
        from prefect import runtime
        runtime.flow_run.id  # noqa: B018 (reads the env)
        moved = up.checkpoint(saved, signal_supervisor=False)
        r = c.read_flow_run(rid)
        out["runs"][label] = {
            "moved": moved,
            "state": r.state.type.value,
            "strategy": (r.job_variables or {}).get("capacity_provider_strategy"),
        }
    # a run that has ended: its progress variable goes at the next pass
    _, done = run("completed", 100.0, "spot", [Running])
    from prefect.states import Completed
    c.set_flow_run_state(done, Completed(), force=True)
    up.once(c)
    out["forgotten"] = c.read_variable_by_name(up._var_name(done)) is None
    out["kept"] = c.read_variable_by_name(up._var_name(runs[0][1])) is not None
    print(json.dumps(out, sort_keys=True))
