//! `spotplan plan` and `spotplan apply`: read the account, diff, and make it match.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::UserError;
use super::emit::{Target, prepare};
use crate::deploy::apply::apply;
use crate::deploy::automation::{AutomationPlan, AutomationWrite, plan_automation};
use crate::deploy::deployments::{DeploymentsPlan, plan_deployments};
use crate::deploy::emit::desired;
use crate::deploy::plan::{Action, Plan, plan, summary};
use crate::deploy::workpool::{PoolPlan, plan_pool};
use crate::prefect_api::PrefectApi;

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

/// Everything `plan` shows and `apply` executes.
#[derive(serde::Serialize)]
struct Full {
    #[serde(flatten)]
    ecs: Plan,
    /// Only with `--prefect-api-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    work_pool: Option<PoolPlan>,
    /// Deployments' own job variables (with `--prefect-api-url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    deployments: Option<DeploymentsPlan>,
    /// The fallback automation (with `--prefect-api-url`, when the retry policy needs it or
    /// one exists).
    #[serde(skip_serializing_if = "Option::is_none")]
    automation: Option<AutomationPlan>,
}

impl Full {
    fn changes(&self) -> usize {
        self.ecs.calls().len()
            + self
                .work_pool
                .as_ref()
                .map_or(0, |p| usize::from(p.step.action != Action::Unchanged))
            + self.deployments.as_ref().map_or(0, |d| d.writes.len())
            + self
                .automation
                .as_ref()
                .map_or(0, |a| usize::from(a.write.is_some()))
    }
}

fn compute(a: &AccountArgs) -> anyhow::Result<(Full, crate::aws::ecs::SdkEcs, Option<PrefectApi>)> {
    let (mut s, mut inputs, choice) = prepare(&a.target)?;
    if let Some(r) = &a.region {
        // the log configuration and the ARNs spotplan derives name the region too
        s.region = r.clone();
        inputs.region = r.clone();
    }
    let want = desired(&s, &inputs, &choice);
    // the Prefect API first: a wrong URL must stop `apply` before any AWS change
    let prefect = match &a.target.prefect_api_url {
        None => None,
        Some(_) => {
            let api = PrefectApi::from_env(&inputs.prefect_api_url);
            let version = api.probe().map_err(UserError)?;
            eprintln!("Prefect API {} (server {version})", inputs.prefect_api_url);
            Some(api)
        }
    };
    let mut api = crate::aws::ecs::SdkEcs::new(&a.aws, &s.region).map_err(UserError)?;
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
    let seen = crate::deploy::apply::observe(&mut api, &want)
        .map_err(|e| anyhow::anyhow!("cannot read the account: {e}"))?;
    let ecs = plan(&want, &seen);
    // the work pool, its deployments and the fallback automation, when the Prefect API URL
    // was given on the command line
    let (mut work_pool, mut deployments, mut automation) = (None, None, None);
    if let Some(papi) = &prefect {
        let pool = crate::deploy::emit::work_pool(&s, &inputs, &choice);
        let seen = papi
            .pool(&pool.name)
            .map_err(|e| anyhow::anyhow!("cannot read the work pool: {e}"))?;
        work_pool = Some(plan_pool(&pool, seen.as_ref()));
        let want = crate::deploy::emit::deployment_job_variables(&s, &choice);
        if !want.is_empty() {
            let have = if seen.is_some() {
                papi.deployments(&pool.name)
                    .map_err(|e| anyhow::anyhow!("cannot read the deployments: {e}"))?
            } else {
                Vec::new()
            };
            deployments = Some(plan_deployments(&want, &have, &pool.name));
        }
        let wanted = crate::deploy::emit::fallback_automation(&inputs, &choice);
        let existing = papi
            .automations(&crate::deploy::automation::name_for(&pool.name))
            .map_err(|e| anyhow::anyhow!("cannot read the automations: {e}"))?;
        automation = plan_automation(wanted.as_ref(), &existing);
    }
    Ok((
        Full {
            ecs,
            work_pool,
            deployments,
            automation,
        },
        api,
        prefect,
    ))
}

