//! Inversion of the spot interruption hazard: when does a task exposed from `t0` accumulate
//! an Exp(1) amount of hazard, under a base rate shaped by hour-of-day multipliers?

use crate::model::SimTime;

/// The piecewise-constant interruption hazard.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hazard {
    /// Base rate, per ms.
    pub per_ms: f64,
    /// Multipliers by UTC hour of day.
    pub hourly: Option<[f64; 24]>,
    /// Wall-clock ms (Unix) at simulated time zero.
    pub start_unix_ms: i64,
    /// The highest rate of any hour, per ms (a bound on the hazard of any interval).
    max_per_ms: f64,
}

impl Hazard {
    /// A hazard of `per_ms`, shaped by `hourly` multipliers when given.
    pub(crate) fn new(per_ms: f64, hourly: Option<[f64; 24]>, start_unix_ms: i64) -> Hazard {
        let top = hourly.map_or(1.0, |h| h.iter().copied().fold(0.0, f64::max));
        Hazard {
            per_ms,
            hourly,
            start_unix_ms,
            max_per_ms: per_ms * top,
        }
    }

    /// [`Hazard::first_event`] for the Exp(1) draw `−ln u`, `u` in (0, 1]. Most exposures are
    /// short against the rate, so this first tries the bound `−ln u ≥ 1 − u`: when `1 − u`
    /// already exceeds the most hazard the interval can hold, no event falls in it and the
    /// logarithm is never taken. The answer is the same as with the logarithm.
    #[inline]
    pub(crate) fn first_event_from_uniform(
        &self,
        u: f64,
        t0: SimTime,
        until: SimTime,
    ) -> Option<SimTime> {
        if until <= t0 || 1.0 - u > self.max_per_ms * (until.0 - t0.0) as f64 {
            return None;
        }
        self.first_event(-u.ln(), t0, until)
    }

    /// Whether interruptions can happen at all.
    pub(crate) fn is_zero(&self) -> bool {
        self.per_ms <= 0.0 || self.hourly.is_some_and(|h| h.iter().all(|&m| m <= 0.0))
    }

    /// The time at which cumulative hazard from `t0` reaches `e` (an Exp(1) draw), if that is
    /// before `until`; otherwise `None`.
    #[inline]
    pub(crate) fn first_event(&self, e: f64, t0: SimTime, until: SimTime) -> Option<SimTime> {
        if self.is_zero() || until <= t0 {
            return None;
        }
        let Some(hourly) = &self.hourly else {
            let dt = e / self.per_ms;
            let t = t0.0 as f64 + dt;
            return (t < until.0 as f64).then_some(SimTime(t as u64));
        };
        const HOUR: i64 = 3_600_000;
        let mut e = e;
        let mut t = t0.0;
        while t < until.0 {
            let wall = self.start_unix_ms + t as i64;
            let hour = wall.div_euclid(HOUR).rem_euclid(24) as usize;
            let seg_end = ((wall.div_euclid(HOUR) + 1) * HOUR - self.start_unix_ms) as u64;
            let seg_end = seg_end.min(until.0);
            let rate = self.per_ms * hourly[hour];
            let cap = rate * (seg_end - t) as f64;
            if rate > 0.0 && e <= cap {
                let hit = t + (e / rate) as u64;
                return (hit < until.0).then_some(SimTime(hit));
            }
            e -= cap;
            t = seg_end;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_inverts_exactly() {
        let h = Hazard::new(1.0 / 3_600_000.0, None, 0);
        assert_eq!(
            h.first_event(0.5, SimTime(1000), SimTime::NEVER),
            Some(SimTime(1000 + 1_800_000))
        );
        assert_eq!(h.first_event(2.0, SimTime(0), SimTime::HOUR), None);
    }

    #[test]
    fn hourly_multipliers_shape_the_hazard() {
        let mut m = [0.0; 24];
        m[2] = 2.0; // only 02:00–03:00 UTC
        let h = Hazard::new(1.0 / 3_600_000.0, Some(m), 0);
        // from 00:30, hazard 1.0 is reached at 02:30 (2/h for 30 min)
        assert_eq!(
            h.first_event(1.0, SimTime(1_800_000), SimTime::NEVER),
            Some(SimTime(9_000_000))
        );
        // hazard 2.5 > 2.0 available in the day: next day 02:15
        let t = h.first_event(2.5, SimTime(0), SimTime::NEVER).unwrap();
        assert_eq!(t, SimTime(86_400_000 + 2 * 3_600_000 + 900_000));
    }

    #[test]
    fn the_bound_never_changes_the_answer() {
        let mut m = [0.5; 24];
        m[3] = 4.0;
        for h in [
            Hazard::new(0.05 / 3_600_000.0, None, 0),
            Hazard::new(2.0 / 3_600_000.0, Some(m), 1_767_571_200_000),
        ] {
            let mut x = 3u64;
            for i in 0..200_000u64 {
                x = crate::sim::rng::mix(x);
                let u = ((x >> 11) + 1) as f64 / (1u64 << 53) as f64;
                let t0 = SimTime(i * 7_919 % 86_400_000);
                let until = t0.plus(SimTime(x % 7_200_000));
                assert_eq!(
                    h.first_event_from_uniform(u, t0, until),
                    h.first_event(-u.ln(), t0, until),
                    "u {u} from {t0:?} to {until:?}"
                );
            }
        }
    }
}
