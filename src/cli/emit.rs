//! `spotplan emit FILE|recommendation.json --out DIR`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::UserError;
use super::exit::Outcome;
use crate::deploy::desired::Choice;
use crate::deploy::emit::artefacts;
use crate::deploy::inputs::inputs;
use crate::model::{Provider, Strategy, StrategyItem};
use crate::scenario::RetryPolicy;
use crate::scenario::spec::{parse_retry_spec, retry_spec};

/// Arguments of `emit`.
#[derive(Debug, Args)]
pub struct EmitArgs {
    /// What to deploy.
    #[command(flatten)]
    pub target: Target,
    /// The directory to write into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Which artefacts: everything, the AWS CLI inputs and scripts, CloudFormation, or
    /// Terraform (IAM and Prefect files come with every choice).
    #[arg(long, value_enum, default_value_t = EmitFormat::All)]
    pub format: EmitFormat,
}

/// What to deploy: a scenario or a recommendation, and the deploy inputs. A saved plan
/// records them (paths absolute) to compute the plan again.
#[derive(Clone, Debug, Default, PartialEq, Args, serde::Serialize, serde::Deserialize)]
pub struct Target {
    /// A scenario (its strategy and retry policy) or a `recommendation.json` from `recommend
    /// --out` (its strategy and retry policy, with the scenario it names); for `apply`, also a
    /// plan saved by `plan --out`.
    pub file: PathBuf,
    /// The scenario, when FILE is a recommendation (default: the path it records).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Deploy a recommendation even though its scenario changed since (by default refused,
    /// with the sections that differ).
    #[arg(long)]
    pub allow_changed_scenario: bool,
    /// Overrides `deploy.account_id`.
    #[arg(long)]
    pub account_id: Option<String>,
    /// Overrides `deploy.subnets` (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub subnets: Option<Vec<String>>,
    /// Overrides `deploy.security_groups` (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub security_groups: Option<Vec<String>>,
    /// Overrides `deploy.worker_image`.
    #[arg(long)]
    pub worker_image: Option<String>,
    /// Overrides `deploy.work_pool`.
    #[arg(long)]
    pub work_pool: Option<String>,
    /// Overrides `deploy.prefect_api_url`. With `plan` and `apply`, also reads and creates or
    /// updates the work pool there (API key from PREFECT_API_KEY, never printed).
    #[arg(long)]
    pub prefect_api_url: Option<String>,
    /// Overrides `deploy.worker_prefect_api_url`: the Prefect API URL the worker task talks
    /// to, when it is not `--prefect-api-url` (a tunnel or loopback address the VPC cannot
    /// reach).
    #[arg(long)]
    pub worker_prefect_api_url: Option<String>,
    /// Overrides `deploy.api_key_parameter` (an SSM parameter ARN, never the key).
    #[arg(long)]
    pub api_key_parameter: Option<String>,
    /// Overrides `deploy.vpc_id` (the VPC of the subnets; prefect-aws needs it to use the
    /// work pool's network configuration).
    #[arg(long)]
    pub vpc_id: Option<String>,
    /// Overrides `deploy.api_key_kms_key` (the customer-managed KMS key of the API key
    /// parameter: the execution role gets `kms:Decrypt` on it, through SSM only).
    #[arg(long)]
    pub api_key_kms_key: Option<String>,
}

/// Artefact families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitFormat {
    /// Everything.
    All,
    /// AWS CLI `--cli-input-json` files and scripts.
    Cli,
    /// One CloudFormation template.
    Cloudformation,
    /// Terraform.
    Terraform,
}

fn wanted(path: &str, f: EmitFormat) -> bool {
    match f {
        EmitFormat::All => true,
        EmitFormat::Cli => {
            path.starts_with("cluster/")
                || path.starts_with("events/")
                || path.starts_with("worker/")
                || path.starts_with("iam/")
                || path.starts_with("prefect/")
                || path.starts_with("billing/")
        }
        EmitFormat::Cloudformation => {
            path == "cloudformation.json"
                || path.starts_with("prefect/")
                || path.starts_with("billing/")
        }
        EmitFormat::Terraform => {
            path.starts_with("terraform/")
                || path.starts_with("prefect/")
                || path.starts_with("billing/")
        }
    }
}

