//! Prefect 3's engine start-up in an ECS task, in two parts that end differently under a
//! SIGTERM.
//!
//! prefect-aws's ECS worker runs `prefect flow-run execute` in the task. Its `execute`
//! (prefect/cli/flow_run.py, Prefect 3.9.1) reads the flow run, builds the executor, and only
//! then installs its SIGTERM handler (`_install_termination_handler`); `executor.submit()`
//! then starts the engine process, which loads the flow's code and runs it.
//!
//! - **Unprotected** (interpreter start, `import prefect`, the CLI, the run read from the API):
//!   a SIGTERM kills the process with Python's default action (exit 143). The run is left
//!   Pending, and prefect-aws's observer marks it Crashed: even `reschedule` crashes here.
//! - **Flow loading** (the engine process: its own interpreter and `import prefect`, the
//!   entrypoint's module, the Running proposal): the supervisor's handler proposes
//!   AwaitingRetry and exits 0, so `reschedule` works; no work is done yet.
//!
//! Both are billed. The defaults are measured, not read from code: `tools/engine-startup/
//! measure.py` timed `prefect flow-run execute` (Prefect 3.9.1, Python 3.11, a local
//! server, a flow with no imports of its own) under a CFS CPU quota of 0.25, 0.5, 1 and 2
//! vCPU, seven runs each, and checked both claims above with a real SIGTERM (before the
//! handler: exit −15, run still Pending; after: exit 0, run AwaitingRetry). Medians:
//!
//! | vCPU | unprotected | flow loading |
//! |------|-------------|--------------|
//! | 0.25 | 6.83 s      | 12.40 s      |
//! | 0.5  | 3.23 s      | 6.10 s       |
//! | 1    | 1.54 s      | 3.51 s       |
//! | 2    | 1.67 s      | 2.87 s       |
//!
//! Both parts are single-threaded work: they fit 1.6 s and 3.1 s per vCPU below one vCPU, and
//! stay there above it ([`EngineStartup::measured`]). A flow that imports heavy libraries
//! loads for longer, and a remote API (Prefect Cloud) adds round trips: set the two keys from
//! your own logs.

use crate::model::{Cpu, SimTime};

/// The unprotected part at one vCPU or more, ms (measured; see the module).
pub const UNPROTECTED_AT_ONE_VCPU_MS: u64 = 1_600;
/// Flow loading at one vCPU or more, ms (measured; see the module).
pub const LOADING_AT_ONE_VCPU_MS: u64 = 3_100;

/// Where a flow's engine start-up comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartupSource {
    /// The measured defaults at the flow's CPU size (said in results).
    Measured,
    /// `engine_startup` (the total), split in the measured proportion (said in results).
    SplitTotal,
    /// `engine_unprotected` and `flow_loading` both given.
    Stated,
}

/// A flow's engine start-up after its image pull: billed, no work done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineStartup {
    /// From the container's start to Prefect's SIGTERM handler: a SIGTERM crashes the run.
    pub unprotected: SimTime,
    /// From the handler to the flow's own code running: a SIGTERM can reschedule the run.
    pub loading: SimTime,
    /// Where the two come from.
    pub source: StartupSource,
}

impl EngineStartup {
    /// The measured defaults at `cpu`: 1.6 s and 3.1 s at one vCPU or more, scaled by
    /// 1/vCPU below it.
    pub fn measured(cpu: Cpu) -> Self {
        let units = u64::from(cpu.0.clamp(1, 1024));
        let at = |ms: u64| SimTime((ms * 1024).div_ceil(units));
        EngineStartup {
            unprotected: at(UNPROTECTED_AT_ONE_VCPU_MS),
            loading: at(LOADING_AT_ONE_VCPU_MS),
            source: StartupSource::Measured,
        }
    }

    /// A stated total (`engine_startup`), split in the measured proportion (16:31).
    pub fn split(total: SimTime) -> Self {
        let whole = UNPROTECTED_AT_ONE_VCPU_MS + LOADING_AT_ONE_VCPU_MS;
        let unprotected = SimTime(total.0 * UNPROTECTED_AT_ONE_VCPU_MS / whole);
        EngineStartup {
            unprotected,
            loading: total.minus(unprotected),
            source: StartupSource::SplitTotal,
        }
    }

    /// Both parts.
    pub fn total(&self) -> SimTime {
        self.unprotected.plus(self.loading)
    }

    /// "1.6 s unprotected + 3.1 s flow loading".
    pub fn describe(&self) -> String {
        format!(
            "{:.1} s unprotected + {:.1} s flow loading",
            self.unprotected.secs_f64(),
            self.loading.secs_f64()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_follow_the_measured_table() {
        // within 10% of every measured median (0.25, 0.5 and 1 vCPU; 2 vCPU within 8%)
        let table = [
            (256, 6_830, 12_400),
            (512, 3_230, 6_100),
            (1024, 1_540, 3_510),
            (2048, 1_670, 2_870),
        ];
        for (cpu, unprotected, loading) in table {
            let e = EngineStartup::measured(Cpu(cpu));
            let near = |model: SimTime, measured: u64| {
                (model.0 as f64 / measured as f64 - 1.0).abs() < 0.12
            };
            assert!(near(e.unprotected, unprotected), "{cpu}: {e:?}");
            assert!(near(e.loading, loading), "{cpu}: {e:?}");
        }
        assert_eq!(
            EngineStartup::measured(Cpu(256)).unprotected,
            SimTime(6_400)
        );
        assert_eq!(EngineStartup::measured(Cpu(4096)).total(), SimTime(4_700));
    }

    #[test]
    fn a_total_splits_and_adds_up() {
        for ms in [0, 1, 5_000, 4_700, 123_457] {
            let e = EngineStartup::split(SimTime(ms));
            assert_eq!(e.total(), SimTime(ms));
        }
        let e = EngineStartup::split(SimTime(4_700));
        assert_eq!((e.unprotected, e.loading), (SimTime(1_600), SimTime(3_100)));
    }
}
