//! Charts (plotters, pure Rust): SVG and PNG, 1200×800, an embedded font (DejaVu Sans) so no
//! system fonts are needed, and the Okabe–Ito colour-blind-safe palette.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::model::Provider;
use crate::sweep::figures::{
    CostHistogram, Figures, Frontier, LatencyPanel, Limit, Marked, SavingSeries, Timeline,
};

/// Chart size, pixels.
pub const SIZE: (u32, u32) = (1200, 800);

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // the embedded font is part of the build; a failure here is a build defect
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Okabe–Ito colours.
pub const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
/// Orange.
pub const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
/// Sky blue.
pub const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
/// Bluish green.
pub const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
/// Vermillion.
pub const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
/// Reddish purple.
pub const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
/// Light grey for confidence intervals.
const CI: RGBColor = RGBColor(0xC8, 0xC8, 0xC8);
/// Grey for references.
pub const GREY: RGBColor = RGBColor(0x66, 0x66, 0x66);
const SERIES: [RGBColor; 6] = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY];

/// Radius of a candidate's marker on the frontier chart (tests find the points by it).
pub const POINT_RADIUS: i32 = 5;

type R = Result<(), String>;

trait Ctx<T> {
    fn m(self) -> Result<T, String>;
}
impl<T, E: std::fmt::Debug> Ctx<T> for Result<T, E> {
    fn m(self) -> Result<T, String> {
        self.map_err(|e| format!("cannot draw the chart: {e:?}"))
    }
}

fn pad(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let span = (hi - lo).abs().max(1e-9);
    (lo - frac * span, hi + frac * span)
}

type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type Area<DB> = DrawingArea<DB, Shift>;

/// Tick labels: a percentage (`10%`), US dollars, a whole number (blank between whole
/// numbers), or names of whole numbers (from 1).
#[derive(Clone, Copy)]
enum Ticks<'a> {
    Percent,
    Usd,
    Whole,
    Names(&'a [String]),
}

impl Ticks<'_> {
    fn label(self, v: f64) -> String {
        let whole = (v - v.round()).abs() < 1e-6;
        match self {
            Ticks::Percent => format!("{}%", crate::units::short(v)),
            Ticks::Usd => crate::units::money(v),
            Ticks::Whole if whole => format!("{}", v.round() as i64),
            Ticks::Names(names) if whole && v >= 1.0 => names
                .get(v.round() as usize - 1)
                .cloned()
                .unwrap_or_default(),
            Ticks::Whole | Ticks::Names(_) => String::new(),
        }
    }
}

/// A legend entry's sample.
#[derive(Clone, Copy)]
enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Dot(RGBColor),
    Ring(RGBColor),
    Diamond(RGBColor),
    Cross(RGBColor),
    Block(RGBColor, f64),
}

const LEGEND_FONT: u32 = 18;
const LEGEND_ROW: i32 = 30;
const MARGIN: i32 = 24;

/// Lays out the legend below the plot (never over the data): entries in rows, long labels
/// cut with `…`. Returns the rows as `(swatch, label, x)`.
fn legend_rows<DB: DrawingBackend>(
    root: &Area<DB>,
    items: &[(Swatch, String)],
) -> Vec<Vec<(Swatch, String, i32)>> {
    let style = TextStyle::from(("sans-serif", LEGEND_FONT).into_font());
    let width = root.dim_in_pixel().0 as i32 - 2 * MARGIN;
    let text_w = |t: &str| {
        root.estimate_text_size(t, &style)
            .map(|s| s.0 as i32)
            .unwrap_or(t.chars().count() as i32 * 10)
    };
    let mut rows: Vec<Vec<(Swatch, String, i32)>> = vec![Vec::new()];
    let mut x = 0;
    for (sw, label) in items {
        let mut label = label.clone();
        while text_w(&label) > width - 60 && label.chars().count() > 4 {
            let n = label.chars().count();
            label = label.chars().take(n - 4).collect::<String>() + "…";
        }
        let w = 40 + text_w(&label) + 30;
        if x > 0 && x + w > width {
            rows.push(Vec::new());
            x = 0;
        }
        if let Some(row) = rows.last_mut() {
            row.push((*sw, label, x));
        }
        x += w;
    }
    rows
}