/// A recommendation file: the pool's strategy, the retry spec, the scenario path and each
/// deployment's own job variables (by flow).
/// What a `recommendation.json` gives `emit`, `plan` and `apply`.
struct RecommendationParts {
    strategy: Strategy,
    retry: String,
    /// The scenario file, resolved against the recommendation's directory.
    scenario: PathBuf,
    /// What it was computed from: the canonical hash and each section's, the region.
    canonical: Option<String>,
    sections: BTreeMap<String, String>,
    region: Option<String>,
    deployments: BTreeMap<String, serde_json::Value>,
    /// Deployments' own retry policies (per-deployment recommendations).
    deployment_retry: BTreeMap<String, RetryPolicy>,
    /// The pick's peak concurrent vCPU (`recommendation.concurrent_vcpu`; `None` from an
    /// older spotplan).
    quota_need: Option<crate::deploy::quotas::QuotaNeed>,
}

/// A capacity provider strategy from its ECS JSON, checked against ECS's rules.
fn strategy_items(items: &[serde_json::Value], what: &str) -> Result<Strategy, UserError> {
    let mut out = Vec::new();
    for (k, i) in items.iter().enumerate() {
        let name = i["capacityProvider"].as_str().unwrap_or("");
        let provider = Provider::from_ecs_name(name).ok_or_else(|| {
            UserError(format!(
                "{what}: strategy item {k}: provider `{name}` is not FARGATE or FARGATE_SPOT"
            ))
        })?;
        let weight =
            i["weight"].as_u64().filter(|w| *w <= 1000).ok_or_else(|| {
                UserError(format!("{what}: strategy item {k}: weight must be 0–1000"))
            })? as u32;
        let base = i["base"]
            .as_u64()
            .filter(|b| *b <= 100_000)
            .ok_or_else(|| UserError(format!("{what}: strategy item {k}: base must be 0–100000")))?
            as u32;
        out.push(StrategyItem {
            provider,
            weight,
            base,
        });
    }
    let s = Strategy { items: out };
    if s.items.is_empty()
        || s.items.len() > Strategy::MAX_ITEMS
        || s.total_weight() == 0
        || s.items.iter().filter(|i| i.base > 0).count() > 1
    {
        return Err(UserError(format!(
            "{what}: the strategy breaks the ECS rules (1–20 items, a weight above 0, at most one base)"
        )));
    }
    Ok(s)
}

