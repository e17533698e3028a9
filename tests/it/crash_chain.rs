//! The crash chain end to end on the real parts (`.ci/run` starts moto and the Prefect 3.9.1
//! server and installs prefect-aws 0.7.12): `apply` makes the work pool, the crash-detection
//! feed (EventBridge rule → SQS queue) and the fallback automations; a real prefect-aws ECS
//! worker submits a flow run to ECS (moto); an "ECS Task State Change" event of a Spot
//! interruption (STOPPED, exit code 143), put through EventBridge, reaches the queue by the
//! rule; the worker's own observer marks the run Crashed; Prefect's trigger reruns it, with its
//! parameters, on FARGATE; the worker submits the rerun; the rerun's task stops non-zero too,
//! the observer marks it Crashed, the guard marks it Failed, and no third run starts.
//!
//! Two stand-ins, both where AWS itself acts: real ECS emits the task state events (moto
//! emits none, and accepts an `aws.ecs` PutEvents, which AWS refuses from callers); and moto
//! answers HTTP 500 to RunTask for a task definition whose memory is set at task level only
//! (valid on Fargate), so the deployment names a task definition with container-level memory
//! (`task_definition_arn`), registered here.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::coexist::python;
use crate::common::own_strategy_and_automation;
use crate::moto::{case, http, moto, network, server, spotplan, start_worker, text};

/// Puts a STOPPED "ECS Task State Change" event for flow run `run`'s task through EventBridge:
/// the task is found by the tag prefect-aws puts on it. Returns the task's ARN.
fn stop_event(url: &str, region: &str, cluster: &str, run: &str, code: &str, exit: i32) -> String {
    python(
        url,
        region,
        &format!(
            r#"
import boto3, json
ecs, ev = boto3.client("ecs"), boto3.client("events")
arns = ecs.list_tasks(cluster="{cluster}")["taskArns"]
tasks = ecs.describe_tasks(cluster="{cluster}", tasks=arns, include=["TAGS"])["tasks"] if arns else []
task = next(t for t in tasks if {{x["key"]: x["value"] for x in t.get("tags", [])}}.get("prefect.io/flow-run-id") == "{run}")
detail = {{"clusterArn": task["clusterArn"], "taskArn": task["taskArn"], "lastStatus": "STOPPED",
  "desiredStatus": "STOPPED", "stopCode": "{code}", "stoppedReason": "injected by the test",
  "containers": [{{"name": "prefect", "lastStatus": "STOPPED", "exitCode": {exit}}}]}}
out = ev.put_events(Entries=[{{"Source": "aws.ecs", "DetailType": "ECS Task State Change",
  "Detail": json.dumps(detail), "Resources": [task["taskArn"]]}}])
assert out["FailedEntryCount"] == 0, out
print(task["taskArn"])
"#
        ),
    )
    .trim()
    .to_string()
}

