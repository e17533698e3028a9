//! `spotplan pricing fetch|show|diff`, the price cache on disk, and the `cache`/`live` price
//! sources of scenarios.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::UserError;
use super::exit::Outcome;
use crate::pricing::PriceSnapshot;
use crate::pricing::cache::{PriceCache, is_fresh, staleness_warning};
use crate::scenario::{PriceRequest, ResolvedPrices};

/// `pricing` subcommands.
#[derive(Debug, Subcommand)]
pub enum PricingCommand {
    /// Fetch today's Fargate rates from the AWS Price List API and the Fargate Spot price feed
    /// into the local cache.
    Fetch(FetchArgs),
    /// Print the rates in use and where they came from.
    Show(ShowArgs),
    /// Compare the cached rates with the bundled snapshot.
    Diff(DiffArgs),
}

/// Output formats of `pricing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriceFormat {
    /// A table.
    Table,
    /// JSON.
    Json,
}

/// Arguments of `pricing fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The region to price, e.g. eu-west-1.
    #[arg(
        long,
        conflicts_with = "all_regions",
        required_unless_present = "all_regions"
    )]
    pub region: Option<String>,
    /// Price every region the Price List knows.
    #[arg(long)]
    pub all_regions: bool,
    /// AWS profile and endpoint.
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub aws: crate::aws::config::AwsArgs,
    /// The Price List endpoint region (us-east-1, eu-central-1 or ap-south-1); any of them
    /// prices every region.
    #[arg(long, default_value = "us-east-1")]
    pub pricing_region: String,
    /// Read Fargate Spot prices from this file (the feed's shape) instead of the web.
    #[arg(long, value_name = "FILE", conflicts_with = "no_spot")]
    pub spot_prices: Option<PathBuf>,
    /// Where the Fargate Spot price feed is.
    #[cfg(feature = "aws")]
    #[arg(long, value_name = "URL", default_value = crate::aws::spotfeed::SPOT_FEED_URL)]
    pub spot_url: String,
    /// Fetch on-demand rates only.
    #[arg(long)]
    pub no_spot: bool,
    /// Also write the fetched rates as the bundled snapshot (PATH defaults to
    /// src/pricing/bundled.json; run from the repository).
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "src/pricing/bundled.json")]
    pub write_bundled: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PriceFormat::Table)]
    pub format: PriceFormat,
}

/// Arguments of `pricing show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Only this region.
    #[arg(long)]
    pub region: Option<String>,
    /// Which source: the cache (default when it exists) or the bundled snapshot.
    #[arg(long, value_parser = ["cache", "bundled"])]
    pub source: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PriceFormat::Table)]
    pub format: PriceFormat,
}

/// Arguments of `pricing diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Only this region.
    #[arg(long)]
    pub region: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PriceFormat::Table)]
    pub format: PriceFormat,
}

/// The cache file: `$SPOTPLAN_CACHE_DIR/prices.json`, else the user's cache directory.
pub(crate) fn cache_path() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("SPOTPLAN_CACHE_DIR") {
        return Ok(PathBuf::from(d).join("prices.json"));
    }
    dirs::cache_dir()
        .map(|d| d.join("spotplan").join("prices.json"))
        .ok_or_else(|| "no cache directory on this system; set SPOTPLAN_CACHE_DIR".to_string())
}

fn read_cache() -> Result<Option<PriceCache>, String> {
    let p = cache_path()?;
    match std::fs::read_to_string(&p) {
        Ok(t) => PriceCache::parse(&t)
            .map(Some)
            .map_err(|e| format!("`{}`: {e}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "cannot read the price cache `{}`: {e}",
            p.display()
        )),
    }
}

