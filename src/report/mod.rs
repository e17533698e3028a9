//! Rendering of results: text table, JSON, CSV, task traces; sweep tables, charts and the HTML
//! report (`sweep`, `charts`, `html`, `export`). Renders; computes nothing (values in their
//! units come from `crate::units`).

use std::fmt::Write as _;
use std::io::Write;

use crate::scenario::Scenario;
use crate::sim::TraceEvent;
use crate::sweep::{Replication, Summary};
use crate::units::{self as fmt, num};

pub mod charts;
pub mod export;
pub(crate) mod html;
pub(crate) mod prices;
pub mod sweep;

/// The human-readable report.
pub fn table(s: &Summary) -> String {
    let m = &s.meta;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} · scenario \"{}\" ({}, hash {})",
        m.tool, m.version, m.scenario, m.file, m.scenario_hash
    );
    let _ = writeln!(
        o,
        "region {} · prices {} as of {} · seed {} · {} replications × {}",
        m.region, m.price_source.kind, m.price_source.as_of, m.seed, m.replications, m.horizon
    );
    let _ = writeln!(o, "strategy {} · from {}", m.strategy, m.strategy_source);
    let _ = writeln!(o, "worker {} · retry {}", m.worker, m.retry_policy);
    let _ = writeln!(o, "placement {}", m.placement_note);
    let _ = writeln!(o, "spot {}", m.interruptions);
    let _ = writeln!(o, "network {}", m.network);
    for a in &m.assumptions {
        let _ = writeln!(o, "assumed: {a}");
    }
    // a discount or a Savings Plan is among the assumptions above
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<34} {:>10} {:>23} {:>9} {:>9} {:>9}",
        "metric (over replications)", "mean", "95% CI of the mean", "p5", "p50", "p95"
    );
    let thirty_days = m.horizon_ms == 30 * 86_400_000;
    for (key, label, unit, st) in s.metrics.rows() {
        // over a 30-day horizon the horizon's cost is the 30-day cost: one row
        if key == "cost_usd" && thirty_days {
            continue;
        }
        let show = |v: f64| match unit {
            "fraction" => fmt::pct(v),
            "s" => fmt::duration(v),
            // a whole count reads as one: `90`, not `90.00`
            "count" if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
            _ => num(v),
        };
        let label = match (key, unit) {
            ("cost_usd", _) => format!("cost over {} (USD)", m.horizon),
            (_, "fraction") => format!("{label} (%)"),
            (_, "s") | (_, "count") => label.to_string(),
            (_, u) => format!("{label} ({u})"),
        };
        let ci = if st.n < 2 {
            "none from 1 replication".to_string()
        } else if st.sd <= 1e-12 * st.mean.abs().max(1.0)
            && st.ci95_high - st.ci95_low <= 1e-12 * st.mean.abs().max(1.0)
        {
            // the same in every replication (fixed by the configuration): no interval to give
            // (a rate's bound from its trials keeps its width: 0 crashes in N runs still bound it)
            "– (no spread)".to_string()
        } else {
            format!("[{}, {}]", show(st.ci95_low), show(st.ci95_high))
        };
        let _ = writeln!(
            o,
            "{:<34} {:>10} {:>23} {:>9} {:>9} {:>9}",
            fmt::clip(&label, 34),
            show(st.mean),
            ci,
            show(st.p5),
            show(st.p50),
            show(st.p95)
        );
    }
    let _ = writeln!(o);
    let _ = write!(
        o,
        "{}",
        objective_lines(&s.objectives_checked, m.objectives.confidence)
    );
    let _ = writeln!(o, "{}", bill_line(&s.metrics, m.horizon_ms));
    if let Some(r) = &s.metrics.deadline_rules {
        let _ = writeln!(o, "{}", fmt::wrap(&r.line(), fmt::WIDTH, "  "));
    }
    let _ = writeln!(
        o,
        "{}",
        fmt::wrap(&vcpu_line(&s.metrics.concurrent_vcpu), fmt::WIDTH, "  ")
    );
    let per30 = 30.0 * 86_400_000.0 / m.horizon_ms.max(1) as f64;
    let _ = write!(
        o,
        "{}",
        network_lines(&s.network, s.metrics.cost_usd.mean * per30)
    );
    if let Some(fix) = &s.init_fix {
        // a saving, or what it costs more, each with its interval the same way round
        let sign = if fix.saving_per_30d_usd.mean >= 0.0 {
            1.0
        } else {
            -1.0
        };
        let _ = writeln!(
            o,
            "{}",
            fmt::wrap(
                &format!(
                    "with an init in the containers of {} (linuxParameters.initProcessEnabled, which emit sets): {} USD per 30 days, {} {} USD [{}, {}] (paired); crashed or failed {} → {}",
                    fix.flows
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    num(fix.cost_per_30d_usd.mean),
                    if fix.saving_per_30d_usd.mean >= 0.0 {
                        "saving"
                    } else {
                        "costing more by"
                    },
                    num(sign * fix.saving_per_30d_usd.mean),
                    num((sign * fix.saving_per_30d_usd.ci95_low)
                        .min(sign * fix.saving_per_30d_usd.ci95_high)),
                    num((sign * fix.saving_per_30d_usd.ci95_low)
                        .max(sign * fix.saving_per_30d_usd.ci95_high)),
                    fmt::pct(s.metrics.crash_rate.mean),
                    fmt::pct(fix.crash_rate.mean)
                ),
                fmt::WIDTH,
                "  "
            )
        );
    }
    if !m.warnings.is_empty() {
        let _ = writeln!(o);
        for w in &m.warnings {
            let _ = writeln!(
                o,
                "{}",
                fmt::wrap(
                    &format!("warning[{}]: {}", w.code, w.message),
                    fmt::WIDTH,
                    "  "
                )
            );
        }
    }
    fit(&o)
}

