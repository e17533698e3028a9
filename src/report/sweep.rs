//! Rendering sweeps and recommendations.

use std::fmt::Write as _;

use crate::sweep::objective::show;

use crate::sweep::Stat;
use crate::sweep::recommend::Recommendation;
use crate::sweep::result::SweepResult;
use crate::units::num;

fn ci(s: &Stat) -> String {
    format!(
        "{} [{}, {}]",
        num(s.mean),
        num(s.ci95_low),
        num(s.ci95_high)
    )
}

/// A duration in seconds with its interval: `3h 33m [3h 27m, 3h 40m]`.
fn dur(s: &Stat) -> String {
    let d = crate::units::duration;
    format!(
        "{} [{}, {}]",
        d(s.mean),
        d(s.ci95_low.max(0.0)),
        d(s.ci95_high)
    )
}

fn pct(s: &Stat) -> String {
    format!(
        "{:.2}% [{:.2}, {:.2}]",
        100.0 * s.mean,
        100.0 * s.ci95_low,
        100.0 * s.ci95_high
    )
}

/// Header lines shared by sweep and recommendation output.
fn header(r: &SweepResult) -> String {
    let m = &r.meta;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} · scenario \"{}\" ({}, hash {})",
        m.tool, m.version, m.scenario, m.file, m.scenario_hash
    );
    let _ = writeln!(
        o,
        "region {} · prices {} as of {} · seed {} · up to {} replications × {} per candidate",
        m.region, m.price_source.kind, m.price_source.as_of, m.seed, m.replications, m.horizon
    );
    let _ = writeln!(o, "spot {}", m.interruptions);
    let _ = writeln!(o, "network {}", m.network);
    for a in &m.assumptions {
        let _ = writeln!(o, "assumed: {a}");
    }
    // a discount or a Savings Plan is among the assumptions above
    for (name, d) in &m.deployment_objectives {
        let limits: Vec<String> = [
            ("crashed or failed", d.max_crashed.map(crate::units::pct)),
            (
                "deadline misses",
                d.max_deadline_miss.map(crate::units::pct),
            ),
            (
                "p95 latency",
                d.max_p95_latency_ms
                    .map(|ms| crate::units::duration(ms as f64 / 1000.0)),
            ),
            (
                "cost per 30 days",
                d.max_monthly_cost.map(|c| format!("{} USD", num(c))),
            ),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} ≤ {v}")))
        .collect();
        let _ = writeln!(o, "objectives of `{name}`: {}", limits.join(", "));
    }
    for u in &m.objectives.unreachable {
        let _ = writeln!(
            o,
            "objective unreachable: {}; so `{}` is not held to it, keeps today's option unless \
             another is cheaper and no worse on it, and its runs are left out of platform-wide \
             rate objectives",
            u.cause, u.objective
        );
    }
    if r.candidates.iter().any(|c| c.readings.len() > 1) {
        let _ = writeln!(
            o,
            "placement `robust`: a mixed strategy is simulated under every reading that places it \
             differently (per-call, per-call-tie-later, per-call-no-base, weighted-random, \
             proportional, proportional-hold); it is feasible only if feasible under each and \
             costed at its worst (the range is shown)"
        );
    }
    let s = &r.search;
    if !s.deployments.note.is_empty() {
        let _ = writeln!(
            o,
            "per-deployment search: {} ({} branch-and-bound nodes, {} picks simulated jointly)",
            s.deployments.note, s.deployments.screened, s.deployments.added
        );
        for (what, best, bound) in &s.deployments.gaps {
            let _ = writeln!(
                o,
                "  {what}: node budget spent; best found {} USD/30d, no choice below {} USD/30d \
                 (gap {})",
                crate::units::num(*best),
                crate::units::num(*bound),
                crate::units::num(best - bound)
            );
        }
        for why in &s.deployments.rejected {
            let _ = writeln!(o, "  rejected: {why}");
        }
        const SHOWN: usize = 10;
        for why in s.deployments.held_back.iter().take(SHOWN) {
            let _ = writeln!(o, "  held back: {why}");
        }
        if s.deployments.held_back.len() > SHOWN {
            let _ = writeln!(
                o,
                "  held back: {} more (in JSON: search.deployments.held_back)",
                s.deployments.held_back.len() - SHOWN
            );
        }
    }
    let _ = writeln!(
        o,
        "{} candidates · {} · {} of {} candidate-replications run ({:.0}% saved)",
        r.candidates.len(),
        if s.adaptive {
            "adaptive racing"
        } else {
            "full grid"
        },
        s.cells_run,
        s.cells_full,
        100.0 * s.saving,
    );
    if s.interrupted {
        let _ = writeln!(o, "INTERRUPTED (Ctrl-C): partial results");
    }
    o
}