#[cfg(feature = "aws")]
fn write_cache(c: &PriceCache) -> Result<PathBuf, String> {
    let p = cache_path()?;
    let body = serde_json::to_string_pretty(c).map_err(|e| e.to_string())? + "\n";
    super::output::write_file(&p, body).map_err(|e| format!("{e:#}"))?;
    Ok(p)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Resolves a scenario's `cache` / `live` price source.
pub(crate) fn resolve(
    req: &PriceRequest,
) -> Result<ResolvedPrices, crate::scenario::validate::PriceError> {
    resolve_text(req).map_err(crate::scenario::validate::PriceError)
}

/// [`resolve`]'s work, its refusal in words.
fn resolve_text(req: &PriceRequest) -> Result<ResolvedPrices, String> {
    let cache = read_cache()?;
    let have = cache.as_ref().and_then(|c| c.regions.get(&req.region));
    match req.source.as_str() {
        "cache" => {
            let c = cache.as_ref().filter(|_| have.is_some()).ok_or_else(|| {
                format!(
                    "no cached prices for `{}`; run `spotplan pricing fetch --region {}` first, or use source = \"bundled\"",
                    req.region, req.region
                )
            })?;
            warn_if_stale(&c.snapshot(), &req.region);
            Ok(ResolvedPrices {
                snapshot: c.snapshot(),
                kind: "cache".into(),
            })
        }
        _ => {
            if let (Some(c), Some(r)) = (&cache, have)
                && is_fresh(r.fetched_unix, now_unix(), req.max_age_secs)
            {
                return Ok(ResolvedPrices {
                    snapshot: c.snapshot(),
                    kind: "live".into(),
                });
            }
            live_fetch(&req.region)
        }
    }
}

#[cfg(feature = "aws")]
fn live_fetch(region: &str) -> Result<ResolvedPrices, String> {
    let fetched = fetch_regions(
        &crate::aws::config::AwsArgs::default(),
        "us-east-1",
        Some(region),
        SpotInput::Url(crate::aws::spotfeed::SPOT_FEED_URL.into()),
    )
    .map_err(|e| e.to_string())?;
    let mut cache = read_cache()?.unwrap_or_default();
    cache.merge(fetched);
    let p = write_cache(&cache)?;
    eprintln!("fetched today's {region} prices into {}", p.display());
    Ok(ResolvedPrices {
        snapshot: cache.snapshot(),
        kind: "live".into(),
    })
}

#[cfg(not(feature = "aws"))]
fn live_fetch(region: &str) -> Result<ResolvedPrices, String> {
    Err(format!(
        "price source `live` needs spotplan built with the `aws` feature; the cache has no fresh prices for `{region}`"
    ))
}

fn warn_if_stale(s: &PriceSnapshot, region: &str) {
    let as_of = s
        .regions
        .get(region)
        .and_then(|r| r.as_of.clone())
        .unwrap_or(s.as_of.clone());
    if let Some(w) = staleness_warning(&as_of, now_unix()) {
        eprintln!("warning: {w}");
    }
}

/// Where spot prices come from.
pub(crate) enum SpotInput {
    /// A saved feed.
    File(PathBuf),
    /// The web feed.
    Url(String),
    /// None.
    Skip,
}

/// Why a fetch failed: the input (a spot price file, bad input: exit 1) or AWS and the network
/// (an environment failure: exit 2, as the exit-code table says).
#[cfg(feature = "aws")]
#[derive(Debug)]
pub(crate) enum FetchFailed {
    /// A file given could not be read or parsed.
    Input(String),
    /// The Price List API or the Spot feed failed.
    Remote(String),
}

#[cfg(feature = "aws")]
impl std::fmt::Display for FetchFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchFailed::Input(m) | FetchFailed::Remote(m) => f.write_str(m),
        }
    }
}

