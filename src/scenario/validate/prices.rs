//! Price plumbing: the rates a scenario needs, resolved from the bundled snapshot, the cache or
//! the live API, and the network (NAT, endpoints, public IPv4) billing inputs.

use super::context::Ctx;
use crate::model::{Provider, Strategy, TaskSize};
use crate::pricing::{PriceSnapshot, PriceSource, PriceTable, RegionRates, TaskRates};
use crate::scenario::error::FieldPath;
use crate::scenario::file::*;
use crate::scenario::types::*;

/// What a scenario asks of a price source other than the bundled snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceRequest {
    /// `cache` or `live`.
    pub source: String,
    /// The scenario's region.
    pub region: String,
    /// For `live`: refresh the cache when older than this, seconds.
    pub max_age_secs: i64,
}

/// A snapshot from a price source, with the source's name.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedPrices {
    /// The rates.
    pub snapshot: PriceSnapshot,
    /// `cache` or `live`.
    pub kind: String,
}

/// Resolves `cache` / `live` price sources (the command line reads the cache and calls AWS).
pub type PriceResolver<'a> = &'a dyn Fn(&PriceRequest) -> Result<ResolvedPrices, PriceError>;

/// Why a price source could not give the prices, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PriceError(pub String);

/// A resolver that knows only the bundled snapshot.
pub fn bundled_only(req: &PriceRequest) -> Result<ResolvedPrices, PriceError> {
    Err(PriceError(format!(
        "price source `{}` needs the command line (it reads the price cache); this caller only has the bundled snapshot",
        req.source
    )))
}

pub(super) fn prices(
    cx: &mut Ctx,
    f: &ScenarioFile,
    root: &FieldPath,
    resolve: PriceResolver,
) -> Option<PriceTable> {
    let pp = root.key("pricing");
    let source = f.pricing.source.as_deref().unwrap_or("bundled");
    let max_age = cx.positive_dur(
        &pp.key("max_age"),
        f.pricing.max_age.as_deref().unwrap_or("7d"),
    );
    let (snap, kind) = match source {
        "bundled" => (PriceSnapshot::bundled(), "bundled".to_string()),
        "cache" | "live" => {
            let req = PriceRequest {
                source: source.to_string(),
                region: f.region.clone(),
                max_age_secs: (max_age?.0 / 1000) as i64,
            };
            match resolve(&req) {
                Ok(r) => (r.snapshot, r.kind),
                Err(m) => {
                    cx.err(&pp.key("source"), m.0);
                    return None;
                }
            }
        }
        other => {
            cx.err(
                &pp.key("source"),
                format!("`{other}` is not a price source; allowed: `bundled`, `cache`, `live` (and single rates under [pricing.rates])"),
            );
            return None;
        }
    };
    let mut rates = snap.regions.get(&f.region).cloned();
    let overrides = f.pricing.rates.clone().unwrap_or_default();
    if rates.is_none() {
        if f.pricing.rates.is_none() {
            let known = snap
                .regions
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            cx.err(
                &root.key("region"),
                format!(
                    "region `{}` has no {kind} prices; {kind} regions: {known}; or give every rate under [pricing.rates]",
                    f.region
                ),
            );
            return None;
        }
        rates = Some(RegionRates::default());
    }
    let mut rates = rates.unwrap_or_default();
    // the Fargate price sources carry no network rates: those come from the bundled table
    let network_filled = match PriceSnapshot::bundled().regions.get(&f.region) {
        Some(b) if kind != "bundled" => rates.fill_network(b),
        _ => Vec::new(),
    };
    let region_as_of = rates.as_of.clone();
    let rp = pp.key("rates");
    let mut overridden = false;
    for (name, v) in rates.overlay(&overrides) {
        if !(v.is_finite() && v >= 0.0) {
            cx.err(
                &rp.key(name),
                format!("`{v}` must be a finite price ≥ 0 (USD per hour)"),
            );
        }
        overridden = true;
    }
    let as_of = overrides
        .as_of
        .clone()
        .filter(|_| overridden)
        .or(region_as_of)
        .unwrap_or(snap.as_of.clone());
    Some(PriceTable {
        region: f.region.clone(),
        source: PriceSource {
            kind: if overridden {
                format!("{kind}+scenario")
            } else {
                kind.clone()
            },
            region: f.region.clone(),
            as_of,
            detail: if overridden {
                format!(
                    "{kind} prices with rates from the scenario's [pricing.rates]; {}",
                    rates.note
                )
            } else {
                rates.note.clone()
            } + &if network_filled.is_empty() {
                String::new()
            } else {
                format!(
                    "; network rates ({}) from the bundled table",
                    network_filled.join(", ")
                )
            },
        },
        rates,
    })
}

