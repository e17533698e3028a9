//! The AWS SDK's errors in words: an error's chain of sources (never the SDK's `Debug` dump),
//! a request that did not get through with the fix (which credential sources were tried, a
//! refused or unresolvable endpoint, TLS), and whether a broken connection may have carried the
//! request (a write's outcome is then unknown). Shared by every SDK client here.

use aws_sdk_ecs::error::SdkError;

/// An error and its sources, each in its own words, joined by `: ` (a message repeated by the
/// next source said once): never the SDK's `Debug` dump.
pub(crate) fn words(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut at: Option<&dyn std::error::Error> = Some(e);
    while let Some(x) = at {
        let m = x.to_string();
        if !m.is_empty() && !parts.last().is_some_and(|p| p.contains(&m)) {
            parts.push(m);
        }
        at = x.source();
    }
    parts.join(": ")
}

/// Whether a connection broke once the request may have been sent (closed before the answer,
/// reset, a broken pipe), as opposed to never connecting.
pub(crate) fn broke(chain: &str) -> bool {
    let l = chain.to_ascii_lowercase();
    [
        "connection closed before message completed",
        "connection reset",
        "broken pipe",
        "unexpected eof",
    ]
    .iter()
    .any(|k| l.contains(k))
}

/// A request that never reached AWS, in words with the fix: missing credentials (which
/// sources were tried), a refused or unknown endpoint, TLS.
pub(crate) fn dispatch_in_words<E: std::error::Error + 'static>(
    op: &str,
    e: &SdkError<E>,
) -> String {
    let chain = words(e);
    let lower = chain.to_ascii_lowercase();
    if lower.contains("credential") {
        format!(
            "{op}: no AWS credentials were found. Looked at, in order: the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE), the profile (`--profile`, else AWS_PROFILE, else `default`) in ~/.aws/config and ~/.aws/credentials with its SSO or credential_process, then ECS container and EC2 instance metadata. Fix: `aws sso login --profile P` and `--profile P`, or export keys"
        )
    } else if lower.contains("timed out") || lower.contains("timeout") {
        format!(
            "{op}: no connection to the endpoint within {} s ({chain}); check `--endpoint-url` or the network",
            super::config::CONNECT_TIMEOUT_S.min(super::config::operation_timeout_s())
        )
    } else if lower.contains("connection refused") {
        format!(
            "{op}: the endpoint refused the connection ({chain}); check `--endpoint-url` or the network"
        )
    } else if lower.contains("dns")
        || lower.contains("failed to lookup")
        || lower.contains("resolve")
    {
        format!(
            "{op}: the endpoint's name does not resolve ({chain}); check `--endpoint-url`, `--region` and DNS"
        )
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!(
            "{op}: TLS failed ({chain}); a proxy that intercepts TLS needs its CA in the system store"
        )
    } else {
        // a connection that broke (reset, closed before the answer): the request may or may
        // not have been read; a write says so itself (`explain_write`)
        format!(
            "{op}: the connection to the endpoint broke before an answer came ({chain}); check `--endpoint-url`, a proxy or the network, and run the command again"
        )
    }
}