/// The objectives checked on one simulation, each with its mean and one-sided bound against
/// its limit, and the reading they were checked under.
pub fn objective_lines(c: &crate::sweep::ObjectivesChecked, confidence: f64) -> String {
    use crate::sweep::objective::show;
    let mut o = String::new();
    if c.platform.is_empty() && c.deployments.is_empty() {
        let _ = writeln!(
            o,
            "objectives: none stated, nothing checked (`recommend` assumes relative ones: see              its header)"
        );
        return o;
    }
    let _ = writeln!(
        o,
        "{}",
        fmt::wrap(
            &format!(
                "objectives{}, checked at the simulated reading `{}` ({:.0}% bounds; `recommend`                  checks every reading):",
                if c.stated { "" } else { " (assumed)" },
                c.reading,
                100.0 * confidence
            ),
            fmt::WIDTH,
            "  "
        )
    );
    let line = |who: &str, ch: &crate::sweep::objective::Check| {
        let (mark, cmp) = if ch.met() {
            ("✓", "≤")
        } else {
            ("✗", ">")
        };
        format!(
            "  {who}{}: mean {}, upper bound {} {cmp} {} {mark}",
            ch.objective,
            show(ch.objective, ch.mean),
            show(ch.objective, ch.upper),
            show(ch.objective, ch.limit)
        )
    };
    for ch in &c.platform {
        let _ = writeln!(o, "{}", line("", ch));
    }
    for (name, ch) in &c.deployments {
        let _ = writeln!(o, "{}", line(&format!("`{name}` "), ch));
    }
    o
}

/// The bill's composition per 30 days with shares, largest first, and which part leads:
/// `bill per 30 days: worker 36.40 USD (67%), flows on FARGATE 12.00 USD (22%), … (the
/// worker is the largest part)`.
pub fn bill_line(m: &crate::sweep::Metrics, horizon_ms: u64) -> String {
    let per30 = 30.0 * 86_400_000.0 / horizon_ms.max(1) as f64;
    let total: f64 = m.bill().iter().map(|x| x.1).sum();
    let mut parts: Vec<(&str, f64)> = m.bill().into_iter().filter(|x| x.1 > 0.0).collect();
    parts.sort_by(|a, b| b.1.total_cmp(&a.1));
    if total <= 0.0 || parts.is_empty() {
        return "bill per 30 days: nothing billed".into();
    }
    let list: Vec<String> = parts
        .iter()
        .map(|(k, v)| format!("{k} {} USD ({:.0}%)", num(v * per30), 100.0 * v / total))
        .collect();
    format!(
        "bill per 30 days: {} (the {} is the largest part)",
        list.join(", "),
        parts[0].0
    )
}

/// The most vCPU at once on each provider, against the account's Fargate vCPU quotas:
/// `vCPU at once (p99 of each run's peak): FARGATE 5.0 (the worker 1.0 of it), FARGATE_SPOT 8.0;
/// the Fargate On-Demand and Spot vCPU quotas must hold them (plan checks)`.
pub fn vcpu_line(c: &crate::sweep::ConcurrentVcpu) -> String {
    let v = |x: f64| format!("{}", (x * 100.0).round() / 100.0);
    format!(
        "vCPU at once (p99 of the replications' peaks): FARGATE {} (the worker {} of it), FARGATE_SPOT {}; \
         the account's Fargate On-Demand and Spot vCPU quotas must hold them (`plan` checks)",
        v(c.fargate_p99),
        v(c.worker),
        v(c.fargate_spot_p99)
    )
}