/// Fetches on-demand rates (and spot rates) into cache entries.
#[cfg(feature = "aws")]
pub(crate) fn fetch_regions(
    aws: &crate::aws::config::AwsArgs,
    pricing_region: &str,
    region: Option<&str>,
    spot: SpotInput,
) -> Result<std::collections::BTreeMap<String, crate::pricing::cache::CachedRegion>, FetchFailed> {
    use crate::aws::pricing::on_demand;
    use crate::pricing::pricelist::parse_spot_feed;
    let (spot_text, spot_from) =
        match &spot {
            SpotInput::File(p) => (
                Some(std::fs::read_to_string(p).map_err(|e| {
                    FetchFailed::Input(format!("cannot read `{}`: {e}", p.display()))
                })?),
                format!("Fargate Spot prices from {}", p.display()),
            ),
            SpotInput::Url(u) => (
                Some(crate::aws::spotfeed::fetch(u).map_err(|e| FetchFailed::Remote(e.0))?),
                format!("Fargate Spot feed {u}"),
            ),
            SpotInput::Skip => (None, "no spot prices".into()),
        };
    let spot = spot_text
        .as_deref()
        .map(parse_spot_feed)
        .transpose()
        .map_err(|e| match &spot {
            SpotInput::File(p) => FetchFailed::Input(format!("`{}`: {e}", p.display())),
            _ => FetchFailed::Remote(format!("the Fargate Spot feed: {e}")),
        })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchFailed::Remote(format!("cannot start the async runtime: {e}")))?;
    let rates = rt.block_on(async {
        let conf = crate::aws::config::sdk_config(aws, pricing_region).await;
        let client = aws_sdk_pricing::Client::new(&conf);
        on_demand(&client, region).await
    });
    let mut rates = rates.map_err(|e| FetchFailed::Remote(e.to_string()))?;
    let version = spot.as_ref().map(|s| s.1.clone()).unwrap_or_default();
    if let Some((spot_rates, _)) = &spot {
        crate::pricing::compare::merge_spot(&mut rates, spot_rates);
    }
    let now = std::time::SystemTime::now();
    let fetched_at = humantime::format_rfc3339_seconds(now).to_string();
    let endpoint = aws
        .endpoint_url
        .clone()
        .unwrap_or_else(|| format!("api.pricing.{pricing_region}.amazonaws.com"));
    let source = format!(
        "AWS Price List API GetProducts AmazonECS via {endpoint}; {spot_from}{}",
        if version.is_empty() {
            String::new()
        } else {
            format!(" (source:version {version})")
        }
    );
    Ok(rates
        .into_iter()
        .map(|(k, r)| {
            (
                k,
                crate::pricing::cache::CachedRegion {
                    fetched_unix: now_unix(),
                    fetched_at: fetched_at.clone(),
                    source: source.clone(),
                    rates: r,
                },
            )
        })
        .collect())
}

fn run_fetch(a: FetchArgs) -> anyhow::Result<Outcome> {
    #[cfg(feature = "aws")]
    {
        use crate::aws::pricing::PRICE_LIST_REGIONS;
        if a.aws.endpoint_url.is_none() && !PRICE_LIST_REGIONS.contains(&a.pricing_region.as_str())
        {
            return Err(UserError(format!(
                "--pricing-region `{}` has no Price List endpoint; allowed: {}",
                a.pricing_region,
                PRICE_LIST_REGIONS.map(|r| format!("`{r}`")).join(", ")
            ))
            .into());
        }
        let spot = match (&a.spot_prices, a.no_spot) {
            (Some(p), _) => SpotInput::File(p.clone()),
            (None, true) => SpotInput::Skip,
            (None, false) => SpotInput::Url(a.spot_url.clone()),
        };
        let fetched = fetch_regions(&a.aws, &a.pricing_region, a.region.as_deref(), spot).map_err(
            |e| match e {
                FetchFailed::Input(m) => anyhow::Error::from(UserError(m)),
                FetchFailed::Remote(m) => anyhow::anyhow!(m),
            },
        )?;
        let mut cache = read_cache().map_err(UserError)?.unwrap_or_default();
        let regions: Vec<String> = fetched.keys().cloned().collect();
        cache.merge(fetched.clone());
        let path = write_cache(&cache).map_err(UserError)?;
        let fetched_snapshot = PriceSnapshot {
            as_of: fetched
                .values()
                .next()
                .map(|r| r.fetched_at[..10].to_string())
                .unwrap_or_default(),
            source: fetched
                .values()
                .next()
                .map(|r| r.source.clone())
                .unwrap_or_default(),
            regions: fetched.into_iter().map(|(k, v)| (k, v.rates)).collect(),
        };
        match a.format {
            PriceFormat::Table => out!(
                "{}",
                crate::report::prices::rates_table(&fetched_snapshot, None)
            ),
            PriceFormat::Json => outln!("{}", serde_json::to_string_pretty(&fetched_snapshot)?),
        }
        eprintln!("cached {} region(s) in {}", regions.len(), path.display());
        if let Some(p) = &a.write_bundled {
            // the Price List's AmazonECS items carry no network rates: keep the bundled ones
            let bundled = PriceSnapshot::bundled();
            let mut out = fetched_snapshot.clone();
            for (region, rates) in out.regions.iter_mut() {
                if let Some(b) = bundled.regions.get(region) {
                    rates.fill_network(b);
                }
            }
            super::output::write_file(p, serde_json::to_string_pretty(&out)? + "\n")?;
            eprintln!("wrote the bundled snapshot {}", p.display());
        }
        Ok(Outcome::Done)
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = a;
        Err(UserError("`pricing fetch` needs spotplan built with the `aws` feature".into()).into())
    }
}

