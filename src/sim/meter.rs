//! The billing meter of one replication: billed seconds (integers) per flow and provider,
//! the seconds wasted on interrupted work, public-IP time and image data; priced once, at the
//! end, on the rates resolved before the run ([`crate::pricing::TaskRates`]).
//!
//! With a Compute Savings Plan ([`crate::pricing::savings_plan`]) on-demand FARGATE usage is
//! also metered per clock hour (time zero is an hour boundary), because the commitment applies
//! hour by hour: [`PlanMeter`] keeps only the hours a running task can still add to (from the
//! hour of the earliest open task's pull start), settling each as soon as nothing can change
//! it, so its buffer is bounded by the longest task, not the horizon.

use std::collections::VecDeque;

use super::outcome::{FlowOutcome, RunOutcome};
use crate::model::{OperatingSystem, Provider, SimTime};
use crate::pricing::billed_secs;
use crate::pricing::savings_plan::{HourBill, SavingsPlan};
use crate::scenario::{ImageRegistry, NetworkUsage, Scenario};

const HOUR_MS: u64 = 3_600_000;

/// One task's life, as the meter sees it (times in ms since time zero).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TaskSpan {
    /// Its flow.
    pub flow: usize,
    /// Where it ran.
    pub provider: Provider,
    /// Placed by RunTask (its ENI and public IP exist from here).
    pub placed: SimTime,
    /// Image pull start (billing starts here).
    pub pull_start: SimTime,
    /// Image pull end.
    pub pull_end: SimTime,
    /// Stopped (billing ends here).
    pub stop: SimTime,
    /// Interrupted: the billed time not kept by a checkpoint is waste.
    pub interrupted: bool,
    /// Work it kept (checkpoints, finished Prefect 1 tasks), ms.
    pub useful: SimTime,
}

/// What a replication's tasks used.
#[derive(Clone, Debug)]
pub(crate) struct Meter {
    billed: Vec<[u64; 2]>,
    wasted: Vec<[u64; 2]>,
    public_ip_ms: Vec<u64>,
    pull_gb: Vec<f64>,
    plan: Option<PlanMeter>,
}

/// One clock hour still open: eligible on-demand usage so far (`[vCPU, memory]`, USD) and
/// the FARGATE tasks whose pull started in it and that have not stopped.
#[derive(Clone, Copy, Debug, Default)]
struct OpenHour {
    usage: [f64; 2],
    open: u32,
}

/// The hourly meter of a Compute Savings Plan.
#[derive(Clone, Debug)]
pub(crate) struct PlanMeter {
    plan: SavingsPlan,
    /// Hours `first..first + hours.len()`.
    hours: VecDeque<OpenHour>,
    first: u64,
    /// The horizon, ms: the commitment and the worker are paid for its hours only (a task
    /// of the drain after it pays on-demand rates).
    horizon: u64,
    /// The simulation's end (horizon + drain), ms: a task whose pull would start after it is
    /// never billed, and opens no hour.
    end: u64,
    /// The worker service's eligible usage per full hour, USD.
    worker: [f64; 2],
    /// Everything eligible at on-demand rates (flows and worker), USD.
    od: [f64; 2],
    /// What it was charged, USD.
    charged: [f64; 2],
    /// Commitment paid and unused, USD.
    stranded: f64,
    /// Eligible usage in hours the commitment did not cover in full, USD at on-demand rates.
    in_hours_above: f64,
    /// Most hours held at once (for the bound's test).
    pub(crate) most_held: usize,
}

impl PlanMeter {
    fn new(s: &Scenario, plan: &SavingsPlan) -> PlanMeter {
        let w = s.rates.worker_plan_parts;
        let n = s.worker.count as f64;
        PlanMeter {
            plan: plan.clone(),
            hours: VecDeque::new(),
            first: 0,
            horizon: s.sim.horizon.0,
            end: s.sim.horizon.plus(s.sim.drain).0,
            worker: [w[0] * n, w[1] * n],
            od: [0.0; 2],
            charged: [0.0; 2],
            stranded: 0.0,
            in_hours_above: 0.0,
            most_held: 0,
        }
    }

    fn hour_mut(&mut self, h: u64) -> &mut OpenHour {
        debug_assert!(h >= self.first, "an hour already settled was reopened");
        let k = (h - self.first) as usize;
        if k >= self.hours.len() {
            self.hours.resize(k + 1, OpenHour::default());
            self.most_held = self.most_held.max(self.hours.len());
        }
        &mut self.hours[k]
    }

