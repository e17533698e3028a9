//! [`ScenarioFile`] → [`Scenario`]: every value checked, converted to units, located on error.

use std::collections::BTreeSet;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::error::MAX_SHOWN;
use super::error::{Diagnostic, FieldPath, ScenarioError};
use super::file::*;
use super::locate::Locator;
use super::spec;
use super::types::*;
use crate::model::size::{
    VALID_CPUS, describe_memory_for_cpu, parse_cpu_text, parse_memory_text, valid_memory_for_cpu,
};
use crate::model::{
    Architecture, Cpu, Dist, Memory, OperatingSystem, Placement, PlacementSpec, Provider, Rate,
    SimTime, Strategy, StrategyItem, TaskSize,
};
use crate::pricing::{PriceSnapshot, PriceSource, PriceTable, RegionRates, TaskRates};

/// Reads a file named in the scenario (path as written, relative to the scenario file).
pub type Loader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// Default simulation start: 2026-01-05T00:00:00Z, a Monday.
pub const DEFAULT_START_UNIX_MS: i64 = 1_767_571_200_000;

struct Ctx<'a> {
    /// (field path, where to point instead when the path is not in the file, message)
    diags: Vec<(FieldPath, Option<FieldPath>, String)>,
    loader: Loader<'a>,
}

impl Ctx<'_> {
    fn err(&mut self, path: &FieldPath, msg: impl Into<String>) {
        self.diags.push((path.clone(), None, msg.into()));
    }
    /// An error about `path` that points at `fallback` when `path` is not written in the file.
    fn err_or_at(&mut self, path: &FieldPath, fallback: &FieldPath, msg: impl Into<String>) {
        self.diags
            .push((path.clone(), Some(fallback.clone()), msg.into()));
    }
    fn dur(&mut self, path: &FieldPath, text: &str) -> Option<SimTime> {
        SimTime::parse_human(text)
            .map_err(|m| self.err(path, m))
            .ok()
    }
    fn positive_dur(&mut self, path: &FieldPath, text: &str) -> Option<SimTime> {
        let d = self.dur(path, text)?;
        if d.0 == 0 {
            self.err(path, format!("`{text}` must be longer than zero"));
            return None;
        }
        Some(d)
    }
    fn load(&mut self, path: &FieldPath, name: &str) -> Option<String> {
        (self.loader)(name)
            .map_err(|e| self.err(path, format!("cannot read `{name}`: {e}")))
            .ok()
    }
    fn fraction(&mut self, path: &FieldPath, v: f64, upper_open: bool) -> Option<f64> {
        let ok = v.is_finite() && v >= 0.0 && if upper_open { v < 1.0 } else { v <= 1.0 };
        if !ok {
            let range = if upper_open { "[0, 1)" } else { "[0, 1]" };
            self.err(path, format!("`{v}` is outside {range}"));
            return None;
        }
        Some(v)
    }
}

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
        if let Some(spec) = flow(&mut cx, fl, &p, sim.as_ref(), cluster.as_ref()) {
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
        unreachable!("every missing section recorded a diagnostic")
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
        rates,
        network,
        sweep,
        deploy_section: f.deploy.clone(),
    })
}

fn simulation(cx: &mut Ctx, s: &SimulationSection, p: &FieldPath) -> Option<SimulationSettings> {
    let horizon = cx.positive_dur(&p.key("horizon"), s.horizon.as_deref().unwrap_or("30d"));
    let replications = s.replications.unwrap_or(200);
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

fn cluster(cx: &mut Ctx, c: &ClusterSection, p: &FieldPath) -> Option<ClusterSpec> {
    let mut seen = BTreeSet::new();
    for (i, cp) in c.capacity_providers.iter().enumerate() {
        if !seen.insert(cp.as_str()) {
            cx.err(
                &p.key("capacity_providers").index(i),
                format!("`{cp}` is listed twice"),
            );
        }
    }
    if c.capacity_providers.len() > 10 {
        cx.err(
            &p.key("capacity_providers"),
            format!(
                "a cluster can have at most 10 capacity providers; this one lists {}",
                c.capacity_providers.len()
            ),
        );
    }
    let default_strategy = match &c.strategy {
        None => None,
        Some(items) => Some(strategy(
            cx,
            items,
            &p.key("strategy"),
            &c.capacity_providers,
        )?),
    };
    Some(ClusterSpec {
        name: c.name.clone().unwrap_or_else(|| "spotplan".into()),
        capacity_providers: c.capacity_providers.clone(),
        default_strategy,
    })
}

/// Validates a capacity provider strategy against the ECS rules.
fn strategy(
    cx: &mut Ctx,
    items: &[StrategyItemFile],
    p: &FieldPath,
    cluster: &[String],
) -> Option<Strategy> {
    let before = cx.diags.len();
    if items.is_empty() {
        cx.err(p, "a strategy needs at least one item");
    }
    if items.len() > Strategy::MAX_ITEMS {
        cx.err(
            p,
            format!(
                "a strategy can hold at most 20 items; this one has {}",
                items.len()
            ),
        );
    }
    let mut out = Vec::new();
    let mut base_items = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, it) in items.iter().enumerate() {
        let ip = p.index(i);
        let weight = it.weight.unwrap_or(0);
        let base = it.base.unwrap_or(0);
        if !(0..=1000).contains(&weight) {
            cx.err(
                &ip.key("weight"),
                format!("weight `{weight}` is outside 0–1000"),
            );
        }
        if !(0..=100_000).contains(&base) {
            cx.err(
                &ip.key("base"),
                format!("base `{base}` is outside 0–100000"),
            );
        }
        if base > 0 {
            base_items.push(i);
        }
        if !seen.insert(it.provider.as_str()) {
            cx.err(
                &ip.key("provider"),
                format!("provider `{}` appears twice in the strategy", it.provider),
            );
        }
        // a misspelt provider is a typo to fix, not a provider to add to the cluster
        let normal = |p: &str| p.trim().to_ascii_uppercase().replace(['-', ' '], "_");
        let known = ["FARGATE", "FARGATE_SPOT"];
        if !cluster.iter().any(|c| c == &it.provider)
            && let Some(meant) = known
                .iter()
                .chain(
                    cluster
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .iter(),
                )
                .find(|k| {
                    **k != it.provider
                        && (normal(k) == normal(&it.provider)
                            || strsim::levenshtein(k, &it.provider.to_ascii_uppercase()) <= 2)
                })
        {
            cx.err(
                &ip.key("provider"),
                format!(
                    "provider `{}` is not a capacity provider; did you mean `{meant}`?",
                    it.provider
                ),
            );
            continue;
        }
        if !cluster.iter().any(|c| c == &it.provider) {
            let listed = cluster
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ");
            cx.err(
                &ip.key("provider"),
                format!(
                    "provider `{}` is not one of the cluster's capacity providers ({listed}); add it to `cluster.capacity_providers`",
                    it.provider
                ),
            );
            continue;
        }
        match Provider::from_ecs_name(&it.provider) {
            Some(provider) => out.push(StrategyItem {
                provider,
                weight: weight.clamp(0, 1000) as u32,
                base: base.clamp(0, 100_000) as u32,
            }),
            None => cx.err(
                &ip.key("provider"),
                format!(
                    "provider `{}` is not simulated: spotplan models `FARGATE` and `FARGATE_SPOT`, and a strategy cannot mix Fargate and Auto Scaling group providers",
                    it.provider
                ),
            ),
        }
    }
    if base_items.len() > 1 {
        cx.err(
            &p.index(base_items[1]).key("base"),
            format!(
                "only one item of a strategy may set `base`; items {} and {} both do",
                base_items[0], base_items[1]
            ),
        );
    }
    if !items.is_empty() && items.iter().all(|i| i.weight.unwrap_or(0) == 0) {
        cx.err(
            p,
            "every weight is 0: ECS rejects RunTask and CreateService with this strategy; give at least one item a weight above 0 (the API default weight is 0)",
        );
    }
    (cx.diags.len() == before).then_some(Strategy { items: out })
}