fn draw_swatch<DB: DrawingBackend>(a: &Area<DB>, sw: Swatch, x: i32, y: i32) -> R {
    match sw {
        Swatch::Line(c) => a
            .draw(&PathElement::new(
                vec![(x, y), (x + 30, y)],
                c.stroke_width(3),
            ))
            .m(),
        Swatch::Dashed(c) => a
            .draw(&DashedPathElement::new(
                vec![(x, y), (x + 30, y)],
                6,
                4,
                c.stroke_width(2),
            ))
            .m(),
        Swatch::Dot(c) => a.draw(&Circle::new((x + 15, y), 7, c.filled())).m(),
        Swatch::Ring(c) => a.draw(&Circle::new((x + 15, y), 7, c.stroke_width(2))).m(),
        Swatch::Diamond(c) => a
            .draw(&Polygon::new(
                vec![(x + 15, y - 9), (x + 24, y), (x + 15, y + 9), (x + 6, y)],
                c.filled(),
            ))
            .m(),
        Swatch::Cross(c) => a.draw(&Cross::new((x + 15, y), 7, c.stroke_width(3))).m(),
        Swatch::Block(c, alpha) => a
            .draw(&Rectangle::new(
                [(x + 3, y - 8), (x + 27, y + 8)],
                c.mix(alpha).filled(),
            ))
            .m(),
    }
}

/// White background; the legend in a strip at the bottom; returns the plot's area.
fn layout<DB: DrawingBackend>(
    root: &Area<DB>,
    items: &[(Swatch, String)],
) -> Result<Area<DB>, String> {
    root.fill(&WHITE).m()?;
    let rows = legend_rows(root, items);
    let strip = rows.len() as i32 * LEGEND_ROW + 12;
    let (plot, legend) = root.split_vertically(root.dim_in_pixel().1 as i32 - strip);
    let style = TextStyle::from(("sans-serif", LEGEND_FONT).into_font())
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (k, row) in rows.iter().enumerate() {
        let y = k as i32 * LEGEND_ROW + LEGEND_ROW / 2;
        for (sw, label, x) in row {
            let x = MARGIN + x;
            draw_swatch(&legend, *sw, x, y)?;
            legend.draw_text(label, &style, (x + 40, y)).m()?;
        }
    }
    Ok(plot)
}

/// Caption, axes with unit labels and tick formats, the shared fonts.
#[allow(clippy::too_many_arguments)]
fn frame<'a, DB: DrawingBackend>(
    area: &'a Area<DB>,
    (title, title_size): (&str, u32),
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (x_desc, x_ticks): (&str, Ticks<'_>),
    (y_desc, y_ticks): (&str, Ticks<'_>),
    y_count: usize,
) -> Result<Chart2d<'a, DB>, String> {
    // names on the y axis need room
    let y_label_area = match y_ticks {
        Ticks::Names(names) => {
            60 + 9 * names.iter().map(|n| n.chars().count()).max().unwrap_or(0) as u32
        }
        _ => 110,
    }
    .min(360);
    let mut ch = ChartBuilder::on(area)
        .caption(title, ("sans-serif", title_size))
        .margin(MARGIN as u32)
        .x_label_area_size(70)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(x, y)
        .m()?;
    let xf = move |v: &f64| x_ticks.label(*v);
    let yf = move |v: &f64| y_ticks.label(*v);
    ch.configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .y_labels(y_count)
        .label_style(("sans-serif", 20))
        .axis_desc_style(("sans-serif", 22))
        .draw()
        .m()?;
    Ok(ch)
}

/// Text beside a point of the plot: to its right, or to its left in the right fifth of the
/// plot (so it stays inside).
fn note<DB: DrawingBackend>(ch: &mut Chart2d<'_, DB>, at: (f64, f64), text: &str, dy: i32) -> R {
    let xr = ch.x_range();
    let left = at.0 > xr.start + 0.8 * (xr.end - xr.start);
    let (h, dx) = if left {
        (HPos::Right, -14)
    } else {
        (HPos::Left, 14)
    };
    let style = TextStyle::from(("sans-serif", 18).into_font()).pos(Pos::new(h, VPos::Center));
    ch.draw_series(std::iter::once(
        EmptyElement::at(at) + Text::new(text.to_string(), (dx, dy), style),
    ))
    .m()
    .map(|_| ())
}

