//! Engine throughput on the shipped scenarios: events per second of one replication on one
//! core (the hot loop), and replications per second of `replicate` on all cores.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spotplan::model::SimTime;
use spotplan::scenario::{self, Scenario};
use spotplan::sim::{self, NoObserver};
use spotplan::sweep::replicate;

fn load(name: &str, horizon: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name);
    let src = std::fs::read_to_string(&path).expect("shipped scenario");
    let dir = path.parent().expect("dir").to_path_buf();
    let loader = move |n: &str| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string());
    let mut s = scenario::load(&src, name, &loader).expect("valid scenario");
    s.sim.horizon = SimTime::parse_human(horizon).expect("horizon");
    s
}

const SCENARIOS: [&str; 6] = [
    "prefect3-hourly-etl.toml",
    "article-prefect1-lazarus.toml",
    "article-prefect3-reschedule.toml",
    "nightly-batch-deadline.toml",
    "high-frequency-small.toml",
    "long-checkpointed.toml",
];

fn engine_events(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_events_30d");
    for name in SCENARIOS {
        let s = load(name, "30d");
        let events = sim::run(&s, 0, &mut NoObserver).events;
        g.throughput(Throughput::Elements(events));
        g.bench_function(name, |b| {
            b.iter(|| black_box(sim::run(black_box(&s), 0, &mut NoObserver)))
        });
    }
    g.finish();
}

fn replications(c: &mut Criterion) {
    let mut g = c.benchmark_group("replications_30d_x32");
    g.sample_size(10);
    for name in SCENARIOS {
        let s = load(name, "30d");
        g.throughput(Throughput::Elements(32));
        g.bench_function(name, |b| b.iter(|| black_box(replicate(&s, 32, &|| {}))));
    }
    g.finish();
}

criterion_group!(benches, engine_events, replications);
criterion_main!(benches);
