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

/// Loads the SDK configuration for `region` (the region the client talks to).
pub async fn sdk_config(args: &AwsArgs, region: &str) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
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