/// A dashed line across the plot at an objective's limit, labelled at its end.
fn limit_line<DB: DrawingBackend>(
    ch: &mut Chart2d<'_, DB>,
    l: &Limit,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> R {
    let (a, b, at) = if l.axis == "x" {
        ((l.value, y0), (l.value, y1), (l.value, y1))
    } else {
        ((x0, l.value), (x1, l.value), (x0, l.value))
    };
    ch.draw_series(std::iter::once(DashedPathElement::new(
        vec![a, b],
        8,
        6,
        VERMILLION.stroke_width(2),
    )))
    .m()?;
    note(ch, at, &l.label, if l.axis == "x" { 12 } else { -14 })
}

/// One colour per retry policy, in order of appearance.
fn policy_colours(names: impl Iterator<Item = String>) -> Vec<(String, RGBColor)> {
    let mut out: Vec<(String, RGBColor)> = Vec::new();
    for n in names {
        if !out.iter().any(|(m, _)| *m == n) {
            let c = SERIES[out.len() % SERIES.len()];
            out.push((n, c));
        }
    }
    out
}

fn frontier<DB: DrawingBackend>(root: &Area<DB>, f: &Frontier, crashes: Option<&Frontier>) -> R {
    let colours = policy_colours(
        f.points
            .iter()
            .chain(crashes.iter().flat_map(|c| c.points.iter()))
            .map(|p| p.retry.clone()),
    );
    let mut items: Vec<(Swatch, String)> = colours
        .iter()
        .map(|(n, c)| (Swatch::Dot(*c), n.clone()))
        .collect();
    items.push((Swatch::Ring(GREY), "hollow: misses an objective".into()));
    items.push((Swatch::Line(GREY), "Pareto front".into()));
    if f.recommended.is_some() {
        items.push((Swatch::Ring(BLACK), "recommended".into()));
    }
    if let Some(c) = &f.current {
        items.push((Swatch::Diamond(BLACK), c.label.clone()));
    }
    if !f.limits.is_empty() || crashes.is_some_and(|c| !c.limits.is_empty()) {
        items.push((Swatch::Dashed(VERMILLION), "objective limit".into()));
    }
    let plot = layout(root, &items)?;
    match crashes {
        None => frontier_panel(&plot, f, &colours, 30)?,
        Some(c) => {
            let (left, right) = plot.split_horizontally(plot.dim_in_pixel().0 / 2);
            frontier_panel(&left, f, &colours, 22)?;
            frontier_panel(&right, c, &colours, 22)?;
        }
    }
    root.present().m()
}

/// One panel of chart 1: cost against one rate.
fn frontier_panel<DB: DrawingBackend>(
    plot: &Area<DB>,
    f: &Frontier,
    colours: &[(String, RGBColor)],
    title_size: u32,
) -> R {
    let colour = |r: &str| {
        colours
            .iter()
            .find(|(n, _)| n == r)
            .map(|x| x.1)
            .unwrap_or(BLUE)
    };
    let xs = f
        .points
        .iter()
        .map(|p| p.x_hi)
        .chain(f.current.iter().map(|c| c.x))
        .chain(f.limits.iter().filter(|l| l.axis == "x").map(|l| l.value));
    let (x0, x1) = pad(0.0, xs.fold(0.0, f64::max), 0.08);
    let ys_lo = f
        .points
        .iter()
        .map(|p| p.y_lo)
        .chain(f.current.iter().map(|c| c.y));
    let ys_hi = f
        .points
        .iter()
        .map(|p| p.y_hi)
        .chain(f.current.iter().map(|c| c.y));
    let (y0, y1) = pad(
        ys_lo.fold(f64::INFINITY, f64::min),
        ys_hi.fold(f64::NEG_INFINITY, f64::max),
        0.08,
    );
    let (x0, x1) = (x0.min(0.0), x1);
    let title = if title_size < 30 {
        format!("Cost vs {}", f.x_label.trim_end_matches(" (%)"))
    } else {
        "Cost vs reliability of every candidate (95% CIs)".to_string()
    };
    let mut ch = frame(
        plot,
        (&title, title_size),
        x0..x1,
        y0..y1,
        (f.x_label.as_str(), Ticks::Percent),
        ("cost per 30 days (USD)", Ticks::Usd),
        10,
    )?;
    for l in &f.limits {
        // a cost limit off the chart is not drawn (every candidate is far below it)
        if l.axis == "y" && !(y0..=y1).contains(&l.value) {
            continue;
        }
        limit_line(&mut ch, l, (x0, x1), (y0, y1))?;
    }
    ch.draw_series(
        f.points
            .iter()
            .map(|p| PathElement::new(vec![(p.x, p.y_lo), (p.x, p.y_hi)], CI.stroke_width(2))),
    )
    .m()?;
    ch.draw_series(
        f.points
            .iter()
            .map(|p| PathElement::new(vec![(p.x_lo, p.y), (p.x_hi, p.y)], CI.stroke_width(2))),
    )
    .m()?;
    let front: Vec<(f64, f64)> = f
        .front
        .iter()
        .map(|&i| (f.points[i].x, f.points[i].y))
        .collect();
    ch.draw_series(LineSeries::new(front, GREY.stroke_width(3)))
        .m()?;
    ch.draw_series(f.points.iter().map(|p| {
        let c = colour(&p.retry);
        let style = if p.feasible {
            c.filled()
        } else {
            c.stroke_width(2)
        };
        Circle::new((p.x, p.y), POINT_RADIUS, style)
    }))
    .m()?;
    if let Some(i) = f.recommended {
        let p = &f.points[i];
        ch.draw_series(std::iter::once(Circle::new(
            (p.x, p.y),
            12,
            BLACK.stroke_width(3),
        )))
        .m()?;
        note(&mut ch, (p.x, p.y), "recommended", -18)?;
    }
    if let Some(c) = &f.current {
        ch.draw_series(std::iter::once(
            EmptyElement::at((c.x, c.y))
                + Polygon::new(vec![(0, -10), (10, 0), (0, 10), (-10, 0)], BLACK.filled()),
        ))
        .m()?;
        note(&mut ch, (c.x, c.y), "current", 18)?;
    }
    Ok(())
}

fn saving<DB: DrawingBackend>(
    root: &Area<DB>,
    series: &[SavingSeries],
    current: Option<&Marked>,
    per_deployment: &[Marked],
) -> R {
    let mut items: Vec<(Swatch, String)> = series
        .iter()
        .enumerate()
        .map(|(k, s)| (Swatch::Line(SERIES[k % SERIES.len()]), s.name.clone()))
        .collect();
    items.push((Swatch::Dot(GREY), "meets every objective".into()));
    items.push((Swatch::Ring(GREY), "misses one".into()));
    if !per_deployment.is_empty() {
        items.push((
            Swatch::Cross(VERMILLION),
            "per-deployment candidate (at its share of task time on spot)".into(),
        ));
    }
    if let Some(c) = current {
        items.push((Swatch::Diamond(BLACK), c.label.clone()));
    }
    let plot = layout(root, &items)?;
    let all = series.iter().flat_map(|s| s.points.iter());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.2), a.1.max(p.3))
    });
    let (lo, hi) = per_deployment
        .iter()
        .fold((lo, hi), |a, p| (a.0.min(p.y), a.1.max(p.y)));
    let (lo, hi) = match current {
        Some(c) => (lo.min(c.y), hi.max(c.y)),
        None => (lo, hi),
    };
    let (y0, y1) = pad(lo.min(0.0), hi.max(1.0), 0.05);
    let mut ch = frame(
        &plot,
        (
            "Saving against all-on-demand by spot share (95% CI bands)",
            30,
        ),
        -2.0..102.0,
        y0..y1,
        (
            "FARGATE_SPOT weight share (lines); share of task time on spot (crosses)",
            Ticks::Percent,
        ),
        ("saving (of the all-on-demand cost)", Ticks::Percent),
        10,
    )?;
    for (k, s) in series.iter().enumerate() {
        let c = SERIES[k % SERIES.len()];
        let mut band: Vec<(f64, f64)> = s.points.iter().map(|p| (p.0, p.3)).collect();
        band.extend(s.points.iter().rev().map(|p| (p.0, p.2)));
        ch.draw_series(std::iter::once(Polygon::new(band, c.mix(0.2).filled())))
            .m()?;
        ch.draw_series(LineSeries::new(
            s.points.iter().map(|p| (p.0, p.1)),
            c.stroke_width(3),
        ))
        .m()?;
        ch.draw_series(s.points.iter().zip(&s.feasible).map(|(p, ok)| {
            let style = if *ok { c.filled() } else { WHITE.filled() };
            Circle::new((p.0, p.1), 6, style)
        }))
        .m()?;
        ch.draw_series(
            s.points
                .iter()
                .zip(&s.feasible)
                .filter(|(_, ok)| !**ok)
                .map(|(p, _)| Circle::new((p.0, p.1), 6, c.stroke_width(2))),
        )
        .m()?;
    }
    ch.draw_series(
        per_deployment
            .iter()
            .map(|p| Cross::new((p.x, p.y), 8, VERMILLION.stroke_width(3))),
    )
    .m()?;
    if let Some(c) = current {
        ch.draw_series(std::iter::once(
            EmptyElement::at((c.x, c.y))
                + Polygon::new(vec![(0, -10), (10, 0), (0, 10), (-10, 0)], BLACK.filled()),
        ))
        .m()?;
        note(&mut ch, (c.x, c.y), "current", 18)?;
    }
    root.present().m()
}

