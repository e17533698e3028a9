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

/// Puts a STOPPED "ECS Task State Change" event for task `task` through EventBridge, with
/// `code` as its stop code and `exit` as the prefect container's exit code.
fn stop_event(url: &str, region: &str, cluster: &str, task: &str, code: &str, exit: i32) {
    python(
        url,
        region,
        &format!(
            r#"
import boto3, json
ecs, ev = boto3.client("ecs"), boto3.client("events")
task = ecs.describe_tasks(cluster="{cluster}", tasks=["{task}"])["tasks"][0]
detail = {{"clusterArn": task["clusterArn"], "taskArn": task["taskArn"], "lastStatus": "STOPPED",
  "desiredStatus": "STOPPED", "stopCode": "{code}", "stoppedReason": "injected by the test",
  "containers": [{{"name": "prefect", "lastStatus": "STOPPED", "exitCode": {exit}}}]}}
out = ev.put_events(Entries=[{{"Source": "aws.ecs", "DetailType": "ECS Task State Change",
  "Detail": json.dumps(detail), "Resources": [task["taskArn"]]}}])
assert out["FailedEntryCount"] == 0, out
"#
        ),
    );
}

/// A real prefect-aws worker (its AWS calls through a recording proxy to moto) and the real
/// Prefect server, after `apply`: a deployment of the pool with one flow run, submitted.
struct Chain {
    url: String,
    region: &'static str,
    prefect: String,
    pool: String,
    dep_id: String,
    run: String,
    parameters: serde_json::Value,
    proxy: crate::stub::Stub,
    worker: std::process::Child,
    home: std::path::PathBuf,
    _case: crate::moto::Case,
}