/// The network options as a small table: each option's network charges per 30 days and what
/// it saves against the scenario's own network on the same runs (with its share of the whole
/// bill `bill_per30`), or why it is not offered; then what each rests on.
pub fn network_lines(options: &[crate::sweep::network::NetworkOption], bill_per30: f64) -> String {
    let mut o = String::new();
    if options.len() < 2 {
        return o;
    }
    let _ = writeln!(
        o,
        "network options (the same runs billed again; spotplan does not change your network):"
    );
    let mut unavailable: Vec<(&str, Vec<&str>)> = Vec::new();
    for opt in options {
        if let Some(why) = &opt.unavailable {
            match unavailable.iter_mut().find(|u| u.0 == why.as_str()) {
                Some(u) => u.1.push(&opt.name),
                None => unavailable.push((why, vec![&opt.name])),
            }
            continue;
        }
        let name = if opt.current {
            format!("{} (today)", opt.name)
        } else {
            opt.name.clone()
        };
        let figures = match (&opt.cost_per_30d_usd, &opt.saving_per_30d_usd) {
            (Some(c), Some(sv)) if !opt.current => {
                let share = if bill_per30 > 0.0 && sv.mean > 0.0 {
                    format!(" ({} of the bill)", fmt::pct(sv.mean / bill_per30))
                } else {
                    String::new()
                };
                let verb = if sv.mean >= 0.0 { "saves" } else { "costs" };
                format!(
                    "{:>10} USD/30d · {verb} {} USD/30d{share}",
                    num(c.mean),
                    num(sv.mean.abs())
                )
            }
            (Some(c), _) => format!("{:>10} USD/30d", num(c.mean)),
            _ => String::new(),
        };
        let _ = writeln!(o, "  {:<30} {figures}", fmt::clip(&name, 30));
        let notes = opt
            .caveat
            .map(str::to_string)
            .into_iter()
            .chain(opt.assumptions.iter().map(|a| format!("assumes {a}")));
        for n in notes {
            let _ = writeln!(o, "    {n}");
        }
    }
    for (why, names) in unavailable {
        let _ = writeln!(o, "  {}: {why}", names.join(", "));
    }
    o
}

/// Wraps every line of `text` longer than [`fmt::WIDTH`] at spaces (continuations indented).
pub fn fit(text: &str) -> String {
    fit_at(text, fmt::WIDTH)
}

/// [`fit`] at `width` columns.
pub fn fit_at(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(&fmt::wrap(line, width, "  "));
        out.push('\n');
    }
    out
}

/// Pretty JSON of the summary (deterministic: struct field order, shortest round-trip floats).
pub fn json(s: &Summary) -> String {
    serde_json::to_string_pretty(s).unwrap_or_default() + "\n"
}

/// CSV of the metrics: one row per metric.
pub fn csv(s: &Summary) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "metric",
        "unit",
        "n",
        "mean",
        "sd",
        "ci95_low",
        "ci95_high",
        "p5",
        "p50",
        "p95",
    ])?;
    for (key, _, unit, st) in s.metrics.rows() {
        w.write_record([
            key.to_string(),
            unit.to_string(),
            st.n.to_string(),
            st.mean.to_string(),
            st.sd.to_string(),
            st.ci95_low.to_string(),
            st.ci95_high.to_string(),
            st.p5.to_string(),
            st.p50.to_string(),
            st.p95.to_string(),
        ])?;
    }
    Ok(String::from_utf8_lossy(&w.into_inner().map_err(|e| e.into_error())?).into_owned())
}

/// CSV of every replication: its outcome fields (alphabetical) plus the baseline.
pub fn replications_csv(reps: &[Replication]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for (i, r) in reps.iter().enumerate() {
        let serde_json::Value::Object(mut map) =
            serde_json::to_value(&r.outcome).unwrap_or_default()
        else {
            continue;
        };
        // per-flow figures are nested; the CSV keeps the replication's scalars
        map.retain(|_, v| !(v.is_array() || v.is_object()));
        if i == 0 {
            let mut head: Vec<String> = map.keys().cloned().collect();
            head.push("baseline_cost_usd".into());
            head.push("saving_fraction".into());
            w.write_record(&head)?;
        }
        let mut row: Vec<String> = map.values().map(|v| v.to_string()).collect();
        row.push(r.baseline_cost_usd.to_string());
        row.push(r.saving_fraction().to_string());
        w.write_record(&row)?;
    }
    Ok(String::from_utf8_lossy(&w.into_inner().map_err(|e| e.into_error())?).into_owned())
}

/// Writes task events as JSON lines (`csv = false`) or CSV, with flow names.
pub fn write_trace(
    out: &mut dyn Write,
    s: &Scenario,
    events: &[TraceEvent],
    csv: bool,
) -> std::io::Result<()> {
    const HEAD: [&str; 8] = [
        "t_ms", "time", "flow", "run", "attempt", "event", "provider", "detail",
    ];
    let row = |e: &TraceEvent| -> [String; 8] {
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        [
            e.t_ms.to_string(),
            crate::model::SimTime(e.t_ms).to_string(),
            s.flows[e.flow as usize].name.clone(),
            e.run.to_string(),
            e.attempt.to_string(),
            kind,
            e.provider.map(|p| p.ecs_name()).unwrap_or("").to_string(),
            e.detail.to_cell(),
        ]
    };
    if csv {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(HEAD)?;
        for e in events {
            w.write_record(row(e))?;
        }
        w.flush()?;
    } else {
        for e in events {
            let r = row(e);
            let v = serde_json::json!({
                "t_ms": e.t_ms, "time": r[1], "flow": r[2], "run": e.run, "attempt": e.attempt,
                "event": r[5], "provider": e.provider.map(|p| p.ecs_name()), "detail": e.detail,
            });
            writeln!(out, "{v}")?;
        }
    }
    Ok(())
}