fn histogram<DB: DrawingBackend>(root: &Area<DB>, h: &CostHistogram) -> R {
    let mut items = vec![
        (Swatch::Block(GREY, 0.6), "all on-demand".to_string()),
        (
            Swatch::Block(BLUE, 0.6),
            format!("recommended: {}", h.label),
        ),
    ];
    if h.current.is_some() {
        items.push((Swatch::Block(ORANGE, 0.6), "current configuration".into()));
    }
    let plot = layout(root, &items)?;
    let top = h
        .recommended
        .iter()
        .chain(&h.on_demand)
        .chain(h.current.iter().flatten())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (x0, x1) = pad(h.edges[0], h.edges[h.edges.len() - 1], 0.02);
    let mut ch = frame(
        &plot,
        (&format!("Cost per 30 days over {}", h.counted), 30),
        x0..x1,
        0.0..top * 1.1,
        ("cost per 30 days (USD)", Ticks::Usd),
        (h.counted.as_str(), Ticks::Whole),
        10,
    )?;
    let bars = |counts: &[u32], c: RGBColor| {
        counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(move |(k, n)| {
                Rectangle::new(
                    [(h.edges[k], 0.0), (h.edges[k + 1], *n as f64)],
                    c.mix(0.6).filled(),
                )
            })
            .collect::<Vec<_>>()
    };
    ch.draw_series(bars(&h.on_demand, GREY)).m()?;
    if let Some(c) = &h.current {
        ch.draw_series(bars(c, ORANGE)).m()?;
    }
    ch.draw_series(bars(&h.recommended, BLUE)).m()?;
    root.present().m()
}

