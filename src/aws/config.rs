//! One place builds the AWS SDK configuration, following the AWS conventions: environment
//! variables, shared config and credentials files, profiles (SSO and credential_process
//! included), then the flags. Credentials are never printed.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::{Region, SdkConfig};

/// Where and as whom to call AWS.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct AwsArgs {
    /// The AWS profile (default: AWS_PROFILE or `default`).
    #[arg(long)]
    pub profile: Option<String>,
    /// Send requests to this endpoint instead of AWS's (a local stub or emulator).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Seconds an AWS operation may take, its retries included (default 90); each attempt
    /// gets at most 30 of them, and connecting at most 5.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub aws_timeout: Option<u64>,
}

/// The default bound on one AWS operation, retries included, seconds.
pub const OPERATION_TIMEOUT_S: u64 = 90;
/// The bound on one attempt, seconds.
pub const ATTEMPT_TIMEOUT_S: u64 = 30;
/// The bound on connecting, seconds.
pub const CONNECT_TIMEOUT_S: u64 = 5;

/// The operation bound in force (set by [`sdk_config`]), for the words of a timeout.
static OPERATION_TIMEOUT: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(OPERATION_TIMEOUT_S);

/// The bound on one AWS operation in force, seconds.
pub fn operation_timeout_s() -> u64 {
    OPERATION_TIMEOUT.load(std::sync::atomic::Ordering::Relaxed)
}

/// Connect, attempt and operation bounds for an operation bound of `secs`.
fn timeouts(secs: u64) -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_S.min(secs)))
        .operation_attempt_timeout(Duration::from_secs(ATTEMPT_TIMEOUT_S.min(secs)))
        .operation_timeout(Duration::from_secs(secs))
        .build()
}

/// Attempts per request, including the first; throttling and 5xx are retried with
/// exponential backoff and jitter by the SDK's standard retry strategy.
pub const MAX_ATTEMPTS: u32 = 5;

/// The SDK's HTTPS client: hyper and rustls on ring, the TLS stack `ureq` uses too (the
/// SDK's default would build a second one, aws-lc, from C). Every SDK client needs it: the
/// SDK has no default client in this build.
pub fn https_client() -> aws_sdk_ecs::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Loads the SDK configuration for `region` (the region the client talks to), with the time
/// bounds of `args` on every client built from it: no call waits without end.
pub async fn sdk_config(args: &AwsArgs, region: &str) -> SdkConfig {
    let secs = args.aws_timeout.unwrap_or(OPERATION_TIMEOUT_S);
    OPERATION_TIMEOUT.store(secs, std::sync::atomic::Ordering::Relaxed);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts(secs))
        .region(Region::new(region.to_string()))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(p) = &args.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &args.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}
