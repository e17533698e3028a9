//! plan and apply against the in-memory ECS account: create from scratch, weights changed,
//! an extra ASG provider kept, a no-op apply with zero writes, failure half-way then
//! convergence, transient errors retried; the plan's text pinned.

use spotplan::deploy::api::ApiError;
use spotplan::deploy::apply::apply;
use spotplan::deploy::desired::{Choice, Desired, desired};
use spotplan::deploy::diff::Action;
use spotplan::deploy::fake::FakeEcs;
use spotplan::deploy::inputs::inputs;
use spotplan::deploy::plan::plan;
use spotplan::deploy::state::{ClusterState, Item};

use crate::common::*;

fn choice(s: &spotplan::scenario::Scenario) -> Choice {
    Choice::of_scenario(s, "test".into())
}

fn desired_of(src: &str) -> Desired {
    let s = scenario(src);
    let d = inputs(&s.deploy_section, &s.region, &s.cluster.name, &s.network).unwrap();
    let c = choice(&s);
    desired(&s, &d, &c)
}

fn emit_scenario() -> String {
    std::fs::read_to_string(root().join("fixtures/emit-scenario.toml")).unwrap()
}

fn observe(api: &mut FakeEcs, d: &Desired) -> spotplan::deploy::state::Observed {
    spotplan::deploy::api::observe(api, None, d).unwrap()
}

/// The crash-detection feed's lines of a plan (after the cluster's).
const FEED: [&str; 3] = [
    "queue spot-pool-ecs-events-dlq",
    "queue spot-pool-ecs-events",
    "event rule spot-pool-ecs-task-events",
];

fn feed(sign: char) -> String {
    FEED.iter().map(|l| format!("{sign} {l}\n")).collect()
}

#[test]
fn create_from_scratch_then_nothing_to_do() {
    let d = desired_of(&emit_scenario());
    let mut api = FakeEcs::default();
    let p = plan(&d, &observe(&mut api, &d));
    assert_eq!(
        p.to_string(),
        format!(
            "+ cluster data-platform\n    capacity providers: — → FARGATE, FARGATE_SPOT, asg-gpu\n    default strategy: — → FARGATE_SPOT w4, FARGATE w1 b1\n{}+ task definition data-platform-prefect-worker\n+ service prefect-worker\nnot checked: the Prefect side (work pool spot-pool, its deployments' job variables): pass --prefect-api-url\n6 change(s) to apply",
            feed('+')
        )
    );
    let r = apply(&p, &mut api, None, &mut |_| {});
    assert!(r.ok(), "{r}");
    assert_eq!(
        api.writes,
        [
            "CreateCluster",
            "CreateQueue",
            "CreateQueue",
            "PutRule",
            "RegisterTaskDefinition",
            "CreateService"
        ]
    );
    assert_eq!(
        api.services[&("data-platform".to_string(), "prefect-worker".to_string())].task_definition,
        "data-platform-prefect-worker:1"
    );
    // a second apply makes zero write calls
    let p2 = plan(&d, &observe(&mut api, &d));
    assert!(!p2.has_changes(), "{p2}");
    assert_eq!(
        p2.to_string(),
        format!(
            "= cluster data-platform\n{}= task definition data-platform-prefect-worker:1\n= service prefect-worker\nnot checked: the Prefect side (work pool spot-pool, its deployments' job variables): pass --prefect-api-url\nno changes",
            feed('=')
        )
    );
    let writes = api.writes.len();
    let r = apply(&p2, &mut api, None, &mut |_| {});
    assert_eq!(r.to_string(), "nothing to do");
    assert_eq!(
        api.writes.len(),
        writes,
        "a no-op apply makes zero write calls"
    );
}

#[test]
fn changed_weights_update_the_cluster_and_keep_foreign_providers() {
    let d = desired_of(&emit_scenario());
    let mut api = FakeEcs::default();
    apply(
        &plan(&d, &observe(&mut api, &d)),
        &mut api,
        None,
        &mut |_| {},
    );
    // someone else's ASG provider appears, and the strategy changes to 2:1
    api.clusters
        .get_mut("data-platform")
        .unwrap()
        .capacity_providers
        .push("team-b-asg".into());
    api.in_use.push("team-b-asg".into());
    let d2 = desired_of(&emit_scenario().replace("weight = 4 }", "weight = 2 }"));
    let p = plan(&d2, &observe(&mut api, &d2));
    assert_eq!(
        p.to_string(),
        format!(
            "~ cluster data-platform\n    default strategy: FARGATE_SPOT w4, FARGATE w1 b1 → FARGATE_SPOT w2, FARGATE w1 b1\n    = capacity provider team-b-asg (not spotplan's: kept)\n{}= task definition data-platform-prefect-worker:1\n= service prefect-worker\nnot checked: the Prefect side (work pool spot-pool, its deployments' job variables): pass --prefect-api-url\n1 change(s) to apply",
            feed('=')
        )
    );
    let before = api.writes.len();
    let r = apply(&p, &mut api, None, &mut |_| {});
    assert!(r.ok(), "{r}");
    assert_eq!(&api.writes[before..], ["PutClusterCapacityProviders"]);
    let c = &api.clusters["data-platform"];
    assert!(
        c.capacity_providers.contains(&"team-b-asg".to_string()),
        "the foreign provider is listed again and kept"
    );
    assert_eq!(
        c.default_strategy[0],
        Item {
            provider: "FARGATE_SPOT".into(),
            weight: 2,
            base: 0
        }
    );
}

