//! The calibrated scenario (TOML with a comment on every estimate) and the summary rows.

use std::fmt::Write as _;

use serde::Serialize;

use super::estimate::{Accum, RateEstimate};
use super::fit::{DurationFit, ScheduleEstimate, capacity, durations, hourly, schedule, waves};
use super::sample::{median_ci, q};
use crate::model::SimTime;
use crate::model::size::{VALID_CPUS, valid_memory_for_cpu};

/// The interruption rate assumed when the data say too little (per task-hour).
pub const PRIOR_RATE: f64 = 0.05;
/// Spot task-hours below which the interruption rate is not estimated.
pub const MIN_SPOT_HOURS: f64 = 10.0;

/// One line of the summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// What.
    pub estimate: String,
    /// Value.
    pub value: String,
    /// 95% interval, if any.
    pub ci95: String,
    /// Sample behind it.
    pub sample: String,
    /// Notes, e.g. the prior used.
    pub note: String,
}

/// A calibration: the scenario text, summary rows, and empirical samples to write beside it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    /// The scenario (TOML).
    pub scenario: String,
    /// Summary.
    pub rows: Vec<Row>,
    /// (file name, CSV text) of empirical duration samples referenced by the scenario.
    pub files: Vec<(String, String)>,
    /// The interruption-rate estimate.
    pub interruption_rate: RateEstimate,
}

use crate::units::sig;

fn dur(secs: f64) -> String {
    SimTime::from_secs_f64(secs.max(0.0)).to_string()
}

fn size_ok(cpu: u32, mem: u32) -> bool {
    valid_memory_for_cpu(cpu).is_some_and(|v| v.contains(&mem))
}

