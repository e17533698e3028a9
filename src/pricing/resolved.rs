//! Rates resolved once, before a run, into the numbers the engine multiplies: USD per hour of
//! each flow's task on each provider it can reach, and of the worker service. The engine
//! cannot fail on a rate: a provider a configuration can reach without a rate is an error
//! here, never a zero.

use std::fmt;

use serde::Serialize;

use super::{PriceTable, PricingError};
use crate::model::{Architecture, OperatingSystem, Provider, TaskSize};

/// Hourly rates of one configuration, USD per hour, discounts applied.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRates {
    /// Per flow, by [`Provider::index`]: USD per hour of one running task. NaN for a provider
    /// the configuration cannot reach, so a bug that bills time there shows as NaN, not 0.
    pub flows: Vec<[f64; 2]>,
    /// One worker task on on-demand FARGATE, USD per hour.
    pub worker: f64,
    /// Per flow: the on-demand FARGATE vCPU and memory parts of its rate, before any
    /// discount, USD per hour (what a Compute Savings Plan covers).
    pub fargate_plan_parts: Vec<[f64; 2]>,
    /// The same for one worker task.
    pub worker_plan_parts: [f64; 2],
}

impl TaskRates {
    /// USD per hour of flow `f` on `p`.
    #[inline]
    pub fn flow(&self, f: usize, p: Provider) -> f64 {
        self.flows[f][p.index()]
    }
}

/// A rate a configuration needs and the price source lacks.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MissingRate {
    /// Region code.
    pub region: String,
    /// `FARGATE` or `FARGATE_SPOT`.
    pub provider: &'static str,
    /// `x86_64`, `ARM64` or `Windows`.
    pub platform: &'static str,
    /// The `[pricing.rates]` field.
    pub field: &'static str,
}

impl fmt::Display for MissingRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} in `{}`: `{}`",
            self.provider, self.platform, self.region, self.field
        )
    }
}

/// Every rate missing, with how to supply them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingRates(pub Vec<MissingRate>);

impl fmt::Display for MissingRates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let region = self.0.first().map(|m| m.region.as_str()).unwrap_or("?");
        write!(
            f,
            "no price for {} rate(s) that this configuration can reach: {}; a missing rate is \
             never taken as 0: set them under [pricing.rates] (USD per hour), or run \
             `spotplan pricing fetch --region {region}` and use [pricing] source = \"cache\"",
            self.0.len(),
            self.0
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

impl std::error::Error for MissingRates {}

fn platform(size: &TaskSize) -> &'static str {
    match (size.os, size.arch) {
        (OperatingSystem::Windows, _) => "Windows",
        (_, Architecture::X86_64) => "x86_64",
        (_, Architecture::Arm64) => "ARM64",
    }
}

/// Resolves the rates of flows of `sizes` and a worker of `worker` size for a configuration
/// that can reach `providers` (the worker and the all-on-demand baseline always need
/// FARGATE). `on_demand_discount` (0–1, e.g. a Compute Savings Plan) lowers on-demand rates
/// only, never FARGATE_SPOT. Every missing rate is listed at once.
pub(crate) fn resolve(
    prices: &PriceTable,
    sizes: &[&TaskSize],
    worker: &TaskSize,
    providers: &[Provider],
    on_demand_discount: f64,
) -> Result<TaskRates, MissingRates> {
    let mut missing: Vec<MissingRate> = Vec::new();
    let mut rate = |size: &TaskSize, p: Provider| -> f64 {
        match prices.task_hourly_usd(size, p) {
            Ok(r) => match p {
                Provider::Fargate => r * (1.0 - on_demand_discount),
                Provider::FargateSpot => r,
            },
            Err(PricingError::MissingRate { region, fields }) => {
                for field in fields {
                    let m = MissingRate {
                        region: region.clone(),
                        provider: p.ecs_name(),
                        platform: platform(size),
                        field,
                    };
                    if !missing.contains(&m) {
                        missing.push(m);
                    }
                }
                f64::NAN
            }
        }
    };
    // a missing rate is named by `rate`; here it is NaN, like the rate itself
    let parts = |size: &TaskSize| -> [f64; 2] {
        prices
            .task_hourly_parts(size, Provider::Fargate)
            .map_or([f64::NAN; 2], |p| [p[0], p[1]])
    };
    let fargate_plan_parts = sizes.iter().map(|size| parts(size)).collect();
    let worker_plan_parts = parts(worker);
    let worker = rate(worker, Provider::Fargate);
    let flows = sizes
        .iter()
        .map(|size| {
            let mut r = [f64::NAN; 2];
            for p in Provider::ALL {
                if p == Provider::Fargate || providers.contains(&p) {
                    r[p.index()] = rate(size, p);
                }
            }
            r
        })
        .collect();
    if missing.is_empty() {
        Ok(TaskRates {
            flows,
            worker,
            fargate_plan_parts,
            worker_plan_parts,
        })
    } else {
        Err(MissingRates(missing))
    }
}