#[test]
fn a_changed_worker_registers_a_new_revision_and_forces_a_deployment() {
    let d = desired_of(&emit_scenario());
    let mut api = FakeEcs::default();
    apply(
        &plan(&d, &observe(&mut api, &d)),
        &mut api,
        None,
        &mut |_| {},
    );
    let d2 = desired_of(
        &emit_scenario().replace("cpu = 512\nmemory = 1024", "cpu = 1024\nmemory = 2048"),
    );
    let p = plan(&d2, &observe(&mut api, &d2));
    let action = |r: &str| {
        p.ecs
            .steps
            .iter()
            .find(|s| s.step.resource == r)
            .unwrap()
            .step
            .action
    };
    assert_eq!(action("task definition"), Action::Update);
    assert_eq!(action("service"), Action::Update);
    assert!(
        p.to_string()
            .contains("    cpu: 512 → 1024\n    memory: 1024 → 2048\n"),
        "{p}"
    );
    let r = apply(&p, &mut api, None, &mut |_| {});
    assert!(r.ok());
    assert_eq!(
        api.task_definitions["data-platform-prefect-worker"].len(),
        2
    );
    assert_eq!(api.forced_deployments, 1);
    assert!(!plan(&d2, &observe(&mut api, &d2)).has_changes());
}

#[test]
fn a_failure_half_way_stops_and_the_next_apply_converges() {
    let d = desired_of(&emit_scenario());
    let mut api = FakeEcs::default();
    api.fail.push((
        "RegisterTaskDefinition".into(),
        ApiError::AccessDenied {
            permission: "ecs:RegisterTaskDefinition".into(),
            message: "not authorized".into(),
        },
    ));
    let r = apply(
        &plan(&d, &observe(&mut api, &d)),
        &mut api,
        None,
        &mut |_| {},
    );
    assert!(!r.ok());
    assert_eq!(
        r.to_string(),
        "done: CreateCluster\ndone: CreateQueue\ndone: CreateQueue\ndone: PutRule\nFAILED: RegisterTaskDefinition: access denied: the credentials need `ecs:RegisterTaskDefinition` (not authorized)\nnot done: CreateService\nrun `spotplan apply` again once the cause is fixed: it plans from what the account holds now"
    );
    let p = plan(&d, &observe(&mut api, &d));
    assert_eq!(
        p.ecs
            .steps
            .iter()
            .map(|s| s.step.action)
            .collect::<Vec<_>>(),
        [
            Action::Unchanged,
            Action::Unchanged,
            Action::Unchanged,
            Action::Unchanged,
            Action::Create,
            Action::Create
        ]
    );
    assert!(apply(&p, &mut api, None, &mut |_| {}).ok());
    assert!(!plan(&d, &observe(&mut api, &d)).has_changes());
}

#[test]
fn transient_errors_are_retried_with_pauses() {
    let d = desired_of(&emit_scenario());
    let mut api = FakeEcs::default();
    api.clusters.insert(
        "data-platform".into(),
        ClusterState {
            name: "data-platform".into(),
            capacity_providers: vec!["FARGATE".into()],
            default_strategy: vec![],
        },
    );
    for _ in 0..2 {
        api.fail.push((
            "PutClusterCapacityProviders".into(),
            ApiError::Transient("UpdateInProgressException".into()),
        ));
    }
    let mut pauses = Vec::new();
    let r = apply(
        &plan(&d, &observe(&mut api, &d)),
        &mut api,
        None,
        &mut |k| pauses.push(k),
    );
    assert!(r.ok(), "{r}");
    assert_eq!(pauses, [1, 2]);
    // endless: gives up after the attempts and says what was not done
    for _ in 0..10 {
        api.fail.push((
            "UpdateService".into(),
            ApiError::Transient("ThrottlingException".into()),
        ));
    }
    let d2 = desired_of(&emit_scenario().replace("count = 2", "count = 3"));
    let r = apply(
        &plan(&d2, &observe(&mut api, &d2)),
        &mut api,
        None,
        &mut |_| {},
    );
    assert_eq!(r.failed.as_ref().unwrap().0, "UpdateService");
}

fn pool_of(src: &str) -> spotplan::deploy::workpool::PoolState {
    let s = scenario(src);
    let d = inputs(&s.deploy_section, &s.region, &s.cluster.name, &s.network).unwrap();
    let c = choice(&s);
    spotplan::deploy::desired::work_pool(&s, &d, &c)
}

#[test]
fn work_pool_diff_names_the_strategy_and_refuses_another_type() {
    use spotplan::deploy::workpool::{PoolWrite, plan_pool};
    let want = pool_of(&emit_scenario());
    let create = plan_pool(&want, None);
    assert!(matches!(create.write, Some(PoolWrite::Create { .. })));
    assert_eq!(
        create.step.to_string(),
        "+ work pool spot-pool\n    capacity provider strategy: — → FARGATE_SPOT w4, FARGATE w1 b1\n    concurrency limit: — → unlimited\n"
    );
    assert_eq!(plan_pool(&want, Some(&want)).step.action, Action::Unchanged);
    assert!(plan_pool(&want, Some(&want)).write.is_none());

    // a pool of the same name made by hand on the process worker: shown, never overwritten
    let mut other = want.clone();
    other.kind = "process".into();
    let p = plan_pool(&want, Some(&other));
    assert_eq!(p.step.action, Action::Update);
    assert!(p.write.is_none(), "{p:?}");

    // an edit outside the variables' defaults still shows, as the job template
    let mut edited = want.clone();
    edited.base_job_template["job_configuration"]["stream_output"] = serde_json::json!(false);
    let p = plan_pool(&want, Some(&edited));
    assert_eq!(p.step.changes[0].field, "job template");
    assert!(matches!(p.write, Some(PoolWrite::Update { .. })));
}