/// `[network]` and its rates, resolved.
pub(super) fn network(
    cx: &mut Ctx,
    n: Option<&NetworkSection>,
    prices: Option<&PriceTable>,
    flows: &[FlowSpec],
    root: &FieldPath,
) -> Option<NetworkSpec> {
    let p = root.key("network");
    let (egress, stated) = match n {
        None => (Egress::PublicIp, false),
        Some(n) => {
            let only = |cx: &mut Ctx, field: &str, given: bool, mode: &str| {
                if given {
                    cx.err(
                        &p.key(field),
                        format!("`{field}` applies only to egress = {mode}"),
                    );
                }
            };
            let in_range = |cx: &mut Ctx, field: &str, v: u32, max: u32| {
                if !(1..=max).contains(&v) {
                    cx.err(&p.key(field), format!("`{v}` is outside 1–{max}"));
                }
            };
            if let Some(a) = n.azs {
                in_range(cx, "azs", a, 6);
            }
            let e = match n.egress.as_str() {
                "public-ip" => {
                    only(cx, "nat_gateways", n.nat_gateways.is_some(), "\"nat\"");
                    only(cx, "endpoints", n.endpoints.is_some(), "\"vpc-endpoints\"");
                    only(cx, "s3_gateway", n.s3_gateway.is_some(), "\"nat\"");
                    only(cx, "ecr_endpoints", n.ecr_endpoints.is_some(), "\"nat\"");
                    Egress::PublicIp
                }
                "nat" => {
                    only(cx, "endpoints", n.endpoints.is_some(), "\"vpc-endpoints\"");
                    let g = n.nat_gateways.unwrap_or(1);
                    in_range(cx, "nat_gateways", g, 100);
                    let ecr = n.ecr_endpoints.unwrap_or(false);
                    if ecr && n.azs.is_none() {
                        cx.err(
                            &p.key("azs"),
                            "`ecr_endpoints = true` needs `azs`: each interface endpoint is billed per AZ-hour",
                        );
                    }
                    Egress::Nat {
                        gateways: g,
                        s3_gateway: n.s3_gateway.unwrap_or(false),
                        ecr_endpoint_azs: if ecr { n.azs.unwrap_or(1) } else { 0 },
                    }
                }
                "vpc-endpoints" => {
                    only(cx, "nat_gateways", n.nat_gateways.is_some(), "\"nat\"");
                    only(
                        cx,
                        "s3_gateway",
                        n.s3_gateway.is_some(),
                        "\"nat\" (vpc-endpoints includes it)",
                    );
                    only(
                        cx,
                        "ecr_endpoints",
                        n.ecr_endpoints.is_some(),
                        "\"nat\" (vpc-endpoints includes them)",
                    );
                    if n.internet == Some(true) {
                        cx.err(
                            &p.key("internet"),
                            "egress = \"vpc-endpoints\" has no route to the internet: `internet = true` contradicts it",
                        );
                    }
                    let e = n.endpoints.unwrap_or(3);
                    in_range(cx, "endpoints", e, 50);
                    Egress::VpcEndpoints {
                        endpoints: e,
                        azs: n.azs.unwrap_or(2),
                    }
                }
                other => {
                    cx.err(
                        &p.key("egress"),
                        format!(
                            "`{other}` is not an egress; allowed: `public-ip`, `nat`, `vpc-endpoints`"
                        ),
                    );
                    return None;
                }
            };
            (e, true)
        }
    };
    if matches!(egress, Egress::Nat { .. }) {
        for (i, f) in flows.iter().enumerate() {
            if f.image_gb.is_none() {
                cx.err_or_at(
                    &root.key("flow").index(i).key("image_size"),
                    &root.key("flow").index(i).key("name"),
                    format!(
                        "flow `{}` needs `image_size` (e.g. \"1.2 GB\"): with egress = \"nat\" every image pull is billed per GB",
                        f.name
                    ),
                );
            }
        }
    }
    let prices = prices?;
    match NetworkSpec::priced(egress, stated, &prices.rates) {
        Ok(mut spec) => {
            spec.internet = match egress {
                Egress::VpcEndpoints { .. } => Some(false),
                _ => n.and_then(|n| n.internet),
            };
            spec.azs = n.and_then(|n| n.azs);
            if let Some(text) = n.and_then(|n| n.pull_limit.as_deref()) {
                let at = p.key("pull_limit");
                match crate::model::Rate::parse(text) {
                    Ok(r)
                        if r.per_hour >= 1.0
                            && r.per_hour <= 1e6
                            && r.per_hour.fract() == 0.0 =>
                    {
                        if matches!(egress, Egress::Nat { .. }) {
                            spec.pull_limit = Some(r.per_hour as u32);
                        } else {
                            cx.err(
                                &at,
                                "`pull_limit` is for egress = \"nat\", where every task pulls from the NAT's address: with public IPs each task has its own, through endpoints the images come from ECR",
                            );
                        }
                    }
                    Ok(_) => cx.err(
                        &at,
                        format!("`{text}`: a pull limit is a whole number of pulls per hour, 1–1000000 (e.g. \"10/h\")"),
                    ),
                    Err(m) => cx.err(&at, m),
                }
            }
            Some(spec)
        }
        Err(missing) => {
            for field in missing {
                cx.err_or_at(
                    &root.key("pricing").key("rates").key(field),
                    &p,
                    format!(
                        "no `{field}` rate for region `{}`: the network charges of egress = \"{}\" are part of the bill; set it under [pricing.rates] (USD)",
                        prices.region,
                        egress.name()
                    ),
                );
            }
            None
        }
    }
}

