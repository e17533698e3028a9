//! Estimators with 95% confidence intervals, fed one record at a time: memory grows with
//! deployments, hours and interruptions, not with the number of tasks.

use std::collections::BTreeMap;

use serde::Serialize;

use super::records::{FlowRunRecord, Record, TaskRecord};
use crate::model::Provider;
use crate::sim::rng::{Purpose, Stream};
use crate::stats::dist::{chi2_quantile, digamma, erf, gamma_p, trigamma};

/// Reservoir size for samples used by goodness-of-fit, empirical distributions and quantiles.
pub const RESERVOIR: usize = 4096;

/// A fixed-size uniform sample (Algorithm R), deterministic.
#[derive(Clone, Debug, Default)]
pub struct Reservoir {
    seen: u64,
    /// The sample.
    pub items: Vec<f64>,
}

impl Reservoir {
    /// Offers one value.
    pub fn push(&mut self, x: f64) {
        self.seen += 1;
        if self.items.len() < RESERVOIR {
            self.items.push(x);
        } else {
            let j = (Stream::new(7, 0, Purpose::Durations).uniform(self.seen, 0) * self.seen as f64)
                as usize;
            if j < RESERVOIR {
                self.items[j] = x;
            }
        }
    }
    /// Values seen.
    pub fn seen(&self) -> u64 {
        self.seen
    }
    /// The sorted sample.
    pub fn sorted(&self) -> Vec<f64> {
        let mut v = self.items.clone();
        v.sort_by(f64::total_cmp);
        v
    }
}

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
    /// Wilson score interval ([`crate::stats::interval::wilson`]).
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
    cpu: BTreeMap<u32, u64>,
    memory: BTreeMap<u32, u64>,
    /// Work of completed tasks, seconds.
    pub work: Reservoir,
    work_n: u64,
    work_sum: f64,
    work_sum_ln: f64,
    work_sum_ln2: f64,
    /// Provisioning, seconds.
    pub provisioning: Reservoir,
    /// Image pull, seconds.
    pub pull: Reservoir,
    starts: StartStats,
    prefect_starts: bool,
    /// Recent interruption times of this deployment, to tell retries from scheduled starts.
    recent_interrupts: std::collections::VecDeque<i64>,
}

/// Start-time regularity, streaming (assumes roughly time-ordered records; out-of-order
/// gaps are counted and reported).
#[derive(Clone, Debug, Default)]
pub struct StartStats {
    first: Option<i64>,
    last: Option<i64>,
    /// Starts.
    pub n: u64,
    gaps: Reservoir,
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

/// Schedule estimate of one deployment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ScheduleEstimate {
    /// Regular: every `interval_s`, first at `first_ms`.
    Every {
        /// Median gap, s.
        interval_s: f64,
        /// Coefficient of variation of the gaps.
        cv: f64,
        /// First start (Unix ms).
        first_ms: i64,
    },
    /// Irregular: Poisson with this rate per hour.
    Poisson {
        /// Runs per hour with its CI.
        rate: RateEstimate,
        /// Coefficient of variation of the gaps.
        cv: f64,
    },
    /// Too few starts.
    Unknown,
}

/// Share of gaps within ±10% of the median gap at which the starts are a fixed interval.
/// A fixed schedule keeps nearly every gap there even when a few retried runs (counted as
/// starts) split some gaps; Poisson gaps fall there with probability
/// e^(−0.9 ln 2) − e^(−1.1 ln 2) ≈ 0.07.
pub const REGULAR_SHARE: f64 = 0.9;

