//! What spotplan cannot know about the account (`[deploy]` or flags), checked for shape.

use serde::Serialize;

use crate::scenario::file::DeploySection;

/// Validated deploy inputs. Everything `emit` writes is derived from these and the scenario.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeployInputs {
    /// 12-digit account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Subnets (≥ 1).
    pub subnets: Vec<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// Public IPs for tasks: as the network was priced (`[network] egress`).
    pub assign_public_ip: bool,
    /// What the inputs rest on that the scenario does not say, in words (printed by `emit`,
    /// `plan` and `apply`).
    pub notes: Vec<String>,
    /// The KMS key of the API key parameter, when customer-managed.
    pub api_key_kms_key: Option<String>,
    /// VPC of the subnets (prefect-aws refuses a work pool network configuration without it).
    pub vpc_id: String,
    /// Worker image.
    pub worker_image: String,
    /// Flow-run image.
    pub flow_image: Option<String>,
    /// Work pool name.
    pub work_pool: String,
    /// Prefect API URL.
    pub prefect_api_url: String,
    /// The Prefect API URL the worker talks to (`deploy.worker_prefect_api_url`, else
    /// `prefect_api_url`), without a trailing slash.
    pub worker_prefect_api_url: String,
    /// SSM parameter ARN of the API key.
    pub api_key_parameter: String,
    /// Existing execution role.
    pub execution_role_arn: Option<String>,
    /// Existing worker task role.
    pub task_role_arn: Option<String>,
    /// Flow-run task role.
    pub flow_task_role_arn: Option<String>,
    /// Flow-run execution role.
    pub flow_execution_role_arn: Option<String>,
    /// Log group.
    pub log_group: String,
    /// Service name.
    pub service_name: String,
    /// The Fargate On-Demand and Spot vCPU quotas `[deploy]` states, vCPU.
    pub vcpu_quotas: [Option<f64>; 2],
}

fn hex_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| {
        (h.len() == 8 || h.len() == 17)
            && h.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

fn account(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

/// `arn:aws:iam::<account>:role/<path/name>`.
pub fn is_role_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:aws:iam::") else {
        return false;
    };
    let Some((acct, res)) = rest.split_once(':') else {
        return false;
    };
    account(acct)
        && res.strip_prefix("role/").is_some_and(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
        })
}

/// `arn:aws:ssm:<region>:<account>:parameter/<name>`.
pub fn is_ssm_parameter_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1] == "aws"
        && parts[2] == "ssm"
        && !parts[3].is_empty()
        && account(parts[4])
        && parts[5]
            .strip_prefix("parameter/")
            .is_some_and(|n| !n.is_empty())
}

/// Whether tasks get a public IP: what the bill was priced with. `[network] egress =
/// "public-ip"` (or no `[network]`: the Prefect ECS worker's default, `assignPublicIp:
/// ENABLED`) is priced with a public IPv4 address on every task and the worker; `nat` and
/// `vpc-endpoints` without. A `deploy.assign_public_ip` that contradicts it is refused: in a
/// public subnet without NAT a task without a public IP cannot pull its image or reach Prefect,
/// and one with it pays a charge that was not priced. Returns the value and, when the scenario
/// did not state its network, the note to print.
fn public_ip(
    stated: Option<bool>,
    network: &crate::scenario::NetworkSpec,
) -> Result<(bool, Option<String>), String> {
    let priced = matches!(network.egress, crate::scenario::Egress::PublicIp);
    match stated {
        Some(v) if v != priced => Err(format!(
            "`deploy.assign_public_ip = {v}` contradicts the network the bill was priced with ({}): {}",
            if network.stated {
                format!("[network] egress = \"{}\"", network.egress.name())
            } else {
                "no [network] section: Prefect's default, public IPs".to_string()
            },
            if priced {
                "state [network] egress = \"nat\" or \"vpc-endpoints\" if the subnets are private, or leave assign_public_ip out"
            } else {
                "tasks behind a NAT or endpoints need no public IP: leave assign_public_ip out, or state [network] egress = \"public-ip\""
            }
        )),
        _ => Ok((
            priced,
            (!network.stated).then(|| {
                "assignPublicIp ENABLED: the scenario has no [network] section, so it was priced \
                 as Prefect's default (public subnets, a public IPv4 address per task and worker); \
                 state [network] egress if your subnets are private"
                    .to_string()
            }),
        )),
    }
}

