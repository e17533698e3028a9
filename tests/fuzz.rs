//! A bounded fuzzer that runs on stable Rust: mutations of the shipped scenarios, fixtures and
//! pinned hostile cases through `parse + validate` (then, when the estimate is small, a
//! simulation whose invariants are checked), through the history readers and through
//! `merge`; plus random valid scenarios whose runs must keep the engine's invariants.
//!
//! Nothing may panic, and every accepted input must have bounded work. The run lasts
//! `SPOTPLAN_FUZZ_SECS` seconds (default 5; `.ci/run` gives it 60; run it for hours with
//! `SPOTPLAN_FUZZ_SECS=3600 cargo test --release --test fuzz -- --nocapture`) from seed
//! `SPOTPLAN_FUZZ_SEED` (default 1). A failing input is written to
//! `target/fuzz-failures/` and named in the failure.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use spotplan::calibrate::records::{read_ecs, read_prefect};
use spotplan::model::SimTime;
use spotplan::scenario::{self, Scenario};
use spotplan::sim::{self, Detail, EventKind, Recorder};
use spotplan::sweep::cells::Control;
use spotplan::sweep::job::{ShardFile, execute, merge};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// SplitMix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Values that have broken parsers and engines before.
const NASTY: [&str; 26] = [
    "0",
    // a gamma shape that once hung the deadline rule's quantiles; the largest accepted
    "1.8e19",
    "10000",
    "-1",
    "1e308",
    "-1e308",
    "1e-318",
    "4294967296",
    "9223372036854775807",
    "18446744073709551616",
    "nan",
    "inf",
    "\"1ms\"",
    "\"0s\"",
    "\"600000y\"",
    "\"1e-318/h\"",
    "\"4294967296/h\"",
    "\"1000000/h\"",
    "\"\"",
    "\"\u{feff}\"",
    "[]",
    "{}",
    "[[[[[[[[[[1]]]]]]]]]]",
    "\"0:4294967295:1\"",
    "\"FARGATE-SPOT\"",
    "true",
];

fn mutate(rng: &mut Rng, src: &str) -> String {
    let mut s = src.to_string();
    for _ in 0..1 + rng.below(4) {
        if s.is_empty() {
            break;
        }
        match rng.below(7) {
            // replace a value after `=` with a nasty one
            0 | 1 => {
                let eqs: Vec<usize> = s.match_indices(" = ").map(|(i, _)| i + 3).collect();
                if eqs.is_empty() {
                    continue;
                }
                let at = *rng.pick(&eqs);
                let end = s[at..].find('\n').map_or(s.len(), |e| at + e);
                let v = *rng.pick(&NASTY);
                s.replace_range(at..end, v);
            }
            // delete a line
            2 => {
                let lines: Vec<&str> = s.lines().collect();
                let k = rng.below(lines.len());
                s = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != k)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            // duplicate a line
            3 => {
                let lines: Vec<&str> = s.lines().collect();
                let k = rng.below(lines.len());
                let mut out: Vec<&str> = lines.clone();
                out.insert(k, lines[k]);
                s = out.join("\n");
            }
            // flip a byte (kept UTF-8)
            4 => {
                let mut b = s.into_bytes();
                let k = rng.below(b.len());
                const BYTES: &[u8] = b" =[]{}\",.:0123456789abcdefxyz_-\n#";
                b[k] = BYTES[rng.below(BYTES.len())];
                s = String::from_utf8_lossy(&b).into_owned();
            }
            // cut
            5 => {
                let k = s.floor_char_boundary(rng.below(s.len()));
                s.truncate(k);
            }
            // splice in another scenario's line
            _ => {
                let k = s.floor_char_boundary(rng.below(s.len()));
                s.insert_str(k, "\n[spot]\ninterruption_rate = \"0.5/h\"\n");
            }
        }
    }
    s
}

fn files_in(dir: &Path, ext: &str) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_in(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext)
            && let Ok(t) = std::fs::read_to_string(&p)
        {
            out.push((p, t));
        }
    }
    out.sort();
    out
}

fn save_failure(kind: &str, input: &str) -> PathBuf {
    let dir = root().join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!(
        "{kind}-{:016x}.txt",
        input
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64)
                .wrapping_mul(0x100_0000_01b3))
    ));
    let _ = std::fs::write(&p, input);
    p
}

