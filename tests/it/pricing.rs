//! Price List items, the Spot feed, and GetProducts paging and errors against a loopback stub
//! of the Price List API (`stub.rs`: the real client, signing, JSON 1.1 protocol and retries).

use std::time::Duration;

use serde_json::json;
use spotplan::aws::pricing::{get_products, on_demand};
use spotplan::pricing::pricelist::{PriceListError, parse_item, parse_spot_feed};

use crate::common::root;
use crate::stub::{Reply, Request, Stub};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("fixtures").join(name)).unwrap()
}

/// A recorded GetProducts page, as the API sent it.
fn page(name: &str) -> Reply {
    Reply::recorded(fixture(&format!("pricelist/{name}")))
}

fn has_filter(r: &Request, field: &str, value: &str) -> bool {
    r.json()["Filters"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x["Field"] == field && x["Value"] == value))
}

fn next_token(r: &Request) -> Option<String> {
    r.json()["NextToken"].as_str().map(str::to_string)
}

/// A Price List client of the stub, with `attempts` tries and millisecond backoffs.
async fn pricing(stub: &Stub, attempts: u32) -> aws_sdk_pricing::Client {
    use aws_sdk_pricing::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&stub.url)
        .credentials_provider(Credentials::new(
            "AKIDSPOTPLANTEST",
            "stub-secret",
            None,
            None,
            "test",
        ))
        .http_client(spotplan::aws::config::https_client())
        .retry_config(
            aws_sdk_pricing::config::retry::RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(2)),
        )
        .load()
        .await;
    aws_sdk_pricing::Client::new(&conf)
}

#[test]
fn a_real_item_parses_to_its_price() {
    let it = parse_item(&fixture("pricelist/item-use1-vcpu.json"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (it.region.as_str(), it.usd, it.sku.as_str()),
        ("us-east-1", 0.04048, "8CESGAFWKAJ98PME")
    );
}

#[test]
fn bad_items_are_refused_with_a_reason() {
    assert_eq!(
        parse_item(&fixture("pricelist/item-no-usd.json"))
            .unwrap_err()
            .to_string(),
        "Price List item `NOUSD00000000001` (USE1-Fargate-vCPU-Hours:perCPU) has no USD price; refusing to guess"
    );
    assert_eq!(
        parse_item(&fixture("pricelist/item-unknown-unit.json"))
            .unwrap_err()
            .to_string(),
        "Price List item `BADUNIT000000001` (USE1-Fargate-GB-Hours) is priced per `fortnights`; spotplan knows `hours`, `Hrs` and `GB-Hours`"
    );
    assert!(matches!(
        parse_item("{\"product\": "),
        Err(PriceListError::Malformed(_))
    ));
}

#[test]
fn the_spot_feed_parses_and_shape_changes_are_explained() {
    let (rates, version) = parse_spot_feed(&fixture("fargate-spot-prices.json")).unwrap();
    assert_eq!(version, "20260928120000");
    assert_eq!(rates["us-east-1"].spot_vcpu_hour, Some(0.01288871));
    assert_eq!(rates["eu-west-1"].spot_arm_gb_hour, Some(0.00107649));
    let e = parse_spot_feed("{\"metadata\":{},\"data\":[]}")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("the Fargate Spot price feed changed shape (no `prices` array)"),
        "{e}"
    );
    assert!(e.ends_with("pass a file of that shape with --spot-prices"));
    let bad_price = r#"{"prices":[{"unit":"vCPU-Hours","price":{"USD":"cheap"},"attributes":{"aws:region":"us-east-1"}}]}"#;
    assert!(
        parse_spot_feed(bad_price)
            .unwrap_err()
            .to_string()
            .contains("prices[0] (us-east-1 vCPU-Hours) has no numeric USD price")
    );
}

