//! Parsing AWS Price List (GetProducts) items for Fargate, and the Fargate Spot price feed,
//! into per-region rates. Pure: text in, rates or a precise error out.

use std::collections::BTreeMap;

use serde_json::Value;

use super::RegionRates;

/// What a Price List item prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// Linux x86_64 per vCPU-hour.
    Vcpu,
    /// Linux x86_64 per GB-hour.
    Gb,
    /// Linux ARM64 per vCPU-hour.
    ArmVcpu,
    /// Linux ARM64 per GB-hour.
    ArmGb,
    /// Ephemeral storage per GB-hour.
    Storage,
}

/// Errors in Price List answers.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PriceListError {
    /// Not JSON, or not the item shape.
    #[error("a Price List item is not valid JSON ({0})")]
    Malformed(String),
    /// A Fargate item without a USD price.
    #[error("Price List item `{sku}` ({usagetype}) has no USD price; refusing to guess")]
    NoUsd {
        /// SKU.
        sku: String,
        /// Usage type.
        usagetype: String,
    },
    /// A price that is not a number.
    #[error("Price List item `{sku}` ({usagetype}) has price `{value}`, which is not a number")]
    BadPrice {
        /// SKU.
        sku: String,
        /// Usage type.
        usagetype: String,
        /// The text.
        value: String,
    },
    /// A unit that is not per hour.
    #[error(
        "Price List item `{sku}` ({usagetype}) is priced per `{unit}`; spotplan knows `hours`, `Hrs` and `GB-Hours`"
    )]
    UnknownUnit {
        /// SKU.
        sku: String,
        /// Usage type.
        usagetype: String,
        /// The unit.
        unit: String,
    },
    /// Two items price the same thing differently.
    #[error("region `{region}` has two different prices for {what}: {a} and {b}")]
    Conflict {
        /// Region.
        region: String,
        /// What.
        what: String,
        /// One price.
        a: f64,
        /// Another.
        b: f64,
    },
}

/// The Fargate dimension of a usage type, matched by suffix because the region prefix is
/// irregular (`USE1-`, `USW2-`, `EU-`, `EUC1-`, …). Windows items, spot CUR usage types and
/// everything else give `None`.
pub fn classify(usagetype: &str) -> Option<Dimension> {
    let (prefix, rest) = usagetype.split_once("Fargate-")?;
    // the prefix is a region code like `USE1-`; `SpotUsage` usage types are bills, not prices
    let prefix_ok = prefix.is_empty()
        || (prefix.ends_with('-')
            && prefix[..prefix.len() - 1]
                .chars()
                .all(|c| c.is_ascii_alphanumeric()));
    if !prefix_ok {
        return None;
    }
    match rest {
        "vCPU-Hours:perCPU" => Some(Dimension::Vcpu),
        "GB-Hours" => Some(Dimension::Gb),
        "ARM-vCPU-Hours:perCPU" => Some(Dimension::ArmVcpu),
        "ARM-GB-Hours" => Some(Dimension::ArmGb),
        "EphemeralStorage-GB-Hours" => Some(Dimension::Storage),
        _ => None,
    }
}

/// One priced Fargate item.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Region code.
    pub region: String,
    /// What it prices.
    pub dimension: Dimension,
    /// USD per unit-hour.
    pub usd: f64,
    /// SKU.
    pub sku: String,
    /// Usage type.
    pub usagetype: String,
}

/// Parses one PriceList element. `Ok(None)` for items that are not Linux Fargate rates.
pub fn parse_item(text: &str) -> Result<Option<Item>, PriceListError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| PriceListError::Malformed(e.to_string()))?;
    let attrs = &v["product"]["attributes"];
    let Some(usagetype) = attrs["usagetype"].as_str() else {
        return Err(PriceListError::Malformed(
            "item has no product.attributes.usagetype".into(),
        ));
    };
    if attrs["operatingSystem"]
        .as_str()
        .is_some_and(|os| os.eq_ignore_ascii_case("windows"))
    {
        return Ok(None);
    }
    let Some(dimension) = classify(usagetype) else {
        return Ok(None);
    };
    let sku = v["product"]["sku"].as_str().unwrap_or("?").to_string();
    let region = attrs["regionCode"]
        .as_str()
        .ok_or_else(|| PriceListError::Malformed(format!("item `{sku}` has no regionCode")))?
        .to_string();
    let terms = v["terms"]["OnDemand"]
        .as_object()
        .ok_or_else(|| PriceListError::Malformed(format!("item `{sku}` has no terms.OnDemand")))?;
    let no_usd = || PriceListError::NoUsd {
        sku: sku.clone(),
        usagetype: usagetype.to_string(),
    };
    // the first (and in practice only) term; its dimension that starts at 0
    let term = terms.values().next().ok_or_else(no_usd)?;
    let dims = term["priceDimensions"].as_object().ok_or_else(no_usd)?;
    let dim = dims
        .values()
        .find(|d| d["beginRange"].as_str().is_none_or(|b| b == "0"))
        .ok_or_else(no_usd)?;
    let unit = dim["unit"].as_str().unwrap_or("");
    if !["hours", "Hrs", "GB-Hours", "Hours"].contains(&unit) {
        return Err(PriceListError::UnknownUnit {
            sku,
            usagetype: usagetype.into(),
            unit: unit.into(),
        });
    }
    let text = dim["pricePerUnit"]["USD"].as_str().ok_or_else(no_usd)?;
    let usd: f64 = text.parse().map_err(|_| PriceListError::BadPrice {
        sku: sku.clone(),
        usagetype: usagetype.into(),
        value: text.into(),
    })?;
    if !(usd.is_finite() && usd >= 0.0) {
        return Err(PriceListError::BadPrice {
            sku,
            usagetype: usagetype.into(),
            value: text.into(),
        });
    }
    Ok(Some(Item {
        region,
        dimension,
        usd,
        sku,
        usagetype: usagetype.to_string(),
    }))
}

