//! Every shipped scenario validates and runs on a short horizon with sane results.

use spotplan::sweep::{replicate, summarize};

use crate::common::*;

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
        assert!(m.completed.mean + m.crashed.mean + m.failed.mean + m.unfinished.mean - m.runs.mean < 1e-9);
        assert!((0.0..=1.0).contains(&m.spot_share.mean));
        assert!(m.cost_usd.ci95_low <= m.cost_usd.mean && m.cost_usd.mean <= m.cost_usd.ci95_high);
    }
}

#[test]
fn the_article_setup_runs_nothing_on_spot_under_per_call() {
    let src = std::fs::read_to_string(root().join("scenarios/article-prefect1-lazarus.toml")).unwrap();
    let mut s = scenario(&src);
    s.sim.horizon = spotplan::model::SimTime::DAY;
    let sum = summarize(&s, &replicate(&s, 10, &|| {}));
    assert_eq!(sum.metrics.spot_share.mean, 0.0);
    assert!(sum.metrics.saving_usd.mean.abs() < 1e-9);
    assert!(sum.meta.warnings.iter().any(|w| w.code == "base-on-fargate-per-call"));
}

#[test]
fn spot_saves_money_in_the_default_scenario() {
    let src = std::fs::read_to_string(root().join("scenarios/prefect3-hourly-etl.toml")).unwrap();
    let mut s = scenario(&src);
    s.sim.horizon = spotplan::model::SimTime::parse_human("7d").unwrap();
    let sum = summarize(&s, &replicate(&s, 30, &|| {}));
    assert!(sum.metrics.saving_fraction.ci95_low > 0.0);
    assert!(sum.metrics.spot_share.mean > 0.4 && sum.metrics.spot_share.mean < 0.7);
}