/// Engine invariants on one replication of `s`.
fn check_invariants(s: &Scenario) -> Result<(), String> {
    let mut rec = Recorder::default();
    let o = sim::run(s, 0, &mut rec);
    // money is conserved: the parts add up to the total
    let parts = o.cost_fargate_usd
        + o.cost_fargate_spot_usd
        + o.cost_worker_usd
        + o.cost_public_ipv4_usd
        + o.cost_nat_usd
        + o.cost_vpc_endpoints_usd
        + o.cost_stranded_usd;
    if (parts - o.cost_usd).abs() > 1e-9 * o.cost_usd.abs().max(1.0) {
        return Err(format!("cost parts {parts} ≠ total {}", o.cost_usd));
    }
    // a Savings Plan's bill: what its usage was charged and the stranded commitment; each
    // hour at least the commitment and at most the usage at on-demand rates on top of it
    if s.savings_plan.is_some() {
        let bill = o.plan_eligible_usd + o.cost_stranded_usd;
        let hours = s.sim.horizon.hours_f64();
        let commitment = s
            .savings_plan
            .as_ref()
            .map_or(0.0, |p| p.commitment_per_hour)
            * hours;
        let tol = 1e-9 * bill.abs().max(1.0);
        if bill + tol < commitment || bill > commitment + o.plan_eligible_od_usd + tol {
            return Err(format!(
                "plan bill {bill} outside [{commitment}, {commitment} + {}]",
                o.plan_eligible_od_usd
            ));
        }
        if o.cost_without_plan_usd + tol < o.cost_usd - o.cost_stranded_usd - o.plan_eligible_usd {
            return Err("the bill without the plan is below the bill less the plan".into());
        }
    }
    let flows: f64 = o.flows.iter().map(|f| f.cost_usd).sum();
    if flows > o.cost_usd + 1e-9 * o.cost_usd.abs().max(1.0) {
        return Err(format!(
            "flow costs {flows} exceed the total {}",
            o.cost_usd
        ));
    }
    // every run ends in exactly one final state
    if o.completed + o.crashed + o.failed + o.unfinished != o.runs {
        return Err(format!("final states do not add up: {o:?}"));
    }
    // every bad end has one cause: capacity, an interruption or a refused pull
    if o.crashed_by_capacity + o.crashed_by_interruption + o.crashed_by_image_pull
        != o.crashed + o.failed
    {
        return Err(format!("crash causes do not add up: {o:?}"));
    }
    // the peak of vCPU on a provider is at least one task's on it, when any was billed
    // there (a task holds its vCPU from placement: one that stops before its pull starts, as
    // with a year of provisioning, is in the peak and never billed)
    if o.billed_secs_spot > 0 && o.peak_cpu_units_spot == 0 {
        return Err(format!("spot tasks billed without a spot peak: {o:?}"));
    }
    if o.peak_cpu_units_spot > 0 && o.tasks == 0 {
        return Err(format!("a spot peak without any task: {o:?}"));
    }
    let mut finals = std::collections::HashMap::new();
    let mut placed = std::collections::HashMap::new();
    let mut last = 0;
    for e in &rec.events {
        // no event before its cause, in time order
        if e.t_ms < last {
            return Err(format!("event out of order: {e:?}"));
        }
        last = e.t_ms;
        let key = (e.flow, e.run);
        match (e.kind, e.detail) {
            (EventKind::Completed | EventKind::Crashed | EventKind::Failed, _)
            | (EventKind::Unfinished, _) => {
                *finals.entry(key).or_insert(0) += 1;
            }
            (
                EventKind::Placed,
                Detail::Placed {
                    pull_start_ms,
                    running_ms,
                },
            ) => {
                if pull_start_ms < e.t_ms || running_ms < pull_start_ms {
                    return Err(format!("a task runs before it is placed: {e:?}"));
                }
                placed.insert((e.flow, e.run, e.attempt), pull_start_ms);
            }
            (EventKind::Stopped, Detail::Stopped { billed_s }) => {
                // billed time covers the task's life from its pull, at least a minute
                let Some(start) = placed.remove(&(e.flow, e.run, e.attempt)) else {
                    return Err(format!("a task stopped that was never placed: {e:?}"));
                };
                let lived = e.t_ms.saturating_sub(start).div_ceil(1000);
                if billed_s < lived.max(60) {
                    return Err(format!(
                        "billed {billed_s} s < {lived} s lived (or 60): {e:?}"
                    ));
                }
            }
            _ => {}
        }
    }
    if let Some((k, n)) = finals.iter().find(|(_, n)| **n != 1) {
        return Err(format!("run {k:?} ended {n} times"));
    }
    if finals.len() as u64 != o.runs {
        return Err(format!("{} runs ended, {} scheduled", finals.len(), o.runs));
    }
    Ok(())
}

