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
}
