//! The Prefect REST API calls `plan`/`apply --prefect-api-url` make: read a work pool
//! (`GET /work_pools/{name}`), create it (`POST /work_pools/`) or update it
//! (`PATCH /work_pools/{name}`); read the pool's deployments (`POST /deployments/filter`,
//! `POST /flows/filter`) and set their job variables (`PATCH /deployments/{id}`); read the
//! fallback automation (`POST /automations/filter`), create it (`POST /automations/`) or
//! replace it (`PUT /automations/{id}`). The API key comes from `PREFECT_API_KEY` and goes
//! only into the `Authorization: Bearer` header; it is never printed, not even in errors.

use serde_json::Value;

use crate::deploy::api::{PrefectApi, PrefectError};
use crate::deploy::automation::{AutomationState, AutomationWrite};
use crate::deploy::deployments::{DeploymentState, DeploymentWrite};
use crate::deploy::workpool::{PoolState, PoolWrite};

/// A Prefect API endpoint (`https://api.prefect.cloud/api/accounts/…/workspaces/…`, or
/// `http://127.0.0.1:4200/api` for a self-hosted server).
pub struct PrefectHttp {
    base: String,
    key: Option<String>,
    agent: ureq::Agent,
    /// Whether the API has answered once: only then is a dropped connection retried, so that
    /// a wrong URL fails at once (as in Prefect's client).
    connected: std::cell::Cell<bool>,
}

/// The answers Prefect's client retries (`retry_codes` in `prefect/client/base.py`).
const RETRY_CODES: [u16; 4] = [408, 429, 502, 503];

/// Retries after the first try: `PREFECT_CLIENT_MAX_RETRIES`' default
/// (`prefect/settings/models/client.py`).
pub const MAX_RETRIES: u32 = 5;

/// Seconds before retry `n` (1-based) without `Retry-After`: 2^n, as Prefect's client.
fn backoff(n: u32) -> f64 {
    f64::from(1u32 << n.min(6))
}

/// A connection dropped, reset or timed out: worth another try once the API has answered.
fn transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
    )
}

fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl PrefectHttp {
    /// `base` is the API URL; `key` the API key (Prefect Cloud), if any.
    pub fn new(base: &str, key: Option<String>) -> PrefectHttp {
        // as long as Prefect's client waits (`PREFECT_API_REQUEST_TIMEOUT`, 60 s), which is
        // how long a self-hosted server waits for a locked SQLite database (`PRAGMA
        // busy_timeout = 60000` in `prefect/server/database/configurations.py`)
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        PrefectHttp {
            base: base.trim_end_matches('/').to_string(),
            key: key.filter(|k| !k.is_empty()),
            agent,
            connected: std::cell::Cell::new(false),
        }
    }

    /// From the URL and `PREFECT_API_KEY`.
    pub fn from_env(base: &str) -> PrefectHttp {
        PrefectHttp::new(base, std::env::var("PREFECT_API_KEY").ok())
    }

    /// `method` (`GET` without a body, `POST`/`PATCH`/`PUT` with `body`) on `path` under the
    /// API URL, retried as Prefect's own client retries (`prefect/client/base.py`,
    /// `PrefectHttpxSyncClient.send`): on HTTP 408, 429, 502 and 503 (a self-hosted server
    /// answers 503 while SQLite is busy, `is_client_retryable_exception` in
    /// `prefect/server/api/server.py`; Prefect Cloud answers 429 with `Retry-After`) and, once
    /// the API has answered, on a dropped or timed-out connection; up to
    /// [`MAX_RETRIES`] times, after `Retry-After` seconds (at most a minute) or 2, 4, 8… s.
    /// Each retry is said on standard error. Answers 401/403 and other 4xx/5xx but 404 are
    /// errors; 404 is returned for the caller to read. A write whose try got no answer and
    /// whose retry meets 409 Conflict was most likely made by that try (the server finished
    /// it after the client gave up): that is said as such, for the next `apply` to converge.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), PrefectError> {
        self.send(method, path, body, false)
    }

    /// `POST` of a create (a work pool, an automation), which must not be repeated once a try
    /// went out and got no answer (a second automation would be a duplicate; a second pool,
    /// a 409): that is [`PrefectError::Unknown`] at once, for `apply` to say and the next
    /// `plan` to read. Busy answers (408, 429, 502, 503) are retried as in [`Self::request`]:
    /// the server made nothing then.
    pub fn create(&self, path: &str, body: &Value) -> Result<(u16, Value), PrefectError> {
        self.send("POST", path, Some(body), true)
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        once: bool,
    ) -> Result<(u16, Value), PrefectError> {
        let url = format!("{}{path}", self.base);
        let mut tries = 0;
        // a write whose try got no answer may have been made by the server all the same
        let mut unanswered_write = false;
        let mut resp = loop {
            tries += 1;
            let wait = match self.send_once(method, &url, body) {
                Ok(r) if !RETRY_CODES.contains(&r.status().as_u16()) || tries > MAX_RETRIES => {
                    self.connected.set(true);
                    break r;
                }
                Ok(r) => {
                    self.connected.set(true);
                    let after = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .filter(|s| s.is_finite() && *s >= 0.0);
                    let why = format!("the Prefect API answered HTTP {}", r.status().as_u16());
                    (after.map_or(backoff(tries), |s| s.min(60.0)), why)
                }
                Err(e) if once && self.connected.get() && transient(&e) => {
                    return Err(PrefectError::Unknown(format!(
                        "{method} {url} got no answer ({e}): it may have been made; run plan to see what the Prefect API holds and apply again to finish"
                    )));
                }
                Err(e) if self.connected.get() && tries <= MAX_RETRIES && transient(&e) => {
                    unanswered_write |= method != "GET";
                    (
                        backoff(tries),
                        format!("no answer from the Prefect API ({e})"),
                    )
                }
                Err(e) => {
                    let message = format!(
                        "cannot reach the Prefect API at {url}: {e}{}; check --prefect-api-url",
                        if tries > 1 {
                            format!(" (after {tries} tries)")
                        } else {
                            String::new()
                        }
                    );
                    // a write one of whose tries went out unanswered may have been made
                    return Err(if unanswered_write {
                        PrefectError::Unknown(message)
                    } else {
                        PrefectError::Failed(message)
                    });
                }
            };
            eprintln!(
                "{method} {url}: {}; trying again in {:.0} s (retry {tries} of {MAX_RETRIES})",
                wait.1, wait.0
            );
            std::thread::sleep(std::time::Duration::from_secs_f64(wait.0));
        };
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let tried = if tries > 1 {
            format!(" after {tries} tries")
        } else {
            String::new()
        };
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        let detail = || json.get("detail").map_or(text.clone(), |d| d.to_string());
        match status {
            401 | 403 => Err(PrefectError::Failed(format!(
                "the Prefect API at {url} refused the request (HTTP {status}){}: set PREFECT_API_KEY to an API key of this workspace that may manage work pools",
                if self.key.is_some() {
                    ""
                } else {
                    " and PREFECT_API_KEY is not set"
                }
            ))),
            409 if unanswered_write => Err(PrefectError::Unknown(format!(
                "{method} {url} got no answer, and trying again found it done already (HTTP 409{tried}: {}): the first try most likely went through; run plan to see and apply again to finish",
                detail()
            ))),
            s if s >= 400 && s != 404 => Err(PrefectError::Failed(format!(
                "the Prefect API answered {method} {url} with HTTP {s}{tried}: {}",
                detail()
            ))),
            _ => Ok((status, json)),
        }
    }

    /// One HTTP exchange, with the key in the `Authorization` header only.
    fn send_once(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let auth = self.key.as_ref().map(|k| format!("Bearer {k}"));
        match body {
            None => {
                let mut r = self.agent.get(url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            Some(b) => {
                let mut r = match method {
                    "POST" => self.agent.post(url),
                    "PUT" => self.agent.put(url),
                    _ => self.agent.patch(url),
                };
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.header("Content-Type", "application/json")
                    .send(b.to_string().as_bytes())
            }
        }
    }

    /// Checks that a Prefect API answers at the URL before anything is planned or changed:
    /// `GET /health` must answer 200 and `GET /admin/version` a version. A URL without `/api`
    /// (the UI's, say) answers 404 or HTML, which would otherwise read as "pool missing"
    /// and lead `apply` to change the account before failing. Returns the server version.
    pub fn probe(&self) -> Result<String, PrefectError> {
        let hint = |what: &str| {
            let suggestion = if self.base.ends_with("/api") || self.base.contains("/api/") {
                String::new()
            } else {
                format!(" (did you mean {}/api?)", self.base)
            };
            format!(
                "no Prefect API at {}: {what}{suggestion}; --prefect-api-url is the API's URL, ending in /api (or /api/accounts/…/workspaces/… on Prefect Cloud)",
                self.base
            )
        };
        let (status, health) = self.request("GET", "/health", None)?;
        if status != 200 || health != Value::Bool(true) {
            return Err(PrefectError::Failed(hint(&format!(
                "GET /health answered HTTP {status}"
            ))));
        }
        let (status, version) = self.request("GET", "/admin/version", None)?;
        match (status, version.as_str()) {
            (200, Some(v)) => Ok(v.to_string()),
            _ => Err(PrefectError::Failed(hint(&format!(
                "GET /admin/version answered HTTP {status}"
            )))),
        }
    }
}

impl PrefectApi for PrefectHttp {
    fn pool(&self, name: &str) -> Result<Option<PoolState>, PrefectError> {
        let (status, v) = self.request("GET", &format!("/work_pools/{}", encode(name)), None)?;
        Ok((status != 404).then(|| PoolState::from_api(&v)))
    }

    fn write_pool(&self, w: &PoolWrite) -> Result<(), PrefectError> {
        let (status, _) = match w {
            PoolWrite::Create { body } => self.create("/work_pools/", body)?,
            PoolWrite::Update { name, body } => self.request(
                "PATCH",
                &format!("/work_pools/{}", encode(name)),
                Some(body),
            )?,
        };
        if status == 404 {
            return Err(PrefectError::Failed("the Prefect API answered 404: is --prefect-api-url the API's URL (ending in /api, or /api/accounts/…/workspaces/… on Prefect Cloud)?".into()));
        }
        Ok(())
    }

    fn deployments(&self, pool: &str) -> Result<Vec<DeploymentState>, PrefectError> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let (_, page) = self.request(
                "POST",
                "/deployments/filter",
                Some(&serde_json::json!({
                    "work_pools": {"name": {"any_": [pool]}},
                    "sort": "NAME_ASC",
                    "offset": offset,
                    "limit": 200,
                })),
            )?;
            let page = page.as_array().cloned().unwrap_or_default();
            offset += page.len();
            let done = page.len() < 200;
            out.extend(page);
            if done {
                break;
            }
        }
        let flow_ids: Vec<&Value> = out.iter().map(|d| &d["flow_id"]).collect();
        let (_, flows) = self.request(
            "POST",
            "/flows/filter",
            Some(&serde_json::json!({"flows": {"id": {"any_": flow_ids}}})),
        )?;
        let flow_name = |id: &Value| {
            flows
                .as_array()
                .and_then(|f| f.iter().find(|x| &x["id"] == id))
                .and_then(|x| x["name"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        Ok(out
            .iter()
            .map(|d| DeploymentState {
                id: d["id"].as_str().unwrap_or_default().to_string(),
                name: d["name"].as_str().unwrap_or_default().to_string(),
                flow_name: flow_name(&d["flow_id"]),
                job_variables: d["job_variables"].clone(),
            })
            .collect())
    }

    fn write_deployment(&self, w: &DeploymentWrite) -> Result<(), PrefectError> {
        let (status, _) = self.request(
            "PATCH",
            &format!("/deployments/{}", encode(&w.id)),
            Some(&serde_json::json!({"job_variables": w.job_variables})),
        )?;
        if status == 404 {
            return Err(PrefectError::Failed(format!(
                "deployment {} is gone (deleted since the plan?)",
                w.label
            )));
        }
        Ok(())
    }

    fn automations(
        &self,
        tags: &[String],
        names: &[String],
    ) -> Result<Vec<AutomationState>, PrefectError> {
        let (_, v) = self.request(
            "POST",
            "/automations/filter",
            Some(&serde_json::json!({"automations": {
                "operator": "or_",
                "tags": {"any_": tags},
                "name": {"any_": names}
            }})),
        )?;
        Ok(v.as_array()
            .map(|a| a.iter().map(AutomationState::from_api).collect())
            .unwrap_or_default())
    }

    fn write_automation(&self, w: &AutomationWrite) -> Result<(), PrefectError> {
        let (status, _) = match w {
            AutomationWrite::Create { body } => self.create("/automations/", body)?,
            AutomationWrite::Replace { id, body } => {
                self.request("PUT", &format!("/automations/{}", encode(id)), Some(body))?
            }
            AutomationWrite::Delete { id } => {
                let (status, v) =
                    self.request("DELETE", &format!("/automations/{}", encode(id)), None)?;
                // deleted already: what the write was for
                return if status == 404 || status < 300 {
                    Ok(())
                } else {
                    Err(PrefectError::Failed(format!(
                        "cannot delete automation {id}: {status} {v}"
                    )))
                };
            }
        };
        if status == 404 {
            return Err(PrefectError::Failed(
                "the automation is gone (deleted since the plan?); run apply again".into(),
            ));
        }
        Ok(())
    }
}
