//! The self-contained HTML report: charts inline (SVG), tables, assumptions.

use std::fmt::Write as _;

use super::charts::Chart;
use super::num;
use crate::sweep::recommend::{ArticleCheck, Recommendation};
use crate::sweep::result::SweepResult;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report page.
pub fn page(
    r: &SweepResult,
    rec: &Recommendation,
    article: &[ArticleCheck],
    charts: &[Chart],
    recommendation_text: &str,
) -> String {
    let m = &r.meta;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>spotplan report: {}</title>\n<style>\
body{{font-family:sans-serif;margin:2em;max-width:1300px;color:#111}}table{{border-collapse:collapse;font-size:13px}}\
td,th{{border:1px solid #bbb;padding:3px 6px;text-align:right}}td.l,th.l{{text-align:left}}tr.rec{{background:#fde8d7}}\
tr.pareto td:first-child{{border-left:4px solid #E69F00}}pre{{background:#f4f4f4;padding:1em;overflow-x:auto}}\
figure{{margin:1.5em 0}}svg{{max-width:100%;height:auto}}</style></head><body>\n",
        esc(&m.scenario)
    );
    let _ = writeln!(
        o,
        "<h1>spotplan report</h1><p><b>{}</b> ({})</p>",
        esc(&m.scenario),
        esc(&m.file)
    );
    let _ = writeln!(
        o,
        "<h2 id=\"recommendation\">Recommendation</h2><pre>{}</pre>",
        esc(recommendation_text)
    );
    let _ = writeln!(o, "<h2 id=\"assumptions\">Assumptions</h2><table>");
    let rows: Vec<(&str, String)> = vec![
        ("tool", format!("{} {}", m.tool, m.version)),
        ("scenario hash", m.scenario_hash.clone()),
        ("seed", m.seed.to_string()),
        ("replications per candidate (up to)", m.replications.to_string()),
        ("horizon", m.horizon.clone()),
        ("region", m.region.clone()),
        ("price source", format!("{} as of {} ({})", m.price_source.kind, m.price_source.as_of, m.price_source.detail)),
        ("placement", format!(
            "{}; the candidates' placement (robust: every reading, costed at the worst) is in the table",
            m.placement_note
        )),
        ("network", m.network.clone()),
        ("on-demand discount", format!("{:.1}% (never on FARGATE_SPOT)", 100.0 * m.on_demand_discount)),
        ("worker", m.worker.to_string()),
        ("retry policy of the scenario", m.retry_policy.to_string()),
        ("interruption model", "Poisson hazard per running spot task-hour with the scenario's hour-of-day multipliers, reclaim waves, capacity outages and traces; see the scenario file".into()),
        ("search", format!(
            "{}; {} of {} candidate-replications run ({:.0}% saved){}",
            if r.search.adaptive { "adaptive racing" } else { "full grid" },
            r.search.cells_run,
            r.search.cells_full,
            100.0 * r.search.saving,
            if r.search.interrupted { "; interrupted" } else { "" }
        )),
        ("confidence of the objectives", format!("{:.0}%", 100.0 * rec.confidence)),
    ];
    for (k, v) in rows {
        let _ = writeln!(
            o,
            "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td></tr>",
            esc(k),
            esc(&v)
        );
    }
    let _ = writeln!(o, "</table>");
    if !m.warnings.is_empty() {
        let _ = writeln!(o, "<h3>Warnings</h3><ul>");
        for w in &m.warnings {
            let _ = writeln!(o, "<li><b>{}</b>: {}</li>", esc(w.code), esc(&w.message));
        }
        let _ = writeln!(o, "</ul>");
    }
    if !article.is_empty() {
        let _ = writeln!(
            o,
            "<h2 id=\"article\">The original article's configuration</h2><ul>"
        );
        for a in article {
            let _ = writeln!(o, "<li>{}</li>", esc(&a.note));
        }
        let _ = writeln!(o, "</ul>");
    }
    let _ = writeln!(o, "<h2 id=\"charts\">Charts</h2>");
    for c in charts {
        let body = c.svg.find("<svg").map(|i| &c.svg[i..]).unwrap_or(&c.svg);
        let _ = writeln!(
            o,
            "<figure id=\"chart-{0}\">{1}<figcaption>{2} (<a href=\"{0}.svg\">SVG</a>, <a href=\"{0}.png\">PNG</a>)</figcaption></figure>",
            c.name,
            body,
            esc(c.title)
        );
    }
    let _ = writeln!(
        o,
        "<h2 id=\"candidates\">Candidates</h2><p>Means with 95% confidence intervals. Orange edge: Pareto front; shaded: recommendation. Data: <a href=\"sweep.json\">sweep.json</a>, <a href=\"sweep.csv\">sweep.csv</a>, <a href=\"recommendation.json\">recommendation.json</a>.</p>"
    );
    let _ = writeln!(
        o,
        "<table id=\"candidates-table\"><tr><th>#</th><th class=\"l\">candidate</th><th>n</th><th>cost / 30 d (USD)</th><th>over the readings (USD)</th><th>saving (%)</th><th>spot share (%)</th><th>crashed or failed (%)</th><th>deadline misses (%)</th><th>p95 latency (s)</th><th>p99 latency (s)</th><th class=\"l\">status</th></tr>"
    );
    let ci = |s: &crate::sweep::Stat, k: f64| {
        format!(
            "{} [{}, {}]",
            num(k * s.mean),
            num(k * s.ci95_low),
            num(k * s.ci95_high)
        )
    };
    for c in &r.candidates {
        let mm = &c.metrics;
        let mut class = Vec::new();
        if rec.candidate == Some(c.candidate.index) {
            class.push("rec");
        }
        if c.pareto {
            class.push("pareto");
        }
        let mut status = if let Some(e) = &c.eliminated {
            format!("dropped: {e}")
        } else if c.feasible {
            "meets every objective".into()
        } else {
            let failed: Vec<&str> = c
                .checks
                .iter()
                .filter(|x| !x.met())
                .map(|x| x.objective)
                .collect();
            if failed.is_empty() {
                "—".into()
            } else {
                format!("misses {}", failed.join(", "))
            }
        };
        if !c.deployable {
            status.push_str("; needs your own code");
        }
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
            "<tr class=\"{}\"><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            class.join(" "),
            c.candidate.index,
            esc(&c.label),
            c.replications,
            ci(&mm.cost_per_30d_usd, 1.0),
            esc(&range),
            ci(&mm.saving_fraction, 100.0),
            ci(&mm.spot_share, 100.0),
            ci(&mm.crash_rate, 100.0),
            ci(&mm.deadline_miss_rate, 100.0),
            ci(&mm.latency_p95_s, 1.0),
            ci(&mm.latency_p99_s, 1.0),
            esc(&status)
        );
    }
    let _ = writeln!(o, "</table></body></html>");
    o
}