#[test]
fn prefect_api_errors_name_the_fix_and_never_the_key() {
    use std::io::{BufReader, Write};
    const KEY: &str = "pnu_unit0test0key0that0must0not0leak";
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let stub = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        let req = crate::stub::read_request(&mut BufReader::new(s)).unwrap();
        let body = r#"{"detail":"Unauthorized"}"#;
        write!(
            w,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        req
    });
    use spotplan::deploy::api::PrefectApi;
    let err = spotplan::prefect_api::PrefectHttp::new(&url, Some(KEY.into()))
        .pool("spot pool")
        .unwrap_err()
        .to_string();
    let req = stub.join().unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/api/work_pools/spot%20pool");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(err.contains("set PREFECT_API_KEY"), "{err}");
    assert!(!err.contains(KEY), "{err}");
}

/// What a busy Prefect answers: a self-hosted server's 503 while SQLite is locked
/// (`prefect/server/api/server.py`), or Prefect Cloud's 429; `Retry-After: 0` keeps the test fast.
fn busy(status: u16) -> crate::stub::Reply {
    crate::stub::Reply {
        status,
        content_type: "application/json".into(),
        body: r#"{"exception_message":"Service Unavailable"}"#.into(),
        headers: vec![("Retry-After".into(), "0".into())],
    }
}

