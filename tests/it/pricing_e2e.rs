//! `spotplan pricing fetch --endpoint-url` against a small GetProducts stub on 127.0.0.1: the
//! real SDK client, signing, JSON 1.1 protocol and paging, with no internet. Then the cache in
//! use: `pricing show`, `pricing diff`, and a scenario with `source = "cache"`.

use std::process::Command;

use crate::common::root;
use crate::stub::{Reply, Request, Stub};

fn page(name: &str) -> String {
    std::fs::read_to_string(root().join("fixtures/pricelist").join(name)).unwrap()
}

/// Answers GetProducts from the recorded pages (by NextToken and filters) and GET /spot.json
/// with the Spot feed fixture; records every request.
fn start_stub() -> Stub {
    Stub::start(|req, _| {
        if req.method == "GET" && req.path == "/spot.json" {
            return Reply::recorded(
                std::fs::read_to_string(root().join("fixtures/fargate-spot-prices.json")).unwrap(),
            );
        }
        if req.operation() != "GetProducts" {
            return Reply::error(404, "UnknownOperationException", "not found");
        }
        let v = req.json();
        let storage = v["Filters"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x["Field"] == "storagetype"));
        match (storage, v["NextToken"].as_str()) {
            (true, _) => Reply::recorded("{\"FormatVersion\":\"aws_v1\",\"PriceList\":[]}".into()),
            (false, None) => Reply::recorded(page("use1-page1.json")),
            (false, Some("token-2")) => Reply::recorded(page("use1-page2.json")),
            (false, Some("token-3")) => Reply::recorded(page("use1-page3.json")),
            (false, Some(_)) => Reply::error(400, "InvalidNextTokenException", "bad token"),
        }
    })
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTSECRETKEY";

fn spotplan(args: &[&str], cache: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args(args)
        .current_dir(root())
        .env("SPOTPLAN_CACHE_DIR", cache)
        .env("AWS_ACCESS_KEY_ID", "AKIDSPOTPLANTEST")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_CONFIG_FILE", "/nonexistent/spotplan-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/spotplan-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap()
}

