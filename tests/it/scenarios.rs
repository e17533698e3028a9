//! Every shipped scenario validates and runs on a short horizon with sane results.

use spotplan::sweep::{replicate, summarize};

use crate::common::*;
use spotplan::sim::Detail;

fn shipped() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn there_are_five_shipped_scenarios() {
    assert!(shipped().len() >= 5, "{:?}", shipped());
}

#[test]
fn every_shipped_scenario_runs_on_a_short_horizon() {
    for p in shipped() {
        let src = std::fs::read_to_string(&p).unwrap();
        let dir = p.parent().unwrap().to_path_buf();
        let loader = move |n: &str| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string());
        let mut s = spotplan::scenario::load(&src, &p.display().to_string(), &loader).unwrap();
        s.sim.horizon = spotplan::model::SimTime::parse_human("3d").unwrap();
        let reps = replicate(&s, 20, &|| {});
        let sum = summarize(&s, &reps);
        let m = &sum.metrics;
        assert!(m.runs.mean >= 1.0, "{}", p.display());
        assert!(m.cost_usd.mean > 0.0, "{}", p.display());
        assert!(m.baseline_cost_usd.mean > 0.0, "{}", p.display());
        assert!(
            m.completed.mean + m.crashed.mean + m.failed.mean + m.unfinished.mean - m.runs.mean
                < 1e-9
        );
        assert!((0.0..=1.0).contains(&m.spot_share.mean));
        assert!(m.cost_usd.ci95_low <= m.cost_usd.mean && m.cost_usd.mean <= m.cost_usd.ci95_high);
    }
}

#[test]
fn the_article_setup_runs_nothing_on_spot_under_per_call() {
    let src =
        std::fs::read_to_string(root().join("scenarios/article-prefect1-lazarus.toml")).unwrap();
    let mut s = scenario(&src);
    s.sim.horizon = spotplan::model::SimTime::DAY;
    let sum = summarize(&s, &replicate(&s, 10, &|| {}));
    assert_eq!(sum.metrics.spot_share.mean, 0.0);
    assert!(sum.metrics.saving_usd.mean.abs() < 1e-9);
    assert!(
        sum.meta
            .warnings
            .iter()
            .any(|w| w.code == "base-on-fargate-per-call")
    );
}

#[test]
fn spot_saves_money_in_the_default_scenario() {
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml")).unwrap();
    let mut s = scenario(&src);
    s.sim.horizon = spotplan::model::SimTime::parse_human("7d").unwrap();
    let sum = summarize(&s, &replicate(&s, 30, &|| {}));
    assert!(sum.metrics.saving_fraction.ci95_low > 0.0);
    // `simulate` runs the `per-call` reading: without a base, each single-task call goes to
    // the larger weight (FARGATE_SPOT 3 : FARGATE 2); reschedules and outages aside, on spot
    assert!(
        sum.metrics.spot_share.mean > 0.9,
        "{}",
        sum.metrics.spot_share.mean
    );
    // under `weighted-random` the split follows the weights
    s.sim.placement = spotplan::model::Placement::WeightedRandom;
    let sum = summarize(&s, &replicate(&s, 30, &|| {}));
    assert!(sum.metrics.spot_share.mean > 0.4 && sum.metrics.spot_share.mean < 0.7);
}

