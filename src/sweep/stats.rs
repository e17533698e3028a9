//! Statistics over replications: mean, Student-t 95% confidence interval, quantiles.

use serde::Serialize;

/// Summary of one metric over replications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Stat {
    /// Replications.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Lower end of the 95% confidence interval of the mean.
    pub ci95_low: f64,
    /// Upper end of the 95% confidence interval of the mean.
    pub ci95_high: f64,
    /// 5th percentile over replications.
    pub p5: f64,
    /// Median over replications.
    pub p50: f64,
    /// 95th percentile over replications.
    pub p95: f64,
}

impl Stat {
    /// Summarises `values` (in replication order; the result does not depend on it).
    pub fn of(values: &[f64]) -> Stat {
        let n = values.len();
        if n == 0 {
            return Stat::default();
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let half = if n > 1 {
            t975(n as f64 - 1.0) * sd / (n as f64).sqrt()
        } else {
            0.0
        };
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Stat {
            n: n as u64,
            mean,
            sd,
            ci95_low: mean - half,
            ci95_high: mean + half,
            p5: quantile_sorted(&sorted, 0.05),
            p50: quantile_sorted(&sorted, 0.50),
            p95: quantile_sorted(&sorted, 0.95),
        }
    }

    /// Standard error of the mean.
    pub fn se(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sd / (self.n as f64).sqrt()
        }
    }
}

/// Quantile of sorted data by linear interpolation between order statistics (Hyndman–Fan
/// type 7, the default of R and NumPy).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom: table values for df ≤ 9,
/// the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5) above (error < 2e-5).
pub fn t975(df: f64) -> f64 {
    const TABLE: [f64; 9] = [
        12.706204736,
        4.302652730,
        3.182446305,
        2.776445105,
        2.570581836,
        2.446911851,
        2.364624252,
        2.306004135,
        2.262157163,
    ];
    if df < 1.0 {
        return f64::INFINITY;
    }
    if df < 10.0 {
        return TABLE[(df as usize).clamp(1, 9) - 1];
    }
    let z: f64 = 1.959963984540054;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * df.powi(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // R: qt(0.975, c(5, 9, 10, 29, 199))
        for (df, want) in [
            (5.0, 2.570582),
            (9.0, 2.262157),
            (10.0, 2.228139),
            (29.0, 2.045230),
            (199.0, 1.971957),
        ] {
            assert!(
                (t975(df) - want).abs() < 2e-5,
                "df {df}: {} vs {want}",
                t975(df)
            );
        }
    }

    #[test]
    fn stat_of_known_values() {
        let s = Stat::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.mean, 3.0);
        assert!((s.sd - 2.5f64.sqrt()).abs() < 1e-12);
        assert!((s.ci95_high - (3.0 + 2.776445105 * 2.5f64.sqrt() / 5f64.sqrt())).abs() < 1e-9);
        assert_eq!(s.p50, 3.0);
        assert!((s.p5 - 1.2).abs() < 1e-12);
        assert!((s.p95 - 4.8).abs() < 1e-12);
    }
}
