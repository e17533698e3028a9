//! Two configurations of the same workload on common random numbers: per-replication paired
//! differences (B − A) with their 95% intervals, which are much tighter than the difference of
//! two independent intervals because both sides saw the same arrivals, work and luck.

use serde::Serialize;

use super::Stat;
use super::summary::Replication;

/// One metric of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Paired {
    /// Stable name, e.g. `cost_per_30d_usd`.
    pub metric: &'static str,
    /// In words.
    pub label: &'static str,
    /// `USD`, `fraction` or `s`.
    pub unit: &'static str,
    /// Over A's replications.
    pub a: Stat,
    /// Over B's replications.
    pub b: Stat,
    /// Over the paired differences B − A.
    pub b_minus_a: Stat,
}

impl Paired {
    /// Whether the interval of the difference excludes 0.
    pub fn clear(&self) -> bool {
        self.b_minus_a.n > 1 && (self.b_minus_a.ci95_low > 0.0 || self.b_minus_a.ci95_high < 0.0)
    }

    /// A value of this metric for people: a percentage, a duration, a number.
    pub fn show(&self, v: f64) -> String {
        crate::units::in_unit(self.unit, v)
    }

    /// The paired difference B − A with its interval, signed: `+0.25 [+0.23, +0.28]`
    /// (percentage differences are in points).
    pub fn difference(&self) -> String {
        let signed = |v: f64| {
            let s = self.show(v);
            if v > 0.0 {
                format!("+{s}")
            } else if v < 0.0 && !s.starts_with('-') {
                format!("-{s}")
            } else {
                s
            }
        };
        let d = &self.b_minus_a;
        format!(
            "{} [{}, {}]",
            signed(d.mean),
            signed(d.ci95_low),
            signed(d.ci95_high)
        )
    }
}

/// The metrics compared, each read from one replication.
type Metric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Replication, f64) -> f64,
);

const METRICS: [Metric; 6] = [
    ("cost_per_30d_usd", "cost per 30 days", "USD", |r, per30| {
        r.outcome.cost_usd * per30
    }),
    (
        "saving_fraction",
        "saving vs all on demand",
        "fraction",
        |r, _| r.saving_fraction(),
    ),
    ("crash_rate", "crashed or failed", "fraction", |r, _| {
        r.outcome.crash_rate()
    }),
    (
        "deadline_miss_rate",
        "deadline misses",
        "fraction",
        |r, _| r.outcome.deadline_miss_rate(),
    ),
    ("latency_p95_s", "latency p95", "s", |r, _| {
        r.outcome.latency_p95_ms as f64 / 1000.0
    }),
    (
        "spot_share",
        "spot share of task time",
        "fraction",
        |r, _| r.outcome.spot_share(),
    ),
];

/// With a Savings Plan, the cost once its term has ended (at on-demand rates, no commitment).
const AFTER_TERM: Metric = (
    "cost_after_term_per_30d_usd",
    "cost per 30 days after the plan's term",
    "USD",
    |r, per30| r.outcome.cost_without_plan_usd * per30,
);

/// Paired differences of `b` against `a`, replication by replication (same seed, same
/// replication numbers); `per30` scales a horizon's cost to 30 days. With a Savings Plan
/// (`plan`), the cost after its term too.
pub(crate) fn paired(a: &[Replication], b: &[Replication], per30: f64, plan: bool) -> Vec<Paired> {
    let n = a.len().min(b.len());
    let after: &[Metric] = if plan { &[AFTER_TERM] } else { &[] };
    METRICS
        .iter()
        .chain(after)
        .map(|(metric, label, unit, f)| {
            let va: Vec<f64> = a[..n].iter().map(|r| f(r, per30)).collect();
            let vb: Vec<f64> = b[..n].iter().map(|r| f(r, per30)).collect();
            let d: Vec<f64> = va.iter().zip(&vb).map(|(x, y)| y - x).collect();
            Paired {
                metric,
                label,
                unit,
                a: Stat::of(&va),
                b: Stat::of(&vb),
                b_minus_a: Stat::of(&d),
            }
        })
        .collect()
}

/// The scenario's own configuration under one placement reading.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurrentReading {
    /// The reading.
    pub placement: String,
    /// Cost per 30 days, USD.
    pub cost_per_30d_usd: Stat,
    /// Spot share of task time.
    pub spot_share: Stat,
    /// Crashed-or-failed rate.
    pub crash_rate: Stat,
    /// Deadline-miss rate.
    pub deadline_miss_rate: Stat,
}

