//! `spotplan plan` and `spotplan apply`: the arguments, the account check, showing the plan
//! and confirming it. Reading, diffing and executing are `deploy`'s.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::UserError;
use super::emit::{Target, prepare};
use super::exit::Outcome;
use crate::aws::ecs::SdkEcs;
use crate::deploy::api::{PrefectApi, observe};
use crate::deploy::apply::apply;
use crate::deploy::desired::desired;
use crate::deploy::plan::{Plan, plan};
use crate::deploy::saved::{SavedPlan, redacted};
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
    /// Also save the plan to this file (written 0600; values that are not spotplan's only as
    /// digests): `spotplan apply FILE` applies exactly it, once, and refuses when the account
    /// or the Prefect API changed since.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Target, account, format.
    #[command(flatten)]
    pub account: AccountArgs,
    /// Apply without asking (needed when standard input is not a terminal). A saved plan is
    /// applied without asking: it was reviewed when it was saved.
    #[arg(long)]
    pub yes: bool,
}

/// A plan computed against the account, with what computing it again needs.
struct Computed {
    plan: Plan,
    desired: crate::deploy::desired::Desired,
    api: SdkEcs,
    prefect: Option<PrefectHttp>,
    /// The account the credentials belong to.
    account: String,
    region: String,
    /// The scenario's canonical hash.
    scenario: String,
}

fn compute(a: &AccountArgs) -> anyhow::Result<Computed> {
    compute_for(
        &a.target,
        a.region.as_deref(),
        &a.aws,
        a.allow_other_account,
        None,
    )
}

