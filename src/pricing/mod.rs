//! Prices and the Fargate billing rules: per second, 1-minute minimum, task-level vCPU and
//! GB, ephemeral storage above 20 GiB, spot rates for spot tasks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Architecture, OperatingSystem, Provider, TaskSize};

pub(crate) mod cache;
pub(crate) mod compare;
pub mod pricelist;
pub(crate) mod resolved;
pub mod savings_plan;

pub use resolved::{MissingRate, MissingRates, TaskRates};
pub use savings_plan::SavingsPlan;

/// The bundled snapshot, compiled into the binary so `simulate` works offline.
pub const BUNDLED_JSON: &str = include_str!("bundled.json");

/// Rates of one region, USD per hour. `None` means not sourced. Also the shape of a
/// scenario's `[pricing.rates]` overrides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionRates {
    /// On-demand Linux x86_64, per vCPU-hour.
    pub vcpu_hour: Option<f64>,
    /// On-demand Linux x86_64, per GB-hour.
    pub gb_hour: Option<f64>,
    /// On-demand Linux ARM64, per vCPU-hour.
    pub arm_vcpu_hour: Option<f64>,
    /// On-demand Linux ARM64, per GB-hour.
    pub arm_gb_hour: Option<f64>,
    /// Spot Linux x86_64, per vCPU-hour.
    pub spot_vcpu_hour: Option<f64>,
    /// Spot Linux x86_64, per GB-hour.
    pub spot_gb_hour: Option<f64>,
    /// Spot Linux ARM64, per vCPU-hour.
    pub spot_arm_vcpu_hour: Option<f64>,
    /// Spot Linux ARM64, per GB-hour.
    pub spot_arm_gb_hour: Option<f64>,
    /// Ephemeral storage above 20 GiB, per GB-hour.
    pub storage_gb_hour: Option<f64>,
    /// On-demand Windows, per vCPU-hour.
    pub windows_vcpu_hour: Option<f64>,
    /// Windows OS licence, per vCPU-hour.
    pub windows_os_vcpu_hour: Option<f64>,
    /// On-demand Windows, per GB-hour.
    pub windows_gb_hour: Option<f64>,
    /// A public IPv4 address, per hour (all regions: $0.005 since 2024-02-01).
    pub public_ipv4_hour: Option<f64>,
    /// A NAT gateway, per hour.
    pub nat_gateway_hour: Option<f64>,
    /// Data processed by a NAT gateway, per GB.
    pub nat_gb: Option<f64>,
    /// An interface VPC endpoint, per AZ-hour.
    pub vpc_endpoint_az_hour: Option<f64>,
    /// Where these figures come from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The date these rates are as of (YYYY-MM-DD), when it differs from the snapshot's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

impl RegionRates {
    /// Every rate with its field name, for reading and overriding in one place.
    fn fields_mut(&mut self) -> [(&'static str, &mut Option<f64>); 16] {
        [
            ("vcpu_hour", &mut self.vcpu_hour),
            ("gb_hour", &mut self.gb_hour),
            ("arm_vcpu_hour", &mut self.arm_vcpu_hour),
            ("arm_gb_hour", &mut self.arm_gb_hour),
            ("spot_vcpu_hour", &mut self.spot_vcpu_hour),
            ("spot_gb_hour", &mut self.spot_gb_hour),
            ("spot_arm_vcpu_hour", &mut self.spot_arm_vcpu_hour),
            ("spot_arm_gb_hour", &mut self.spot_arm_gb_hour),
            ("storage_gb_hour", &mut self.storage_gb_hour),
            ("windows_vcpu_hour", &mut self.windows_vcpu_hour),
            ("windows_os_vcpu_hour", &mut self.windows_os_vcpu_hour),
            ("windows_gb_hour", &mut self.windows_gb_hour),
            ("public_ipv4_hour", &mut self.public_ipv4_hour),
            ("nat_gateway_hour", &mut self.nat_gateway_hour),
            ("nat_gb", &mut self.nat_gb),
            ("vpc_endpoint_az_hour", &mut self.vpc_endpoint_az_hour),
        ]
    }

    /// The network rates (public IPv4, NAT, VPC endpoints), which the Fargate price
    /// sources do not carry.
    pub const NETWORK_FIELDS: [&'static str; 4] = [
        "public_ipv4_hour",
        "nat_gateway_hour",
        "nat_gb",
        "vpc_endpoint_az_hour",
    ];

    /// Fills each network rate this table lacks from `from`; returns the names filled.
    pub fn fill_network(&mut self, from: &RegionRates) -> Vec<&'static str> {
        let mut from = from.clone();
        let theirs = from.fields_mut().map(|(_, v)| *v);
        let mut filled = Vec::new();
        for ((name, slot), v) in self.fields_mut().into_iter().zip(theirs) {
            if Self::NETWORK_FIELDS.contains(&name) && slot.is_none() && v.is_some() {
                *slot = v;
                filled.push(name);
            }
        }
        filled
    }