impl CurrentReading {
    /// The figures of `reps` under `placement`.
    pub(crate) fn of(placement: &str, reps: &[Replication], per30: f64) -> CurrentReading {
        let col =
            |f: &dyn Fn(&Replication) -> f64| Stat::of(&reps.iter().map(f).collect::<Vec<_>>());
        CurrentReading {
            placement: placement.to_string(),
            cost_per_30d_usd: col(&|r| r.outcome.cost_usd * per30),
            spot_share: col(&|r| r.outcome.spot_share()),
            crash_rate: col(&|r| r.outcome.crash_rate()),
            deadline_miss_rate: col(&|r| r.outcome.deadline_miss_rate()),
        }
    }
}

/// The scenario's own configuration beside the recommendation, on common random numbers,
/// judged like a candidate: under every placement reading its placement model allows, and
/// compared at its costliest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Current {
    /// The scenario's strategy, retry policy and placement model, in words.
    pub configuration: String,
    /// Whether the recommendation is that same configuration (every flow's strategy, retry
    /// policy and checkpoint interval).
    pub same: bool,
    /// Its figures under each distinct reading.
    pub readings: Vec<CurrentReading>,
    /// The costliest reading: the one `rows` compare against.
    pub worst_reading: String,
    /// A = current under its costliest reading, B = recommended.
    pub rows: Vec<Paired>,
    /// Whether the current configuration meets every objective (and the deployment guard)
    /// under every reading.
    pub feasible: bool,
    /// The change's saving per 30 days, one-sided 95% lower bound of the paired difference.
    pub saving_lower_usd: f64,
    /// What a change must save at least to be worth making, USD per 30 days: the larger of
    /// the stated share of today's whole bill and the stated floor.
    pub material_usd: f64,
    /// Keep the current configuration: it is feasible and the change is not material.
    pub keep: bool,
    /// Why, per deployment: today against the pick (means over the same replications).
    pub deployments: Vec<DeploymentRow>,
    /// The network options, billed on the pick's runs (today's when there is no pick).
    pub network: Vec<super::network::NetworkOption>,
    /// Today's bill by component at its costliest reading, USD per 30 days (means), in
    /// [`super::Metrics::bill`]'s order.
    pub bill_per_30d_usd: Vec<BillPart>,
    /// Today's objectives, each at the reading where its upper bound is highest (the limits,
    /// means and bounds): how today is judged.
    pub checks: Vec<super::objective::Check>,
    /// What today misses, under any reading (its objectives, the deployment guard, the
    /// deployments' own objectives): empty when it is feasible.
    pub misses: Vec<String>,
    /// How sure the pick is: the pick and today's configuration again at each end of the
    /// inputs users know least ([`super::sensitivity`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sensitivity: Vec<super::sensitivity::Sensitivity>,
}

/// One component of a bill, USD per 30 days.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BillPart {
    /// `worker`, `flows on FARGATE`, … ([`super::Metrics::bill`]).
    pub part: &'static str,
    /// USD per 30 days (mean over replications).
    pub usd: f64,
}

impl BillPart {
    /// The parts of `m`'s bill, per 30 days (`per30`: the horizon to 30 days).
    pub fn of(m: &super::Metrics, per30: f64) -> Vec<BillPart> {
        m.bill()
            .into_iter()
            .map(|(part, usd)| BillPart {
                part,
                usd: usd * per30,
            })
            .collect()
    }
}

/// One deployment today (the current configuration at its costliest reading) and under the
/// pick.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeploymentRow {
    /// The deployment (flow name).
    pub deployment: String,
    /// Its strategy and retry policy today.
    pub today: String,
    /// Under the pick.
    pub pick: String,
    /// Its tasks' cost per 30 days, USD: today, under the pick.
    pub cost_per_30d_usd: [f64; 2],
    /// Crashed-or-failed rate: today, under the pick.
    pub crash_rate: [f64; 2],
    /// Deadline-miss rate (0 without a deadline): today, under the pick.
    pub deadline_miss_rate: [f64; 2],
}

