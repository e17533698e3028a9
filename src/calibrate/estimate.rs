//! Estimators with 95% confidence intervals, fed one record at a time: memory grows with
//! deployments, hours and interruptions, not with the number of tasks.

use std::collections::BTreeMap;

use serde::Serialize;

use super::records::{FlowRunRecord, Record, TaskRecord};
use super::sample::Reservoir;
use crate::model::Provider;
use crate::stats::dist::{chi2_quantile, digamma, trigamma};

/// A Poisson rate per hour with its exact (Garwood) 95% interval: `k` events in `hours`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RateEstimate {
    /// Events.
    pub events: u64,
    /// Exposure, hours.
    pub hours: f64,
    /// Events per hour.
    pub rate: f64,
    /// Lower 95% bound.
    pub low: f64,
    /// Upper 95% bound.
    pub high: f64,
}

impl RateEstimate {
    /// Garwood interval.
    pub fn of(events: u64, hours: f64) -> RateEstimate {
        let k = events as f64;
        if hours <= 0.0 {
            return RateEstimate {
                events,
                hours,
                rate: 0.0,
                low: 0.0,
                high: f64::INFINITY,
            };
        }
        let low = if events == 0 {
            0.0
        } else {
            chi2_quantile(0.025, 2.0 * k) / 2.0 / hours
        };
        let high = chi2_quantile(0.975, 2.0 * k + 2.0) / 2.0 / hours;
        RateEstimate {
            events,
            hours,
            rate: k / hours,
            low,
            high,
        }
    }
}

/// A proportion with its Wilson 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Proportion {
    /// Successes.
    pub k: u64,
    /// Trials.
    pub n: u64,
    /// k / n.
    pub p: f64,
    /// Lower 95% bound.
    pub low: f64,
    /// Upper 95% bound.
    pub high: f64,
}

impl Proportion {
    /// Wilson score interval (`crate::stats::interval::wilson`).
    pub fn of(k: u64, n: u64) -> Proportion {
        let p = if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let (low, high) = crate::stats::interval::wilson(p, n as f64);
        Proportion { k, n, p, low, high }
    }
}

/// Per-deployment accumulators.
#[derive(Clone, Debug, Default)]
pub struct GroupAccum {
    /// Tasks seen.
    pub tasks: u64,
    /// Spot tasks.
    pub spot_tasks: u64,
    pub(super) cpu: BTreeMap<u32, u64>,
    pub(super) memory: BTreeMap<u32, u64>,
    /// Work of completed tasks, seconds.
    pub work: Reservoir,
    pub(super) work_n: u64,
    pub(super) work_sum: f64,
    pub(super) work_sum_ln: f64,
    pub(super) work_sum_ln2: f64,
    /// Provisioning, seconds.
    pub provisioning: Reservoir,
    /// Image pull, seconds.
    pub pull: Reservoir,
    pub(super) starts: StartStats,
    pub(super) prefect_starts: bool,
    /// Recent interruption times of this deployment, to tell retries from scheduled starts.
    pub(super) recent_interrupts: std::collections::VecDeque<i64>,
}

/// Start-time regularity, streaming (assumes roughly time-ordered records; out-of-order
/// gaps are counted and reported).
#[derive(Clone, Debug, Default)]
pub struct StartStats {
    pub(super) first: Option<i64>,
    pub(super) last: Option<i64>,
    /// Starts.
    pub n: u64,
    pub(super) gaps: Reservoir,
    /// Gaps that went backwards (unsorted input).
    pub backwards: u64,
}

impl StartStats {
    fn push(&mut self, t: i64) {
        self.n += 1;
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        if let Some(l) = self.last {
            if t >= l {
                self.gaps.push((t - l) as f64 / 1000.0);
            } else {
                self.backwards += 1;
            }
        }
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }
}

