//! Charts (plotters, pure Rust): SVG and PNG, 1200×800, an embedded font (DejaVu Sans) so no
//! system fonts are needed, and the Okabe–Ito colour-blind-safe palette.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::model::Provider;
use crate::sweep::figures::{Cdf, CostHistogram, Figures, Frontier, SavingSeries, Timeline};

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

/// White background, caption, axes with unit labels, the shared fonts.
fn frame<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_desc: &str,
    y_desc: &str,
) -> Result<Chart2d<'a, DB>, String> {
    root.fill(&WHITE).m()?;
    let mut ch = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 30))
        .margin(24)
        .x_label_area_size(70)
        .y_label_area_size(100)
        .build_cartesian_2d(x, y)
        .m()?;
    ch.configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 20))
        .axis_desc_style(("sans-serif", 22))
        .draw()
        .m()?;
    Ok(ch)
}

/// The legend box.
fn legend<'a, DB: DrawingBackend + 'a>(ch: &mut Chart2d<'a, DB>, pos: SeriesLabelPosition) -> R {
    ch.configure_series_labels()
        .label_font(("sans-serif", 18))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(pos)
        .draw()
        .m()
}

fn frontier<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, f: &Frontier) -> R {
    let (x0, x1) = pad(
        0.0,
        f.points.iter().map(|p| p.x_hi).fold(0.0, f64::max),
        0.05,
    );
    let (y0, y1) = pad(
        f.points
            .iter()
            .map(|p| p.y_lo)
            .fold(f64::INFINITY, f64::min),
        f.points
            .iter()
            .map(|p| p.y_hi)
            .fold(f64::NEG_INFINITY, f64::max),
        0.05,
    );
    let mut ch = frame(
        root,
        "Cost vs reliability of every candidate (95% CIs)",
        x0.min(0.0)..x1,
        y0..y1,
        f.x_label.as_str(),
        "cost per 30 days (USD)",
    )?;
    ch.draw_series(
        f.points
            .iter()
            .map(|p| PathElement::new(vec![(p.x, p.y_lo), (p.x, p.y_hi)], SKY.stroke_width(2))),
    )
    .m()?;
    ch.draw_series(
        f.points
            .iter()
            .map(|p| PathElement::new(vec![(p.x_lo, p.y), (p.x_hi, p.y)], SKY.stroke_width(2))),
    )
    .m()?;
    let front: Vec<(f64, f64)> = f
        .front
        .iter()
        .map(|&i| (f.points[i].x, f.points[i].y))
        .collect();
    ch.draw_series(LineSeries::new(front, ORANGE.stroke_width(3)))
        .m()?
        .label("Pareto front")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ORANGE.stroke_width(3)));
    ch.draw_series(
        f.points
            .iter()
            .map(|p| Circle::new((p.x, p.y), POINT_RADIUS, BLUE.filled())),
    )
    .m()?
    .label("candidate")
    .legend(|(x, y)| Circle::new((x + 10, y), POINT_RADIUS + 2, BLUE.filled()));
    if let Some(i) = f.recommended {
        let p = &f.points[i];
        ch.draw_series(std::iter::once(Circle::new(
            (p.x, p.y),
            12,
            VERMILLION.stroke_width(4),
        )))
        .m()?
        .label("recommended")
        .legend(|(x, y)| Circle::new((x + 10, y), 8, VERMILLION.stroke_width(3)));
    }
    legend(&mut ch, SeriesLabelPosition::UpperRight)?;
    root.present().m()
}

fn saving<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, series: &[SavingSeries]) -> R {
    let all = series.iter().flat_map(|s| s.points.iter());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.2), a.1.max(p.3))
    });
    let (y0, y1) = pad(lo.min(0.0), hi.max(1.0), 0.05);
    let mut ch = frame(
        root,
        "Saving against all-on-demand by spot share (95% CI bands)",
        -2.0..102.0,
        y0..y1,
        "FARGATE_SPOT weight share (%)",
        "saving (% of all-on-demand cost)",
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
        .m()?
        .label(s.name.as_str())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
        ch.draw_series(
            s.points
                .iter()
                .map(|p| Circle::new((p.0, p.1), 4, c.filled())),
        )
        .m()?;
    }
    legend(&mut ch, SeriesLabelPosition::UpperLeft)?;
    root.present().m()
}

