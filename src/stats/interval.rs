//! Confidence intervals that stay in their range: Wilson's for proportions.

/// The Wilson score interval at 95% for a proportion `p` observed on `n` (effective) trials:
/// always within [0, 1], and not empty at `p = 0` or `p = 1`.
pub(crate) fn wilson(p: f64, n: f64) -> (f64, f64) {
    if n.is_nan() || n <= 0.0 || !p.is_finite() {
        return (0.0, 1.0);
    }
    let p = p.clamp(0.0, 1.0);
    let z = 1.959_963_984_540_054_f64;
    let z2n = z * z / n;
    let centre = (p + z2n / 2.0) / (1.0 + z2n);
    let half = z * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt() / (1.0 + z2n);
    // exact at the edges (the closed form gives 0 and 1 there, floating point nearly)
    let low = if p == 0.0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if p == 1.0 {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (low, high)
}

/// The lower-tail probability of the χ² quantile that bounds the replications' variance from
/// above (its one-sided 80% upper bound).
const VARIANCE_CONFIDENCE_LOWER_TAIL: f64 = 0.2;

/// (n − 1)/χ²₀.₂(n − 1): the factor that takes a variance from n samples to its one-sided 80%
/// upper bound. The last value is kept per thread (a search asks for one n millions of
/// times, and the χ² quantile iterates).
fn variance_inflation(n: u64) -> f64 {
    thread_local! {
        static LAST: std::cell::Cell<(u64, f64)> = const { std::cell::Cell::new((0, 1.0)) };
    }
    LAST.with(|last| {
        let (seen, v) = last.get();
        if seen == n {
            return v;
        }
        let k = (n as f64 - 1.0).max(1.0);
        let v = k / super::dist::chi2_quantile(VARIANCE_CONFIDENCE_LOWER_TAIL, k);
        last.set((n, v));
        v
    })
}

/// The one-sided upper confidence bound of a rate from finite samples, the one every rate
/// objective is judged on: the larger of the replication-level t bound (`st` over the
/// replications' rates) and Wilson's one-sided bound on the pooled counts with the effective
/// sample size: `trials` (runs pooled over replications) over the design effect estimated
/// from the replications' variance (crashes cluster in outages and reclaim waves, so the
/// replications vary more than independent runs would). That variance is itself estimated
/// from few replications, and when crashes come in rare bursts a small sample that saw few
/// bursts also shows little variance: it is taken at its one-sided 80% upper confidence bound
/// ((n − 1)s²/χ²₀.₂(n − 1); ×1.67 at 10 replications, ×1.14 at 100), which a coverage test on
/// reclaim waves shows is needed for 95% coverage. Never 0 from a finite sample: 0 events in
/// n effective trials bound the rate at z²/(n + z²).
pub fn rate_upper(st: &super::Stat, trials: f64, confidence: f64) -> f64 {
    let t = st.upper(confidence);
    if trials <= 0.0 || st.n == 0 {
        return t;
    }
    let p = st.mean.clamp(0.0, 1.0);
    let se = st.se() * variance_inflation(st.n).sqrt();
    // the effective number of independent trials: binomial variance over the observed one
    let n_eff = if st.n > 1 && se > 0.0 && p > 0.0 && p < 1.0 {
        (p * (1.0 - p) / (se * se)).min(trials)
    } else {
        trials
    }
    .max(1.0);
    let z = super::dist::normal_quantile(confidence);
    let z2n = z * z / n_eff;
    let wilson =
        (p + z2n / 2.0 + z * (p * (1.0 - p) / n_eff + z2n / (4.0 * n_eff)).sqrt()) / (1.0 + z2n);
    t.max(wilson.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_closed_form_and_stays_in_bounds() {
        // p = 0.5, n = 100: the textbook interval [0.4038, 0.5962]
        let (l, h) = wilson(0.5, 100.0);
        assert!(
            (l - 0.403_832).abs() < 1e-5 && (h - 0.596_168).abs() < 1e-5,
            "{l} {h}"
        );
        // never below 0 or above 1, and not empty at the edges
        let (l, h) = wilson(0.0, 50.0);
        assert_eq!(l, 0.0);
        assert!((h - 0.071_348).abs() < 1e-5, "{h}");
        let (l, h) = wilson(1.0, 50.0);
        assert!(h == 1.0 && l < 1.0);
    }

    #[test]
    fn a_rate_bound_is_never_zero_and_never_below_the_t_bound() {
        // 0 crashes in 288,000 runs over 100 replications: z²/(n + z²) at 95%, about 9.4e-6
        let zero = crate::stats::Stat::of(&[0.0; 100]);
        let u = rate_upper(&zero, 288_000.0, 0.95);
        let z: f64 = 1.644_853_626_951_472_2;
        assert!((u - z * z / (288_000.0 + z * z)).abs() < 1e-12, "{u}");
        // clustered events: replications vary far more than binomial runs would, so the
        // effective sample shrinks and the bound widens; and it is never below the t bound
        let mut v = vec![0.0; 90];
        v.extend([0.05; 10]);
        let st = crate::stats::Stat::of(&v);
        let u = rate_upper(&st, 100_000.0, 0.95);
        assert!(u >= st.upper(0.95));
        let naive = {
            let p: f64 = st.mean;
            let n = 100_000.0;
            let z2n = z * z / n;
            (p + z2n / 2.0 + z * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt()) / (1.0 + z2n)
        };
        assert!(u > naive, "{u} vs {naive}");
    }
}
