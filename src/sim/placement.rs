//! Which provider a single-task RunTask lands on, under each placement model.

use crate::model::{Placement, Provider, Strategy};

/// Placement state for one simulated replication.
#[derive(Clone, Debug)]
pub(crate) struct Placer {
    model: Placement,
    items: Vec<(Provider, i64)>,
    total: i64,
    base: Option<(Provider, u32)>,
    per_call: Provider,
    largest: Provider,
    current: Vec<i64>,
    /// The smooth round robin's last turn (`proportional`), to take back under
    /// `proportional-hold` when its RunTask failed for capacity.
    last_turn: Option<usize>,
}

impl Placer {
    /// A placer for `strategy` under `model`.
    pub(crate) fn new(strategy: &Strategy, model: Placement) -> Placer {
        let items: Vec<(Provider, i64)> = strategy
            .items
            .iter()
            .filter(|i| i.weight > 0)
            .map(|i| (i.provider, i.weight as i64))
            .collect();
        let total = items.iter().map(|i| i.1).sum();
        let base = strategy.base_item().map(|b| (b.provider, b.base));
        // the weight split of one task rounds to the largest weight; earlier items win ties
        // (`per-call-tie-later` rounds a tie to the later item)
        let later = model == Placement::PerCallTieLater;
        let largest = items
            .iter()
            .fold(None::<(Provider, i64)>, |best, &(p, w)| match best {
                Some((_, bw)) if bw > w || (bw == w && !later) => best,
                _ => Some((p, w)),
            })
            .map(|x| x.0)
            .unwrap_or(Provider::Fargate);
        let per_call = base.map(|b| b.0).unwrap_or(largest);
        let n = items.len();
        Placer {
            model,
            items,
            total,
            base,
            per_call,
            largest,
            current: vec![0; n],
            last_turn: None,
        }
    }

    /// The provider for the next single-task RunTask. `in_flight` counts this strategy's
    /// tasks per provider (index by [`Provider::index`]); `u` is a uniform draw in [0, 1)
    /// used only by `weighted-random`.
    #[inline]
    pub(crate) fn choose(&mut self, in_flight: [u32; 2], u: f64) -> Provider {
        match self.model {
            Placement::PerCall | Placement::PerCallTieLater => self.per_call,
            Placement::PerCallNoBase => self.largest,
            Placement::WeightedRandom => {
                let mut x = (u * self.total as f64) as i64;
                for &(p, w) in &self.items {
                    if x < w {
                        return p;
                    }
                    x -= w;
                }
                self.items.last().map(|i| i.0).unwrap_or(Provider::Fargate)
            }
            Placement::Proportional | Placement::ProportionalHold => {
                self.last_turn = None;
                if let Some((p, base)) = self.base
                    && in_flight[p.index()] < base
                {
                    return p;
                }
                // smooth weighted round robin (nginx): exact ratio over every window of Σw calls
                let mut best = 0;
                for k in 0..self.items.len() {
                    self.current[k] += self.items[k].1;
                    if self.current[k] > self.current[best] {
                        best = k;
                    }
                }
                self.current[best] -= self.total;
                self.last_turn = Some(best);
                self.items[best].0
            }
        }
    }