/// The size fields of a task as written, and the defaults for cpu and memory.
struct SizeFields<'a> {
    cpu: Option<&'a NumOrText>,
    memory: Option<&'a NumOrText>,
    default: (u32, u32),
    arch: Option<&'a str>,
    os: Option<&'a str>,
    storage: Option<u32>,
}

fn size(cx: &mut Ctx, p: &FieldPath, f: SizeFields) -> Option<TaskSize> {
    let SizeFields {
        cpu,
        memory,
        default,
        arch,
        os,
        storage,
    } = f;
    let cpu_units = match cpu {
        None => Some(default.0),
        Some(v) => parse_cpu_text(&v.as_text())
            .map_err(|m| cx.err(&p.key("cpu"), m))
            .ok(),
    };
    let mem = match memory {
        None => Some(default.1),
        Some(v) => parse_memory_text(&v.as_text())
            .map_err(|m| cx.err(&p.key("memory"), m))
            .ok(),
    };
    let arch = match arch.unwrap_or("x86_64") {
        "x86_64" | "X86_64" => Some(Architecture::X86_64),
        "arm64" | "ARM64" => Some(Architecture::Arm64),
        other => {
            cx.err(
                &p.key("architecture"),
                format!("`{other}` is not an architecture; allowed: `x86_64`, `arm64`"),
            );
            None
        }
    };
    let os = match os.unwrap_or("linux") {
        "linux" | "LINUX" => Some(OperatingSystem::Linux),
        "windows" | "WINDOWS" => Some(OperatingSystem::Windows),
        other => {
            cx.err(
                &p.key("os"),
                format!("`{other}` is not an operating system; allowed: `linux`, `windows`"),
            );
            None
        }
    };
    let storage_gib = storage.unwrap_or(20);
    if !(20..=200).contains(&storage_gib) {
        cx.err(
            &p.key("ephemeral_storage"),
            format!("`{storage_gib}` GiB is outside 20–200 GiB"),
        );
    }
    let (cpu_units, mem) = (cpu_units?, mem?);
    match valid_memory_for_cpu(cpu_units) {
        None => {
            let allowed = VALID_CPUS.map(|c| c.to_string()).join(", ");
            cx.err(&p.key("cpu"), format!("cpu `{cpu_units}` is not a Fargate size; allowed: {allowed} (units; 1024 = 1 vCPU)"));
            return None;
        }
        Some(valid) if !valid.contains(&mem) => {
            cx.err(
                &p.key("memory"),
                format!(
                    "memory `{mem}` MiB is not valid with cpu `{cpu_units}`; allowed: {}",
                    describe_memory_for_cpu(cpu_units)
                ),
            );
            return None;
        }
        Some(_) => {}
    }
    let os = os?;
    if os == OperatingSystem::Windows && cpu_units < 1024 {
        cx.err(
            &p.key("cpu"),
            format!("windows tasks need at least 1024 cpu units (1 vCPU); got `{cpu_units}`"),
        );
        return None;
    }
    if !(20..=200).contains(&storage_gib) {
        return None;
    }
    Some(TaskSize {
        cpu: Cpu(cpu_units),
        memory: Memory(mem),
        arch: arch?,
        os,
        storage_gib,
    })
}

fn worker(cx: &mut Ctx, w: &WorkerSection, p: &FieldPath) -> Option<WorkerSpec> {
    let kind = match w.kind.as_deref().unwrap_or("runtask") {
        "prefect3-ecs-worker" => Some(WorkerKind::Prefect3EcsWorker),
        "prefect1-ecs-agent" => Some(WorkerKind::Prefect1EcsAgent),
        "runtask" => Some(WorkerKind::RunTask),
        other => {
            cx.err(
                &p.key("kind"),
                format!("`{other}` is not a worker kind; allowed: `prefect3-ecs-worker`, `prefect1-ecs-agent`, `runtask`"),
            );
            None
        }
    };
    let size = size(
        cx,
        p,
        SizeFields {
            cpu: w.cpu.as_ref(),
            memory: w.memory.as_ref(),
            default: (512, 1024),
            arch: w.architecture.as_deref(),
            os: None,
            storage: None,
        },
    );
    let poll = cx.dur(
        &p.key("poll_interval"),
        w.poll_interval.as_deref().unwrap_or("10s"),
    );
    if w.concurrency_limit == Some(0) {
        cx.err(
            &p.key("concurrency_limit"),
            "`0` would never run anything; use a limit ≥ 1 or leave it out",
        );
    }
    Some(WorkerSpec {
        kind: kind?,
        size: size?,
        count: w.count.unwrap_or(1),
        poll_interval: poll?,
        concurrency_limit: w.concurrency_limit,
    })
}

