//! `ScenarioFile` → [`Scenario`]: every value checked, converted to units, located on error.
//! One file per part of the scenario: `capacity`, `spot`, `flows`, `grid`, `prices`, on the
//! shared `context`.

mod capacity;
mod context;
mod flows;
mod grid;
mod prices;
mod spot;

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::model::{OperatingSystem, Placement, PlacementSpec, Provider};
use crate::scenario::error::MAX_SHOWN;
use crate::scenario::error::{Diagnostic, FieldPath, ScenarioError};
use crate::scenario::file::*;
use crate::scenario::locate::Locator;
use crate::scenario::spec;
use crate::scenario::types::*;
use capacity::{cluster, launch, worker};
use context::Ctx;
use flows::flow;
use grid::{objectives, sweep};
use prices::{check_rates, network, prices};
use spot::{retry, spot};

pub use context::{DEFAULT_START_UNIX_MS, Loader};

/// `simulation.replications` when the file does not say.
pub const DEFAULT_REPLICATIONS: u32 = 200;
pub use flows::{GAMMA_SHAPE, weekly_occurrences};
pub use prices::{PriceError, PriceRequest, PriceResolver, ResolvedPrices, bundled_only};
pub use spot::parse_trace;

/// Validates a parsed scenario file. `src` is its text (for locations), `file` its name.
pub fn validate(
    f: &ScenarioFile,
    src: &str,
    file: &str,
    loader: Loader<'_>,
    resolve: PriceResolver<'_>,
) -> Result<Scenario, ScenarioError> {
    let mut cx = Ctx {
        diags: Vec::new(),
        loader,
    };
    let root = FieldPath::root();
    let sim = simulation(&mut cx, &f.simulation, &root.key("simulation"));
    let cluster = cluster(&mut cx, &f.cluster, &root.key("cluster"));
    let worker = worker(&mut cx, &f.worker, &root.key("worker"));
    let launch = match (&cluster, &worker) {
        (Some(c), Some(w)) => launch(&mut cx, f, c, w.kind),
        _ => None,
    };
    let spot = spot(&mut cx, &f.spot, &root.key("spot"));
    let retry = retry(&mut cx, &f.retry, &root.key("retry"));
    let mut flows = Vec::new();
    if f.flows.is_empty() {
        cx.err(&root.key("flow"), "a scenario needs at least one [[flow]]");
    }
    let mut names = BTreeSet::new();
    for (i, fl) in f.flows.iter().enumerate() {
        let p = root.key("flow").index(i);
        if !names.insert(fl.name.clone()) {
            cx.err(
                &p.key("name"),
                format!(
                    "flow name `{}` is used twice; names must be unique",
                    fl.name
                ),
            );
        }
        if let Some(mut spec) = flow(&mut cx, fl, &p, sim.as_ref(), cluster.as_ref()) {
            if let Some(text) = &fl.retry {
                match crate::scenario::retry::parse_spec(text) {
                    Ok(own)
                        if retry
                            .as_ref()
                            .is_some_and(|r| r.prefect1() != own.prefect1()) =>
                    {
                        cx.err(
                            &p.key("retry"),
                            format!(
                                "`{text}` needs another kind of worker than `[retry]`'s policy: the deployments of one work pool share its worker (Prefect 1's agent, or Prefect 3's ECS worker)"
                            ),
                        );
                    }
                    Ok(own) => spec.retry = Some(own),
                    Err(m) => cx.err(&p.key("retry"), m),
                }
            }
            if let Some(l) = &launch
                && spec.size.os == OperatingSystem::Windows
                && spec
                    .strategy
                    .as_ref()
                    .unwrap_or(&l.strategy)
                    .uses(Provider::FargateSpot)
            {
                cx.err(
                    &p.key("os"),
                    "windows tasks cannot run on FARGATE_SPOT (Fargate Spot supports Linux only); \
                         use a strategy without FARGATE_SPOT or os = \"linux\"",
                );
            }
            flows.push(spec);
        }
    }
    // a flow that does not say where its image comes from takes the work pool's image
    if let Some(img) = &f.deploy.flow_image {
        for fl in flows.iter_mut().filter(|fl| !fl.image_registry.1) {
            fl.image_registry = (ImageRegistry::of_image(img, &f.region), true);
        }
    }
    let objectives = objectives(&mut cx, &f.objectives, &root.key("objectives"));
    let sweep = match (&sim, &retry) {
        (Some(sim), Some(retry)) => sweep(&mut cx, &f.sweep, &root.key("sweep"), sim, retry),
        _ => None,
    };
    let prices = prices(&mut cx, f, &root, resolve);
    let discount = match f.pricing.on_demand_discount {
        None => 0.0,
        Some(d) if d.is_finite() && (0.0..=0.9).contains(&d) => d,
        Some(d) => {
            cx.err(
                &root.key("pricing").key("on_demand_discount"),
                format!("`{d}` is outside 0–0.9 (a fraction: 0.2 is 20% off on-demand)"),
            );
            0.0
        }
    };
    let savings_plan = prices::savings_plan(&mut cx, &f.pricing, &root.key("pricing"));
    let rates = match (&prices, &launch, &worker) {
        (Some(prices), Some(l), Some(w)) => {
            check_rates(&mut cx, prices, &flows, &l.strategy, &w.size, discount)
        }
        _ => None,
    };
    let network = network(&mut cx, f.network.as_ref(), prices.as_ref(), &flows, &root);

    if !cx.diags.is_empty() {
        let at = Locator::new(src);
        let more = cx.diags.len().saturating_sub(MAX_SHOWN);
        cx.diags.truncate(MAX_SHOWN);
        return Err(ScenarioError {
            diagnostics: cx
                .diags
                .into_iter()
                .map(|(path, fallback, message)| Diagnostic {
                    file: file.to_string(),
                    location: at
                        .locate(&path)
                        .or_else(|| fallback.and_then(|f| at.locate(&f))),
                    path,
                    message,
                })
                .collect(),
            more,
        });
    }
    let (
        Some(sim),
        Some(cluster),
        Some(worker),
        Some(launch),
        Some(spot),
        Some(retry),
        Some(prices),
        Some(sweep),
        Some(rates),
        Some(network),
    ) = (
        sim, cluster, worker, launch, spot, retry, prices, sweep, rates, network,
    )
    else {
        // every section that fails records a diagnostic, so this is not reached; should a
        // change break that, the user gets an error rather than a crash
        return Err(ScenarioError {
            diagnostics: vec![Diagnostic {
                file: file.to_string(),
                location: None,
                path: root,
                message: "this scenario could not be validated, and no check said why (a defect of spotplan: please report it with the file)".into(),
            }],
            more: 0,
        });
    };
    let digest = Sha256::digest(src.as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(Scenario {
        name: f.name.clone(),
        description: f.description.clone(),
        region: f.region.clone(),
        source: ScenarioSource {
            file: file.to_string(),
            hash,
            canonical: String::new(),
            sections: Default::default(),
        },
        sim,
        cluster,
        worker,
        launch,
        spot,
        retry,
        flows,
        objectives,
        prices,
        on_demand_discount: discount,
        savings_plan,
        rates,
        network,
        sweep,
        deploy_section: f.deploy.clone(),
    })
}

fn simulation(cx: &mut Ctx, s: &SimulationSection, p: &FieldPath) -> Option<SimulationSettings> {
    let horizon = cx.positive_dur(&p.key("horizon"), s.horizon.as_deref().unwrap_or("30d"));
    let replications = s.replications.unwrap_or(DEFAULT_REPLICATIONS);
    if !(1..=1_000_000).contains(&replications) {
        cx.err(
            &p.key("replications"),
            format!("`{replications}` is outside 1–1000000"),
        );
    }
    let placement_spec = match s.placement.as_deref() {
        None => Some(PlacementSpec::Robust),
        Some(t) => spec::parse_placement_spec(t)
            .map_err(|m| cx.err(&p.key("placement"), m))
            .ok(),
    };
    let start = match &s.start {
        None => Some(DEFAULT_START_UNIX_MS),
        Some(t) => match humantime::parse_rfc3339(t) {
            Ok(st) => st
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_millis() as i64),
            Err(e) => {
                cx.err(&p.key("start"), format!("`{t}` is not an RFC 3339 UTC instant ({e}); write it like \"2026-01-05T00:00:00Z\""));
                None
            }
        },
    };
    let drain = cx.dur(&p.key("drain"), s.drain.as_deref().unwrap_or("7d"));
    Some(SimulationSettings {
        horizon: horizon?,
        replications,
        seed: s.seed.unwrap_or(42),
        placement: match placement_spec? {
            PlacementSpec::Reading(r) => r,
            PlacementSpec::Robust => Placement::PerCall,
        },
        placement_spec: placement_spec?,
        placement_stated: s.placement.is_some(),
        start_unix_ms: start?,
        drain: drain?,
    })
}