#[test]
fn weekly_cron_table_matches_croner() {
    use spotplan::scenario::Schedule;
    use spotplan::sim::EventKind;
    for cron in ["15 */6 * * 1-5", "0 1 * * *", "@hourly", "*/7 3-5 * * 0,6"] {
        let src = base(
            "[simulation]\nhorizon = \"30d\"\n[cluster]\ncapacity_providers = [\"FARGATE\"]\n[worker]\ncount = 0\nstrategy = [{ provider = \"FARGATE\", weight = 1 }]",
            &format!("schedule = {{ cron = \"{cron}\" }}\nduration = \"1m\""),
        );
        let fast = scenario(&src);
        let Schedule::Cron { cron: c, weekly } = &fast.flows[0].schedule else {
            panic!()
        };
        assert!(weekly.is_some(), "{cron} should be weekly-periodic");
        let mut slow = fast.clone();
        slow.flows[0].schedule = Schedule::Cron {
            cron: c.clone(),
            weekly: None,
        };
        let times = |s: &spotplan::scenario::Scenario| -> Vec<u64> {
            trace(s, 0)
                .1
                .iter()
                .filter(|e| e.kind == EventKind::Scheduled)
                .map(|e| e.t_ms)
                .collect()
        };
        let (a, b) = (times(&fast), times(&slow));
        assert!(!a.is_empty());
        assert_eq!(a, b, "{cron}");
    }
    // day-of-month patterns are not weekly: croner decides every arrival
    let src = base(
        "[cluster]\ncapacity_providers = [\"FARGATE\"]\n[worker]\ncount = 0\nstrategy = [{ provider = \"FARGATE\", weight = 1 }]",
        "schedule = { cron = \"0 0 1 * *\" }\nduration = \"1m\"",
    );
    let s = scenario(&src);
    assert!(matches!(
        &s.flows[0].schedule,
        Schedule::Cron { weekly: None, .. }
    ));
    // simulation starts 2026-01-05: the 1st of the month falls on 2026-02-01, 27 days later
    let (o, ev) = trace(&s, 0);
    assert_eq!(o.runs, 1);
    assert_eq!(ev[0].t_ms, 27 * 86_400_000);
}

#[test]
fn trace_invariants_hold_on_every_shipped_scenario() {
    use spotplan::sim::EventKind;
    use std::collections::BTreeMap;
    for p in shipped() {
        let src = std::fs::read_to_string(&p).unwrap();
        let mut s = scenario(&src);
        s.sim.horizon = spotplan::model::SimTime::parse_human("4d").unwrap();
        for rep in 0..4 {
            let (o, events) = trace(&s, rep);
            let mut work = BTreeMap::new();
            let mut placed = 0u64;
            let mut stopped = 0u64;
            let mut last = 0;
            for e in &events {
                assert!(e.t_ms >= last, "{}: events out of order", p.display());
                last = e.t_ms;
                match e.kind {
                    EventKind::Scheduled => {
                        let Detail::Work { work_ms } = e.detail else {
                            panic!("scheduled without its work: {e:?}")
                        };
                        work.insert((e.flow, e.run), work_ms);
                    }
                    EventKind::Placed => placed += 1,
                    EventKind::Stopped => stopped += 1,
                    EventKind::Completed => {
                        // a run cannot finish faster than its work
                        let w = work[&(e.flow, e.run)];
                        let Detail::Completed { latency_ms } = e.detail else {
                            panic!("completed without its latency: {e:?}")
                        };
                        assert!(
                            latency_ms >= w,
                            "{}: run {} done in {latency_ms} ms < work {w}",
                            p.display(),
                            e.run,
                        );
                    }
                    _ => {}
                }
            }
            assert_eq!(placed, o.tasks);
            // every task is billed exactly once (at its stop, or at the cutoff)
            assert_eq!(placed, stopped, "{}", p.display());
            assert_eq!(o.completed + o.crashed + o.failed + o.unfinished, o.runs);
        }
    }
}

/// The shipped scenario at `p`, loaded as `spotplan` would.
fn load_shipped(p: &std::path::Path) -> spotplan::scenario::Scenario {
    let src = std::fs::read_to_string(p).unwrap();
    let dir = p.parent().unwrap().to_path_buf();
    let loader = move |n: &str| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string());
    spotplan::scenario::load(&src, &p.display().to_string(), &loader).unwrap()
}

