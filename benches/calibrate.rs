//! Task records parsed (and accumulated) per second by `calibrate`, for EventBridge JSON
//! lines and CSV, from memory.

use std::hint::black_box;
use std::io::Read;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spotplan::calibrate::estimate::Accum;
use spotplan::calibrate::records::read_ecs;
use spotplan::calibrate::synthetic::SyntheticTasks;

fn parse(c: &mut Criterion) {
    let n = 100_000u64;
    let mut g = c.benchmark_group("calibrate_parse_100k");
    g.sample_size(10);
    for (name, csv) in [("eventbridge_jsonl", false), ("csv", true)] {
        let mut data = Vec::new();
        SyntheticTasks::new(n, csv)
            .read_to_end(&mut data)
            .expect("synthetic data");
        g.throughput(Throughput::Elements(n));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = Accum::default();
                let mut r = data.as_slice();
                read_ecs(&mut r, "bench", &mut |x| acc.add(x)).expect("parses");
                black_box(acc.records)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
