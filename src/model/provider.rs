//! Capacity providers, capacity provider strategies and the placement model.

use std::fmt;

/// A Fargate capacity provider that the simulator models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Provider {
    /// On-demand Fargate (`FARGATE`).
    #[serde(rename = "FARGATE")]
    Fargate,
    /// Fargate Spot (`FARGATE_SPOT`): ~70% cheaper, interruptible with a two-minute warning.
    #[serde(rename = "FARGATE_SPOT")]
    FargateSpot,
}

impl Provider {
    /// Both providers, in index order.
    pub const ALL: [Provider; 2] = [Provider::Fargate, Provider::FargateSpot];

    /// The ECS name (`FARGATE` / `FARGATE_SPOT`).
    pub fn ecs_name(self) -> &'static str {
        match self {
            Provider::Fargate => "FARGATE",
            Provider::FargateSpot => "FARGATE_SPOT",
        }
    }
    /// Index into per-provider arrays (FARGATE = 0, FARGATE_SPOT = 1).
    pub fn index(self) -> usize {
        self as usize
    }
    /// Parses an ECS provider name (exact, upper case as ECS spells it).
    pub fn from_ecs_name(name: &str) -> Option<Provider> {
        match name {
            "FARGATE" => Some(Provider::Fargate),
            "FARGATE_SPOT" => Some(Provider::FargateSpot),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ecs_name())
    }
}

/// One item of a capacity provider strategy (`CapacityProviderStrategyItem`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrategyItem {
    /// The provider.
    pub provider: Provider,
    /// Relative weight, 0–1000 (ECS API default 0).
    pub weight: u32,
    /// Minimum tasks on this provider, 0–100000; at most one item of a strategy sets it.
    pub base: u32,
}

/// A validated capacity provider strategy: 1–20 items, at most one base, some weight > 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strategy {
    /// The items, in the order the user wrote them (ties in placement go to the earlier item).
    pub items: Vec<StrategyItem>,
}

impl Strategy {
    /// The strategy in plain words: "Fargate Spot", "on-demand Fargate", or "60% on Fargate
    /// Spot (the first task of a call on demand)".
    pub fn in_words(&self) -> String {
        let share = self.weight_share(Provider::FargateSpot);
        let base = self.items.iter().find(|i| i.base > 0);
        let base_words = match base {
            Some(b) if b.provider == Provider::Fargate && share > 0.0 => {
                format!(
                    " (the first {} task{} of a call on demand)",
                    b.base,
                    if b.base == 1 { "" } else { "s" }
                )
            }
            Some(b) if b.provider == Provider::FargateSpot && share < 1.0 => {
                format!(
                    " (the first {} task{} of a call on spot)",
                    b.base,
                    if b.base == 1 { "" } else { "s" }
                )
            }
            _ => String::new(),
        };
        match share {
            s if s >= 1.0 && base_words.is_empty() => "Fargate Spot".into(),
            s if s <= 0.0 && base_words.is_empty() => "on-demand Fargate".into(),
            s => format!("{:.0}% on Fargate Spot{base_words}", 100.0 * s),
        }
    }

