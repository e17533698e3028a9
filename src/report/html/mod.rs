//! The self-contained HTML report: charts inline (SVG), tables, assumptions.

use std::fmt::Write as _;

use super::charts::Chart;
use crate::sweep::recommend::Recommendation;
use crate::sweep::result::SweepResult;
use crate::units::num;

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Text written for the terminal, for the page: escaped, and each `name` the terminal marks
/// with backticks set as code, so that no backtick shows (an unpaired one is dropped).
pub(crate) fn prose(s: &str) -> String {
    let e = esc(s);
    let pairs = e.matches('`').count() / 2;
    let mut out = String::with_capacity(e.len() + 16 * pairs);
    let (mut open, mut seen) = (false, 0);
    for ch in e.chars() {
        if ch != '`' {
            out.push(ch);
            continue;
        }
        seen += 1;
        if seen > 2 * pairs {
            continue; // the unpaired last one
        }
        out.push_str(if open { "</code>" } else { "<code>" });
        open = !open;
    }
    out
}

/// The page's style: one column at most 1200 px wide; wide tables scroll inside their box,
/// never the page.
const STYLE: &str = "\
*{box-sizing:border-box}\
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em 1.5em;max-width:1200px;color:#111;line-height:1.4}\
h1{margin-bottom:.2em}p.sub{color:#555;margin-top:0}\
table{border-collapse:collapse;font-size:13px}\
td,th{border:1px solid #bbb;padding:3px 6px;text-align:right;vertical-align:top}\
td.l,th.l{text-align:left}tr.rec{background:#fde8d7}small{color:#666}\
#candidates-table td{white-space:nowrap}#candidates-table td.l{white-space:normal;min-width:11em}\
#candidates-table td.status{min-width:18em;white-space:normal}\
tr.pareto td:first-child{border-left:4px solid #E69F00}\
.scroll{overflow-x:auto;max-width:100%}\
h1{font-size:1.6em}.todo{font-size:1.15em;background:#eef5fb;border-left:5px solid #0072B2;padding:.6em 1em}\
.todo.none{background:#fdeeee;border-left-color:#D55E00}\
.lever{background:#f4f9f1;border-left:5px solid #009E73;padding:.4em 1em}\
table.summary td,table.summary th{font-size:14px;padding:5px 10px}\
table.options th.l{white-space:nowrap}table.summary.options td,table.summary.options th{padding:3px 8px}td.better{color:#00734f}td.worse{color:#b34700}\
pre{background:#f4f4f4;padding:1em;white-space:pre-wrap;overflow-wrap:anywhere}\
code{overflow-wrap:anywhere}\
figure{margin:1.5em 0}svg{max-width:100%;height:auto}figcaption{color:#555}";

/// A rate as a percentage; a cost in USD; seconds as a duration.
fn value(unit: &str, v: f64) -> String {
    match unit {
        "USD" => format!("{} USD", num(v)),
        _ => crate::units::in_unit(unit, v),
    }
}

mod decision;

/// When nothing is feasible: the nearest miss, in the objective's unit.
fn nearest_miss(o: &mut String, rec: &Recommendation) {
    if let Some(c) = &rec.closest {
        let show = |v: f64| crate::sweep::objective::show(c.objective, v);
        let _ = writeln!(
            o,
            "<p>Nearest miss: #{} <code>{}</code>: <code>{}</code> has a {:.0}% upper bound of {}, against a limit of {}. The best any candidate reaches on it is {} (#{}).</p>",
            c.candidate,
            prose(&c.label),
            c.objective,
            100.0 * rec.confidence,
            show(c.upper),
            show(c.limit),
            show(c.best),
            c.best_candidate
        );
    }
}

