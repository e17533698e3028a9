//! `calibrate` reads a million events with flat memory: peak heap for 1 000 000 task records
//! is at most 1.5× that for 100 000. A separate binary: it installs a counting allocator.

#[path = "support/counting.rs"]
mod counting;

use std::io::BufReader;

use spotplan::calibrate::estimate::Accum;
use spotplan::calibrate::records::read_ecs;
use spotplan::calibrate::synthetic::SyntheticTasks;

#[global_allocator]
static A: counting::Counting = counting::Counting;

fn peak(n: u64, csv: bool) -> (usize, Accum) {
    counting::peak_during(|| {
        let mut acc = Accum::default();
        let mut r = BufReader::with_capacity(1 << 16, SyntheticTasks::new(n, csv));
        read_ecs(&mut r, "synthetic", &mut |x| acc.add(x)).unwrap();
        acc
    })
}

#[test]
fn a_million_events_stream_with_flat_memory() {
    for csv in [true, false] {
        let (small, a) = peak(100_000, csv);
        let (big, b) = peak(1_000_000, csv);
        assert_eq!(a.records, 100_000);
        assert_eq!(b.records, 1_000_000);
        assert_eq!(b.interruptions, 10_000);
        println!(
            "csv={csv}: peak heap 100k {small} B, 1M {big} B ({:.2}×)",
            big as f64 / small as f64
        );
        assert!(
            big as f64 <= 1.5 * small as f64,
            "csv={csv}: {big} B vs {small} B"
        );
    }
}
