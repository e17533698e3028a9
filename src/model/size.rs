//! Fargate task sizes: CPU units, memory in MiB, architecture, operating system, storage.

use std::fmt;

/// Task CPU in ECS units (1024 units = 1 vCPU).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpu(pub u32);

impl Cpu {
    /// vCPUs as `f64` (units / 1024).
    pub fn vcpu(self) -> f64 {
        self.0 as f64 / 1024.0
    }
}

/// Task memory in MiB (AWS bills memory per GB where 1 GB = 1024 MiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Memory(pub u32);

impl Memory {
    /// Memory in GB as billed (MiB / 1024).
    pub fn gb(self) -> f64 {
        self.0 as f64 / 1024.0
    }
}

/// CPU architecture of the task (`runtimePlatform.cpuArchitecture`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Architecture {
    /// X86_64 (the ECS default).
    #[default]
    X86_64,
    /// ARM64 (Graviton); FARGATE_SPOT supports it on platform version ≥ 1.4.0.
    Arm64,
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        })
    }
}

/// Operating system family of the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum OperatingSystem {
    /// Linux (the only OS FARGATE_SPOT supports).
    #[default]
    Linux,
    /// Windows Server; needs ≥ 1 vCPU and cannot use FARGATE_SPOT.
    Windows,
}

/// A validated task size: a valid Fargate cpu/memory pair, architecture, OS and ephemeral storage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskSize {
    /// Task-level CPU units.
    pub cpu: Cpu,
    /// Task-level memory, MiB.
    pub memory: Memory,
    /// CPU architecture.
    pub arch: Architecture,
    /// Operating system.
    pub os: OperatingSystem,
    /// Ephemeral storage, GiB (20 included; 21–200 configurable; only GiB above 20 are billed).
    pub storage_gib: u32,
}

impl TaskSize {
    /// GiB of ephemeral storage that are billed (above the 20 GiB included).
    pub fn billed_storage_gib(&self) -> u32 {
        self.storage_gib.saturating_sub(20)
    }
}

/// Memory values (MiB) Fargate accepts for a task CPU value, or `None` if the CPU is invalid.
///
/// Source: botocore model `RegisterTaskDefinitionRequest.memory` (table in
/// `domain/ecs-fargate-prefect.md` §3.2).
pub(crate) fn valid_memory_for_cpu(cpu: u32) -> Option<Vec<u32>> {
    let steps = |from_gb: u32, to_gb: u32, step_gb: usize| -> Vec<u32> {
        (from_gb..=to_gb)
            .step_by(step_gb)
            .map(|g| g * 1024)
            .collect()
    };
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => vec![1024, 2048, 3072, 4096],
        1024 => steps(2, 8, 1),
        2048 => steps(4, 16, 1),
        4096 => steps(8, 30, 1),
        8192 => steps(16, 60, 4),
        16384 => steps(32, 120, 8),
        _ => return None,
    })
}

/// The valid Fargate CPU values, in units.
pub(crate) const VALID_CPUS: [u32; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

/// Describes the allowed memory for a CPU value in words, e.g. `2048–8192 MiB in 1024 MiB steps`.
pub(crate) fn describe_memory_for_cpu(cpu: u32) -> String {
    match cpu {
        256 => "512, 1024 or 2048 MiB".into(),
        512 => "1024, 2048, 3072 or 4096 MiB".into(),
        1024 => "2048–8192 MiB in 1024 MiB steps".into(),
        2048 => "4096–16384 MiB in 1024 MiB steps".into(),
        4096 => "8192–30720 MiB in 1024 MiB steps".into(),
        8192 => "16384–61440 MiB in 4096 MiB steps".into(),
        16384 => "32768–122880 MiB in 8192 MiB steps".into(),
        _ => "a valid cpu first (256, 512, 1024, 2048, 4096, 8192 or 16384)".into(),
    }
}

/// Parses a CPU given as units (`1024`, `"1024"`) or vCPUs (`"1 vCPU"`, `"0.25 vcpu"`).
pub(crate) fn parse_cpu_text(text: &str) -> Result<u32, super::Invalid> {
    parse_cpu_text_text(text).map_err(super::Invalid)
}

/// `parse_cpu_text`'s work, its error in words.
fn parse_cpu_text_text(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(num) = lower.strip_suffix("vcpu") {
        let v: f64 = num.trim().parse().map_err(|_| {
            format!("`{t}` is not a cpu; write units like 1024 or vCPUs like \"1 vCPU\"")
        })?;
        let units = v * 1024.0;
        if units.fract() != 0.0 || units <= 0.0 {
            return Err(format!("`{t}` is not a whole number of cpu units"));
        }
        return Ok(units as u32);
    }
    t.parse::<u32>()
        .map_err(|_| format!("`{t}` is not a cpu; write units like 1024 or vCPUs like \"1 vCPU\""))
}

/// Parses memory given as MiB (`2048`, `"2048"`) or GB (`"2 GB"`, `"0.5GB"`, `"2 GiB"`).
pub(crate) fn parse_memory_text(text: &str) -> Result<u32, super::Invalid> {
    parse_memory_text_text(text).map_err(super::Invalid)
}

/// `parse_memory_text`'s work, its error in words.
fn parse_memory_text_text(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let gb = lower
        .strip_suffix("gib")
        .or_else(|| lower.strip_suffix("gb"));
    if let Some(num) = gb {
        let v: f64 = num.trim().parse().map_err(|_| {
            format!("`{t}` is not a memory size; write MiB like 2048 or GB like \"2 GB\"")
        })?;
        let mib = v * 1024.0;
        if mib.fract() != 0.0 || mib <= 0.0 {
            return Err(format!("`{t}` is not a whole number of MiB"));
        }
        return Ok(mib as u32);
    }
    let mib = lower
        .strip_suffix("mib")
        .or_else(|| lower.strip_suffix("mb"))
        .unwrap_or(&lower);
    mib.trim()
        .parse::<u32>()
        .map_err(|_| format!("`{t}` is not a memory size; write MiB like 2048 or GB like \"2 GB\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_table_matches_domain_file() {
        assert_eq!(valid_memory_for_cpu(256).unwrap(), vec![512, 1024, 2048]);
        assert_eq!(valid_memory_for_cpu(4096).unwrap().last(), Some(&30720));
        assert_eq!(
            valid_memory_for_cpu(8192).unwrap(),
            (16..=60).step_by(4).map(|g| g * 1024).collect::<Vec<_>>()
        );
        assert_eq!(valid_memory_for_cpu(16384).unwrap().first(), Some(&32768));
        assert_eq!(valid_memory_for_cpu(16384).unwrap().last(), Some(&122880));
        assert!(valid_memory_for_cpu(768).is_none());
    }

    #[test]
    fn parses_cpu_and_memory_forms() {
        assert_eq!(parse_cpu_text("1 vCPU").unwrap(), 1024);
        assert_eq!(parse_cpu_text("0.25 vcpu").unwrap(), 256);
        assert_eq!(parse_cpu_text("2048").unwrap(), 2048);
        assert!(parse_cpu_text("lots").is_err());
        assert_eq!(parse_memory_text("2 GB").unwrap(), 2048);
        assert_eq!(parse_memory_text("0.5GB").unwrap(), 512);
        assert_eq!(parse_memory_text("3072").unwrap(), 3072);
        assert!(parse_memory_text("2 TB").is_err());
    }
}