fn set(slot: &mut Option<f64>, region: &str, what: &str, usd: f64) -> Result<(), PriceListError> {
    match *slot {
        Some(a) if a != usd => Err(PriceListError::Conflict {
            region: region.into(),
            what: what.into(),
            a,
            b: usd,
        }),
        _ => {
            *slot = Some(usd);
            Ok(())
        }
    }
}

/// Groups items into on-demand rates by region.
pub fn on_demand_rates(items: &[Item]) -> Result<BTreeMap<String, RegionRates>, PriceListError> {
    let mut out: BTreeMap<String, RegionRates> = BTreeMap::new();
    for it in items {
        let r = out.entry(it.region.clone()).or_default();
        let (slot, what) = match it.dimension {
            Dimension::Vcpu => (&mut r.vcpu_hour, "x86 vCPU-hours"),
            Dimension::Gb => (&mut r.gb_hour, "x86 GB-hours"),
            Dimension::ArmVcpu => (&mut r.arm_vcpu_hour, "ARM vCPU-hours"),
            Dimension::ArmGb => (&mut r.arm_gb_hour, "ARM GB-hours"),
            Dimension::Storage => (&mut r.storage_gb_hour, "ephemeral storage GB-hours"),
        };
        set(slot, &it.region, what, it.usd)?;
    }
    Ok(out)
}

/// Errors in the Fargate Spot price feed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpotFeedError {
    /// The feed's shape changed.
    #[error(
        "the Fargate Spot price feed changed shape ({0}); expected {{\"metadata\":{{...}},\"prices\":[{{\"unit\":\"vCPU-Hours\",\"price\":{{\"USD\":\"…\"}},\"attributes\":{{\"aws:region\":\"…\"}}}}]}}; pass a file of that shape with --spot-prices"
    )]
    Shape(String),
}

/// Spot rates by region from the feed, and its `source:version`.
pub fn parse_spot_feed(
    text: &str,
) -> Result<(BTreeMap<String, RegionRates>, String), SpotFeedError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| SpotFeedError::Shape(format!("not JSON: {e}")))?;
    let prices = v["prices"]
        .as_array()
        .ok_or_else(|| SpotFeedError::Shape("no `prices` array".into()))?;
    let version = v["metadata"]["source:version"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    let mut out: BTreeMap<String, RegionRates> = BTreeMap::new();
    for (i, p) in prices.iter().enumerate() {
        let region = p["attributes"]["aws:region"].as_str().ok_or_else(|| {
            SpotFeedError::Shape(format!("prices[{i}] has no attributes.aws:region"))
        })?;
        let unit = p["unit"]
            .as_str()
            .ok_or_else(|| SpotFeedError::Shape(format!("prices[{i}] has no unit")))?;
        let usd = p["price"]["USD"]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| {
                SpotFeedError::Shape(format!(
                    "prices[{i}] ({region} {unit}) has no numeric USD price"
                ))
            })?;
        let r = out.entry(region.to_string()).or_default();
        let slot = match unit {
            "vCPU-Hours" => &mut r.spot_vcpu_hour,
            "GB-Hours" => &mut r.spot_gb_hour,
            "ARM-vCPU-Hours" => &mut r.spot_arm_vcpu_hour,
            "ARM-GB-Hours" => &mut r.spot_arm_gb_hour,
            _ => continue, // a unit spotplan does not use cannot make a price wrong
        };
        *slot = Some(usd);
    }
    out.retain(|_, r| r.spot_vcpu_hour.is_some() || r.spot_arm_vcpu_hour.is_some());
    if out.is_empty() {
        return Err(SpotFeedError::Shape("no vCPU-Hours prices in it".into()));
    }
    Ok((out, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_with_irregular_prefixes() {
        assert_eq!(
            classify("USE1-Fargate-vCPU-Hours:perCPU"),
            Some(Dimension::Vcpu)
        );
        assert_eq!(classify("EU-Fargate-GB-Hours"), Some(Dimension::Gb));
        assert_eq!(
            classify("EUC1-Fargate-ARM-vCPU-Hours:perCPU"),
            Some(Dimension::ArmVcpu)
        );
        assert_eq!(
            classify("USW2-Fargate-ARM-GB-Hours"),
            Some(Dimension::ArmGb)
        );
        assert_eq!(
            classify("APS3-Fargate-EphemeralStorage-GB-Hours"),
            Some(Dimension::Storage)
        );
        assert_eq!(classify("USE1-Fargate-Windows-vCPU-Hours:perCPU"), None);
        assert_eq!(classify("USE1-SpotUsage-Fargate-GB-Hours"), None);
        assert_eq!(classify("USE1-ECS-Anywhere-Instance-Hours"), None);
        assert_eq!(classify("USE1-Fargate-GB-Hours:perGB"), None);
    }
}
