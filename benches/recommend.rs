//! `recommend` end to end (the sweep with racing and the per-deployment search, the pick, the
//! current configuration under every reading, how sure the pick is) on generated platforms of
//! 10, 50, 100 and 200 deployments: `spotplan::scenario::generate::platform(n, 1)`, whose parameters its module
//! states (schedule mix, run length against period, deadlines, NAT, 30 days, 100
//! replications, the default grid with `prefect3` and its fallback automation, robust
//! placement, no `[objectives]`: the deployment guard applies). Each iteration is a whole
//! recommendation, on all cores. Target: 100 deployments within 10 s on 2 cores, time about
//! linear in the number of deployments.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, criterion_group, criterion_main};
use spotplan::scenario::{Overrides, load_with, validate::bundled_only};
use spotplan::sweep::cells::Control;
use spotplan::sweep::job::execute;
use spotplan::sweep::recommend::recommend;

fn platforms(c: &mut Criterion) {
    let mut g = c.benchmark_group("recommend_platform_30d_100reps");
    g.sample_size(10);
    let never = AtomicBool::new(false);
    let ctl = Control {
        cancel: &never,
        tick: &|_| {},
    };
    let no_files = |_: &str| -> Result<String, String> { Err("no files".into()) };
    for n in [10usize, 50, 100, 200] {
        let src = spotplan::scenario::generate::platform(n, 1);
        let overrides = Overrides {
            assumed_objectives: Some(false),
            ..Default::default()
        };
        let s = load_with(&src, "platform.toml", &no_files, &bundled_only, &overrides)
            .expect("a generated platform is valid");
        let run = execute(&s, &s.sweep, None, &ctl).expect("rates");
        let rec = recommend(&run.result, &run.matrix, false);
        eprintln!(
            "{n} deployments: {} of {} candidate-replications run, {} branch-and-bound nodes, pick {}",
            run.result.search.cells_run,
            run.result.search.cells_full,
            run.result.search.deployments.screened,
            rec.label.as_deref().unwrap_or("none")
        );
        g.bench_function(format!("{n}_deployments"), |b| {
            b.iter(|| {
                let run = execute(&s, &s.sweep, None, &ctl).expect("rates");
                let rec = recommend(&run.result, &run.matrix, false);
                let (cur, costs) =
                    spotplan::sweep::compare::current(&s, &run, rec.candidate, Default::default());
                let sure = spotplan::sweep::sensitivity::of(
                    &s,
                    &run,
                    rec.candidate,
                    &cur.worst_reading,
                    &costs,
                );
                black_box((rec, cur, sure))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, platforms);
criterion_main!(benches);
