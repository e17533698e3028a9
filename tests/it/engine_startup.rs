//! The engine start-up's two parts on the real thing: `tools/engine-startup/measure.py --check`
//! runs `prefect flow-run execute` (the command prefect-aws's ECS worker gives the task) on the
//! installed Prefect against a real server, and sends it a SIGTERM before and after its handler.

use crate::common::root;
use crate::moto::server;

/// What `spotplan::scenario::engine_startup` models: the first SIGTERM handler is installed by
/// `prefect/cli/flow_run.py` (the script refuses any other) before the flow's code runs; a
/// SIGTERM before it kills the process and leaves the run Pending (prefect-aws's observer then
/// crashes it), one after it exits 0 with the run AwaitingRetry.
#[test]
fn a_sigterm_reschedules_only_after_the_supervisor_installed_its_handler() {
    let (Some(prefect), Some(python)) = (
        server("SPOTPLAN_PREFECT_API_URL"),
        server("SPOTPLAN_PREFECT_PYTHON"),
    ) else {
        return;
    };
    let home = std::env::temp_dir().join(format!("spotplan-startup-{}", std::process::id()));
    let o = std::process::Command::new(&python)
        .arg(root().join("tools/engine-startup/measure.py"))
        .arg("--check")
        .env("PREFECT_API_URL", &prefect)
        .env("PREFECT_HOME", &home)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&home).ok();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // both parts take time: the handler comes after process start, the flow after the handler
    assert!(v["unprotected_s"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["loading_s"].as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(
        v["sigterm"],
        serde_json::json!([
            {"after_handler": false, "exit": -15, "state": "PENDING (Pending)"},
            {"after_handler": true, "exit": 0, "state": "SCHEDULED (AwaitingRetry)"},
        ]),
        "{v}"
    );
}