/// The schedule: when at least [`REGULAR_SHARE`] of the gaps lie within ±10% of the median
/// gap, a fixed interval (the median); otherwise a Poisson process. The coefficient of
/// variation is reported too (outliers inflate it, so it does not decide).
pub fn schedule(s: &StartStats) -> ScheduleEstimate {
    let gaps = s.gaps.sorted();
    if gaps.len() < 3 {
        return ScheduleEstimate::Unknown;
    }
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let cv = if mean > 0.0 { sd / mean } else { f64::INFINITY };
    let median = gaps[gaps.len() / 2];
    let regular = gaps
        .iter()
        .filter(|g| (*g - median).abs() <= 0.1 * median)
        .count() as f64
        / n;
    let (first, last) = (s.first.unwrap_or(0), s.last.unwrap_or(0));
    // every start within a second (one `createdAt` for all): no rate can be told from that
    if last - first < 1_000 {
        return ScheduleEstimate::Unknown;
    }
    if median > 0.0 && regular >= REGULAR_SHARE {
        ScheduleEstimate::Every {
            interval_s: median,
            cv,
            first_ms: first,
        }
    } else {
        ScheduleEstimate::Poisson {
            rate: RateEstimate::of(s.n.saturating_sub(1), (last - first) as f64 / 3_600_000.0),
            cv,
        }
    }
}

/// A fitted duration distribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum DurationFit {
    /// Lognormal by median and p95 (seconds), with the KS statistic.
    Lognormal {
        /// Median, s.
        median_s: f64,
        /// 95th percentile, s.
        p95_s: f64,
        /// Kolmogorov–Smirnov D.
        ks: f64,
    },
    /// Gamma by shape and mean (seconds).
    Gamma {
        /// Shape.
        shape: f64,
        /// Mean, s.
        mean_s: f64,
        /// Kolmogorov–Smirnov D.
        ks: f64,
    },
    /// Neither fits: resample the observations.
    Empirical {
        /// Best parametric D, for the record.
        ks: f64,
        /// The sample, s.
        sample: Vec<f64>,
    },
    /// Too few completed tasks.
    TooFew {
        /// How many.
        n: u64,
    },
}

fn ks(sorted: &[f64], cdf: &dyn Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// Fits the work distribution: the lognormal or gamma with the smaller KS statistic if it
/// passes the 5% critical value 1.36/√n, else the empirical sample.
pub fn durations(g: &GroupAccum) -> DurationFit {
    if g.work_n < 5 {
        return DurationFit::TooFew { n: g.work_n };
    }
    let sample = g.work.sorted();
    let crit = 1.358 / (sample.len() as f64).sqrt();
    let mut best: Option<(f64, DurationFit)> = None;
    if let Some((mu, sigma)) = g.lognormal()
        && sigma > 0.0
    {
        let d = ks(&sample, &|x| {
            0.5 * (1.0 + erf((x.ln() - mu) / (sigma * std::f64::consts::SQRT_2)))
        });
        best = Some((
            d,
            DurationFit::Lognormal {
                median_s: mu.exp(),
                p95_s: (mu + 1.6448536269514722 * sigma).exp(),
                ks: d,
            },
        ));
    }
    if let Some((k, theta)) = g.gamma() {
        let d = ks(&sample, &|x| gamma_p(k, x / theta));
        if best.as_ref().is_none_or(|b| d < b.0) {
            best = Some((
                d,
                DurationFit::Gamma {
                    shape: k,
                    mean_s: k * theta,
                    ks: d,
                },
            ));
        }
    }
    match best {
        Some((d, fit)) if d <= crit => fit,
        Some((d, _)) => DurationFit::Empirical { ks: d, sample },
        None => DurationFit::Empirical {
            ks: f64::NAN,
            sample,
        },
    }
}

/// Hour-of-day variation: multipliers when a chi-square test rejects a constant rate at 5%
/// and there are at least 50 interruptions; with the statistic.
pub fn hourly(a: &Accum) -> (Option<[f64; 24]>, f64) {
    let k = a.interruptions as f64;
    let total: f64 = a.hourly_hours.iter().sum();
    if a.interruptions < 50 || total <= 0.0 {
        return (None, f64::NAN);
    }
    let mut chi2 = 0.0;
    for h in 0..24 {
        let e = k * a.hourly_hours[h] / total;
        if e > 0.0 {
            chi2 += (a.hourly_events[h] as f64 - e).powi(2) / e;
        }
    }
    if chi2 <= chi2_quantile(0.95, 23.0) {
        return (None, chi2);
    }
    let rate = k / total;
    let mut m = [1.0; 24];
    for (h, x) in m.iter_mut().enumerate() {
        if a.hourly_hours[h] > 0.0 {
            *x = (a.hourly_events[h] as f64 / a.hourly_hours[h]) / rate;
        }
    }
    (Some(m), chi2)
}

/// Reclaim waves: bursts of ≥ 3 interruptions within 2 minutes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Waves {
    /// Waves found.
    pub waves: u64,
    /// Interruptions inside them.
    pub in_waves: u64,
    /// Waves per day with its CI.
    pub per_day: RateEstimate,
    /// Share of running spot tasks hit (interruptions per wave / mean spot tasks running).
    pub hit: f64,
}