/// Today against the pick in detail: the paired differences with their intervals, today
/// under each placement reading, how sure the pick is, the network options.
fn detail(
    o: &mut String,
    r: &SweepResult,
    rec: &Recommendation,
    current: Option<&crate::sweep::compare::Current>,
) {
    let Some(i) = rec.candidate else {
        return;
    };
    let c = &r.candidates[i];
    let _ = writeln!(
        o,
        "<h3 id=\"detail\">Today against the pick, in detail</h3>"
    );
    match current.filter(|c| !c.same) {
        Some(cur) => {
            let _ = writeln!(
                o,
                "<div class=\"scroll\"><table class=\"summary\" id=\"summary-table\"><tr><th class=\"l\">per replication (means)</th><th>today</th><th>the pick</th><th>the pick − today (paired, 95%)</th></tr>"
            );
            for row in &cur.rows {
                let lower_is_better = !matches!(row.metric, "saving_fraction" | "spot_share");
                let d = row.b_minus_a.mean;
                // a difference too small to matter is not painted, however sure it is
                let material = match row.unit {
                    "USD" => d.abs() >= cur.material_usd,
                    "s" => d.abs() >= 0.05 * row.a.mean.abs().max(60.0),
                    _ => true,
                };
                let class = if !row.clear() || !material || row.metric == "spot_share" {
                    ""
                } else if (d < 0.0) == lower_is_better {
                    " class=\"better\""
                } else {
                    " class=\"worse\""
                };
                let _ = writeln!(
                    o,
                    "<tr><th class=\"l\">{}</th><td>{}</td><td>{}</td><td{}>{}</td></tr>",
                    prose(row.label),
                    row.show(row.a.mean),
                    row.show(row.b.mean),
                    class,
                    row.difference()
                );
            }
            let _ = writeln!(o, "</table></div>");
            let _ = writeln!(
                o,
                "<p>Today: <code>{}</code>. Green: clearly better; orange: clearly worse (the interval of the difference excludes 0, and the difference is large enough to matter). Differences of percentages are in points.</p>",
                prose(&cur.configuration)
            );
            if cur.readings.len() > 1 {
                let _ = writeln!(
                    o,
                    "<p>Your configuration under each placement reading (compared above at its costliest, <code>{}</code>):</p><ul>",
                    prose(&cur.worst_reading)
                );
                for x in &cur.readings {
                    let _ = writeln!(
                        o,
                        "<li><code>{}</code>: {} per 30 days, {} of task time on spot, {} crashed or failed, {} deadline misses</li>",
                        prose(&x.placement),
                        crate::units::money(x.cost_per_30d_usd.mean),
                        crate::units::pct(x.spot_share.mean),
                        crate::units::pct(x.crash_rate.mean),
                        crate::units::pct(x.deadline_miss_rate.mean)
                    );
                }
                let _ = writeln!(o, "</ul>");
            }
        }
        None => {
            let m = &c.metrics;
            let _ = writeln!(
                o,
                "<div class=\"scroll\"><table class=\"summary\" id=\"summary-table\"><tr><th class=\"l\">the pick</th><th>mean [95% CI]</th></tr>"
            );
            for (label, unit, st) in [
                ("cost per 30 days", "USD", &m.cost_per_30d_usd),
                ("saving vs all on demand", "fraction", &m.saving_fraction),
                ("crashed or failed", "fraction", &m.crash_rate),
                ("deadline misses", "fraction", &m.deadline_miss_rate),
                ("latency p95", "s", &m.latency_p95_s),
                ("spot share of task time", "fraction", &m.spot_share),
            ] {
                let _ = writeln!(
                    o,
                    "<tr><th class=\"l\">{}</th><td>{} [{}, {}]</td></tr>",
                    label,
                    value(unit, st.mean),
                    value(unit, st.ci95_low.max(0.0)),
                    value(unit, st.ci95_high)
                );
            }
            let _ = writeln!(o, "</table></div>");
        }
    }
    if let Some(cur) = current {
        if !cur.sensitivity.is_empty() {
            let _ = writeln!(
                o,
                "<h3>How sure the pick is</h3><p>{}</p>",
                prose(&super::sweep::sensitivity_lines(&cur.sensitivity))
                    .replace("\n  ", "<br>")
                    .replace('\n', " ")
            );
        }
        network(o, &cur.network);
    }
}

