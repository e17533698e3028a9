//! The decision in plain words, for the page a manager reads: the headline (what to do, what it
//! saves, what it risks), the options side by side, the deployments the pick changes, the
//! bill by component, the objectives with their limits. Computed here from the sweep, the
//! recommendation and today's configuration; `report::html` only lays it out.

use serde::Serialize;

use super::compare::{BillPart, Current};
use super::job::SweepRun;
use super::recommend::Recommendation;
use crate::model::Provider;
use crate::scenario::Scenario;
use crate::units::{money, pct};

/// One option beside the others (today, the pick, the insurance option).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OptionColumn {
    /// `today`, `the pick`, `insurance`.
    pub name: &'static str,
    /// The configuration in plain words.
    pub words: String,
    /// Cost per 30 days, USD (mean).
    pub cost_per_30d_usd: f64,
    /// Crashed-or-failed rate (mean).
    pub crash_rate: f64,
    /// Deadline-miss rate (mean), where any deployment has a deadline.
    pub deadline_miss_rate: Option<f64>,
    /// Latency p95, s (mean; unknown for today without a pick to pair it with).
    pub latency_p95_s: Option<f64>,
    /// Share of task time on FARGATE_SPOT (mean).
    pub spot_share: f64,
    /// Whether it meets every objective under every reading.
    pub meets_objectives: bool,
}

/// A deployment the pick changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The deployment.
    pub deployment: String,
    /// Today, in plain words.
    pub today: String,
    /// Under the pick, in plain words.
    pub pick: String,
    /// What it saves per 30 days, USD (negative: costs more).
    pub saving_per_30d_usd: f64,
    /// Crashed-or-failed rate: today, under the pick.
    pub crash_rate: [f64; 2],
    /// Deadline-miss rate, today and under the pick, where it has a deadline.
    pub deadline_miss_rate: Option<[f64; 2]>,
}

/// One bar of the bill by component.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bill {
    /// `today`, `the pick`, `the pick with …`.
    pub label: String,
    /// Its parts (see [`Decision::BILL_PARTS`]), USD per 30 days.
    pub parts: Vec<BillPart>,
}

impl Bill {
    /// The whole bar, USD per 30 days.
    pub fn total(&self) -> f64 {
        self.parts.iter().map(|p| p.usd).sum()
    }
}

/// An objective and its limit, for today and the pick.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectiveRow {
    /// `max_crashed`, `max_deadline_miss`, `max_p95_latency`, `max_monthly_cost`.
    pub objective: &'static str,
    /// In plain words.
    pub words: &'static str,
    /// The limit, in its unit.
    pub limit: String,
    /// Today's one-sided upper bound, in its unit, and whether it is within the limit.
    pub today: Option<(String, bool)>,
    /// The pick's, likewise.
    pub pick: Option<(String, bool)>,
    /// The objective that binds the pick (nearest its limit).
    pub binds: bool,
}

/// The decision, for people.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    /// Line one: what to do, in money and plain words.
    pub headline: String,
    /// Further lines: levers that save more or beside it (the network, a code change).
    pub also: Vec<String>,
    /// Today, the pick and the insurance option, side by side.
    pub options: Vec<OptionColumn>,
    /// The deployments the pick changes, largest saving first.
    pub changed: Vec<Change>,
    /// How many deployments it leaves as they are.
    pub unchanged: usize,
    /// The bill by component: today, the pick, the pick with the network lever.
    pub bills: Vec<Bill>,
    /// The objectives with their limits.
    pub objectives: Vec<ObjectiveRow>,
    /// The confidence of the objectives' bounds.
    pub confidence: f64,
}

impl Decision {
    /// The bill's parts as the page shows them: the network's three charges as one.
    pub const BILL_PARTS: [&'static str; 5] = [
        "worker",
        "unused Savings Plan commitment",
        "flows on on-demand Fargate",
        "flows on Fargate Spot",
        "network",
    ];
}