#[test]
fn a_busy_prefect_api_is_retried_as_prefects_client_retries_it() {
    use crate::stub::{Reply, Stub};
    use spotplan::deploy::api::PrefectApi;
    use spotplan::prefect_api::{MAX_RETRIES, PrefectHttp};
    let stub = Stub::start(|_, nth| match nth {
        0 => busy(503),
        1 => busy(429),
        _ => Reply::ok(serde_json::json!({"name": "spot", "type": "ecs"})),
    });
    let api = PrefectHttp::new(&format!("{}/api", stub.url), None);
    let pool = api
        .pool("spot")
        .unwrap()
        .expect("the pool, after two busy answers");
    assert_eq!((pool.name.as_str(), pool.kind.as_str()), ("spot", "ecs"));
    assert_eq!(stub.requests().len(), 3);

    // busy for good: Prefect's client gives up after PREFECT_CLIENT_MAX_RETRIES (5) retries
    let stub = Stub::start(|_, _| busy(503));
    let err = PrefectHttp::new(&format!("{}/api", stub.url), None)
        .pool("spot")
        .unwrap_err()
        .to_string();
    assert_eq!(stub.requests().len(), 1 + MAX_RETRIES as usize);
    assert!(err.contains("HTTP 503 after 6 tries"), "{err}");
    assert!(err.contains("Service Unavailable"), "{err}");

    // a 4xx other than 408/429 is an answer, not a busy server: one try
    let stub = Stub::start(|_, _| Reply {
        status: 422,
        ..busy(422)
    });
    let err = PrefectHttp::new(&format!("{}/api", stub.url), None)
        .pool("spot")
        .unwrap_err()
        .to_string();
    assert_eq!(stub.requests().len(), 1, "{err}");
    assert!(err.contains("HTTP 422:"), "{err}");

    // once the API has answered, a dropped connection is retried; but a create whose try
    // got no answer is not tried again (a second automation would be a duplicate, a second
    // pool a 409): its outcome is unknown, said as such for `apply` to stop on and the next
    // `plan` to read (on a real Prefect server a client timeout during a SQLite lock ends
    // with the create made)
    let stub = Stub::start(|req, nth| match (req.method.as_str(), nth) {
        ("GET", 0) | ("POST", 0) => Reply {
            status: 0,
            ..busy(0)
        },
        ("GET", _) => Reply {
            status: 404,
            ..busy(404)
        },
        _ => Reply {
            status: 409,
            body: r#"{"detail":"A work pool with this name already exists."}"#.into(),
            ..busy(409)
        },
    });
    let api = PrefectHttp::new(&format!("{}/api", stub.url), None);
    let first = api.pool("spot").unwrap_err().to_string();
    assert!(first.starts_with("cannot reach the Prefect API"), "{first}");
    assert_eq!(api.pool("spot").unwrap(), None, "the 404 after a retry");
    let err = api
        .write_pool(&spotplan::deploy::workpool::PoolWrite::Create {
            body: serde_json::json!({"name": "spot", "type": "ecs"}),
        })
        .unwrap_err();
    assert_eq!(stub.methods(), ["GET", "GET", "POST"]);
    assert!(
        matches!(err, spotplan::deploy::api::PrefectError::Unknown(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("got no answer"), "{err}");
    assert!(err.to_string().contains("run plan to see"), "{err}");

    // an idempotent write (PATCH) whose try got no answer is tried again; meeting 409 then
    // says the first try most likely went through
    // (the stub counts requests by path: the GET is the path's first, the PATCH its second)
    let stub = Stub::start(|req, nth| match (req.method.as_str(), nth) {
        ("PATCH", 1) => Reply {
            status: 0,
            ..busy(0)
        },
        ("GET", _) => Reply::ok(serde_json::json!({"name": "spot", "type": "ecs"})),
        _ => Reply {
            status: 409,
            body: r#"{"detail":"conflict"}"#.into(),
            ..busy(409)
        },
    });
    let api = PrefectHttp::new(&format!("{}/api", stub.url), None);
    api.pool("spot").unwrap();
    let err = api
        .write_pool(&spotplan::deploy::workpool::PoolWrite::Update {
            name: "spot".into(),
            body: serde_json::json!({"concurrency_limit": 3}),
        })
        .unwrap_err();
    assert_eq!(stub.methods(), ["GET", "PATCH", "PATCH"], "{err:?}");
    assert!(
        matches!(err, spotplan::deploy::api::PrefectError::Unknown(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("HTTP 409 after 2 tries"), "{err}");
    assert!(
        err.to_string()
            .contains("the first try most likely went through"),
        "{err}"
    );

    // nothing listening: a wrong URL fails at once, without retries
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = PrefectHttp::new(&format!("http://127.0.0.1:{port}/api"), None)
        .pool("spot")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("cannot reach the Prefect API"), "{err}");
    assert!(!err.contains("tries"), "{err}");
}

#[test]
fn a_service_running_another_task_definition_is_a_change_and_strategy_order_is_not() {
    let d = desired_of(&emit_scenario());
    let mut api = FakeEcs::default();
    let p = plan(&d, &observe(&mut api, &d));
    assert!(apply(&p, &mut api, None, &mut |_| {}).ok());
    // someone runs `aws ecs update-service --task-definition other:1`
    let key = ("data-platform".to_string(), "prefect-worker".to_string());
    api.services.get_mut(&key).unwrap().task_definition =
        "arn:aws:ecs:eu-west-1:111122223333:task-definition/other:1".into();
    let p = plan(&d, &observe(&mut api, &d));
    assert!(p.has_changes(), "{p}");
    assert!(
        p.to_string()
            .contains("~ service prefect-worker\n    task definition: other:1 → data-platform-prefect-worker:1"),
        "{p}"
    );
    assert!(apply(&p, &mut api, None, &mut |_| {}).ok());
    assert!(!plan(&d, &observe(&mut api, &d)).has_changes());
    // the same items in another order place tasks the same way: no change
    let c = api.clusters.get_mut("data-platform").unwrap();
    assert_eq!(c.default_strategy.len(), 2);
    c.default_strategy.reverse();
    let p = plan(&d, &observe(&mut api, &d));
    assert!(!p.has_changes(), "{p}");
}

#[test]
fn a_provider_attached_after_the_plan_is_never_detached() {
    let d = desired_of(&emit_scenario());
    let mut api = FakeEcs::default();
    assert!(
        apply(
            &plan(&d, &observe(&mut api, &d)),
            &mut api,
            None,
            &mut |_| {}
        )
        .ok()
    );
    // the weights change, and while the operator reads the plan someone attaches a provider
    let mut d2 = d.clone();
    d2.cluster.default_strategy.reverse();
    d2.cluster.default_strategy[0].weight += 1;
    let p = plan(&d2, &observe(&mut api, &d2));
    assert!(p.has_changes());
    api.attach_before_put = Some("asg-new".into());
    let r = apply(&p, &mut api, None, &mut |_| {});
    assert!(!r.ok());
    assert!(r.to_string().contains("asg-new attached since"), "{r}");
    assert!(
        api.clusters["data-platform"]
            .capacity_providers
            .contains(&"asg-new".to_string()),
        "the provider attached after the plan is still there"
    );
    assert!(
        !api.writes
            .contains(&"PutClusterCapacityProviders".to_string())
    );
}

/// The emit scenario with the fallback automation, as desired state.
fn desired_with_automation() -> Desired {
    let s = scenario(&emit_scenario());
    let d = inputs(&s.deploy_section, &s.region, &s.cluster.name, &s.network).unwrap();
    let c = Choice {
        retry: spotplan::scenario::retry::parse_spec("prefect3[fallback=automation]").unwrap(),
        ..choice(&s)
    };
    desired(&s, &d, &c)
}

#[test]
fn one_plan_of_ecs_and_prefect_is_what_apply_executes_and_then_nothing_is_left() {
    use spotplan::deploy::api::observe as read;
    use spotplan::deploy::fake::FakePrefect;
    let d = desired_with_automation();
    let (mut ecs, prefect) = (FakeEcs::default(), FakePrefect::default());
    let p = plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap());
    let text = p.to_string();
    assert!(text.contains("+ work pool spot-pool\n"), "{text}");
    assert!(text.contains("+ automation "), "{text}");
    assert!(text.ends_with("9 change(s) to apply"), "{text}");
    // the plan carries the observation it was computed from, and serialises with it
    let j = serde_json::to_value(&p).unwrap();
    assert!(j["observed"]["prefect"]["pool"].is_null(), "{j}");
    assert_eq!(j["work_pool"]["step"]["action"], "create");
    let r = apply(&p, &mut ecs, Some(&prefect), &mut |_| {});
    assert!(r.ok(), "{r}");
    assert_eq!(r.done.len(), 9, "{r}");
    assert_eq!(
        prefect.state.borrow().writes,
        ["create pool", "create automation", "create automation"]
    );
    // converged: the next plan has no write, and applying it makes none
    let p2 = plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap());
    assert!(!p2.has_changes(), "{p2}");
    let r2 = apply(&p2, &mut ecs, Some(&prefect), &mut |_| {});
    assert_eq!(r2.to_string(), "nothing to do");
    assert_eq!(prefect.state.borrow().writes.len(), 3);
    assert_eq!(ecs.writes.len(), 6);
}

/// The automations' tags, one per automation the fake holds, sorted.
fn tags_held(prefect: &spotplan::deploy::fake::FakePrefect) -> Vec<String> {
    let mut t: Vec<String> = prefect
        .state
        .borrow()
        .automations
        .values()
        .map(|a| a["tags"][0].as_str().unwrap_or("untagged").to_string())
        .collect();
    t.sort();
    t
}

#[test]
fn a_create_whose_answer_was_lost_is_looked_up_by_its_tag_never_made_twice() {
    use spotplan::deploy::api::{PrefectError, observe as read};
    use spotplan::deploy::fake::FakePrefect;
    let pair = vec![
        "spotplan:spot-pool/fallback".to_string(),
        "spotplan:spot-pool/fallback-guard".to_string(),
    ];
    // made, answer lost: found by its tag, so apply goes on and makes no second one
    let d = desired_with_automation();
    let (mut ecs, prefect) = (FakeEcs::default(), FakePrefect::default());
    prefect
        .state
        .borrow_mut()
        .lose_answer
        .push("create automation".into());
    let r = apply(
        &plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap()),
        &mut ecs,
        Some(&prefect),
        &mut |_| {},
    );
    assert!(r.ok(), "{r}");
    assert_eq!(tags_held(&prefect), pair);
    assert!(!plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap()).has_changes());
    // not made, answer lost: not found by its tag, so made once more
    let (mut ecs, prefect) = (FakeEcs::default(), FakePrefect::default());
    prefect.state.borrow_mut().fail.push((
        "create automation".into(),
        PrefectError::Unknown("no answer".into()),
    ));
    let r = apply(
        &plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap()),
        &mut ecs,
        Some(&prefect),
        &mut |_| {},
    );
    assert!(r.ok(), "{r}");
    assert_eq!(tags_held(&prefect), pair);
}

