//! The account's Fargate vCPU quotas against what the pick runs at once. Fargate counts the
//! vCPU of running tasks against two per-Region quotas, "Fargate On-Demand vCPU resource
//! count" (`L-3032A538`) and "Fargate Spot vCPU resource count" (`L-36FBB829`), service code
//! `fargate` in Service Quotas; a RunTask above them fails ("You've reached the limit on the
//! number of vCPUs you can run concurrently"), which the simulation does not model. `plan`
//! compares the simulated peak (the 99th percentile of the replications' peaks, the worker
//! included on demand) with the account's applied quota, else the one the scenario states,
//! and warns (`!`) above [`WARN_SHARE`] of either. Pure; the reading is `aws::quotas`'.

use serde::{Deserialize, Serialize};

use super::diff::{Change, Step};

/// Service Quotas' service code of both quotas.
pub const SERVICE: &str = "fargate";
/// "Fargate On-Demand vCPU resource count".
pub const ON_DEMAND_CODE: &str = "L-3032A538";
/// "Fargate Spot vCPU resource count".
pub const SPOT_CODE: &str = "L-36FBB829";
/// The share of a quota above which `plan` warns: what is left is the headroom for a busy
/// hour the replications did not draw, other workloads in the account, and a deployment
/// (a rolling worker update runs two workers for a while).
pub const WARN_SHARE: f64 = 0.8;

/// What the pick needs at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotaNeed {
    /// On-demand FARGATE vCPU: flow tasks' peak and the worker.
    pub fargate_vcpu: f64,
    /// The worker's part of it.
    pub worker_vcpu: f64,
    /// FARGATE_SPOT vCPU.
    pub spot_vcpu: f64,
    /// Where the figures come from, in words (the recommendation, or `plan`'s own
    /// replications of the scenario).
    pub basis: String,
    /// The quotas `[deploy]` states (on demand, spot): used when the account's cannot be read.
    pub stated: [Option<f64>; 2],
}

/// One quota as the account gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotaSeen {
    /// Its value, vCPU, when it could be read.
    pub value: Option<f64>,
    /// Where it comes from (`applied`, `AWS default`), or why it could not be read.
    pub note: String,
}

/// Both quotas, on demand then spot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotasSeen {
    /// Fargate On-Demand vCPU.
    pub on_demand: QuotaSeen,
    /// Fargate Spot vCPU.
    pub spot: QuotaSeen,
}

/// The check: a step for the plan (when any quota is known) and what could not be checked.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaCheck {
    /// `= quotas Fargate vCPU` with the figures, or `!` with the quota that is too tight.
    pub step: Option<Step>,
    /// The quotas neither the account nor the scenario gave, with why.
    pub not_checked: Vec<String>,
}

/// A vCPU figure in words: at most two decimals, no trailing zeros.
fn vcpu(v: f64) -> String {
    format!("{}", (v * 100.0).round() / 100.0)
}

