"""Measures the two parts of Prefect 3's engine start-up in an ECS task.

`prefect flow-run execute` (the command prefect-aws's ECS worker runs in the task) is timed
from process start to the moment its SIGTERM handler is installed
(`_install_termination_handler`, prefect/cli/flow_run.py), and from there to the first line
of the flow's own code. Before the handler exists, a SIGTERM kills the process and the run
cannot reschedule itself; after it, the supervisor proposes AwaitingRetry. Both claims are
checked on the real thing: a SIGTERM sent at once and one sent right after the handler is
installed, each followed by a read of the run's state.

CPU sizes are emulated with a cgroup v1 CFS quota (`cpu.cfs_quota_us` over a 100 ms period),
which needs a writable /sys/fs/cgroup/cpu. Run it with the Python that has Prefect:

    PREFECT_API_URL=http://127.0.0.1:4200/api .venv-prefect/bin/python \
        tools/engine-startup/measure.py --cpus 0.25 1 2 --repeat 7

It prints, per CPU size, the median and range of both parts in seconds. `--check` runs once
without a quota and prints JSON (what spotplan's test suite asserts on the installed Prefect).
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

FLOW = '''
import os, time
from prefect import flow

@flow(log_prints=False)
def timed():
    with open(os.environ["SPOTPLAN_STAMPS"], "a") as f:
        f.write(f"flow {os.getpid()} {time.time()}\\n")
'''

# Loaded by every Python process of the run (PYTHONPATH): stamps the first SIGTERM handler
# installed on an asyncio loop, with the file that installed it.
SITECUSTOMIZE = '''
import os, signal, sys, time
_stamps = os.environ.get("SPOTPLAN_STAMPS")
if _stamps:
    import asyncio.unix_events as _ue
    _orig = _ue._UnixSelectorEventLoop.add_signal_handler
    def _stamped(self, sig, callback, *args):
        result = _orig(self, sig, callback, *args)
        if sig == signal.SIGTERM:
            caller = sys._getframe(1).f_code.co_filename
            with open(_stamps, "a") as f:
                f.write(f"handler {os.getpid()} {time.time()} {caller}\\n")
        return result
    _ue._UnixSelectorEventLoop.add_signal_handler = _stamped
'''

CGROUP = Path("/sys/fs/cgroup/cpu")


def cgroup_for(cpus: float) -> Path | None:
    if cpus <= 0:
        return None  # no quota: the machine's own CPUs
    g = CGROUP / f"spotplan-startup-{int(cpus * 1000)}"
    g.mkdir(exist_ok=True)
    (g / "cpu.cfs_period_us").write_text("100000")
    (g / "cpu.cfs_quota_us").write_text(str(int(cpus * 100000)))
    return g


async def new_run(deployment_id):
    """A run of the deployment, Pending as the worker leaves it when it starts the task."""
    from prefect.client.orchestration import get_client
    from prefect.states import Pending

    async with get_client() as c:
        run = await c.create_flow_run_from_deployment(deployment_id)
        await c.set_flow_run_state(run.id, Pending())
        return run.id


async def run_state(run_id):
    from prefect.client.orchestration import get_client

    async with get_client() as c:
        state = (await c.read_flow_run(run_id)).state
        return f"{state.type.value} ({state.name})"


async def make_deployment(workdir: Path):
    from prefect.client.orchestration import get_client

    async with get_client() as c:
        flow_id = await c.create_flow_from_name("timed")
        return await c.create_deployment(
            flow_id=flow_id,
            name=f"startup-{uuid.uuid4().hex[:8]}",
            entrypoint="flow.py:timed",
            path=str(workdir),
        )


def launch(workdir: Path, stamps: Path, run_id, group: Path):
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(workdir / "site"),
        SPOTPLAN_STAMPS=str(stamps),
        PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR="reschedule",
        PREFECT__FLOW_RUN_ID=str(run_id),
    )

    def into_group():
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    prefect = Path(sys.executable).with_name("prefect")
    start = time.time()
    p = subprocess.Popen(
        [str(prefect), "flow-run", "execute"],
        cwd=workdir,
        env=env,
        preexec_fn=into_group,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return start, p


def read(stamps: Path):
    out = {}
    if stamps.exists():
        for line in stamps.read_text().splitlines():
            kind, pid, t, *rest = line.split()
            out.setdefault(kind, (int(pid), float(t), rest))
    return out


def once(workdir, dep, group, n):
    stamps = workdir / f"stamps-{n}"
    run_id = asyncio.run(new_run(dep))
    start, p = launch(workdir, stamps, run_id, group)
    _, err = p.communicate(timeout=600)
    s = read(stamps)
    if p.returncode != 0 or "handler" not in s or "flow" not in s:
        raise SystemExit(f"run {n} failed ({p.returncode}): {err.decode()[-2000:]}")
    pid, handler, caller = s["handler"]
    if pid != p.pid or not caller[0].endswith("prefect/cli/flow_run.py"):
        raise SystemExit(f"the first SIGTERM handler is not the supervisor's: {s}")
    return handler - start, s["flow"][1] - handler


def sigterm_check(workdir, dep, group):
    """A SIGTERM before the handler: the process dies by it and the run is not rescheduled.
    Right after the handler: exit 0 and the run is Scheduled (AwaitingRetry). The run starts
    Pending, as the worker leaves it; a Pending run whose task stopped non-zero is what
    prefect-aws's observer marks Crashed."""
    results = []
    for after_handler in (False, True):
        stamps = workdir / f"stamps-sig-{group and group.name}-{after_handler}"
        run_id = asyncio.run(new_run(dep))
        _, p = launch(workdir, stamps, run_id, group)
        if after_handler:
            while "handler" not in read(stamps):
                time.sleep(0.005)
        else:
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=600)
        results.append((after_handler, p.returncode, asyncio.run(run_state(run_id))))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpus", type=float, nargs="+", default=[0.25, 2.0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--check", action="store_true", help="one run, no quota, JSON out")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="spotplan-startup-") as d:
        workdir = Path(d)
        (workdir / "flow.py").write_text(FLOW)
        (workdir / "site").mkdir()
        (workdir / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        dep = asyncio.run(make_deployment(workdir))
        import prefect

        if a.check:
            unprotected, loading = once(workdir, dep, None, "check")
            sigterm = [
                {"after_handler": after, "exit": code, "state": state}
                for after, code, state in sigterm_check(workdir, dep, None)
            ]
            print(json.dumps({
                "prefect": prefect.__version__,
                "unprotected_s": unprotected,
                "loading_s": loading,
                "sigterm": sigterm,
            }))
            return

        print(f"prefect {prefect.__version__}, python {sys.version.split()[0]}")
        print(f"{'vCPU':>5}  {'unprotected s (median, range)':>32}  {'loading s (median, range)':>28}")
        for cpus in a.cpus:
            group = cgroup_for(cpus)
            once(workdir, dep, group, f"{cpus}-warm")  # compiles .pyc, as a built image has them
            un, lo = zip(*(once(workdir, dep, group, f"{cpus}-{i}") for i in range(a.repeat)))
            print(
                f"{cpus:>5}  {statistics.median(un):>10.2f} [{min(un):.2f}, {max(un):.2f}]"
                f"{'':>11}{statistics.median(lo):>10.2f} [{min(lo):.2f}, {max(lo):.2f}]"
            )
            for after, code, state in sigterm_check(workdir, dep, group):
                when = "after the handler" if after else "before the handler"
                print(f"       SIGTERM {when}: exit {code}, run {state}")


if __name__ == "__main__":
    main()