/// Resolves what each RunTask asks for, as ECS and the worker would.
fn launch(cx: &mut Ctx, f: &ScenarioFile, c: &ClusterSpec, kind: WorkerKind) -> Option<Launch> {
    let wp = FieldPath::root().key("worker");
    let w = &f.worker;
    match (&w.strategy, &w.launch_type) {
        (Some(_), Some(_)) => {
            cx.err(
                &wp.key("launch_type"),
                "`launch_type` and `strategy` cannot both be set: ECS rejects such a RunTask with \"You may choose a capacity provider or a launch type but not both.\"; remove one",
            );
            None
        }
        (Some(items), None) => {
            let s = strategy(cx, items, &wp.key("strategy"), &c.capacity_providers)?;
            Some(Launch {
                source: LaunchSource::RequestStrategy,
                strategy: s,
            })
        }
        (None, Some(lt)) => match lt.as_str() {
            "FARGATE" => Some(Launch {
                source: LaunchSource::RequestLaunchType,
                strategy: Strategy::only(Provider::Fargate),
            }),
            "FARGATE_SPOT" if kind == WorkerKind::Prefect3EcsWorker => {
                if !c.capacity_providers.iter().any(|p| p == "FARGATE_SPOT") {
                    cx.err(
                        &wp.key("launch_type"),
                        "`FARGATE_SPOT` needs `FARGATE_SPOT` in `cluster.capacity_providers`",
                    );
                    return None;
                }
                Some(Launch {
                    source: LaunchSource::RequestStrategy,
                    strategy: Strategy::only(Provider::FargateSpot),
                })
            }
            "FARGATE_SPOT" => {
                cx.err(
                    &wp.key("launch_type"),
                    "`FARGATE_SPOT` is not an ECS launch type (only the Prefect 3 ECS worker translates it into a strategy); use `strategy = [{ provider = \"FARGATE_SPOT\", weight = 1 }]`",
                );
                None
            }
            other => {
                cx.err(
                    &wp.key("launch_type"),
                    format!("launch type `{other}` is not simulated; allowed: `FARGATE` (or `FARGATE_SPOT` with the Prefect 3 ECS worker)"),
                );
                None
            }
        },
        (None, None) => match kind {
            WorkerKind::Prefect3EcsWorker | WorkerKind::Prefect1EcsAgent => Some(Launch {
                source: LaunchSource::WorkerDefaultLaunchType,
                strategy: Strategy::only(Provider::Fargate),
            }),
            WorkerKind::RunTask => match &c.default_strategy {
                Some(s) => Some(Launch {
                    source: LaunchSource::ClusterDefault,
                    strategy: s.clone(),
                }),
                None => {
                    cx.err(
                        &FieldPath::root().key("cluster").key("strategy"),
                        "nothing says where runs go: set `cluster.strategy` (the default strategy), or `worker.strategy` or `worker.launch_type`",
                    );
                    None
                }
            },
        },
    }
}

fn spot(cx: &mut Ctx, s: &SpotSection, p: &FieldPath) -> Option<SpotSpec> {
    let before = cx.diags.len();
    let rate = match (&s.interruption_rate, &s.interruption_probability) {
        (Some(_), Some(_)) => {
            cx.err(
                &p.key("interruption_probability"),
                "give `interruption_rate` or `interruption_probability`, not both",
            );
            Rate::default()
        }
        (Some(r), None) => Rate::parse(r)
            .map_err(|m| cx.err(&p.key("interruption_rate"), m))
            .unwrap_or_default(),
        (None, Some(pr)) => {
            let pp = p.key("interruption_probability");
            match cx.positive_dur(&pp.key("per"), &pr.per) {
                Some(per) => Rate::from_probability(pr.probability, per)
                    .map_err(|m| cx.err(&pp.key("probability"), m))
                    .unwrap_or_default(),
                None => Rate::default(),
            }
        }
        (None, None) => Rate::default(),
    };
    let hourly = match &s.hourly_multipliers {
        None => None,
        Some(v) if v.len() != 24 => {
            cx.err(
                &p.key("hourly_multipliers"),
                format!("needs 24 values (one per UTC hour); got {}", v.len()),
            );
            None
        }
        Some(v) => {
            for (i, m) in v.iter().enumerate() {
                if !m.is_finite() || *m < 0.0 {
                    cx.err(
                        &p.key("hourly_multipliers").index(i),
                        format!("`{m}` must be a finite number ≥ 0"),
                    );
                }
            }
            let mut a = [0.0; 24];
            a.copy_from_slice(v);
            Some(a)
        }
    };
    let stop_timeout = cx.dur(
        &p.key("stop_timeout"),
        s.stop_timeout.as_deref().unwrap_or("30s"),
    );
    if let Some(st) = stop_timeout
        && !(2_000..=120_000).contains(&st.0)
    {
        cx.err(
            &p.key("stop_timeout"),
            format!("`{st}` is outside 2s–120s (the Fargate stopTimeout range)"),
        );
    }
    let capacity = s.capacity.as_ref().and_then(|c| {
        let cp = p.key("capacity");
        let u = cx.fraction(&cp.key("unavailable"), c.unavailable, true)?;
        let m = cx.positive_dur(&cp.key("mean_outage"), &c.mean_outage)?;
        (u > 0.0).then_some(CapacitySpec {
            unavailable: u,
            mean_outage: m,
        })
    });
    let waves = s.reclaim_waves.as_ref().and_then(|w| {
        let wp = p.key("reclaim_waves");
        // as any rate: at most one per millisecond, and above zero at least one per century
        let max = Rate::MAX_PER_HOUR * 24.0;
        let min = Rate::MIN_PER_HOUR * 24.0;
        if !(w.per_day.is_finite() && (w.per_day == 0.0 || (min..=max).contains(&w.per_day))) {
            cx.err(
                &wp.key("per_day"),
                format!(
                    "`{}` is outside 0 or {min:.1e}–{max} waves a day (one per century to one per millisecond)",
                    w.per_day
                ),
            );
            return None;
        }
        let hit = cx.fraction(&wp.key("hit"), w.hit, false)?;
        (w.per_day > 0.0 && hit > 0.0).then_some(WavesSpec {
            per_day: w.per_day,
            hit,
        })
    });
    let trace = s.trace.as_ref().and_then(|name| {
        let tp = p.key("trace");
        let text = cx.load(&tp, name)?;
        parse_trace(&text)
            .map_err(|m| cx.err(&tp, format!("`{name}`: {m}")))
            .ok()
            .map(Arc::new)
    });
    let trace_offset = match (&s.trace_offset, &trace) {
        (None, _) => None,
        (Some(t), Some(_)) => cx.dur(&p.key("trace_offset"), t),
        (Some(_), None) => {
            cx.err(&p.key("trace_offset"), "`trace_offset` needs a `trace`");
            None
        }
    };
    let stated = s.interruption_rate.is_some()
        || s.interruption_probability.is_some()
        || s.capacity.is_some()
        || s.reclaim_waves.is_some()
        || s.trace.is_some();
    (cx.diags.len() == before).then_some(SpotSpec {
        stated,
        trace_offset,
        rate,
        hourly,
        stop_timeout: stop_timeout?,
        capacity,
        waves,
        trace,
    })
}