/// Checks `need` against `seen` (`None`: the API cannot read quotas).
pub fn check(need: &QuotaNeed, seen: Option<&QuotasSeen>) -> QuotaCheck {
    let mut facts = Vec::new();
    let mut problems = Vec::new();
    let mut not_checked = Vec::new();
    let rows = [
        (
            "FARGATE",
            "Fargate On-Demand vCPU resource count",
            ON_DEMAND_CODE,
            "fargate_vcpu_quota",
            need.fargate_vcpu,
            need.stated[0],
            seen.map(|s| &s.on_demand),
        ),
        (
            "FARGATE_SPOT",
            "Fargate Spot vCPU resource count",
            SPOT_CODE,
            "fargate_spot_vcpu_quota",
            need.spot_vcpu,
            need.stated[1],
            seen.map(|s| &s.spot),
        ),
    ];
    for (provider, name, code, key, needed, stated, seen) in rows {
        let (quota, source) = match (seen.and_then(|s| s.value), stated) {
            (Some(v), _) => (
                v,
                format!("the account's, {}", seen.map_or("", |s| &s.note)),
            ),
            (None, Some(v)) => (
                v,
                format!(
                    "[deploy] {key}{}",
                    seen.map_or(String::new(), |s| format!(
                        "; the account's could not be read: {}",
                        s.note
                    ))
                ),
            ),
            (None, None) => {
                if needed > 0.0 {
                    not_checked.push(format!(
                        "the {name} quota ({code}) against the {} vCPU {provider} runs at once: {}; state [deploy] {key}, or give plan servicequotas:GetServiceQuota",
                        vcpu(needed),
                        seen.map_or("this account reader has no Service Quotas", |s| &s.note)
                    ));
                }
                continue;
            }
        };
        let line = format!(
            "{provider}: {} vCPU at once (p99) of a {} vCPU quota ({code}, {source})",
            vcpu(needed),
            vcpu(quota)
        );
        if needed > WARN_SHARE * quota {
            problems.push(Change {
                field: provider.to_string(),
                old: String::new(),
                new: format!(
                    "{} vCPU at once ({}) is {:.0}% of the {name} quota of {} vCPU ({code}, {source}): above {:.0}%, RunTask fails when other workloads or a busy hour add to it; request an increase of {code} in Service Quotas",
                    vcpu(needed),
                    need.basis,
                    100.0 * needed / quota.max(f64::MIN_POSITIVE),
                    vcpu(quota),
                    100.0 * WARN_SHARE
                ),
            });
        } else {
            facts.push(line);
        }
    }
    if facts.is_empty() && problems.is_empty() {
        return QuotaCheck {
            step: None,
            not_checked,
        };
    }
    QuotaCheck {
        step: Some(Step::check(
            "quotas",
            "Fargate vCPU".into(),
            problems,
            facts,
        )),
        not_checked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::diff::Action;

    fn need(od: f64, spot: f64, stated: [Option<f64>; 2]) -> QuotaNeed {
        QuotaNeed {
            fargate_vcpu: od,
            worker_vcpu: 0.5,
            spot_vcpu: spot,
            basis: "the recommendation's 200 replications".into(),
            stated,
        }
    }

    fn seen(od: Option<f64>, spot: Option<f64>) -> QuotasSeen {
        let q = |v: Option<f64>| QuotaSeen {
            value: v,
            note: if v.is_some() {
                "applied".into()
            } else {
                "NoSuchResourceException".into()
            },
        };
        QuotasSeen {
            on_demand: q(od),
            spot: q(spot),
        }
    }

    #[test]
    fn warns_above_eighty_percent_of_either_quota_and_not_at_it() {
        // 8 of 10 is 80%: not above
        let c = check(
            &need(8.0, 8.0, [None; 2]),
            Some(&seen(Some(10.0), Some(10.0))),
        );
        let s = c.step.unwrap();
        assert_eq!(s.action, Action::Unchanged);
        assert_eq!(s.kept.len(), 2);
        // 8.25 of 10 spot is above
        let c = check(
            &need(2.0, 8.25, [None; 2]),
            Some(&seen(Some(10.0), Some(10.0))),
        );
        let s = c.step.unwrap();
        assert_eq!(s.action, Action::Missing);
        assert_eq!(s.changes.len(), 1);
        assert_eq!(s.changes[0].field, "FARGATE_SPOT");
        assert!(s.changes[0].new.contains("82%"), "{}", s.changes[0].new);
        assert!(s.changes[0].new.contains(SPOT_CODE));
    }

    #[test]
    fn the_account_wins_the_scenario_fills_in_and_nothing_is_not_checked_in_silence() {
        // the account's spot quota is unreadable: the stated one is used, and says why
        let c = check(
            &need(1.0, 9.0, [Some(2.0), Some(10.0)]),
            Some(&seen(Some(100.0), None)),
        );
        let s = c.step.unwrap();
        assert!(s.kept[0].contains("100 vCPU quota"), "{:?}", s.kept);
        assert!(
            s.changes[0]
                .new
                .contains("[deploy] fargate_spot_vcpu_quota")
        );
        assert!(s.changes[0].new.contains("NoSuchResourceException"));
        assert_eq!(s.action, Action::Missing);
        // neither: not checked, with the key to state
        let c = check(&need(1.0, 3.0, [None; 2]), None);
        assert!(c.step.is_none());
        assert_eq!(c.not_checked.len(), 2);
        assert!(c.not_checked[1].contains("fargate_spot_vcpu_quota"));
        // a provider the pick never uses needs no quota
        let c = check(&need(1.0, 0.0, [None; 2]), None);
        assert_eq!(c.not_checked.len(), 1);
    }
}