    /// A FARGATE task whose billing starts at `pull_start`.
    fn open(&mut self, pull_start: SimTime) {
        if pull_start.0 < self.end {
            self.hour_mut(pull_start.0 / HOUR_MS).open += 1;
        }
    }

    /// A FARGATE task billed `secs` from `pull_start` at `parts` USD per hour: its seconds
    /// are spread over the hours from its pull start (the rounding and the minimum fall at
    /// the end); then every hour that nothing can add to any more, up to `now`, is settled.
    fn bill(&mut self, pull_start: SimTime, secs: u64, parts: [f64; 2], now: SimTime) {
        if pull_start.0 >= self.end {
            return; // never opened: it stopped (at the end at the latest) before its pull
        }
        self.hour_mut(pull_start.0 / HOUR_MS).open -= 1;
        let (mut t, end) = (pull_start.0, pull_start.0 + secs * 1000);
        while t < end {
            let h = t / HOUR_MS;
            let upto = ((h + 1) * HOUR_MS).min(end);
            let share = (upto - t) as f64 / HOUR_MS as f64;
            let hour = self.hour_mut(h);
            for (u, p) in hour.usage.iter_mut().zip(parts) {
                *u += p * share;
            }
            t = upto;
        }
        self.settle_until(now);
    }

    /// Settles the leading hours that have ended by `now` and hold no open task.
    fn settle_until(&mut self, now: SimTime) {
        while let Some(h) = self.hours.front().copied() {
            if h.open > 0 || (self.first + 1) * HOUR_MS > now.0 {
                break;
            }
            self.hours.pop_front();
            self.settle(self.first, h.usage);
            self.first += 1;
        }
    }

    /// Bills hour `h`: the worker's part of it and the commitment's within the horizon.
    fn settle(&mut self, h: u64, usage: [f64; 2]) {
        let start = h * HOUR_MS;
        let inside =
            self.horizon.min(start + HOUR_MS).saturating_sub(start) as f64 / HOUR_MS as f64;
        let u = [
            usage[0] + self.worker[0] * inside,
            usage[1] + self.worker[1] * inside,
        ];
        let bill: HourBill = self.plan.settle(u, self.plan.commitment_per_hour * inside);
        for ((od, charged), (u, c)) in self
            .od
            .iter_mut()
            .zip(&mut self.charged)
            .zip(u.iter().zip(bill.charged))
        {
            *od += u;
            *charged += c;
        }
        self.stranded += bill.stranded;
        if bill.above > 0.0 {
            self.in_hours_above += u[0] + u[1];
        }
    }

    /// Settles every hour left, through the horizon's last (an hour with no task still pays
    /// the commitment and the worker).
    fn close(&mut self) {
        while let Some(h) = self.hours.pop_front() {
            self.settle(self.first, h.usage);
            self.first += 1;
        }
        while self.first * HOUR_MS < self.horizon {
            self.settle(self.first, [0.0; 2]);
            self.first += 1;
        }
    }

    /// What each on-demand USD of a part was charged, over the replication.
    fn factors(&self) -> [f64; 2] {
        let d = self.plan.discounts();
        [0, 1].map(|k| {
            if self.od[k] > 0.0 {
                self.charged[k] / self.od[k]
            } else {
                1.0 - d[k]
            }
        })
    }
}

impl Meter {
    /// An empty meter for the flows of `s` (hourly when it has a Savings Plan).
    pub(crate) fn new(s: &Scenario) -> Meter {
        let flows = s.flows.len();
        Meter {
            billed: vec![[0; 2]; flows],
            wasted: vec![[0; 2]; flows],
            public_ip_ms: vec![0; flows],
            pull_gb: vec![0.0; flows],
            plan: s.savings_plan.as_ref().map(|p| PlanMeter::new(s, p)),
        }
    }

    /// A task was placed on `provider` and starts pulling (and billing) at `pull_start`.
    #[inline]
    pub(crate) fn open(&mut self, provider: Provider, pull_start: SimTime) {
        if let (Some(m), Provider::Fargate) = (&mut self.plan, provider) {
            m.open(pull_start);
        }
    }