/// Everything accumulated from the records.
#[derive(Clone, Debug, Default)]
pub struct Accum {
    /// Spot exposure (pull start → SIGTERM or stop), hours.
    pub spot_hours: f64,
    /// Spot interruptions.
    pub interruptions: u64,
    /// Spot tasks.
    pub spot_tasks: u64,
    /// On-demand tasks.
    pub od_tasks: u64,
    /// Tasks still running at the end of their export.
    pub censored: u64,
    /// Exposure by UTC hour of day, hours.
    pub hourly_hours: [f64; 24],
    /// Interruptions by UTC hour.
    pub hourly_events: [u64; 24],
    /// Interruption times (ms), for waves; capped.
    pub interruption_times: Vec<i64>,
    /// Capacity failures.
    pub capacity_failures: u64,
    /// Capacity failure times (ms), capped.
    pub failure_times: Vec<i64>,
    /// SIGTERM → STOPPED, seconds.
    pub stop_grace: Reservoir,
    /// First and last instants seen.
    pub span: Option<(i64, i64)>,
    /// Per deployment.
    pub groups: BTreeMap<String, GroupAccum>,
    /// Prefect runs by deployment: (runs, crashed or failed).
    pub prefect: BTreeMap<String, (u64, u64)>,
    /// Records read.
    pub records: u64,
    /// Tasks per region (from ARNs).
    pub regions: BTreeMap<String, u64>,
}

impl Accum {
    /// The region most tasks ran in, if the records say.
    pub fn region(&self) -> Option<&str> {
        self.regions
            .iter()
            .max_by_key(|(r, n)| (**n, std::cmp::Reverse((*r).clone())))
            .map(|(r, _)| r.as_str())
    }
}

const CAP: usize = 1_000_000;

fn add_exposure(hourly: &mut [f64; 24], from: i64, to: i64) {
    const H: i64 = 3_600_000;
    let mut t = from;
    while t < to {
        let end = ((t.div_euclid(H) + 1) * H).min(to);
        hourly[t.div_euclid(H).rem_euclid(24) as usize] += (end - t) as f64 / H as f64;
        t = end;
    }
}

