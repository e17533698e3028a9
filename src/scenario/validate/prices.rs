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
            let only = |cx: &mut Ctx, field: &str, v: Option<u32>, mode: &str| {
                if v.is_some() {
                    cx.err(
                        &p.key(field),
                        format!("`{field}` applies only to egress = \"{mode}\""),
                    );
                }
            };
            let e = match n.egress.as_str() {
                "public-ip" => {
                    only(cx, "nat_gateways", n.nat_gateways, "nat");
                    only(cx, "endpoints", n.endpoints, "vpc-endpoints");
                    only(cx, "azs", n.azs, "vpc-endpoints");
                    Egress::PublicIp
                }
                "nat" => {
                    only(cx, "endpoints", n.endpoints, "vpc-endpoints");
                    only(cx, "azs", n.azs, "vpc-endpoints");
                    let g = n.nat_gateways.unwrap_or(1);
                    if !(1..=100).contains(&g) {
                        cx.err(&p.key("nat_gateways"), format!("`{g}` is outside 1–100"));
                    }
                    Egress::Nat { gateways: g }
                }
                "vpc-endpoints" => {
                    only(cx, "nat_gateways", n.nat_gateways, "nat");
                    let (e, a) = (n.endpoints.unwrap_or(3), n.azs.unwrap_or(2));
                    if !(1..=50).contains(&e) {
                        cx.err(&p.key("endpoints"), format!("`{e}` is outside 1–50"));
                    }
                    if !(1..=6).contains(&a) {
                        cx.err(&p.key("azs"), format!("`{a}` is outside 1–6"));
                    }
                    Egress::VpcEndpoints {
                        endpoints: e,
                        azs: a,
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
    let need = |cx: &mut Ctx, field: &'static str, v: Option<f64>| -> f64 {
        v.unwrap_or_else(|| {
            cx.err_or_at(
                &root.key("pricing").key("rates").key(field),
                &p,
                format!(
                    "no `{field}` rate for region `{}`: the network charges of egress = \"{}\" are part of the bill; set it under [pricing.rates] (USD)",
                    prices.region,
                    egress.name()
                ),
            );
            f64::NAN
        })
    };
    let r = &prices.rates;
    let (public_ipv4_hour, fixed_usd_per_hour, per_gb) = match egress {
        Egress::PublicIp => (need(cx, "public_ipv4_hour", r.public_ipv4_hour), 0.0, 0.0),
        Egress::Nat { gateways } => (
            0.0,
            gateways as f64 * need(cx, "nat_gateway_hour", r.nat_gateway_hour),
            need(cx, "nat_gb", r.nat_gb),
        ),
        Egress::VpcEndpoints { endpoints, azs } => (
            0.0,
            (endpoints * azs) as f64 * need(cx, "vpc_endpoint_az_hour", r.vpc_endpoint_az_hour),
            0.0,
        ),
    };
    Some(NetworkSpec {
        egress,
        stated,
        public_ipv4_hour,
        fixed_usd_per_hour,
        per_gb,
    })
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
