//! The workload: each `[[flow]]`, its schedule, duration distributions, Prefect 1 tasks and
//! image size.

use std::sync::Arc;

use super::capacity::{SizeFields, size, strategy};
use super::context::{Ctx, DEFAULT_START_UNIX_MS};
use crate::model::{Dist, Rate, SimTime};
use crate::scenario::engine_startup::{EngineStartup, StartupSource};
use crate::scenario::error::FieldPath;
use crate::scenario::file::*;
use crate::scenario::types::*;

pub(super) fn dist(cx: &mut Ctx, d: &StringOr<DistFile>, p: &FieldPath) -> Option<Dist> {
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
        // the range where the quantiles the deadline rule asks for are computed reliably and
        // fast (statrs' inverse CDF iterates; at a shape of 1.8e19 it never returned); outside
        // it the distribution is not what anyone means: CV 10 (shape 0.01) or below 1%
        // (shape 10000, for which `fixed` is the same)
        if !(g.shape.is_finite() && (GAMMA_SHAPE.0..=GAMMA_SHAPE.1).contains(&g.shape)) {
            cx.err(
                &gp.key("shape"),
                format!(
                    "`{}` is outside {}–{} (a coefficient of variation from 10 down to 1%; for less \
                     spread use `fixed`)",
                    g.shape, GAMMA_SHAPE.0, GAMMA_SHAPE.1
                ),
            );
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

/// The gamma shapes accepted: coefficients of variation from 10 to 1%.
pub const GAMMA_SHAPE: (f64, f64) = (0.01, 10_000.0);

/// Reads one column of times from CSV text: the column named `column` if there is a header,
/// else the first. Values are human durations, plain seconds, or (if `allow_instants`)
/// RFC 3339 instants taken relative to `start_unix_ms`.
pub(super) fn read_time_column(
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

pub(super) fn schedule(
    cx: &mut Ctx,
    s: &ScheduleFile,
    p: &FieldPath,
    start_unix_ms: i64,
) -> Option<Schedule> {
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

pub(super) fn flow(
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
    let engine = engine_startup(cx, f, p, size.as_ref().map(|s| s.cpu));
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
    let objectives = f.objectives.as_ref().map(|o| {
        let at = p.key("objectives");
        if o.confidence.is_some() {
            cx.err(
                &at.key("confidence"),
                "the confidence is platform-wide: set it under [objectives]",
            );
        }
        if o.max_deadline_miss.is_some() && f.deadline.is_none() {
            cx.err(
                &at.key("max_deadline_miss"),
                format!("flow `{}` has no `deadline` to miss", f.name),
            );
        }
        let v = super::grid::objectives(cx, o, &at);
        DeploymentObjectives {
            max_deadline_miss: v.max_deadline_miss,
            max_crashed: v.max_crashed,
            max_p95_latency_ms: v.max_p95_latency_ms,
            max_monthly_cost: v.max_monthly_cost,
        }
    });
    let image_registry = match f.image_registry.as_deref() {
        None => (ImageRegistry::Ecr, false),
        Some("ecr") => (ImageRegistry::Ecr, true),
        Some("other") => (ImageRegistry::Other, true),
        Some(other) => {
            cx.err(
                &p.key("image_registry"),
                format!("`{other}` is not an image registry; allowed: `ecr` (this region's Amazon ECR), `other`"),
            );
            (ImageRegistry::Other, true)
        }
    };
    let sigterm = match f.sigterm.as_deref() {
        None => (Sigterm::Init, false),
        Some("init") => (Sigterm::Init, true),
        Some("exec-no-init") => (Sigterm::ExecNoInit, true),
        Some("shell") => (Sigterm::Shell, true),
        Some(other) => {
            let names = ["init", "exec-no-init", "shell"];
            cx.err(
                &p.key("sigterm"),
                format!(
                    "`{other}` is not a SIGTERM mode{}; allowed: `init`, `exec-no-init`, `shell`",
                    crate::scenario::retry::grammar::did_you_mean(other, &names)
                ),
            );
            (Sigterm::Init, true)
        }
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
        image_registry,
        objectives,
        engine: engine?,
        sigterm,
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

pub(super) fn flow_tasks(cx: &mut Ctx, t: &TasksFile, p: &FieldPath) -> Option<FlowTasks> {
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
        persisted_results: t.persisted_results.unwrap_or(true),
        persisted_stated: t.persisted_results.is_some(),
    })
}

/// An image size (`"1.2 GB"`, `"800 MB"`, `"1.5 GiB"`) in GB (10^9 bytes, as data transfer
/// is billed), 1 MB to 100 GB.
pub(super) fn parse_image_gb(text: &str) -> Result<f64, String> {
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

/// The engine start-up: both parts stated, a total split, or the measured defaults at the
/// flow's CPU size (see [`crate::scenario::engine_startup`]).
fn engine_startup(
    cx: &mut Ctx,
    f: &FlowSection,
    p: &FieldPath,
    cpu: Option<crate::model::Cpu>,
) -> Option<EngineStartup> {
    let parts = (&f.engine_unprotected, &f.flow_loading);
    if let Some(total) = &f.engine_startup {
        if parts.0.is_some() || parts.1.is_some() {
            cx.err(
                &p.key("engine_startup"),
                "give either `engine_startup` (the total) or `engine_unprotected` and \
                 `flow_loading`, not both",
            );
            return None;
        }
        return cx
            .dur(&p.key("engine_startup"), total)
            .map(EngineStartup::split);
    }
    let measured = EngineStartup::measured(cpu?);
    match parts {
        (None, None) => Some(measured),
        (Some(u), Some(l)) => {
            let unprotected = cx.dur(&p.key("engine_unprotected"), u);
            let loading = cx.dur(&p.key("flow_loading"), l);
            Some(EngineStartup {
                unprotected: unprotected?,
                loading: loading?,
                source: StartupSource::Stated,
            })
        }
        (Some(_), None) | (None, Some(_)) => {
            cx.err(
                &p.key(if parts.0.is_some() {
                    "flow_loading"
                } else {
                    "engine_unprotected"
                }),
                "give `engine_unprotected` and `flow_loading` together (or `engine_startup`, \
                 the total): the measured default of one part does not fit another's image",
            );
            None
        }
    }
}