    /// Replaces every rate that `over` sets; returns the (field, value) pairs replaced. The
    /// as-of date is taken from `over` when it gives one.
    pub fn overlay(&mut self, over: &RegionRates) -> Vec<(&'static str, f64)> {
        let mut over = over.clone();
        let theirs = over.fields_mut().map(|(_, v)| *v);
        let mut changed = Vec::new();
        for ((name, slot), v) in self.fields_mut().into_iter().zip(theirs) {
            if let Some(v) = v {
                *slot = Some(v);
                changed.push((name, v));
            }
        }
        if over.as_of.is_some() {
            self.as_of = over.as_of;
        }
        changed
    }
}

/// A snapshot of rates for many regions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSnapshot {
    /// The date the newest figure is as of (YYYY-MM-DD).
    pub as_of: String,
    /// Where the figures come from.
    pub source: String,
    /// Rates by region code.
    pub regions: BTreeMap<String, RegionRates>,
}

impl PriceSnapshot {
    /// The snapshot bundled with spotplan.
    pub fn bundled() -> PriceSnapshot {
        // The file is part of the source tree and checked by a unit test; a parse failure is a
        // build defect, not user input.
        serde_json::from_str(BUNDLED_JSON)
            .unwrap_or_else(|e| panic!("the bundled price snapshot is malformed: {e}"))
    }
}

/// Where the rates in use came from, echoed in every report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceSource {
    /// `bundled`, or `bundled+scenario` when the scenario overrides some rates.
    pub kind: String,
    /// Region the rates are for.
    pub region: String,
    /// The as-of date.
    pub as_of: String,
    /// Provenance text.
    pub detail: String,
}

/// Errors resolving a price.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PricingError {
    /// A rate the workload needs is not known for the region.
    #[error(
        "no {} rate for region `{region}` in the price source; set it under [pricing.rates] (USD per hour)",
        fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingRate {
        /// Region code.
        region: String,
        /// The `[pricing.rates]` field names missing.
        fields: Vec<&'static str>,
    },
}

/// The rates of one region in use by a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceTable {
    /// Region code.
    pub region: String,
    /// The rates.
    pub rates: RegionRates,
    /// Provenance.
    pub source: PriceSource,
}

impl PriceTable {
    /// The `[pricing.rates]` fields a task of `size` on `provider` is billed by, with their
    /// values: vCPU, GB, the Windows OS licence (Windows only) and storage (above 20 GiB only).
    pub fn fields_for(
        &self,
        size: &TaskSize,
        provider: Provider,
    ) -> Vec<(&'static str, Option<f64>)> {
        let r = &self.rates;
        let mut out = match (size.os, size.arch, provider) {
            (OperatingSystem::Windows, _, _) => vec![
                ("windows_vcpu_hour", r.windows_vcpu_hour),
                ("windows_gb_hour", r.windows_gb_hour),
                ("windows_os_vcpu_hour", r.windows_os_vcpu_hour),
            ],
            (_, Architecture::X86_64, Provider::Fargate) => {
                vec![("vcpu_hour", r.vcpu_hour), ("gb_hour", r.gb_hour)]
            }
            (_, Architecture::Arm64, Provider::Fargate) => {
                vec![
                    ("arm_vcpu_hour", r.arm_vcpu_hour),
                    ("arm_gb_hour", r.arm_gb_hour),
                ]
            }
            (_, Architecture::X86_64, Provider::FargateSpot) => vec![
                ("spot_vcpu_hour", r.spot_vcpu_hour),
                ("spot_gb_hour", r.spot_gb_hour),
            ],
            (_, Architecture::Arm64, Provider::FargateSpot) => vec![
                ("spot_arm_vcpu_hour", r.spot_arm_vcpu_hour),
                ("spot_arm_gb_hour", r.spot_arm_gb_hour),
            ],
        };
        if size.billed_storage_gib() > 0 {
            out.push(("storage_gb_hour", r.storage_gb_hour));
        }
        out
    }

    /// USD per hour for one running task of `size` on `provider`.
    ///
    /// vCPU × vCPU-rate + GB × GB-rate (+ the Windows OS licence per vCPU) + GiB above 20 ×
    /// storage rate. Spot tasks pay spot rates for vCPU and memory; storage is one rate.
    /// The error names every missing field.
    pub fn task_hourly_usd(
        &self,
        size: &TaskSize,
        provider: Provider,
    ) -> Result<f64, PricingError> {
        self.task_hourly_parts(size, provider)
            .map(|p| p.iter().sum())
    }

