//! The local price cache: fetched tables with their fetch time and source, and the freshness
//! rules. Pure: the command line reads and writes the file and knows the clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{PriceSnapshot, RegionRates};

/// The cache file format tag.
pub(crate) const CACHE_FORMAT: &str = "spotplan-prices/1";

/// Days after which a price snapshot earns a warning.
pub(crate) const STALE_AFTER_DAYS: i64 = 90;

/// One region's fetched rates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct CachedRegion {
    /// When it was fetched, Unix seconds.
    pub fetched_unix: i64,
    /// The same, RFC 3339.
    pub fetched_at: String,
    /// Where the rates came from.
    pub source: String,
    /// The rates.
    pub rates: RegionRates,
}

/// The cache file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PriceCache {
    /// [`CACHE_FORMAT`].
    pub format: String,
    /// Regions.
    pub regions: BTreeMap<String, CachedRegion>,
}

impl Default for PriceCache {
    fn default() -> Self {
        PriceCache {
            format: CACHE_FORMAT.into(),
            regions: BTreeMap::new(),
        }
    }
}

/// The price cache cannot be read, in words with the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct CacheError(pub(crate) String);

impl PriceCache {
    /// Parses a cache file.
    pub(crate) fn parse(text: &str) -> Result<PriceCache, CacheError> {
        let c: PriceCache = serde_json::from_str(text).map_err(|e| CacheError(format!("the price cache is not readable ({e}); delete it and run `spotplan pricing fetch` again")))?;
        if c.format != CACHE_FORMAT {
            return Err(CacheError(format!(
                "the price cache has format `{}`, expected `{CACHE_FORMAT}`",
                c.format
            )));
        }
        Ok(c)
    }

    /// Replaces the fetched regions.
    pub(crate) fn merge(&mut self, fetched: BTreeMap<String, CachedRegion>) {
        self.regions.extend(fetched);
    }

    /// The cache as a snapshot (as-of = the oldest fetch date).
    pub(crate) fn snapshot(&self) -> PriceSnapshot {
        let oldest = self
            .regions
            .values()
            .map(|r| r.fetched_at.clone())
            .min()
            .unwrap_or_default();
        PriceSnapshot {
            as_of: oldest.get(..10).unwrap_or(&oldest).to_string(),
            source: "spotplan price cache (AWS Price List API + Fargate Spot feed)".into(),
            regions: self
                .regions
                .iter()
                .map(|(k, v)| {
                    let mut r = v.rates.clone();
                    r.as_of = Some(v.fetched_at.get(..10).unwrap_or(&v.fetched_at).to_string());
                    r.note = format!("fetched {} from {}", v.fetched_at, v.source);
                    (k.clone(), r)
                })
                .collect(),
        }
    }
}

/// Whether a region fetched at `fetched_unix` is fresh at `now_unix` for a maximum age.
pub(crate) fn is_fresh(fetched_unix: i64, now_unix: i64, max_age_secs: i64) -> bool {
    now_unix >= fetched_unix && now_unix - fetched_unix <= max_age_secs
}

/// Age in whole days of a `YYYY-MM-DD…` date at `now_unix`, if it parses.
pub(crate) fn age_days(as_of: &str, now_unix: i64) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(as_of.get(..10)?, "%Y-%m-%d").ok()?;
    let t = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    Some((now_unix - t).div_euclid(86_400))
}

/// The warning for a snapshot older than [`STALE_AFTER_DAYS`].
pub(crate) fn staleness_warning(as_of: &str, now_unix: i64) -> Option<String> {
    let days = age_days(as_of, now_unix)?;
    (days > STALE_AFTER_DAYS).then(|| {
        format!("the prices in use are {days} days old (as of {as_of}); run `spotplan pricing fetch` for today's")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_rules() {
        assert!(is_fresh(1000, 1000 + 86_400, 7 * 86_400));
        assert!(is_fresh(1000, 1000 + 7 * 86_400, 7 * 86_400));
        assert!(!is_fresh(1000, 1001 + 7 * 86_400, 7 * 86_400));
        assert!(
            !is_fresh(2000, 1000, 7 * 86_400),
            "a fetch in the future is not trusted"
        );
        // 2026-11-29T00:00Z
        let now = 1_795_910_400;
        assert_eq!(age_days("2026-09-28", now), Some(62));
        assert_eq!(staleness_warning("2026-09-28", now), None);
        assert_eq!(
            staleness_warning("2026-08-01", now).unwrap(),
            "the prices in use are 120 days old (as of 2026-08-01); run `spotplan pricing fetch` for today's"
        );
    }

    #[test]
    fn cache_round_trip_and_merge() {
        let mut c = PriceCache::default();
        let r = CachedRegion {
            fetched_unix: 1,
            fetched_at: "2026-11-28T10:00:00Z".into(),
            source: "test".into(),
            rates: RegionRates {
                vcpu_hour: Some(0.04),
                ..Default::default()
            },
        };
        c.merge([("us-east-1".to_string(), r.clone())].into());
        let text = serde_json::to_string(&c).unwrap();
        let back = PriceCache::parse(&text).unwrap();
        assert_eq!(back, c);
        let s = back.snapshot();
        assert_eq!(s.as_of, "2026-11-28");
        assert_eq!(s.regions["us-east-1"].vcpu_hour, Some(0.04));
        assert!(PriceCache::parse("{}").is_err());
    }
}
