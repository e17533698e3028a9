//! AWS's Query protocol (a form-encoded POST, an XML answer), signed with Signature Version 4
//! by the signer the SDK is built on (`aws-sigv4`), with the credentials the SDK configuration
//! resolved: the few CloudFormation (and EC2) reads `plan` needs, without an SDK crate per
//! service (each is minutes of build on two cores). Bounded like the SDK clients: connecting 5
//! s, each attempt 30 s, at most [`super::config::MAX_ATTEMPTS`] attempts for throttling and
//! 5xx answers.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::deploy::api::ApiError;

/// A signed Query API client for one region.
pub struct Query {
    agent: ureq::Agent,
    credentials: Credentials,
    region: String,
    /// `--endpoint-url`, which replaces every service's endpoint (as for the SDK clients).
    endpoint: Option<String>,
}

/// `s` form-encoded (RFC 3986 unreserved characters kept, everything else `%XX`).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of the first `<tag>` element of `xml`.
pub(crate) fn first(xml: &roxmltree::Document<'_>, tag: &str) -> Option<String> {
    xml.descendants()
        .find(|n| n.has_tag_name(tag))
        .and_then(|n| n.text())
        .map(str::to_string)
}

/// The text of `node`'s first descendant `<tag>`.
pub(crate) fn child(node: roxmltree::Node<'_, '_>, tag: &str) -> Option<String> {
    node.descendants()
        .find(|n| n.has_tag_name(tag))
        .and_then(|n| n.text())
        .map(str::to_string)
}