/// The narrowest table: 100 columns, labels cut to [`LABEL_COLUMNS`].
pub const TABLE_COLUMNS: usize = 100;
/// The candidate label's columns at [`TABLE_COLUMNS`].
pub const LABEL_COLUMNS: usize = 28;

/// The sweep as a table of `width` columns (at least [`TABLE_COLUMNS`]): one row per
/// candidate; the columns beyond 100 widen the candidate labels.
pub fn table(r: &SweepResult, width: usize) -> String {
    let lw = LABEL_COLUMNS + width.saturating_sub(TABLE_COLUMNS);
    let mut o = super::fit(&header(r));
    let _ = writeln!(o);
    // 100 columns: means only (the intervals are in --wide, CSV and JSON); neighbours that are
    // the same configuration after placement (identical figures) share one row
    let _ = writeln!(
        o,
        "{:>5} {:<lw$} {:>8} {:>13} {:>6} {:>7} {:>7} {:>8}  flags",
        "#", "candidate", "cost/30d", "range (USD)", "saving", "crashed", "missed", "p95 lat"
    );
    // cost and saving at the costliest reading; each rate and the latency at the reading
    // where it is worst (the one its objective is judged on)
    let cells = |c: &crate::sweep::result::CandidateResult| {
        let m = &c.metrics;
        let worst = |f: fn(&crate::sweep::result::ReadingResult) -> &crate::stats::Stat| {
            if c.readings.is_empty() {
                f64::NAN
            } else {
                c.worst_of(f).0
            }
        };
        [
            num(m.cost_per_30d_usd.mean),
            range(c),
            crate::units::pct(m.saving_fraction.mean),
            crate::units::pct(worst(|r| &r.crash_rate)),
            crate::units::pct(worst(|r| &r.deadline_miss_rate)),
            crate::units::duration(worst(|r| &r.latency_p95_s)),
            short_flags(c),
        ]
    };
    // (#, label, label as cut to fit): rows whose cut labels read alike get theirs in full
    // under the table
    let mut cut: Vec<(String, String, String)> = Vec::new();
    let mut i = 0;
    while i < r.candidates.len() {
        let first = &r.candidates[i];
        let row = cells(first);
        let mut j = i + 1;
        while j < r.candidates.len()
            && cells(&r.candidates[j]) == row
            && r.candidates[j].metrics == first.metrics
        {
            j += 1;
        }
        let (index, label) = if j - i > 1 {
            let last = &r.candidates[j - 1];
            let (a, b) = (first.candidate.spot_share, last.candidate.spot_share);
            let prefix = format!("spot {a}%");
            let label = match first.label.strip_prefix(&prefix) {
                Some(rest) if a != b => format!("spot {a}–{b}%{rest}"),
                _ => first.label.clone(),
            };
            (
                format!("{}–{}", first.candidate.index, last.candidate.index),
                label,
            )
        } else {
            (first.candidate.index.to_string(), first.label.clone())
        };
        let [cost, range, saving, crashed, missed, p95, flags] = row;
        let shown = crate::units::clip(&label, lw);
        cut.push((index.clone(), label.clone(), shown.clone()));
        let _ = writeln!(
            o,
            "{:>5} {:<lw$} {:>8} {:>13} {:>6} {:>7} {:>7} {:>8}  {}",
            index, shown, cost, range, saving, crashed, missed, p95, flags
        );
        i = j;
    }
    let alike: Vec<&(String, String, String)> = cut
        .iter()
        .filter(|(_, label, shown)| {
            shown != label && cut.iter().filter(|x| x.2 == *shown).count() > 1
        })
        .collect();
    if !alike.is_empty() {
        let _ = writeln!(o, "\ncandidates whose labels are cut alike, in full:");
        for (index, label, _) in alike {
            let _ = writeln!(
                o,
                "{}",
                crate::units::wrap(
                    &format!("{index:>5} {label}"),
                    crate::units::WIDTH,
                    "      "
                )
            );
        }
    }
    let _ = writeln!(
        o,
        "\nmeans over replications; 95% intervals: `--wide`, `--format csv` or `--format json`. cost and saving: the costliest reading; crashed, missed and p95: the reading where each is worst, the one its objective is judged on. a range of # is candidates with identical figures in every replication (the same configuration after placement), in one row. flags: F feasible, X misses an objective (its upper bound; the checks are in JSON), G breaks the deployment guard, P pareto, D dropped by racing, C needs a change to your code, N not deployable by your worker kind"
    );
    super::fit_at(&o, width.max(TABLE_COLUMNS))
}

