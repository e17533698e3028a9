//! The page's first part: the decision (headline, other levers), the options side by side,
//! the deployments the pick changes, the bill by component and the objectives with their
//! limits, from [`crate::sweep::decision::Decision`].

use std::fmt::Write as _;

use super::prose;
use crate::sweep::decision::{Bill, Decision};
use crate::units::{duration, money, pct};

/// Changed deployments shown before the rest is folded.
pub(crate) const SHOWN_CHANGES: usize = 10;

/// The headline and the levers beside it.
pub(crate) fn headline(o: &mut String, d: &Decision, none: bool) {
    let _ = writeln!(
        o,
        "<h2 id=\"decision\">What to do</h2>\n<p class=\"todo{}\" id=\"headline\">{}</p>",
        if none { " none" } else { "" },
        prose(&d.headline)
    );
    for (k, line) in d.also.iter().enumerate() {
        let _ = writeln!(o, "<p class=\"lever\" id=\"also-{k}\">{}</p>", prose(line));
    }
}

/// Today, the pick and the insurance option side by side.
pub(crate) fn options(o: &mut String, d: &Decision) {
    if d.options.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<div class=\"scroll\"><table class=\"summary options\" id=\"options-table\"><tr><th class=\"l\"></th>"
    );
    for c in &d.options {
        let _ = write!(o, "<th class=\"l\">{}</th>", prose(c.name));
    }
    let _ = writeln!(o, "</tr>");
    let today = d.options.iter().find(|c| c.name == "today");
    let row = |o: &mut String,
               label: &str,
               cell: &dyn Fn(&crate::sweep::decision::OptionColumn) -> String| {
        let _ = write!(o, "<tr><th class=\"l\">{label}</th>");
        for c in &d.options {
            let _ = write!(o, "<td class=\"l\">{}</td>", cell(c));
        }
        let _ = writeln!(o, "</tr>");
    };
    row(o, "configuration", &|c| prose(&c.words));
    row(o, "cost per 30 days", &|c| {
        let mut t = money(c.cost_per_30d_usd);
        if let Some(t0) = today.filter(|t0| t0.name != c.name) {
            let d = t0.cost_per_30d_usd - c.cost_per_30d_usd;
            t.push_str(&format!(
                " <small>({} {})</small>",
                if d >= 0.0 { "saves" } else { "costs" },
                money(d.abs())
            ));
        }
        t
    });
    row(o, "crashed or failed runs", &|c| pct(c.crash_rate));
    if d.options.iter().any(|c| c.deadline_miss_rate.is_some()) {
        row(o, "deadline misses", &|c| {
            c.deadline_miss_rate.map(pct).unwrap_or_else(|| "–".into())
        });
    }
    row(o, "latency p95", &|c| {
        c.latency_p95_s.map(duration).unwrap_or_else(|| "–".into())
    });
    row(o, "task time on Fargate Spot", &|c| pct(c.spot_share));
    row(o, "meets every objective", &|c| {
        if c.meets_objectives {
            "yes"
        } else {
            "<b>no</b>"
        }
        .to_string()
    });
    let _ = writeln!(o, "</table></div>");
}

