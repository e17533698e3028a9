//! A loopback HTTP/1.1 server for the tests: it records every request and answers each with
//! what the test's function says. Against it the real AWS SDK clients run their whole stack
//! (endpoint, SigV4 signing, the JSON 1.1 protocol both ways, error parsing, retries), where a
//! mock would replace the transport; and it needs no feature of the SDK crates beyond what the
//! release build already has, so `cargo test --release` reuses the release build's
//! dependencies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One HTTP/1.1 request as the stub received it.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The AWS JSON operation (`DescribeClusters` of
    /// `X-Amz-Target: AmazonEC2ContainerServiceV20141113.DescribeClusters`).
    pub(crate) fn operation(&self) -> &str {
        self.header("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
    }
    /// The body as JSON (`null` when it is not).
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

pub(crate) fn read_request(r: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// An answer.
pub(crate) struct Reply {
    /// 0: no answer, the connection is dropped.
    pub status: u16,
    pub content_type: String,
    pub body: String,
    /// Further headers (`Retry-After`, say).
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// 200 with an AWS JSON 1.1 body.
    pub(crate) fn ok(v: serde_json::Value) -> Reply {
        Reply::raw(200, v.to_string())
    }
    /// 200 with this exact AWS JSON 1.1 body (a recorded response).
    pub(crate) fn recorded(body: String) -> Reply {
        Reply::raw(200, body)
    }
    /// An AWS JSON 1.1 error as the services send it: `__type` and `message`.
    pub(crate) fn error(status: u16, kind: &str, message: &str) -> Reply {
        Reply::raw(
            status,
            serde_json::json!({ "__type": kind, "message": message }).to_string(),
        )
    }
    fn raw(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "application/x-amz-json-1.1".into(),
            body,
            headers: Vec::new(),
        }
    }
}

/// A running stub (its thread ends with the test process).
pub(crate) struct Stub {
    pub url: String,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Stub {
    /// Starts a stub on 127.0.0.1 that answers each request with `answer(request, its index
    /// among the requests of its operation)`.
    pub(crate) fn start(answer: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::<Request>::new()));
        let answer = Arc::new(answer);
        let log2 = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, answer) = (log2.clone(), answer.clone());
                std::thread::spawn(move || {
                    let mut w = stream.try_clone().unwrap();
                    let mut r = BufReader::new(stream);
                    while let Some(req) = read_request(&mut r) {
                        let nth = {
                            let mut log = log.lock().unwrap();
                            let nth = log
                                .iter()
                                .filter(|x| x.operation() == req.operation() && x.path == req.path)
                                .count();
                            log.push(req.clone());
                            nth
                        };
                        let reply = answer(&req, nth);
                        if reply.status == 0 {
                            // status 0: the connection drops without an answer
                            return;
                        }
                        let extra: String = reply
                            .headers
                            .iter()
                            .map(|(k, v)| format!("{k}: {v}\r\n"))
                            .collect();
                        let _ = write!(
                            w,
                            "HTTP/1.1 {} Stub\r\ncontent-type: {}\r\ncontent-length: {}\r\nx-amzn-requestid: stub-{nth}\r\n{extra}\r\n{}",
                            reply.status,
                            reply.content_type,
                            reply.body.len(),
                            reply.body
                        );
                        let _ = w.flush();
                    }
                });
            }
        });
        Stub { url, log }
    }

    /// Every request so far, in the order received.
    pub(crate) fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// The HTTP methods of the requests so far, in order.
    pub(crate) fn methods(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.method).collect()
    }

    /// The operations called so far, in order.
    pub(crate) fn operations(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.operation().to_string())
            .collect()
    }

    /// The requests of one operation.
    pub(crate) fn calls(&self, operation: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.operation() == operation)
            .collect()
    }
}

/// Sends `req` on to `upstream` (the same method, path, headers and body) and returns its
/// answer: with [`Stub::start`], a recording proxy in front of a real server.
pub(crate) fn forward(upstream: &str, req: &Request) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}{}", upstream.trim_end_matches('/'), req.path);
    let skip = |k: &str| {
        ["host", "content-length", "connection", "transfer-encoding"]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
    };
    let result = if req.method == "GET" {
        let mut r = agent.get(&url);
        for (k, v) in req.headers.iter().filter(|(k, _)| !skip(k)) {
            r = r.header(k, v);
        }
        r.call()
    } else {
        let mut r = agent.post(&url);
        for (k, v) in req.headers.iter().filter(|(k, _)| !skip(k)) {
            r = r.header(k, v);
        }
        r.send(req.body.as_bytes())
    };
    match result {
        Ok(mut resp) => Reply {
            status: resp.status().as_u16(),
            content_type: resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("text/plain")
                .to_string(),
            body: resp.body_mut().read_to_string().unwrap_or_default(),
            headers: Vec::new(),
        },
        Err(e) => Reply::error(502, "ProxyError", &e.to_string()),
    }
}

impl Stub {
    /// The shared AWS configuration of clients that talk to this stub: static credentials,
    /// `region`, one attempt (no sleep is configured; tests of SDK retries load theirs with
    /// `aws_config::defaults`, which brings Tokio's).
    pub(crate) fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        sdk_config_at(&self.url, region)
    }
}

/// An SDK configuration for an endpoint at `url` in `region`, with test credentials and one
/// attempt per request.
pub(crate) fn sdk_config_at(url: &str, region: &str) -> aws_config::SdkConfig {
    use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDSPOTPLANTEST",
            "stub-secret",
            None,
            None,
            "test",
        )))
        .http_client(spotplan::aws::config::https_client())
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build()
}
