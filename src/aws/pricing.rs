//! GetProducts for Fargate: every page, filters, and errors a user can act on.

use std::collections::BTreeMap;

use aws_sdk_pricing::error::SdkError;
use aws_sdk_pricing::operation::get_products::GetProductsError;
use aws_sdk_pricing::types::{Filter, FilterType};

use crate::pricing::RegionRates;
use crate::pricing::pricelist::{on_demand_rates, parse_item};

/// Regions with a Price List API endpoint; any of them prices every region.
pub const PRICE_LIST_REGIONS: [&str; 3] = ["us-east-1", "eu-central-1", "ap-south-1"];

/// Errors fetching prices.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A message for the user.
    #[error("{0}")]
    Message(String),
}

fn explain(e: SdkError<GetProductsError>) -> FetchError {
    let msg = match &e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            match se.err() {
                GetProductsError::ThrottlingException(_) => format!(
                    "the AWS Price List API kept throttling the requests (ThrottlingException) after {} attempts; try again in a minute",
                    super::config::MAX_ATTEMPTS
                ),
                GetProductsError::AccessDeniedException(_) => {
                    "access denied by the AWS Price List API: the credentials need the `pricing:GetProducts` permission".into()
                }
                GetProductsError::InvalidNextTokenException(_) => {
                    "the AWS Price List API rejected its own pagination token (InvalidNextTokenException); run the fetch again".into()
                }
                GetProductsError::InvalidParameterException(x) => {
                    format!("the AWS Price List API rejected a parameter: {}", x.message().unwrap_or("no detail"))
                }
                GetProductsError::NotFoundException(_) => "the AWS Price List API does not know service code `AmazonECS`".into(),
                GetProductsError::InternalErrorException(_) => format!(
                    "the AWS Price List API kept failing with an internal error after {} attempts; try again later",
                    super::config::MAX_ATTEMPTS
                ),
                other if status >= 500 => format!(
                    "the AWS Price List API kept answering HTTP {status} after {} attempts ({})",
                    super::config::MAX_ATTEMPTS,
                    other.meta().code().unwrap_or("no error code")
                ),
                other => format!(
                    "the AWS Price List API answered HTTP {status} {}: {}",
                    other.meta().code().unwrap_or(""),
                    other.meta().message().unwrap_or("no message")
                ),
            }
        }
        SdkError::DispatchFailure(_) => {
            super::errors::dispatch_in_words("the AWS Price List API (GetProducts)", &e)
        }
        SdkError::TimeoutError(_) => format!(
            "the AWS Price List API did not answer within {} s (--aws-timeout); check the network",
            super::config::operation_timeout_s()
        ),
        SdkError::ResponseError(_) => format!(
            "the AWS Price List API sent an answer spotplan cannot read: {}",
            super::errors::words(&e)
        ),
        other => format!("calling the AWS Price List API failed: {other}"),
    };
    FetchError::Message(msg)
}

fn term(field: &str, value: &str) -> Result<Filter, FetchError> {
    Filter::builder()
        .r#type(FilterType::TermMatch)
        .field(field)
        .value(value)
        .build()
        .map_err(|e| FetchError::Message(format!("cannot build a Price List filter: {e}")))
}

/// Every PriceList document of `AmazonECS` matching the filters, across all pages. An
/// expired pagination token restarts the listing from the first page (twice at most).
pub async fn get_products(
    client: &aws_sdk_pricing::Client,
    filters: &[(&str, &str)],
) -> Result<Vec<String>, FetchError> {
    let filters: Vec<Filter> = filters
        .iter()
        .map(|(f, v)| term(f, v))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut restarts = 0;
    loop {
        let resp = client
            .get_products()
            .service_code("AmazonECS")
            .format_version("aws_v1")
            .set_filters(Some(filters.clone()))
            .set_next_token(token.clone())
            .max_results(100)
            .send()
            .await;
        match resp {
            Ok(page) => {
                out.extend(page.price_list().iter().cloned());
                token = page
                    .next_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                if token.is_none() {
                    return Ok(out);
                }
            }
            Err(SdkError::ServiceError(se))
                if matches!(se.err(), GetProductsError::ExpiredNextTokenException(_))
                    && restarts < 2 =>
            {
                restarts += 1;
                out.clear();
                token = None;
            }
            Err(e) => return Err(explain(e)),
        }
    }
}

/// On-demand Fargate rates (x86 and ARM vCPU and GB, storage) for `region`, or for every
/// region when `None`.
pub async fn on_demand(
    client: &aws_sdk_pricing::Client,
    region: Option<&str>,
) -> Result<BTreeMap<String, RegionRates>, FetchError> {
    let mut compute = vec![("productFamily", "Compute")];
    let mut storage = vec![("storagetype", "default")];
    if let Some(r) = region {
        compute.insert(0, ("regionCode", r));
        storage.insert(0, ("regionCode", r));
    }
    let mut docs = get_products(client, &compute).await?;
    docs.extend(get_products(client, &storage).await?);
    let mut items = Vec::new();
    for d in &docs {
        if let Some(it) = parse_item(d).map_err(|e| FetchError::Message(e.to_string()))? {
            items.push(it);
        }
    }
    let rates = on_demand_rates(&items).map_err(|e| FetchError::Message(e.to_string()))?;
    if let Some(r) = region
        && !rates.contains_key(r)
    {
        return Err(FetchError::Message(format!(
            "the AWS Price List has no Fargate prices for region `{r}`; check the region code (like `us-east-1`) and that Fargate runs there"
        )));
    }
    Ok(rates)
}