/// Builds the calibrated scenario. `sources` names the input files; `stem` is the file stem
/// for empirical samples (none: fall back to the best parametric fit).
pub fn calibration(a: &Accum, sources: &[String], region: &str, stem: Option<&str>) -> Calibration {
    let mut rows = Vec::new();
    let mut o = String::new();
    let days = a
        .span
        .map(|(x, y)| (y - x) as f64 / 86_400_000.0)
        .unwrap_or(0.0);
    let _ = writeln!(
        o,
        "# Calibrated by spotplan {} from: {}",
        env!("CARGO_PKG_VERSION"),
        sources.join(", ")
    );
    let _ = writeln!(
        o,
        "# {} records over {:.1} days: {} spot and {} on-demand tasks ({} still running at the end, counted to it), {} capacity failures.",
        a.records, days, a.spot_tasks, a.od_tasks, a.censored, a.capacity_failures
    );
    let _ = writeln!(
        o,
        "name = \"Calibrated from {}\"",
        sources.join(", ").replace('"', "'")
    );
    let _ = writeln!(o, "region = \"{region}\"\n");
    let start = a
        .span
        .map(|(s, _)| s.div_euclid(86_400_000) * 86_400_000)
        .unwrap_or(0);
    let start_text = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(start)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "2026-01-05T00:00:00Z".into());
    let _ = writeln!(
        o,
        "[simulation]\nhorizon = \"30d\"\nreplications = 200\nseed = 42\nplacement = \"weighted-random\"\nstart = \"{start_text}\"   # the first observed day\n"
    );
    let share = if a.spot_tasks + a.od_tasks > 0 {
        ((a.spot_tasks as f64 / (a.spot_tasks + a.od_tasks) as f64) * 10.0).round() as u32 * 10
    } else {
        60
    };
    let _ = writeln!(
        o,
        "[cluster]\ncapacity_providers = [\"FARGATE\", \"FARGATE_SPOT\"]\n"
    );
    let strategy = match share {
        0 => "[{ provider = \"FARGATE\", weight = 1 }]".to_string(),
        100 => "[{ provider = \"FARGATE_SPOT\", weight = 1 }]".to_string(),
        s => format!(
            "[{{ provider = \"FARGATE_SPOT\", weight = {} }}, {{ provider = \"FARGATE\", weight = {} }}]",
            s / 10,
            (100 - s) / 10
        ),
    };
    let _ = writeln!(
        o,
        "[worker]\nkind = \"prefect3-ecs-worker\"\nstrategy = {strategy}   # observed: {} of {} tasks on FARGATE_SPOT\n",
        a.spot_tasks,
        a.spot_tasks + a.od_tasks
    );

    // interruptions
    let w = waves(a);
    let background = a.interruptions.saturating_sub(w.in_waves);
    let rate = RateEstimate::of(background, a.spot_hours);
    let _ = writeln!(o, "[spot]");
    if a.spot_hours < MIN_SPOT_HOURS {
        let _ = writeln!(
            o,
            "interruption_rate = \"{PRIOR_RATE}/h\"   # too little data: {} interruptions in {:.1} spot task-hours (< {MIN_SPOT_HOURS}); the prior {PRIOR_RATE}/h is an assumption",
            a.interruptions, a.spot_hours
        );
        rows.push(Row {
            estimate: "spot interruption rate".into(),
            value: format!("{PRIOR_RATE}/h (prior)"),
            ci95: "—".into(),
            sample: format!("{} in {:.1} spot task-hours", a.interruptions, a.spot_hours),
            note: format!("too little data (< {MIN_SPOT_HOURS} spot task-hours): prior used"),
        });
    } else {
        let _ = writeln!(
            o,
            "interruption_rate = {{ value = \"{:.6}/h\", ci95 = [\"{:.6}/h\", \"{:.6}/h\"] }}   # 95% CI: {} interruptions outside waves in {:.1} spot task-hours",
            rate.rate, rate.low, rate.high, background, a.spot_hours
        );
        rows.push(Row {
            estimate: "spot interruption rate".into(),
            value: format!("{:.6}/h", rate.rate),
            ci95: format!("[{:.6}, {:.6}]", rate.low, rate.high),
            sample: format!("{background} in {:.1} spot task-hours", a.spot_hours),
            note: "per running spot task-hour, exact Poisson (Garwood) interval; censored tasks counted to the end of the export".into(),
        });
    }
    let (mult, chi2) = hourly(a);
    match mult {
        Some(m) => {
            let list = m
                .iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                o,
                "hourly_multipliers = [{list}]   # χ² = {chi2:.1} on 23 df rejects a constant rate at 5%"
            );
            rows.push(Row {
                estimate: "hour-of-day variation".into(),
                value: "yes".into(),
                ci95: "—".into(),
                sample: format!("{} interruptions", a.interruptions),
                note: format!("χ² = {chi2:.1}, 23 df"),
            });
        }
        None => {
            let why = if chi2.is_nan() {
                format!("too few interruptions ({} < 50) to test", a.interruptions)
            } else {
                format!("no evidence (χ² = {chi2:.1} on 23 df, p > 0.05)")
            };
            let _ = writeln!(o, "# hour-of-day multipliers: {why}");
            rows.push(Row {
                estimate: "hour-of-day variation".into(),
                value: "none".into(),
                ci95: "—".into(),
                sample: format!("{} interruptions", a.interruptions),
                note: why,
            });
        }
    }
    let grace = a.stop_grace.sorted();
    if grace.len() >= 3 {
        let g = q(&grace, 0.5).clamp(2.0, 120.0);
        let _ = writeln!(
            o,
            "stop_timeout = \"{}\"   # median SIGTERM → STOPPED of {} interrupted tasks",
            dur(g.round()),
            grace.len()
        );
    } else {
        let _ = writeln!(
            o,
            "stop_timeout = \"30s\"   # the ECS default; too few interrupted tasks with stoppingAt ({})",
            grace.len()
        );
    }
    let cap = capacity(a);
    if cap.failures.k > 0 && cap.failures.p < 1.0 {
        let (outage, why) = match cap.mean_outage_s {
            Some(m) => (dur(m.round()), format!("mean length of the {} failure episodes longer than a minute", cap.episodes)),
            None => ("20m".to_string(), "outage length cannot be told (no failure episode spans more than one run); the prior is 20m".to_string()),
        };
        let _ = writeln!(
            o,
            "capacity = {{ unavailable = {:.5}, mean_outage = \"{outage}\", unavailable_ci95 = [{:.5}, {:.5}] }}   # {} first failures of {} spot RunTask calls ({} with retries), 95% CI; {why}",
            cap.failures.p,
            cap.failures.low,
            cap.failures.high.min(0.99999),
            cap.failures.k,
            cap.failures.n,
            cap.all_failures,
        );
    } else {
        let _ = writeln!(
            o,
            "# capacity: no capacity failures among {} spot RunTask calls (95% upper bound {:.5})",
            cap.failures.n, cap.failures.high
        );
    }
    rows.push(Row {
        estimate: "capacity unavailable".into(),
        value: format!("{:.5}", cap.failures.p),
        ci95: format!("[{:.5}, {:.5}]", cap.failures.low, cap.failures.high),
        sample: format!(
            "{} of {} spot RunTask calls",
            cap.failures.k, cap.failures.n
        ),
        note: format!(
            "{} failures with retries, {} episodes",
            cap.all_failures, cap.episodes
        ),
    });
    if w.waves > 0 {
        let _ = writeln!(
            o,
            "reclaim_waves = {{ per_day = {:.4}, hit = {:.3} }}   # {} bursts of ≥ 3 interruptions within 2 min ({} interruptions), 95% CI [{:.4}, {:.4}]/day",
            w.per_day.rate, w.hit, w.waves, w.in_waves, w.per_day.low, w.per_day.high
        );
    } else {
        let _ = writeln!(
            o,
            "# reclaim waves: none found (no burst of ≥ 3 interruptions within 2 minutes)"
        );
    }
    rows.push(Row {
        estimate: "reclaim waves".into(),
        value: format!("{:.4}/day", w.per_day.rate),
        ci95: format!("[{:.4}, {:.4}]", w.per_day.low, w.per_day.high),
        sample: format!("{} waves, {} interruptions", w.waves, w.in_waves),
        note: format!("hit {:.2} of running spot tasks", w.hit),
    });
    let _ = writeln!(
        o,
        "\n[retry]\npolicy = \"prefect3\"   # task records do not show the retry policy; compare policies with `spotplan sweep`\n"
    );

    let mut files = Vec::new();
    for (name, g) in &a.groups {
        let _ = writeln!(o, "[[flow]]\nname = \"{}\"", name.replace('"', "'"));
        match schedule(g.starts()) {
            ScheduleEstimate::Every {
                interval_s,
                cv,
                first_ms,
            } => {
                let iv = interval_s.round().max(1.0);
                let offset = ((first_ms - start) as f64 / 1000.0).rem_euclid(iv);
                let _ = writeln!(
                    o,
                    "schedule = {{ every = \"{}\", offset = \"{}\" }}   # {} starts, gaps CV {cv:.3}",
                    dur(iv),
                    dur(offset.round()),
                    g.starts().n
                );
                rows.push(Row {
                    estimate: format!("{name}: schedule"),
                    value: format!("every {}", dur(iv)),
                    ci95: "—".into(),
                    sample: format!("{} starts", g.starts().n),
                    note: format!("gaps CV {cv:.3}"),
                });
            }
            ScheduleEstimate::Poisson { rate, cv } => {
                let _ = writeln!(
                    o,
                    "schedule = {{ poisson = \"{}/h\" }}   # 95% CI [{}, {}]/h from {} starts; fewer than 90% of the gaps lie within 10% of the median (gaps CV {cv:.2}): not a fixed interval",
                    sig(rate.rate),
                    sig(rate.low),
                    sig(rate.high),
                    g.starts().n
                );
                rows.push(Row {
                    estimate: format!("{name}: schedule"),
                    value: format!("Poisson {}/h", sig(rate.rate)),
                    ci95: format!("[{}, {}]", sig(rate.low), sig(rate.high)),
                    sample: format!("{} starts", g.starts().n),
                    note: format!("gaps CV {cv:.2}"),
                });
            }
            ScheduleEstimate::Unknown => {
                let _ = writeln!(
                    o,
                    "schedule = {{ every = \"1h\" }}   # too few starts ({}) to tell; the prior is hourly",
                    g.starts().n
                );
                rows.push(Row {
                    estimate: format!("{name}: schedule"),
                    value: "every 1h (prior)".into(),
                    ci95: "—".into(),
                    sample: format!("{} starts", g.starts().n),
                    note: "too little data".into(),
                });
            }
        }
        let fit = durations(g);
        let sample = g.work.sorted();
        let med = median_ci(&sample);
        let med_note = med
            .map(|(a, b)| {
                format!(
                    "; observed median {} (95% CI [{}, {}])",
                    dur(q(&sample, 0.5)),
                    dur(a),
                    dur(b)
                )
            })
            .unwrap_or_default();
        let (text, value, note) = match &fit {
            DurationFit::Lognormal {
                median_s,
                p95_s,
                ks,
            } => (
                format!(
                    "duration = {{ lognormal = {{ median = \"{}\", p95 = \"{}\" }} }}   # MLE over {} completed tasks; KS D = {ks:.4}{med_note}",
                    dur(*median_s),
                    dur(*p95_s),
                    g.work_n()
                ),
                format!("lognormal median {} p95 {}", dur(*median_s), dur(*p95_s)),
                format!("KS D = {ks:.4}"),
            ),
            DurationFit::Gamma { shape, mean_s, ks } => (
                format!(
                    "duration = {{ gamma = {{ shape = {shape:.4}, mean = \"{}\" }} }}   # MLE over {} completed tasks; KS D = {ks:.4}{med_note}",
                    dur(*mean_s),
                    g.work_n()
                ),
                format!("gamma shape {shape:.3} mean {}", dur(*mean_s)),
                format!("KS D = {ks:.4}"),
            ),
            DurationFit::Empirical { ks, sample } => match stem {
                Some(stem) => {
                    let file = format!(
                        "{stem}-{}-durations.csv",
                        name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
                    );
                    let mut csv = String::from("duration\n");
                    for s in sample {
                        let _ = writeln!(csv, "{s:.3}");
                    }
                    files.push((file.clone(), csv));
                    (
                        format!(
                            "duration = {{ empirical = \"{file}\" }}   # neither lognormal nor gamma fits {} completed tasks (best KS D = {ks:.4}); resampling {} observations",
                            g.work_n(),
                            sample.len()
                        ),
                        format!("empirical ({} values)", sample.len()),
                        format!("best parametric KS D = {ks:.4}"),
                    )
                }
                None => {
                    let (mu, sigma) = g.lognormal().unwrap_or((600f64.ln(), 0.5));
                    (
                        format!(
                            "duration = {{ lognormal = {{ median = \"{}\", p95 = \"{}\" }} }}   # does NOT fit (KS D = {ks:.4}); give --out to write the empirical sample",
                            dur(mu.exp()),
                            dur((mu + 1.645 * sigma).exp())
                        ),
                        "lognormal (poor fit)".into(),
                        format!("KS D = {ks:.4}"),
                    )
                }
            },
            DurationFit::TooFew { n } => (
                format!(
                    "duration = \"10m\"   # too few completed tasks ({n} < 5); the prior is 10m"
                ),
                "10m (prior)".into(),
                "too little data".into(),
            ),
        };
        let _ = writeln!(o, "{text}");
        rows.push(Row {
            estimate: format!("{name}: duration"),
            value,
            ci95: med
                .map(|(a, b)| format!("median [{}, {}]", dur(a), dur(b)))
                .unwrap_or_else(|| "—".into()),
            sample: format!("{} completed tasks", g.work_n()),
            note,
        });
        let (cpu, mem) = (g.cpu().unwrap_or(1024), g.memory().unwrap_or(2048));
        if size_ok(cpu, mem) {
            let _ = writeln!(o, "cpu = {cpu}\nmemory = {mem}");
        } else {
            let _ = writeln!(
                o,
                "# observed cpu {cpu} / memory {mem} is not a valid Fargate size; using 1024 / 2048 (valid cpus: {VALID_CPUS:?})\ncpu = 1024\nmemory = 2048"
            );
        }
        let (p, pl) = (g.provisioning.sorted(), g.pull.sorted());
        let startup = |v: &[f64], prior: &str| -> String {
            if v.len() < 3 {
                return format!("\"{prior}\"");
            }
            let (a5, b95) = (q(v, 0.05).round(), q(v, 0.95).round());
            if a5 == b95 {
                format!("\"{}\"", dur(a5))
            } else {
                format!("{{ uniform = [\"{}\", \"{}\"] }}", dur(a5), dur(b95))
            }
        };
        let _ = writeln!(
            o,
            "startup = {{ provisioning = {}, image_pull = {} }}   # p5–p95 of {} / {} tasks\n",
            startup(&p, "20s"),
            startup(&pl, "20s"),
            p.len(),
            pl.len()
        );
        if let Some((runs, bad)) = a.prefect.get(name) {
            rows.push(Row {
                estimate: format!("{name}: Prefect runs crashed or failed"),
                value: format!("{bad} of {runs}"),
                ci95: "—".into(),
                sample: format!("{runs} runs"),
                note: String::new(),
            });
        }
    }
    Calibration {
        scenario: fit_toml(&o),
        rows,
        files,
        interruption_rate: rate,
    }
}