/// Plans `t` in `region` (else the scenario's). With `saved`, the credentials must belong to
/// the account it was computed in.
fn compute_for(
    t: &Target,
    region: Option<&str>,
    aws: &crate::aws::config::AwsArgs,
    allow_other_account: bool,
    saved: Option<&SavedPlan>,
) -> anyhow::Result<Computed> {
    // the account's region (`--region`, else the scenario's) is a deploy input: it names the
    // log configuration and the ARNs spotplan derives, and nothing of the simulated scenario
    let (s, inputs, mut choice) = prepare(t, region)?;
    let from_recommendation = t.file.extension().is_some_and(|e| e == "json");
    if choice.quota_need.is_none() && !from_recommendation {
        choice.quota_need = Some(simulated_need(&s));
    }
    if let Some(r) = region.filter(|r| *r != s.region) {
        eprintln!(
            "warning: --region {r} is not the region the bill was priced for ({}): the resources, \
             ARNs and log group go to {r}, at {r}'s prices; price it there with `region = \"{r}\"`",
            s.region
        );
    }
    let want = desired(&s, &inputs, &choice);
    // the Prefect API first: a wrong URL must stop `apply` before any AWS change
    let prefect = match &t.prefect_api_url {
        None => None,
        Some(_) => {
            let api = PrefectHttp::from_env(&inputs.prefect_api_url);
            let version = api.probe().map_err(|e| UserError(e.to_string()))?;
            eprintln!("Prefect API {} (server {version})", inputs.prefect_api_url);
            Some(api)
        }
    };
    let mut api = SdkEcs::new(aws, &inputs.region)?;
    // the credentials must belong to the account the artefacts name (ARNs, roles, images)
    let account = api
        .caller_account()
        .map_err(|e| UserError(format!("cannot tell whose credentials these are: {e}")))?;
    if let Some(p) = saved.filter(|p| p.account != account) {
        return Err(UserError(format!(
            "the credentials belong to account {account}, but the saved plan was computed in account {}: nothing was changed",
            p.account
        ))
        .into());
    }
    if account != inputs.account_id {
        if !allow_other_account {
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
    let mut planned = plan(&want, &seen);
    if want.quotas.is_none() {
        planned.not_checked.push(
            "the Fargate vCPU quotas: the recommendation records no concurrent vCPU (written by an older spotplan); rerun `spotplan recommend`".into(),
        );
    }
    Ok(Computed {
        plan: planned,
        desired: want,
        api,
        prefect,
        account,
        region: inputs.region.clone(),
        scenario: s.source.canonical.clone(),
    })
}

/// What the scenario's own configuration runs at once: the peaks of the replications
/// `simulate` runs (the same figures it prints; no baseline is needed for them).
fn simulated_need(s: &crate::scenario::Scenario) -> crate::deploy::quotas::QuotaNeed {
    let n = s.sim.replications;
    let runs = crate::sweep::outcomes(s, n as u64);
    let c = crate::sweep::ConcurrentVcpu::of(s, &runs.iter().collect::<Vec<_>>());
    crate::deploy::quotas::QuotaNeed {
        fargate_vcpu: c.fargate_p99,
        worker_vcpu: c.worker,
        spot_vcpu: c.fargate_spot_p99,
        basis: format!("the p99 of the peaks of {n} simulated replications"),
        stated: [None; 2],
    }
}

/// `path` absolute, its links resolved.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    path.canonicalize()
        .map_err(|e| UserError(format!("cannot resolve `{}`: {e}", path.display())).into())
}

/// The SHA-256 of a recommendation file (`None` for a scenario).
fn recommendation_digest(t: &Target) -> anyhow::Result<Option<String>> {
    if t.file.extension().is_none_or(|e| e != "json") {
        return Ok(None);
    }
    let bytes = std::fs::read(&t.file)
        .map_err(|e| UserError(format!("cannot read `{}`: {e}", t.file.display())))?;
    Ok(Some(crate::deploy::saved::digest(
        "",
        &String::from_utf8_lossy(&bytes),
    )))
}

/// Writes the plan `c` as a saved plan at `out`, readable by its owner only.
fn save(a: &AccountArgs, c: &Computed, out: &Path) -> anyhow::Result<()> {
    use rand::RngExt;
    let mut t = a.target.clone();
    t.file = absolute(&t.file)?;
    t.scenario = t.scenario.as_deref().map(absolute).transpose()?;
    let salt: String = (0..16)
        .map(|_| format!("{:02x}", rand::rng().random::<u8>()))
        .collect();
    let saved = SavedPlan {
        format: crate::deploy::saved::FORMAT.into(),
        spotplan_version: env!("CARGO_PKG_VERSION").into(),
        account: c.account.clone(),
        region: c.region.clone(),
        prefect_api_url: c.prefect.as_ref().and(t.prefect_api_url.clone()),
        recommendation_sha256: recommendation_digest(&t)?,
        inputs: serde_json::to_value(&t)?,
        allow_other_account: a.allow_other_account,
        scenario_hash: c.scenario.clone(),
        plan: redacted(&c.plan, &c.desired, &salt),
        salt,
        applied: false,
    };
    super::output::write_private(out, serde_json::to_string_pretty(&saved)? + "\n")?;
    eprintln!(
        "saved the plan to {} (apply it with `spotplan apply {}`; it applies once, and only while \
         the account and the Prefect API hold what it was computed from)",
        out.display(),
        out.display()
    );
    Ok(())
}

/// The saved plan at `path`, when `path` is one (a JSON file of format `spotplan-plan/1`).
fn read_saved(path: &Path) -> anyhow::Result<Option<SavedPlan>> {
    if path.extension().is_none_or(|e| e != "json") {
        return Ok(None);
    }
    let text = super::read_capped(path, super::MAX_DATA_BYTES)
        .map_err(|e| UserError(format!("cannot read `{}`: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| UserError(format!("`{}` is not JSON: {e}", path.display())))?;
    if v["format"] != crate::deploy::saved::FORMAT {
        return Ok(None);
    }
    let p: SavedPlan = serde_json::from_value(v).map_err(|e| {
        UserError(format!(
            "`{}` is not a whole saved plan ({e}): run `spotplan plan --out` again",
            path.display()
        ))
    })?;
    Ok(Some(p))
}

/// Applies the saved plan at `path`: refused, changing nothing, unless spotplan, the inputs,
/// the account and what it reads are as they were when the plan was saved.
fn apply_saved(a: &ApplyArgs, path: &Path, saved: SavedPlan) -> anyhow::Result<Outcome> {
    let again = "nothing was changed: run `spotplan plan --out` again and review it";
    if saved.applied {
        return Err(UserError(format!(
            "`{}` was applied already (a saved plan applies once): {again}",
            path.display()
        ))
        .into());
    }
    if saved.spotplan_version != env!("CARGO_PKG_VERSION") {
        return Err(UserError(format!(
            "`{}` was computed by spotplan {}, this is {}: {again}",
            path.display(),
            saved.spotplan_version,
            env!("CARGO_PKG_VERSION")
        ))
        .into());
    }
    let given = Target {
        file: a.account.target.file.clone(),
        ..Target::default()
    };
    if a.account.target != given
        || a.account.allow_other_account
        || a.account
            .region
            .as_ref()
            .is_some_and(|r| *r != saved.region)
    {
        return Err(UserError(format!(
            "a saved plan carries its inputs, region and account: give `{}` alone, with --profile, --endpoint-url, --aws-timeout, --format or --yes",
            path.display()
        ))
        .into());
    }
    let t: Target = serde_json::from_value(saved.inputs.clone()).map_err(|e| {
        UserError(format!(
            "the inputs in `{}` cannot be read ({e}): {again}",
            path.display()
        ))
    })?;
    if recommendation_digest(&t)? != saved.recommendation_sha256 {
        return Err(UserError(format!(
            "`{}` changed since the plan was saved: {again}",
            t.file.display()
        ))
        .into());
    }
    let c = compute_for(
        &t,
        Some(&saved.region),
        &a.account.aws,
        saved.allow_other_account,
        Some(&saved),
    )?;
    if c.scenario != saved.scenario_hash {
        return Err(UserError(format!(
            "the scenario changed since the plan was saved: {again}"
        ))
        .into());
    }
    let now = redacted(&c.plan, &c.desired, &saved.salt);
    let differ = crate::deploy::saved::differences(&saved.plan, &now, 20);
    if !differ.is_empty() {
        return Err(UserError(format!(
            "the account or the Prefect API no longer holds what the saved plan was computed from:\n  {}\n{again}",
            differ.join("\n  ")
        ))
        .into());
    }
    show(&c.plan, a.account.format)?;
    if let Some(why) = c.plan.blocked() {
        return Err(UserError(why).into());
    }
    // used once: marked before the first write, so a crash half-way cannot apply it twice
    let used = SavedPlan {
        applied: true,
        ..saved
    };
    super::output::write_private(path, serde_json::to_string_pretty(&used)? + "\n")?;
    execute(c, true)
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
    if read_saved(&a.account.target.file)?.is_some() {
        return Err(UserError(format!(
            "`{}` is a saved plan: apply it with `spotplan apply {}`, or plan from its scenario",
            a.account.target.file.display(),
            a.account.target.file.display()
        ))
        .into());
    }
    let c = compute(&a.account)?;
    show(&c.plan, a.account.format)?;
    if let Some(out) = &a.out {
        save(&a.account, &c, out)?;
    }
    let attention = c.plan.attention();
    if a.strict && !attention.is_empty() {
        for x in &attention {
            eprintln!("attention: {x}");
        }
        return Ok(Outcome::NeedsAttention);
    }
    Ok(if a.detailed_exitcode && c.plan.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Done
    })
}

pub(super) fn run_apply(a: ApplyArgs) -> anyhow::Result<Outcome> {
    if let Some(saved) = read_saved(&a.account.target.file)? {
        let path = a.account.target.file.clone();
        return apply_saved(&a, &path, saved);
    }
    let c = compute(&a.account)?;
    show(&c.plan, a.account.format)?;
    if let Some(why) = c.plan.blocked() {
        return Err(UserError(why).into());
    }
    if !c.plan.has_changes() {
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
    execute(c, false)
}

/// Makes the plan's writes and reports them.
fn execute(mut c: Computed, saved: bool) -> anyhow::Result<Outcome> {
    let report = apply(
        &c.plan,
        &mut c.api,
        c.prefect.as_ref().map(as_api),
        &mut |k| std::thread::sleep(std::time::Duration::from_millis(500 * (1 << k.min(5)))),
    );
    eprintln!("{report}");
    if report.ok() && c.prefect.is_some() {
        eprintln!("{}", crate::deploy::emit::BILLING_NOTE);
    }
    if saved && !report.ok() {
        eprintln!(
            "this saved plan is used: run `spotplan plan --out` again, review it, and apply that"
        );
    }
    Ok(if report.ok() {
        Outcome::Done
    } else {
        Outcome::Failed
    })
}