#[test]
fn recommend_names_a_deployable_policy_on_every_shipped_scenario() {
    use spotplan::sweep::job::execute;
    use spotplan::sweep::recommend::recommend;
    let never = std::sync::atomic::AtomicBool::new(false);
    let ctl = spotplan::sweep::cells::Control {
        cancel: &never,
        tick: &|_| {},
    };
    for p in shipped() {
        let mut s = load_shipped(&p);
        // short and few: this checks what can be recommended, not the figures
        s.sim.horizon = spotplan::model::SimTime::parse_human("3d").unwrap();
        let mut spec = s.sweep.clone();
        spec.replications = 8;
        spec.spot_shares = vec![0, 50, 100];
        let run = execute(&s, &spec, None, &ctl).unwrap();
        let rec = recommend(&run.result, &run.matrix, false);
        let name = p.display();
        // with every policy deployable or not, nothing feasible is also an answer: then the
        // nearest miss must itself be deployable
        let pick = rec
            .candidate
            .or(rec.closest.as_ref().map(|c| c.candidate))
            .unwrap_or_else(|| panic!("{name}: neither a pick nor a nearest miss"));
        let c = &run.result.candidates[pick];
        assert!(c.deployable, "{name}: {} is not deployable", c.label);
        if rec.candidate.is_some() {
            let how = rec.deployment.clone().unwrap_or_default();
            assert!(
                !how.is_empty()
                    && !how.starts_with("needs a code change")
                    && !how.starts_with("not deployable"),
                "{name}: {how}"
            );
        }
        // and every shipped scenario says how its tasks reach the network
        assert!(s.network.stated, "{name}: no [network] section");
        // sweeps use `robust` unless the scenario asks otherwise
        assert!(
            spec.placements == vec![spotplan::model::PlacementSpec::Robust],
            "{name}: {:?}",
            spec.placements
        );
    }
}

#[test]
fn command_line_overrides_are_validated_with_the_file_and_build_the_same_scenario() {
    use spotplan::scenario::{Overrides, load_with, validate::bundled_only};
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml")).unwrap();
    let no_files = |_: &str| -> Result<String, String> { Err("none".into()) };
    let load = |src: &str, o: &Overrides| load_with(src, "s.toml", &no_files, &bundled_only, o);
    let o = Overrides {
        seed: Some(7),
        horizon: Some("3d".into()),
        replications: Some(5),
        placement: Some("weighted-random".into()),
        assumed_objectives: None,
        deployment_guard: None,
    };
    let s = load(&src, &o).unwrap();
    assert_eq!(
        (s.sim.seed, s.sim.horizon, s.sim.replications),
        (7, spotplan::model::SimTime(3 * 86_400_000), 5)
    );
    assert!(s.sim.placement_stated);
    // the sweep keeps the file's replications (an override of the simulation's is no sweep's)
    assert_eq!(
        s.sweep.replications,
        load(&src, &Overrides::default())
            .unwrap()
            .sweep
            .replications
    );
    // an override is checked as the file's value is
    let bad = Overrides {
        placement: Some("nowhere".into()),
        ..Default::default()
    };
    assert!(load(&src, &bad).is_err());
}

#[test]
fn a_pick_that_moves_deployments_is_not_the_current_configuration() {
    use spotplan::model::Provider;
    use spotplan::scenario::Variant;
    let s = scenario(
        &std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml")).unwrap(),
    );
    let same = |deployments: &[Provider]| {
        let v = s
            .variant(&Variant {
                strategy: &s.launch.strategy,
                reading: s.sim.placement,
                placement_spec: None,
                deployments,
                retry: None,
                checkpoint_every: None,
                deployment_retry: &[],
                deployment_checkpoint: &[],
            })
            .unwrap();
        s.same_configuration(&v)
    };
    // the pool's strategy and the retry policy unchanged: the same, as long as no deployment
    // moves
    assert!(same(&[]));
    // one deployment on its own provider: another configuration, though the pool's strategy
    // and the retry policy are the same (the headline once said "keep it" here)
    let n = s.flows.len();
    assert!(!same(&vec![Provider::FargateSpot; n]));
    assert!(!same(&vec![Provider::Fargate; n]));
}