/// A random valid scenario (the invariants' property test).
fn random_scenario(rng: &mut Rng) -> String {
    let shares = rng.below(6);
    let strategy = match shares {
        0 => r#"[{ provider = "FARGATE", weight = 1 }]"#.to_string(),
        1 => r#"[{ provider = "FARGATE_SPOT", weight = 1 }]"#.to_string(),
        k => format!(
            r#"[{{ provider = "FARGATE_SPOT", weight = {k} }}, {{ provider = "FARGATE", weight = 1, base = {} }}]"#,
            rng.below(2)
        ),
    };
    let retry = *rng.pick(&[
        "policy = \"prefect3\"",
        "policy = \"prefect3-reschedule\"",
        "policy = \"prefect3\"\nfallback = \"automation\"",
        "policy = \"prefect1-lazarus\"",
        "policy = \"custom\"\nmax_attempts = 4\ndelay = \"30s\"\nfallback_after_interruptions = 1",
        "policy = \"custom\"\nmax_attempts = 5\ndeadline_aware = true\ndeadline_rule = \"uniform-progress\"",
    ]);
    let schedule = match rng.below(3) {
        0 => format!("{{ every = \"{}m\" }}", 5 + rng.below(120)),
        1 => format!("{{ poisson = \"{:.2}/h\" }}", 0.2 + 6.0 * rng.unit()),
        _ => "{ cron = \"0 */2 * * *\" }".to_string(),
    };
    let duration = match rng.below(4) {
        0 => format!("\"{}m\"", 1 + rng.below(90)),
        1 => format!(
            "{{ lognormal = {{ median = \"{}m\", p95 = \"{}m\" }} }}",
            2 + rng.below(20),
            30 + rng.below(60)
        ),
        2 => format!(
            "{{ exponential = {{ mean = \"{}m\" }} }}",
            1 + rng.below(30)
        ),
        _ => format!(
            "{{ uniform = [\"{}s\", \"{}m\"] }}",
            10 + rng.below(50),
            2 + rng.below(30)
        ),
    };
    let limit = if rng.below(3) == 0 {
        format!("concurrency_limit = {}\n", 1 + rng.below(4))
    } else {
        String::new()
    };
    let checkpoint = if rng.below(3) == 0 {
        "checkpoint = { every = \"5m\", cost = \"10s\" }\n"
    } else {
        ""
    };
    let engine = match rng.below(3) {
        0 => format!(
            "engine_unprotected = \"{}s\"\nflow_loading = \"{}s\"\n",
            rng.below(120),
            rng.below(600)
        ),
        1 => format!("engine_startup = \"{}s\"\n", rng.below(600)),
        _ => String::new(),
    };
    format!(
        r#"name = "random"
region = "us-east-1"
[simulation]
horizon = "{}d"
seed = {}
[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]
[worker]
kind = "prefect3-ecs-worker"
poll_interval = "{}s"
strategy = {strategy}
[spot]
interruption_rate = "{:.3}/h"
capacity = {{ unavailable = {:.3}, mean_outage = "{}m" }}
reclaim_waves = {{ per_day = {:.2}, hit = {:.2} }}
[retry]
{retry}
[[flow]]
name = "f"
schedule = {schedule}
duration = {duration}
deadline = "{}h"
{limit}{checkpoint}{engine}"#,
        1 + rng.below(4),
        rng.next() % 1000,
        rng.below(30),
        0.5 * rng.unit(),
        0.2 * rng.unit(),
        1 + rng.below(60),
        2.0 * rng.unit(),
        rng.unit(),
        1 + rng.below(6),
    )
}