/// A bill by the page's parts.
fn bill(label: String, parts: &[BillPart], network: Option<f64>) -> Bill {
    let of = |name: &str| -> f64 { parts.iter().filter(|p| p.part == name).map(|p| p.usd).sum() };
    let net = network.unwrap_or_else(|| of("public IPv4") + of("NAT") + of("interface endpoints"));
    let values = [
        of("worker"),
        of("stranded Savings Plan commitment"),
        of("flows on FARGATE"),
        of("flows on FARGATE_SPOT"),
        net,
    ];
    Bill {
        label,
        parts: Decision::BILL_PARTS
            .iter()
            .zip(values)
            .map(|(&part, usd)| BillPart { part, usd })
            .collect(),
    }
}

/// A deployment's configuration in plain words.
fn deployment_words(s: &Scenario, f: usize) -> String {
    let mut o = format!(
        "{}; {}",
        s.strategy_of(f).in_words(),
        s.retry_of(f).in_words()
    );
    if let Some(c) = s.flows[f].checkpoint {
        o.push_str(&format!("; a checkpoint every {}", c.every));
    }
    o
}

/// A whole configuration in plain words: one phrase when every deployment runs alike, else
/// how many run where.
fn configuration_words(s: &Scenario) -> String {
    let n = s.flows.len();
    let each: Vec<String> = (0..n).map(|f| deployment_words(s, f)).collect();
    if each.iter().all(|w| *w == each[0]) {
        let what = match n {
            1 => "the deployment".to_string(),
            2 => "both deployments".to_string(),
            _ => format!("all {n} deployments"),
        };
        return format!("{what}: {}", each[0]);
    }
    let mut places: Vec<(String, usize)> = Vec::new();
    for f in 0..n {
        let w = s.strategy_of(f).in_words();
        match places.iter_mut().find(|(x, _)| *x == w) {
            Some((_, k)) => *k += 1,
            None => places.push((w, 1)),
        }
    }
    places.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut o = places
        .iter()
        .map(|(w, k)| format!("{k} of {n} deployments: {w}"))
        .collect::<Vec<_>>()
        .join(", ");
    let retries: Vec<String> = (0..n).map(|f| s.retry_of(f).in_words()).collect();
    if retries.iter().all(|r| *r == retries[0]) {
        o.push_str(&format!("; {}", retries[0]));
    } else {
        o.push_str("; retry policies differ by deployment");
    }
    o
}

/// What the pick does, in a few words: "Move 5 of 6 deployments to Fargate Spot".
fn action(changed: &[Change], n: usize, pick: &Scenario, s: &Scenario) -> String {
    let moved: Vec<usize> = (0..n)
        .filter(|&f| s.strategy_of(f) != pick.strategy_of(f))
        .collect();
    let of = |k: usize| {
        if n == 1 {
            "the deployment".to_string()
        } else if k == n && n == 2 {
            "both deployments".to_string()
        } else if k == n {
            format!("all {n} deployments")
        } else {
            format!("{k} of {n} deployments")
        }
    };
    if moved.is_empty() {
        return format!("Change how {} retry", of(changed.len()));
    }
    let targets: Vec<String> = moved
        .iter()
        .map(|&f| pick.strategy_of(f).in_words())
        .collect();
    let mut o = if targets.iter().all(|t| *t == targets[0]) {
        format!("Move {} to {}", of(moved.len()), targets[0])
    } else {
        let spot = moved
            .iter()
            .filter(|&&f| {
                pick.strategy_of(f).weight_share(Provider::FargateSpot)
                    > s.strategy_of(f).weight_share(Provider::FargateSpot)
            })
            .count();
        format!(
            "Change where {} run ({spot} toward Fargate Spot, {} toward on-demand Fargate)",
            of(moved.len()),
            moved.len() - spot
        )
    };
    if changed.len() > moved.len() {
        o.push_str(&format!(
            ", and how {} retry",
            if changed.len() - moved.len() == 1 {
                "one more".to_string()
            } else {
                format!("{} more", changed.len() - moved.len())
            }
        ));
    }
    o
}

