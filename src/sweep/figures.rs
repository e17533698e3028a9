//! The data behind the charts, computed from a sweep (the report module only draws it).

use serde::Serialize;

use super::cells::Matrix;
use super::recommend::Recommendation;
use super::result::SweepResult;
use crate::model::Provider;
use crate::scenario::Scenario;
use crate::sim::{Detail, EventKind, Recorder, TraceEvent};

/// A candidate on the cost / reliability plane, with 95% CIs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FrontPoint {
    /// Candidate index.
    pub candidate: usize,
    /// Reliability (percent), its CI.
    pub x: f64,
    /// Lower end.
    pub x_lo: f64,
    /// Upper end.
    pub x_hi: f64,
    /// Cost per 30 days (USD), its CI.
    pub y: f64,
    /// Lower end.
    pub y_lo: f64,
    /// Upper end.
    pub y_hi: f64,
    /// Its retry policy (the chart colours by it).
    pub retry: String,
    /// Meets every objective (filled marker; hollow otherwise).
    pub feasible: bool,
}

/// An objective's limit drawn on a chart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Limit {
    /// `x` (a vertical line) or `y` (a horizontal one).
    pub axis: &'static str,
    /// Where, in the axis' unit.
    pub value: f64,
    /// In words, e.g. `max_deadline_miss 1%`.
    pub label: String,
}

/// A labelled point: the scenario's current configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Marked {
    /// In words.
    pub label: String,
    /// X, in the chart's unit.
    pub x: f64,
    /// Y, in the chart's unit.
    pub y: f64,
}

/// One deployment's panel of chart 4: its latency under each configuration, and its own
/// deadline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LatencyPanel {
    /// The deployment (flow name).
    pub deployment: String,
    /// Its deadline, minutes.
    pub deadline_minutes: Option<f64>,
    /// Its completed runs' latency CDF under each configuration, in [`Figures::latency_of`]'s
    /// order.
    pub curves: Vec<Cdf>,
}

/// Chart 1: cost vs deadline misses (or crashes).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Frontier {
    /// X axis label.
    pub x_label: String,
    /// Every candidate with ≥ 2 replications.
    pub points: Vec<FrontPoint>,
    /// Indices into `points` of the Pareto front, by cost.
    pub front: Vec<usize>,
    /// Index into `points` of the recommendation.
    pub recommended: Option<usize>,
    /// The objectives' limits on these axes.
    pub limits: Vec<Limit>,
    /// The scenario's current configuration.
    pub current: Option<Marked>,
}

/// One line of chart 2.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SavingSeries {
    /// Retry policy spec.
    pub name: String,
    /// (spot share %, saving % mean, CI low, CI high).
    pub points: Vec<(f64, f64, f64, f64)>,
    /// Per point: meets every objective.
    pub feasible: Vec<bool>,
}

/// Chart 3: histogram of monthly cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostHistogram {
    /// What one count is: "simulated months" over a 30-day horizon, else the horizon's
    /// periods ("simulated 3d periods").
    pub counted: String,
    /// Bin edges, USD per 30 days (len = bins + 1).
    pub edges: Vec<f64>,
    /// Replications of the recommendation per bin.
    pub recommended: Vec<u32>,
    /// Replications of all-on-demand per bin.
    pub on_demand: Vec<u32>,
    /// Replications of the current configuration per bin (when it is not the pick).
    pub current: Option<Vec<u32>>,
    /// The recommendation's label.
    pub label: String,
}

/// One curve of chart 4.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cdf {
    /// Name.
    pub name: String,
    /// (latency minutes, cumulative fraction).
    pub points: Vec<(f64, f64)>,
}

/// A task bar of chart 5 (hours).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bar {
    /// Row.
    pub lane: u32,
    /// Image pull start, hours.
    pub start: f64,
    /// Stop, hours.
    pub end: f64,
    /// Provider.
    pub provider: Provider,
    /// The flow's index.
    pub flow: u32,
    /// Ended by an interruption.
    pub interrupted: bool,
}