#[test]
fn an_interrupted_run_is_rerun_once_on_fargate_with_its_parameters_and_never_again() {
    let (Some(url), Some(prefect), Some(python_bin)) = (
        moto(),
        server("SPOTPLAN_PREFECT_API_URL"),
        server("SPOTPLAN_PREFECT_PYTHON"),
    ) else {
        return;
    };
    let region = "us-east-2";
    let mut c = case("chain");
    let pool = c.cluster.clone();
    let src = own_strategy_and_automation(&std::fs::read_to_string(&c.scenario).unwrap());
    // the flow on the pool's spot strategy (its own FARGATE strategy removed)
    let src = src.replace("\nstrategy = [{ provider = \"FARGATE\", weight = 1 }]", "");
    std::fs::write(&c.scenario, src).unwrap();
    c.prefect(&prefect);
    let (subnets, sg) = network(&url, region);
    let a = spotplan(&c, &url, region, &["apply", "--yes"], (&subnets, &sg));
    assert!(a.status.success(), "{}", text(&a));

    // moto's RunTask needs container-level memory (module note)
    let td = python(
        &url,
        region,
        &format!(
            r#"
import boto3
print(boto3.client("ecs").register_task_definition(family="flow-{pool}", networkMode="awsvpc",
  requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
  executionRoleArn="arn:aws:iam::111122223333:role/flow-execution",
  containerDefinitions=[{{"name": "prefect", "image": "prefecthq/prefect:3-latest", "memory": 512}}]
)["taskDefinition"]["taskDefinitionArn"])
"#
        ),
    );
    let flow = http(
        "POST",
        &format!("{prefect}/flows/"),
        Some(serde_json::json!({"name": format!("flow-{pool}")})),
    );
    let dep = http(
        "POST",
        &format!("{prefect}/deployments/"),
        Some(serde_json::json!({
            "name": "prod", "flow_id": flow["id"], "work_pool_name": pool,
            "job_variables": {"task_definition_arn": td.trim()},
            "parameter_openapi_schema": {"type": "object", "properties": {
                "day": {"type": "string", "format": "date"}, "n": {"type": "integer"}}},
            "enforce_parameter_schema": true
        })),
    );
    let dep_id = dep["id"].as_str().unwrap().to_string();
    let parameters = serde_json::json!({"day": "2026-03-01", "n": 3});
    let run = http(
        "POST",
        &format!("{prefect}/deployments/{dep_id}/create_flow_run"),
        Some(serde_json::json!({"parameters": parameters})),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();

    // the real worker and its observer, AWS calls through a recording proxy
    let upstream = url.clone();
    let proxy = crate::stub::Stub::start(move |req, _| crate::stub::forward(&upstream, req));
    let bin = std::path::Path::new(&python_bin)
        .parent()
        .unwrap()
        .to_path_buf();
    let home = std::env::temp_dir().join(format!("spotplan-worker-{pool}"));
    let worker = start_worker(&bin, &prefect, &pool, &proxy.url, region, false);
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut worker = Kill(worker);
    let runs = || -> Vec<serde_json::Value> {
        http(
            "POST",
            &format!("{prefect}/flow_runs/filter"),
            Some(serde_json::json!({"deployments": {"id": {"any_": [dep_id]}}})),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
    };
    let state = |id: &str| {
        http("GET", &format!("{prefect}/flow_runs/{id}"), None)["state"]["type"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let run_tasks = || {
        proxy
            .requests()
            .into_iter()
            .filter(|r| r.operation() == "RunTask")
            .map(|r| r.json())
            .collect::<Vec<_>>()
    };
    let mut wait = |what: &str, secs: u64, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done() {
            if Instant::now() > deadline || worker.0.try_wait().unwrap().is_some() {
                let _ = worker.0.kill();
                let out = std::mem::replace(&mut worker.0, Command::new("true").spawn().unwrap())
                    .wait_with_output()
                    .unwrap();
                panic!(
                    "{what} within {secs} s; runs {:?}; AWS calls {:?}\nworker:\n{}\n{}",
                    runs(),
                    proxy.operations(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    };

    // the worker submits the run on the pool's spot strategy
    wait("the worker submits the run", 120, &|| {
        !run_tasks().is_empty()
    });
    assert_eq!(
        run_tasks()[0]["capacityProviderStrategy"][0]["capacityProvider"],
        "FARGATE_SPOT"
    );
    // the cost-allocation tags: the deployment and the pool (Prefect's), spotplan's version
    let tags = &run_tasks()[0]["tags"];
    for (key, value) in [
        ("prefect.io/deployment-name", "prod"),
        ("prefect.io/work-pool-name", pool.as_str()),
        ("spotplan:version", env!("CARGO_PKG_VERSION")),
    ] {
        assert!(
            tags.as_array()
                .is_some_and(|t| t.iter().any(|x| x["key"] == key && x["value"] == value)),
            "{key}={value} not in {tags}"
        );
    }
    // a Spot interruption: the observer marks the run Crashed
    stop_event(&url, region, &pool, &run, "SpotInterruption", 143);
    wait("the observer marks the run Crashed", 60, &|| {
        state(&run) == "CRASHED"
    });
    // by prefect-aws's observer, from the event's exit code (not the worker's submission)
    let message = http("GET", &format!("{prefect}/flow_runs/{run}"), None)["state"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("exit code"), "{message}");
    // 30–35 s later the fallback reruns it, with its parameters, on FARGATE
    wait("a rerun", 90, &|| runs().len() == 2);
    let rerun = runs()
        .into_iter()
        .find(|r| r["id"] != run.as_str())
        .unwrap();
    assert_eq!(rerun["created_by"]["type"], "AUTOMATION", "{rerun}");
    assert_eq!(rerun["parameters"], parameters, "{rerun}");
    let rerun_id = rerun["id"].as_str().unwrap().to_string();
    wait("the worker submits the rerun", 60, &|| {
        run_tasks().len() == 2
    });
    assert_eq!(
        run_tasks()[1]["capacityProviderStrategy"],
        serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}])
    );
    // the rerun's task fails too (not spot): Crashed, then Failed by the guard, never rerun
    stop_event(
        &url,
        region,
        &pool,
        &rerun_id,
        "EssentialContainerExited",
        1,
    );
    wait("the guard marks the rerun Failed", 60, &|| {
        state(&rerun_id) == "FAILED"
    });
    std::thread::sleep(Duration::from_secs(45));
    assert_eq!(runs().len(), 2, "a third run started: {:?}", runs());
    assert_eq!(run_tasks().len(), 2);
    let _ = std::fs::remove_dir_all(&home);
}