impl Accum {
    fn see(&mut self, t: Option<i64>) {
        if let Some(t) = t {
            self.span = Some(self.span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
        }
    }

    /// Takes one ECS record.
    pub fn add(&mut self, r: Record) {
        self.records += 1;
        match r {
            Record::CapacityFailure { at } => {
                self.capacity_failures += 1;
                self.see(at);
                if let Some(t) = at
                    && self.failure_times.len() < CAP
                {
                    self.failure_times.push(t);
                }
            }
            Record::Task { task, censor_at } => self.add_task(task, censor_at),
        }
    }

    fn add_task(&mut self, t: TaskRecord, censor_at: Option<i64>) {
        for x in [t.created, t.pull_started, t.started, t.stopped] {
            self.see(x);
        }
        if let Some(r) = &t.region {
            *self.regions.entry(r.clone()).or_default() += 1;
        }
        let g = self.groups.entry(t.group.clone()).or_default();
        g.tasks += 1;
        if let Some(c) = t.cpu {
            *g.cpu.entry(c).or_default() += 1;
        }
        if let Some(m) = t.memory {
            *g.memory.entry(m).or_default() += 1;
        }
        if let (Some(c), Some(p)) = (t.created, t.pull_started) {
            g.provisioning.push((p - c).max(0) as f64 / 1000.0);
        }
        if let (Some(p), Some(s)) = (t.pull_started, t.started) {
            g.pull.push((s - p).max(0) as f64 / 1000.0);
        }
        if let (Some(c), false) = (t.created, g.prefect_starts) {
            // a task created within 30 minutes after an interruption of the same deployment
            // is that run's retry, not a scheduled start
            let retry = g
                .recent_interrupts
                .iter()
                .position(|&i| c >= i && c - i <= 1_800_000);
            match retry {
                Some(k) => {
                    g.recent_interrupts.remove(k);
                }
                None => g.starts.push(c),
            }
        }
        if t.interrupted
            && let Some(i) = t.stopping.or(t.stopped)
        {
            if g.recent_interrupts.len() == 16 {
                g.recent_interrupts.pop_front();
            }
            g.recent_interrupts.push_back(i);
        }
        let spot = t.provider == Some(Provider::FargateSpot);
        if spot {
            self.spot_tasks += 1;
            g.spot_tasks += 1;
        } else {
            self.od_tasks += 1;
        }
        if t.stopped.is_none() {
            self.censored += 1;
        }
        if !t.interrupted
            && let (Some(s), Some(e)) = (t.started, t.stopped)
        {
            let w = (e - s).max(1) as f64 / 1000.0;
            g.work.push(w);
            g.work_n += 1;
            g.work_sum += w;
            g.work_sum_ln += w.ln();
            g.work_sum_ln2 += w.ln() * w.ln();
        }
        if spot {
            // exposure from the image pull (interruptions hit pulling tasks too) to SIGTERM,
            // the stop, or the end of observation for a task still running
            let from = t.pull_started.or(t.started).or(t.created);
            let to = if t.interrupted {
                t.stopping.or(t.stopped)
            } else {
                t.stopped.or(censor_at)
            };
            if let (Some(a), Some(b)) = (from, to)
                && b > a
            {
                self.spot_hours += (b - a) as f64 / 3_600_000.0;
                add_exposure(&mut self.hourly_hours, a, b);
            }
            if t.interrupted {
                self.interruptions += 1;
                if let Some(at) = t.stopping.or(t.stopped) {
                    self.hourly_events[at.div_euclid(3_600_000).rem_euclid(24) as usize] += 1;
                    if self.interruption_times.len() < CAP {
                        self.interruption_times.push(at);
                    }
                }
                if let (Some(a), Some(b)) = (t.stopping, t.stopped) {
                    self.stop_grace.push((b - a).max(0) as f64 / 1000.0);
                }
            }
        }
    }

    /// Takes one Prefect run.
    pub fn add_run(&mut self, r: FlowRunRecord) {
        self.records += 1;
        let e = self.prefect.entry(r.deployment.clone()).or_default();
        e.0 += 1;
        if matches!(r.state_type.as_str(), "CRASHED" | "FAILED") {
            e.1 += 1;
        }
        if let Some(t) = r.expected_start {
            self.see(Some(t));
            self.groups
                .entry(r.deployment)
                .or_default()
                .starts_prefect(t);
        }
    }
}

impl GroupAccum {
    fn starts_prefect(&mut self, t: i64) {
        // Prefect's expected start times are the schedule itself (task starts also hold
        // retries and worker delays): the first one replaces what the tasks said
        if !self.prefect_starts {
            self.prefect_starts = true;
            self.starts = StartStats::default();
        }
        self.starts.push(t);
    }
    /// The most common cpu.
    pub fn cpu(&self) -> Option<u32> {
        self.cpu
            .iter()
            .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
            .map(|(c, _)| *c)
    }
    /// The most common memory.
    pub fn memory(&self) -> Option<u32> {
        self.memory
            .iter()
            .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
            .map(|(c, _)| *c)
    }
    /// Completed tasks' work, count.
    pub fn work_n(&self) -> u64 {
        self.work_n
    }
    /// Start regularity.
    pub fn starts(&self) -> &StartStats {
        &self.starts
    }
    /// Lognormal MLE of the work: (μ, σ) of ln seconds.
    pub fn lognormal(&self) -> Option<(f64, f64)> {
        if self.work_n < 2 {
            return None;
        }
        let n = self.work_n as f64;
        let mu = self.work_sum_ln / n;
        let var = (self.work_sum_ln2 / n - mu * mu).max(0.0);
        Some((mu, var.sqrt()))
    }
    /// Gamma MLE of the work: (shape, scale seconds), Minka's initial value + Newton.
    pub fn gamma(&self) -> Option<(f64, f64)> {
        if self.work_n < 2 {
            return None;
        }
        let n = self.work_n as f64;
        let mean = self.work_sum / n;
        let s = mean.ln() - self.work_sum_ln / n;
        if s <= 1e-12 {
            return None;
        }
        let mut k = (3.0 - s + ((s - 3.0).powi(2) + 24.0 * s).sqrt()) / (12.0 * s);
        for _ in 0..20 {
            let f = k.ln() - digamma(k) - s;
            let d = 1.0 / k - trigamma(k);
            let nk = k - f / d;
            if !(nk.is_finite() && nk > 0.0) {
                break;
            }
            if (nk - k).abs() < 1e-10 * k {
                k = nk;
                break;
            }
            k = nk;
        }
        Some((k, mean / k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garwood_and_wilson_intervals() {
        // R: qchisq(c(.025,.975), c(20, 22))/2 for k = 10: 4.795389, 18.390356
        let r = RateEstimate::of(10, 1.0);
        assert!(
            (r.low - 4.795389).abs() < 1e-5 && (r.high - 18.390356).abs() < 1e-5,
            "{r:?}"
        );
        // R: qchisq(.975, 2)/2/10
        let z = RateEstimate::of(0, 10.0);
        assert!((z.high - 0.368_888).abs() < 1e-5, "{z:?}");
        let p = Proportion::of(5, 100);
        assert!(
            (p.low - 0.021_543).abs() < 1e-6 && (p.high - 0.111_750).abs() < 1e-6,
            "{p:?}"
        );
    }
}