/// A marker of chart 5.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mark {
    /// Row.
    pub lane: u32,
    /// The flow's index.
    pub flow: u32,
    /// When, hours.
    pub t: f64,
    /// `interrupted`, `rescheduled`, `fallback_to_on_demand`, `capacity_failure`.
    pub kind: &'static str,
}

/// Chart 5: one simulated day of the recommendation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timeline {
    /// Task bars.
    pub bars: Vec<Bar>,
    /// Events.
    pub marks: Vec<Mark>,
    /// Rows used.
    pub lanes: u32,
    /// The flow of each row: each flow has its own rows (as many as it had tasks at once),
    /// in flow order.
    pub row_flows: Vec<u32>,
    /// The configuration, in words.
    pub label: String,
    /// Flow names, by index.
    pub flows: Vec<String>,
    /// Which simulated day it shows (from 1): the busiest of the pick's first replication.
    pub day: u64,
}

/// All chart data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    /// Chart 1: cost against the rate the objectives bind (deadline misses where any
    /// deployment has a deadline, else crashes).
    pub frontier: Frontier,
    /// Chart 1's second panel: cost against crashes, beside deadline misses.
    pub frontier_crashes: Option<Frontier>,
    /// Chart 2, for the recommendation's placement, base and checkpoint interval.
    pub saving: Vec<SavingSeries>,
    /// Per-deployment candidates on chart 2, each a marker at its share of task time on
    /// spot (%, saving %): never joined to the uniform lines.
    pub saving_per_deployment: Vec<Marked>,
    /// The current configuration on chart 2 (FARGATE_SPOT weight share %, saving %).
    pub saving_current: Option<Marked>,
    /// Chart 3.
    pub cost_histogram: Option<CostHistogram>,
    /// Chart 4: at most [`LATENCY_PANELS`] deployments, one panel each.
    pub latency: Vec<LatencyPanel>,
    /// The configurations of chart 4's curves.
    pub latency_of: Vec<String>,
    /// Which deployments chart 4 shows, in words.
    pub latency_choice: String,
    /// Chart 5: the recommendation's day, and the current configuration's when it differs.
    pub timeline: Vec<Timeline>,
}

/// The scenario's own configuration as `recommend` simulated it beside the pick.
pub(crate) struct CurrentRun<'a> {
    /// The paired comparison.
    pub current: &'a super::compare::Current,
    /// Its cost per 30 days, per replication (USD).
    pub costs_per_30d: &'a [f64],
}

