//! Service Quotas, read through the signed JSON client ([`super::query`]): the account's
//! Fargate On-Demand and Spot vCPU quotas (`deploy::quotas` says what they are checked
//! against). `GetServiceQuota` gives the value applied to the account; a quota with no applied
//! value answers `NoSuchResourceException` (the API reference: "If the applied quota value is
//! not available for a quota, the quota is not retrieved"), and then
//! `GetAWSDefaultServiceQuota` gives the default. A quota that cannot be read is a note, not
//! an error: `plan` says it did not check it.

use super::query::Query;
use crate::deploy::api::ApiError;
use crate::deploy::quotas::{ON_DEMAND_CODE, QuotaSeen, QuotasSeen, SERVICE, SPOT_CODE};

/// Service Quotas' JSON API target prefix.
const TARGET: &str = "ServiceQuotasV20190624";

/// Quota `code` of `service`: its applied value, else the AWS default, and which it is.
pub fn quota(q: &Query, service: &str, code: &str) -> Result<(f64, &'static str), ApiError> {
    let body = serde_json::json!({"ServiceCode": service, "QuotaCode": code});
    let call = |op: &str, attempts: u32| {
        q.call_json(
            "servicequotas",
            "servicequotas",
            "servicequotas",
            &format!("{TARGET}.{op}"),
            &body,
            attempts,
        )
    };
    let (answer, which) = match call("GetServiceQuota", super::config::MAX_ATTEMPTS) {
        Ok(v) => (v, "applied"),
        // the default is a second chance, tried once: `plan` does not wait on it
        Err(ApiError::Other(m)) if m.contains("NoSuchResourceException") => (
            call("GetAWSDefaultServiceQuota", 1)
                .map_err(|e| ApiError::Other(format!("{m}; and then {e}")))?,
            "AWS default",
        ),
        Err(e) => return Err(e),
    };
    answer["Quota"]["Value"]
        .as_f64()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| (v, which))
        .ok_or_else(|| ApiError::Other(format!("quota {service}/{code} has no value")))
}

/// Both Fargate vCPU quotas; each one that cannot be read says why.
pub fn observe(q: Result<&Query, ApiError>) -> QuotasSeen {
    let one = |code: &str| match &q {
        Ok(q) => match quota(q, SERVICE, code) {
            Ok((v, which)) => QuotaSeen {
                value: Some(v),
                note: which.to_string(),
            },
            Err(e) => QuotaSeen {
                value: None,
                note: e.to_string(),
            },
        },
        Err(e) => QuotaSeen {
            value: None,
            note: e.to_string(),
        },
    };
    QuotasSeen {
        on_demand: one(ON_DEMAND_CODE),
        spot: one(SPOT_CODE),
    }
}