fn chosen(source: Option<&str>) -> Result<(PriceSnapshot, &'static str), String> {
    let cache = read_cache()?;
    match (source, cache) {
        (Some("bundled"), _) | (None, None) => Ok((PriceSnapshot::bundled(), "bundled")),
        (_, Some(c)) => Ok((c.snapshot(), "cache")),
        (Some(_), None) => Err(format!(
            "no price cache at `{}`; run `spotplan pricing fetch` first",
            cache_path()?.display()
        )),
    }
}

fn run_show(a: ShowArgs) -> anyhow::Result<Outcome> {
    let (s, kind) = chosen(a.source.as_deref()).map_err(UserError)?;
    if let Some(r) = &a.region
        && !s.regions.contains_key(r)
    {
        let known = s
            .regions
            .keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(UserError(format!(
            "no {kind} prices for region `{r}`; {kind} regions: {known}"
        ))
        .into());
    }
    match a.format {
        PriceFormat::Json => {
            let mut s2 = s.clone();
            s2.regions
                .retain(|k, _| a.region.as_ref().is_none_or(|r| r == k));
            outln!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"source": kind, "snapshot": s2}))?
            );
        }
        PriceFormat::Table => {
            let source = format!("source: {kind} · as of {} · {}", s.as_of, s.source);
            outln!("{}", crate::units::wrap(&source, crate::units::WIDTH, "  "));
            out!(
                "{}",
                crate::report::prices::rates_table(&s, a.region.as_deref())
            );
            for (k, r) in s
                .regions
                .iter()
                .filter(|(k, _)| a.region.as_ref().is_none_or(|x| x == *k))
            {
                if !r.note.is_empty() {
                    let note = format!("{k}: {}", r.note);
                    outln!("{}", crate::units::wrap(&note, crate::units::WIDTH, "  "));
                }
            }
        }
    }
    if let Some(w) = staleness_warning(&s.as_of, now_unix()) {
        eprintln!("warning: {w}");
    }
    Ok(Outcome::Done)
}

fn run_diff(a: DiffArgs) -> anyhow::Result<Outcome> {
    let cache = read_cache()
        .map_err(UserError)?
        .ok_or_else(|| {
            UserError(format!(
                "no price cache at `{}`; run `spotplan pricing fetch` first",
                cache_path().unwrap_or_default().display()
            ))
        })?
        .snapshot();
    let bundled = PriceSnapshot::bundled();
    let rows = crate::pricing::compare::differences(&bundled, &cache, a.region.as_deref());
    match a.format {
        PriceFormat::Json => outln!("{}", serde_json::to_string_pretty(&rows)?),
        PriceFormat::Table => out!(
            "{}",
            crate::report::prices::differences_text(&bundled.as_of, &cache.as_of, &rows)
        ),
    }
    Ok(Outcome::Done)
}

/// Runs a `pricing` subcommand.
pub(crate) fn run(c: PricingCommand) -> anyhow::Result<Outcome> {
    match c {
        PricingCommand::Fetch(a) => run_fetch(a),
        PricingCommand::Show(a) => run_show(a),
        PricingCommand::Diff(a) => run_diff(a),
    }
}
