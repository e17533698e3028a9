//! `[spot]` (interruption rate, capacity, waves, a preemption trace) and `[retry]`.

use std::sync::Arc;

use super::context::Ctx;
use crate::model::{Rate, SimTime};
use crate::scenario::error::FieldPath;
use crate::scenario::file::*;
use crate::scenario::types::*;

pub(super) fn spot(cx: &mut Ctx, s: &SpotSection, p: &FieldPath) -> Option<SpotSpec> {
    let before = cx.diags.len();
    let mut rate_ci95 = None;
    let rate = match (&s.interruption_rate, &s.interruption_probability) {
        (Some(_), Some(_)) => {
            cx.err(
                &p.key("interruption_probability"),
                "give `interruption_rate` or `interruption_probability`, not both",
            );
            Rate::default()
        }
        (Some(StringOr::Text(r)), None) => Rate::parse(r)
            .map_err(|m| cx.err(&p.key("interruption_rate"), m))
            .unwrap_or_default(),
        (Some(StringOr::Table(t)), None) => {
            let rp = p.key("interruption_rate");
            let value = Rate::parse(&t.value)
                .map_err(|m| cx.err(&rp.key("value"), m))
                .unwrap_or_default();
            let ends: Vec<Option<f64>> = t
                .ci95
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    Rate::parse(e)
                        .map_err(|m| cx.err(&rp.key("ci95").index(i), m))
                        .ok()
                        .map(|r| r.per_hour)
                })
                .collect();
            if let [Some(lo), Some(hi)] = ends[..] {
                if lo <= value.per_hour && value.per_hour <= hi {
                    rate_ci95 = Some([lo, hi]);
                } else {
                    cx.err(
                        &rp.key("ci95"),
                        format!(
                            "[{}, {}] must hold the value {} (low ≤ value ≤ high)",
                            t.ci95[0], t.ci95[1], t.value
                        ),
                    );
                }
            }
            value
        }
        (None, Some(pr)) => {
            let pp = p.key("interruption_probability");
            match cx.positive_dur(&pp.key("per"), &pr.per) {
                Some(per) => Rate::from_probability(pr.probability, per)
                    .map_err(|m| cx.err(&pp.key("probability"), m))
                    .unwrap_or_default(),
                None => Rate::default(),
            }
        }
        (None, None) => Rate::default(),
    };
    let hourly = match &s.hourly_multipliers {
        None => None,
        Some(v) if v.len() != 24 => {
            cx.err(
                &p.key("hourly_multipliers"),
                format!("needs 24 values (one per UTC hour); got {}", v.len()),
            );
            None
        }
        Some(v) => {
            for (i, m) in v.iter().enumerate() {
                if !m.is_finite() || *m < 0.0 {
                    cx.err(
                        &p.key("hourly_multipliers").index(i),
                        format!("`{m}` must be a finite number ≥ 0"),
                    );
                }
            }
            let mut a = [0.0; 24];
            a.copy_from_slice(v);
            Some(a)
        }
    };
    let stop_timeout = cx.dur(
        &p.key("stop_timeout"),
        s.stop_timeout.as_deref().unwrap_or("30s"),
    );
    if let Some(st) = stop_timeout
        && !(2_000..=120_000).contains(&st.0)
    {
        cx.err(
            &p.key("stop_timeout"),
            format!("`{st}` is outside 2s–120s (the Fargate stopTimeout range)"),
        );
    }
    let capacity = s.capacity.as_ref().and_then(|c| {
        let cp = p.key("capacity");
        let u = cx.fraction(&cp.key("unavailable"), c.unavailable, true)?;
        let m = cx.positive_dur(&cp.key("mean_outage"), &c.mean_outage)?;
        let ci = match c.unavailable_ci95 {
            None => None,
            Some([lo, hi]) if (0.0..1.0).contains(&lo) && lo <= u && u <= hi && hi < 1.0 => {
                Some([lo, hi])
            }
            Some([lo, hi]) => {
                cx.err(
                    &cp.key("unavailable_ci95"),
                    format!("[{lo}, {hi}] must hold `unavailable` ({u}) within [0, 1)"),
                );
                return None;
            }
        };
        (u > 0.0).then_some(CapacitySpec {
            unavailable: u,
            mean_outage: m,
            unavailable_ci95: ci,
        })
    });
    let waves = s.reclaim_waves.as_ref().and_then(|w| {
        let wp = p.key("reclaim_waves");
        // as any rate: at most one per millisecond, and above zero at least one per century
        let max = Rate::MAX_PER_HOUR * 24.0;
        let min = Rate::MIN_PER_HOUR * 24.0;
        if !(w.per_day.is_finite() && (w.per_day == 0.0 || (min..=max).contains(&w.per_day))) {
            cx.err(
                &wp.key("per_day"),
                format!(
                    "`{}` is outside 0 or {min:.1e}–{max} waves a day (one per century to one per millisecond)",
                    w.per_day
                ),
            );
            return None;
        }
        let hit = cx.fraction(&wp.key("hit"), w.hit, false)?;
        (w.per_day > 0.0 && hit > 0.0).then_some(WavesSpec {
            per_day: w.per_day,
            hit,
        })
    });
    let trace = s.trace.as_ref().and_then(|name| {
        let tp = p.key("trace");
        let text = cx.load(&tp, name)?;
        parse_trace(&text)
            .map_err(|m| cx.err(&tp, format!("`{name}`: {m}")))
            .ok()
            .map(Arc::new)
    });
    let trace_offset = match (&s.trace_offset, &trace) {
        (None, _) => None,
        (Some(t), Some(_)) => cx.dur(&p.key("trace_offset"), t),
        (Some(_), None) => {
            cx.err(&p.key("trace_offset"), "`trace_offset` needs a `trace`");
            None
        }
    };
    let stated = s.interruption_rate.is_some()
        || s.interruption_probability.is_some()
        || s.capacity.is_some()
        || s.reclaim_waves.is_some()
        || s.trace.is_some();
    (cx.diags.len() == before).then_some(SpotSpec {
        stated,
        trace_offset,
        rate,
        rate_ci95,
        hourly,
        stop_timeout: stop_timeout?,
        capacity,
        waves,
        trace,
    })
}

