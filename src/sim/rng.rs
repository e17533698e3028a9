//! Random streams: one per (replication, purpose), derived with the SplitMix64 mixer; keyed
//! generators are SplitMix64 itself (Steele, Lea, Flood 2014), so a keyed draw costs a few
//! multiplications.
//!
//! Draws are keyed by what they are for (e.g. the interruption of run 17's attempt 2), not by
//! the order they happen in. Two strategies simulated on the same seed therefore see the same
//! arrivals, durations and per-attempt luck (common random numbers), and adding a draw in one
//! place shifts nothing elsewhere.

use rand::SeedableRng;
use rand_xoshiro::SplitMix64;

/// What a draw is for; part of every key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Schedule arrivals (Poisson gaps).
    Arrivals = 1,
    /// Work per run.
    Durations = 2,
    /// Provisioning and image pull per attempt.
    Startup = 3,
    /// Poisson interruption of an attempt.
    Interruptions = 4,
    /// Spot capacity on/off process.
    Capacity = 5,
    /// Reclaim waves and their hits.
    Waves = 6,
    /// Retry jitter.
    Retries = 7,
    /// Weighted-random placement.
    Placement = 8,
    /// Worker poll and Lazarus pass phases.
    Phases = 9,
    /// Trace replay offset.
    Trace = 10,
}

/// The SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mixer.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable 64-bit key of a name (FNV-1a, then the mixer): a flow's draws are keyed by its
/// deployment's name, not its position in the file, so adding or reordering deployments
/// changes no other deployment's arrivals, work or luck.
pub fn name_key(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// A key for (seed, replication, purpose).
#[derive(Clone, Copy, Debug)]
pub struct Stream(u64);

impl Stream {
    /// The stream of `purpose` in replication `rep` of `seed`.
    #[inline]
    pub fn new(seed: u64, rep: u64, purpose: Purpose) -> Stream {
        Stream(mix(mix(mix(seed) ^ rep) ^ purpose as u64))
    }
    /// A sub-key for item `a`, part `b` (e.g. run sequence number, attempt).
    #[inline]
    pub fn key(self, a: u64, b: u64) -> u64 {
        mix(mix(self.0 ^ a) ^ b.wrapping_mul(0xD6E8_FEB8_6659_FD93))
    }
    /// A uniform draw in [0, 1) for (a, b).
    #[inline]
    pub fn uniform(self, a: u64, b: u64) -> f64 {
        (self.key(a, b) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// A uniform draw in (0, 1] for (a, b), safe for `ln`.
    #[inline]
    pub fn uniform_open0(self, a: u64, b: u64) -> f64 {
        ((self.key(a, b) >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// An Exp(1) draw for (a, b).
    #[inline]
    pub fn exp1(self, a: u64, b: u64) -> f64 {
        -self.uniform_open0(a, b).ln()
    }
    /// A generator for (a, b), for distributions needing several draws: SplitMix64 started
    /// at the mixed key (counter-based: no seeding work, and the few draws one keyed
    /// distribution needs are SplitMix64's well-mixed outputs).
    #[inline]
    pub fn rng(self, a: u64, b: u64) -> SplitMix64 {
        SplitMix64::seed_from_u64(self.key(a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_distinct_and_reproducible() {
        let a = Stream::new(42, 0, Purpose::Durations);
        let b = Stream::new(42, 0, Purpose::Startup);
        let c = Stream::new(42, 1, Purpose::Durations);
        assert_eq!(
            a.key(7, 0),
            Stream::new(42, 0, Purpose::Durations).key(7, 0)
        );
        assert_ne!(a.key(7, 0), b.key(7, 0));
        assert_ne!(a.key(7, 0), c.key(7, 0));
        assert_ne!(a.key(7, 0), a.key(7, 1));
        assert_ne!(a.key(7, 1), a.key(1, 7));
    }

    #[test]
    fn uniform_draws_have_the_right_mean() {
        let s = Stream::new(1, 2, Purpose::Retries);
        let n = 200_000;
        let m: f64 = (0..n).map(|i| s.uniform(i, 0)).sum::<f64>() / n as f64;
        assert!((m - 0.5).abs() < 0.005, "{m}");
        let e: f64 = (0..n).map(|i| s.exp1(i, 0)).sum::<f64>() / n as f64;
        assert!((e - 1.0).abs() < 0.01, "{e}");
    }
}

#[cfg(test)]
mod wave_key_tests {
    use super::*;

    #[test]
    fn exp_draws_keyed_by_a_counter_have_mean_one() {
        for seed in [42u64, 1, 2, 3] {
            let s = Stream::new(seed, 0, Purpose::Waves);
            let n = 100_000;
            let m: f64 = (0..n).map(|i| s.exp1(i, u64::MAX)).sum::<f64>() / n as f64;
            assert!((m - 1.0).abs() < 0.02, "seed {seed}: mean {m}");
        }
    }
}