#[test]
fn tagged_duplicates_are_shown_and_deleted_and_an_older_automation_is_adopted() {
    use spotplan::deploy::api::PrefectApi;
    use spotplan::deploy::api::observe as read;
    use spotplan::deploy::automation::{AutomationWrite, bodies_for, legacy_name};
    use spotplan::deploy::fake::FakePrefect;
    let d = desired_with_automation();
    let (mut ecs, prefect) = (FakeEcs::default(), FakePrefect::default());
    let bodies = bodies_for("spot-pool");
    // an older spotplan's single automation, untagged, and a retried create's duplicate
    let mut legacy = bodies[0].clone();
    legacy["name"] = serde_json::json!(legacy_name("spot-pool"));
    legacy["tags"] = serde_json::json!([]);
    for b in [&legacy, &bodies[1], &bodies[1]] {
        prefect
            .write_automation(&AutomationWrite::Create { body: b.clone() })
            .unwrap();
    }
    // someone else's automation of the same name is not spotplan's: never touched
    let mut foreign = bodies[1].clone();
    foreign["tags"] = serde_json::json!(["team:alerts"]);
    prefect
        .write_automation(&AutomationWrite::Create { body: foreign })
        .unwrap();
    prefect.state.borrow_mut().writes.clear();
    let p = plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap());
    let text = p.to_string();
    assert!(text.contains("(made by an older spotplan)"), "{text}");
    assert!(
        text.contains("duplicate automation-3 with tag spotplan:spot-pool/fallback-guard"),
        "{text}"
    );
    let r = apply(&p, &mut ecs, Some(&prefect), &mut |_| {});
    assert!(r.ok(), "{r}");
    let w = prefect.state.borrow().writes.clone();
    assert_eq!(
        w.iter().filter(|x| *x == "delete automation").count(),
        1,
        "{w:?}"
    );
    assert_eq!(
        w.iter().filter(|x| *x == "replace automation").count(),
        1,
        "{w:?}"
    );
    assert!(!w.contains(&"create automation".to_string()), "{w:?}");
    assert_eq!(
        tags_held(&prefect),
        [
            "spotplan:spot-pool/fallback",
            "spotplan:spot-pool/fallback-guard",
            "team:alerts"
        ]
    );
    assert!(!plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap()).has_changes());
}