/// Parses `{"metadata":{"gap_seconds":N},"data":[0,1,...]}` (1/true = preempted/unavailable).
pub fn parse_trace(text: &str) -> Result<SpotTrace, String> {
    #[derive(serde::Deserialize)]
    struct Meta {
        gap_seconds: f64,
    }
    #[derive(serde::Deserialize)]
    struct T {
        metadata: Meta,
        data: Vec<serde_json::Value>,
    }
    let t: T = serde_json::from_str(text).map_err(|e| {
        format!("not a trace file ({e}); expected {{\"metadata\":{{\"gap_seconds\":N}},\"data\":[0,1,...]}}")
    })?;
    if !(t.metadata.gap_seconds.is_finite() && t.metadata.gap_seconds > 0.0) {
        return Err(format!(
            "`metadata.gap_seconds` must be > 0; got `{}`",
            t.metadata.gap_seconds
        ));
    }
    if t.data.is_empty() {
        return Err("`data` is empty".into());
    }
    let mut unavailable = Vec::with_capacity(t.data.len());
    for (i, v) in t.data.iter().enumerate() {
        unavailable.push(match v {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Number(n) if n.as_f64() == Some(0.0) => false,
            serde_json::Value::Number(n) if n.as_f64() == Some(1.0) => true,
            other => {
                return Err(format!(
                    "`data[{i}]` is `{other}`; allowed: 0, 1, false, true"
                ));
            }
        });
    }
    Ok(SpotTrace {
        gap: SimTime::from_secs_f64(t.metadata.gap_seconds),
        unavailable,
    })
}

fn retry(cx: &mut Ctx, r: &RetrySection, p: &FieldPath) -> Option<RetryPolicy> {
    use super::retry::{Param, RetryParams};
    let at = |param: Param| {
        let key = match (param, &r.delay) {
            (Param::Delay, Some(StringOr::Table(_))) => "delay.exponential.base",
            _ => param.toml_key(),
        };
        key.split('.').fold(p.clone(), |q, k| q.key(k))
    };
    let mut ok = true;
    let (delay, backoff, max_delay) = match &r.delay {
        None => (None, None, None),
        Some(StringOr::Text(t)) => (cx.dur(&at(Param::Delay), t), None, None),
        Some(StringOr::Table(d)) => {
            let e = &d.exponential;
            let base = cx.dur(&at(Param::Delay), &e.base);
            let max = match &e.max {
                None => None,
                Some(m) => {
                    let v = cx.dur(&at(Param::MaxDelay), m);
                    ok &= v.is_some();
                    v
                }
            };
            ok &= base.is_some();
            (base, Some(e.factor.unwrap_or(2.0)), max)
        }
    };
    if matches!(&r.delay, Some(StringOr::Text(_))) {
        ok &= delay.is_some();
    }
    let params = RetryParams {
        policy: r.policy.clone(),
        runtask_attempts: r.runtask_attempts,
        fallback: r.fallback.clone(),
        limit: r.lazarus_limit,
        backend: r.backend.clone(),
        max_attempts: r.max_attempts,
        delay,
        backoff,
        max_delay,
        jitter: r.jitter,
        fallback_after: r.fallback_after_interruptions,
        fallback_after_capacity: r.fallback_after_capacity_failures,
        deadline_aware: r.deadline_aware.map(|b| b.to_string()),
        deadline_rule: r.deadline_rule.clone(),
    };
    match super::retry::build(&params, Param::toml_key) {
        Ok(policy) if ok => Some(policy),
        Ok(_) => None,
        Err(errs) => {
            for (param, m) in errs {
                cx.err(&at(param), m);
            }
            None
        }
    }
}

fn dist(cx: &mut Ctx, d: &StringOr<DistFile>, p: &FieldPath) -> Option<Dist> {
    let d = match d {
        StringOr::Text(t) => return cx.dur(p, t).map(Dist::Fixed),
        StringOr::Table(d) => d,
    };
    let set = [
        ("fixed", d.fixed.is_some()),
        ("uniform", d.uniform.is_some()),
        ("exponential", d.exponential.is_some()),
        ("lognormal", d.lognormal.is_some()),
        ("gamma", d.gamma.is_some()),
        ("empirical", d.empirical.is_some()),
    ];
    let chosen: Vec<&str> = set.iter().filter(|s| s.1).map(|s| s.0).collect();
    if chosen.len() != 1 {
        cx.err(
            p,
            format!(
                "give exactly one distribution of `fixed`, `uniform`, `exponential`, `lognormal`, `gamma`, `empirical`; got {}",
                if chosen.is_empty() { "none".to_string() } else { chosen.join(", ") }
            ),
        );
        return None;
    }
    if let Some(t) = &d.fixed {
        return cx.dur(&p.key("fixed"), t).map(Dist::Fixed);
    }
    if let Some(u) = &d.uniform {
        let up = p.key("uniform");
        if u.len() != 2 {
            cx.err(
                &up,
                format!("needs two durations [low, high]; got {}", u.len()),
            );
            return None;
        }
        let (a, b) = (cx.dur(&up.index(0), &u[0])?, cx.dur(&up.index(1), &u[1])?);
        if b < a {
            cx.err(&up, format!("low `{}` is above high `{}`", u[0], u[1]));
            return None;
        }
        return Some(Dist::Uniform(a, b));
    }
    if let Some(e) = &d.exponential {
        let m = cx.positive_dur(&p.key("exponential").key("mean"), &e.mean)?;
        return Some(Dist::Exponential {
            mean_ms: m.0 as f64,
        });
    }
    if let Some(l) = &d.lognormal {
        let lp = p.key("lognormal");
        let median = cx.positive_dur(&lp.key("median"), &l.median)?;
        let p95 = cx.dur(&lp.key("p95"), &l.p95)?;
        if p95 <= median {
            cx.err(
                &lp.key("p95"),
                format!("p95 `{}` must be above the median `{}`", l.p95, l.median),
            );
            return None;
        }
        return Some(Dist::lognormal(median, p95));
    }
    if let Some(g) = &d.gamma {
        let gp = p.key("gamma");
        if !(g.shape.is_finite() && g.shape > 0.0) {
            cx.err(&gp.key("shape"), format!("`{}` must be > 0", g.shape));
            return None;
        }
        let mean = cx.positive_dur(&gp.key("mean"), &g.mean)?;
        return Some(Dist::Gamma {
            shape: g.shape,
            scale_ms: mean.0 as f64 / g.shape,
        });
    }
    let name = d.empirical.as_deref().unwrap_or_default();
    let ep = p.key("empirical");
    let text = cx.load(&ep, name)?;
    match read_time_column(&text, "duration", false, 0) {
        Ok(v) if v.is_empty() => {
            cx.err(&ep, format!("`{name}` holds no durations"));
            None
        }
        Ok(v) => Some(Dist::Empirical(Arc::new(
            v.into_iter().map(|t| t.0).collect(),
        ))),
        Err(m) => {
            cx.err(&ep, format!("`{name}`: {m}"));
            None
        }
    }
}