/// Each deployment's figures in `a` (today) and `b` (the pick).
fn deployment_rows(
    s: &crate::scenario::Scenario,
    pick: &crate::scenario::Scenario,
    a: &[Replication],
    b: &[Replication],
    per30: f64,
) -> Vec<DeploymentRow> {
    let n = a.len().min(b.len()).max(1) as f64;
    let how = |x: &crate::scenario::Scenario, f: usize| {
        let mut o = format!(
            "{} · {}",
            x.strategy_of(f),
            crate::scenario::spec::retry_spec(x.retry_of(f))
        );
        if let Some(c) = x.flows[f].checkpoint {
            o.push_str(&format!(" · ckpt {}", c.every));
        }
        o
    };
    let mean = |reps: &[Replication], f: usize, g: &dyn Fn(&crate::sim::FlowOutcome) -> f64| {
        reps.iter().map(|r| g(&r.outcome.flows[f])).sum::<f64>() / n
    };
    let rate = |x: u64, of: u64| if of == 0 { 0.0 } else { x as f64 / of as f64 };
    (0..s.flows.len())
        .map(|f| {
            let both = |g: &dyn Fn(&crate::sim::FlowOutcome) -> f64| [mean(a, f, g), mean(b, f, g)];
            DeploymentRow {
                deployment: s.flows[f].name.clone(),
                today: how(s, f),
                pick: how(pick, f),
                cost_per_30d_usd: both(&|x| x.cost_usd * per30),
                crash_rate: both(&|x| rate(x.crashed_or_failed, x.runs)),
                deadline_miss_rate: both(&|x| rate(x.deadline_misses, x.deadline_runs)),
            }
        })
        .collect()
}

/// What a change must save to be worth making: a share of today's whole bill and a floor in
/// USD per 30 days (`--materiality 0.01,1`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Materiality {
    /// Share of the current bill (worker and network included).
    pub share: f64,
    /// USD per 30 days.
    pub floor_usd: f64,
}

impl Default for Materiality {
    fn default() -> Self {
        Materiality {
            share: 0.01,
            floor_usd: 1.0,
        }
    }
}

impl Current {
    /// The row of `metric`.
    pub fn row(&self, metric: &str) -> Option<&Paired> {
        self.rows.iter().find(|r| r.metric == metric)
    }
}