/// Reads a recommendation file.
fn recommendation(path: &Path) -> Result<RecommendationParts, UserError> {
    let text = super::read_capped(path, super::MAX_DATA_BYTES)
        .map_err(|e| UserError(format!("cannot read `{}`: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| UserError(format!("`{}` is not JSON: {e}", path.display())))?;
    if v["format"] != "spotplan-recommendation/1" {
        return Err(UserError(format!(
            "`{}` is not a spotplan recommendation (format `spotplan-recommendation/1`)",
            path.display()
        )));
    }
    if v["current"]["keep"] == true {
        return Err(UserError(format!(
            "`{}` advises keeping your current configuration (the best change is not worth making): emit the scenario itself, or rerun `recommend` with a lower --materiality",
            path.display()
        )));
    }
    if v["partial"] == true {
        return Err(UserError(format!(
            "`{}` comes from an interrupted sweep (`partial: true`): its pick rests on part of the grid; run `spotplan recommend` to the end before deploying it",
            path.display()
        )));
    }
    let items = v["recommendation"]["ecs"]["capacityProviderStrategy"].as_array().ok_or_else(|| {
        UserError(format!("`{}` recommends nothing (no candidate met the objectives); there is no strategy to emit", path.display()))
    })?;
    let s = strategy_items(items, "the recommendation")?;
    let retry = v["recommendation"]["retry"]
        .as_str()
        .unwrap_or("prefect3")
        .to_string();
    // relative to the recommendation's own directory, never to the working directory
    let dir = path.parent().unwrap_or(Path::new(""));
    let scenario = dir.join(
        v["scenario_path"]
            .as_str()
            .or(v["meta"]["file"].as_str())
            .unwrap_or(""),
    );
    let sections = v["meta"]["scenario_sections"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, h)| (k.clone(), h.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut deployments = BTreeMap::new();
    let mut deployment_retry = BTreeMap::new();
    for d in v["recommendation"]["deployments"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let flow = d["flow"].as_str().unwrap_or_default().to_string();
        let jv = &d["job_variables"];
        let items = jv["capacity_provider_strategy"].as_array().ok_or_else(|| {
            UserError(format!(
                "`{}`: deployment `{flow}` has no job_variables.capacity_provider_strategy",
                path.display()
            ))
        })?;
        strategy_items(items, &format!("deployment `{flow}`"))?;
        if let Some(spec) = d["retry"].as_str() {
            let r = parse_retry_spec(spec).map_err(|m| {
                UserError(format!(
                    "`{}`: deployment `{flow}`'s retry policy: {m}",
                    path.display()
                ))
            })?;
            deployment_retry.insert(flow.clone(), r);
        }
        deployments.insert(flow, jv.clone());
    }
    Ok(RecommendationParts {
        strategy: s,
        retry,
        scenario,
        canonical: v["meta"]["scenario_canonical_hash"]
            .as_str()
            .map(str::to_string),
        sections,
        region: v["meta"]["region"].as_str().map(str::to_string),
        deployments,
        deployment_retry,
        quota_need: quota_need(&v["recommendation"]["concurrent_vcpu"]),
    })
}

/// The pick's vCPU at once from a recommendation's `concurrent_vcpu`.
fn quota_need(v: &serde_json::Value) -> Option<crate::deploy::quotas::QuotaNeed> {
    let f = |k: &str| v[k].as_f64().filter(|x| x.is_finite() && *x >= 0.0);
    Some(crate::deploy::quotas::QuotaNeed {
        fargate_vcpu: f("fargate_p99")?,
        worker_vcpu: f("worker")?,
        spot_vcpu: f("fargate_spot_p99")?,
        basis: "the p99 of the recommendation's replications' peaks".into(),
        stated: [None; 2],
    })
}

/// Refuses a scenario that is not the one the recommendation was computed from (its
/// canonical hash; comments and formatting do not count), naming the sections that differ,
/// unless `allow`.
fn check_binding(
    rec: &RecommendationParts,
    file: &Path,
    s: &crate::scenario::Scenario,
    allow: bool,
) -> Result<(), UserError> {
    let Some(want) = &rec.canonical else {
        return Err(UserError(format!(
            "`{}` records no scenario hash (written by an older spotplan): rerun `spotplan recommend`",
            file.display()
        )));
    };
    if *want == s.source.canonical || allow {
        return Ok(());
    }
    let mut what = crate::scenario::canonical::differing(&rec.sections, &s.source.sections);
    if rec.region.as_deref().is_some_and(|r| r != s.region) && !what.contains(&"region".into()) {
        what.push("region".into());
    }
    Err(UserError(format!(
        "`{}` was computed from another version of `{}` (sections that differ: {}): rerun `spotplan recommend` on it, or pass --allow-changed-scenario to deploy the recommendation anyway",
        file.display(),
        s.source.file,
        if what.is_empty() {
            "none recorded".to_string()
        } else {
            what.join(", ")
        }
    )))
}

/// The recommendation's deployments' own job variables: each named flow must be the
/// scenario's.
fn deployment_overrides(
    s: &crate::scenario::Scenario,
    m: BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, serde_json::Value>, UserError> {
    if let Some(f) = m.keys().find(|f| !s.flows.iter().any(|x| &x.name == *f)) {
        return Err(UserError(format!(
            "the recommendation gives deployment `{f}` its own strategy, but the scenario has no flow of that name"
        )));
    }
    Ok(m)
}

/// Loads the scenario and the choice, merges the flags into `[deploy]` and checks it;
/// `region` is the account's (`plan`/`apply --region`), else the scenario's.
pub(crate) fn prepare(
    a: &Target,
    region: Option<&str>,
) -> anyhow::Result<(
    crate::scenario::Scenario,
    crate::deploy::inputs::DeployInputs,
    Choice,
)> {
    let is_rec = a.file.extension().is_some_and(|e| e == "json");
    let rec = if is_rec {
        Some(recommendation(&a.file)?)
    } else {
        None
    };
    let scenario_path = match &rec {
        Some(r) => a.scenario.clone().unwrap_or_else(|| r.scenario.clone()),
        None => a.file.clone(),
    };
    let s = super::load_scenario(&scenario_path)?;
    if let Some(r) = &rec {
        check_binding(r, &a.file, &s, a.allow_changed_scenario)?;
    }
    let from_rec = rec.as_ref().map(|r| {
        (
            r.strategy.clone(),
            r.retry.clone(),
            r.deployment_retry.clone(),
            r.quota_need.clone(),
        )
    });
    let choice = match from_rec {
        Some((strategy, retry, deployment_retry, need)) => Choice {
            strategy,
            retry: parse_retry_spec(&retry)
                .map_err(|m| UserError(format!("the recommendation's retry policy: {m}")))?,
            origin: format!("recommendation {}", a.file.display()),
            deployments: deployment_overrides(&s, rec.map(|r| r.deployments).unwrap_or_default())?,
            deployment_retry,
            quota_need: need,
        },
        None => Choice::of_scenario(&s, format!("scenario {}", a.file.display())),
    };
    if let Some(f) = s
        .flows
        .iter()
        .find(|f| f.size.os == crate::model::OperatingSystem::Windows)
    {
        return Err(UserError(format!(
            "flow `{}` runs on Windows; the emitted task definitions and work pool are for Linux tasks only",
            f.name
        ))
        .into());
    }
    let mut d = s.deploy_section.clone();
    macro_rules! flag {
        ($f:ident) => {
            if let Some(v) = &a.$f {
                d.$f = Some(v.clone());
            }
        };
    }
    flag!(account_id);
    flag!(subnets);
    flag!(security_groups);
    flag!(worker_image);
    flag!(work_pool);
    flag!(prefect_api_url);
    flag!(worker_prefect_api_url);
    flag!(api_key_parameter);
    flag!(vpc_id);
    flag!(api_key_kms_key);
    let inputs = inputs(&d, region.unwrap_or(&s.region), &s.cluster.name, &s.network)
        .map_err(|errs| UserError(errs.join("\nerror: ")))?;
    for n in &inputs.notes {
        eprintln!("note: {n}");
    }
    Ok((s, inputs, choice))
}

pub(crate) fn run(a: EmitArgs) -> anyhow::Result<Outcome> {
    super::output::check_dir_writable(&a.out)?;
    let (s, inputs, choice) = prepare(&a.target, None)?;
    let files = artefacts(&s, &inputs, &choice);
    // every file, or none
    let mut staged = super::output::Outputs::new();
    for (path, body) in files.iter().filter(|(p, _)| wanted(p, a.format)) {
        let p = a.out.join(path);
        if path.ends_with(".sh") {
            staged.add_script(&p, body)?;
        } else {
            staged.add(&p, body)?;
        }
    }
    let written = staged.commit()?;
    for p in &written {
        outln!("wrote {}", p.display());
    }
    let written = written.len();
    eprintln!(
        "{written} files for strategy {} and retry {} ({})",
        choice.strategy,
        retry_spec(&choice.retry),
        choice.origin
    );
    if files.iter().any(|(p, _)| p == "billing/compare.sh") {
        eprintln!("{}", crate::deploy::emit::BILLING_NOTE);
    }
    Ok(Outcome::Done)
}