/// Reads one column of times from CSV text: the column named `column` if there is a header,
/// else the first. Values are human durations, plain seconds, or (if `allow_instants`)
/// RFC 3339 instants taken relative to `start_unix_ms`.
fn read_time_column(
    text: &str,
    column: &str,
    allow_instants: bool,
    start_unix_ms: i64,
) -> Result<Vec<SimTime>, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut col = 0usize;
    for (row, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("line {}: {e}", row + 1))?;
        let Some(raw) = rec.get(col) else { continue };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let parsed = if let Ok(secs) = raw.parse::<f64>() {
            (secs.is_finite() && secs >= 0.0).then(|| SimTime::from_secs_f64(secs))
        } else if let Ok(d) = SimTime::parse_human(raw) {
            Some(d)
        } else if allow_instants {
            humantime::parse_rfc3339(raw).ok().and_then(|t| {
                let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64
                    - start_unix_ms;
                (ms >= 0).then_some(SimTime(ms as u64))
            })
        } else {
            None
        };
        match parsed {
            Some(t) => out.push(t),
            None if row == 0 => {
                // a header row: pick the named column if present
                col = rec.iter().position(|h| h.trim() == column).unwrap_or(0);
            }
            None => {
                let what = if allow_instants {
                    "an offset like \"1h30m\", seconds, or an RFC 3339 instant after the simulation start"
                } else {
                    "a duration like \"12m\" or seconds"
                };
                return Err(format!("line {}: `{raw}` is not {what}", row + 1));
            }
        }
    }
    Ok(out)
}

fn schedule(cx: &mut Ctx, s: &ScheduleFile, p: &FieldPath, start_unix_ms: i64) -> Option<Schedule> {
    let set = [
        ("every", s.every.is_some()),
        ("cron", s.cron.is_some()),
        ("poisson", s.poisson.is_some()),
        ("csv", s.csv.is_some()),
    ];
    let chosen: Vec<&str> = set.iter().filter(|x| x.1).map(|x| x.0).collect();
    if chosen.len() != 1 {
        cx.err(
            p,
            format!(
                "give exactly one of `every`, `cron`, `poisson`, `csv`; got {}",
                if chosen.is_empty() {
                    "none".to_string()
                } else {
                    chosen.join(", ")
                }
            ),
        );
        return None;
    }
    if s.offset.is_some() && s.every.is_none() {
        cx.err(&p.key("offset"), "`offset` applies only to `every`");
    }
    if let Some(e) = &s.every {
        let interval = cx.positive_dur(&p.key("every"), e)?;
        let offset = cx.dur(&p.key("offset"), s.offset.as_deref().unwrap_or("0s"))?;
        return Some(Schedule::Every { interval, offset });
    }
    if let Some(c) = &s.cron {
        return match c.parse::<croner::Cron>() {
            Ok(cron) => {
                let weekly = weekly_occurrences(c, &cron, start_unix_ms).map(Arc::new);
                Some(Schedule::Cron {
                    cron: Arc::new(cron),
                    weekly,
                })
            }
            Err(e) => {
                cx.err(&p.key("cron"), format!("`{c}` is not a cron expression ({e}); write 5 fields like \"0 2 * * *\" (UTC)"));
                None
            }
        };
    }
    if let Some(r) = &s.poisson {
        let rate = Rate::parse(r)
            .map_err(|m| cx.err(&p.key("poisson"), m))
            .ok()?;
        if rate.per_hour <= 0.0 {
            cx.err(&p.key("poisson"), "a Poisson schedule needs a rate above 0");
            return None;
        }
        return Some(Schedule::Poisson(rate));
    }
    let name = s.csv.as_deref().unwrap_or_default();
    let cp = p.key("csv");
    let text = cx.load(&cp, name)?;
    match read_time_column(&text, "start", true, start_unix_ms) {
        Ok(mut v) => {
            v.sort_unstable();
            Some(Schedule::Times(Arc::new(v)))
        }
        Err(m) => {
            cx.err(&cp, format!("`{name}`: {m}"));
            None
        }
    }
}