#[test]
fn a_write_whose_answer_was_lost_stops_apply_and_is_never_made_twice() {
    use spotplan::deploy::api::observe as read;
    use spotplan::deploy::fake::FakePrefect;
    // a Prefect create (the pool) made, its answer lost: apply stops and says so; the next
    // plan reads the pool and creates no second one
    let d = desired_with_automation();
    let (mut ecs, prefect) = (FakeEcs::default(), FakePrefect::default());
    prefect
        .state
        .borrow_mut()
        .lose_answer
        .push("create pool".into());
    let r = apply(
        &plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap()),
        &mut ecs,
        Some(&prefect),
        &mut |_| {},
    );
    assert!(!r.ok() && r.unknown, "{r}");
    let text = r.to_string();
    assert!(text.contains("NO ANSWER: work pool "), "{text}");
    assert!(
        text.contains("may have been made: run `spotplan plan`"),
        "{text}"
    );
    assert_eq!(prefect.state.borrow().pools.len(), 1);
    let p = plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap());
    assert!(!p.to_string().contains("+ work pool"), "{p}");
    assert_eq!(prefect.state.borrow().pools.len(), 1);

    // CreateService made, its answer lost: tried again with the same client token, which
    // ECS answers with the service it made; and a registration whose answer was lost is
    // looked up (the family's latest revision is exactly it) and not made twice
    let d = desired_of(&emit_scenario());
    let mut ecs = FakeEcs::default();
    ecs.lose_answer.push("CreateService".into());
    ecs.lose_answer.push("RegisterTaskDefinition".into());
    let r = apply(
        &plan(&d, &observe(&mut ecs, &d)),
        &mut ecs,
        None,
        &mut |_| {},
    );
    assert!(r.ok(), "{r}");
    assert_eq!(
        ecs.writes.iter().filter(|w| *w == "CreateService").count(),
        1
    );
    assert_eq!(ecs.tokens.len(), 1);
    assert_eq!(
        ecs.task_definitions["data-platform-prefect-worker"].len(),
        1
    );
    assert!(!plan(&d, &observe(&mut ecs, &d)).has_changes());
    // a CreateService without the token, made twice, fails as ECS's does: the token matters
    let mut other = FakeEcs::default();
    let p = plan(&d, &observe(&mut other, &d));
    assert!(apply(&p, &mut other, None, &mut |_| {}).ok());
    let create = p
        .calls()
        .into_iter()
        .find(|c| matches!(c, spotplan::deploy::plan::Call::CreateService { .. }))
        .unwrap()
        .clone();
    use spotplan::deploy::api::EcsApi;
    assert!(other.execute(&create, "another-token").is_err());

    // PutClusterCapacityProviders (harmless to repeat) whose answer was lost is tried again
    let d2 = desired_of(&emit_scenario().replace("weight = 4", "weight = 3"));
    ecs.lose_answer.push("PutClusterCapacityProviders".into());
    let mut pauses = 0;
    let r = apply(
        &plan(&d2, &observe(&mut ecs, &d2)),
        &mut ecs,
        None,
        &mut |_| pauses += 1,
    );
    assert!(r.ok(), "{r}");
    assert_eq!(pauses, 1);
    assert_eq!(
        ecs.writes
            .iter()
            .filter(|w| *w == "PutClusterCapacityProviders")
            .count(),
        2
    );
    assert!(!plan(&d2, &observe(&mut ecs, &d2)).has_changes());
}

/// The emit fixture with a second deployment, `report`, whose own policy has the fallback
/// automation; `etl` runs the pool's `prefect3-reschedule`.
fn two_policies() -> String {
    emit_scenario().replace(
        "[deploy]",
        "[[flow]]\nname = \"report\"\nschedule = { every = \"1h\" }\nduration = \"10m\"\nretry = \"prefect3[fallback=automation]\"\n\n[deploy]",
    )
}

#[test]
fn a_deployments_own_policy_gets_its_env_and_the_fallback_only_for_it() {
    use spotplan::deploy::api::observe as read;
    use spotplan::deploy::deployments::DeploymentState;
    use spotplan::deploy::fake::FakePrefect;
    let s = scenario(&two_policies());
    let d = desired_of(&two_policies());
    // `report`'s env does not inherit the pool's SIGTERM setting; `etl` needs nothing of its own
    let wants: Vec<(&str, &serde_json::Value)> = d
        .deployments
        .iter()
        .map(|w| (w.flow.as_str(), &w.job_variables))
        .collect();
    assert_eq!(
        wants,
        [("report", &serde_json::json!({"env": {}}))],
        "{wants:?}"
    );
    // the fallback reruns `report`'s crashed runs only: by its name until it is found
    let related = &d.automations[0]["trigger"]["match_related"];
    assert_eq!(
        related[1],
        serde_json::json!({"prefect.resource.role": "deployment", "prefect.resource.name": ["report"]}),
        "{related}"
    );
    assert_eq!(related[0]["prefect.resource.role"], "work-pool");
    // the guard is not limited: it concerns the fallback's own reruns
    assert_eq!(
        d.automations[1]["trigger"]["match_related"][0]["prefect.resource.role"],
        "work-pool"
    );
    // applied before any deployment exists: by name
    let prefect = FakePrefect::default();
    let mut ecs = FakeEcs::default();
    let r = apply(
        &plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap()),
        &mut ecs,
        Some(&prefect),
        &mut |_| {},
    );
    assert!(r.ok(), "{r}");
    // once deployed, by its id: a deployment of another flow named like it is not matched
    let dep = |id: &str, name: &str, flow: &str, jv: serde_json::Value| {
        (
            "spot-pool".to_string(),
            DeploymentState {
                id: id.into(),
                name: name.into(),
                flow_name: flow.into(),
                job_variables: jv,
            },
        )
    };
    prefect.state.borrow_mut().deployments = vec![
        dep(
            "d-report",
            "prod",
            "report",
            serde_json::json!({"env": {"MINE": "1", "PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR": "reschedule"}}),
        ),
        dep("d-etl", "report", "etl", serde_json::json!({})),
    ];
    let p = plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap());
    let text = p.to_string();
    assert!(
        text.contains(
            "~ automation spotplan: rerun a Crashed run of work pool spot-pool once on FARGATE"
        ),
        "{text}"
    );
    let j = serde_json::to_value(&p).unwrap();
    let fallback = j["automations"][0]["write"]["body"].clone();
    assert_eq!(
        fallback["trigger"]["match_related"][1],
        serde_json::json!({"prefect.resource.id": ["prefect.deployment.d-report"]}),
        "{j}"
    );
    // the deployment keeps its own env key, loses the pool's setting its policy lacks
    let r = apply(&p, &mut ecs, Some(&prefect), &mut |_| {});
    assert!(r.ok(), "{r}");
    let held = prefect.state.borrow().deployments[0]
        .1
        .job_variables
        .clone();
    assert_eq!(held, serde_json::json!({"env": {"MINE": "1"}}));
    assert!(!plan(&d, &read(&mut ecs, Some(&prefect), &d).unwrap()).has_changes());
    // and every deployment with the fallback: one automation for the pool, as before
    let all = Choice {
        retry: spotplan::scenario::retry::parse_spec("prefect3[fallback=automation]").unwrap(),
        ..choice(&s)
    };
    let inputs = inputs(&s.deploy_section, &s.region, &s.cluster.name, &s.network).unwrap();
    let d = desired(&s, &inputs, &all);
    assert_eq!(
        d.automations[0]["trigger"]["match_related"]["prefect.resource.role"],
        "work-pool"
    );
}

