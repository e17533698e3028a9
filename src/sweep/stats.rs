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

    /// Summarises per-replication proportions `values` of `trials` trials in all (runs,
    /// runs with a deadline): the interval is Wilson's at the effective sample size
    /// `p(1−p)/se²` (Korn & Graubard's for clustered samples: replications are clusters of
    /// runs), capped at `trials`, so it never leaves [0, 1] and is not empty at 0 or 1.
    pub fn proportion(values: &[f64], trials: f64) -> Stat {
        let mut st = Stat::of(values);
        if st.n == 0 || trials <= 0.0 {
            return st;
        }
        let p = st.mean.clamp(0.0, 1.0);
        let se = st.se();
        let n_eff = if st.n > 1 && se > 0.0 {
            (p * (1.0 - p) / (se * se)).min(trials)
        } else {
            trials
        };
        // with one replication there is no between-replication spread to trust
        if st.n > 1 {
            (st.ci95_low, st.ci95_high) = crate::report::fmt::wilson(p, n_eff.max(1.0));
        }
        st
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

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let pl = 0.02425;
    if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom: exact for df 1 and 2, the
/// table for p = 0.975, the Cornish–Fisher expansion otherwise (error < 1e-3 for df ≥ 3 and
/// p ≤ 0.995, < 2e-5 for df ≥ 10).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if (p - 0.975).abs() < 1e-12 {
        return t975(df);
    }
    if df < 1.0 {
        return f64::INFINITY;
    }
    if df < 2.0 {
        return (std::f64::consts::PI * (p - 0.5)).tan();
    }
    if df < 3.0 {
        return (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
    }
    let z = normal_quantile(p);
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * df.powi(4))
}

impl Stat {
    /// One-sided upper confidence bound of the mean at `confidence` (e.g. 0.95).
    pub fn upper(&self, confidence: f64) -> f64 {
        if self.n < 2 {
            return self.mean;
        }
        self.mean + t_quantile(confidence, self.n as f64 - 1.0) * self.se()
    }
    /// One-sided lower confidence bound of the mean at `confidence`.
    pub fn lower(&self, confidence: f64) -> f64 {
        if self.n < 2 {
            return self.mean;
        }
        self.mean - t_quantile(confidence, self.n as f64 - 1.0) * self.se()
    }
}

/// The paired difference a − b over replications both have.
pub fn paired(a: &[f64], b: &[f64]) -> Stat {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    Stat::of(&d)
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn normal_and_t_quantiles() {
        assert!((normal_quantile(0.975) - 1.959963985).abs() < 1e-8);
        assert!((normal_quantile(0.05) + 1.644853627).abs() < 1e-8);
        // R: qt(0.95, c(1, 2, 5, 30)) = 6.313752 2.919986 2.015048 1.697261
        for (df, want) in [
            (1.0, 6.313752),
            (2.0, 2.919986),
            (5.0, 2.015048),
            (30.0, 1.697261),
        ] {
            assert!(
                (t_quantile(0.95, df) - want).abs() < 1e-3,
                "df {df}: {}",
                t_quantile(0.95, df)
            );
        }
    }

    #[test]
    fn paired_difference() {
        let s = paired(&[3.0, 5.0, 7.0], &[1.0, 2.0, 3.0]);
        assert_eq!(s.mean, 3.0);
        assert_eq!(s.n, 3);
    }
}
