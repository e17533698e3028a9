//! Rates side by side: the Fargate rates a price table lists (their names as in JSON), the
//! spot rates of the Spot feed merged into Price List rates, and the differences between the
//! bundled snapshot and the cache.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{PriceSnapshot, RegionRates};

/// The Fargate rates `pricing show` and `pricing diff` list, by their names in JSON.
pub(crate) const RATE_NAMES: [&str; 9] = [
    "vcpu_hour",
    "gb_hour",
    "arm_vcpu_hour",
    "arm_gb_hour",
    "storage_gb_hour",
    "spot_vcpu_hour",
    "spot_gb_hour",
    "spot_arm_vcpu_hour",
    "spot_arm_gb_hour",
];

impl RegionRates {
    /// The rates `RATE_NAMES` names, in that order (USD per vCPU-, GB- or GB-of-storage-hour).
    pub fn listed(&self) -> [Option<f64>; 9] {
        [
            self.vcpu_hour,
            self.gb_hour,
            self.arm_vcpu_hour,
            self.arm_gb_hour,
            self.storage_gb_hour,
            self.spot_vcpu_hour,
            self.spot_gb_hour,
            self.spot_arm_vcpu_hour,
            self.spot_arm_gb_hour,
        ]
    }
}

/// Puts the Spot feed's rates (`spot`, by region) into the Price List's (`rates`): the feed is
/// the only source of FARGATE_SPOT rates; a region the feed lacks keeps none.
pub(crate) fn merge_spot(
    rates: &mut BTreeMap<String, RegionRates>,
    spot: &BTreeMap<String, RegionRates>,
) {
    for (r, od) in rates.iter_mut() {
        if let Some(sp) = spot.get(r) {
            od.spot_vcpu_hour = sp.spot_vcpu_hour;
            od.spot_gb_hour = sp.spot_gb_hour;
            od.spot_arm_vcpu_hour = sp.spot_arm_vcpu_hour;
            od.spot_arm_gb_hour = sp.spot_arm_gb_hour;
        }
    }
}

/// One rate that differs between the bundled snapshot and the cache.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct RateDifference {
    /// The region.
    pub region: String,
    /// The rate's name ([`RATE_NAMES`]).
    pub rate: &'static str,
    /// The bundled snapshot's value, USD (`None`: it has none).
    pub bundled: Option<f64>,
    /// The cache's value, USD (`None`: it has none).
    pub cache: Option<f64>,
    /// The change from bundled to cache, % (`None` without two values, or from zero).
    pub change_pct: Option<f64>,
}

/// The rates that differ between `bundled` and `cache`, by region (all, or `region`) and rate.
pub(crate) fn differences(
    bundled: &PriceSnapshot,
    cache: &PriceSnapshot,
    region: Option<&str>,
) -> Vec<RateDifference> {
    let regions: BTreeSet<&String> = cache.regions.keys().chain(bundled.regions.keys()).collect();
    let mut rows = Vec::new();
    for k in regions
        .into_iter()
        .filter(|k| region.is_none_or(|r| r == *k))
    {
        let listed = |s: &PriceSnapshot| s.regions.get(k).map_or([None; 9], RegionRates::listed);
        let (bv, cv) = (listed(bundled), listed(cache));
        for (i, rate) in RATE_NAMES.iter().enumerate() {
            if bv[i] != cv[i] {
                let change_pct = match (bv[i], cv[i]) {
                    (Some(x), Some(y)) if x > 0.0 => Some(100.0 * (y - x) / x),
                    _ => None,
                };
                rows.push(RateDifference {
                    region: k.clone(),
                    rate,
                    bundled: bv[i],
                    cache: cv[i],
                    change_pct,
                });
            }
        }
    }
    rows
}