/// The summary as a text table.
/// The scenario within 100 columns, still the same TOML: long comment lines are wrapped as
/// comments, and a long comment after a value moves above it.
fn fit_toml(text: &str) -> String {
    use crate::units::{WIDTH, wrap};
    let mut out = String::new();
    for line in text.lines() {
        if line.chars().count() <= WIDTH {
            out.push_str(line);
        } else if line.starts_with('#') {
            out.push_str(&wrap(line, WIDTH, "# "));
        } else if let Some(i) = line.find("   # ") {
            let (value, comment) = (line[..i].trim_end(), line[i..].trim_start());
            out.push_str(&wrap(comment, WIDTH, "# "));
            out.push('\n');
            out.push_str(value);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

pub fn table(c: &Calibration) -> String {
    use crate::units::{WIDTH, clip, wrap};
    // 100 columns: the figures on one line, the note indented below
    let mut o = format!(
        "{:<28} {:<22} {:<20} {}\n",
        "estimate", "value", "95% CI", "sample"
    );
    for r in &c.rows {
        let _ = writeln!(
            o,
            "{:<28} {:<22} {:<20} {}",
            clip(&r.estimate, 28),
            clip(&r.value, 22),
            clip(&r.ci95, 20),
            clip(&r.sample, 26)
        );
        if !r.note.is_empty() {
            let _ = writeln!(o, "{}", wrap(&format!("    {}", r.note), WIDTH, "    "));
        }
    }
    o
}