/// Latency as small multiples: one panel per deployment (at most 12), each with its own
/// deadline, zoomed on the tail (from the median of its runs up).
fn cdf<DB: DrawingBackend>(
    root: &Area<DB>,
    panels: &[LatencyPanel],
    of: &[String],
    choice: &str,
) -> R {
    let mut items: Vec<(Swatch, String)> = of
        .iter()
        .enumerate()
        .map(|(k, name)| (Swatch::Line(SERIES[k % SERIES.len()]), name.clone()))
        .collect();
    if panels.iter().any(|p| p.deadline_minutes.is_some()) {
        items.push((Swatch::Dashed(BLACK), "the deployment's deadline".into()));
    }
    let plot = layout(root, &items)?;
    let title = if choice == "every deployment" {
        "Latency (scheduled → completed), the slowest half of each deployment's runs".to_string()
    } else {
        format!("Latency (scheduled → completed), slowest half: {choice}")
    };
    let plot = plot
        .titled(&crate::units::clip(&title, 100), ("sans-serif", 22))
        .m()?;
    let cols = match panels.len() {
        0..=1 => 1,
        2..=4 => 2,
        5..=9 => 3,
        _ => 4,
    };
    let rows = panels.len().div_ceil(cols).max(1);
    let cells = plot.split_evenly((rows, cols));
    for (p, cell) in panels.iter().zip(cells.iter()) {
        // from the median run of every curve up to the slowest run or the deadline
        let lo = p
            .curves
            .iter()
            .filter_map(|c| c.points.iter().find(|x| x.1 >= 0.5).map(|x| x.0))
            .fold(f64::INFINITY, f64::min);
        let hi = p
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|x| x.0))
            .chain(p.deadline_minutes)
            .fold(0.0, f64::max);
        let lo = if lo.is_finite() { lo.min(hi) } else { 0.0 };
        let (x0, x1) = pad(lo, hi.max(lo + 1.0), 0.04);
        let title = match p.deadline_minutes {
            Some(d) => format!(
                "{} (deadline {})",
                p.deployment,
                crate::units::duration(d * 60.0)
            ),
            None => p.deployment.clone(),
        };
        let mut ch = ChartBuilder::on(cell)
            .caption(title, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(26)
            .y_label_area_size(44)
            .build_cartesian_2d(x0.max(0.0)..x1, 50.0..101.0)
            .m()?;
        let xf = |v: &f64| format!("{}m", crate::units::short(*v));
        let yf = |v: &f64| format!("{}%", crate::units::short(*v));
        ch.configure_mesh()
            .x_labels(4)
            .y_labels(3)
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .label_style(("sans-serif", 12))
            .draw()
            .m()?;
        for (k, c) in p.curves.iter().enumerate().rev() {
            let col = SERIES[k % SERIES.len()];
            ch.draw_series(LineSeries::new(
                c.points
                    .iter()
                    .filter(|x| 100.0 * x.1 >= 50.0 || x.0 >= x0)
                    .map(|x| (x.0, (100.0 * x.1).max(50.0))),
                col.stroke_width(2),
            ))
            .m()?;
        }
        if let Some(d) = p.deadline_minutes {
            ch.draw_series(std::iter::once(DashedPathElement::new(
                vec![(d, 50.0), (d, 101.0)],
                6,
                4,
                BLACK.stroke_width(2),
            )))
            .m()?;
        }
    }
    root.present().m()
}