fn range(c: &crate::sweep::result::CandidateResult) -> String {
    if c.readings.len() > 1 {
        format!(
            "{}–{}",
            num(c.cost_range_per_30d_usd[0]),
            num(c.cost_range_per_30d_usd[1])
        )
    } else {
        "one reading".to_string()
    }
}

fn short_flags(c: &crate::sweep::result::CandidateResult) -> String {
    let mut f = String::new();
    for (on, ch) in [
        (c.feasible, 'F'),
        (
            c.checks.iter().any(|x| !x.met()) || !c.deployment_objectives.is_empty(),
            'X',
        ),
        (!c.deployment_guard.is_empty(), 'G'),
        (c.pareto, 'P'),
        (c.eliminated.is_some(), 'D'),
        (c.takes == crate::sweep::result::Takes::CodeChange, 'C'),
        (c.takes == crate::sweep::result::Takes::NotDeployable, 'N'),
    ] {
        if on {
            f.push(ch);
        }
    }
    f
}

/// The full sweep table (every metric with its interval): `--wide`.
pub fn table_wide(r: &SweepResult) -> String {
    let mut o = header(r);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:>4} {:<58} {:>5} {:>26} {:>15} {:>24} {:>24} {:>24} {:>26} {:>26}  flags",
        "#",
        "candidate",
        "n",
        "cost/30d USD [95% CI]",
        "readings' range",
        "saving",
        "crashed or failed",
        "deadline misses",
        "p95 latency",
        "p99 latency"
    );
    for c in &r.candidates {
        let m = &c.metrics;
        let mut flags = Vec::new();
        if c.feasible {
            flags.push("feasible");
        }
        if c.pareto {
            flags.push("pareto");
        }
        if c.eliminated.is_some() {
            flags.push("dropped");
        }
        match c.takes {
            crate::sweep::result::Takes::CodeChange => flags.push("needs-code-change"),
            crate::sweep::result::Takes::NotDeployable => flags.push("not-deployable"),
            crate::sweep::result::Takes::Applied => {}
        }
        let _ = writeln!(
            o,
            "{:>4} {:<58} {:>5} {:>26} {:>15} {:>24} {:>24} {:>24} {:>26} {:>26}  {}",
            c.candidate.index,
            c.label,
            c.replications,
            ci(&m.cost_per_30d_usd),
            range(c),
            pct(&m.saving_fraction),
            pct(&m.crash_rate),
            pct(&m.deadline_miss_rate),
            dur(&m.latency_p95_s),
            dur(&m.latency_p99_s),
            flags.join(",")
        );
    }
    o
}

/// The sweep as CSV: one row per candidate, each metric with its CI.
pub fn csv(r: &SweepResult) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let metrics = [
        "cost_per_30d_usd",
        "saving_fraction",
        "spot_share",
        "crash_rate",
        "deadline_miss_rate",
        "latency_p95_s",
        "latency_p99_s",
    ];
    let mut head = vec![
        "index",
        "label",
        "spot_share_pct",
        "base",
        "base_provider",
        "placement",
        "retry",
        "checkpoint_every",
        "replications",
        "readings",
        "worst_reading",
        "cost_per_30d_usd_min_reading",
        "cost_per_30d_usd_max_reading",
        "feasible",
        "deployable",
        "pareto",
        "eliminated",
        "why_not_feasible",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    for m in metrics {
        for s in ["mean", "ci95_low", "ci95_high", "reading"] {
            head.push(format!("{m}_{s}"));
        }
    }
    w.write_record(&head)?;
    for c in &r.candidates {
        let mut row = vec![
            c.candidate.index.to_string(),
            c.label.clone(),
            c.candidate.spot_share.to_string(),
            c.candidate.base.to_string(),
            c.candidate.base_provider.ecs_name().to_string(),
            c.candidate.placement.name().to_string(),
            c.candidate.retry.clone(),
            c.candidate
                .checkpoint_every
                .map(|t| t.to_string())
                .unwrap_or_default(),
            c.replications.to_string(),
            c.readings
                .iter()
                .map(|x| x.placement.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            c.worst_reading.clone(),
            c.cost_range_per_30d_usd[0].to_string(),
            c.cost_range_per_30d_usd[1].to_string(),
            c.feasible.to_string(),
            c.deployable.to_string(),
            c.pareto.to_string(),
            c.eliminated.clone().unwrap_or_default(),
            c.why_not().unwrap_or_default(),
        ];
        // each cell from the reading that decides it, named
        for m in metrics {
            let (st, reading) = c.deciding(m);
            row.extend([
                st.mean.to_string(),
                st.ci95_low.to_string(),
                st.ci95_high.to_string(),
                reading,
            ]);
        }
        w.write_record(&row)?;
    }
    Ok(String::from_utf8_lossy(&w.into_inner().map_err(|e| e.into_error())?).into_owned())
}

/// The sweep as JSON.
pub fn json(r: &SweepResult) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}