/// A candidate's column: its own figures (means at its costliest reading).
fn column(
    name: &'static str,
    c: &super::result::CandidateResult,
    s: &Scenario,
    deadlines: bool,
) -> OptionColumn {
    let m = &c.metrics;
    OptionColumn {
        name,
        words: configuration_words(s),
        cost_per_30d_usd: m.cost_per_30d_usd.mean,
        crash_rate: m.crash_rate.mean,
        deadline_miss_rate: deadlines.then_some(m.deadline_miss_rate.mean),
        latency_p95_s: Some(m.latency_p95_s.mean),
        spot_share: m.spot_share.mean,
        meets_objectives: c.feasible,
    }
}

fn has_deadlines(s: &Scenario) -> bool {
    s.flows.iter().any(|f| f.deadline.is_some())
}

/// The decision of a recommendation: `base` is the scenario as given, `current` today's
/// configuration beside the pick (when it was compared).
pub fn decide(
    base: &Scenario,
    run: &SweepRun,
    rec: &Recommendation,
    current: Option<&Current>,
) -> Decision {
    let r = &run.result;
    let per30 = 30.0 * 86_400_000.0 / r.meta.horizon_ms.max(1) as f64;
    let deadlines = has_deadlines(base);
    let n = base.flows.len();
    let mut d = Decision {
        headline: String::new(),
        also: Vec::new(),
        options: Vec::new(),
        changed: Vec::new(),
        unchanged: n,
        bills: Vec::new(),
        objectives: Vec::new(),
        confidence: rec.confidence,
    };
    let pick = rec.candidate.map(|i| &r.candidates[i]);
    let pick_scenario = pick.map(|c| &run.scenarios[c.variant]);
    // today, at its costliest reading, on the pick's replications
    if let Some(cur) = current {
        let row = |m: &str| cur.row(m).map(|p| (p.a.mean, p.b.mean));
        let today_cost: f64 = cur.bill_per_30d_usd.iter().map(|p| p.usd).sum();
        // without the paired rows (no pick), today's worst reading
        let worst = |f: fn(&super::compare::CurrentReading) -> f64| {
            cur.readings.iter().map(f).fold(0.0, f64::max)
        };
        d.options.push(OptionColumn {
            name: "today",
            words: configuration_words(base),
            cost_per_30d_usd: row("cost_per_30d_usd").map_or(today_cost, |x| x.0),
            crash_rate: row("crash_rate").map_or_else(|| worst(|x| x.crash_rate.mean), |x| x.0),
            deadline_miss_rate: deadlines.then(|| {
                row("deadline_miss_rate")
                    .map_or_else(|| worst(|x| x.deadline_miss_rate.mean), |x| x.0)
            }),
            latency_p95_s: row("latency_p95_s").map(|x| x.0),
            spot_share: row("spot_share").map_or_else(|| worst(|x| x.spot_share.mean), |x| x.0),
            meets_objectives: cur.feasible,
        });
        d.bills
            .push(bill("today".into(), &cur.bill_per_30d_usd, None));
    }
    if let (Some(c), Some(ps)) = (pick, pick_scenario) {
        let m = &c.metrics;
        d.options.push(column("the pick", c, ps, deadlines));
        // on today's replications, paired: the pick's column reads as the comparison does
        if let Some(cur) = current {
            let p = d.options.last_mut().expect("just pushed");
            if let Some(x) = cur.row("latency_p95_s") {
                p.latency_p95_s = Some(x.b.mean);
            }
            for (metric, slot) in [
                ("cost_per_30d_usd", &mut p.cost_per_30d_usd),
                ("crash_rate", &mut p.crash_rate),
                ("spot_share", &mut p.spot_share),
            ] {
                if let Some(x) = cur.row(metric) {
                    *slot = x.b.mean;
                }
            }
            if let (Some(x), Some(slot)) =
                (cur.row("deadline_miss_rate"), &mut p.deadline_miss_rate)
            {
                *slot = x.b.mean;
            }
        }
        let pick_bill = BillPart::of(m, per30);
        d.bills.push(bill("the pick".into(), &pick_bill, None));
        if let Some(best) =
            current.and_then(|cur| super::network::best(&cur.network, cur.material_usd))
            && let Some(net) = &best.cost_per_30d_usd
        {
            d.bills.push(bill(
                format!("the pick with {}", best.name),
                &pick_bill,
                Some(net.mean),
            ));
        }
    }
    // the insurance option, unless it is today's configuration (already beside the pick)
    if let Some(x) = &rec.insurance
        && current.is_none_or(|_| {
            configuration_words(&run.scenarios[r.candidates[x.candidate].variant])
                != configuration_words(base)
        })
    {
        let c = &r.candidates[x.candidate];
        d.options
            .push(column("insurance", c, &run.scenarios[c.variant], deadlines));
    }
    // the deployments the pick changes
    if let (Some(cur), Some(ps)) = (current, pick_scenario) {
        for (f, row) in cur.deployments.iter().enumerate().take(n) {
            if deployment_words(base, f) == deployment_words(ps, f) {
                continue;
            }
            d.changed.push(Change {
                deployment: row.deployment.clone(),
                today: deployment_words(base, f),
                pick: deployment_words(ps, f),
                saving_per_30d_usd: row.cost_per_30d_usd[0] - row.cost_per_30d_usd[1],
                crash_rate: row.crash_rate,
                deadline_miss_rate: base.flows[f].deadline.map(|_| row.deadline_miss_rate),
            });
        }
        d.changed.sort_by(|a, b| {
            b.saving_per_30d_usd
                .total_cmp(&a.saving_per_30d_usd)
                .then(a.deployment.cmp(&b.deployment))
        });
        d.unchanged = n - d.changed.len();
    }
    // the objectives with their limits
    let limits: Vec<&super::objective::Check> = match (current, pick) {
        (Some(cur), _) if !cur.checks.is_empty() => cur.checks.iter().collect(),
        (_, Some(c)) => c.checks.iter().collect(),
        _ => Vec::new(),
    };
    let binding = pick.and_then(|c| {
        c.checks
            .iter()
            .max_by(|a, b| a.excess().total_cmp(&b.excess()))
            .map(|x| x.objective)
    });
    for l in limits {
        let find = |checks: &[super::objective::Check]| {
            checks
                .iter()
                .find(|x| x.objective == l.objective)
                .map(|x| (super::objective::show(x.objective, x.upper), x.met()))
        };
        d.objectives.push(ObjectiveRow {
            objective: l.objective,
            words: match l.objective {
                "max_crashed" => "crashed or failed runs",
                "max_deadline_miss" => "deadline misses",
                "max_p95_latency" => "latency p95 (scheduled to finished)",
                "max_monthly_cost" => "cost per 30 days",
                _ => l.objective,
            },
            limit: super::objective::show(l.objective, l.limit),
            today: current.and_then(|cur| find(&cur.checks)),
            pick: pick.and_then(|c| find(&c.checks)),
            binds: binding == Some(l.objective),
        });
    }
    // the guard every deployment is held to, and the deployments' own objectives
    let today_missing = |what: &str| -> Option<(String, bool)> {
        current.map(|cur| {
            let k = cur.misses.iter().filter(|m| m.contains(what)).count();
            if k == 0 {
                ("met".to_string(), true)
            } else {
                (format!("missed by {k}"), false)
            }
        })
    };
    let pick_missing = |k: Option<usize>| -> Option<(String, bool)> {
        k.map(|k| {
            if k == 0 {
                ("met".to_string(), true)
            } else {
                (format!("missed by {k}"), false)
            }
        })
    };
    if let Some(guard) = r.meta.objectives.deployment_guard {
        d.objectives.push(ObjectiveRow {
            objective: "deployment_guard",
            words: "each deployment against all on demand (crashed or failed, deadline misses)",
            limit: format!("+{:.2} points", 100.0 * guard),
            today: today_missing("deployment guard"),
            pick: pick_missing(pick.map(|c| c.deployment_guard.len())),
            binds: false,
        });
    }
    if base.flows.iter().any(|f| f.objectives.is_some()) {
        d.objectives.push(ObjectiveRow {
            objective: "deployment_objectives",
            words: "the deployments' own objectives",
            limit: "per deployment".into(),
            today: today_missing("'s own"),
            pick: pick_missing(pick.map(|c| c.deployment_objectives.len())),
            binds: false,
        });
    }
    d.headline = headline(base, run, rec, current, &d);
    if let Some(line) = current.and_then(super::network::lever_line) {
        d.also.push(line);
    }
    if let Some(x) = rec.code_change_worth_showing(current) {
        d.also.push(format!(
            "With a change to your code you would also save {} a month: {}. spotplan cannot \
             deploy it.",
            money(x.saving_per_30d_usd.mean),
            x.changes
        ));
    }
    d
}