    /// [`PriceTable::task_hourly_usd`] in its parts, USD per hour: `[vCPU, memory, the rest]`
    /// (the rest: the Windows OS licence and storage above 20 GiB). A Compute Savings Plan
    /// covers the first two on FARGATE ([`savings_plan`]).
    pub fn task_hourly_parts(
        &self,
        size: &TaskSize,
        provider: Provider,
    ) -> Result<[f64; 3], PricingError> {
        let fields = self.fields_for(size, provider);
        let missing: Vec<&'static str> = fields
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
            .collect();
        if !missing.is_empty() {
            return Err(PricingError::MissingRate {
                region: self.region.clone(),
                fields: missing,
            });
        }
        let v = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| *v)
                .unwrap_or(0.0)
        };
        let (vcpu, gb, os) = match (size.os, size.arch, provider) {
            (OperatingSystem::Windows, _, _) => (
                v("windows_vcpu_hour"),
                v("windows_gb_hour"),
                v("windows_os_vcpu_hour"),
            ),
            (_, Architecture::X86_64, Provider::Fargate) => (v("vcpu_hour"), v("gb_hour"), 0.0),
            (_, Architecture::Arm64, Provider::Fargate) => {
                (v("arm_vcpu_hour"), v("arm_gb_hour"), 0.0)
            }
            (_, Architecture::X86_64, Provider::FargateSpot) => {
                (v("spot_vcpu_hour"), v("spot_gb_hour"), 0.0)
            }
            (_, Architecture::Arm64, Provider::FargateSpot) => {
                (v("spot_arm_vcpu_hour"), v("spot_arm_gb_hour"), 0.0)
            }
        };
        let storage = size.billed_storage_gib() as f64 * v("storage_gb_hour");
        Ok([
            size.cpu.vcpu() * vcpu,
            size.memory.gb() * gb,
            size.cpu.vcpu() * os + storage,
        ])
    }
}

/// Minimum billed seconds per task: 60 on Linux; 900 on Windows (15 minutes, documented in
/// 2021; a 2026 third-party note says 5 minutes, UNCONFIRMED).
pub fn minimum_billed_secs(os: OperatingSystem) -> u64 {
    match os {
        OperatingSystem::Linux => 60,
        OperatingSystem::Windows => 900,
    }
}

/// Seconds billed for a task that ran `ms` from image-pull start to stop: rounded up to the
/// next whole second, with the OS minimum.
pub fn billed_secs(ms: u64, os: OperatingSystem) -> u64 {
    ms.div_ceil(1000).max(minimum_billed_secs(os))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cpu, Memory};

    fn size(cpu: u32, mem: u32, arch: Architecture, storage: u32) -> TaskSize {
        TaskSize {
            cpu: Cpu(cpu),
            memory: Memory(mem),
            arch,
            os: OperatingSystem::Linux,
            storage_gib: storage,
        }
    }

    fn table() -> PriceTable {
        let snap = PriceSnapshot::bundled();
        PriceTable {
            region: "us-east-1".into(),
            rates: snap.regions["us-east-1"].clone(),
            source: PriceSource {
                kind: "bundled".into(),
                region: "us-east-1".into(),
                as_of: snap.as_of,
                detail: String::new(),
            },
        }
    }

    #[test]
    fn bundled_snapshot_parses_and_has_us_east_1() {
        let s = PriceSnapshot::bundled();
        assert_eq!(s.regions["us-east-1"].vcpu_hour, Some(0.04048));
        assert!(s.regions.len() >= 5);
    }

    #[test]
    fn billing_rounds_up_with_a_minute_minimum() {
        assert_eq!(billed_secs(59_000, OperatingSystem::Linux), 60);
        assert_eq!(billed_secs(61_000, OperatingSystem::Linux), 61);
        assert_eq!(billed_secs(61_001, OperatingSystem::Linux), 62);
        assert_eq!(billed_secs(0, OperatingSystem::Linux), 60);
    }

    #[test]
    fn hourly_rates_by_arch_provider_and_storage() {
        let t = table();
        let x86 = t
            .task_hourly_usd(
                &size(1024, 2048, Architecture::X86_64, 20),
                Provider::Fargate,
            )
            .unwrap();
        assert!((x86 - (0.04048 + 2.0 * 0.004445)).abs() < 1e-12);
        let arm = t
            .task_hourly_usd(
                &size(1024, 2048, Architecture::Arm64, 20),
                Provider::Fargate,
            )
            .unwrap();
        assert!((arm - (0.03238 + 2.0 * 0.00356)).abs() < 1e-12);
        let spot = t
            .task_hourly_usd(
                &size(1024, 2048, Architecture::X86_64, 20),
                Provider::FargateSpot,
            )
            .unwrap();
        assert!((spot - (0.01288871 + 2.0 * 0.00141527)).abs() < 1e-12);
        let big = t
            .task_hourly_usd(
                &size(1024, 2048, Architecture::X86_64, 50),
                Provider::Fargate,
            )
            .unwrap();
        assert!((big - x86 - 30.0 * 0.000111).abs() < 1e-12);
    }

    #[test]
    fn missing_rate_names_the_field_and_the_fix() {
        let mut t = table();
        t.region = "eu-central-1".into();
        t.rates = PriceSnapshot::bundled().regions["eu-central-1"].clone();
        let e = t
            .task_hourly_usd(
                &size(1024, 2048, Architecture::X86_64, 20),
                Provider::FargateSpot,
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no `spot_vcpu_hour`, `spot_gb_hour` rate for region `eu-central-1` in the price source; set it under [pricing.rates] (USD per hour)"
        );
    }
}
