//! `[cluster]`, strategies, task sizes, `[worker]` and what RunTask is sent with (the launch).

use std::collections::BTreeSet;

use super::context::Ctx;
use crate::model::size::{
    VALID_CPUS, describe_memory_for_cpu, parse_cpu_text, parse_memory_text, valid_memory_for_cpu,
};
use crate::model::{
    Architecture, Cpu, Memory, OperatingSystem, Provider, Strategy, StrategyItem, TaskSize,
};
use crate::scenario::error::FieldPath;
use crate::scenario::file::*;
use crate::scenario::types::*;

pub(super) fn cluster(cx: &mut Ctx, c: &ClusterSection, p: &FieldPath) -> Option<ClusterSpec> {
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
pub(super) fn strategy(
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
pub(super) struct SizeFields<'a> {
    pub(super) cpu: Option<&'a NumOrText>,
    pub(super) memory: Option<&'a NumOrText>,
    pub(super) default: (u32, u32),
    pub(super) arch: Option<&'a str>,
    pub(super) os: Option<&'a str>,
    pub(super) storage: Option<u32>,
}

pub(super) fn size(cx: &mut Ctx, p: &FieldPath, f: SizeFields) -> Option<TaskSize> {
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

pub(super) fn worker(cx: &mut Ctx, w: &WorkerSection, p: &FieldPath) -> Option<WorkerSpec> {
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
pub(super) fn launch(
    cx: &mut Ctx,
    f: &ScenarioFile,
    c: &ClusterSpec,
    kind: WorkerKind,
) -> Option<Launch> {
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