    /// Records a task that stopped: per second, rounded up, with the OS minimum, from the
    /// pull's start (nothing if it never reached it); a share of the image if it stopped
    /// during the pull. Returns the billed seconds.
    pub(crate) fn bill(&mut self, s: &Scenario, t: &TaskSpan) -> u64 {
        self.public_ip_ms[t.flow] += t.stop.0.saturating_sub(t.placed.0);
        if t.stop <= t.pull_start {
            if let (Some(m), Provider::Fargate) = (&mut self.plan, t.provider) {
                m.bill(t.pull_start, 0, [0.0; 2], t.stop);
            }
            return 0; // never reached the image pull: nothing billed
        }
        let fl = &s.flows[t.flow];
        if let Some(gb) = fl.image_gb {
            let pull = t.pull_end.0 - t.pull_start.0;
            let done = t.stop.0 - t.pull_start.0;
            self.pull_gb[t.flow] += if done >= pull || pull == 0 {
                gb
            } else {
                gb * done as f64 / pull as f64
            };
        }
        let secs = billed_secs(t.stop.0 - t.pull_start.0, fl.size.os);
        if let (Some(m), Provider::Fargate) = (&mut self.plan, t.provider) {
            let parts = s.rates.fargate_plan_parts[t.flow];
            m.bill(t.pull_start, secs, parts, t.stop);
        }
        let p = t.provider.index();
        self.billed[t.flow][p] += secs;
        if t.interrupted {
            self.wasted[t.flow][p] += secs.saturating_sub(t.useful.0 / 1000);
        }
        secs
    }

    /// Prices everything into `out` (its cost fields) and `flows` (each flow's cost, public
    /// IP time and image data), on the scenario's resolved rates and network.
    pub(crate) fn price(&mut self, s: &Scenario, out: &mut RunOutcome, flows: &mut [FlowOutcome]) {
        // with a Savings Plan, a FARGATE second's eligible parts are charged what the hours
        // charged them on average, pro rata (the flows' and the worker's shares add up to the
        // hourly bills exactly); the rest of the rate (storage, a Windows licence) as it is
        let factors = self.plan.as_mut().map(|m| {
            m.close();
            m.factors()
        });
        let fargate_rate = |f: usize| -> f64 {
            let full = s.rates.flow(f, Provider::Fargate);
            match factors {
                None => full,
                Some(k) => {
                    let parts = s.rates.fargate_plan_parts[f];
                    full - parts[0] - parts[1] + parts[0] * k[0] + parts[1] * k[1]
                }
            }
        };
        let mut without_plan = 0.0;
        for (f, pf) in flows.iter_mut().enumerate() {
            for p in Provider::ALL {
                let secs = self.billed[f][p.index()];
                if secs == 0 {
                    continue; // a provider this configuration never used has no rate to read
                }
                without_plan += secs as f64 * s.rates.flow(f, p) / 3600.0;
                let rate = match p {
                    Provider::Fargate => fargate_rate(f),
                    Provider::FargateSpot => s.rates.flow(f, p),
                } / 3600.0;
                let cost = secs as f64 * rate;
                pf.cost_usd += cost;
                if let (Provider::Fargate, Some(k)) = (p, factors) {
                    let parts = s.rates.fargate_plan_parts[f];
                    let hours = secs as f64 / 3600.0;
                    pf.plan_eligible_od_usd = hours * (parts[0] + parts[1]);
                    pf.plan_eligible_usd = hours * (parts[0] * k[0] + parts[1] * k[1]);
                }
                match p {
                    Provider::Fargate => {
                        out.cost_fargate_usd += cost;
                        out.billed_secs_fargate += secs;
                    }
                    Provider::FargateSpot => {
                        out.cost_fargate_spot_usd += cost;
                        out.billed_secs_spot += secs;
                    }
                }
                out.cost_wasted_usd += self.wasted[f][p.index()] as f64 * rate;
            }
            pf.public_ip_ms = self.public_ip_ms[f];
            pf.image_pull_gb = self.pull_gb[f];
        }
        debug_assert!(s.worker.size.os == OperatingSystem::Linux);
        let hours = s.sim.horizon.hours_f64();
        let worker_full = s.worker.count as f64 * hours * s.rates.worker;
        without_plan += worker_full;
        out.cost_worker_usd = match factors {
            Some(k) => {
                let parts = s.rates.worker_plan_parts;
                let n = s.worker.count as f64 * hours;
                worker_full - n * (parts[0] + parts[1]) + n * (parts[0] * k[0] + parts[1] * k[1])
            }
            None => worker_full,
        };
        if let Some(m) = &self.plan {
            out.cost_stranded_usd = m.stranded;
            out.plan_eligible_od_usd = m.od[0] + m.od[1];
            out.plan_eligible_usd = m.charged[0] + m.charged[1];
            out.plan_marginal = if m.od[0] + m.od[1] > 0.0 {
                m.in_hours_above / (m.od[0] + m.od[1])
            } else {
                0.0
            };
        }
        let net = &s.network;
        for (pf, fl) in flows.iter_mut().zip(&s.flows) {
            pf.cost_usd += net.flow_charge(pf.public_ip_ms, pf.image_pull_gb, fl.image_registry.0);
        }
        let usage = network_usage(s, flows);
        out.image_pull_gb = usage.ecr_gb + usage.other_gb;
        let c = net.charges(&usage);
        out.cost_public_ipv4_usd = c.public_ipv4;
        out.cost_nat_usd = c.nat;
        out.cost_vpc_endpoints_usd = c.endpoints;
        let network = out.cost_public_ipv4_usd + out.cost_nat_usd + out.cost_vpc_endpoints_usd;
        out.cost_usd = out.cost_fargate_usd
            + out.cost_fargate_spot_usd
            + out.cost_worker_usd
            + out.cost_public_ipv4_usd
            + out.cost_nat_usd
            + out.cost_vpc_endpoints_usd
            + out.cost_stranded_usd;
        out.cost_without_plan_usd = if self.plan.is_some() {
            without_plan + network
        } else {
            out.cost_usd
        };
    }
}

