//! `spotplan plan` and `spotplan apply`: read the account, diff, and make it match.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::UserError;
use super::emit::{Target, prepare};
use crate::deploy::apply::{EcsApi, apply};
use crate::deploy::emit::desired;
use crate::deploy::plan::{Plan, plan};

/// Arguments shared by `plan` and `apply`.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// What to deploy.
    #[command(flatten)]
    pub target: Target,
    /// AWS profile and endpoint.
    #[command(flatten)]
    pub aws: crate::aws::config::AwsArgs,
    /// The region (default: the scenario's).
    #[arg(long)]
    pub region: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// `+` create, `~` update (old → new), `=` unchanged.
    Text,
    /// JSON.
    Json,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Target, account, format.
    #[command(flatten)]
    pub account: AccountArgs,
    /// Exit 2 when there are changes (0 when none, 1 on error).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Target, account, format.
    #[command(flatten)]
    pub account: AccountArgs,
    /// Apply without asking (needed when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
}

fn compute(a: &AccountArgs) -> anyhow::Result<(Plan, crate::aws::ecs::SdkEcs)> {
    let (mut s, inputs, choice) = prepare(&a.target)?;
    if let Some(r) = &a.region {
        s.region = r.clone();
    }
    let want = desired(&s, &inputs, &choice);
    let mut api = crate::aws::ecs::SdkEcs::new(&a.aws, &s.region).map_err(UserError)?;
    let seen = api
        .observe(
            &want.cluster.name,
            &want.task_definition.family,
            &want.service.name,
        )
        .map_err(|e| anyhow::anyhow!("cannot read the account: {e}"))?;
    Ok((plan(&want, &seen), api))
}

fn show(p: &Plan, f: PlanFormat) -> anyhow::Result<()> {
    match f {
        PlanFormat::Text => println!("{p}"),
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(p)?),
    }
    Ok(())
}

pub fn run_plan(a: PlanArgs) -> anyhow::Result<ExitCode> {
    let (p, _) = compute(&a.account)?;
    show(&p, a.account.format)?;
    Ok(if a.detailed_exitcode && p.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn run_apply(a: ApplyArgs) -> anyhow::Result<ExitCode> {
    let (p, mut api) = compute(&a.account)?;
    show(&p, a.account.format)?;
    if !p.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UserError(
                "refusing to apply without --yes: standard input is not a terminal to confirm on"
                    .into(),
            )
            .into());
        }
        eprint!("apply these changes? [y/N] ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing applied");
            return Ok(ExitCode::from(1));
        }
    }
    let report = apply(&p, &mut api, &mut |k| {
        std::thread::sleep(std::time::Duration::from_millis(500 * (1 << k.min(5))))
    });
    eprintln!("{report}");
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