/// The answer first, in a sentence or two: what to change, and what it does against the
/// scenario's own configuration (paired, 95%). One line, unwrapped (the text and the HTML
/// report frame it).
pub fn what_to_do(
    r: &SweepResult,
    rec: &Recommendation,
    current: Option<&crate::sweep::compare::Current>,
) -> String {
    let Some(i) = rec.candidate else {
        return format!(
            "no configuration in the grid meets every objective ({}); relax an objective, widen the grid, or keep all on demand",
            rec.binding
        );
    };
    let c = &r.candidates[i];
    if let Some(cur) = current.filter(|c| c.keep) {
        let d = |metric: &str| cur.row(metric).map(|p| p.b_minus_a.mean);
        let mut risk = String::new();
        for (metric, what) in [
            ("crash_rate", "crashed or failed"),
            ("deadline_miss_rate", "deadline misses"),
        ] {
            if let Some(x) = d(metric).filter(|x| *x > 0.0) {
                risk.push_str(&format!(", and {what} {:+.2} points", 100.0 * x));
            }
        }
        let cost = d("cost_per_30d_usd").unwrap_or(0.0);
        let why = if cost >= 0.0 {
            format!("costs {cost:+.2} USD per 30 days more")
        } else {
            format!(
                "saves {:.2} USD per 30 days, at least {:.2} (paired 95% lower bound), below the \
                 {:.2} USD a change must save to be worth making (--materiality)",
                -cost,
                cur.saving_lower_usd.max(0.0),
                cur.material_usd
            )
        };
        return format!(
            "keep your current configuration ({}): it meets every objective, and no change is \
             worth making: the best deployable one, #{i} {}, {why}{risk}.",
            cur.configuration, c.label
        );
    }
    let mut o = format!("run #{i} {}", c.label);
    if let Some(cur) = current {
        if cur.same {
            o.push_str(&format!(
                " — that is your current configuration ({}): keep it",
                cur.configuration
            ));
        } else {
            o.push_str(&format!(" instead of your current {}", cur.configuration));
            if !cur.feasible {
                o.push_str(" (which does not meet every objective)");
            }
            if cur.readings.len() > 1 {
                let lo = cur
                    .readings
                    .iter()
                    .map(|x| x.cost_per_30d_usd.mean)
                    .fold(f64::INFINITY, f64::min);
                let hi = cur
                    .readings
                    .iter()
                    .map(|x| x.cost_per_30d_usd.mean)
                    .fold(f64::NEG_INFINITY, f64::max);
                o.push_str(&format!(
                    " ({}–{} USD per 30 days over the placement readings; compared at its costliest, `{}`)",
                    num(lo),
                    num(hi),
                    cur.worst_reading
                ));
            }
            let d = |metric: &str| cur.row(metric).map(|p| &p.b_minus_a);
            if let (Some(cost), Some(crash), Some(miss)) = (
                d("cost_per_30d_usd"),
                d("crash_rate"),
                d("deadline_miss_rate"),
            ) {
                o.push_str(&format!(
                    ": cost per 30 days {:+.2} USD [{:+.2}, {:+.2}], crashed or failed {:+.2} points, deadline misses {:+.2} points (paired, 95%)",
                    cost.mean,
                    cost.ci95_low,
                    cost.ci95_high,
                    100.0 * crash.mean,
                    100.0 * miss.mean
                ));
            }
        }
    }
    o.push('.');
    o
}

