//! The billing meter of one replication: billed seconds (integers) per flow and provider,
//! the seconds wasted on interrupted work, public-IP time and image data; priced once, at the
//! end, on the rates resolved before the run ([`crate::pricing::TaskRates`]).

use super::outcome::{FlowOutcome, RunOutcome};
use crate::model::{OperatingSystem, Provider, SimTime};
use crate::pricing::billed_secs;
use crate::scenario::{ImageRegistry, NetworkUsage, Scenario};

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
}

impl Meter {
    /// An empty meter for `flows` flows.
    pub(crate) fn new(flows: usize) -> Meter {
        Meter {
            billed: vec![[0; 2]; flows],
            wasted: vec![[0; 2]; flows],
            public_ip_ms: vec![0; flows],
            pull_gb: vec![0.0; flows],
        }
    }

    /// Records a task that stopped: per second, rounded up, with the OS minimum, from the
    /// pull's start (nothing if it never reached it); a share of the image if it stopped
    /// during the pull. Returns the billed seconds.
    pub(crate) fn bill(&mut self, s: &Scenario, t: &TaskSpan) -> u64 {
        self.public_ip_ms[t.flow] += t.stop.0.saturating_sub(t.placed.0);
        if t.stop <= t.pull_start {
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
        let p = t.provider.index();
        self.billed[t.flow][p] += secs;
        if t.interrupted {
            self.wasted[t.flow][p] += secs.saturating_sub(t.useful.0 / 1000);
        }
        secs
    }

    /// Prices everything into `out` (its cost fields) and `flows` (each flow's cost, public
    /// IP time and image data), on the scenario's resolved rates and network.
    pub(crate) fn price(&self, s: &Scenario, out: &mut RunOutcome, flows: &mut [FlowOutcome]) {
        for (f, pf) in flows.iter_mut().enumerate() {
            for p in Provider::ALL {
                let secs = self.billed[f][p.index()];
                if secs == 0 {
                    continue; // a provider this configuration never used has no rate to read
                }
                let rate = s.rates.flow(f, p) / 3600.0;
                let cost = secs as f64 * rate;
                pf.cost_usd += cost;
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
        out.cost_worker_usd = s.worker.count as f64 * hours * s.rates.worker;
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
        out.cost_usd = out.cost_fargate_usd
            + out.cost_fargate_spot_usd
            + out.cost_worker_usd
            + out.cost_public_ipv4_usd
            + out.cost_nat_usd
            + out.cost_vpc_endpoints_usd;
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
