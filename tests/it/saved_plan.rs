//! Saved plans end to end, against moto and the real Prefect server (`.ci/run` starts both):
//! `plan --out` writes a file only its owner reads, holding no value that is not spotplan's;
//! `apply FILE` applies exactly it, once, and refuses, changing nothing, when the Prefect API,
//! the scenario or the command line differ from when it was saved.

use std::process::{Command, Output};

use crate::moto::{KEY, case, http, moto, network, server, spotplan, text};

/// `spotplan ARGS` against moto, with no target arguments (a saved plan carries its own).
fn bare(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args(args)
        .args(["--endpoint-url", url])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing-secret-never-printed")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PREFECT_API_KEY", KEY)
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

/// The work pool's strategy and env defaults on the Prefect server.
fn pool(prefect: &str, name: &str) -> (serde_json::Value, serde_json::Value) {
    let got = http("GET", &format!("{prefect}/work_pools/{name}"), None);
    let vars = &got["base_job_template"]["variables"]["properties"];
    (
        vars["capacity_provider_strategy"]["default"].clone(),
        vars["env"]["default"].clone(),
    )
}

/// The team edits the pool by hand: another strategy and a secret of its own in the env.
fn edit(prefect: &str, name: &str, secret: &str) {
    let got = http("GET", &format!("{prefect}/work_pools/{name}"), None);
    let mut t = got["base_job_template"].clone();
    t["variables"]["properties"]["capacity_provider_strategy"]["default"] =
        serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]);
    t["variables"]["properties"]["env"]["default"]["TEAM_DB_PASSWORD"] = secret.into();
    http(
        "PATCH",
        &format!("{prefect}/work_pools/{name}"),
        Some(serde_json::json!({"base_job_template": t})),
    );
}

#[test]
fn a_saved_plan_applies_once_exactly_what_was_reviewed() {
    let (Some(url), Some(prefect)) = (moto(), server("SPOTPLAN_PREFECT_API_URL")) else {
        return;
    };
    let region = "ap-southeast-2";
    let mut c = case("saved");
    let name = c.cluster.clone();
    c.prefect(&prefect);
    let (subnet, sg) = network(&url, region);
    let net = (subnet.as_str(), sg.as_str());
    let dir = std::env::temp_dir().join(format!("{name}-plans"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("plan.json");
    let path = file.to_str().unwrap();

    let a = spotplan(&c, &url, region, &["apply", "--yes"], net);
    assert!(a.status.success(), "{}", text(&a));
    let first = "s3cr3t-first-value";
    edit(&prefect, &name, first);

    // the plan is saved 0600, with the team's value only as a digest, in the file and out
    let p = spotplan(&c, &url, region, &["plan", "--out", path], net);
    assert!(p.status.success(), "{}", text(&p));
    assert!(!text(&p).contains(first), "{}", text(&p));
    assert!(text(&p).contains("saved the plan to"), "{}", text(&p));
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(!saved.contains(first) && !saved.contains(KEY), "{saved}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let v: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(v["format"], "spotplan-plan/1");
    assert_eq!(v["account"], "111122223333");
    assert_eq!(v["region"], region);
    assert_eq!(v["prefect_api_url"], prefect.as_str());
    assert_eq!(v["applied"], false);
    assert!(v["scenario_hash"].as_str().is_some_and(|h| h.len() == 16));
    let team_value = &v["plan"]["work_pool"]["write"]["body"]["base_job_template"]["variables"]["properties"]
        ["env"]["default"]["TEAM_DB_PASSWORD"];
    assert!(
        team_value
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{team_value}"
    );

    // the team changes its value after the review: apply refuses, says where, changes nothing
    edit(&prefect, &name, "s3cr3t-second-value");
    let a = bare(&url, &["apply", path]);
    assert_eq!(a.status.code(), Some(1), "{}", text(&a));
    let err = String::from_utf8_lossy(&a.stderr);
    assert!(
        err.contains("no longer holds what the saved plan was computed from")
            && err.contains("TEAM_DB_PASSWORD: sha256:"),
        "{}",
        text(&a)
    );
    assert!(
        !text(&a).contains("s3cr3t") && !text(&a).contains(KEY),
        "{}",
        text(&a)
    );
    let fargate = serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]);
    assert_eq!(pool(&prefect, &name).0, fargate);

    // planned again and applied: exactly that plan, the team's (new) value kept
    let p = spotplan(&c, &url, region, &["plan", "--out", path], net);
    assert!(p.status.success(), "{}", text(&p));
    let a = bare(&url, &["apply", path]);
    assert!(a.status.success(), "{}", text(&a));
    assert!(
        String::from_utf8_lossy(&a.stderr).contains(&format!("done: work pool {name} (updated)")),
        "{}",
        text(&a)
    );
    let (strategy, env) = pool(&prefect, &name);
    assert_eq!(strategy[0]["capacityProvider"], "FARGATE_SPOT");
    assert_eq!(env["TEAM_DB_PASSWORD"], "s3cr3t-second-value");
    let used: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(used["applied"], true);

    // once only
    let a = bare(&url, &["apply", path]);
    assert_eq!(a.status.code(), Some(1), "{}", text(&a));
    assert!(text(&a).contains("was applied already"), "{}", text(&a));

    // a saved plan carries its inputs: other target arguments are refused
    edit(&prefect, &name, "s3cr3t-second-value");
    let p = spotplan(&c, &url, region, &["plan", "--out", path], net);
    assert!(p.status.success(), "{}", text(&p));
    let a = bare(&url, &["apply", path, "--subnets", "subnet-other"]);
    assert_eq!(a.status.code(), Some(1), "{}", text(&a));
    assert!(
        text(&a).contains("a saved plan carries its inputs"),
        "{}",
        text(&a)
    );
    // an edited scenario is not applied in silence
    let src = std::fs::read_to_string(&c.scenario).unwrap();
    std::fs::write(&c.scenario, src.replace("count = 2", "count = 3")).unwrap();
    let a = bare(&url, &["apply", path]);
    assert_eq!(a.status.code(), Some(1), "{}", text(&a));
    assert!(
        text(&a).contains("the scenario changed since the plan was saved"),
        "{}",
        text(&a)
    );
    assert_eq!(pool(&prefect, &name).0, fargate);
    let _ = std::fs::remove_dir_all(&dir);
}
