"""Renders a spotplan base job template the way the prefect-aws ECS worker does before it
calls ECS: ECSJobConfiguration.from_template_and_values, prepare_for_flow_run, then the
worker's own _prepare_task_definition and _prepare_task_run_request (which checks the
network configuration against EC2: point AWS_ENDPOINT_URL at moto). Prints JSON:
{"task_definition": ..., "run_task": ..., "env": ...}.

Usage: python render_ecs_job.py base-job-template.json [job-variables.json]
"""

import asyncio
import json
import sys
import uuid

from prefect.client.schemas.objects import FlowRun
from prefect_aws.workers.ecs_worker import ECSJobConfiguration, ECSWorker


async def main() -> None:
    template = json.load(open(sys.argv[1]))
    values = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else {}
    cfg = await ECSJobConfiguration.from_template_and_values(template, values)
    flow_run = FlowRun(id=uuid.uuid4(), flow_id=uuid.uuid4(), name="spotplan-check")
    # the worker's environment (PREFECT_API_KEY among it) goes into the job's env here
    cfg.prepare_for_flow_run(flow_run)
    worker = ECSWorker(work_pool_name="spotplan-check")
    region = cfg.aws_credentials.region_name or "us-east-1"
    task_definition = worker._prepare_task_definition(cfg, region, flow_run)
    arn = f"arn:aws:ecs:{region}:111122223333:task-definition/spotplan-check:1"
    run_task = worker._prepare_task_run_request(cfg, task_definition, arn, True)
    print(json.dumps({"task_definition": task_definition, "run_task": run_task, "env": cfg.env}, default=str))


asyncio.run(main())
