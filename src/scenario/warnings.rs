//! Warnings for the traps users fall into, each explained in one sentence.

use super::types::{LaunchSource, RetryPolicy, Scenario};
use crate::model::{Placement, PlacementSpec, Provider};

/// One warning: a stable code and a one-sentence explanation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Warning {
    /// Stable identifier, e.g. `base-on-fargate-per-call`.
    pub code: &'static str,
    /// The explanation.
    pub message: String,
}

/// λ·L at which restarting from scratch on spot costs as much as on-demand:
/// the x solving (eˣ − 1)/x = on-demand rate / spot rate.
pub fn break_even_lambda_l(price_ratio: f64) -> f64 {
    if price_ratio <= 1.0 {
        return 0.0;
    }
    let (mut lo, mut hi) = (1e-9_f64, 100.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid.exp_m1() / mid < price_ratio {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The warnings for a validated scenario.
pub fn warnings(s: &Scenario) -> Vec<Warning> {
    let mut out = Vec::new();
    let runs = super::workload::Load::of(s).runs_per_replication;
    if runs < 1.0 {
        out.push(Warning {
            code: "no-runs",
            message: format!(
                "no run is scheduled within the horizon of {}: every figure will be zero; lengthen the horizon (`--horizon 30d`) or check the schedules' offsets",
                s.sim.horizon
            ),
        });
    }
    if let Some(b) = super::workload::backlog(s) {
        out.push(Warning {
            code: "backlog-grows",
            message: format!(
                "the concurrency limit cannot keep up: the flows ask for {:.0}% of it on average, so runs queue for the whole horizon and about {:.0} would still be waiting at its end (reported as unfinished, with latencies and deadline misses that grow with the horizon); raise the limit or spread the schedules",
                b.utilisation * 100.0,
                b.waiting_at_end
            ),
        });
    }
    // a rate objective above 0.5 is most likely a percentage written as a number
    let mut rates: Vec<(String, f64)> = [
        ("max_crashed", s.objectives.max_crashed),
        ("max_deadline_miss", s.objectives.max_deadline_miss),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (format!("[objectives] {k}"), v)))
    .collect();
    for f in &s.flows {
        if let Some(o) = &f.objectives {
            for (k, v) in [
                ("max_crashed", o.max_crashed),
                ("max_deadline_miss", o.max_deadline_miss),
            ] {
                if let Some(v) = v {
                    rates.push((format!("`{}`'s {k}", f.name), v));
                }
            }
        }
    }
    for (what, v) in rates.into_iter().filter(|(_, v)| *v > 0.5) {
        out.push(Warning {
            code: "objective-looks-like-percent",
            message: format!(
                "{what} = {v} allows {} of runs: rates are fractions (0.01 is 1%); if you meant {v}%, write {}",
                crate::units::pct(v),
                v / 100.0
            ),
        });
    }
    // what `sweep` and `recommend` will need: FARGATE (the baseline) and, when the grid or
    // the per-deployment search reaches it, FARGATE_SPOT, for every task size
    let mut providers = vec![Provider::Fargate];
    if s.sweep.spot_shares.iter().any(|&x| x > 0) || s.sweep.per_deployment {
        providers.push(Provider::FargateSpot);
    }
    let sizes: Vec<&crate::model::TaskSize> = s.flows.iter().map(|f| &f.size).collect();
    if let Err(e) = crate::pricing::resolved::resolve(
        &s.prices,
        &sizes,
        &s.worker.size,
        &providers,
        s.on_demand_discount,
    ) {
        out.push(Warning {
            code: "grid-rates-missing",
            message: format!("`sweep`, `recommend` and `report` would stop: {e}"),
        });
    }
    let strat = &s.launch.strategy;
    if s.sim.placement == Placement::PerCall
        && let Some(b) = strat.base_item()
        && b.provider == Provider::Fargate
        && strat.uses(Provider::FargateSpot)
    {
        out.push(Warning {
                    code: "base-on-fargate-per-call",
                    message: format!(
                        "with `per-call` placement the base of {} on FARGATE is met inside every single-task RunTask call, so every run lands on FARGATE: expected spot share 0%, not the {:.0}% the weights suggest",
                        b.base,
                        100.0 * strat.weight_share(Provider::FargateSpot)
                    ),
                });
    }
    let mixed = strat.uses(Provider::Fargate) && strat.uses(Provider::FargateSpot);
    if let Some(b) = strat.base_item()
        && mixed
    {
        let readings: Vec<Placement> = match s.sim.placement_spec {
            PlacementSpec::Robust => Placement::ALL.to_vec(),
            PlacementSpec::Reading(p) => vec![p],
        };
        if readings.iter().any(|p| p.reinterprets_base()) {
            out.push(Warning {
                code: "base-reading",
                message: format!(
                    "AWS documents `base` as a minimum \"for each service\", not for standalone RunTask calls: the base of {} on {} sends every run there under `per-call`, is ignored under `per-call-no-base` and `weighted-random`, and keeps {} task(s) in flight there under `proportional`; {}",
                    b.base,
                    b.provider,
                    b.base,
                    match s.sim.placement_spec {
                        PlacementSpec::Robust => "`robust` evaluates every reading".to_string(),
                        PlacementSpec::Reading(p) => format!(
                            "this scenario assumes `{p}`; prefer a strategy without base, per-deployment strategies, or placement = \"robust\""
                        ),
                    }
                ),
            });
        }
    }
    if mixed
        && s.sim.placement == Placement::WeightedRandom
        && (s.spot.capacity.is_some() || s.spot.trace.is_some())
    {
        out.push(Warning {
            code: "weighted-random-redraw",
            message: "under `weighted-random` each retried RunTask draws its provider again, so a mixed strategy survives spot outages by landing on FARGATE: an on-demand fallback ECS itself never promises".into(),
        });
    }
    // every attempt pulls its image again; behind a NAT all tasks pull from its address
    if let super::Egress::Nat { gateways, .. } = s.network.egress {
        let outside: Vec<usize> = (0..s.flows.len())
            .filter(|&f| s.flows[f].image_registry.0 == super::ImageRegistry::Other)
            .collect();
        if !outside.is_empty() {
            let per_hour: f64 = outside
                .iter()
                .map(|&f| super::workload::runs_per_hour(s, f))
                .sum();
            out.push(Warning {
                code: "registry-rate-limit",
                message: format!(
                    "{} pull their images from outside ECR on every attempt, through {} NAT gateway address(es): at least {:.1} pulls per hour on average, more at the top of the hour and with retries. If that is Docker Hub, it allows 10 pulls per hour per IPv4 address without a login and 100 with a Personal one (none on paid plans; Docker Hub's usage and limits page), and a refused pull stops the task (CannotPullContainerError) and crashes the run: {}; mirror the image in ECR (ECR pull-through cache) or log in with a paid plan",
                    outside
                        .iter()
                        .map(|&f| format!("`{}`", s.flows[f].name))
                        .collect::<Vec<_>>()
                        .join(", "),
                    gateways.max(1),
                    per_hour,
                    match s.network.pull_limit {
                        Some(l) => format!("simulated at the stated pull_limit of {l}/h per address"),
                        None => "not simulated without [network] pull_limit (e.g. \"10/h\")".into(),
                    }
                ),
            });
        }
    }
    if !s.network.stated {
        out.push(Warning {
            code: "network-assumed",
            message: format!(
                "no [network] section: {}; say egress = \"public-ip\", \"nat\" or \"vpc-endpoints\"",
                s.network.describe()
            ),
        });
    }
    if matches!(
        s.launch.source,
        LaunchSource::RequestLaunchType | LaunchSource::WorkerDefaultLaunchType
    ) && let Some(d) = &s.cluster.default_strategy
    {
        let who = if s.launch.source == LaunchSource::WorkerDefaultLaunchType {
            format!(
                "the {} sends `launchType=FARGATE` when it has no capacity provider strategy",
                s.worker.kind.name()
            )
        } else {
            "`worker.launch_type` is sent with every RunTask".to_string()
        };
        out.push(Warning {
                code: "launch-type-ignores-strategy",
                message: format!(
                    "{who}, and a launch type makes ECS ignore the cluster default strategy ({d}): every run goes to on-demand FARGATE; set `worker.strategy` (the work pool's capacity_provider_strategy) instead"
                ),
            });
    }
    for policy in s.policies() {
        match policy {
        RetryPolicy::Prefect1Lazarus { .. } => {
            for f in s.flows.iter().filter(|f| !f.tasks.stated) {
                out.push(Warning {
                    code: "prefect1-one-task",
                    message: format!(
                        "flow `{}`: no `tasks`, so a run is taken as one Prefect 1 task without retries: an interruption once it runs is the Zombie Killer's, which marks the task Failed, and the run ends Failed (after a billed empty rerun by Lazarus); say `tasks = {{ count = N, retries = R }}`",
                        f.name
                    ),
                });
            }
        }
        RetryPolicy::Prefect3 {
            reschedule: true, ..
        } => out.push(Warning {
            code: "prefect3-reschedule-version",
            message: "`prefect3-reschedule` needs Prefect ≥ 3.2.10 in the flow's image (older versions ignore PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR) and reschedules only once `prefect flow-run execute` installed its SIGTERM handler: an interruption during provisioning, image pull or the unprotected part of the engine start-up still crashes the run".into(),
        }),
        _ => {}
    }
    }
    for f in &s.flows {
        if let Some(deadline) = f.deadline {
            let need = f.provisioning.mean_ms() + f.image_pull.mean_ms() + f.duration.median_ms();
            if (deadline.0 as f64) < need {
                out.push(Warning {
                    code: "deadline-shorter-than-run",
                    message: format!(
                        "flow `{}`: its deadline {} is shorter than startup plus the median work ({:.0}s), so most runs miss it even with no interruption",
                        f.name,
                        deadline,
                        need / 1000.0
                    ),
                });
            }
        }
    }
    let lambda = s.spot.rate.per_hour
        * s.spot
            .hourly
            .map(|h| h.iter().sum::<f64>() / 24.0)
            .unwrap_or(1.0);
    if lambda > 0.0 && strat.uses(Provider::FargateSpot) {
        for f in s.flows.iter().filter(|f| f.checkpoint.is_none()) {
            let Some(fi) = s.flows.iter().position(|g| g.name == f.name) else {
                continue;
            };
            let (od, sp) = (
                s.rates.flow(fi, Provider::Fargate),
                s.rates.flow(fi, Provider::FargateSpot),
            );
            if !(sp > 0.0 && od.is_finite()) {
                continue;
            }
            let ratio = od / sp;
            let x = lambda * f.duration.median_ms() / 3_600_000.0;
            let be = break_even_lambda_l(ratio);
            if x > be {
                out.push(Warning {
                    code: "interruptions-above-break-even",
                    message: format!(
                        "flow `{}`: interruption rate {:.3}/h × median work {:.2}h gives λ·L = {:.2}, above the break-even {:.2} for an on-demand/spot price ratio of {:.2}, so restarting from scratch on spot costs more than on-demand",
                        f.name,
                        lambda,
                        f.duration.median_ms() / 3_600_000.0,
                        x,
                        be,
                        ratio
                    ),
                });
            }
        }
    }
    if !s.spot.stated {
        out.push(Warning {
            code: "no-spot-section",
            message: "no [spot] section: spot tasks are simulated as never interrupted and never short of capacity, which flatters every strategy with FARGATE_SPOT; give `interruption_rate` (e.g. \"0.05/h\"), `capacity` or a `trace` (`spotplan calibrate` estimates them from your history)".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn break_even_solves_the_equation() {
        let x = break_even_lambda_l(3.0);
        assert!((x.exp_m1() / x - 3.0).abs() < 1e-9);
        assert_eq!(break_even_lambda_l(1.0), 0.0);
    }
}