/// Computes every chart's data. `scens` are the candidates' scenarios; traces of a few
/// replications are simulated here for the latency CDFs and the timelines. `base` is the
/// scenario as written: its configuration is the current one.
pub(crate) fn figures(
    base: &Scenario,
    scens: &[Scenario],
    r: &SweepResult,
    m: &Matrix,
    rec: &Recommendation,
    current: Option<&CurrentRun>,
) -> Figures {
    // the current configuration is drawn when it is not the pick itself
    let current = current.filter(|c| !c.current.same);
    let rel = r.reliability;
    let eligible: Vec<usize> = (0..r.candidates.len())
        .filter(|&i| r.candidates[i].replications >= 2)
        .collect();
    let current_label = |c: &CurrentRun| format!("current: {}", c.current.configuration);
    let panel = |rel: &str| -> Frontier {
        let points: Vec<FrontPoint> = eligible
            .iter()
            .map(|&i| {
                let mm = &r.candidates[i].metrics;
                // the rate at the reading the table shows it (where it is worst)
                let (x, _) = r.candidates[i].deciding(rel);
                let x = &x;
                let y = &mm.cost_per_30d_usd;
                FrontPoint {
                    candidate: i,
                    x: 100.0 * x.mean,
                    x_lo: 100.0 * x.ci95_low.max(0.0),
                    x_hi: 100.0 * x.ci95_high,
                    y: y.mean,
                    y_lo: y.ci95_low,
                    y_hi: y.ci95_high,
                    retry: r.candidates[i].candidate.retry.clone(),
                    feasible: r.candidates[i].feasible,
                }
            })
            .collect();
        let (x_objective, y_objective) = if rel == "deadline_miss_rate" {
            ("max_deadline_miss", "max_monthly_cost")
        } else {
            ("max_crashed", "max_monthly_cost")
        };
        let limits: Vec<Limit> = r
            .candidates
            .first()
            .map(|c| {
                c.checks
                    .iter()
                    .filter_map(|k| {
                        if k.objective == x_objective {
                            Some(Limit {
                                axis: "x",
                                value: 100.0 * k.limit,
                                label: format!(
                                    "{} {}",
                                    k.objective,
                                    super::objective::show(k.objective, k.limit)
                                ),
                            })
                        } else if k.objective == y_objective {
                            Some(Limit {
                                axis: "y",
                                value: k.limit,
                                label: format!(
                                    "{} {}",
                                    k.objective,
                                    super::objective::show(k.objective, k.limit)
                                ),
                            })
                        } else {
                            None
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let current_point = current.and_then(|c| {
            let x = c.current.row(rel)?;
            let y = c.current.row("cost_per_30d_usd")?;
            Some(Marked {
                label: current_label(c),
                x: 100.0 * x.a.mean,
                y: y.a.mean,
            })
        });
        let front = r
            .pareto
            .iter()
            .filter_map(|c| points.iter().position(|p| p.candidate == *c))
            .collect();
        let recommended = rec
            .candidate
            .and_then(|c| points.iter().position(|p| p.candidate == c));
        Frontier {
            x_label: if rel == "deadline_miss_rate" {
                "deadline misses (%)".into()
            } else {
                "runs crashed or failed (%)".into()
            },
            points,
            front,
            recommended,
            limits,
            current: current_point,
        }
    };
    let frontier = panel(rel);
    // crashes on a panel of their own when a deadline objective takes the first
    let objectives = &base.objectives;
    let frontier_crashes = (rel == "deadline_miss_rate"
        && (objectives.max_crashed.is_some() || objectives.max_deadline_miss.is_some()))
    .then(|| Frontier {
        // the sweep's Pareto front is over cost and the first panel's rate
        front: Vec::new(),
        ..panel("crash_rate")
    });

    // chart 2: lines per retry policy at the reference placement / base / checkpoint
    let reference = rec.candidate.or_else(|| eligible.first().copied());
    let mut saving = Vec::new();
    if let Some(refc) = reference {
        let rc = &r.candidates[refc].candidate;
        let mut names: Vec<String> = Vec::new();
        for c in &r.candidates {
            if !names.contains(&c.candidate.retry) {
                names.push(c.candidate.retry.clone());
            }
        }
        for name in names {
            let mut pts: Vec<((f64, f64, f64, f64), bool)> = r
                .candidates
                .iter()
                .filter(|c| {
                    // uniform candidates only: per-deployment ones are markers of their own
                    c.replications >= 2
                        && c.candidate.deployments.is_empty()
                        && c.candidate.retry == name
                        && c.candidate.placement == rc.placement
                        && c.candidate.base == rc.base
                        && c.candidate.checkpoint_every == rc.checkpoint_every
                })
                .map(|c| {
                    let s = &c.metrics.saving_fraction;
                    (
                        (
                            c.candidate.spot_share as f64,
                            100.0 * s.mean,
                            100.0 * s.ci95_low,
                            100.0 * s.ci95_high,
                        ),
                        c.feasible,
                    )
                })
                .collect();
            pts.sort_by(|a, b| a.0.0.total_cmp(&b.0.0));
            if !pts.is_empty() {
                saving.push(SavingSeries {
                    name,
                    feasible: pts.iter().map(|p| p.1).collect(),
                    points: pts.into_iter().map(|p| p.0).collect(),
                });
            }
        }
    }

    // per-deployment candidates: each at its share of task time on spot, never on a line
    let saving_per_deployment: Vec<Marked> = r
        .candidates
        .iter()
        .filter(|c| c.replications >= 2 && !c.candidate.deployments.is_empty())
        .map(|c| Marked {
            label: format!("#{} {}", c.candidate.index, c.label),
            x: 100.0 * c.metrics.spot_share.mean,
            y: 100.0 * c.metrics.saving_fraction.mean,
        })
        .collect();
    let saving_current = current.and_then(|c| {
        Some(Marked {
            label: current_label(c),
            x: 100.0 * base.launch.strategy.weight_share(Provider::FargateSpot),
            y: 100.0 * c.current.row("saving_fraction")?.a.mean,
        })
    });

    // chart 3
    let per30 = 30.0 * 86_400_000.0 / base.sim.horizon.0 as f64;
    let cost_histogram = rec.candidate.map(|c| {
        let a: Vec<f64> = m.outcomes[r.candidates[c].variant]
            .iter()
            .flatten()
            .map(|o| o.cost_usd * per30)
            .collect();
        let b: Vec<f64> = m
            .baselines
            .iter()
            .flatten()
            .map(|x| x.cost_usd * per30)
            .collect();
        let cur: &[f64] = current.map(|c| c.costs_per_30d).unwrap_or_default();
        let lo = a
            .iter()
            .chain(&b)
            .chain(cur)
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = a
            .iter()
            .chain(&b)
            .chain(cur)
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let bins = 30usize;
        let width = ((hi - lo) / bins as f64).max(1e-9);
        let edges: Vec<f64> = (0..=bins).map(|k| lo + k as f64 * width).collect();
        let count = |v: &[f64]| {
            let mut c = vec![0u32; bins];
            for x in v {
                c[(((x - lo) / width) as usize).min(bins - 1)] += 1;
            }
            c
        };
        CostHistogram {
            counted: if r.meta.horizon_ms == 30 * 86_400_000 {
                "simulated months".into()
            } else {
                format!("simulated {} periods", r.meta.horizon)
            },
            edges,
            recommended: count(&a),
            on_demand: count(&b),
            current: current.map(|c| count(c.costs_per_30d)),
            label: r.candidates[c].label.clone(),
        }
    });

    // chart 4: latency CDFs from a few replications' traces: the pick beside today (all on
    // on-demand Fargate when today is not compared or is the pick)
    let mut chosen: Vec<(String, Scenario)> = Vec::new();
    if let Some(c) = rec.candidate {
        chosen.push(("the pick".into(), scens[r.candidates[c].variant].clone()));
    }
    match current.filter(|c| !c.current.same) {
        Some(_) => chosen.push(("today".into(), base.clone())),
        None => chosen.push(("all on on-demand Fargate".into(), base.all_on_demand())),
    }
    // each configuration's completed runs, per deployment, from a few replications' traces
    let per_flow: Vec<Vec<Vec<f64>>> = chosen
        .iter()
        .map(|(_, s)| {
            let mut lat: Vec<Vec<f64>> = vec![Vec::new(); base.flows.len()];
            for rep in 0..5 {
                let mut rec = Recorder::default();
                crate::sim::run(s, rep, &mut rec);
                for e in &rec.events {
                    if let Detail::Completed { latency_ms } = e.detail
                        && let Some(v) = lat.get_mut(e.flow as usize)
                    {
                        v.push(latency_ms as f64 / 60_000.0);
                    }
                }
            }
            for v in &mut lat {
                v.sort_by(f64::total_cmp);
            }
            lat
        })
        .collect();
    let (shown, latency_choice) = latency_panels(base, per_flow.first());
    let latency = shown
        .iter()
        .map(|&f| LatencyPanel {
            deployment: base.flows[f].name.clone(),
            deadline_minutes: base.flows[f].deadline.map(|d| d.0 as f64 / 60_000.0),
            curves: chosen
                .iter()
                .zip(&per_flow)
                .map(|((name, _), lat)| Cdf {
                    name: name.clone(),
                    points: cdf_points(&lat[f]),
                })
                .collect(),
        })
        .collect();
    let latency_of = chosen.iter().map(|(n, _)| n.clone()).collect();

    let flow_names: Vec<String> = base.flows.iter().map(|f| f.name.clone()).collect();
    // the day of the pick's first replication with most events (interruptions, reschedules,
    // fallbacks, capacity failures, crashes), the same day for today's configuration
    let trace = |s: &Scenario| {
        let mut recd = Recorder::default();
        crate::sim::run(s, 0, &mut recd);
        recd.events
    };
    let mut timeline = Vec::new();
    if let Some(c) = rec.candidate {
        let pick = trace(&scens[r.candidates[c].variant]);
        let today = current.map(|_| trace(base));
        let day = busiest_day(&pick, base.sim.horizon.0);
        let mut t = timeline_of(&pick, day);
        t.label = format!("the pick: {}", r.candidates[c].label);
        t.flows = flow_names.clone();
        t.day = day + 1;
        timeline.push(t);
        if let (Some(cur), Some(events)) = (current, today) {
            let mut t = timeline_of(&events, day);
            t.label = current_label(cur);
            t.flows = flow_names.clone();
            t.day = day + 1;
            timeline.push(t);
        }
    }
    Figures {
        frontier,
        frontier_crashes,
        saving,
        cost_histogram,
        latency,
        latency_of,
        latency_choice,
        timeline,
        saving_current,
        saving_per_deployment,
    }
}

/// A task open on the timeline: (flow, run, attempt), pull start ms, provider, row.
type OpenTask = ((u32, u64, u32), u64, Provider, u32);

/// Lays the first day's tasks of a trace out on rows (first free row), with their events.
pub(crate) fn timeline_of(events: &[TraceEvent], day: u64) -> Timeline {
    const DAY: u64 = 86_400_000;
    let (from, to) = (day * DAY, (day + 1) * DAY);
    // hours into the day (a task placed the day before starts at 0)
    let h = |ms: u64| ms.saturating_sub(from) as f64 / 3_600_000.0;
    // (flow, run, attempt) → placed pull start
    let mut open: Vec<OpenTask> = Vec::new();
    // per flow: when each of its rows is free again (rows are numbered within the flow
    // here, and across flows at the end)
    let mut lane_free: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
    let mut bars = Vec::new();
    let mut marks = Vec::new();
    let mut interrupted: Vec<(u32, u64, u32)> = Vec::new();
    for e in events.iter().filter(|e| e.t_ms < to) {
        let key = (e.flow, e.run, e.attempt);
        let today = e.t_ms >= from;
        let lane_of = |open: &[OpenTask]| {
            open.iter()
                .rev()
                .find(|o| o.0.0 == e.flow && o.0.1 == e.run)
                .map(|o| o.3)
                .unwrap_or(0)
        };
        match (e.kind, e.detail) {
            (EventKind::Placed, Detail::Placed { pull_start_ms, .. }) => {
                let start = pull_start_ms;
                let free = lane_free.entry(e.flow).or_default();
                let lane = match free.iter().position(|&f| f <= e.t_ms) {
                    Some(l) => l,
                    None => {
                        free.push(0);
                        free.len() - 1
                    }
                };
                free[lane] = u64::MAX;
                open.push((
                    key,
                    start,
                    e.provider.unwrap_or(Provider::Fargate),
                    lane as u32,
                ));
            }
            (EventKind::Stopped, _) => {
                if let Some(k) = open.iter().position(|o| o.0 == key) {
                    let (_, start, provider, lane) = open.remove(k);
                    if let Some(free) = lane_free.get_mut(&e.flow) {
                        free[lane as usize] = e.t_ms;
                    }
                    if !today {
                        continue; // over before the day began
                    }
                    bars.push(Bar {
                        lane,
                        start: h(start),
                        end: h(e.t_ms),
                        provider,
                        flow: key.0,
                        interrupted: interrupted.contains(&key),
                    });
                }
            }
            (EventKind::Interrupted, _) => {
                interrupted.push(key);
                if !today {
                    continue;
                }
                marks.push(Mark {
                    lane: lane_of(&open),
                    flow: e.flow,
                    t: h(e.t_ms),
                    kind: "interrupted",
                });
            }
            (kind, _) if today => {
                let kind = match kind {
                    EventKind::Crashed => "crashed",
                    EventKind::Rescheduled => "rescheduled",
                    EventKind::FallbackToOnDemand => "fallback_to_on_demand",
                    EventKind::CapacityFailure => "capacity_failure",
                    _ => continue,
                };
                marks.push(Mark {
                    lane: lane_of(&open),
                    flow: e.flow,
                    t: h(e.t_ms),
                    kind,
                });
            }
            _ => {}
        }
    }
    // tasks still running at the end of the day
    for (key, start, provider, lane) in open {
        bars.push(Bar {
            lane,
            start: h(start),
            end: 24.0,
            provider,
            flow: key.0,
            interrupted: false,
        });
    }
    // every flow with a mark has a row, then rows are numbered flow after flow
    for m in &marks {
        let free = lane_free.entry(m.flow).or_default();
        if free.is_empty() {
            free.push(0);
        }
    }
    let mut offset = std::collections::BTreeMap::new();
    let mut row_flows = Vec::new();
    for (flow, free) in &lane_free {
        offset.insert(*flow, row_flows.len() as u32);
        row_flows.extend(std::iter::repeat_n(*flow, free.len()));
    }
    for b in &mut bars {
        b.lane += offset[&b.flow];
    }
    for m in &mut marks {
        m.lane += offset[&m.flow];
    }
    Timeline {
        lanes: row_flows.len() as u32,
        row_flows,
        bars,
        marks,
        label: String::new(),
        flows: Vec::new(),
        day: day + 1,
    }
}

/// Chart 4 shows at most this many deployments.
pub(crate) const LATENCY_PANELS: usize = 12;

/// The deployments chart 4 shows, and the choice in words: all of them up to
/// [`LATENCY_PANELS`]; beyond, those closest to their deadline (p95 latency under the first
/// configuration over the deadline), then those without one by p95 latency.
fn latency_panels(base: &Scenario, first: Option<&Vec<Vec<f64>>>) -> (Vec<usize>, String) {
    let n = base.flows.len();
    if n <= LATENCY_PANELS {
        return ((0..n).collect(), "every deployment".into());
    }
    // a deployment with no completed run has nothing to draw: it comes last of its kind
    let p95_of = |f: usize| {
        first
            .map(|l| crate::stats::quantile_sorted(&l[f], 0.95))
            .filter(|x| x.is_finite())
            .unwrap_or(f64::NEG_INFINITY)
    };
    let mut order: Vec<(usize, bool, f64)> = (0..n)
        .map(|f| match base.flows[f].deadline {
            Some(d) => (f, true, p95_of(f) / (d.0 as f64 / 60_000.0).max(1e-9)),
            None => (f, false, p95_of(f)),
        })
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)));
    let mut shown: Vec<usize> = order.iter().take(LATENCY_PANELS).map(|x| x.0).collect();
    shown.sort_unstable();
    (
        shown,
        format!(
            "the {LATENCY_PANELS} of {n} deployments closest to their deadline (p95 latency over \
             the deadline), then the slowest without one"
        ),
    )
}

/// A CDF's points from sorted latencies: at most about 400, and the last.
fn cdf_points(lat: &[f64]) -> Vec<(f64, f64)> {
    let n = lat.len().max(1) as f64;
    let step = (lat.len() / 400).max(1);
    let mut points: Vec<(f64, f64)> = lat
        .iter()
        .enumerate()
        .step_by(step)
        .map(|(k, &x)| (x, (k + 1) as f64 / n))
        .collect();
    if let Some(&last) = lat.last() {
        points.push((last, 1.0));
    }
    points
}

/// The day (from 0) with most events that change a run's course (interruptions, reschedules,
/// fallbacks, capacity failures, crashes) in `events`; the earliest of equals, day 0 when
/// there is none.
pub(crate) fn busiest_day(events: &[TraceEvent], horizon_ms: u64) -> u64 {
    const DAY: u64 = 86_400_000;
    let days = horizon_ms.div_ceil(DAY).max(1);
    let mut count = vec![0u32; days as usize];
    for e in events {
        if matches!(
            e.kind,
            EventKind::Interrupted
                | EventKind::Rescheduled
                | EventKind::FallbackToOnDemand
                | EventKind::CapacityFailure
                | EventKind::Crashed
        ) && let Some(c) = count.get_mut((e.t_ms / DAY) as usize)
        {
            *c += 1;
        }
    }
    let best = count.iter().copied().max().unwrap_or(0);
    count.iter().position(|&c| c == best).unwrap_or(0) as u64
}