fn flow(
    cx: &mut Ctx,
    f: &FlowSection,
    p: &FieldPath,
    sim: Option<&SimulationSettings>,
    cluster: Option<&ClusterSpec>,
) -> Option<FlowSpec> {
    let before = cx.diags.len();
    let own_strategy = match (&f.strategy, cluster) {
        (Some(items), Some(c)) => strategy(cx, items, &p.key("strategy"), &c.capacity_providers),
        _ => None,
    };
    let schedule = schedule(
        cx,
        &f.schedule,
        &p.key("schedule"),
        sim.map(|s| s.start_unix_ms)
            .unwrap_or(DEFAULT_START_UNIX_MS),
    );
    let duration = dist(cx, &f.duration, &p.key("duration"));
    let size = size(
        cx,
        p,
        SizeFields {
            cpu: f.cpu.as_ref(),
            memory: f.memory.as_ref(),
            default: (1024, 2048),
            arch: f.architecture.as_deref(),
            os: f.os.as_deref(),
            storage: f.ephemeral_storage,
        },
    );
    let sp = p.key("startup");
    let startup = f.startup.clone().unwrap_or_default();
    let twenty = StringOr::Text("20s".to_string());
    let provisioning = dist(
        cx,
        startup.provisioning.as_ref().unwrap_or(&twenty),
        &sp.key("provisioning"),
    );
    let image_pull = dist(
        cx,
        startup.image_pull.as_ref().unwrap_or(&twenty),
        &sp.key("image_pull"),
    );
    let deadline = match &f.deadline {
        None => Some(None),
        Some(d) => cx.positive_dur(&p.key("deadline"), d).map(Some),
    };
    let checkpoint = match &f.checkpoint {
        None => Some(None),
        Some(c) => {
            let cp = p.key("checkpoint");
            let every = cx.positive_dur(&cp.key("every"), &c.every);
            let cost = cx.dur(&cp.key("cost"), c.cost.as_deref().unwrap_or("0s"));
            every
                .zip(cost)
                .map(|(every, cost)| Some(Checkpoint { every, cost }))
        }
    };
    if f.concurrency_limit == Some(0) {
        cx.err(
            &p.key("concurrency_limit"),
            "`0` would never run this flow; use a limit ≥ 1 or leave it out",
        );
    }
    let engine_startup = cx.dur(
        &p.key("engine_startup"),
        f.engine_startup.as_deref().unwrap_or("5s"),
    );
    let tasks = match &f.tasks {
        None => Some(FlowTasks::single()),
        Some(t) => flow_tasks(cx, t, &p.key("tasks")),
    };
    let image_gb = match &f.image_size {
        None => None,
        Some(t) => match parse_image_gb(t) {
            Ok(gb) => Some(gb),
            Err(m) => {
                cx.err(&p.key("image_size"), m);
                None
            }
        },
    };
    if cx.diags.len() != before {
        return None;
    }
    Some(FlowSpec {
        name: f.name.clone(),
        schedule: schedule?,
        duration: duration?,
        size: size?,
        provisioning: provisioning?,
        image_pull: image_pull?,
        deadline: deadline?,
        checkpoint: checkpoint?,
        concurrency_limit: f.concurrency_limit,
        image_gb,
        engine_startup: engine_startup?,
        engine_startup_stated: f.engine_startup.is_some(),
        tasks: tasks?,
        strategy: own_strategy,
        retry: None,
    })
}

/// For a cron expression whose day-of-month and month fields are `*`, its occurrences in the
/// first week after `start_unix_ms` (the schedule then repeats weekly); otherwise `None`.
pub fn weekly_occurrences(
    text: &str,
    cron: &croner::Cron,
    start_unix_ms: i64,
) -> Option<Vec<SimTime>> {
    let t = text.trim();
    let periodic = match t {
        "@hourly" | "@daily" | "@midnight" | "@weekly" => true,
        _ => {
            let f: Vec<&str> = t.split_whitespace().collect();
            f.len() == 5 && f[2] == "*" && f[3] == "*"
        }
    };
    if !periodic {
        return None;
    }
    const WEEK_MS: i64 = 7 * 86_400_000;
    let start = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(start_unix_ms)?;
    let mut out = Vec::new();
    let mut at = start;
    let mut inclusive = true;
    while let Ok(next) = cron.find_next_occurrence(&at, inclusive) {
        let ms = next.timestamp_millis() - start_unix_ms;
        if ms >= WEEK_MS || out.len() > 1_000_000 {
            break;
        }
        out.push(SimTime(ms as u64));
        at = next;
        inclusive = false;
    }
    Some(out)
}

fn sweep(
    cx: &mut Ctx,
    w: &SweepSection,
    p: &FieldPath,
    sim: &SimulationSettings,
    retry: &RetryPolicy,
) -> Option<SweepSpec> {
    let before = cx.diags.len();
    let spot_shares = spec::parse_percent_range(w.spot_share.as_deref().unwrap_or("0:100:10"))
        .map_err(|m| cx.err(&p.key("spot_share"), m))
        .unwrap_or_default();
    let bases = w.base.clone().unwrap_or_else(|| vec![0]);
    for (i, b) in bases.iter().enumerate() {
        if *b > Strategy::MAX_BASE {
            cx.err(
                &p.key("base").index(i),
                format!("base `{b}` is outside 0–100000"),
            );
        }
    }
    if bases.is_empty() {
        cx.err(&p.key("base"), "give at least one base value, e.g. [0]");
    }
    let base_provider = match w.base_provider.as_deref().unwrap_or("FARGATE") {
        "FARGATE" => Provider::Fargate,
        "FARGATE_SPOT" => Provider::FargateSpot,
        other => {
            cx.err(
                &p.key("base_provider"),
                format!("`{other}` is not a provider; allowed: `FARGATE`, `FARGATE_SPOT`"),
            );
            Provider::Fargate
        }
    };
    let mut placements = Vec::new();
    for (i, pl) in w.placement.clone().unwrap_or_default().iter().enumerate() {
        match spec::parse_placement_spec(pl) {
            Ok(x) if !placements.contains(&x) => placements.push(x),
            Ok(_) => {}
            Err(m) => cx.err(&p.key("placement").index(i), m),
        }
    }
    if placements.is_empty() {
        placements.push(sim.placement_spec);
    }
    let mut retries = Vec::new();
    for (i, r) in w.retry.clone().unwrap_or_default().iter().enumerate() {
        match super::retry::parse_spec(r) {
            Ok(x) => retries.push(x),
            Err(m) => cx.err(&p.key("retry").index(i), m),
        }
    }
    if retries.is_empty() {
        retries.push(retry.clone());
    }
    let mut checkpoint_every = Vec::new();
    for (i, c) in w
        .checkpoint_every
        .clone()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Some(d) = cx.positive_dur(&p.key("checkpoint_every").index(i), c) {
            checkpoint_every.push(Some(d));
        }
    }
    if checkpoint_every.is_empty() {
        checkpoint_every.push(None);
    }
    let replications = w.replications.unwrap_or(sim.replications);
    if !(2..=1_000_000).contains(&replications) {
        cx.err(
            &p.key("replications"),
            format!("`{replications}` is outside 2–1000000"),
        );
    }
    (cx.diags.len() == before).then_some(SweepSpec {
        spot_shares,
        bases,
        base_provider,
        placements,
        retries,
        checkpoint_every,
        replications,
        adaptive: w.adaptive.unwrap_or(true),
        per_deployment: w.per_deployment.unwrap_or(true),
    })
}