/// Parses `{"metadata":{"gap_seconds":N},"data":[0,1,...]}` (1/true = preempted/unavailable).
pub fn parse_trace(text: &str) -> Result<SpotTrace, crate::model::Invalid> {
    parse_trace_text(text).map_err(crate::model::Invalid)
}

/// `parse_trace`'s work, its error in words.
fn parse_trace_text(text: &str) -> Result<SpotTrace, String> {
    #[derive(serde::Deserialize)]
    struct Meta {
        gap_seconds: f64,
    }
    #[derive(serde::Deserialize)]
    struct T {
        metadata: Meta,
        data: Vec<serde_json::Value>,
    }
    let t: T = serde_json::from_str(text).map_err(|e| {
        format!("not a trace file ({e}); expected {{\"metadata\":{{\"gap_seconds\":N}},\"data\":[0,1,...]}}")
    })?;
    if !(t.metadata.gap_seconds.is_finite() && t.metadata.gap_seconds > 0.0) {
        return Err(format!(
            "`metadata.gap_seconds` must be > 0; got `{}`",
            t.metadata.gap_seconds
        ));
    }
    if t.data.is_empty() {
        return Err("`data` is empty".into());
    }
    let mut unavailable = Vec::with_capacity(t.data.len());
    for (i, v) in t.data.iter().enumerate() {
        unavailable.push(match v {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Number(n) if n.as_f64() == Some(0.0) => false,
            serde_json::Value::Number(n) if n.as_f64() == Some(1.0) => true,
            other => {
                return Err(format!(
                    "`data[{i}]` is `{other}`; allowed: 0, 1, false, true"
                ));
            }
        });
    }
    Ok(SpotTrace {
        gap: SimTime::from_secs_f64(t.metadata.gap_seconds),
        unavailable,
    })
}

pub(super) fn retry(cx: &mut Ctx, r: &RetrySection, p: &FieldPath) -> Option<RetryPolicy> {
    use crate::scenario::retry::{Param, RetryParams};
    let at = |param: Param| {
        let key = match (param, &r.delay) {
            (Param::Delay, Some(StringOr::Table(_))) => "delay.exponential.base",
            _ => param.toml_key(),
        };
        key.split('.').fold(p.clone(), |q, k| q.key(k))
    };
    let mut ok = true;
    let (delay, backoff, max_delay) = match &r.delay {
        None => (None, None, None),
        Some(StringOr::Text(t)) => (cx.dur(&at(Param::Delay), t), None, None),
        Some(StringOr::Table(d)) => {
            let e = &d.exponential;
            let base = cx.dur(&at(Param::Delay), &e.base);
            let max = match &e.max {
                None => None,
                Some(m) => {
                    let v = cx.dur(&at(Param::MaxDelay), m);
                    ok &= v.is_some();
                    v
                }
            };
            ok &= base.is_some();
            (base, Some(e.factor.unwrap_or(2.0)), max)
        }
    };
    if matches!(&r.delay, Some(StringOr::Text(_))) {
        ok &= delay.is_some();
    }
    let probe_every = match &r.probe_every {
        None => None,
        Some(t) => {
            let v = cx.dur(&at(Param::ProbeEvery), t);
            ok &= v.is_some();
            v
        }
    };
    let params = RetryParams {
        policy: r.policy.clone(),
        runtask_attempts: r.runtask_attempts,
        fallback: r.fallback.clone(),
        limit: r.lazarus_limit,
        backend: r.backend.clone(),
        max_attempts: r.max_attempts,
        delay,
        backoff,
        max_delay,
        jitter: r.jitter,
        fallback_after: r.fallback_after_interruptions,
        fallback_after_capacity: r.fallback_after_capacity_failures,
        deadline_aware: r.deadline_aware.map(|b| b.to_string()),
        deadline_rule: r.deadline_rule.clone(),
        probe_every,
    };
    match crate::scenario::retry::build(&params, Param::toml_key) {
        Ok(policy) if ok => Some(policy),
        Ok(_) => None,
        Err(errs) => {
            for (param, m) in errs {
                cx.err(&at(param), m);
            }
            None
        }
    }
}
