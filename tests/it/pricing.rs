//! Price List items, the Spot feed, GetProducts paging and errors (aws-smithy-mocks), the
//! cache, and an end-to-end `pricing fetch` against a local GetProducts stub.

use std::time::Duration;

use aws_sdk_pricing::operation::get_products::{GetProductsError, GetProductsOutput};
use aws_sdk_pricing::types::error::{
    AccessDeniedException, ExpiredNextTokenException, ThrottlingException,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use spotplan::aws::pricing::{get_products, on_demand};
use spotplan::pricing::pricelist::{PriceListError, parse_item, parse_spot_feed};

use crate::common::root;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("fixtures").join(name)).unwrap()
}

/// The PriceList strings and NextToken of a recorded page.
fn page(name: &str) -> (Vec<String>, Option<String>) {
    let v: serde_json::Value =
        serde_json::from_str(&fixture(&format!("pricelist/{name}"))).unwrap();
    let list = v["PriceList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    (list, v["NextToken"].as_str().map(str::to_string))
}

fn output(name: &str) -> GetProductsOutput {
    let (list, token) = page(name);
    GetProductsOutput::builder()
        .format_version("aws_v1")
        .set_price_list(Some(list))
        .set_next_token(token)
        .build()
}

fn has_filter(
    req: &aws_sdk_pricing::operation::get_products::GetProductsInput,
    field: &str,
    value: &str,
) -> bool {
    req.filters()
        .iter()
        .any(|f| f.field() == field && f.value() == value)
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

fn fast_retries(c: aws_sdk_pricing::config::Builder) -> aws_sdk_pricing::config::Builder {
    c.retry_config(
        aws_sdk_pricing::config::retry::RetryConfig::standard()
            .with_max_attempts(5)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(2)),
    )
}

#[tokio::test]
async fn three_pages_irregular_prefixes_arm_storage_and_windows_ignored() {
    let p1 = mock!(aws_sdk_pricing::Client::get_products)
        .match_requests(|r| {
            r.service_code() == Some("AmazonECS")
                && has_filter(r, "regionCode", "us-east-1")
                && has_filter(r, "productFamily", "Compute")
                && r.next_token().is_none()
        })
        .then_output(|| output("use1-page1.json"));
    let p2 = mock!(aws_sdk_pricing::Client::get_products)
        .match_requests(|r| r.next_token() == Some("token-2"))
        .then_output(|| output("use1-page2.json"));
    let p3 = mock!(aws_sdk_pricing::Client::get_products)
        .match_requests(|r| r.next_token() == Some("token-3"))
        .then_output(|| output("use1-page3.json"));
    let storage = mock!(aws_sdk_pricing::Client::get_products)
        .match_requests(|r| has_filter(r, "storagetype", "default"))
        .then_output(|| {
            GetProductsOutput::builder()
                .format_version("aws_v1")
                .build()
        });
    let client = mock_client!(
        aws_sdk_pricing,
        RuleMode::Sequential,
        [&p1, &p2, &p3, &storage]
    );
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
    assert_eq!(
        (
            p1.num_calls(),
            p2.num_calls(),
            p3.num_calls(),
            storage.num_calls()
        ),
        (1, 1, 1, 1)
    );

    // all regions: EU- and EUC1- prefixes land in their regions
    let all = mock!(aws_sdk_pricing::Client::get_products)
        .match_requests(|r| !r.filters().iter().any(|f| f.field() == "regionCode"))
        .then_output(|| output("eu-page.json"));
    let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, [&all]);
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
    let rule = mock!(aws_sdk_pricing::Client::get_products)
        .sequence()
        .error(|| {
            GetProductsError::ThrottlingException(
                ThrottlingException::builder()
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .times(2)
        .output(|| output("use1-page3.json"))
        .build();
    let client = mock_client!(aws_sdk_pricing, RuleMode::Sequential, [&rule], fast_retries);
    let docs = get_products(&client, &[("regionCode", "us-east-1")])
        .await
        .unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn endless_throttling_and_5xx_storms_give_clear_errors() {
    let throttle = mock!(aws_sdk_pricing::Client::get_products).then_error(|| {
        GetProductsError::ThrottlingException(
            ThrottlingException::builder()
                .message("Rate exceeded")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_pricing,
        RuleMode::MatchAny,
        [&throttle],
        fast_retries
    );
    let e = get_products(&client, &[]).await.unwrap_err().to_string();
    assert_eq!(
        e,
        "the AWS Price List API kept throttling the requests (ThrottlingException) after 5 attempts; try again in a minute"
    );
    assert_eq!(throttle.num_calls(), 5);

    let storm = mock!(aws_sdk_pricing::Client::get_products)
        .sequence()
        .http_status(503, None)
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, [&storm], fast_retries);
    let e = get_products(&client, &[]).await.unwrap_err().to_string();
    assert!(
        e.starts_with("the AWS Price List API kept answering HTTP 503 after 5 attempts"),
        "{e}"
    );

    let denied = mock!(aws_sdk_pricing::Client::get_products).then_error(|| {
        GetProductsError::AccessDeniedException(
            AccessDeniedException::builder().message("no").build(),
        )
    });
    let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, [&denied], fast_retries);
    assert_eq!(
        get_products(&client, &[]).await.unwrap_err().to_string(),
        "access denied by the AWS Price List API: the credentials need the `pricing:GetProducts` permission"
    );
}

#[tokio::test]
async fn an_expired_next_token_restarts_the_listing() {
    let first = mock!(aws_sdk_pricing::Client::get_products)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| output("use1-page1.json"));
    let expired = mock!(aws_sdk_pricing::Client::get_products)
        .match_requests(|r| r.next_token() == Some("token-2"))
        .then_error(|| {
            GetProductsError::ExpiredNextTokenException(
                ExpiredNextTokenException::builder().build(),
            )
        });
    let again = mock!(aws_sdk_pricing::Client::get_products)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| output("use1-page3.json"));
    let client = mock_client!(
        aws_sdk_pricing,
        RuleMode::Sequential,
        [&first, &expired, &again],
        fast_retries
    );
    let docs = get_products(&client, &[]).await.unwrap();
    // the pages before the expiry are dropped, not duplicated
    assert_eq!(docs.len(), 3);
}

#[tokio::test]
async fn malformed_price_list_json_is_an_error_not_a_price() {
    let rule = mock!(aws_sdk_pricing::Client::get_products).then_output(|| {
        GetProductsOutput::builder()
            .price_list("{\"product\": {\"attributes\": ")
            .build()
    });
    let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, [&rule]);
    let e = on_demand(&client, Some("us-east-1"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("a Price List item is not valid JSON"), "{e}");
}

#[tokio::test]
async fn a_region_without_fargate_is_said_plainly() {
    let rule = mock!(aws_sdk_pricing::Client::get_products)
        .then_output(|| GetProductsOutput::builder().build());
    let client = mock_client!(aws_sdk_pricing, RuleMode::MatchAny, [&rule]);
    assert_eq!(
        on_demand(&client, Some("mars-north-1"))
            .await
            .unwrap_err()
            .to_string(),
        "the AWS Price List has no Fargate prices for region `mars-north-1`; check the region code (like `us-east-1`) and that Fargate runs there"
    );
}