fn objectives(cx: &mut Ctx, o: &ObjectivesSection, p: &FieldPath) -> Objectives {
    let frac = |cx: &mut Ctx, name: &str, v: Option<f64>| {
        v.and_then(|v| cx.fraction(&p.key(name), v, false))
    };
    let max_deadline_miss = frac(cx, "max_deadline_miss", o.max_deadline_miss);
    let max_crashed = frac(cx, "max_crashed", o.max_crashed);
    let max_p95_latency_ms = o
        .max_p95_latency
        .as_ref()
        .and_then(|t| cx.positive_dur(&p.key("max_p95_latency"), t))
        .map(|t| t.0);
    if let Some(c) = o.max_monthly_cost
        && !(c.is_finite() && c >= 0.0)
    {
        cx.err(
            &p.key("max_monthly_cost"),
            format!("`{c}` must be a finite number ≥ 0 (USD per 30 days)"),
        );
    }
    let confidence = o.confidence.unwrap_or(0.95);
    if !(confidence > 0.0 && confidence < 1.0) {
        cx.err(
            &p.key("confidence"),
            format!("`{confidence}` is outside (0, 1)"),
        );
    }
    Objectives {
        max_deadline_miss,
        max_crashed,
        max_p95_latency_ms,
        max_monthly_cost: o.max_monthly_cost,
        confidence,
        assumed: None,
    }
}

/// What a scenario asks of a price source other than the bundled snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceRequest {
    /// `cache` or `live`.
    pub source: String,
    /// The scenario's region.
    pub region: String,
    /// For `live`: refresh the cache when older than this, seconds.
    pub max_age_secs: i64,
}

/// A snapshot from a price source, with the source's name.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedPrices {
    /// The rates.
    pub snapshot: PriceSnapshot,
    /// `cache` or `live`.
    pub kind: String,
}

/// Resolves `cache` / `live` price sources (the command line reads the cache and calls AWS).
pub type PriceResolver<'a> = &'a dyn Fn(&PriceRequest) -> Result<ResolvedPrices, String>;

/// A resolver that knows only the bundled snapshot.
pub fn bundled_only(req: &PriceRequest) -> Result<ResolvedPrices, String> {
    Err(format!(
        "price source `{}` needs the command line (it reads the price cache); this caller only has the bundled snapshot",
        req.source
    ))
}

fn prices(
    cx: &mut Ctx,
    f: &ScenarioFile,
    root: &FieldPath,
    resolve: PriceResolver,
) -> Option<PriceTable> {
    let pp = root.key("pricing");
    let source = f.pricing.source.as_deref().unwrap_or("bundled");
    let max_age = cx.positive_dur(
        &pp.key("max_age"),
        f.pricing.max_age.as_deref().unwrap_or("7d"),
    );
    let (snap, kind) = match source {
        "bundled" => (PriceSnapshot::bundled(), "bundled".to_string()),
        "cache" | "live" => {
            let req = PriceRequest {
                source: source.to_string(),
                region: f.region.clone(),
                max_age_secs: (max_age?.0 / 1000) as i64,
            };
            match resolve(&req) {
                Ok(r) => (r.snapshot, r.kind),
                Err(m) => {
                    cx.err(&pp.key("source"), m);
                    return None;
                }
            }
        }
        other => {
            cx.err(
                &pp.key("source"),
                format!("`{other}` is not a price source; allowed: `bundled`, `cache`, `live` (and single rates under [pricing.rates])"),
            );
            return None;
        }
    };
    let mut rates = snap.regions.get(&f.region).cloned();
    let overrides = f.pricing.rates.clone().unwrap_or_default();
    if rates.is_none() {
        if f.pricing.rates.is_none() {
            let known = snap
                .regions
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            cx.err(
                &root.key("region"),
                format!(
                    "region `{}` has no {kind} prices; {kind} regions: {known}; or give every rate under [pricing.rates]",
                    f.region
                ),
            );
            return None;
        }
        rates = Some(RegionRates::default());
    }
    let mut rates = rates.unwrap_or_default();
    // the Fargate price sources carry no network rates: those come from the bundled table
    let network_filled = match PriceSnapshot::bundled().regions.get(&f.region) {
        Some(b) if kind != "bundled" => rates.fill_network(b),
        _ => Vec::new(),
    };
    let region_as_of = rates.as_of.clone();
    let rp = pp.key("rates");
    let mut overridden = false;
    for (name, v) in rates.overlay(&overrides) {
        if !(v.is_finite() && v >= 0.0) {
            cx.err(
                &rp.key(name),
                format!("`{v}` must be a finite price ≥ 0 (USD per hour)"),
            );
        }
        overridden = true;
    }
    let as_of = overrides
        .as_of
        .clone()
        .filter(|_| overridden)
        .or(region_as_of)
        .unwrap_or(snap.as_of.clone());
    Some(PriceTable {
        region: f.region.clone(),
        source: PriceSource {
            kind: if overridden {
                format!("{kind}+scenario")
            } else {
                kind.clone()
            },
            region: f.region.clone(),
            as_of,
            detail: if overridden {
                format!(
                    "{kind} prices with rates from the scenario's [pricing.rates]; {}",
                    rates.note
                )
            } else {
                rates.note.clone()
            } + &if network_filled.is_empty() {
                String::new()
            } else {
                format!(
                    "; network rates ({}) from the bundled table",
                    network_filled.join(", ")
                )
            },
        },
        rates,
    })
}

fn flow_tasks(cx: &mut Ctx, t: &TasksFile, p: &FieldPath) -> Option<FlowTasks> {
    let sizes: Vec<f64> = match (&t.count, &t.sizes) {
        (Some(n), None) if (1..=1000).contains(n) => vec![1.0; *n as usize],
        (Some(n), None) => {
            cx.err(&p.key("count"), format!("`{n}` is outside 1–1000"));
            return None;
        }
        (None, Some(v))
            if !v.is_empty() && v.len() <= 1000 && v.iter().all(|x| x.is_finite() && *x > 0.0) =>
        {
            v.clone()
        }
        (None, Some(_)) => {
            cx.err(
                &p.key("sizes"),
                "give 1–1000 relative sizes, each a number > 0, e.g. [1, 2, 1]",
            );
            return None;
        }
        _ => {
            cx.err(
                p,
                "give exactly one of `count` (tasks of equal work) or `sizes` (relative work of each)",
            );
            return None;
        }
    };
    let retries = t.retries.unwrap_or(0);
    if retries > 100 {
        cx.err(&p.key("retries"), format!("`{retries}` is outside 0–100"));
    }
    let retry_delay = cx.dur(
        &p.key("retry_delay"),
        t.retry_delay.as_deref().unwrap_or("0s"),
    )?;
    let total: f64 = sizes.iter().sum();
    let mut acc = 0.0;
    let mut ends: Vec<f64> = sizes
        .iter()
        .map(|x| {
            acc += x;
            acc / total
        })
        .collect();
    if let Some(last) = ends.last_mut() {
        *last = 1.0;
    }
    Some(FlowTasks {
        ends,
        retries,
        retry_delay,
        stated: true,
    })
}