fn timeline<DB: DrawingBackend>(root: &Area<DB>, days: &[Timeline]) -> R {
    let mut items: Vec<(Swatch, String)> = vec![
        (Swatch::Block(BLUE, 1.0), "task on FARGATE".into()),
        (Swatch::Block(ORANGE, 1.0), "task on FARGATE_SPOT".into()),
    ];
    let marks: [(&str, RGBColor, &str); 5] = [
        ("interrupted", VERMILLION, "interruption"),
        ("rescheduled", GREEN, "rescheduled / retried"),
        ("fallback_to_on_demand", PURPLE, "fallback to on-demand"),
        ("capacity_failure", BLACK, "capacity failure"),
        ("crashed", SKY, "run crashed"),
    ];
    // legend entries only for markers that appear
    for (kind, c, name) in marks {
        if days.iter().any(|d| d.marks.iter().any(|m| m.kind == kind)) {
            let sw = if kind == "crashed" {
                Swatch::Ring(c)
            } else {
                Swatch::Cross(c)
            };
            items.push((sw, name.into()));
        }
    }
    let plot = layout(root, &items)?;
    let panels = plot.split_evenly((days.len().max(1), 1));
    for (day, area) in days.iter().zip(&panels) {
        let lanes = day.lanes.max(1) as f64;
        // each flow's first row carries its name (clipped); its other rows are blank
        let names: Vec<String> = day
            .row_flows
            .iter()
            .enumerate()
            .map(|(k, f)| {
                if k > 0 && day.row_flows[k - 1] == *f {
                    String::new()
                } else {
                    let n = day.flows.get(*f as usize).map(String::as_str).unwrap_or("");
                    crate::units::clip(n, 32)
                }
            })
            .collect();
        let title = format!(
            "Simulated day {} (the pick's busiest), {}",
            day.day, day.label
        );
        let title = crate::units::clip(&title, 95);
        let mut ch = frame(
            area,
            (&title, if days.len() > 1 { 20 } else { 26 }),
            0.0..24.0,
            0.3..lanes + 0.7,
            ("hour of the day (UTC)", Ticks::Whole),
            ("flow (a row per task at once)", Ticks::Names(&names)),
            if lanes <= 30.0 {
                lanes as usize + 1
            } else {
                12
            },
        )?;
        // rows are numbered from 1; a bar spans its row's number ± 0.4
        for (p, c) in [(Provider::Fargate, BLUE), (Provider::FargateSpot, ORANGE)] {
            ch.draw_series(day.bars.iter().filter(|b| b.provider == p).map(|b| {
                let y = b.lane as f64 + 1.0;
                Rectangle::new(
                    [(b.start, y - 0.4), (b.end.max(b.start + 0.01), y + 0.4)],
                    c.filled(),
                )
            }))
            .m()?;
        }
        for (kind, c, _) in marks {
            let at = day.marks.iter().filter(|m| m.kind == kind);
            // a crash is a ring, so that the capacity failure behind it still shows
            if kind == "crashed" {
                ch.draw_series(
                    at.map(|m| Circle::new((m.t, m.lane as f64 + 1.0), 11, c.stroke_width(3))),
                )
                .m()?;
            } else {
                ch.draw_series(
                    at.map(|m| Cross::new((m.t, m.lane as f64 + 1.0), 7, c.stroke_width(3))),
                )
                .m()?;
            }
        }
    }
    root.present().m()
}

