//! A Compute Savings Plan as the commitment it is, not a flat discount.
//!
//! AWS (Savings Plans User Guide, "How Savings Plans apply to your usage"): a plan commits to
//! a spend per hour at plan rates; each hour, the commitment is applied to eligible usage
//! "from the highest savings percentage to the lowest", usage beyond it is billed at
//! on-demand rates, and the commitment is charged whether or not it is used. Compute Savings
//! Plans cover Fargate vCPU and memory; they do not cover Spot, and no source says they cover
//! ephemeral storage or the Windows OS licence fee, so those stay at on-demand rates.
//!
//! The input is the part of the commitment this platform's Fargate usage consumes today (the
//! plan is shared across an account or organisation; the rest of it is not this tool's to
//! price). [`SavingsPlan::settle`] bills one clock hour; the simulation's meter keeps the
//! hours still open in a bounded buffer ([`crate::sim`]'s meter).

use serde::Serialize;

/// `[pricing.savings_plan]`, validated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SavingsPlan {
    /// USD per hour at plan rates: the part this platform's Fargate uses today.
    pub commitment_per_hour: f64,
    /// The plan's discount on on-demand Fargate vCPU (0–1).
    pub vcpu_discount: f64,
    /// The plan's discount on on-demand Fargate memory (0–1).
    pub memory_discount: f64,
    /// When the term ends (`YYYY-MM-DD`), if stated: results then also give the saving after
    /// it, at on-demand rates with no commitment.
    pub ends: Option<String>,
}

/// One hour of eligible usage at on-demand rates, USD: `[vCPU, memory]`.
pub type Usage = [f64; 2];

/// One hour's bill of eligible usage under the plan.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HourBill {
    /// What each part (`[vCPU, memory]`) is charged: plan rate for the usage the commitment
    /// covers, on-demand for the rest, USD.
    pub charged: [f64; 2],
    /// Commitment paid and not used, USD.
    pub stranded: f64,
    /// Usage the commitment did not cover, at on-demand rates, USD.
    pub above: f64,
}

impl HourBill {
    /// The hour's whole charge for eligible usage and the commitment, USD.
    pub fn total(&self) -> f64 {
        self.charged[0] + self.charged[1] + self.stranded
    }
}

impl SavingsPlan {
    /// The discounts as `[vCPU, memory]`.
    pub fn discounts(&self) -> [f64; 2] {
        [self.vcpu_discount, self.memory_discount]
    }

    /// Bills one hour of `usage` against `commitment` USD (the hourly commitment, or its
    /// share of a partial hour): the part with the higher discount is covered first.
    pub fn settle(&self, usage: Usage, commitment: f64) -> HourBill {
        let d = self.discounts();
        let order = if d[0] >= d[1] { [0, 1] } else { [1, 0] };
        let mut left = commitment;
        let mut bill = HourBill::default();
        for k in order {
            let u = usage[k].max(0.0);
            let plan_rate = 1.0 - d[k];
            let covered = if plan_rate > 0.0 {
                (left / plan_rate).min(u)
            } else {
                u
            };
            left = (left - covered * plan_rate).max(0.0);
            bill.charged[k] = covered * plan_rate + (u - covered);
            bill.above += u - covered;
        }
        bill.stranded = left;
        bill
    }

    /// The plan in words, for the results' header.
    pub fn describe(&self) -> String {
        let pct = |x: f64| format!("{}%", (x * 1000.0).round() / 10.0);
        let discount = if self.vcpu_discount == self.memory_discount {
            pct(self.vcpu_discount)
        } else {
            format!(
                "{} on vCPU, {} on memory",
                pct(self.vcpu_discount),
                pct(self.memory_discount)
            )
        };
        let term = match &self.ends {
            Some(d) => format!("; the term ends {d}, the saving after it is given too"),
            None => String::new(),
        };
        format!(
            "Compute Savings Plan (stated): {:.4} USD per hour committed at plan rates for this \
             platform's Fargate, {discount} off on-demand vCPU and memory of flows on FARGATE \
             and of the worker, hour by hour; usage above it at on-demand rates, an unused \
             commitment still paid (the stranded line); spot, storage and network not covered{term}",
            self.commitment_per_hour
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(v: f64, m: f64) -> SavingsPlan {
        SavingsPlan {
            commitment_per_hour: 0.5,
            vcpu_discount: v,
            memory_discount: m,
            ends: None,
        }
    }

    #[test]
    fn an_hour_under_the_commitment_pays_it_all_and_strands_the_rest() {
        // 0.40 USD of on-demand usage at 20% off is 0.32 at plan rates: 0.18 stranded
        let b = plan(0.2, 0.2).settle([0.3, 0.1], 0.5);
        assert!((b.charged[0] - 0.24).abs() < 1e-12);
        assert!((b.charged[1] - 0.08).abs() < 1e-12);
        assert!((b.stranded - 0.18).abs() < 1e-12);
        assert_eq!(b.above, 0.0);
        assert!((b.total() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn an_hour_above_the_commitment_pays_on_demand_for_the_rest() {
        // the commitment covers 0.5 / 0.8 = 0.625 USD of on-demand usage; 1.0 − 0.625 above
        let b = plan(0.2, 0.2).settle([0.8, 0.2], 0.5);
        assert_eq!(b.stranded, 0.0);
        assert!((b.above - 0.375).abs() < 1e-12);
        assert!((b.total() - (0.5 + 0.375)).abs() < 1e-12);
    }

    #[test]
    fn the_higher_discount_is_covered_first() {
        // memory at 30% off comes first: 0.4 of it costs 0.28; 0.22 left covers 0.22/0.9 of
        // vCPU at 10% off, the rest of the vCPU at on-demand
        let b = plan(0.1, 0.3).settle([0.6, 0.4], 0.5);
        assert!((b.charged[1] - 0.28).abs() < 1e-12);
        let covered_v = 0.22 / 0.9;
        assert!((b.charged[0] - (0.22 + (0.6 - covered_v))).abs() < 1e-12);
        assert!((b.above - (0.6 - covered_v)).abs() < 1e-12);
        assert_eq!(b.stranded, 0.0);
    }
}