/// The deployments the pick changes: the first [`SHOWN_CHANGES`], the rest folded.
pub(crate) fn changes(o: &mut String, d: &Decision) {
    if d.changed.is_empty() {
        return;
    }
    let deadlines = d.changed.iter().any(|c| c.deadline_miss_rate.is_some());
    let _ = writeln!(
        o,
        "<h3 id=\"changes\">The deployments it changes ({} of {}, largest saving first)</h3>",
        d.changed.len(),
        d.changed.len() + d.unchanged
    );
    let header = format!(
        "<tr><th class=\"l\">deployment</th><th class=\"l\">today</th><th class=\"l\">the pick</th><th>saves per 30 days</th><th>crashed or failed</th>{}</tr>",
        if deadlines {
            "<th>deadline misses</th>"
        } else {
            ""
        }
    );
    let rows = |o: &mut String, from: usize, to: usize, id: &str| {
        let _ = writeln!(
            o,
            "<div class=\"scroll\"><table class=\"summary\" id=\"{id}\">{header}"
        );
        for c in &d.changed[from..to] {
            let two = |v: [f64; 2]| format!("{} → {}", pct(v[0]), pct(v[1]));
            let _ = writeln!(
                o,
                "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td>{}</tr>",
                prose(&c.deployment),
                prose(&c.today),
                prose(&c.pick),
                money(c.saving_per_30d_usd),
                two(c.crash_rate),
                if deadlines {
                    format!(
                        "<td>{}</td>",
                        c.deadline_miss_rate.map(two).unwrap_or_else(|| "–".into())
                    )
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(o, "</table></div>");
    };
    let shown = d.changed.len().min(SHOWN_CHANGES);
    rows(o, 0, shown, "deployments-table");
    if d.changed.len() > shown {
        let _ = writeln!(
            o,
            "<details id=\"more-changes\"><summary>{} more deployments it changes</summary>",
            d.changed.len() - shown
        );
        rows(o, shown, d.changed.len(), "more-deployments-table");
        let _ = writeln!(o, "</details>");
    }
    if d.unchanged > 0 {
        let _ = writeln!(
            o,
            "<p>{} deployment{} stay{} as {} today.</p>",
            d.unchanged,
            if d.unchanged == 1 { "" } else { "s" },
            if d.unchanged == 1 { "s" } else { "" },
            if d.unchanged == 1 {
                "it is"
            } else {
                "they are"
            }
        );
    }
}

/// Colours of the bill's parts (Okabe–Ito), in [`Decision::BILL_PARTS`]' order.
const PART_COLOURS: [&str; 5] = ["#0072B2", "#CC79A7", "#D55E00", "#009E73", "#E69F00"];

/// The bill by component as horizontal stacked bars (inline SVG, drawn to scale).
pub(crate) fn bills(o: &mut String, d: &Decision) {
    if d.bills.is_empty() {
        return;
    }
    let (left, width, bar, gap) = (230.0, 640.0, 30.0, 14.0);
    let max = d
        .bills
        .iter()
        .map(Bill::total)
        .fold(0.0, f64::max)
        .max(1e-9);
    let legend_y = 20.0 + d.bills.len() as f64 * (bar + gap) + 10.0;
    let height = legend_y + 30.0;
    let _ = writeln!(
        o,
        "<h3 id=\"bill\">The bill by component, per 30 days</h3><svg id=\"bill-chart\" viewBox=\"0 0 1000 {height}\" width=\"1000\" height=\"{height}\" role=\"img\" font-size=\"14\"><title>The bill by component</title>"
    );
    for (k, b) in d.bills.iter().enumerate() {
        let y = 10.0 + k as f64 * (bar + gap);
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + bar / 2.0 + 5.0,
            super::esc(&b.label)
        );
        let mut x = left;
        for (p, colour) in b.parts.iter().zip(PART_COLOURS) {
            let w = width * p.usd.max(0.0) / max;
            if w > 0.0 {
                let _ = writeln!(
                    o,
                    "<rect class=\"part\" data-part=\"{}\" data-usd=\"{:.4}\" x=\"{x:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{bar}\" fill=\"{colour}\"><title>{}: {}</title></rect>",
                    super::esc(p.part),
                    p.usd,
                    super::esc(p.part),
                    money(p.usd)
                );
            }
            x += w;
        }
        let _ = writeln!(
            o,
            "<text class=\"total\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x + 8.0,
            y + bar / 2.0 + 5.0,
            money(b.total())
        );
    }
    // the legend: the parts some bar has
    let mut x = 10.0;
    for (k, (name, colour)) in Decision::BILL_PARTS.iter().zip(PART_COLOURS).enumerate() {
        if d.bills.iter().all(|b| b.parts[k].usd <= 0.0) {
            continue;
        }
        let _ = writeln!(
            o,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\">{}</text>",
            legend_y,
            x + 16.0,
            legend_y + 11.0,
            super::esc(name)
        );
        x += 16.0 + 7.5 * name.chars().count() as f64 + 22.0;
    }
    let _ = writeln!(o, "</svg>");
}

/// The objectives with their limits, today and under the pick.
pub(crate) fn objectives(o: &mut String, d: &Decision, assumed: Option<&str>) {
    let _ = writeln!(o, "<h3 id=\"objectives\">The objectives</h3>");
    if let Some(a) = assumed {
        let _ = writeln!(o, "<p>The scenario states none; assumed: {}.</p>", prose(a));
    }
    if d.objectives.is_empty() {
        let _ = writeln!(
            o,
            "<p>No objective limits the choice: the cheapest configuration wins.</p>"
        );
        return;
    }
    let _ = writeln!(
        o,
        "<div class=\"scroll\"><table class=\"summary\" id=\"objectives-table\"><tr><th class=\"l\">objective</th><th>limit</th><th>today</th><th>the pick</th></tr>"
    );
    let cell = |v: &Option<(String, bool)>| match v {
        Some((x, true)) => format!("<td class=\"better\">{x} ✓</td>"),
        Some((x, false)) => format!("<td class=\"worse\">{x} ✗</td>"),
        None => "<td>–</td>".into(),
    };
    for r in &d.objectives {
        let _ = writeln!(
            o,
            "<tr><th class=\"l\">{}{}</th><td>{}</td>{}{}</tr>",
            prose(r.words),
            if r.binds {
                " <small>(binds the pick)</small>"
            } else {
                ""
            },
            prose(&r.limit),
            cell(&r.today),
            cell(&r.pick)
        );
    }
    let _ = writeln!(
        o,
        "</table></div><p><small>Each figure is the {:.0}% upper bound of the mean, the way the objectives are judged.</small></p>",
        100.0 * d.confidence
    );
}