/// Finds waves among the interruption times.
pub fn waves(a: &Accum) -> Waves {
    let mut t = a.interruption_times.clone();
    t.sort_unstable();
    let (mut waves, mut in_waves, mut i) = (0u64, 0u64, 0usize);
    while i < t.len() {
        let mut j = i;
        while j + 1 < t.len() && t[j + 1] - t[i] <= 120_000 {
            j += 1;
        }
        let size = (j - i + 1) as u64;
        if size >= 3 {
            waves += 1;
            in_waves += size;
        }
        i = j + 1;
    }
    let days = a
        .span
        .map(|(x, y)| (y - x) as f64 / 86_400_000.0)
        .unwrap_or(0.0);
    let per_day = RateEstimate::of(waves, days);
    let per_day = RateEstimate {
        hours: days,
        ..per_day
    };
    let running = if days > 0.0 {
        a.spot_hours / (days * 24.0)
    } else {
        0.0
    };
    let hit = if waves > 0 && running > 0.0 {
        (in_waves as f64 / waves as f64 / running).min(1.0)
    } else {
        0.0
    };
    Waves {
        waves,
        in_waves,
        per_day,
        hit,
    }
}

/// Capacity: the share of spot RunTask calls that found no capacity, counting only the first
/// failure of a burst (retries 30 s or less after a failure probe the same outage), and outage
/// episodes (failures less than 10 minutes apart).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Capacity {
    /// First failures among first calls: an estimate of the unavailable fraction.
    pub failures: Proportion,
    /// All failures, retries included.
    pub all_failures: u64,
    /// Episodes.
    pub episodes: u64,
    /// Mean length of the episodes that spanned more than a minute, s (`None`: none did, so the
    /// data cannot tell how long outages last).
    pub mean_outage_s: Option<f64>,
}

/// Estimates capacity from failures and spot placements.
pub fn capacity(a: &Accum) -> Capacity {
    let mut t = a.failure_times.clone();
    t.sort_unstable();
    let untimed = a.capacity_failures - t.len() as u64;
    let leading = t
        .iter()
        .enumerate()
        .filter(|(i, x)| *i == 0 || **x - t[i - 1] > 30_000)
        .count() as u64
        + untimed;
    let failures = Proportion::of(leading, leading + a.spot_tasks);
    let mut spans = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let mut j = i;
        while j + 1 < t.len() && t[j + 1] - t[j] <= 600_000 {
            j += 1;
        }
        spans.push((t[j] - t[i]) as f64 / 1000.0);
        i = j + 1;
    }
    let long: Vec<f64> = spans.iter().copied().filter(|s| *s > 60.0).collect();
    let mean_outage_s = (!long.is_empty()).then(|| long.iter().sum::<f64>() / long.len() as f64);
    Capacity {
        failures,
        all_failures: a.capacity_failures,
        episodes: spans.len() as u64,
        mean_outage_s,
    }
}

/// A distribution-free 95% interval for the median of a sorted sample (order statistics
/// n/2 ∓ 1.96·√n/2).
pub fn median_ci(sorted: &[f64]) -> Option<(f64, f64)> {
    let n = sorted.len();
    if n < 6 {
        return None;
    }
    let h = 1.959963984540054 * (n as f64).sqrt() / 2.0;
    let lo = ((n as f64 / 2.0 - h).floor().max(0.0)) as usize;
    let hi = ((n as f64 / 2.0 + h).ceil() as usize).min(n - 1);
    Some((sorted[lo], sorted[hi]))
}

/// A quantile of a sorted sample.
pub fn q(sorted: &[f64], p: f64) -> f64 {
    crate::stats::quantile_sorted(sorted, p)
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