/// One rendered chart.
#[derive(Clone, Debug)]
pub struct Chart {
    /// File stem, e.g. `cost-vs-reliability`.
    pub name: &'static str,
    /// Title.
    pub title: &'static str,
    /// The SVG document.
    pub svg: String,
    /// The same chart as a PNG file.
    pub png: Vec<u8>,
}

macro_rules! render {
    ($name:expr, $title:expr, $f:expr) => {{
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            $f(&root)?;
        }
        let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
            $f(&root)?;
        }
        Chart {
            name: $name,
            title: $title,
            svg,
            png: png_bytes(rgb)?,
        }
    }};
}

/// Encodes an RGB buffer of [`SIZE`] as PNG.
fn png_bytes(rgb: Vec<u8>) -> Result<Vec<u8>, String> {
    let img = image::RgbImage::from_raw(SIZE.0, SIZE.1, rgb)
        .ok_or_else(|| "a chart buffer has the wrong size".to_string())?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageOutputFormat::Png)
        .map_err(|e| format!("cannot encode a chart as PNG: {e}"))?;
    Ok(out.into_inner())
}

/// A chart that could not be drawn or encoded, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

/// Draws every chart as SVG and PNG (in memory: the caller writes the files).
pub fn render_all(f: &Figures) -> Result<Vec<Chart>, RenderError> {
    render_charts(f).map_err(RenderError)
}

/// [`render_all`]'s work, its failure in words.
fn render_charts(f: &Figures) -> Result<Vec<Chart>, String> {
    register_font();
    let mut out = Vec::new();
    if !f.frontier.points.is_empty() {
        out.push(render!("cost-vs-reliability", "Cost vs reliability", |r| {
            frontier(r, &f.frontier, f.frontier_crashes.as_ref())
        }));
    }
    if !f.saving.is_empty() {
        out.push(render!(
            "saving-vs-spot-share",
            "Saving vs spot share",
            |r| saving(
                r,
                &f.saving,
                f.saving_current.as_ref(),
                &f.saving_per_deployment
            )
        ));
    }
    if let Some(h) = &f.cost_histogram {
        out.push(render!(
            "monthly-cost-histogram",
            "Monthly cost distribution",
            |r| histogram(r, h)
        ));
    }
    if !f.latency.is_empty() {
        out.push(render!(
            "latency-cdf",
            "Latency of each deployment: its slowest runs against its deadline",
            |r| cdf(r, &f.latency, &f.latency_of, &f.latency_choice)
        ));
    }
    if !f.timeline.is_empty() {
        out.push(render!("timeline", "The busiest simulated day", |r| {
            timeline(r, &f.timeline)
        }));
    }
    Ok(out)
}
