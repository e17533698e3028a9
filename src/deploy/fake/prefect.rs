//! An in-memory Prefect API for plan/apply tests: it behaves like Prefect's where spotplan
//! relies on it (a second pool of a name is a 409; automations are not unique by name, so a
//! create made twice is two automations; a PATCH or PUT of something gone is a 404) and
//! records every write; failures and lost answers can be injected.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::deploy::api::{PrefectApi, PrefectError};
use crate::deploy::automation::{AutomationState, AutomationWrite};
use crate::deploy::deployments::{DeploymentState, DeploymentWrite};
use crate::deploy::workpool::{PoolState, PoolWrite};

/// What the fake Prefect API holds.
#[derive(Clone, Debug, Default)]
pub struct PrefectState {
    /// Work pools by name, as the API returns them.
    pub pools: BTreeMap<String, Value>,
    /// Deployments, with the name of their work pool.
    pub deployments: Vec<(String, DeploymentState)>,
    /// Automations by id, as the API returns them.
    pub automations: BTreeMap<String, Value>,
    /// Automations created so far (their ids and creation times count up).
    pub created: u32,
    /// Writes made, in order (`create pool`, `update pool`, `update deployment`, `create
    /// automation`, `replace automation`, `delete automation`).
    pub writes: Vec<String>,
    /// Fail these writes (once each time they are listed) with the given error, making nothing.
    pub fail: Vec<(String, PrefectError)>,
    /// Make these writes (once each time they are listed) but lose their answer: the write
    /// answers [`PrefectError::Unknown`].
    pub lose_answer: Vec<String>,
}

/// The fake API (the trait's methods take `&self`, as HTTP calls do).
#[derive(Debug, Default)]
pub struct FakePrefect {
    /// Its state.
    pub state: RefCell<PrefectState>,
}

impl FakePrefect {
    /// A write `op`: fails as injected, else is made by `make`, then answers as injected.
    fn write(
        &self,
        op: &str,
        make: impl FnOnce(&mut PrefectState) -> Result<(), PrefectError>,
    ) -> Result<(), PrefectError> {
        let mut st = self.state.borrow_mut();
        if let Some(i) = st.fail.iter().position(|(o, _)| o == op) {
            return Err(st.fail.remove(i).1);
        }
        make(&mut st)?;
        st.writes.push(op.to_string());
        if let Some(i) = st.lose_answer.iter().position(|o| o == op) {
            st.lose_answer.remove(i);
            return Err(PrefectError::Unknown(format!("{op}: no answer")));
        }
        Ok(())
    }
}

impl PrefectApi for FakePrefect {
    fn pool(&self, name: &str) -> Result<Option<PoolState>, PrefectError> {
        Ok(self.state.borrow().pools.get(name).map(PoolState::from_api))
    }

    fn deployments(&self, pool: &str) -> Result<Vec<DeploymentState>, PrefectError> {
        Ok(self
            .state
            .borrow()
            .deployments
            .iter()
            .filter(|(p, _)| p == pool)
            .map(|(_, d)| d.clone())
            .collect())
    }

    fn automations(
        &self,
        tags: &[String],
        names: &[String],
    ) -> Result<Vec<AutomationState>, PrefectError> {
        Ok(self
            .state
            .borrow()
            .automations
            .values()
            .map(AutomationState::from_api)
            .filter(|a| {
                tags.iter().any(|t| a.tagged(t)) || names.iter().any(|n| a.body["name"] == *n)
            })
            .collect())
    }

    fn write_pool(&self, w: &PoolWrite) -> Result<(), PrefectError> {
        match w {
            PoolWrite::Create { body } => self.write("create pool", |st| {
                let name = body["name"].as_str().unwrap_or_default().to_string();
                if st.pools.contains_key(&name) {
                    return Err(PrefectError::Failed(
                        "HTTP 409: A work pool with this name already exists.".into(),
                    ));
                }
                st.pools.insert(name, body.clone());
                Ok(())
            }),
            PoolWrite::Update { name, body } => self.write("update pool", |st| {
                let pool = st
                    .pools
                    .get_mut(name)
                    .ok_or_else(|| PrefectError::Failed("HTTP 404: Work pool not found".into()))?;
                if let (Some(p), Some(b)) = (pool.as_object_mut(), body.as_object()) {
                    p.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                Ok(())
            }),
        }
    }

    fn write_deployment(&self, w: &DeploymentWrite) -> Result<(), PrefectError> {
        self.write("update deployment", |st| {
            let d = st
                .deployments
                .iter_mut()
                .find(|(_, d)| d.id == w.id)
                .ok_or_else(|| PrefectError::Failed("HTTP 404: Deployment not found".into()))?;
            d.1.job_variables = w.job_variables.clone();
            Ok(())
        })
    }

    fn write_automation(&self, w: &AutomationWrite) -> Result<(), PrefectError> {
        match w {
            AutomationWrite::Create { body } => self.write("create automation", |st| {
                st.created += 1;
                let id = format!("automation-{}", st.created);
                let mut b = body.clone();
                b["id"] = Value::from(id.clone());
                b["created"] = Value::from(format!("2026-12-06T00:00:{:02}Z", st.created));
                st.automations.insert(id, b);
                Ok(())
            }),
            AutomationWrite::Delete { id } => self.write("delete automation", |st| {
                st.automations.remove(id);
                Ok(())
            }),
            AutomationWrite::Replace { id, body } => self.write("replace automation", |st| {
                let a = st
                    .automations
                    .get_mut(id)
                    .ok_or_else(|| PrefectError::Failed("HTTP 404: Automation not found".into()))?;
                let mut b = body.clone();
                b["id"] = Value::from(id.clone());
                b["created"] = a["created"].clone();
                *a = b;
                Ok(())
            }),
        }
    }
}