/// Builds the inputs from `[deploy]` (flags already merged into it) and the network the bill
/// was priced with; every problem at once.
pub fn inputs(
    d: &DeploySection,
    region: &str,
    cluster: &str,
    network: &crate::scenario::NetworkSpec,
) -> Result<DeployInputs, Vec<String>> {
    let mut errs = Vec::new();
    let mut need = |name: &str, v: &Option<String>| -> String {
        match v {
            Some(x) if !x.trim().is_empty() => x.trim().to_string(),
            _ => {
                errs.push(format!(
                    "`deploy.{name}` is needed (in the scenario's [deploy] or as --{})",
                    name.replace('_', "-")
                ));
                String::new()
            }
        }
    };
    let account_id = need("account_id", &d.account_id);
    let prefect_api_url = need("prefect_api_url", &d.prefect_api_url);
    let api_key_parameter = need("api_key_parameter", &d.api_key_parameter);
    // prefect-aws's ECSJobConfiguration refuses a network configuration without a VPC
    // ("You must provide a `vpc_id` to enable custom `network_configuration`"), and every
    // flow run would fail
    let vpc_id = need("vpc_id", &d.vpc_id);
    if !account_id.is_empty() && !account(&account_id) {
        errs.push(format!(
            "`deploy.account_id`: {} is not a 12-digit AWS account id",
            unshown(&account_id)
        ));
    }
    let subnets = d.subnets.clone().unwrap_or_default();
    if subnets.is_empty() {
        errs.push("`deploy.subnets` is needed (awsvpc tasks need at least one subnet), e.g. [\"subnet-0abc1234\"]".into());
    }
    for s in &subnets {
        if !hex_id(s, "subnet-") {
            errs.push(format!("`deploy.subnets`: {} is not a subnet id (`subnet-` and 8 or 17 lowercase hex digits)", unshown(s)));
        }
    }
    let security_groups = d.security_groups.clone().unwrap_or_default();
    for s in &security_groups {
        if !hex_id(s, "sg-") {
            errs.push(format!("`deploy.security_groups`: {} is not a security group id (`sg-` and 8 or 17 lowercase hex digits)", unshown(s)));
        }
    }
    if !vpc_id.is_empty() && !hex_id(&vpc_id, "vpc-") {
        errs.push(format!(
            "`deploy.vpc_id`: {} is not a VPC id (`vpc-` and 8 or 17 lowercase hex digits)",
            unshown(&vpc_id)
        ));
    }
    if let Some(k) = &d.api_key_kms_key
        && !(k.starts_with("arn:aws:kms:") && k.contains(":key/"))
    {
        errs.push(format!(
            "`deploy.api_key_kms_key`: {} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
            unshown(k)
        ));
    }
    let is_url = prefect_api_url.starts_with("https://") || prefect_api_url.starts_with("http://");
    if !(prefect_api_url.is_empty() || is_url) {
        errs.push(format!(
            "`deploy.prefect_api_url`: {} is not an http(s) URL",
            unshown(&prefect_api_url)
        ));
    }
    if !api_key_parameter.is_empty() && !is_ssm_parameter_arn(&api_key_parameter) {
        // the value is not echoed: what lands here by mistake is often the key itself
        errs.push(format!(
            "`deploy.api_key_parameter`: the value given ({} characters, not shown: it may be a secret) is not an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>); the key itself never goes in a file or a flag",
            api_key_parameter.chars().count()
        ));
    }
    for (name, v) in [
        ("execution_role_arn", &d.execution_role_arn),
        ("task_role_arn", &d.task_role_arn),
        ("flow_task_role_arn", &d.flow_task_role_arn),
        ("flow_execution_role_arn", &d.flow_execution_role_arn),
    ] {
        if let Some(r) = v
            && !is_role_arn(r)
        {
            errs.push(format!(
                "`deploy.{name}`: {} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
                unshown(r)
            ));
        }
    }
    let image = d
        .worker_image
        .clone()
        .unwrap_or_else(|| crate::scenario::file::DEFAULT_WORKER_IMAGE.into());
    if image.is_empty() || image.contains(char::is_whitespace) {
        errs.push(format!(
            "`deploy.worker_image`: `{image}` is not an image reference"
        ));
    }
    let work_pool = d.work_pool.clone().unwrap_or_else(|| "ecs-pool".into());
    if work_pool.is_empty()
        || !work_pool
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        errs.push(format!(
            "`deploy.work_pool`: `{work_pool}` must be letters, digits, `-` or `_`"
        ));
    }
    // the worker's own URL: stated apart from the operator's (which may be a tunnel), without
    // a trailing slash (one would register a new task definition for nothing)
    let worker_prefect_api_url = d
        .worker_prefect_api_url
        .as_deref()
        .map(str::trim)
        .unwrap_or(&prefect_api_url)
        .trim_end_matches('/')
        .to_string();
    if d.worker_prefect_api_url.is_some()
        && !(worker_prefect_api_url.starts_with("https://")
            || worker_prefect_api_url.starts_with("http://"))
    {
        errs.push(format!(
            "`deploy.worker_prefect_api_url`: {} is not an http(s) URL",
            unshown(&worker_prefect_api_url)
        ));
    }
    let mut notes = Vec::new();
    if loopback(&worker_prefect_api_url) {
        notes.push(format!(
            "the worker's PREFECT_API_URL {worker_prefect_api_url} is a loopback address: a worker task in the VPC cannot reach it; give the URL the VPC reaches as deploy.worker_prefect_api_url (--worker-prefect-api-url)"
        ));
    }
    if d.worker_image.is_none() {
        notes.push(format!(
            "worker image {image}: spotplan's default, the prefect-aws version it is tested with (pinned, not :latest); state deploy.worker_image (--worker-image) to run another"
        ));
    }
    for (key, v) in [
        ("fargate_vcpu_quota", d.fargate_vcpu_quota),
        ("fargate_spot_vcpu_quota", d.fargate_spot_vcpu_quota),
    ] {
        if v.is_some_and(|v| !(v.is_finite() && v > 0.0 && v <= 1e6)) {
            errs.push(format!(
                "`deploy.{key}`: a quota is a number of vCPU above 0 and at most 1000000"
            ));
        }
    }
    let (assign_public_ip, public_ip_note) = match public_ip(d.assign_public_ip, network) {
        Ok(v) => v,
        Err(e) => {
            errs.push(e);
            (false, None)
        }
    };
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(DeployInputs {
        notes: public_ip_note.into_iter().chain(notes).collect(),
        account_id,
        region: region.to_string(),
        subnets,
        security_groups,
        assign_public_ip,
        vpc_id,
        api_key_kms_key: d.api_key_kms_key.clone(),
        worker_image: image,
        flow_image: d.flow_image.clone(),
        work_pool,
        prefect_api_url,
        worker_prefect_api_url,
        api_key_parameter,
        execution_role_arn: d.execution_role_arn.clone(),
        task_role_arn: d.task_role_arn.clone(),
        flow_task_role_arn: d.flow_task_role_arn.clone(),
        flow_execution_role_arn: d.flow_execution_role_arn.clone(),
        log_group: d
            .log_group
            .clone()
            .unwrap_or_else(|| format!("/ecs/{cluster}/prefect-worker")),
        service_name: d
            .service_name
            .clone()
            .unwrap_or_else(|| "prefect-worker".into()),
        vcpu_quotas: [d.fargate_vcpu_quota, d.fargate_spot_vcpu_quota],
    })
}

