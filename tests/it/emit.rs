//! `emit`: golden files for every artefact, their shape (JSON, policies, the strategy in the
//! work pool), input errors, the Prefect 1 variant, and emitting from a recommendation.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{root, spotplan};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spotplan-emit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_artefact_matches_its_golden_file() {
    let out = tmp("golden");
    emit_fixture(&out);
    let golden = root().join("tests/golden/emit");
    let bless = std::env::var_os("SPOTPLAN_BLESS").is_some();
    let got = files(&out);
    assert_eq!(got.len(), 21, "{got:?}");
    for f in &got {
        let body = std::fs::read_to_string(out.join(f)).unwrap();
        let g = golden.join(f);
        if bless {
            std::fs::create_dir_all(g.parent().unwrap()).unwrap();
            std::fs::write(&g, &body).unwrap();
        }
        let want = std::fs::read_to_string(&g)
            .unwrap_or_else(|_| panic!("no golden file {f}; run with SPOTPLAN_BLESS=1"));
        assert_eq!(
            body, want,
            "{f} differs from its golden file (SPOTPLAN_BLESS=1 to accept)"
        );
    }
    assert_eq!(files(&golden), got, "golden files without an artefact");
    let _ = std::fs::remove_dir_all(&out);
}

/// `spotplan emit` of the emit fixture into `out`; it must succeed.
fn emit_fixture(out: &Path) {
    let o = spotplan(&[
        "emit",
        "fixtures/emit-scenario.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn json(dir: &Path, f: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap())
        .unwrap_or_else(|e| panic!("{f}: {e}"))
}

#[test]
fn the_strategy_reaches_both_the_cluster_and_the_work_pool() {
    let out = tmp("shape");
    emit_fixture(&out);
    let want = serde_json::json!([
        {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0},
        {"capacityProvider": "FARGATE", "weight": 1, "base": 1}
    ]);
    let put = json(&out, "cluster/put-cluster-capacity-providers.json");
    assert_eq!(put["defaultCapacityProviderStrategy"], want);
    // the ASG provider already on the cluster is listed again, so it is kept
    assert_eq!(
        put["capacityProviders"],
        serde_json::json!(["FARGATE", "FARGATE_SPOT", "asg-gpu"])
    );
    let tpl = json(&out, "prefect/base-job-template.json");
    let vars = &tpl["variables"]["properties"];
    assert_eq!(vars["capacity_provider_strategy"]["default"], want);
    assert_eq!(
        vars["env"]["default"]["PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR"],
        "reschedule"
    );
    assert_eq!(
        tpl["job_configuration"]["task_run_request"]["capacityProviderStrategy"],
        "{{ capacity_provider_strategy }}"
    );
    assert_eq!(vars["cluster"]["default"], "data-platform");
    // the worker itself runs on on-demand FARGATE, with the key from SSM through `secrets`
    let td = json(&out, "worker/task-definition.json");
    let c = &td["containerDefinitions"][0];
    assert_eq!(
        c["command"],
        serde_json::json!([
            "prefect",
            "worker",
            "start",
            "--pool",
            "spot-pool",
            "--type",
            "ecs"
        ])
    );
    assert_eq!(
        c["secrets"][0]["valueFrom"],
        "arn:aws:ssm:eu-west-1:111122223333:parameter/prefect/api-key"
    );
    assert_eq!(c["logConfiguration"]["logDriver"], "awslogs");
    assert_eq!(
        (
            td["cpu"].as_str(),
            td["memory"].as_str(),
            td["networkMode"].as_str()
        ),
        (Some("512"), Some("1024"), Some("awsvpc"))
    );
    let svc = json(&out, "worker/create-service.json");
    assert_eq!(
        svc["capacityProviderStrategy"],
        serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}])
    );
    assert_eq!(svc["desiredCount"], 2);
    assert_eq!(
        json(&out, "worker/update-service.json")["forceNewDeployment"],
        true
    );
    // least privilege: the SSM parameter by ARN; wildcards only where AWS has no resource-level permission
    let exec = json(&out, "iam/execution-role-policy.json");
    for st in exec["Statement"].as_array().unwrap() {
        if st["Action"].to_string().contains("ssm:") {
            assert_eq!(
                st["Resource"],
                "arn:aws:ssm:eu-west-1:111122223333:parameter/prefect/api-key"
            );
        }
    }
    let task = json(&out, "iam/worker-task-role-policy.json");
    for st in task["Statement"].as_array().unwrap() {
        let actions = st["Action"].to_string();
        if st["Resource"] == "*" {
            assert!(
                actions.contains("TaskDefinition") || actions.contains("ec2:Describe"),
                "a wildcard resource for {actions}"
            );
        }
        assert!(
            !actions.contains("\"*\"") && !actions.contains(":*\""),
            "wildcard action {actions}"
        );
    }
    let pass = task["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "PassFlowRoles")
        .unwrap();
    assert_eq!(
        pass["Resource"][1],
        "arn:aws:iam::111122223333:role/prefect-flow-runs"
    );
    let cfn = json(&out, "cloudformation.json");
    for r in [
        "Cluster",
        "ClusterCapacityProviders",
        "WorkerLogGroup",
        "ExecutionRole",
        "TaskRole",
        "WorkerTaskDefinition",
        "WorkerService",
    ] {
        assert!(
            cfn["Resources"].get(r).is_some(),
            "CloudFormation lacks {r}"
        );
    }
    let tf = std::fs::read_to_string(out.join("terraform/main.tf")).unwrap();
    for r in [
        "aws_ecs_cluster\" \"this\"",
        "aws_ecs_cluster_capacity_providers",
        "aws_ecs_task_definition",
        "aws_ecs_service",
        "aws_iam_role_policy",
    ] {
        assert!(tf.contains(r), "Terraform lacks {r}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn missing_and_malformed_inputs_are_refused_with_what_is_allowed() {
    let out = tmp("bad");
    let o = spotplan(&[
        "emit",
        "scenarios/prefect3-hourly-etl.toml",
        "--out",
        out.to_str().unwrap(),
        "--account-id",
        "1234",
        "--subnets",
        "subnet-XYZ",
        "--api-key-parameter",
        "my-secret-key",
        "--vpc-id",
        "pnu_key-in-the-wrong-place",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "error: `deploy.prefect_api_url` is needed (in the scenario's [deploy] or as --prefect-api-url)",
        "error: `deploy.account_id`: the value given (4 characters, not shown) is not a 12-digit AWS account id",
        "error: `deploy.subnets`: the value given (10 characters, not shown) is not a subnet id (`subnet-` and 8 or 17 lowercase hex digits)",
        "error: `deploy.vpc_id`: the value given (26 characters, not shown) is not a VPC id",
        "error: `deploy.api_key_parameter`: the value given (13 characters, not shown: it may be a secret) is not an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>); the key itself never goes in a file or a flag",
    ] {
        assert!(err.contains(want), "missing {want:?} in\n{err}");
    }
    // a key passed where the parameter's ARN (or any id) belongs is never echoed
    assert!(!err.contains("my-secret-key"), "{err}");
    assert!(!err.contains("pnu_"), "{err}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("my-secret-key"));
    assert!(!out.exists(), "nothing is written on bad input");
}

#[test]
fn the_prefect1_agent_variant_and_formats() {
    let out = tmp("p1");
    let src = std::fs::read_to_string(root().join("fixtures/emit-scenario.toml"))
        .unwrap()
        .replace(
            "kind = \"prefect3-ecs-worker\"",
            "kind = \"prefect1-ecs-agent\"",
        )
        .replace(
            "policy = \"prefect3-reschedule\"",
            "policy = \"prefect1-lazarus\"",
        );
    std::fs::create_dir_all(&out).unwrap();
    let scen = out.join("p1.toml");
    std::fs::write(&scen, src).unwrap();
    let dir = out.join("tf");
    assert!(
        spotplan(&[
            "emit",
            scen.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--format",
            "terraform"
        ])
        .status
        .success()
    );
    assert_eq!(
        files(&dir),
        ["prefect/run-task-kwargs.json", "terraform/main.tf"]
    );
    let kwargs = json(&dir, "prefect/run-task-kwargs.json");
    assert_eq!(
        kwargs["capacityProviderStrategy"][0]["capacityProvider"],
        "FARGATE_SPOT"
    );
    let tf = std::fs::read_to_string(dir.join("terraform/main.tf")).unwrap();
    assert!(tf.contains(r#""prefect", "agent", "ecs", "start""#), "{tf}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn emit_takes_a_recommendation_file() {
    let out = tmp("rec");
    std::fs::create_dir_all(&out).unwrap();
    let rec = out.join("recommendation.json");
    let o = crate::common::recommend_quickly(Path::new("fixtures/emit-scenario.toml"), &rec);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rec).unwrap()).unwrap();
    let strat = v["recommendation"]["ecs"]["capacityProviderStrategy"].clone();
    let dir = out.join("emitted");
    let o = spotplan(&[
        "emit",
        rec.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("(recommendation "));
    assert_eq!(
        json(&dir, "prefect/base-job-template.json")["variables"]["properties"]["capacity_provider_strategy"]
            ["default"],
        strat
    );
    assert_eq!(
        json(&dir, "cluster/create-cluster.json")["defaultCapacityProviderStrategy"],
        strat
    );
    // a recommendation from an interrupted sweep says so, and is not deployed
    assert_eq!(v["partial"], false);
    let mut cut = v.clone();
    cut["partial"] = true.into();
    let partial = out.join("partial.json");
    std::fs::write(&partial, cut.to_string()).unwrap();
    let never = out.join("never");
    let o = spotplan(&[
        "emit",
        partial.to_str().unwrap(),
        "--out",
        never.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("comes from an interrupted sweep"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!never.exists());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn emitted_cloudformation_passes_cfn_lint_and_terraform_passes_fmt() {
    let out = tmp("lint");
    emit_fixture(&out);
    // `.ci/run` installs cfn-lint from PyPI into a venv and points SPOTPLAN_CFN_LINT at it
    match std::env::var("SPOTPLAN_CFN_LINT") {
        Ok(bin) => {
            let o = Command::new(&bin)
                .arg(out.join("cloudformation.json"))
                .output()
                .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
            assert!(
                o.status.success(),
                "cfn-lint rejects the template:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Err(_) => {
            assert!(
                std::env::var_os("SPOTPLAN_REQUIRE_E2E").is_none(),
                "SPOTPLAN_REQUIRE_E2E is set but SPOTPLAN_CFN_LINT is not"
            );
            eprintln!("SPOTPLAN_CFN_LINT is not set: cfn-lint not run (`.ci/run` runs it)")
        }
    }
    match Command::new("terraform")
        .args(["fmt", "-check", "-diff", "terraform"])
        .current_dir(&out)
        .output()
    {
        Ok(o) => assert!(
            o.status.success(),
            "terraform fmt -check:\n{}",
            String::from_utf8_lossy(&o.stdout)
        ),
        Err(_) => eprintln!("terraform is not installed: `terraform fmt -check` skipped"),
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn per_deployment_strategies_and_the_fallback_automation_are_emitted() {
    let fixture =
        std::fs::read_to_string(crate::common::root().join("fixtures/emit-scenario.toml")).unwrap();
    let dir = tmp("own");
    std::fs::create_dir_all(&dir).unwrap();
    let src = crate::common::own_strategy_and_automation(&fixture);
    let file = dir.join("s.toml");
    std::fs::write(&file, &src).unwrap();
    let out = dir.join("out");
    let o = spotplan(&[
        "emit",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    let od = serde_json::json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]);
    // the flow's own strategy, as its deployment's job variables
    let deployments: serde_json::Value =
        serde_json::from_str(&read("prefect/deployments.json")).unwrap();
    assert_eq!(
        deployments["etl"]["job_variables"]["capacity_provider_strategy"],
        od
    );
    let yaml = read("prefect/prefect.yaml");
    assert!(
        yaml.contains("  - name: \"etl\"\n    work_pool:\n      name: \"spot-pool\"\n      job_variables: {\"capacity_provider_strategy\":[{\"capacityProvider\":\"FARGATE\",\"weight\":1,\"base\":0}]}\n"),
        "{yaml}"
    );
    // the automation Prefect's server evaluates, and the script that creates or updates it
    let auto: serde_json::Value = serde_json::from_str(&read("prefect/automation.json")).unwrap();
    let bodies = spotplan::deploy::automation::bodies_for("spot-pool");
    assert_eq!(auto, bodies[0]);
    assert_eq!(
        auto["trigger"]["after"],
        serde_json::json!(["prefect.flow-run.Crashed"])
    );
    let guard: serde_json::Value =
        serde_json::from_str(&read("prefect/automation-guard.json")).unwrap();
    assert_eq!(guard, bodies[1]);
    assert_eq!(
        auto["actions"][0]["job_variables"]["capacity_provider_strategy"],
        od
    );
    let script = read("prefect/work-pool.sh");
    assert!(script.contains("prefect automation create --from-file \"$file\""));
    assert!(script.contains("prefect automation update --id \"$id\" --from-file \"$file\""));
    assert!(script.contains(
        "for pair in 'spotplan:spot-pool/fallback:automation.json' 'spotplan:spot-pool/fallback-guard:automation-guard.json'"
    ));
    // without them, neither file
    let plain = dir.join("plain");
    let o = spotplan(&[
        "emit",
        crate::common::root()
            .join("fixtures/emit-scenario.toml")
            .to_str()
            .unwrap(),
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    for f in [
        "prefect/automation.json",
        "prefect/prefect.yaml",
        "prefect/deployments.json",
    ] {
        assert!(!plain.join(f).exists(), "{f}");
    }
    assert!(
        !std::fs::read_to_string(plain.join("prefect/work-pool.sh"))
            .unwrap()
            .contains("automation")
    );
}

#[test]
fn a_kms_encrypted_api_key_gets_decrypt_through_ssm_only() {
    let out = tmp("kms");
    let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let o = spotplan(&[
        "emit",
        "fixtures/emit-scenario.toml",
        "--out",
        out.to_str().unwrap(),
        "--api-key-kms-key",
        key,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let policy = json(&out, "iam/execution-role-policy.json");
    let st = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "DecryptPrefectApiKey")
        .cloned()
        .expect("a kms:Decrypt statement");
    assert_eq!(st["Action"], serde_json::json!(["kms:Decrypt"]));
    assert_eq!(st["Resource"], key);
    assert_eq!(
        st["Condition"]["StringEquals"]["kms:ViaService"],
        "ssm.eu-west-1.amazonaws.com"
    );
    // the same statement in CloudFormation
    let cfn = std::fs::read_to_string(out.join("cloudformation.json")).unwrap();
    assert!(cfn.contains("DecryptPrefectApiKey"));
    // a key that is not a KMS key ARN is refused, nothing written
    let bad = tmp("kms-bad");
    let o = spotplan(&[
        "emit",
        "fixtures/emit-scenario.toml",
        "--out",
        bad.to_str().unwrap(),
        "--api-key-kms-key",
        "alias/aws/ssm",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a KMS key ARN"));
    assert!(!bad.exists());
    let _ = std::fs::remove_dir_all(&out);
}

/// Roles the scenario names are used as they are: CloudFormation and Terraform make neither
/// role nor its policy and point the worker's task definition at the given ARNs.
#[test]
fn given_roles_are_used_and_not_made() {
    let exec = "arn:aws:iam::111122223333:role/given-execution";
    let task = "arn:aws:iam::111122223333:role/given-task";
    let src = std::fs::read_to_string(root().join("fixtures/emit-scenario.toml"))
        .unwrap()
        .replacen(
            "[deploy]\n",
            &format!("[deploy]\nexecution_role_arn = \"{exec}\"\ntask_role_arn = \"{task}\"\n"),
            1,
        );
    let out = tmp("given-roles");
    std::fs::create_dir_all(&out).unwrap();
    let scenario = out.join("scenario.toml");
    std::fs::write(&scenario, src).unwrap();
    let dir = out.join("emitted");
    let o = spotplan(&[
        "emit",
        scenario.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let cfn = json(&dir, "cloudformation.json");
    let resources = cfn["Resources"].as_object().unwrap();
    assert!(!resources.contains_key("ExecutionRole"), "{cfn}");
    assert!(!resources.contains_key("TaskRole"), "{cfn}");
    let td = resources
        .values()
        .find(|r| r["Type"] == "AWS::ECS::TaskDefinition")
        .expect("the worker's task definition");
    assert_eq!(td["Properties"]["ExecutionRoleArn"], exec);
    assert_eq!(td["Properties"]["TaskRoleArn"], task);

    let tf = std::fs::read_to_string(dir.join("terraform/main.tf")).unwrap();
    assert!(!tf.contains("resource \"aws_iam_role\""), "{tf}");
    assert!(
        tf.contains(&format!("execution_role_arn       = \"{exec}\"")),
        "{tf}"
    );
    assert!(
        tf.contains(&format!("task_role_arn            = \"{task}\"")),
        "{tf}"
    );
    // the made roles are still the default
    let made = tmp("made-roles");
    emit_fixture(&made);
    let cfn = json(&made, "cloudformation.json");
    assert_eq!(
        cfn["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyName"],
        "prefect-worker-execution"
    );
    assert_eq!(
        cfn["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyName"],
        "prefect-worker"
    );
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&made);
}

#[test]
fn a_recommendation_is_bound_to_its_scenario_and_found_beside_itself() {
    let out = tmp("binding");
    std::fs::create_dir_all(out.join("scenarios")).unwrap();
    std::fs::create_dir_all(out.join("recs")).unwrap();
    let src = std::fs::read_to_string(root().join("fixtures/emit-scenario.toml")).unwrap();
    let scen = out.join("scenarios/team.toml");
    std::fs::write(&scen, &src).unwrap();
    let rec = out.join("recs/rec.json");
    let o = spotplan(&[
        "recommend",
        scen.to_str().unwrap(),
        "-n",
        "5",
        "--horizon",
        "1d",
        "--spot-share",
        "0,100",
        "-q",
        "--materiality",
        "0,0",
        "--out",
        rec.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rec).unwrap()).unwrap();
    assert_eq!(v["scenario_path"], "../scenarios/team.toml");
    // from another working directory, the scenario is found beside the recommendation
    let emit = |extra: &[&str]| {
        let dir = out.join("emitted");
        let _ = std::fs::remove_dir_all(&dir);
        let mut args = vec!["emit", "recs/rec.json", "--out", dir.to_str().unwrap()];
        args.extend(extra);
        Command::new(env!("CARGO_BIN_EXE_spotplan"))
            .args(&args)
            .current_dir(&out)
            .output()
            .unwrap()
    };
    let o = emit(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // comments and formatting do not count
    std::fs::write(
        &scen,
        format!("# reviewed on Monday\n{}", src.replace(" = ", "=")),
    )
    .unwrap();
    let o = emit(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // a changed section does: refused, naming it, unless allowed
    std::fs::write(&scen, src.replace("count = 2", "count = 3")).unwrap();
    let o = emit(&[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("sections that differ: worker"), "{err}");
    assert!(!out.join("emitted").exists());
    let o = emit(&["--allow-changed-scenario"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // another scenario named with --scenario is refused too
    let other = root().join("scenarios/prefect3-hourly-etl.toml");
    std::fs::write(&scen, &src).unwrap();
    let o = emit(&["--scenario", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("region"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// What is deployed is what was priced: private egress deploys no public IP, an unstated
/// network deploys Prefect's default (said), and a contradicting `assign_public_ip` is refused
/// with nothing written.
#[test]
fn assign_public_ip_follows_the_priced_network() {
    let base = std::fs::read_to_string(root().join("fixtures/emit-scenario.toml")).unwrap();
    let run = |src: &str, tag: &str| {
        let dir = tmp(&format!("public-ip-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s.toml");
        std::fs::write(&f, src).unwrap();
        let out = dir.join("out");
        let o = spotplan(&[
            "emit",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--format",
            "cli",
        ]);
        let svc = std::fs::read_to_string(out.join("worker/create-service.json")).ok();
        (o, svc, out)
    };
    // (eu-west-1: no bundled endpoint rate, so the scenario states one)
    let private = base.replace(
        "[deploy]",
        "[network]\negress = \"vpc-endpoints\"\n\n[pricing.rates]\nvpc_endpoint_az_hour = 0.011\n\n[deploy]",
    );
    let (o, svc, _) = run(&private, "private");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(svc.unwrap().contains("\"assignPublicIp\": \"DISABLED\""));
    let (o, svc, _) = run(&base, "assumed");
    assert!(o.status.success());
    assert!(svc.unwrap().contains("\"assignPublicIp\": \"ENABLED\""));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("note: assignPublicIp ENABLED: the scenario has no [network] section"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let contradicts = private.replace("[deploy]\n", "[deploy]\nassign_public_ip = true\n");
    let (o, svc, out) = run(&contradicts, "contradicts");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(
            "`deploy.assign_public_ip = true` contradicts the network the bill was priced with ([network] egress = \"vpc-endpoints\")"
        ),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(svc.is_none() && !out.exists(), "nothing written");
}

#[test]
fn the_worker_gets_its_own_prefect_url_without_a_trailing_slash_and_a_loopback_one_is_said() {
    let out = tmp("worker-url");
    let run = |extra: &[&str]| {
        let mut a = vec![
            "emit",
            "fixtures/emit-scenario.toml",
            "--out",
            out.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        let o = spotplan(&a);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let td: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("worker/task-definition.json")).unwrap(),
        )
        .unwrap();
        let env = td["containerDefinitions"][0]["environment"].clone();
        let url = env
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "PREFECT_API_URL")
            .map(|e| e["value"].as_str().unwrap().to_string())
            .unwrap();
        (url, String::from_utf8_lossy(&o.stderr).to_string())
    };
    // the operator reaches the API through a tunnel; the worker through the VPC
    let (url, err) = run(&[
        "--prefect-api-url",
        "http://127.0.0.1:4200/api/",
        "--worker-prefect-api-url",
        "https://prefect.internal.example/api/",
    ]);
    assert_eq!(url, "https://prefect.internal.example/api");
    assert!(!err.contains("loopback"), "{err}");
    // without its own, the worker gets the operator's, and a loopback one is said
    let (url, err) = run(&["--prefect-api-url", "http://localhost:4200/api/"]);
    assert_eq!(url, "http://localhost:4200/api");
    assert!(
        err.contains(
            "the worker's PREFECT_API_URL http://localhost:4200/api is a loopback address"
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
