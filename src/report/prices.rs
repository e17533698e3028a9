//! Prices for people: the rates of a price table in 100 columns, and the differences between
//! the bundled snapshot and the cache.

use crate::pricing::PriceSnapshot;
use crate::pricing::compare::RateDifference;

/// The Fargate rates of `s` (all regions, or `region`), USD per hour, grouped by what they
/// price.
pub(crate) fn rates_table(s: &PriceSnapshot, region: Option<&str>) -> String {
    // 100 columns: USD per hour, grouped by what they price (names as in `RATE_NAMES` in JSON)
    let mut o = String::from(
        "USD per hour         on-demand x86_64   on-demand arm64  storage     spot x86_64       spot arm64\n",
    );
    o.push_str(&format!(
        "{:<15}{}\n",
        "region",
        ["vCPU", "GB", "vCPU", "GB", "GB", "vCPU", "GB", "vCPU", "GB"]
            .map(|h| format!(" {h:>8}"))
            .concat()
    ));
    for (k, r) in s
        .regions
        .iter()
        .filter(|(k, _)| region.is_none_or(|x| x == k.as_str()))
    {
        o.push_str(&format!("{:<15}", crate::units::clip(k, 15)));
        for v in r.listed() {
            o.push_str(&format!(
                " {:>8}",
                v.map(|x| format!("{x:.6}")).unwrap_or_else(|| "–".into())
            ));
        }
        o.push('\n');
    }
    o
}

/// The differences, one line each, under a line that dates both sides.
pub(crate) fn differences_text(
    bundled_as_of: &str,
    cache_as_of: &str,
    rows: &[RateDifference],
) -> String {
    let mut o = format!("bundled as of {bundled_as_of} vs cache as of {cache_as_of}\n");
    if rows.is_empty() {
        o.push_str("no differences\n");
    }
    let f = |v: Option<f64>| v.map(|x| format!("{x:.8}")).unwrap_or_else(|| "–".into());
    for r in rows {
        let ch = r
            .change_pct
            .map(|x| format!("{x:+.2}%"))
            .unwrap_or_default();
        o.push_str(&format!(
            "{:<16} {:<20} {:>12} → {:>12} {ch}\n",
            r.region,
            r.rate,
            f(r.bundled),
            f(r.cache)
        ));
    }
    o
}
