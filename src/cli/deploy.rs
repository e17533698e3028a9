//! `spotplan plan` and `spotplan apply`: the arguments, the account check, showing the plan
//! and confirming it. Reading, diffing and executing are `deploy`'s.

use std::io::{BufRead, IsTerminal, Write};

use clap::{Args, ValueEnum};

use super::UserError;
use super::emit::{Target, prepare};
use super::exit::Outcome;
use crate::aws::ecs::SdkEcs;
use crate::deploy::api::{PrefectApi, observe};
use crate::deploy::apply::apply;
use crate::deploy::desired::desired;
use crate::deploy::plan::{Plan, plan};
use crate::prefect_api::PrefectHttp;

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
    /// Go on when the credentials belong to another account than `deploy.account_id`.
    #[arg(long)]
    pub allow_other_account: bool,
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
    /// Exit 3 when something needs a person: a `!` item (a deployment missing from the pool)
    /// or a side the plan did not check (the Prefect side without --prefect-api-url); before
    /// --detailed-exitcode's 2.
    #[arg(long)]
    pub strict: bool,
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

fn compute(a: &AccountArgs) -> anyhow::Result<(Plan, SdkEcs, Option<PrefectHttp>)> {
    // the account's region (`--region`, else the scenario's) is a deploy input: it names the
    // log configuration and the ARNs spotplan derives, and nothing of the simulated scenario
    let (s, inputs, choice) = prepare(&a.target, a.region.as_deref())?;
    if let Some(r) = a.region.as_deref().filter(|r| *r != s.region) {
        eprintln!(
            "warning: --region {r} is not the region the bill was priced for ({}): the resources, \
             ARNs and log group go to {r}, at {r}'s prices; price it there with `region = \"{r}\"`",
            s.region
        );
    }
    let want = desired(&s, &inputs, &choice);
    // the Prefect API first: a wrong URL must stop `apply` before any AWS change
    let prefect = match &a.target.prefect_api_url {
        None => None,
        Some(_) => {
            let api = PrefectHttp::from_env(&inputs.prefect_api_url);
            let version = api.probe().map_err(|e| UserError(e.to_string()))?;
            eprintln!("Prefect API {} (server {version})", inputs.prefect_api_url);
            Some(api)
        }
    };
    let mut api = SdkEcs::new(&a.aws, &inputs.region)?;
    // the credentials must belong to the account the artefacts name (ARNs, roles, images)
    let account = api
        .caller_account()
        .map_err(|e| UserError(format!("cannot tell whose credentials these are: {e}")))?;
    if account != inputs.account_id {
        if !a.allow_other_account {
            return Err(UserError(format!(
                "the credentials belong to account {account}, but deploy.account_id is {}: switch profile (`--profile`), fix the account id, or pass --allow-other-account",
                inputs.account_id
            ))
            .into());
        }
        eprintln!(
            "warning: the credentials belong to account {account}, not deploy.account_id {} (--allow-other-account)",
            inputs.account_id
        );
    }
    let seen = observe(&mut api, prefect.as_ref().map(as_api), &want)?;
    Ok((plan(&want, &seen), api, prefect))
}

fn as_api(p: &PrefectHttp) -> &dyn PrefectApi {
    p
}

fn show(p: &Plan, f: PlanFormat) -> anyhow::Result<()> {
    match f {
        PlanFormat::Text => outln!("{p}"),
        PlanFormat::Json => outln!("{}", serde_json::to_string_pretty(p)?),
    }
    Ok(())
}

pub(super) fn run_plan(a: PlanArgs) -> anyhow::Result<Outcome> {
    let (p, _, _) = compute(&a.account)?;
    show(&p, a.account.format)?;
    let attention = p.attention();
    if a.strict && !attention.is_empty() {
        for x in &attention {
            eprintln!("attention: {x}");
        }
        return Ok(Outcome::NeedsAttention);
    }
    Ok(if a.detailed_exitcode && p.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Done
    })
}

pub(super) fn run_apply(a: ApplyArgs) -> anyhow::Result<Outcome> {
    let (p, mut api, prefect) = compute(&a.account)?;
    show(&p, a.account.format)?;
    if let Some(why) = p.blocked() {
        return Err(UserError(why).into());
    }
    if !p.has_changes() {
        return Ok(Outcome::Done);
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
            return Ok(Outcome::Declined);
        }
    }
    let report = apply(&p, &mut api, prefect.as_ref().map(as_api), &mut |k| {
        std::thread::sleep(std::time::Duration::from_millis(500 * (1 << k.min(5))))
    });
    eprintln!("{report}");
    Ok(if report.ok() {
        Outcome::Done
    } else {
        Outcome::Failed
    })
}
