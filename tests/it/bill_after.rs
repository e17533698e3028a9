//! The bill afterwards: the emitted `billing/compare.sh` runs with the real AWS CLI (whose
//! botocore model checks every parameter) against moto's Cost Explorer; the cost-allocation
//! tags reach the flow runs' RunTask requests (checked in `crash_chain`, on a real worker).

use crate::moto::{aws_cli_path, case, emit_cli, moto, server, text};

#[test]
fn the_emitted_cost_explorer_query_runs_with_the_aws_cli() {
    let (Some(url), Some(aws)) = (moto(), server("SPOTPLAN_AWS_CLI")) else {
        return;
    };
    let c = case("bill");
    let dir = std::env::temp_dir().join(format!("{}-emit", c.cluster));
    let o = emit_cli(&c, &dir);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("activate the cost-allocation tags"),
        "{}",
        text(&o)
    );
    let filter: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("billing/cost-explorer-filter.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        filter["And"][1]["Tags"]["Values"][0],
        c.cluster.as_str(),
        "the pool's tasks"
    );
    let path = aws_cli_path(&dir, &aws, &url);
    let o = crate::moto::run_aws_script(
        &dir.join("billing/compare.sh"),
        &["2027-01-01", "2027-02-01"],
        &path,
    );
    assert!(o.status.success(), "{}", text(&o));
    let answer: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(answer.get("ResultsByTime").is_some(), "{answer}");
    // without the month it says how to call it
    let o = crate::moto::run_aws_script(&dir.join("billing/compare.sh"), &[], &path);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("first day of the month"),
        "{}",
        text(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