impl Query {
    /// A client with `conf`'s credentials (resolved once, on `rt`), region and endpoint.
    pub fn new(
        conf: &aws_config::SdkConfig,
        rt: &tokio::runtime::Runtime,
    ) -> Result<Query, ApiError> {
        let provider = conf
            .credentials_provider()
            .ok_or_else(|| ApiError::Other("no AWS credentials provider is configured".into()))?;
        let credentials = rt
            .block_on(provider.provide_credentials())
            .map_err(|e| ApiError::Other(format!("cannot load the AWS credentials: {e}")))?;
        let secs = super::config::operation_timeout_s();
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(
                super::config::CONNECT_TIMEOUT_S.min(secs),
            )))
            .timeout_global(Some(Duration::from_secs(
                super::config::ATTEMPT_TIMEOUT_S.min(secs),
            )))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Query {
            agent,
            credentials,
            region: conf.region().map(|r| r.to_string()).unwrap_or_default(),
            endpoint: conf.endpoint_url().map(str::to_string),
        })
    }

    /// The endpoint of `service` (`ec2`, `cloudformation`, `servicequotas`).
    fn url(&self, service: &str) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("https://{service}.{}.amazonaws.com/", self.region))
    }

    /// One call: `action` of `service` at API `version` with `params`, signed. The answer's
    /// XML, or the error in words (access denied names the IAM action `service:action`).
    pub fn call(
        &self,
        service: &str,
        version: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, ApiError> {
        let mut body = format!("Action={}&Version={}", encode(action), encode(version));
        for (k, v) in params {
            body.push_str(&format!("&{}={}", encode(k), encode(v)));
        }
        let request = Request {
            signing_name: service,
            host: service,
            iam: service,
            action,
            content_type: "application/x-www-form-urlencoded; charset=utf-8",
            target: None,
            attempts: super::config::MAX_ATTEMPTS,
        };
        self.send(&request, &body, |text| {
            let doc = roxmltree::Document::parse(text).ok();
            (
                doc.as_ref()
                    .and_then(|d| first(d, "Code"))
                    .unwrap_or_default(),
                doc.as_ref().and_then(|d| first(d, "Message")),
            )
        })
    }

    /// One call of an AWS JSON 1.1 API: `target` (`ServiceQuotasV20190624.GetServiceQuota`)
    /// at `host` (`servicequotas`), signed for `signing_name`, with the JSON `body`, tried at
    /// most `attempts` times. The answer's JSON, or the error in words (access denied names
    /// `iam:action`).
    pub fn call_json(
        &self,
        host: &str,
        signing_name: &str,
        iam: &str,
        target: &str,
        body: &serde_json::Value,
        attempts: u32,
    ) -> Result<serde_json::Value, ApiError> {
        let action = target.rsplit('.').next().unwrap_or(target);
        let request = Request {
            signing_name,
            host,
            iam,
            action,
            content_type: "application/x-amz-json-1.1",
            target: Some(target),
            attempts: attempts.clamp(1, super::config::MAX_ATTEMPTS),
        };
        let text = self.send(&request, &body.to_string(), |text| {
            let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            // `__type` may carry a namespace: `com.amazonaws.servicequotas#NoSuchResourceException`
            let code = v["__type"]
                .as_str()
                .map(|c| c.rsplit('#').next().unwrap_or(c).to_string())
                .unwrap_or_default();
            let message = v["message"]
                .as_str()
                .or(v["Message"].as_str())
                .map(str::to_string);
            (code, message)
        })?;
        serde_json::from_str(&text)
            .map_err(|e| ApiError::Other(format!("{action}: the answer is not JSON: {e}")))
    }

    /// Sends `body`, retrying throttling and 5xx answers; `error` reads an error answer's
    /// code and message.
    fn send(
        &self,
        r: &Request<'_>,
        body: &str,
        error: impl Fn(&str) -> (String, Option<String>),
    ) -> Result<String, ApiError> {
        let url = self.url(r.host);
        let action = r.action;
        let mut attempt = 1;
        loop {
            match self.once(r, &url, body) {
                Ok((200..=299, text)) => return Ok(text),
                Ok((status, text)) => {
                    let (code, message) = error(&text);
                    let message = message.unwrap_or_else(|| format!("HTTP {status}"));
                    let transient = status >= 500
                        || matches!(
                            code.as_str(),
                            "Throttling"
                                | "ThrottlingException"
                                | "RequestLimitExceeded"
                                | "TooManyRequestsException"
                        );
                    if transient && attempt < r.attempts {
                        std::thread::sleep(Duration::from_millis(200 << attempt));
                        attempt += 1;
                        continue;
                    }
                    return Err(match code.as_str() {
                        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                            ApiError::AccessDenied {
                                permission: format!("{}:{action}", r.iam),
                                message,
                            }
                        }
                        _ if transient => ApiError::Transient(format!("{action}: {message}")),
                        "" => ApiError::Other(format!("{action} failed: {message}")),
                        _ => ApiError::Other(format!("{action} failed: {code}: {message}")),
                    });
                }
                Err(ureq::Error::Timeout(_)) => {
                    return Err(ApiError::Other(format!(
                        "no answer from {action} after {} s (--aws-timeout); check `--endpoint-url` or the network",
                        super::config::ATTEMPT_TIMEOUT_S.min(super::config::operation_timeout_s())
                    )));
                }
                Err(e) => {
                    return Err(ApiError::Other(format!(
                        "{action}: cannot reach {url}: {e}; check `--endpoint-url` or the network"
                    )));
                }
            }
        }
    }

    /// One signed POST: the status and the body.
    fn once(&self, r: &Request<'_>, url: &str, body: &str) -> Result<(u16, String), ureq::Error> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let identity: Identity = self.credentials.clone().into();
        let signed = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(r.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ureq::Error::BadUri(format!("cannot sign: {e}")))?
            .into();
        let mut headers = vec![("content-type", r.content_type)];
        if let Some(t) = r.target {
            headers.push(("x-amz-target", t));
        }
        let request = SignableRequest::new(
            "POST",
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| ureq::Error::BadUri(format!("cannot sign: {e}")))?;
        let (instructions, _) = sign(request, &signed)
            .map_err(|e| ureq::Error::BadUri(format!("cannot sign: {e}")))?
            .into_parts();
        let mut req = self.agent.post(url);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        for (name, value) in instructions.headers() {
            req = req.header(name, value);
        }
        let mut answer = req.send(body)?;
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string()?;
        Ok((status, text))
    }
}

/// What one signed request is: where it goes, how it is signed and named.
struct Request<'a> {
    /// SigV4's service name (`ec2`, `servicequotas`).
    signing_name: &'a str,
    /// The endpoint's first label (`https://{host}.{region}.amazonaws.com/`).
    host: &'a str,
    /// The IAM service prefix of its action (`servicequotas`).
    iam: &'a str,
    /// The action, for errors.
    action: &'a str,
    content_type: &'a str,
    /// `X-Amz-Target` (JSON APIs).
    target: Option<&'a str>,
    /// Tries at most (throttling and 5xx answers are retried).
    attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_keeps_unreserved_characters_only() {
        assert_eq!(
            encode("arn:aws:ecs:eu-west-1:1:cluster/a b~_.-"),
            "arn%3Aaws%3Aecs%3Aeu-west-1%3A1%3Acluster%2Fa%20b~_.-"
        );
    }
}
