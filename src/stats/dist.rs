//! Distribution math on `statrs`: the Student-t and chi-square quantiles, and the error and
//! (regularised incomplete, di-) gamma functions that the intervals and the
//! distribution fits rest on. Only the trigamma function, which `statrs` does not have, is
//! written here.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

/// The `p` quantile of the standard normal distribution.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(n) if p > 0.0 && p < 1.0 => n.inverse_cdf(p),
        _ if p >= 1.0 => f64::INFINITY,
        _ if p <= 0.0 => f64::NEG_INFINITY,
        _ => f64::NAN,
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (∞ below 1).
pub(crate) fn t975(df: f64) -> f64 {
    t_quantile(0.975, df)
}

/// The `p` quantile of Student's t with `df` degrees of freedom (∞ below 1 degree of freedom,
/// ±∞ at `p` 0 and 1).
pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    if df.is_nan() || p.is_nan() {
        return f64::NAN;
    }
    if df < 1.0 || p >= 1.0 {
        return f64::INFINITY;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// The chi-square quantile (0 for no degrees of freedom or `p` ≤ 0, ∞ at `p` ≥ 1).
pub(crate) fn chi2_quantile(p: f64, df: f64) -> f64 {
    if df.is_nan() || p.is_nan() {
        return f64::NAN;
    }
    if df <= 0.0 || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    match ChiSquared::new(df) {
        Ok(c) => c.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// The error function.
pub(crate) fn erf(x: f64) -> f64 {
    statrs::function::erf::erf(x)
}

/// The regularised lower incomplete gamma function P(a, x) (0 for x ≤ 0).
pub(crate) fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    statrs::function::gamma::gamma_lr(a, x)
}

/// The digamma function ψ(x).
pub(crate) fn digamma(x: f64) -> f64 {
    statrs::function::gamma::digamma(x)
}

/// The trigamma function ψ′(x): the recurrence ψ′(x) = ψ′(x + 1) + 1/x² up to x ≥ 6, then
/// its asymptotic series (Abramowitz & Stegun 6.4.12; `statrs` has no trigamma).
pub(crate) fn trigamma(mut x: f64) -> f64 {
    let mut r = 0.0;
    while x < 6.0 {
        r += 1.0 / (x * x);
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    r + 1.0 / x + f / 2.0 + f / x * (1.0 / 6.0 - f * (1.0 / 30.0 - f * (1.0 / 42.0 - f / 30.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_r() {
        // R: qt(0.975, c(1, 5, 9, 10, 29, 199))
        for (df, want) in [
            (1.0, 12.706205),
            (5.0, 2.570582),
            (9.0, 2.262157),
            (10.0, 2.228139),
            (29.0, 2.045230),
            (199.0, 1.971957),
        ] {
            assert!((t975(df) - want).abs() < 1e-6, "df {df}: {}", t975(df));
        }
        // R: qt(0.95, c(1, 2, 5, 30))
        for (df, want) in [
            (1.0, 6.313752),
            (2.0, 2.919986),
            (5.0, 2.015048),
            (30.0, 1.697261),
        ] {
            let got = t_quantile(0.95, df);
            assert!((got - want).abs() < 1e-6, "df {df}: {got}");
        }
        assert_eq!(t975(0.5), f64::INFINITY);
        assert_eq!(t_quantile(1.0, 5.0), f64::INFINITY);
    }

    #[test]
    fn chi_square_quantiles_match_r() {
        // R: qchisq(c(0.025, 0.975, 0.95), c(20, 22, 23))
        for (p, df, want) in [
            (0.025, 20.0, 9.590777),
            (0.975, 22.0, 36.780712),
            (0.95, 23.0, 35.172462),
        ] {
            let got = chi2_quantile(p, df);
            assert!((got - want).abs() < 1e-5, "{p} {df}: {got}");
        }
        assert_eq!(chi2_quantile(0.5, 0.0), 0.0);
    }

    #[test]
    fn special_functions() {
        assert!((gamma_p(1.0, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        assert!((gamma_p(3.0, 2.0) - 0.3233235838169366).abs() < 1e-12);
        assert!((gamma_p(2.5, 10.0) - 0.9987502694369689).abs() < 1e-12);
        assert!((erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-10);
        assert!((digamma(1.0) + 0.577_215_664_901_532_9).abs() < 1e-12);
        assert!((trigamma(1.0) - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-9);
    }
}