fn histogram<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, h: &CostHistogram) -> R {
    let top = h
        .recommended
        .iter()
        .chain(&h.on_demand)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (x0, x1) = pad(h.edges[0], h.edges[h.edges.len() - 1], 0.02);
    let mut ch = frame(
        root,
        "Cost per 30 days over replications: recommendation vs all-on-demand",
        x0..x1,
        0.0..top * 1.1,
        "cost per 30 days (USD)",
        "replications",
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
    ch.draw_series(bars(&h.on_demand, GREY))
        .m()?
        .label("all on-demand")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], GREY.mix(0.6).filled()));
    ch.draw_series(bars(&h.recommended, BLUE))
        .m()?
        .label(format!("recommended: {}", h.label))
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], BLUE.mix(0.6).filled()));
    legend(&mut ch, SeriesLabelPosition::UpperRight)?;
    root.present().m()
}

fn cdf<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, curves: &[Cdf], deadlines: &[f64]) -> R {
    let xmax = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .chain(deadlines.iter().copied())
        .fold(1.0, f64::max);
    let mut ch = frame(
        root,
        "Latency (scheduled → completed) CDF",
        0.0..xmax * 1.05,
        0.0..1.02,
        "latency (minutes)",
        "fraction of completed runs",
    )?;
    for (k, c) in curves.iter().enumerate() {
        let col = SERIES[k % SERIES.len()];
        ch.draw_series(LineSeries::new(
            c.points.iter().copied(),
            col.stroke_width(3),
        ))
        .m()?
        .label(c.name.as_str())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(3)));
    }
    for (k, d) in deadlines.iter().enumerate() {
        let s = ch
            .draw_series(std::iter::once(PathElement::new(
                vec![(*d, 0.0), (*d, 1.02)],
                BLACK.stroke_width(2),
            )))
            .m()?;
        if k == 0 {
            s.label("deadline").legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2))
            });
        }
    }
    legend(&mut ch, SeriesLabelPosition::LowerRight)?;
    root.present().m()
}

fn timeline<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &Timeline) -> R {
    let lanes = t.lanes.max(1) as f64;
    let mut ch = frame(
        root,
        "One simulated day of the recommendation (replication 0)",
        0.0..24.0,
        0.0..lanes + 0.5,
        "hour of the first day (UTC)",
        "task row",
    )?;
    for (p, c, name) in [
        (Provider::Fargate, BLUE, "task on FARGATE"),
        (Provider::FargateSpot, ORANGE, "task on FARGATE_SPOT"),
    ] {
        ch.draw_series(t.bars.iter().filter(|b| b.provider == p).map(|b| {
            let y = b.lane as f64;
            Rectangle::new(
                [(b.start, y + 0.1), (b.end.max(b.start + 0.01), y + 0.9)],
                c.filled(),
            )
        }))
        .m()?
        .label(name)
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], c.filled()));
    }
    let marks: [(&str, RGBColor, &str); 4] = [
        ("interrupted", VERMILLION, "interruption"),
        ("rescheduled", GREEN, "rescheduled / retried"),
        ("fallback_to_on_demand", PURPLE, "fallback to on-demand"),
        ("capacity_failure", BLACK, "capacity failure"),
    ];
    for (kind, c, name) in marks {
        let pts: Vec<(f64, f64)> = t
            .marks
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| (m.t, m.lane as f64 + 0.5))
            .collect();
        ch.draw_series(pts.iter().map(|&p| Cross::new(p, 7, c.stroke_width(3))))
            .m()?
            .label(name)
            .legend(move |(x, y)| Cross::new((x + 10, y), 6, c.stroke_width(3)));
    }
    legend(&mut ch, SeriesLabelPosition::UpperRight)?;
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

/// Draws every chart as SVG and PNG (in memory: the caller writes the files).
pub fn render_all(f: &Figures) -> Result<Vec<Chart>, String> {
    register_font();
    let mut out = Vec::new();
    if !f.frontier.points.is_empty() {
        out.push(render!("cost-vs-reliability", "Cost vs reliability", |r| {
            frontier(r, &f.frontier)
        }));
    }
    if !f.saving.is_empty() {
        out.push(render!(
            "saving-vs-spot-share",
            "Saving vs spot share",
            |r| saving(r, &f.saving)
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
        out.push(render!("latency-cdf", "Latency CDF", |r| cdf(
            r,
            &f.latency,
            &f.deadlines
        )));
    }
    if let Some(t) = &f.timeline {
        out.push(render!("timeline", "One simulated day", |r| timeline(r, t)));
    }
    Ok(out)
}
