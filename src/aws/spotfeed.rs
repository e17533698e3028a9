//! Fetching the public Fargate Spot price feed (not in the Price List API).

/// The feed behind the AWS Fargate pricing page (undocumented; see the domain notes).
pub(crate) const SPOT_FEED_URL: &str =
    "https://dftu77xade0tc.cloudfront.net/fargate-spot-prices.json";

/// The feed could not be fetched or read, in words with the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct FeedError(pub(crate) String);

/// Downloads the feed text.
pub(crate) fn fetch(url: &str) -> Result<String, FeedError> {
    fetch_text(url).map_err(FeedError)
}

/// [`fetch`]'s work, its failure in words.
fn fetch_text(url: &str) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut resp = agent.get(url).call().map_err(|e| {
        format!("cannot fetch the Fargate Spot price feed from {url}: {e}; pass a saved copy with --spot-prices FILE")
    })?;
    resp.body_mut()
        .with_config()
        .limit(20 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("cannot read the Fargate Spot price feed from {url}: {e}"))
}