#[test]
fn fuzz() {
    let secs: u64 = std::env::var("SPOTPLAN_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("SPOTPLAN_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut rng = Rng(seed);
    let scenarios = files_in(&root().join("scenarios"), "toml");
    let mut seeds: Vec<String> = scenarios.iter().map(|(_, t)| t.clone()).collect();
    seeds.extend(
        files_in(&root().join("fixtures"), "toml")
            .into_iter()
            .map(|(_, t)| t),
    );
    let histories: Vec<String> = ["jsonl", "json", "csv", "log"]
        .iter()
        .flat_map(|e| files_in(&root().join("fixtures/calibrate"), e))
        .map(|(_, t)| t)
        .collect();
    let fixtures = root().join("fixtures");
    let loader = move |n: &str| {
        let p = fixtures.join(n);
        // a named file is read with a cap, as the CLI would never hand the parser an endless one
        std::fs::metadata(&p)
            .map_err(|e| e.to_string())
            .and_then(|m| {
                if m.len() > 16 << 20 {
                    Err("too large".into())
                } else {
                    std::fs::read_to_string(&p).map_err(|e| e.to_string())
                }
            })
    };
    // two shards of a small sweep, for `merge`
    let base = scenario::load(
        &std::fs::read_to_string(root().join("scenarios/article-prefect3-reschedule.toml"))
            .unwrap(),
        "article-prefect3-reschedule.toml",
        &loader,
    )
    .unwrap();
    let mut base = base;
    base.sim.horizon = SimTime::DAY;
    let mut spec = base.sweep.clone();
    spec.spot_shares = vec![0, 100];
    spec.replications = 3;
    spec.adaptive = false;
    spec.retries.truncate(1);
    spec.placements = vec![spotplan::model::PlacementSpec::Reading(
        spotplan::model::Placement::PerCall,
    )];
    let never = std::sync::atomic::AtomicBool::new(false);
    let ctl = Control {
        cancel: &never,
        tick: &|_| {},
    };
    let shards: Vec<ShardFile> = (0..2)
        .map(|i| {
            let run = execute(&base, &spec, Some((i, 2)), &ctl).unwrap();
            ShardFile::of(&base, &spec, &run, (i, 2))
        })
        .collect();
    assert!(merge(&base, &shards).is_ok(), "the unmutated shards merge");
    let shard_text = serde_json::to_string_pretty(&shards[1]).unwrap();
    let mut merged = 0u64;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut inputs, mut accepted, mut simulated, mut random, mut histories_read) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        inputs += 1;
        match rng.below(4) {
            // scenarios: parse + validate, then (when small) one replication's invariants
            0 | 1 => {
                let seed_text = rng.pick(&seeds).clone();
                let input = mutate(&mut rng, &seed_text);
                // Ok(0) refused, Ok(1) accepted, Ok(2) accepted and simulated
                let r = catch_unwind(AssertUnwindSafe(|| -> Result<u8, String> {
                    let Ok(mut s) = scenario::load(&input, "fuzz.toml", &loader) else {
                        return Ok(0);
                    };
                    let _ = scenario::warnings(&s);
                    s.sim.horizon = SimTime(s.sim.horizon.0.min(3 * SimTime::DAY.0));
                    let est = sim::budget::estimate(&s, 1, 1, 1);
                    if est.events_per_replication < 2e5 {
                        check_invariants(&s)?;
                        return Ok(2);
                    }
                    Ok(1)
                }));
                match r {
                    Ok(Ok(k)) => {
                        accepted += (k > 0) as u64;
                        simulated += (k == 2) as u64;
                    }
                    Ok(Err(m)) => panic!(
                        "{m}: input in {}",
                        save_failure("scenario", &input).display()
                    ),
                    Err(_) => panic!(
                        "panicked: input in {}",
                        save_failure("scenario", &input).display()
                    ),
                }
            }
            // history readers
            2 if !histories.is_empty() => {
                let seed_text = rng.pick(&histories).clone();
                let input = mutate(&mut rng, &seed_text);
                let r = catch_unwind(AssertUnwindSafe(|| {
                    let mut n = 0u64;
                    let _ = read_ecs(&mut input.as_bytes(), "fuzz", &mut |_| n += 1);
                    let _ = read_prefect(&mut input.as_bytes(), "fuzz", &mut |_| n += 1);
                }));
                if r.is_err() {
                    panic!(
                        "a reader panicked: input in {}",
                        save_failure("history", &input).display()
                    );
                }
                histories_read += 1;
            }
            // merge of a mutated shard
            3 if rng.below(4) == 0 => {
                let input = mutate(&mut rng, &shard_text.replace("\": ", "\" = "));
                let input = input.replace("\" = ", "\": ");
                let r = catch_unwind(AssertUnwindSafe(|| {
                    if let Ok(f) = serde_json::from_str::<ShardFile>(&input) {
                        let _ = merge(&base, &[shards[0].clone(), f]);
                    }
                }));
                if r.is_err() {
                    panic!(
                        "merge panicked: shard in {}",
                        save_failure("shard", &input).display()
                    );
                }
                merged += 1;
            }
            // random valid scenarios: the engine's invariants
            _ => {
                let input = random_scenario(&mut rng);
                let s = match scenario::load(&input, "random.toml", &loader) {
                    Ok(s) => s,
                    Err(e) => panic!("a generated scenario is invalid: {e}\n{input}"),
                };
                if let Err(m) = check_invariants(&s) {
                    panic!("{m}: input in {}", save_failure("random", &input).display());
                }
                random += 1;
            }
        }
    }
    eprintln!(
        "fuzz: {inputs} inputs in {secs} s (seed {seed}): {accepted} mutated scenarios accepted, {simulated} simulated, {random} random scenarios checked, {histories_read} histories read, {merged} mutated shards merged"
    );
    assert!(
        random > 0 && accepted > 0,
        "the fuzzer did too little to mean anything"
    );
}