/// A value that failed validation, in words that never show it (it may be a secret put in
/// the wrong place): its length only.
fn unshown(v: &str) -> String {
    format!(
        "the value given ({} characters, not shown)",
        v.chars().count()
    )
}

/// Whether `url`'s host is a loopback address (`localhost`, 127.0.0.0/8, `::1`) or
/// `0.0.0.0`.
fn loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host == "0.0.0.0"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_get_a_public_ip_exactly_when_the_bill_was_priced_with_one() {
        use crate::scenario::{Egress, NetworkSpec};
        let net = |egress, stated| NetworkSpec {
            egress,
            stated,
            public_ipv4_hour: 0.005,
            nat_usd_per_hour: 0.0,
            endpoints_usd_per_hour: 0.0,
            per_gb: 0.0,
            internet: None,
            azs: None,
            pull_limit: None,
        };
        let nat = net(
            Egress::Nat {
                gateways: 1,
                s3_gateway: false,
                ecr_endpoint_azs: 0,
            },
            true,
        );
        assert_eq!(public_ip(None, &nat), Ok((false, None)));
        assert_eq!(public_ip(Some(false), &nat), Ok((false, None)));
        let e = public_ip(Some(true), &nat).unwrap_err();
        assert!(
            e.contains("contradicts") && e.contains("egress = \"nat\""),
            "{e}"
        );
        assert_eq!(
            public_ip(None, &net(Egress::PublicIp, true)),
            Ok((true, None))
        );
        // Prefect's default, assumed: public, and said
        let (v, note) = public_ip(None, &net(Egress::PublicIp, false)).unwrap();
        assert!(v && note.unwrap().contains("no [network] section"));
        let e = public_ip(Some(false), &net(Egress::PublicIp, false)).unwrap_err();
        assert!(e.contains("Prefect's default"), "{e}");
    }

    #[test]
    fn shapes() {
        assert!(hex_id("subnet-0abc1234", "subnet-"));
        assert!(hex_id("subnet-0123456789abcdef0", "subnet-"));
        assert!(!hex_id("subnet-0ABC1234", "subnet-"));
        assert!(!hex_id("subnet-0abc123", "subnet-"));
        assert!(is_role_arn(
            "arn:aws:iam::111122223333:role/service-role/ecsTaskExecutionRole"
        ));
        assert!(!is_role_arn("arn:aws:iam::1111:role/x"));
        assert!(!is_role_arn("arn:aws:iam::111122223333:user/x"));
        assert!(is_ssm_parameter_arn(
            "arn:aws:ssm:us-east-1:111122223333:parameter/prefect/api-key"
        ));
        assert!(!is_ssm_parameter_arn(
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:x"
        ));
    }

    #[test]
    fn loopback_hosts_are_told_apart() {
        for u in [
            "http://localhost:4200/api",
            "http://127.0.0.1:4200/api",
            "http://127.8.0.1/api",
            "http://[::1]:4200/api",
            "http://0.0.0.0:4200",
            "http://user@LOCALHOST/api",
            "http://api.localhost/",
        ] {
            assert!(super::loopback(u), "{u}");
        }
        for u in [
            "https://api.prefect.cloud/api/accounts/a/workspaces/b",
            "http://10.0.0.5:4200/api",
            "http://localhost.example.com/api",
            "http://[fd00::1]:4200/api",
        ] {
            assert!(!super::loopback(u), "{u}");
        }
    }
}