#[test]
fn a_pools_own_env_is_kept_and_a_limit_the_scenario_does_not_state_is_refused() {
    use spotplan::deploy::workpool::{PoolWrite, plan_pool};
    let want = pool_of(&emit_scenario());
    // the team added an env var and a concurrency limit of 5 to spotplan's pool
    let mut theirs = want.clone();
    theirs.base_job_template["variables"]["properties"]["env"]["default"]["TEAM_FLAG"] =
        serde_json::json!("1");
    theirs.concurrency_limit = Some(5);
    let p = plan_pool(&want, Some(&theirs));
    assert!(p.write.is_none(), "{p:?}");
    let why = p.refused.clone().expect("refused");
    assert!(
        why.contains("has a concurrency limit of 5, which the scenario does not state")
            && why.contains("`[worker] concurrency_limit = 5`"),
        "{why}"
    );
    let text = p.step.to_string();
    assert!(
        text.contains("    concurrency limit: 5 → unlimited\n"),
        "{text}"
    );
    assert!(
        text.contains("    = env TEAM_FLAG (not spotplan's: kept)\n"),
        "{text}"
    );
    assert!(!text.contains("env:"), "the env is not a change: {text}");
    // stated, the limit is spotplan's to keep; the team's env key stays, and nothing is written
    let stated =
        pool_of(&emit_scenario().replace("[worker]\n", "[worker]\nconcurrency_limit = 5\n"));
    assert_eq!(stated.concurrency_limit, Some(5));
    let p = plan_pool(&stated, Some(&theirs));
    assert!(p.refused.is_none() && p.write.is_none(), "{p:?}");
    assert_eq!(p.step.action, Action::Unchanged);
    // another change (the strategy) writes the template with the team's key in it
    let mut old = theirs.clone();
    old.base_job_template["variables"]["properties"]["capacity_provider_strategy"]["default"] =
        serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]);
    let p = plan_pool(&stated, Some(&old));
    let Some(PoolWrite::Update { body, .. }) = &p.write else {
        panic!("{p:?}")
    };
    let env = &body["base_job_template"]["variables"]["properties"]["env"]["default"];
    assert_eq!(env["TEAM_FLAG"], "1", "{env}");
    assert_eq!(
        env["PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR"], "reschedule",
        "{env}"
    );
}

/// Someone else's target on spotplan's rule (an audit queue, say) is kept and named, and the
/// plan converges: only spotplan's target id is compared, and PutTargets keeps the others.
/// Before, the rule showed a change that apply never made, forever.
#[test]
fn a_foreign_target_on_the_rule_is_kept_and_the_plan_converges() {
    let d = desired_of(&emit_scenario());
    let mut api = FakeEcs::default();
    let p = plan(&d, &observe(&mut api, &d));
    assert!(apply(&p, &mut api, None, &mut |_| {}).ok());
    let audit = (
        "audit".to_string(),
        "arn:aws:sqs:eu-west-1:111122223333:audit".to_string(),
    );
    api.rules
        .get_mut("spot-pool-ecs-task-events")
        .unwrap()
        .targets
        .push(audit.clone());
    let p = plan(&d, &observe(&mut api, &d));
    assert!(!p.has_changes(), "{p}");
    assert!(
        p.to_string().contains(
            "= event rule spot-pool-ecs-task-events\n    = target audit → arn:aws:sqs:eu-west-1:111122223333:audit (not spotplan's: kept)\n"
        ),
        "{p}"
    );
    // spotplan's own target removed by hand: put back, the foreign one kept
    api.rules
        .get_mut("spot-pool-ecs-task-events")
        .unwrap()
        .targets
        .retain(|t| *t == audit);
    let p = plan(&d, &observe(&mut api, &d));
    assert!(
        p.to_string()
            .contains("    target: none → prefect-ecs-events → arn:aws:sqs:"),
        "{p}"
    );
    assert!(apply(&p, &mut api, None, &mut |_| {}).ok());
    let targets = &api.rules["spot-pool-ecs-task-events"].targets;
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert!(targets.contains(&audit));
    assert!(!plan(&d, &observe(&mut api, &d)).has_changes());
}

