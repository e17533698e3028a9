//! A 100-candidate × 200-replication sweep of the default scenario over 30 days, with and
//! without adaptive search (racing), on two single readings (`two_readings`, the grid of
//! earlier benchmarks) and under `robust` placement (`robust`: 20 spot shares × 5 retry
//! policies, each mixed strategy under every reading). Each iteration is a whole sweep, on
//! all cores.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, criterion_group, criterion_main};
use spotplan::model::PlacementSpec;
use spotplan::model::SimTime;
use spotplan::scenario::spec::{parse_placement_spec, parse_retry_spec};
use spotplan::sweep::cells::Control;
use spotplan::sweep::job::{execute, prepare};

fn sweep(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/prefect3-hourly-etl.toml");
    let mut s = spotplan::cli::load_scenario(&path).expect("default scenario");
    s.sim.horizon = SimTime(30 * SimTime::DAY.0);
    let mut spec = s.sweep.clone();
    spec.spot_shares = (0..100).step_by(10).collect();
    spec.placements = ["weighted-random", "proportional"]
        .iter()
        .map(|p| parse_placement_spec(p).expect("placement"))
        .collect();
    spec.retries = [
        "prefect3",
        "prefect3-reschedule",
        "custom[max_attempts=5,delay=10s,fallback_after=1,fallback_after_capacity=2]",
        "custom[max_attempts=5,delay=10s,fallback_after_capacity=1]",
        "custom[max_attempts=3,delay=30s,deadline_aware=true]",
    ]
    .iter()
    .map(|r| parse_retry_spec(r).expect("retry"))
    .collect();
    spec.replications = 200;
    assert_eq!(prepare(&s, &spec).expect("rates").0.len(), 100);
    let mut robust = spec.clone();
    robust.placements = vec![PlacementSpec::Robust];
    robust.spot_shares = (0..100).step_by(5).collect();
    assert_eq!(prepare(&s, &robust).expect("rates").0.len(), 100);
    let never = AtomicBool::new(false);
    let ctl = Control {
        cancel: &never,
        tick: &|_| {},
    };
    for (name, spec) in [("two_readings", &spec), ("robust", &robust)] {
        let mut g = c.benchmark_group(format!("sweep_100x200_30d_{name}"));
        g.sample_size(10);
        for adaptive in [false, true] {
            let mut sp = spec.clone();
            sp.adaptive = adaptive;
            let run = execute(&s, &sp, None, &ctl).expect("rates");
            eprintln!(
                "{name} adaptive={adaptive}: {} variants, {} of {} variant-replications run ({:.0}% saved)",
                run.scenarios.len(),
                run.result.search.cells_run,
                run.result.search.cells_full,
                100.0 * run.result.search.saving
            );
            g.bench_function(if adaptive { "adaptive" } else { "full" }, |b| {
                b.iter(|| black_box(execute(&s, &sp, None, &ctl)))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, sweep);
criterion_main!(benches);
