//! Runs one shipped scenario's replications in a loop on one thread, for profilers:
//! `cargo run --release --example profile_run -- scenarios/X.toml 30d 2000`.

use spotplan::model::SimTime;
use spotplan::sim::{self, NoObserver};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = std::path::Path::new(
        args.get(1)
            .map(String::as_str)
            .unwrap_or("scenarios/prefect3-hourly-etl.toml"),
    );
    let horizon = args.get(2).map(String::as_str).unwrap_or("30d");
    let reps: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut s = spotplan::cli::load_scenario(path)?;
    s.sim.horizon = SimTime::parse_human(horizon).map_err(anyhow::Error::msg)?;
    let t = std::time::Instant::now();
    let mut events = 0;
    for rep in 0..reps {
        events += sim::run(&s, rep, &mut NoObserver).events;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{events} events in {secs:.3}s: {:.2} M events/s, {:.1} replications/s",
        events as f64 / secs / 1e6,
        reps as f64 / secs
    );
    Ok(())
}