/// How sure the pick is, one line per end: whether the pick stays feasible and what it saves.
pub fn sensitivity_lines(s: &[crate::sweep::sensitivity::Sensitivity]) -> String {
    let mut o = String::new();
    if s.is_empty() {
        return o;
    }
    let _ = writeln!(
        o,
        "how sure (the pick and today's configuration again, same seeds, one input at a time):"
    );
    for p in s {
        for (k, e) in p.ends.iter().enumerate() {
            let d = &e.saving_per_30d_usd;
            let which = if p.range == crate::sweep::sensitivity::STATED {
                format!(
                    "its 95% interval's {} end",
                    if k == 0 { "low" } else { "high" }
                )
            } else {
                format!("×{}", crate::units::short(e.factor))
            };
            let _ = writeln!(
                o,
                "  {} {} → {} ({which}): {}; {} {} USD/30d against today (saving's 95% interval [{}, {}])",
                p.parameter,
                p.stated,
                e.value,
                if e.pick_feasible {
                    "the pick still meets every objective".to_string()
                } else {
                    format!("the pick misses {}", e.misses.join(", "))
                },
                if d.mean >= 0.0 {
                    "saves"
                } else {
                    "costs more by"
                },
                num(d.mean.abs()),
                num(d.ci95_low),
                num(d.ci95_high)
            );
        }
    }
    o
}

/// Line two of the headline: a network option that saves more than a change must (today's
/// network against it, on the pick's runs), with what it changes besides the bill.
pub fn other_lever(cur: &crate::sweep::compare::Current) -> Option<String> {
    let best = crate::sweep::network::best(&cur.network, cur.material_usd)?;
    let saving = best.saving_per_30d_usd.as_ref()?;
    let today = cur.network.iter().find(|o| o.current)?;
    let pick_saving = cur
        .row("cost_per_30d_usd")
        .map(|p| -p.b_minus_a.mean)
        .unwrap_or(0.0);
    Some(format!(
        "\nAlso: {} instead of {} would save {} USD per 30 days{}{}{}; spotplan does not change \
         your network (see the network options below).",
        best.name,
        today.name,
        num(saving.mean),
        if saving.mean > pick_saving {
            ", more than the change above"
        } else {
            ""
        },
        best.caveat.map(|c| format!(" ({c})")).unwrap_or_default(),
        if best.assumptions.is_empty() {
            String::new()
        } else {
            format!(", assuming {}", best.assumptions.join("; "))
        }
    ))
}

/// "With a code change you would also save …": the cheaper configuration spotplan cannot
/// deploy, when its saving against the pick is material (today's materiality when known).
pub fn code_change_line(
    rec: &Recommendation,
    current: Option<&crate::sweep::compare::Current>,
) -> Option<String> {
    let x = rec.code_change_worth_showing(current)?;
    let d = &x.saving_per_30d_usd;
    Some(format!(
        "\nWith a code change you would also save {} USD per 30 days [95% CI {}, {}] against \
         that: #{} {} ({}); spotplan cannot deploy it.",
        num(d.mean),
        num(d.ci95_low),
        num(d.ci95_high),
        x.candidate,
        x.label,
        x.changes
    ))
}

/// Pretty JSON indented by two spaces (ready to paste, and within 100 columns).
fn indented_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v)
        .unwrap_or_default()
        .lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The recommendation in words (within 100 columns).