#[tokio::test]
async fn three_pages_irregular_prefixes_arm_storage_and_windows_ignored() {
    let stub = Stub::start(|r, _| {
        if has_filter(r, "storagetype", "default") {
            return Reply::ok(json!({"FormatVersion": "aws_v1"}));
        }
        match next_token(r).as_deref() {
            None => page("use1-page1.json"),
            Some("token-2") => page("use1-page2.json"),
            Some("token-3") => page("use1-page3.json"),
            Some(_) => Reply::error(400, "InvalidParameterException", "bad token"),
        }
    });
    let client = pricing(&stub, 1).await;
    let rates = on_demand(&client, Some("us-east-1")).await.unwrap();
    let r = &rates["us-east-1"];
    assert_eq!((r.vcpu_hour, r.gb_hour), (Some(0.04048), Some(0.004445)));
    assert_eq!(
        (r.arm_vcpu_hour, r.arm_gb_hour),
        (Some(0.03238), Some(0.00356))
    );
    assert_eq!(r.storage_gb_hour, Some(0.000111));
    // Windows items are ignored, not mistaken for Linux rates
    assert_eq!((r.windows_vcpu_hour, r.windows_gb_hour), (None, None));
    let reqs = stub.calls("GetProducts");
    assert_eq!(reqs.len(), 4, "three compute pages, one storage query");
    let first = &reqs[0];
    assert_eq!(first.json()["ServiceCode"], "AmazonECS");
    assert!(has_filter(first, "regionCode", "us-east-1"));
    assert!(has_filter(first, "productFamily", "Compute"));
    assert_eq!(
        reqs.iter().map(next_token).collect::<Vec<_>>(),
        [None, Some("token-2".into()), Some("token-3".into()), None]
    );

    // all regions: EU- and EUC1- prefixes land in their regions
    let stub = Stub::start(|r, _| {
        if r.json()["Filters"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x["Field"] == "regionCode"))
        {
            Reply::error(
                400,
                "InvalidParameterException",
                "no region filter expected",
            )
        } else {
            page("eu-page.json")
        }
    });
    let client = pricing(&stub, 1).await;
    let rates = on_demand(&client, None).await.unwrap();
    assert_eq!(
        rates.keys().collect::<Vec<_>>(),
        ["eu-central-1", "eu-west-1"]
    );
    assert_eq!(rates["eu-west-1"].vcpu_hour, Some(0.04048));
    assert_eq!(rates["eu-central-1"].gb_hour, Some(0.00511));
}

#[tokio::test]
async fn throttling_is_retried_then_succeeds() {
    let stub = Stub::start(|_, nth| {
        if nth < 2 {
            Reply::error(400, "ThrottlingException", "Rate exceeded")
        } else {
            page("use1-page3.json")
        }
    });
    let client = pricing(&stub, 5).await;
    let docs = get_products(&client, &[("regionCode", "us-east-1")])
        .await
        .unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(stub.calls("GetProducts").len(), 3);
}

#[tokio::test]
async fn endless_throttling_and_5xx_storms_give_clear_errors() {
    let throttle = Stub::start(|_, _| Reply::error(400, "ThrottlingException", "Rate exceeded"));
    let client = pricing(&throttle, 5).await;
    let e = get_products(&client, &[]).await.unwrap_err().to_string();
    assert_eq!(
        e,
        "the AWS Price List API kept throttling the requests (ThrottlingException) after 5 attempts; try again in a minute"
    );
    assert_eq!(throttle.calls("GetProducts").len(), 5);

    let storm = Stub::start(|_, _| Reply::error(503, "ServiceUnavailableException", "slow down"));
    let client = pricing(&storm, 5).await;
    let e = get_products(&client, &[]).await.unwrap_err().to_string();
    assert!(
        e.starts_with("the AWS Price List API kept answering HTTP 503 after 5 attempts"),
        "{e}"
    );
    assert_eq!(storm.calls("GetProducts").len(), 5);

    let denied = Stub::start(|_, _| Reply::error(400, "AccessDeniedException", "no"));
    let client = pricing(&denied, 5).await;
    assert_eq!(
        get_products(&client, &[]).await.unwrap_err().to_string(),
        "access denied by the AWS Price List API: the credentials need the `pricing:GetProducts` permission"
    );
    assert_eq!(denied.calls("GetProducts").len(), 1, "not retried");
}

#[tokio::test]
async fn an_expired_next_token_restarts_the_listing() {
    // the first listing gets page 1 (its NextToken is token-2, which has expired by the
    // time it is used); the restarted listing gets the last page
    let stub = Stub::start(|r, nth| match (nth, next_token(r).as_deref()) {
        (_, Some("token-2")) => Reply::error(400, "ExpiredNextTokenException", "expired"),
        (0, None) => page("use1-page1.json"),
        _ => page("use1-page3.json"),
    });
    let client = pricing(&stub, 5).await;
    let docs = get_products(&client, &[]).await.unwrap();
    // the pages before the expiry are dropped, not duplicated
    assert_eq!(docs.len(), 3);
    assert_eq!(
        stub.calls("GetProducts")
            .iter()
            .map(next_token)
            .collect::<Vec<_>>(),
        [None, Some("token-2".into()), None]
    );
}

#[tokio::test]
async fn malformed_price_list_json_is_an_error_not_a_price() {
    let stub = Stub::start(|_, _| {
        Reply::ok(
            json!({"FormatVersion": "aws_v1", "PriceList": ["{\"product\": {\"attributes\": "]}),
        )
    });
    let client = pricing(&stub, 1).await;
    let e = on_demand(&client, Some("us-east-1"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("a Price List item is not valid JSON"), "{e}");
}

#[tokio::test]
async fn a_region_without_fargate_is_said_plainly() {
    let stub = Stub::start(|_, _| Reply::ok(json!({})));
    let client = pricing(&stub, 1).await;
    assert_eq!(
        on_demand(&client, Some("mars-north-1"))
            .await
            .unwrap_err()
            .to_string(),
        "the AWS Price List has no Fargate prices for region `mars-north-1`; check the region code (like `us-east-1`) and that Fargate runs there"
    );
}
