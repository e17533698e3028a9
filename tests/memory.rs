//! Peak heap of one replication grows with work in flight, not with the horizon: a 365-day
//! horizon may use at most 1.5× the peak heap of a 1-day horizon, plus the latency store's
//! fixed ceiling (exact latencies of up to 4096 runs, then one histogram; a day of few runs
//! never reaches it).
//!
//! A separate test binary because it installs a counting global allocator, and measures one
//! replication at a time on one thread.

#[path = "support/counting.rs"]
mod counting;

use spotplan::model::SimTime;
use spotplan::sim::{self, NoObserver};

#[global_allocator]
static A: counting::Counting = counting::Counting;

/// Peak heap bytes allocated during one replication.
fn peak_of(s: &spotplan::scenario::Scenario) -> usize {
    let (peak, o) = counting::peak_during(|| sim::run(s, 0, &mut NoObserver));
    assert!(o.runs > 0);
    peak
}

#[test]
fn a_year_needs_at_most_one_and_a_half_times_the_memory_of_a_day() {
    // every shipped scenario, those in subdirectories (the deadline regimes) too
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names: Vec<std::path::PathBuf> = Vec::new();
    let mut dirs = vec![dir];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                names.push(p);
            }
        }
    }
    names.sort();
    for path in names {
        let mut s = spotplan::cli::load_scenario(&path).unwrap();
        s.sim.horizon = SimTime::DAY;
        let day = peak_of(&s);
        s.sim.horizon = SimTime(365 * SimTime::DAY.0);
        let year = peak_of(&s);
        println!(
            "{}: peak heap 1 day {day} B, 365 days {year} B ({:.2}×)",
            path.display(),
            year as f64 / day as f64
        );
        let ceiling = (spotplan::sim::latency::EXACT_UP_TO * 8 * 2 + 128 * 1024) as f64;
        assert!(
            year as f64 <= 1.5 * day as f64 + ceiling,
            "{}: {year} B vs {day} B",
            path.display()
        );
    }
}