/// The rates of the scenario's own configuration, resolved; every missing one is an error.
pub(super) fn check_rates(
    cx: &mut Ctx,
    prices: &PriceTable,
    flows: &[FlowSpec],
    strategy: &Strategy,
    worker: &TaskSize,
    discount: f64,
) -> Option<TaskRates> {
    let sizes: Vec<&TaskSize> = flows.iter().map(|f| &f.size).collect();
    let providers: Vec<Provider> = Provider::ALL
        .into_iter()
        .filter(|p| {
            flows
                .iter()
                .any(|f| f.strategy.as_ref().unwrap_or(strategy).uses(*p))
        })
        .collect();
    match crate::pricing::resolved::resolve(prices, &sizes, worker, &providers, discount) {
        Ok(r) => Some(r),
        Err(e) => {
            cx.err_or_at(
                &FieldPath::root().key("pricing").key("rates"),
                &FieldPath::root().key("region"),
                e.to_string(),
            );
            None
        }
    }
}

/// `[pricing.savings_plan]`: a commitment and its discounts, or nothing. Giving a flat
/// `on_demand_discount` too would count the plan twice: refused.
pub(super) fn savings_plan(
    cx: &mut Ctx,
    f: &PricingSection,
    p: &FieldPath,
) -> Option<crate::pricing::SavingsPlan> {
    let sp = f.savings_plan.as_ref()?;
    let path = p.key("savings_plan");
    if f.on_demand_discount.is_some() {
        cx.err(
            &p.key("on_demand_discount"),
            "give either `on_demand_discount` (a flat approximation) or \
             [pricing.savings_plan] (the commitment, hour by hour), not both: together they \
             would count the plan twice",
        );
    }
    let commitment = match sp.fargate_commitment_per_hour {
        None => {
            cx.err(
                &path,
                "`fargate_commitment_per_hour` is required: the USD per hour at plan rates that \
                 this platform's Fargate usage consumes of the plan today",
            );
            None
        }
        Some(c) if c.is_finite() && c > 0.0 && c <= 1.0e6 => Some(c),
        Some(c) => {
            cx.err(
                &path.key("fargate_commitment_per_hour"),
                format!("`{c}` is outside (0, 1000000] USD per hour"),
            );
            None
        }
    };
    let mut discount = |key: &str, v: Option<f64>| -> Option<Option<f64>> {
        match v {
            None => Some(None),
            Some(d) if d.is_finite() && d > 0.0 && d <= 0.9 => Some(Some(d)),
            Some(d) => {
                cx.err(
                    &path.key(key),
                    format!("`{d}` is outside (0, 0.9] (a fraction: 0.2 is 20% off on-demand)"),
                );
                None
            }
        }
    };
    let both = discount("discount", sp.discount)?;
    let v = discount("vcpu_discount", sp.vcpu_discount)?;
    let m = discount("memory_discount", sp.memory_discount)?;
    let (vcpu, memory) = match (both, v, m) {
        (Some(d), None, None) => (d, d),
        (None, Some(v), Some(m)) => (v, m),
        _ => {
            cx.err(
                &path,
                "give `discount`, or both `vcpu_discount` and `memory_discount` (the plan's \
                 discounts on on-demand Fargate vCPU and memory)",
            );
            return None;
        }
    };
    let ends = match &sp.ends {
        None => None,
        Some(d) if d.date.is_some() && d.time.is_none() => Some(d.to_string()),
        Some(d) => {
            cx.err(
                &path.key("ends"),
                format!("`{d}` is not a date: write the term's last day, e.g. 2027-06-30"),
            );
            None
        }
    };
    Some(crate::pricing::SavingsPlan {
        commitment_per_hour: commitment?,
        vcpu_discount: vcpu,
        memory_discount: memory,
        ends,
    })
}