/// How to deploy the pick: the strategy, the retry policy, each deployment's job variables
/// (folded, as formatted JSON).
fn deploy(o: &mut String, rec: &Recommendation) {
    if rec.candidate.is_none() {
        return;
    }
    let _ = writeln!(o, "<h3 id=\"deploy\">How to deploy it</h3><ul>");
    let strategy = rec
        .ecs
        .get("capacityProviderStrategy")
        .map(|v| v.to_string())
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "<li>Capacity provider strategy of the work pool: <code>{}</code></li>",
        prose(&strategy)
    );
    if let Some(retry) = &rec.retry {
        let _ = writeln!(
            o,
            "<li>Retry policy: <code>{}</code>{}</li>",
            prose(retry),
            rec.deployment
                .as_ref()
                .map(|d| format!(" ({})", prose(d)))
                .unwrap_or_default()
        );
    }
    if let Some(v) = &rec.versus_uniform {
        let _ = writeln!(o, "<li>{}</li>", prose(v));
    }
    if let Some(p) = &rec.placement {
        let _ = writeln!(o, "<li>Placement assumed: {}</li>", prose(p));
    }
    let _ = writeln!(o, "</ul>");
    if !rec.deployments.is_empty() {
        let _ = writeln!(
            o,
            "<details id=\"job-variables\"><summary>Job variables of the {} deployments with their own</summary>",
            rec.deployments.len()
        );
        for d in &rec.deployments {
            let _ = writeln!(
                o,
                "<p><b>{}</b></p><pre>{}</pre>",
                prose(&d.flow),
                esc(&serde_json::to_string_pretty(&d.job_variables).unwrap_or_default())
            );
        }
        let _ = writeln!(o, "</details>");
    }
    let _ = writeln!(
        o,
        "<p><code>spotplan emit recommendation.json</code> writes the ECS, IAM and Prefect files for it.</p>"
    );
}

/// The network options, billed on the pick's runs.
fn network(o: &mut String, options: &[crate::sweep::network::NetworkOption]) {
    if options.len() < 2 {
        return;
    }
    let _ = writeln!(
        o,
        "<h3>Network options</h3><p>The recommended configuration's runs billed again under each way to wire the platform (spotplan does not change the network).</p><div class=\"scroll\"><table class=\"summary\" id=\"network-table\"><tr><th class=\"l\">network</th><th>network per 30 days</th><th>saves per 30 days</th><th class=\"l\">what it takes</th></tr>"
    );
    for n in options {
        let money = |v: Option<f64>| v.map(|x| format!("${}", crate::units::num(x)));
        let what = n
            .unavailable
            .iter()
            .chain(
                &n.assumptions
                    .iter()
                    .map(|a| format!("assumes {a}"))
                    .collect::<Vec<_>>(),
            )
            .fold(prose(&n.what), |acc, x| {
                format!("{acc}<br><i>{}</i>", prose(x))
            });
        let _ = writeln!(
            o,
            "<tr><th class=\"l\">{}{}</th><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            prose(&n.name),
            if n.current { " (today)" } else { "" },
            money(n.cost_per_30d_usd.as_ref().map(|c| c.mean)).unwrap_or_else(|| "—".into()),
            if n.current {
                "—".into()
            } else {
                money(n.saving_per_30d_usd.as_ref().map(|c| c.mean)).unwrap_or_else(|| "—".into())
            },
            what
        );
    }
    let _ = writeln!(o, "</table></div>");
}