    /// The RunTask of the last [`Placer::choose`] failed for capacity: under
    /// `proportional-hold` its turn is taken back, so the retry goes where it went (every
    /// other reading keeps its state: see [`Placement::on_retry`]).
    #[inline]
    pub(crate) fn failed(&mut self) {
        if self.model != Placement::ProportionalHold {
            return;
        }
        if let Some(best) = self.last_turn.take() {
            self.current[best] += self.total;
            for k in 0..self.items.len() {
                self.current[k] -= self.items[k].1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StrategyItem;

    fn strat(items: &[(Provider, u32, u32)]) -> Strategy {
        Strategy {
            items: items
                .iter()
                .map(|&(provider, weight, base)| StrategyItem {
                    provider,
                    weight,
                    base,
                })
                .collect(),
        }
    }

    #[test]
    fn per_call_base_on_fargate_sends_everything_to_fargate() {
        let s = strat(&[(Provider::FargateSpot, 3, 0), (Provider::Fargate, 2, 1)]);
        let mut p = Placer::new(&s, Placement::PerCall);
        assert!((0..100).all(|_| p.choose([0, 0], 0.5) == Provider::Fargate));
    }

    #[test]
    fn per_call_without_base_takes_the_largest_weight() {
        let s = strat(&[(Provider::Fargate, 2, 0), (Provider::FargateSpot, 3, 0)]);
        let mut p = Placer::new(&s, Placement::PerCall);
        assert_eq!(p.choose([0, 0], 0.0), Provider::FargateSpot);
        let tie = strat(&[(Provider::Fargate, 1, 0), (Provider::FargateSpot, 1, 0)]);
        assert_eq!(
            Placer::new(&tie, Placement::PerCall).choose([0, 0], 0.9),
            Provider::Fargate
        );
    }

    #[test]
    fn per_call_no_base_ignores_the_base() {
        let s = strat(&[(Provider::FargateSpot, 3, 0), (Provider::Fargate, 2, 1)]);
        let mut p = Placer::new(&s, Placement::PerCallNoBase);
        assert!((0..10).all(|_| p.choose([0, 0], 0.9) == Provider::FargateSpot));
    }

    #[test]
    fn proportional_is_exact_over_every_window() {
        let s = strat(&[(Provider::FargateSpot, 3, 0), (Provider::Fargate, 2, 0)]);
        let mut p = Placer::new(&s, Placement::Proportional);
        for _ in 0..20 {
            let spot = (0..5)
                .filter(|_| p.choose([0, 0], 0.0) == Provider::FargateSpot)
                .count();
            assert_eq!(spot, 3);
        }
    }

    #[test]
    fn proportional_fills_the_base_first() {
        let s = strat(&[(Provider::FargateSpot, 1, 0), (Provider::Fargate, 1, 2)]);
        let mut p = Placer::new(&s, Placement::Proportional);
        assert_eq!(p.choose([0, 0], 0.0), Provider::Fargate);
        assert_eq!(p.choose([1, 0], 0.0), Provider::Fargate);
        // base met: alternate by weight
        let a = p.choose([2, 0], 0.0);
        let b = p.choose([2, 1], 0.0);
        assert_ne!(a, b);
    }

    #[test]
    fn per_call_tie_later_rounds_a_tie_the_other_way() {
        let tie = strat(&[(Provider::FargateSpot, 1, 0), (Provider::Fargate, 1, 0)]);
        assert_eq!(
            Placer::new(&tie, Placement::PerCall).choose([0, 0], 0.0),
            Provider::FargateSpot
        );
        assert_eq!(
            Placer::new(&tie, Placement::PerCallTieLater).choose([0, 0], 0.0),
            Provider::Fargate
        );
        // no tie: both take the largest weight
        let s = strat(&[(Provider::FargateSpot, 2, 0), (Provider::Fargate, 1, 0)]);
        assert_eq!(
            Placer::new(&s, Placement::PerCallTieLater).choose([0, 0], 0.0),
            Provider::FargateSpot
        );
    }

    #[test]
    fn proportional_hold_gives_a_failed_call_its_turn_back_and_advance_does_not() {
        let s = strat(&[(Provider::FargateSpot, 1, 0), (Provider::Fargate, 1, 0)]);
        let mut adv = Placer::new(&s, Placement::Proportional);
        let mut hold = Placer::new(&s, Placement::ProportionalHold);
        assert_eq!(adv.choose([0, 0], 0.0), Provider::FargateSpot);
        assert_eq!(hold.choose([0, 0], 0.0), Provider::FargateSpot);
        adv.failed();
        hold.failed();
        // the retry: advance takes the next turn, hold the same one
        assert_eq!(adv.choose([0, 0], 0.0), Provider::Fargate);
        assert_eq!(hold.choose([0, 0], 0.0), Provider::FargateSpot);
        // a success is never taken back: the split goes on exactly
        let seq: Vec<Provider> = (0..4).map(|_| hold.choose([0, 0], 0.0)).collect();
        assert_eq!(
            seq,
            [
                Provider::Fargate,
                Provider::FargateSpot,
                Provider::Fargate,
                Provider::FargateSpot
            ]
        );
        // a base turn is no round-robin turn: nothing to take back
        let b = strat(&[(Provider::FargateSpot, 1, 0), (Provider::Fargate, 1, 1)]);
        let mut hb = Placer::new(&b, Placement::ProportionalHold);
        assert_eq!(hb.choose([0, 0], 0.0), Provider::Fargate);
        hb.failed();
        assert_eq!(hb.choose([1, 0], 0.0), Provider::FargateSpot);
    }

    #[test]
    fn weighted_random_maps_uniform_to_weights() {
        let s = strat(&[(Provider::FargateSpot, 3, 0), (Provider::Fargate, 1, 0)]);
        let mut p = Placer::new(&s, Placement::WeightedRandom);
        assert_eq!(p.choose([0, 0], 0.0), Provider::FargateSpot);
        assert_eq!(p.choose([0, 0], 0.74), Provider::FargateSpot);
        assert_eq!(p.choose([0, 0], 0.75), Provider::Fargate);
        assert_eq!(p.choose([0, 0], 0.999), Provider::Fargate);
    }
}