/// An image size (`"1.2 GB"`, `"800 MB"`, `"1.5 GiB"`) in GB (10^9 bytes, as data transfer
/// is billed), 1 MB to 100 GB.
fn parse_image_gb(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        format!("`{text}` is not an image size; write it like \"1.2 GB\" or \"800 MB\"")
    })?;
    let factor = match unit.trim() {
        "GB" => 1.0,
        "MB" => 1e-3,
        "GiB" => 1.073_741_824,
        "MiB" => 1.048_576e-3,
        other => {
            return Err(format!(
                "`{other}` is not a size unit in `{text}`; allowed: `MB`, `GB`, `MiB`, `GiB`"
            ));
        }
    };
    let gb = value * factor;
    if !(1e-3..=100.0).contains(&gb) {
        return Err(format!(
            "`{text}` is outside 1 MB–100 GB (compressed image sizes; ECR layers are at most 52 GB)"
        ));
    }
    Ok(gb)
}

/// `[network]` and its rates, resolved.
fn network(
    cx: &mut Ctx,
    n: Option<&NetworkSection>,
    prices: Option<&PriceTable>,
    flows: &[FlowSpec],
    root: &FieldPath,
) -> Option<NetworkSpec> {
    let p = root.key("network");
    let (egress, stated) = match n {
        None => (Egress::PublicIp, false),
        Some(n) => {
            let only = |cx: &mut Ctx, field: &str, v: Option<u32>, mode: &str| {
                if v.is_some() {
                    cx.err(
                        &p.key(field),
                        format!("`{field}` applies only to egress = \"{mode}\""),
                    );
                }
            };
            let e = match n.egress.as_str() {
                "public-ip" => {
                    only(cx, "nat_gateways", n.nat_gateways, "nat");
                    only(cx, "endpoints", n.endpoints, "vpc-endpoints");
                    only(cx, "azs", n.azs, "vpc-endpoints");
                    Egress::PublicIp
                }
                "nat" => {
                    only(cx, "endpoints", n.endpoints, "vpc-endpoints");
                    only(cx, "azs", n.azs, "vpc-endpoints");
                    let g = n.nat_gateways.unwrap_or(1);
                    if !(1..=100).contains(&g) {
                        cx.err(&p.key("nat_gateways"), format!("`{g}` is outside 1–100"));
                    }
                    Egress::Nat { gateways: g }
                }
                "vpc-endpoints" => {
                    only(cx, "nat_gateways", n.nat_gateways, "nat");
                    let (e, a) = (n.endpoints.unwrap_or(3), n.azs.unwrap_or(2));
                    if !(1..=50).contains(&e) {
                        cx.err(&p.key("endpoints"), format!("`{e}` is outside 1–50"));
                    }
                    if !(1..=6).contains(&a) {
                        cx.err(&p.key("azs"), format!("`{a}` is outside 1–6"));
                    }
                    Egress::VpcEndpoints {
                        endpoints: e,
                        azs: a,
                    }
                }
                other => {
                    cx.err(
                        &p.key("egress"),
                        format!(
                            "`{other}` is not an egress; allowed: `public-ip`, `nat`, `vpc-endpoints`"
                        ),
                    );
                    return None;
                }
            };
            (e, true)
        }
    };
    if matches!(egress, Egress::Nat { .. }) {
        for (i, f) in flows.iter().enumerate() {
            if f.image_gb.is_none() {
                cx.err_or_at(
                    &root.key("flow").index(i).key("image_size"),
                    &root.key("flow").index(i).key("name"),
                    format!(
                        "flow `{}` needs `image_size` (e.g. \"1.2 GB\"): with egress = \"nat\" every image pull is billed per GB",
                        f.name
                    ),
                );
            }
        }
    }
    let prices = prices?;
    let need = |cx: &mut Ctx, field: &'static str, v: Option<f64>| -> f64 {
        v.unwrap_or_else(|| {
            cx.err_or_at(
                &root.key("pricing").key("rates").key(field),
                &p,
                format!(
                    "no `{field}` rate for region `{}`: the network charges of egress = \"{}\" are part of the bill; set it under [pricing.rates] (USD)",
                    prices.region,
                    egress.name()
                ),
            );
            f64::NAN
        })
    };
    let r = &prices.rates;
    let (public_ipv4_hour, fixed_usd_per_hour, per_gb) = match egress {
        Egress::PublicIp => (need(cx, "public_ipv4_hour", r.public_ipv4_hour), 0.0, 0.0),
        Egress::Nat { gateways } => (
            0.0,
            gateways as f64 * need(cx, "nat_gateway_hour", r.nat_gateway_hour),
            need(cx, "nat_gb", r.nat_gb),
        ),
        Egress::VpcEndpoints { endpoints, azs } => (
            0.0,
            (endpoints * azs) as f64 * need(cx, "vpc_endpoint_az_hour", r.vpc_endpoint_az_hour),
            0.0,
        ),
    };
    Some(NetworkSpec {
        egress,
        stated,
        public_ipv4_hour,
        fixed_usd_per_hour,
        per_gb,
    })
}

/// The rates of the scenario's own configuration, resolved; every missing one is an error.
fn check_rates(
    cx: &mut Ctx,
    prices: &PriceTable,
    flows: &[FlowSpec],
    strategy: &Strategy,
    worker: &TaskSize,
    discount: f64,
) -> Option<TaskRates> {
    let sizes: Vec<&TaskSize> = flows.iter().map(|f| &f.size).collect();
    let providers: Vec<Provider> = Provider::ALL
        .into_iter()
        .filter(|p| {
            flows
                .iter()
                .any(|f| f.strategy.as_ref().unwrap_or(strategy).uses(*p))
        })
        .collect();
    match crate::pricing::resolved::resolve(prices, &sizes, worker, &providers, discount) {
        Ok(r) => Some(r),
        Err(e) => {
            cx.err_or_at(
                &FieldPath::root().key("pricing").key("rates"),
                &FieldPath::root().key("region"),
                e.to_string(),
            );
            None
        }
    }
}