/// The report page: the summary first (what to do, current against recommended, what to
/// change), then the candidates, the charts, the assumptions and the full text.
pub(crate) fn page(
    r: &SweepResult,
    rec: &Recommendation,
    charts: &[Chart],
    recommendation_text: &str,
    current: Option<&crate::sweep::compare::Current>,
    d: &crate::sweep::decision::Decision,
) -> String {
    let m = &r.meta;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>spotplan report: {}</title>\n<style>{STYLE}</style></head><body>\n",
        prose(&m.scenario)
    );
    let _ = writeln!(
        o,
        "<h1>spotplan report</h1><p class=\"sub\"><b>{}</b> ({}) · {} {} · seed {} · horizon {} · {}</p>",
        prose(&m.scenario),
        prose(&m.file),
        prose(m.tool),
        prose(m.version),
        m.seed,
        prose(&m.horizon),
        prose(&m.region)
    );
    decision::headline(&mut o, d, rec.candidate.is_none());
    nearest_miss(&mut o, rec);
    decision::options(&mut o, d);
    decision::changes(&mut o, d);
    decision::bills(&mut o, d);
    decision::objectives(&mut o, d, m.objectives.assumed.as_deref());
    deploy(&mut o, rec);
    detail(&mut o, r, rec, current);
    let _ = writeln!(o, "<h2 id=\"charts\">Charts</h2>");
    for c in charts {
        let body = c.svg.find("<svg").map(|i| &c.svg[i..]).unwrap_or(&c.svg);
        let _ = writeln!(
            o,
            "<figure id=\"chart-{0}\">{1}<figcaption>{2} (<a href=\"{0}.svg\">SVG</a>, <a href=\"{0}.png\">PNG</a>)</figcaption></figure>",
            c.name,
            body,
            prose(c.title)
        );
    }
    let _ = writeln!(
        o,
        "<h2 id=\"assumptions\">Assumptions</h2><div class=\"scroll\"><table id=\"assumptions-table\">"
    );
    let rows: Vec<(&str, String)> = vec![
        ("tool", format!("{} {}", m.tool, m.version)),
        ("scenario hash", m.scenario_hash.clone()),
        ("seed", m.seed.to_string()),
        (
            "replications per candidate (up to)",
            m.replications.to_string(),
        ),
        ("horizon", m.horizon.clone()),
        ("region", m.region.clone()),
        (
            "price source",
            format!(
                "{} as of {} ({})",
                m.price_source.kind, m.price_source.as_of, m.price_source.detail
            ),
        ),
        (
            "placement",
            format!(
                "{}; the candidates' placement (robust: every reading, costed at the worst) is in the table",
                m.placement_note
            ),
        ),
        ("network", m.network.clone()),
        (
            "on-demand Fargate rates",
            match &m.savings_plan {
                Some(p) => p.describe(),
                None if m.on_demand_discount > 0.0 => format!(
                    "{:.1}% off, flat (an approximation of a Savings Plan; never on FARGATE_SPOT)",
                    100.0 * m.on_demand_discount
                ),
                None => "on-demand, no discount".to_string(),
            },
        ),
        ("worker", m.worker.to_string()),
        ("retry policy of the scenario", m.retry_policy.to_string()),
        ("interruption model", m.interruptions.clone()),
        (
            "strategy of the scenario",
            format!("{} ({})", m.strategy, m.strategy_source),
        ),
        (
            "objectives",
            match m.objectives.assumed.as_deref() {
                Some(a) => format!("assumed: {a}"),
                None => "the scenario's own (in the status column of the candidates)".into(),
            },
        ),
        (
            "search",
            format!(
                "{}; {} of {} candidate-replications run ({:.0}% saved){}",
                if r.search.adaptive {
                    "adaptive racing"
                } else {
                    "full grid"
                },
                r.search.cells_run,
                r.search.cells_full,
                100.0 * r.search.saving,
                if r.search.interrupted {
                    "; interrupted"
                } else {
                    ""
                }
            ),
        ),
        (
            "confidence of the objectives",
            format!("{:.0}%", 100.0 * rec.confidence),
        ),
    ];
    let assumed = m.assumptions.iter().map(|a| ("assumption", a.clone()));
    for (k, v) in rows.into_iter().chain(assumed) {
        let _ = writeln!(
            o,
            "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td></tr>",
            prose(k),
            prose(&v)
        );
    }
    let _ = writeln!(o, "</table></div>");
    if !m.warnings.is_empty() {
        let _ = writeln!(o, "<h3>Warnings</h3><ul>");
        for w in &m.warnings {
            let _ = writeln!(
                o,
                "<li><b>{}</b>: {}</li>",
                prose(w.code),
                prose(&w.message)
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    candidates(&mut o, r, rec);
    let _ = writeln!(
        o,
        "<h2 id=\"full-text\">The recommendation in full</h2><details><summary>As <code>spotplan recommend</code> prints it</summary><pre>{}</pre></details>",
        prose(recommendation_text)
    );
    let _ = writeln!(o, "</body></html>");
    o
}

/// The candidates' table (it scrolls inside its box when wider than the page).
fn candidates(o: &mut String, r: &SweepResult, rec: &Recommendation) {
    let _ = writeln!(
        o,
        "<h2 id=\"candidates\">Every candidate</h2><details id=\"candidates-fold\"><summary>{} configurations simulated; {} meet every objective</summary><p>Means with 95% confidence intervals, each from the placement reading that decides it. Orange edge: Pareto front; shaded: the pick. Data: <a href=\"sweep.json\">sweep.json</a>, <a href=\"sweep.csv\">sweep.csv</a>, <a href=\"recommendation.json\">recommendation.json</a>.</p>",
        r.candidates.len(),
        r.candidates.iter().filter(|c| c.feasible).count()
    );
    let _ = writeln!(
        o,
        "<div class=\"scroll\"><table id=\"candidates-table\"><tr><th class=\"l\">status</th><th>#</th><th class=\"l\">candidate</th><th>n</th><th>cost / 30 d (USD)</th><th>over the readings (USD)</th><th>saving</th><th>spot share</th><th>crashed or failed</th><th>deadline misses</th><th>p95 latency</th><th>p99 latency</th></tr>"
    );
    // the mean, and its interval below it in small type
    let ci = |s: &crate::sweep::Stat, unit: &str| {
        let (lo, hi) = if unit == "fraction" {
            (s.ci95_low.max(0.0), s.ci95_high.min(1.0))
        } else {
            (s.ci95_low, s.ci95_high)
        };
        let v = |x: f64| match unit {
            "USD" => num(x),
            _ => value(unit, x),
        };
        format!("{}<br><small>{} – {}</small>", v(s.mean), v(lo), v(hi))
    };
    for c in &r.candidates {
        let mut class = Vec::new();
        if rec.candidate == Some(c.candidate.index) {
            class.push("rec");
        }
        if c.pareto {
            class.push("pareto");
        }
        let mut status = c
            .why_not()
            .unwrap_or_else(|| "meets every objective".into());
        if !c.deployable {
            status.push_str("; ");
            status.push_str(&c.deployment);
        }
        // each cell from the reading that decides it (named when there are several)
        let cell = |metric: &str, unit: &str| {
            let (st, reading) = c.deciding(metric);
            let mut t = ci(&st, unit);
            if c.readings.len() > 1 {
                t.push_str(&format!("<br><small>{}</small>", prose(&reading)));
            }
            t
        };
        let range = if c.readings.len() > 1 {
            format!(
                "{}–{} (worst: {})",
                num(c.cost_range_per_30d_usd[0]),
                num(c.cost_range_per_30d_usd[1]),
                c.worst_reading
            )
        } else {
            "one reading".into()
        };
        let _ = writeln!(
            o,
            "<tr class=\"{}\"><td class=\"l status\">{}</td><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            class.join(" "),
            prose(&status),
            c.candidate.index,
            prose(&c.label),
            c.replications,
            cell("cost_per_30d_usd", "USD"),
            prose(&range),
            cell("saving_fraction", "fraction"),
            cell("spot_share", "fraction"),
            cell("crash_rate", "fraction"),
            cell("deadline_miss_rate", "fraction"),
            cell("latency_p95_s", "s"),
            cell("latency_p99_s", "s"),
        );
    }
    let _ = writeln!(o, "</table></div></details>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_backticks_become_code_and_none_is_left() {
        assert_eq!(
            prose("set `engine_startup` for `a<b>`"),
            "set <code>engine_startup</code> for <code>a&lt;b&gt;</code>"
        );
        assert_eq!(
            prose("one ` left `x` over"),
            "one <code> left </code>x over"
        );
        assert!(!prose("a ` b ` c `").contains('`'));
    }
}