    /// The strategy as ECS's APIs and Prefect's `capacity_provider_strategy` take it:
    /// `[{"capacityProvider": …, "weight": …, "base": …}]`, every field written. The one
    /// conversion to that shape (RunTask, the cluster default, work pools, deployments).
    pub fn to_ecs_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.items
                .iter()
                .map(|i| {
                    serde_json::json!({"capacityProvider": i.provider.ecs_name(), "weight": i.weight, "base": i.base})
                })
                .collect(),
        )
    }

    /// ECS limit on `weight`.
    pub const MAX_WEIGHT: u32 = 1000;
    /// ECS limit on `base`.
    pub const MAX_BASE: u32 = 100_000;
    /// ECS limit on items per strategy (current API reference; older docs said 6).
    pub const MAX_ITEMS: usize = 20;

    /// A one-item strategy, weight 1, base 0.
    pub fn only(provider: Provider) -> Strategy {
        Strategy {
            items: vec![StrategyItem {
                provider,
                weight: 1,
                base: 0,
            }],
        }
    }

    /// The item holding a base > 0, if any.
    pub fn base_item(&self) -> Option<&StrategyItem> {
        self.items.iter().find(|i| i.base > 0)
    }

    /// Sum of weights.
    pub fn total_weight(&self) -> u32 {
        self.items.iter().map(|i| i.weight).sum()
    }

    /// Weight share of a provider (0–1), ignoring base.
    pub fn weight_share(&self, p: Provider) -> f64 {
        let total = self.total_weight();
        if total == 0 {
            return 0.0;
        }
        self.items
            .iter()
            .filter(|i| i.provider == p)
            .map(|i| i.weight)
            .sum::<u32>() as f64
            / total as f64
    }

    /// Whether any item can place a task on `p` (weight > 0 or base > 0).
    pub fn uses(&self, p: Provider) -> bool {
        self.items
            .iter()
            .any(|i| i.provider == p && (i.weight > 0 || i.base > 0))
    }
}

impl fmt::Display for Strategy {
    /// `FARGATE_SPOT w3, FARGATE w2 b1`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, i) in self.items.iter().enumerate() {
            if k > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} w{}", i.provider, i.weight)?;
            if i.base > 0 {
                write!(f, " b{}", i.base)?;
            }
        }
        Ok(())
    }
}

/// How a strategy splits separate `count=1` RunTask calls between providers.
///
/// AWS documents weights as a ratio "of the tasks launched" and `base` as a minimum "for each
/// service", but not how separate calls are split (domain file §1.2–1.4, UNCONFIRMED), so the
/// reading is a choice reported in every result; [`PlacementSpec::Robust`] evaluates all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placement {
    /// Inside each RunTask call, `base` first, then weights: with `count=1` a base on a
    /// provider sends every task there; without a base the task goes to the provider the
    /// weight split rounds to (the largest weight, earliest item on ties). Deterministic: a
    /// retried RunTask goes where the failed one went.
    PerCall,
    /// As `per-call`, but a tie of the largest weights rounds to the later item: no source
    /// says which way ECS rounds one task between equal weights, so `robust` simulates both.
    PerCallTieLater,
    /// As `per-call`, but `base` is ignored for standalone tasks (base is a service concept):
    /// every task goes to the provider the weight split rounds to.
    PerCallNoBase,
    /// Each task picks a provider with probability weight / Σ weights (base ignored). A
    /// retried RunTask draws again: an on-demand fallback ECS itself never promises.
    WeightedRandom,
    /// Across calls the running split follows the weights exactly (smooth weighted round
    /// robin), after `base` tasks in flight on the base provider are satisfied. A RunTask
    /// that fails for capacity counts in the split ("advance on failure"): its retry takes
    /// the next turn.
    Proportional,
    /// As `proportional`, but a RunTask that fails for capacity does not count ("hold on
    /// failure"): its retry goes where it went. No source says how ECS treats a retried call
    /// across calls (domain §1.4), so `robust` simulates both.
    ProportionalHold,
}

impl Placement {
    /// Every reading, in the order results list them.
    pub const ALL: [Placement; 6] = [
        Placement::PerCall,
        Placement::PerCallTieLater,
        Placement::PerCallNoBase,
        Placement::WeightedRandom,
        Placement::Proportional,
        Placement::ProportionalHold,
    ];

