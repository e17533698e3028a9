//! `[sweep]` (the candidate grid) and `[objectives]`.

use super::context::Ctx;
use crate::model::{Provider, Strategy};
use crate::scenario::error::FieldPath;
use crate::scenario::file::*;
use crate::scenario::spec;
use crate::scenario::types::*;

pub(super) fn sweep(
    cx: &mut Ctx,
    w: &SweepSection,
    p: &FieldPath,
    sim: &SimulationSettings,
    retry: &RetryPolicy,
) -> Option<SweepSpec> {
    let before = cx.diags.len();
    let spot_shares = spec::parse_percent_range(w.spot_share.as_deref().unwrap_or("0:100:10"))
        .map_err(|m| cx.err(&p.key("spot_share"), m))
        .unwrap_or_default();
    let bases = w.base.clone().unwrap_or_else(|| vec![0]);
    for (i, b) in bases.iter().enumerate() {
        if *b > Strategy::MAX_BASE {
            cx.err(
                &p.key("base").index(i),
                format!("base `{b}` is outside 0–100000"),
            );
        }
    }
    if bases.is_empty() {
        cx.err(&p.key("base"), "give at least one base value, e.g. [0]");
    }
    let base_provider = match w.base_provider.as_deref().unwrap_or("FARGATE") {
        "FARGATE" => Provider::Fargate,
        "FARGATE_SPOT" => Provider::FargateSpot,
        other => {
            cx.err(
                &p.key("base_provider"),
                format!("`{other}` is not a provider; allowed: `FARGATE`, `FARGATE_SPOT`"),
            );
            Provider::Fargate
        }
    };
    let mut placements = Vec::new();
    for (i, pl) in w.placement.clone().unwrap_or_default().iter().enumerate() {
        match spec::parse_placement_spec(pl) {
            Ok(x) if !placements.contains(&x) => placements.push(x),
            Ok(_) => {}
            Err(m) => cx.err(&p.key("placement").index(i), m),
        }
    }
    if placements.is_empty() {
        placements.push(sim.placement_spec);
    }
    let mut retries = Vec::new();
    for (i, r) in w.retry.clone().unwrap_or_default().iter().enumerate() {
        match crate::scenario::retry::parse_spec(r) {
            Ok(x) => retries.push(x),
            Err(m) => cx.err(&p.key("retry").index(i), m),
        }
    }
    if retries.is_empty() {
        retries.push(retry.clone());
    }
    let mut checkpoint_every = Vec::new();
    for (i, c) in w
        .checkpoint_every
        .clone()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Some(d) = cx.positive_dur(&p.key("checkpoint_every").index(i), c) {
            checkpoint_every.push(Some(d));
        }
    }
    if checkpoint_every.is_empty() {
        checkpoint_every.push(None);
    }
    let replications = w.replications.unwrap_or(sim.replications);
    if !(2..=1_000_000).contains(&replications) {
        cx.err(
            &p.key("replications"),
            format!("`{replications}` is outside 2–1000000"),
        );
    }
    (cx.diags.len() == before).then_some(SweepSpec {
        spot_shares,
        bases,
        base_provider,
        placements,
        retries,
        checkpoint_every,
        replications,
        adaptive: w.adaptive.unwrap_or(true),
        per_deployment: w.per_deployment.unwrap_or(true),
    })
}

pub(super) fn objectives(cx: &mut Ctx, o: &ObjectivesSection, p: &FieldPath) -> Objectives {
    let frac = |cx: &mut Ctx, name: &str, v: Option<f64>| {
        if v == Some(0.0) {
            // an upper bound from finite samples is never 0 (`stats::rate_upper`)
            cx.err(
                &p.key(name),
                "0 cannot be shown from finite samples (0 events in n runs still bound the rate \
                 above 0); state e.g. 0.0001"
                    .to_string(),
            );
            return None;
        }
        v.and_then(|v| cx.fraction(&p.key(name), v, false))
    };
    let max_deadline_miss = frac(cx, "max_deadline_miss", o.max_deadline_miss);
    let max_crashed = frac(cx, "max_crashed", o.max_crashed);
    let max_p95_latency_ms = o
        .max_p95_latency
        .as_ref()
        .and_then(|t| cx.positive_dur(&p.key("max_p95_latency"), t))
        .map(|t| t.0);
    if let Some(c) = o.max_monthly_cost
        && !(c.is_finite() && c >= 0.0)
    {
        cx.err(
            &p.key("max_monthly_cost"),
            format!("`{c}` must be a finite number ≥ 0 (USD per 30 days)"),
        );
    }
    let confidence = o.confidence.unwrap_or(0.95);
    if !(confidence > 0.0 && confidence < 1.0) {
        cx.err(
            &p.key("confidence"),
            format!("`{confidence}` is outside (0, 1)"),
        );
    }
    Objectives {
        max_deadline_miss,
        max_crashed,
        max_p95_latency_ms,
        max_monthly_cost: o.max_monthly_cost,
        confidence,
        assumed: None,
        deployment_guard: None,
        unreachable: Vec::new(),
    }
}