pub fn recommendation_text(
    r: &SweepResult,
    rec: &Recommendation,
    current: Option<&crate::sweep::compare::Current>,
) -> String {
    let mut o = super::fit(&format!(
        "what to do: {}{}{}{}\n\n",
        what_to_do(r, rec, current),
        code_change_line(rec, current).unwrap_or_default(),
        current.and_then(other_lever).unwrap_or_default(),
        if rec.candidate.is_some() {
            " The details follow."
        } else {
            ""
        }
    ));
    o.push_str(&header(r));
    let _ = writeln!(o);
    if let Some(cur) = current {
        let _ = writeln!(
            o,
            "your configuration ({}), under each placement reading (means):",
            cur.configuration
        );
        let _ = writeln!(
            o,
            "  {:<18} {:>14} {:>11} {:>18} {:>16}",
            "reading", "cost/30d (USD)", "spot share", "crashed or failed", "deadline misses"
        );
        for x in &cur.readings {
            let _ = writeln!(
                o,
                "  {:<18} {:>14} {:>11} {:>18} {:>16}",
                x.placement,
                num(x.cost_per_30d_usd.mean),
                crate::units::pct(x.spot_share.mean),
                crate::units::pct(x.crash_rate.mean),
                crate::units::pct(x.deadline_miss_rate.mean)
            );
        }
        let _ = writeln!(o);
        if cur.deployments.len() > 1 && !cur.same {
            let _ = writeln!(
                o,
                "why, per deployment (today → pick; means per replication; crashed or failed and \
                 deadline misses in %):"
            );
            let _ = writeln!(
                o,
                "  {:<20} {:<32} {:>15} {:>13} {:>13}",
                "deployment", "today → pick", "USD/30d", "crashed", "missed"
            );
            let short = |x: &str| x.replace("FARGATE_SPOT", "SPOT").replace("FARGATE", "OD");
            for d in &cur.deployments {
                // what changes: the strategy, the retry policy or both
                let (t, p) = (short(&d.today), short(&d.pick));
                let (ts, tr) = t.split_once(" · ").unwrap_or((&t, ""));
                let (ps, pr) = p.split_once(" · ").unwrap_or((&p, ""));
                let change = match (ts == ps, tr == pr) {
                    (true, true) => "unchanged".to_string(),
                    (false, true) => format!("{ts} → {ps}"),
                    (true, false) => format!("{tr} → {pr}"),
                    (false, false) => format!("{ts} → {ps} · {pr}"),
                };
                let two =
                    |v: [f64; 2], k: f64, p: usize| format!("{:.p$}→{:.p$}", k * v[0], k * v[1]);
                let _ = writeln!(
                    o,
                    "  {:<20} {:<32} {:>15} {:>13} {:>13}",
                    crate::units::clip(&d.deployment, 20),
                    crate::units::clip(&change, 32),
                    two(d.cost_per_30d_usd, 1.0, 2),
                    two(d.crash_rate, 100.0, 2),
                    two(d.deadline_miss_rate, 100.0, 2)
                );
            }
            let _ = writeln!(o);
        }
    }
    match rec.candidate {
        Some(i) => {
            let c = &r.candidates[i];
            let m = &c.metrics;
            let _ = writeln!(o, "recommendation: #{i} {}", c.label);
            let _ = writeln!(o, "  {}", super::bill_line(m, r.meta.horizon_ms));
            if let Some(v) = &rec.concurrent_vcpu {
                let _ = writeln!(
                    o,
                    "{}",
                    crate::units::wrap(
                        &format!("  {}", super::vcpu_line(v)),
                        crate::units::WIDTH,
                        "    "
                    )
                );
            }
            let _ = writeln!(
                o,
                "  cost per 30 days {} USD; all-on-demand {} USD; saving {}",
                ci(&m.cost_per_30d_usd),
                num(m.baseline_cost_usd.mean * 30.0 * 86_400_000.0 / r.meta.horizon_ms as f64),
                pct(&m.saving_fraction)
            );
            let _ = writeln!(
                o,
                "  spot share {}; crashed or failed {}; deadline misses {}; p95 latency {}",
                pct(&m.spot_share),
                pct(&m.crash_rate),
                pct(&m.deadline_miss_rate),
                dur(&m.latency_p95_s)
            );
            let causes = [
                ("capacity failures", m.crashed_by_capacity.mean),
                ("interruptions", m.crashed_by_interruption.mean),
                ("refused image pulls", m.crashed_by_image_pull.mean),
            ];
            if causes.iter().any(|c| c.1 > 0.0) {
                let per30 = 30.0 * 86_400_000.0 / r.meta.horizon_ms as f64;
                let _ = writeln!(
                    o,
                    "  crashed or failed runs per 30 days, by cause: {}",
                    causes
                        .iter()
                        .filter(|c| c.1 > 0.0)
                        .map(|(what, n)| format!("{} by {what}", num(n * per30)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if c.readings.len() > 1 {
                let per: Vec<String> = c
                    .readings
                    .iter()
                    .map(|x| {
                        format!(
                            "{} {} USD (spot {:.0}%)",
                            x.placement,
                            num(x.cost_per_30d_usd.mean),
                            100.0 * x.spot_share.mean
                        )
                    })
                    .collect();
                let _ = writeln!(
                    o,
                    "  under each placement reading (feasible under all; figures above are `{}`): {}",
                    c.worst_reading,
                    per.join("; ")
                );
            }
            for ch in &c.checks {
                let _ = writeln!(
                    o,
                    "  {}: mean {}, {:.0}% upper bound {} ≤ {} ✓",
                    ch.objective,
                    show(ch.objective, ch.mean),
                    100.0 * rec.confidence,
                    show(ch.objective, ch.upper),
                    show(ch.objective, ch.limit)
                );
            }
            if let Some(x) = &rec.insurance {
                let d = &x.extra_cost_per_30d_usd;
                let _ = writeln!(
                    o,
                    "insurance: +{} USD per 30 days [95% CI {}, {}] buys crashed or failed {} \
                     ({:+.2} points) and deadline misses {} ({:+.2} points) with #{} {}",
                    num(d.mean),
                    num(d.ci95_low),
                    num(d.ci95_high),
                    crate::units::pct(x.crash_rate),
                    100.0 * x.crash_rate_change.mean,
                    crate::units::pct(x.deadline_miss_rate),
                    100.0 * x.deadline_miss_change.mean,
                    x.candidate,
                    x.label
                );
            }
            match &rec.runner_up {
                Some(ru) => {
                    let d = &ru.difference_per_30d_usd;
                    let _ = writeln!(
                        o,
                        "runner-up: #{} {}: costs {} USD more per 30 days [95% CI {}, {}]: {}",
                        ru.candidate,
                        ru.label,
                        num(d.mean),
                        num(d.ci95_low),
                        num(d.ci95_high),
                        if ru.statistically_clear {
                            "the difference is statistically clear"
                        } else if d.sd == 0.0 && d.mean == 0.0 {
                            // the same configuration after placement: replications cannot tell
                            "they are the same configuration after placement (identical in every replication); no number of replications separates them"
                        } else {
                            "the difference is NOT statistically clear (more replications would tell)"
                        }
                    );
                }
                None => {
                    let _ = writeln!(
                        o,
                        "runner-up: none (no other candidate meets every objective)"
                    );
                }
            }
            let _ = writeln!(o, "binding constraint: {}", rec.binding);
            if let Some(cur) = current {
                let _ = write!(o, "{}", sensitivity_lines(&cur.sensitivity));
            }
            if let Some(cur) = current {
                let per30 = 30.0 * 86_400_000.0 / r.meta.horizon_ms.max(1) as f64;
                let _ = write!(
                    o,
                    "{}",
                    super::network_lines(&cur.network, m.cost_usd.mean * per30).replacen(
                        "network options (",
                        "network options on the pick's runs (",
                        1
                    )
                );
            }
            let _ = writeln!(o);
            let _ = writeln!(o, "ECS RunTask / service / cluster default strategy:");
            let _ = writeln!(o, "{}", indented_json(&rec.ecs));
            let _ = writeln!(o, "Prefect ECS work pool job variables:");
            let _ = writeln!(o, "{}", indented_json(&rec.prefect_work_pool));
            if let Some(p) = &rec.placement {
                let _ = writeln!(
                    o,
                    "  (placement of single-task RunTask calls: {p}; retry policy {})",
                    rec.retry.clone().unwrap_or_default()
                );
            }
            if !rec.deployments.is_empty() {
                let _ = writeln!(
                    o,
                    "Each deployment's own job variables (override the work pool's strategy):"
                );
                for d in &rec.deployments {
                    let _ = writeln!(o, "  {}:\n{}", d.flow, indented_json(&d.job_variables));
                }
            }
            if let Some(v) = &rec.versus_uniform {
                let _ = writeln!(o, "per-deployment: {v}");
            }
            if let Some(d) = &rec.deployment {
                let _ = writeln!(o, "  deployed as: {d}");
            }
        }
        None => {
            let _ = writeln!(
                o,
                "no candidate meets every objective at {:.0}% confidence.",
                100.0 * rec.confidence
            );
            if let Some(c) = &rec.closest {
                let _ = writeln!(
                    o,
                    "closest: #{} {}: `{}` upper bound {} vs limit {}; the best any candidate \
                     reaches on it is {} (#{} {})",
                    c.candidate,
                    c.label,
                    c.objective,
                    show(c.objective, c.upper),
                    show(c.objective, c.limit),
                    show(c.objective, c.best),
                    c.best_candidate,
                    r.candidates[c.best_candidate].label
                );
            }
        }
    }
    super::fit(&o)
}