impl Drop for Chain {
    fn drop(&mut self) {
        let _ = self.worker.kill();
        let _ = self.worker.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

impl Chain {
    /// `None` when the servers are not there (`.ci/run` starts them).
    fn start(name: &str) -> Option<Chain> {
        let (Some(url), Some(prefect), Some(python_bin)) = (
            moto(),
            server("SPOTPLAN_PREFECT_API_URL"),
            server("SPOTPLAN_PREFECT_PYTHON"),
        ) else {
            return None;
        };
        let region = "us-east-2";
        let mut c = case(name);
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
        let mut chain = Chain {
            url,
            region,
            prefect,
            pool,
            dep_id,
            run,
            parameters,
            proxy,
            worker,
            home,
            _case: c,
        };
        // the worker submits the run on the pool's spot strategy
        chain.wait("the worker submits the run", 120, &|ch| {
            !ch.run_tasks().is_empty()
        });
        Some(chain)
    }

    fn runs(&self) -> Vec<serde_json::Value> {
        http(
            "POST",
            &format!("{}/flow_runs/filter", self.prefect),
            Some(serde_json::json!({"deployments": {"id": {"any_": [self.dep_id]}}})),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
    }

    fn state(&self, id: &str) -> String {
        http("GET", &format!("{}/flow_runs/{id}", self.prefect), None)["state"]["type"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn run_tasks(&self) -> Vec<serde_json::Value> {
        self.proxy
            .requests()
            .into_iter()
            .filter(|r| r.operation() == "RunTask")
            .map(|r| r.json())
            .collect()
    }

    /// Waits up to `secs` for `done`; on time out (or a worker that died), fails with what the
    /// worker said.
    fn wait(&mut self, what: &str, secs: u64, done: &dyn Fn(&Chain) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(self) {
            if Instant::now() > deadline || self.worker.try_wait().unwrap().is_some() {
                let _ = self.worker.kill();
                let out =
                    std::mem::replace(&mut self.worker, Command::new("true").spawn().unwrap())
                        .wait_with_output()
                        .unwrap();
                panic!(
                    "{what} within {secs} s; runs {:?}; AWS calls {:?}\nworker:\n{}\n{}",
                    self.runs(),
                    self.proxy.operations(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The ECS tasks of flow run `run`, oldest first (by the tag prefect-aws puts on them).
    fn tasks_of(&self, run: &str) -> Vec<String> {
        python(
            &self.url,
            self.region,
            &format!(
                r#"
import boto3
ecs = boto3.client("ecs")
arns = ecs.list_tasks(cluster="{cluster}")["taskArns"]
tasks = ecs.describe_tasks(cluster="{cluster}", tasks=arns, include=["TAGS"])["tasks"] if arns else []
mine = [t for t in tasks if {{x["key"]: x["value"] for x in t.get("tags", [])}}.get("prefect.io/flow-run-id") == "{run}"]
# (moto gives no createdAt; it lists tasks in the order it made them, which the sort keeps)
for t in sorted(mine, key=lambda t: str(t.get("createdAt", ""))):
    print(t["taskArn"])
"#,
                cluster = self.pool
            ),
        )
        .lines()
        .map(str::to_string)
        .collect()
    }
}

#[test]
fn an_interrupted_run_is_rerun_once_on_fargate_with_its_parameters_and_never_again() {
    let Some(mut ch) = Chain::start("chain") else {
        return;
    };
    let (url, region, pool, run) = (ch.url.clone(), ch.region, ch.pool.clone(), ch.run.clone());
    assert_eq!(
        ch.run_tasks()[0]["capacityProviderStrategy"][0]["capacityProvider"],
        "FARGATE_SPOT"
    );
    // the cost-allocation tags: the deployment and the pool (Prefect's), spotplan's version
    let tags = &ch.run_tasks()[0]["tags"];
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
    let task = ch.tasks_of(&run)[0].clone();
    stop_event(&url, region, &pool, &task, "SpotInterruption", 143);
    ch.wait("the observer marks the run Crashed", 60, &|c| {
        c.state(&c.run) == "CRASHED"
    });
    // by prefect-aws's observer, from the event's exit code (not the worker's submission)
    let message = http("GET", &format!("{}/flow_runs/{run}", ch.prefect), None)["state"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("exit code"), "{message}");
    // 30–35 s later the fallback reruns it, with its parameters, on FARGATE
    ch.wait("a rerun", 90, &|c| c.runs().len() == 2);
    let rerun = ch
        .runs()
        .into_iter()
        .find(|r| r["id"] != run.as_str())
        .unwrap();
    assert_eq!(rerun["created_by"]["type"], "AUTOMATION", "{rerun}");
    assert_eq!(rerun["parameters"], ch.parameters, "{rerun}");
    let rerun_id = rerun["id"].as_str().unwrap().to_string();
    ch.wait("the worker submits the rerun", 60, &|c| {
        c.run_tasks().len() == 2
    });
    assert_eq!(
        ch.run_tasks()[1]["capacityProviderStrategy"],
        serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}])
    );
    // the rerun's task fails too (not spot): Crashed, then Failed by the guard, never rerun
    let task = ch.tasks_of(&rerun_id)[0].clone();
    stop_event(&url, region, &pool, &task, "EssentialContainerExited", 1);
    let id = rerun_id.clone();
    ch.wait("the guard marks the rerun Failed", 60, &move |c| {
        c.state(&id) == "FAILED"
    });
    std::thread::sleep(Duration::from_secs(45));
    assert_eq!(ch.runs().len(), 2, "a third run started: {:?}", ch.runs());
    assert_eq!(ch.run_tasks().len(), 2);
}

/// Issue 20 item 7, repeated on the real worker and server: a run rescheduled after a Spot
/// interruption (AwaitingRetry, as Prefect's supervisor proposes it) is submitted again; the
/// old task's STOPPED event arrives late. With exit code 0 (the engine exits 0 after a
/// reschedule) prefect-aws's observer leaves the run alone; with a non-zero code (a task
/// killed at stop_timeout before the engine exits) it marks the live run Crashed, and the
/// fallback automation then starts a second run of the same work: the duplicate.
#[test]
fn a_late_stop_event_of_a_rescheduled_runs_old_task_crashes_it_only_when_non_zero() {
    let Some(mut ch) = Chain::start("late") else {
        return;
    };
    let (url, region, pool, run) = (ch.url.clone(), ch.region, ch.pool.clone(), ch.run.clone());
    let old = ch.tasks_of(&run)[0].clone();
    // the supervisor's reschedule: AwaitingRetry; the worker submits the run again
    http(
        "POST",
        &format!("{}/flow_runs/{run}/set_state", ch.prefect),
        Some(
            serde_json::json!({"state": {"type": "SCHEDULED", "name": "AwaitingRetry"}, "force": true}),
        ),
    );
    ch.wait("the worker submits the rescheduled run", 60, &|c| {
        c.run_tasks().len() == 2
    });
    ch.wait("the run's second task", 30, &|c| {
        c.tasks_of(&c.run).len() == 2
    });
    // the old task's late STOPPED event, exit 0: nothing happens to the run
    stop_event(&url, region, &pool, &old, "SpotInterruption", 0);
    std::thread::sleep(Duration::from_secs(20));
    assert_ne!(
        ch.state(&run),
        "CRASHED",
        "exit 0 crashed the rescheduled run"
    );
    assert_eq!(ch.runs().len(), 1);
    // the same late event with exit 143: the live run is marked Crashed and rerun
    stop_event(&url, region, &pool, &old, "SpotInterruption", 143);
    ch.wait("the observer marks the rescheduled run Crashed", 60, &|c| {
        c.state(&c.run) == "CRASHED"
    });
    ch.wait("the fallback's duplicate run", 90, &|c| c.runs().len() == 2);
}
