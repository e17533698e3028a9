//! Prints a generated platform of N deployments (the scale benchmark's input) as scenario
//! TOML: `cargo run --release --example platform -- 100 1 > platform-100.toml`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    print!("{}", spotplan::scenario::generate::platform(n, seed));
}