    /// The scenario-file name.
    pub fn name(self) -> &'static str {
        match self {
            Placement::PerCall => "per-call",
            Placement::PerCallTieLater => "per-call-tie-later",
            Placement::PerCallNoBase => "per-call-no-base",
            Placement::WeightedRandom => "weighted-random",
            Placement::Proportional => "proportional",
            Placement::ProportionalHold => "proportional-hold",
        }
    }

    /// What the reading does with a RunTask retried after a capacity failure, in words (a
    /// modelling choice: no source says).
    pub fn on_retry(self) -> &'static str {
        match self {
            Placement::PerCall | Placement::PerCallTieLater | Placement::PerCallNoBase => {
                "a retried RunTask goes where the failed one went"
            }
            Placement::WeightedRandom => "a retried RunTask draws its provider again",
            Placement::Proportional => {
                "a RunTask that failed for capacity counts in the split; its retry takes the next turn"
            }
            Placement::ProportionalHold => {
                "a RunTask that failed for capacity does not count in the split; its retry goes where it went"
            }
        }
    }

    /// Whether this reading places `strategy` exactly as `other` does (so one simulation
    /// serves both): always for a strategy that can reach one provider only; `per-call` and
    /// `per-call-no-base` also when no item has a base; `per-call` and `per-call-tie-later`
    /// unless the largest weight is tied between the providers and no item has a base.
    /// `proportional` and `proportional-hold` differ only when spot capacity can run out,
    /// which the scenario says ([`PlacementSpec::readings`] keeps both).
    pub fn same_as(self, other: Placement, strategy: &Strategy) -> bool {
        if self == other {
            return true;
        }
        let one_provider = Provider::ALL.iter().filter(|p| strategy.uses(**p)).count() <= 1;
        if one_provider {
            return true;
        }
        // the tie only matters without a base (a base decides a single task's provider) and
        // when the largest weight is shared by both providers
        let top = strategy.items.iter().map(|i| i.weight).max().unwrap_or(0);
        let tied = Provider::ALL.iter().all(|p| {
            strategy
                .items
                .iter()
                .any(|i| i.provider == *p && i.weight == top)
        });
        let pair =
            |a: Placement, b: Placement| (self == a && other == b) || (self == b && other == a);
        if pair(Placement::PerCall, Placement::PerCallTieLater) {
            return strategy.base_item().is_some() || !tied;
        }
        if pair(Placement::Proportional, Placement::ProportionalHold) {
            return false; // they differ whenever spot can run out: the scenario decides
        }
        // without a base, `per-call-no-base` rounds as `per-call` does (earliest on ties)
        if pair(Placement::PerCall, Placement::PerCallNoBase) {
            return strategy.base_item().is_none();
        }
        if pair(Placement::PerCallTieLater, Placement::PerCallNoBase) {
            return strategy.base_item().is_none() && !tied;
        }
        false
    }

    /// Whether the reading ignores or reinterprets a `base` (so a base means something
    /// different, or nothing, under it).
    pub fn reinterprets_base(self) -> bool {
        !matches!(self, Placement::PerCall | Placement::PerCallTieLater)
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The placement a scenario or a sweep asks for: one reading, or every reading (`robust`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlacementSpec {
    /// One reading.
    Reading(Placement),
    /// Every reading: feasible only if feasible under each, costed at the worst.
    Robust,
}

impl PlacementSpec {
    /// The file name (`robust` or the reading's).
    pub fn name(self) -> &'static str {
        match self {
            PlacementSpec::Reading(p) => p.name(),
            PlacementSpec::Robust => "robust",
        }
    }

    /// The distinct readings to simulate for `strategy`: one for a reading; for `robust`
    /// every reading, less those that place this strategy exactly as an earlier one does
    /// (`proportional-hold` as `proportional` when spot capacity never runs out:
    /// `capacity_can_fail` false).
    pub fn readings(self, strategy: &Strategy, capacity_can_fail: bool) -> Vec<Placement> {
        match self {
            PlacementSpec::Reading(p) => vec![p],
            PlacementSpec::Robust => {
                let mut out: Vec<Placement> = Vec::new();
                for p in Placement::ALL {
                    let matters = p != Placement::ProportionalHold || capacity_can_fail;
                    if matters && !out.iter().any(|q| q.same_as(p, strategy)) {
                        out.push(p);
                    }
                }
                out
            }
        }
    }
}

impl fmt::Display for PlacementSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
