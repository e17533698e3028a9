//! The platform's network options, priced by billing the same simulated runs again: the
//! tasks' address-hours and image gigabytes do not depend on the egress, so each option's
//! bill is exact on the same replications, with no new simulation.

use serde::Serialize;

use super::Stat;
use super::summary::Replication;
use crate::scenario::Scenario;
use crate::scenario::network::alternatives;
use crate::sim::meter::network_usage;

/// One way to wire the platform, billed on the same runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkOption {
    /// `public-ip`, `nat`, `nat+s3-gateway`, `nat+s3-gateway+ecr-endpoints`, `vpc-endpoints`.
    pub name: String,
    /// What it takes, in words.
    pub what: String,
    /// What it changes besides the bill, in a few words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caveat: Option<&'static str>,
    /// The scenario's own network.
    pub current: bool,
    /// What its price rests on that the scenario does not say.
    pub assumptions: Vec<String>,
    /// Why it is not offered or not priced (then it has no figures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Its network charges per 30 days, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_30d_usd: Option<Stat>,
    /// What it saves against the scenario's own network per 30 days, USD, on the same runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saving_per_30d_usd: Option<Stat>,
}

/// Every network option of `s`, billed on `reps` (runs of `s`'s workload; flows in `s`'s
/// order), the scenario's own first.
pub fn options(s: &Scenario, reps: &[Replication]) -> Vec<NetworkOption> {
    let per30 = 30.0 * crate::model::SimTime::DAY.0 as f64 / s.sim.horizon.0.max(1) as f64;
    let usage: Vec<_> = reps
        .iter()
        .map(|r| network_usage(s, &r.outcome.flows))
        .collect();
    let today: Vec<f64> = reps
        .iter()
        .map(|r| {
            (r.outcome.cost_public_ipv4_usd
                + r.outcome.cost_nat_usd
                + r.outcome.cost_vpc_endpoints_usd)
                * per30
        })
        .collect();
    alternatives(s)
        .into_iter()
        .map(|a| {
            let (unavailable, cost, saving) = match &a.spec {
                // what an option rests on matters only once it has figures
                Err(why) => (Some(why.clone()), None, None),
                Ok(spec) => {
                    let cost: Vec<f64> = usage
                        .iter()
                        .map(|u| spec.charges(u).total() * per30)
                        .collect();
                    let saving: Vec<f64> = today.iter().zip(&cost).map(|(t, c)| t - c).collect();
                    (None, Some(Stat::of(&cost)), Some(Stat::of(&saving)))
                }
            };
            NetworkOption {
                name: a.name,
                what: a.what,
                caveat: a.caveat,
                current: a.current,
                assumptions: if unavailable.is_some() {
                    Vec::new()
                } else {
                    a.assumptions
                },
                unavailable,
                cost_per_30d_usd: cost,
                saving_per_30d_usd: saving,
            }
        })
        .collect()
}

/// The option that saves most against the scenario's own network, if its saving's 95% lower
/// bound reaches `at_least` USD per 30 days. Tasks in private subnets are never advised to take
/// public addresses here (a security decision, not a price): that option stays in the table.
pub fn best(options: &[NetworkOption], at_least: f64) -> Option<&NetworkOption> {
    options
        .iter()
        .filter(|o| !o.current && o.name != "public-ip")
        .filter_map(|o| o.saving_per_30d_usd.as_ref().map(|s| (o, s)))
        .filter(|(_, s)| s.ci95_low >= at_least && s.mean > 0.0)
        .max_by(|a, b| a.1.mean.total_cmp(&b.1.mean).then(b.0.name.cmp(&a.0.name)))
        .map(|(o, _)| o)
}

/// A network option's name in plain words: "an S3 gateway endpoint".
pub fn plain_name(name: &str) -> String {
    match name {
        "public-ip" => "public subnets (a public IPv4 address per task)".into(),
        "nat" => "private subnets behind a NAT gateway".into(),
        "nat+s3-gateway" => "an S3 gateway endpoint (free) beside the NAT gateway".into(),
        "nat+ecr-endpoints" => "ECR interface endpoints beside the NAT gateway".into(),
        "nat+s3-gateway+ecr-endpoints" => {
            "an S3 gateway endpoint and ECR interface endpoints beside the NAT gateway".into()
        }
        "vpc-endpoints" => "VPC endpoints instead of a NAT gateway".into(),
        other => other.to_string(),
    }
}

/// The network lever beside the pick, in plain words, when one saves at least what a change
/// must save: "Also: an S3 gateway endpoint … would save $380.00 a month, more than the change
/// above; spotplan does not change your network."
pub fn lever_line(cur: &super::compare::Current) -> Option<String> {
    let best = best(&cur.network, cur.material_usd)?;
    let saving = best.saving_per_30d_usd.as_ref()?;
    let pick_saving = cur
        .row("cost_per_30d_usd")
        .map(|p| -p.b_minus_a.mean)
        .unwrap_or(0.0);
    Some(format!(
        "Also: {} would save {} a month{}{}; spotplan does not change your network.",
        plain_name(&best.name),
        crate::units::money(saving.mean),
        if saving.mean > pick_saving {
            ", more than the change above"
        } else {
            ""
        },
        best.caveat.map(|c| format!(" ({c})")).unwrap_or_default(),
    ))
}