/// What the tasks of one replication (its flows' outcomes) and the worker used of the network:
/// the same figures whatever the egress, so another egress can bill them again.
pub(crate) fn network_usage(s: &Scenario, flows: &[FlowOutcome]) -> NetworkUsage {
    let hours = s.sim.horizon.hours_f64();
    let mut u = NetworkUsage {
        worker_hours: s.worker.count as f64 * hours,
        horizon_hours: hours,
        ..NetworkUsage::default()
    };
    let task_ms: u64 = flows.iter().map(|f| f.public_ip_ms).sum();
    u.task_hours = task_ms as f64 / 3_600_000.0;
    for (pf, fl) in flows.iter().zip(&s.flows) {
        match fl.image_registry.0 {
            ImageRegistry::Ecr => u.ecr_gb += pf.image_pull_gb,
            ImageRegistry::Other => u.other_gb += pf.image_pull_gb,
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(horizon: u64) -> PlanMeter {
        PlanMeter {
            plan: SavingsPlan {
                commitment_per_hour: 0.05,
                vcpu_discount: 0.2,
                memory_discount: 0.2,
                ends: None,
            },
            hours: VecDeque::new(),
            first: 0,
            horizon,
            end: horizon + HOUR_MS,
            worker: [0.01, 0.002],
            od: [0.0; 2],
            charged: [0.0; 2],
            stranded: 0.0,
            in_hours_above: 0.0,
            most_held: 0,
        }
    }

    #[test]
    fn the_hourly_buffer_holds_only_the_hours_open_tasks_can_reach() {
        // 30 days of 50-minute tasks started every 10 minutes: five run at once, and no
        // task reaches back more than one hour; the buffer never holds the horizon
        let horizon = 30 * 24 * HOUR_MS;
        let mut m = meter(horizon);
        let parts = [0.04, 0.009];
        let every = 600_000;
        let long = 3_000_000;
        let mut open: VecDeque<u64> = VecDeque::new();
        let mut t = 0;
        while t < horizon {
            while open.front().is_some_and(|&s| s + long <= t) {
                let s = open.pop_front().unwrap();
                m.bill(SimTime(s), long / 1000, parts, SimTime(s + long));
            }
            m.open(SimTime(t));
            open.push_back(t);
            t += every;
        }
        while let Some(s) = open.pop_front() {
            m.bill(SimTime(s), long / 1000, parts, SimTime(s + long));
        }
        assert!(m.most_held <= 3, "held {} hours", m.most_held);
        m.close();
        // every usage dollar was settled once: 4320 tasks of 50 minutes, and the worker
        let tasks = (horizon / every) as f64 * long as f64 / HOUR_MS as f64;
        let want = [
            tasks * parts[0] + 720.0 * 0.01,
            tasks * parts[1] + 720.0 * 0.002,
        ];
        for k in 0..2 {
            assert!(
                (m.od[k] - want[k]).abs() < 1e-9 * want[k],
                "{:?} {want:?}",
                m.od
            );
        }
        // five tasks at once use 0.2025 USD an hour: always above the 0.0625 the commitment covers
        assert_eq!(m.stranded, 0.0);
        assert!((m.in_hours_above - (m.od[0] + m.od[1])).abs() < 1e-9);
    }

    #[test]
    fn hours_without_tasks_still_pay_the_commitment() {
        let mut m = meter(2 * HOUR_MS + HOUR_MS / 2);
        m.close();
        // the worker's 0.012 USD an hour at 80% is 0.0096; 2.5 hours of commitment
        assert!(
            (m.stranded - 2.5 * (0.05 - 0.0096)).abs() < 1e-12,
            "{}",
            m.stranded
        );
        assert_eq!(m.first, 3);
    }
}