/// The scenario's own configuration beside the pick (candidate `pick` of `run`, if any; with
/// none the rows are empty), under every
/// reading of its placement model, on the same replications; with the current
/// configuration's cost per 30 days in each replication of its costliest reading. A reading
/// the sweep already ran in full (the same configuration as one of its variants, as an
/// all-on-demand scenario is the grid's 0% candidate) is read from the matrix, not
/// simulated again.
pub fn current(
    s: &crate::scenario::Scenario,
    run: &super::job::SweepRun,
    pick: Option<usize>,
    materiality: Materiality,
) -> (Current, Vec<f64>) {
    // judged as the sweep judged its candidates: deployment objectives all on demand misses
    let mut judged = s.clone();
    judged.objectives.unreachable = run.result.meta.objectives.unreachable.clone();
    let s = &judged;
    let m = &run.matrix;
    let n = m.replications as usize;
    let kept = |v: usize| -> Option<Vec<Replication>> {
        let r = m.replications_of(v);
        (r.len() == n).then_some(r)
    };
    let picked = pick.map(|i| run.result.candidates[i].variant);
    let b = picked.map(|v| {
        kept(v).unwrap_or_else(|| super::replicate(&run.scenarios[v], m.replications, &|| {}))
    });
    let strategies: Vec<&crate::model::Strategy> =
        (0..s.flows.len()).map(|f| s.strategy_of(f)).collect();
    let per30 = 30.0 * crate::model::SimTime::DAY.0 as f64 / s.sim.horizon.0.max(1) as f64;
    let mut worst: Option<(f64, Vec<Replication>, String, super::Metrics)> = None;
    let mut readings = Vec::new();
    let mut checks: Vec<super::objective::Check> = Vec::new();
    let mut misses: Vec<String> = Vec::new();
    for p in s.readings() {
        let mut cur = s.clone();
        cur.sim.placement = p;
        let same_row = run.scenarios.iter().position(|v| {
            v.same_configuration(&cur) && strategies.iter().all(|st| p.same_as(v.sim.placement, st))
        });
        let a = same_row
            .and_then(kept)
            .unwrap_or_else(|| super::replicate(&cur, m.replications, &|| {}));
        let r = CurrentReading::of(p.name(), &a, per30);
        // judged once per reading: what it misses, and each objective at the reading where
        // it is furthest from its limit
        let here = super::metrics_of(&cur, &a);
        let cs = super::objective::checks(&here, &s.objectives, s.objectives.confidence);
        for miss in misses_of(&cur, &a, &cs) {
            if !misses.contains(&miss) {
                misses.push(miss);
            }
        }
        for c in cs {
            match checks
                .iter_mut()
                .find(|x: &&mut super::objective::Check| x.objective == c.objective)
            {
                Some(x) if c.upper > x.upper => *x = c,
                Some(_) => {}
                None => checks.push(c),
            }
        }
        if worst.as_ref().is_none_or(|w| r.cost_per_30d_usd.mean > w.0) {
            worst = Some((r.cost_per_30d_usd.mean, a, p.name().to_string(), here));
        }
        readings.push(r);
    }
    let feasible = misses.is_empty();
    let (bill, a, worst_reading, today) =
        worst.unwrap_or_else(|| (0.0, Vec::new(), String::new(), super::metrics_of(s, &[])));
    let costs = a.iter().map(|x| x.outcome.cost_usd * per30).collect();
    let deployments = match (&b, picked) {
        (Some(b), Some(v)) => deployment_rows(s, &run.scenarios[v], &a, b, per30),
        _ => Vec::new(),
    };
    let network = match (&b, picked) {
        (Some(b), Some(v)) => super::network::options(&run.scenarios[v], b),
        _ => super::network::options(s, &a),
    };
    let rows = b
        .map(|b| paired(&a, &b, per30, s.savings_plan.is_some()))
        .unwrap_or_default();
    let same = picked.is_some_and(|v| s.same_configuration(&run.scenarios[v]));
    // the saving B − A is negative when B saves: its lower bound is −upper(B − A)
    let saving_lower_usd = rows
        .iter()
        .find(|r| r.metric == "cost_per_30d_usd")
        .map(|r| -r.b_minus_a.upper(0.95))
        .unwrap_or(0.0);
    let material_usd = (materiality.share * bill).max(materiality.floor_usd);
    let configuration = format!(
        "{} · {} · placement {}",
        s.launch.strategy,
        crate::scenario::spec::retry_spec(&s.retry),
        s.sim.placement_spec
    );
    (
        Current {
            configuration,
            same,
            readings,
            worst_reading,
            keep: feasible && picked.is_some() && !same && saving_lower_usd < material_usd,
            rows,
            feasible,
            saving_lower_usd,
            material_usd,
            deployments,
            network,
            bill_per_30d_usd: BillPart::of(&today, per30),
            checks,
            misses,
            sensitivity: Vec::new(),
        },
        costs,
    )
}

/// What `s` misses in `reps`, as a candidate's reading is judged: its objectives, the
/// deployment guard, the deployments' own objectives (empty: it meets them all).
pub(crate) fn judged_misses(s: &crate::scenario::Scenario, reps: &[Replication]) -> Vec<String> {
    let o = &s.objectives;
    if reps.len() < 2 {
        return vec!["too few replications".into()];
    }
    let m = super::metrics_of(s, reps);
    misses_of(s, reps, &super::objective::checks(&m, o, o.confidence))
}

/// [`judged_misses`] given the objectives already checked on `reps`.
fn misses_of(
    s: &crate::scenario::Scenario,
    reps: &[Replication],
    checks: &[super::objective::Check],
) -> Vec<String> {
    let o = &s.objectives;
    if reps.len() < 2 {
        return vec!["too few replications".into()];
    }
    let mut out: Vec<String> = checks
        .iter()
        .filter(|c| !c.met())
        .map(|c| {
            format!(
                "{} (upper bound {} > {})",
                c.objective,
                super::objective::show(c.objective, c.upper),
                super::objective::show(c.objective, c.limit)
            )
        })
        .collect();
    if let Some(l) = o.deployment_guard {
        for g in super::objective::guard_misses(s, reps, l, o.confidence) {
            out.push(format!("the deployment guard (`{}`)", g.deployment));
        }
    }
    for g in super::objective::deployment_objective_misses(s, reps, o.confidence) {
        out.push(format!("`{}`'s own {}", g.deployment, g.metric));
    }
    out
}