fn show(p: &Full, f: PlanFormat) -> anyhow::Result<()> {
    match f {
        PlanFormat::Text => {
            for s in &p.ecs.steps {
                out!("{s}");
            }
            if let Some(w) = &p.work_pool {
                out!("{}", w.step);
            }
            for d in p.deployments.iter().flat_map(|d| &d.steps) {
                out!("{d}");
            }
            if let Some(a) = &p.automation {
                out!("{}", a.step);
            }
            outln!("{}", summary(p.changes()));
        }
        PlanFormat::Json => outln!("{}", serde_json::to_string_pretty(p)?),
    }
    Ok(())
}

/// `plan` and `apply` exit 1 on any error (0 no change or done, 2 changes with
/// `--detailed-exitcode`): an unreachable API must never read as "changes pending" to a CI
/// gate, as Terraform's `-detailed-exitcode` promises.
fn exit_1(e: anyhow::Error) -> anyhow::Error {
    if e.is::<crate::scenario::ScenarioError>() || e.is::<UserError>() {
        e
    } else {
        UserError(format!("{e:#}")).into()
    }
}

pub fn run_plan(a: PlanArgs) -> anyhow::Result<ExitCode> {
    let (p, _, _) = compute(&a.account).map_err(exit_1)?;
    show(&p, a.account.format)?;
    Ok(if a.detailed_exitcode && p.changes() > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn run_apply(a: ApplyArgs) -> anyhow::Result<ExitCode> {
    let (p, mut api, prefect) = compute(&a.account).map_err(exit_1)?;
    show(&p, a.account.format)?;
    if let Some(w) = &p.work_pool
        && w.write.is_none()
        && !w.step.changes.is_empty()
    {
        return Err(UserError(format!(
            "work pool `{}` exists with another worker type; spotplan does not delete pools: delete it or set deploy.work_pool to a new name",
            w.step.name
        ))
        .into());
    }
    if p.changes() == 0 {
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
    let report = apply(&p.ecs, &mut api, &mut |k| {
        std::thread::sleep(std::time::Duration::from_millis(500 * (1 << k.min(5))))
    });
    eprintln!("{report}");
    if !report.ok() {
        return Ok(ExitCode::from(1));
    }
    // the work pool last: runs pick up the strategy once the cluster can place it
    if let (
        Some(api),
        Some(PoolPlan {
            write: Some(w),
            step,
        }),
    ) = (&prefect, &p.work_pool)
    {
        match api.write(w) {
            Ok(()) => eprintln!(
                "done: work pool {} ({})",
                step.name,
                if matches!(w, crate::deploy::workpool::PoolWrite::Create { .. }) {
                    "created"
                } else {
                    "updated"
                }
            ),
            Err(e) => {
                eprintln!(
                    "failed: work pool {}: {e}\nthe ECS changes above are in place; run apply again to finish",
                    step.name
                );
                return Ok(ExitCode::from(1));
            }
        }
    }
    // then each deployment's own job variables, and the automation that reruns Crashed runs
    if let Some(api) = &prefect {
        for w in p.deployments.iter().flat_map(|d| &d.writes) {
            if let Err(e) = api.write_deployment(w) {
                eprintln!(
                    "failed: deployment {}: {e}\nthe changes above are in place; run apply again to finish",
                    w.label
                );
                return Ok(ExitCode::from(1));
            }
            eprintln!("done: deployment {} (job variables)", w.label);
        }
        if let Some(AutomationPlan {
            write: Some(w),
            step,
        }) = &p.automation
        {
            if let Err(e) = api.write_automation(w) {
                eprintln!(
                    "failed: automation {}: {e}\nthe changes above are in place; run apply again to finish",
                    step.name
                );
                return Ok(ExitCode::from(1));
            }
            eprintln!(
                "done: automation {} ({})",
                step.name,
                if matches!(w, AutomationWrite::Create { .. }) {
                    "created"
                } else {
                    "updated"
                }
            );
        }
        if let Some(missing) = p.deployments.as_ref().map(|d| {
            d.steps
                .iter()
                .filter(|s| s.action == Action::Missing)
                .count()
        }) && missing > 0
        {
            eprintln!(
                "note: {missing} deployment(s) not found in the work pool: deploy them with the job variables shown (prefect/prefect.yaml from `spotplan emit`)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