/// prefect-aws's own events stack already feeds the cluster into the queue spotplan's worker
/// reads (same names, on purpose): the queue is used as it is, and spotplan makes no queue,
/// rule or target of its own, and changes none of the stack's. A stack feeding another queue
/// is refused with the fix.
#[test]
fn a_stack_that_feeds_the_cluster_is_used_and_never_changed() {
    use spotplan::deploy::events::StackFeed;
    let d = desired_of(&emit_scenario());
    let mut api = FakeEcs {
        stack_feed: Some(StackFeed {
            stack: "prefect-events".into(),
            queue: "spot-pool-ecs-events".into(),
            pool: Some("spot-pool".into()),
        }),
        ..FakeEcs::default()
    };
    let p = plan(&d, &observe(&mut api, &d));
    assert!(
        p.to_string().contains(
            "= queue spot-pool-ecs-events\n    = stack prefect-events: used, not managed"
        ),
        "{p}"
    );
    assert!(!p.to_string().contains("event rule"), "{p}");
    assert!(p.blocked().is_none());
    assert!(apply(&p, &mut api, None, &mut |_| {}).ok());
    assert_eq!(
        api.writes,
        ["CreateCluster", "RegisterTaskDefinition", "CreateService"]
    );
    api.stack_feed = Some(StackFeed {
        stack: "prefect-events".into(),
        queue: "etl-ecs-events".into(),
        pool: Some("etl".into()),
    });
    let p = plan(&d, &observe(&mut api, &d));
    let why = p.blocked().expect("refused");
    assert!(
        why.contains("stack `prefect-events` already feeds cluster data-platform's task state changes into queue `etl-ecs-events`")
            && why.contains("set deploy.work_pool = \"etl\""),
        "{why}"
    );
}

/// What a team set in spotplan's pool is kept when spotplan writes it again: a variable of its
/// own, its default of a variable spotplan does not derive (a log prefix), a field it added to
/// the RunTask request. What was priced is put back (the sizes, the strategy), shown old → new.
/// Before, every write put back spotplan's whole template and dropped the team's settings.
#[test]
fn a_pools_own_settings_are_kept_and_what_was_priced_is_put_back() {
    use spotplan::deploy::workpool::{PoolWrite, plan_pool};
    let want = pool_of(&emit_scenario());
    let mut theirs = want.clone();
    let t = &mut theirs.base_job_template;
    t["variables"]["properties"]["team_label"] =
        serde_json::json!({"type": "string", "default": "finance"});
    t["variables"]["properties"]["cloudwatch_logs_prefix"]["default"] = serde_json::json!("team");
    t["job_configuration"]["task_run_request"]["propagateTags"] =
        serde_json::json!("TASK_DEFINITION");
    t["variables"]["properties"]["cpu"]["default"] = serde_json::json!(4096);
    let p = plan_pool(&want, Some(&theirs));
    let text = p.step.to_string();
    for kept in [
        "= variable team_label (not spotplan's: kept)",
        "= variable cloudwatch_logs_prefix: the team's default (kept)",
        "= job configuration task_run_request.propagateTags (not spotplan's: kept)",
    ] {
        assert!(text.contains(kept), "{kept}: {text}");
    }
    assert!(text.contains("    cpu: 4096 → 1024\n"), "{text}");
    let Some(PoolWrite::Update { body, .. }) = &p.write else {
        panic!("{p:?}")
    };
    let t = &body["base_job_template"];
    assert_eq!(
        t["variables"]["properties"]["team_label"]["default"],
        "finance"
    );
    assert_eq!(
        t["variables"]["properties"]["cloudwatch_logs_prefix"]["default"],
        "team"
    );
    assert_eq!(
        t["job_configuration"]["task_run_request"]["propagateTags"],
        "TASK_DEFINITION"
    );
    assert_eq!(t["variables"]["properties"]["cpu"]["default"], 1024);
    // written, it converges: the team's settings are not a change
    let after = spotplan::deploy::workpool::PoolState {
        base_job_template: t.clone(),
        ..want.clone()
    };
    let p = plan_pool(&want, Some(&after));
    assert_eq!(p.step.action, Action::Unchanged, "{}", p.step);
    assert!(p.write.is_none());
}

/// A flow whose container has no init (`sigterm` other than `init`) gets ECS's own init in
/// the work pool's task definition (`linuxParameters.initProcessEnabled`), so it hears
/// SIGTERM as the simulation of `init` assumes; with every flow on `init` the template has
/// none (the images' own tini does it).
#[test]
fn a_flow_without_an_init_gets_ecs_init_in_the_pool_task_definition() {
    let container = |src: &str| {
        pool_of(src).base_job_template["job_configuration"]["task_definition"]
            ["containerDefinitions"][0]
            .clone()
    };
    assert!(container(&emit_scenario()).get("linuxParameters").is_none());
    let shell = emit_scenario().replacen(
        "duration = \"10m\"",
        "duration = \"10m\"\nsigterm = \"shell\"",
        1,
    );
    assert_eq!(
        container(&shell)["linuxParameters"],
        serde_json::json!({"initProcessEnabled": true})
    );
    // a mode that does not exist is refused, with a suggestion
    let bad = emit_scenario().replacen(
        "duration = \"10m\"",
        "duration = \"10m\"\nsigterm = \"exec\"",
        1,
    );
    let e = crate::common::load(&bad).unwrap_err().to_string();
    assert!(
        e.contains("`exec` is not a SIGTERM mode")
            && e.contains("allowed: `init`, `exec-no-init`, `shell`"),
        "{e}"
    );
}