#[test]
fn pricing_fetch_pages_through_a_local_stub_and_fills_the_cache() {
    let stub = start_stub();
    let addr = stub.url.clone();
    let cache = std::env::temp_dir().join(format!("spotplan-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let spot_url = format!("{addr}/spot.json");
    let o = spotplan(
        &[
            "pricing",
            "fetch",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &addr,
            "--spot-url",
            &spot_url,
            "--format",
            "json",
        ],
        &cache,
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{err}");
    assert!(
        !out.contains(SECRET) && !err.contains(SECRET),
        "a secret was printed"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let r = &v["regions"]["us-east-1"];
    assert_eq!(r["vcpu_hour"], 0.04048);
    assert_eq!(r["arm_gb_hour"], 0.00356);
    assert_eq!(r["spot_vcpu_hour"], 0.01288871);
    assert!(r.get("windows_vcpu_hour").is_none_or(|w| w.is_null()));

    let reqs = stub.requests();
    let gp: Vec<&Request> = reqs.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(gp.len(), 4, "three compute pages and one storage query");
    for r in &gp {
        assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
        let auth = r.header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDSPOTPLANTEST/"),
            "{auth}"
        );
        assert!(
            auth.contains("/us-east-1/pricing/aws4_request"),
            "signed for the pricing service: {auth}"
        );
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["ServiceCode"], "AmazonECS");
        assert!(
            body["Filters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["Type"] == "TERM_MATCH"
                    && f["Field"] == "regionCode"
                    && f["Value"] == "us-east-1")
        );
    }
    let tokens: Vec<String> = gp
        .iter()
        .filter_map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.body).ok()?["NextToken"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        tokens,
        ["token-2", "token-3"],
        "pages 2 and 3 were asked for by token"
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "GET" && r.path == "/spot.json")
    );

    // the cache is in use
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cache.join("prices.json")).unwrap()).unwrap();
    assert_eq!(cached["format"], "spotplan-prices/1");
    assert!(
        cached["regions"]["us-east-1"]["source"]
            .as_str()
            .unwrap()
            .contains(&addr)
    );
    let show = spotplan(&["pricing", "show", "--region", "us-east-1"], &cache);
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.starts_with("source: cache · as of "), "{text}");
    assert!(text.contains("0.040480"), "{text}");
    let diff = spotplan(
        &[
            "pricing",
            "diff",
            "--region",
            "us-east-1",
            "--format",
            "json",
        ],
        &cache,
    );
    let rows: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    // the fixture has the bundled on-demand rates; only Windows rates (not fetched) differ
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["rate"] != "vcpu_hour"),
        "{rows}"
    );

    // a scenario on the cache
    let scen = cache.join("cached.toml");
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml"))
        .unwrap()
        .replace("source = \"bundled\"", "source = \"cache\"");
    std::fs::write(&scen, src).unwrap();
    let simulate = |scen: &std::path::Path| -> serde_json::Value {
        let sim = spotplan(
            &[
                "simulate",
                scen.to_str().unwrap(),
                "-n",
                "2",
                "--horizon",
                "1d",
                "--format",
                "json",
            ],
            &cache,
        );
        assert!(
            sim.status.success(),
            "{}",
            String::from_utf8_lossy(&sim.stderr)
        );
        serde_json::from_slice(&sim.stdout).unwrap()
    };
    let v = simulate(&scen);
    assert_eq!(v["meta"]["price_source"]["kind"], "cache");
    assert!(
        v["meta"]["price_source"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("fetched ")
    );
    // `live` with a fresh cache does not fetch again
    let live = std::fs::read_to_string(&scen)
        .unwrap()
        .replace("source = \"cache\"", "source = \"live\"\nmax_age = \"1d\"");
    std::fs::write(&scen, live).unwrap();
    let before = stub.requests().len();
    simulate(&scen);
    assert_eq!(stub.requests().len(), before);
    // the bundled snapshot is regenerated by the same code
    let bundled = cache.join("bundled.json");
    let o = spotplan(
        &[
            "pricing",
            "fetch",
            "--all-regions",
            "--endpoint-url",
            &addr,
            "--spot-prices",
            "fixtures/fargate-spot-prices.json",
            "--write-bundled",
            bundled.to_str().unwrap(),
        ],
        &cache,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let snap: spotplan::pricing::PriceSnapshot =
        serde_json::from_str(&std::fs::read_to_string(&bundled).unwrap()).unwrap();
    assert_eq!(snap.regions["us-east-1"].spot_gb_hour, Some(0.00141527));
    assert!(snap.source.contains("GetProducts AmazonECS"));
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn a_cache_source_without_a_cache_says_what_to_run() {
    let cache = std::env::temp_dir().join(format!("spotplan-nocache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir_all(&cache).unwrap();
    let scen = cache.join("s.toml");
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml"))
        .unwrap()
        .replace("source = \"bundled\"", "source = \"cache\"");
    std::fs::write(&scen, src).unwrap();
    let o = spotplan(&["validate", scen.to_str().unwrap()], &cache);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.ends_with("`pricing.source`: no cached prices for `us-east-1`; run `spotplan pricing fetch --region us-east-1` first, or use source = \"bundled\"\n"),
        "{err}"
    );
    let o = spotplan(
        &[
            "pricing",
            "fetch",
            "--region",
            "us-east-1",
            "--pricing-region",
            "eu-west-1",
        ],
        &cache,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: --pricing-region `eu-west-1` has no Price List endpoint; allowed: `us-east-1`, `eu-central-1`, `ap-south-1`\n"
    );
    let _ = std::fs::remove_dir_all(&cache);
}

/// `pricing fetch` that cannot reach the Price List API says why in words (never the SDK's
/// `Debug` dump) and exits 2, an environment failure, as the exit-code table says; without
/// credentials it names the sources it looked at. A spot price file that cannot be read is bad
/// input: exit 1.
#[test]
fn a_fetch_that_cannot_reach_aws_says_why_and_exits_2() {
    let cache = std::env::temp_dir().join(format!("spotplan-unreach-{}", std::process::id()));
    std::fs::create_dir_all(&cache).unwrap();
    // a port nothing listens on
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let args = [
        "pricing",
        "fetch",
        "--region",
        "us-east-1",
        "--endpoint-url",
        &url,
        "--spot-prices",
        "fixtures/fargate-spot-prices.json",
    ];
    let o = spotplan(&args, &cache);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("refused the connection"), "{err}");
    assert!(
        !err.contains("DispatchFailure {") && !err.contains("ConnectorError {"),
        "{err}"
    );
    // no credentials anywhere: the sources looked at are named
    let o = Command::new(env!("CARGO_BIN_EXE_spotplan"))
        .args(args)
        .current_dir(root())
        .env("SPOTPLAN_CACHE_DIR", &cache)
        .env("AWS_CONFIG_FILE", "/nonexistent/spotplan-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/spotplan-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no AWS credentials were found. Looked at, in order: the environment"),
        "{err}"
    );
    // a spot price file that is not there: bad input
    let mut bad = args.to_vec();
    bad[7] = "fixtures/no-such-spot-prices.json";
    let o = spotplan(&bad, &cache);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&cache);
}