/// Line one.
fn headline(
    base: &Scenario,
    run: &SweepRun,
    rec: &Recommendation,
    current: Option<&Current>,
    d: &Decision,
) -> String {
    let r = &run.result;
    let Some(i) = rec.candidate else {
        return format!(
            "No configuration in the grid meets every objective ({}). Keep today's \
             configuration, relax an objective, or widen the grid.",
            rec.binding
        );
    };
    let c = &r.candidates[i];
    let ps = &run.scenarios[c.variant];
    let n = base.flows.len();
    let risk = |cur: &Current| {
        let mut o = String::new();
        for (metric, what) in [
            ("crash_rate", "crashed or failed runs"),
            ("deadline_miss_rate", "deadline misses"),
        ] {
            if metric == "deadline_miss_rate" && !has_deadlines(base) {
                continue;
            }
            if let Some(p) = cur.row(metric) {
                let (a, b) = (pct(p.a.mean), pct(p.b.mean));
                if a == b {
                    o.push_str(&format!("; {what} stay at {a}"));
                } else {
                    o.push_str(&format!("; {what} {a} → {b}"));
                }
            }
        }
        o
    };
    let Some(cur) = current else {
        return format!(
            "Run {}: {} a month, {} less than all on on-demand Fargate; crashed or failed runs {}.",
            configuration_words(ps),
            money(c.metrics.cost_per_30d_usd.mean),
            pct(c.metrics.saving_fraction.mean),
            pct(c.metrics.crash_rate.mean)
        );
    };
    let today_bill: f64 = cur
        .row("cost_per_30d_usd")
        .map(|p| p.a.mean)
        .unwrap_or_else(|| cur.bill_per_30d_usd.iter().map(|p| p.usd).sum());
    let saving = cur
        .row("cost_per_30d_usd")
        .map_or(0.0, |p| -p.b_minus_a.mean);
    if cur.same {
        return format!(
            "Keep today's configuration: it is already the cheapest that meets every objective \
             ({} a month).",
            money(today_bill)
        );
    }
    if cur.keep {
        let what = if saving > 0.0 {
            format!(
                "would save only {} a month, less than the {} a change must save to be worth \
                 making",
                money(saving),
                money(cur.material_usd)
            )
        } else {
            format!("would cost {} a month more", money(-saving))
        };
        return format!(
            "Keep today's configuration: it meets every objective, and the best change ({}) {what}.",
            action(&d.changed, n, ps, base).to_lowercase()
        );
    }
    let money_words = if saving >= 0.0 {
        format!(
            "saves {} a month ({} of today's {} bill)",
            money(saving),
            pct(saving / today_bill.max(1e-9)),
            money(today_bill)
        )
    } else {
        format!("costs {} a month more", money(-saving))
    };
    let why = if cur.feasible {
        String::new()
    } else {
        let missed = d
            .objectives
            .iter()
            .filter(|o| o.today.as_ref().is_some_and(|t| !t.1))
            .count();
        match missed {
            0 => format!(", and meets what today misses ({})", cur.misses.join("; ")),
            1 => ", and meets the objective today misses".into(),
            k => format!(", and meets the {k} objectives today misses"),
        }
    };
    format!(
        "{}: {money_words}{why}{}.",
        action(&d.changed, n, ps, base),
        risk(cur)
    )
}
