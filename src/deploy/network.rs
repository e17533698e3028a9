//! The network as deployed against the network as priced: `plan` reads the subnets, security
//! groups, route tables and VPC endpoints (EC2 DescribeSubnets, DescribeSecurityGroups,
//! DescribeRouteTables, DescribeVpcEndpoints) and says where they differ from the scenario's
//! `[network]`. A subnet or security group that does not exist or lies in another VPC makes
//! every task fail to start: `apply` refuses. A route that does not match the priced egress
//! (no internet gateway for `public-ip`, no NAT gateway for `nat`, a missing S3 gateway route or
//! endpoint that was priced) means runs that cannot pull their image or a bill other than the
//! one shown: a `!` item. Pure; the reading is `aws::ec2`'s.

use serde::Serialize;

use super::diff::{Change, Step};
use crate::scenario::{Egress, NetworkSpec};

/// What the scenario priced, and the network inputs it is deployed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkWant {
    /// The region.
    pub region: String,
    /// `deploy.vpc_id`.
    pub vpc_id: String,
    /// The subnets.
    pub subnets: Vec<String>,
    /// The security groups.
    pub security_groups: Vec<String>,
    /// `public-ip`, `nat` or `vpc-endpoints`.
    pub egress: String,
    /// Whether `[network]` states it (else Prefect's default, public IPs, was priced).
    pub stated: bool,
    /// An S3 gateway endpoint was priced.
    pub s3_gateway: bool,
    /// Interface endpoints priced (service suffixes: `ecr.api`, `logs`…).
    pub endpoints: Vec<String>,
    /// `[network] azs`, when stated.
    pub azs: Option<u32>,
}

impl NetworkWant {
    /// From the scenario's network and the deploy inputs.
    pub fn of(
        n: &NetworkSpec,
        region: &str,
        vpc_id: &str,
        subnets: &[String],
        security_groups: &[String],
        api_key_parameter: &str,
    ) -> NetworkWant {
        let (s3_gateway, endpoints): (bool, Vec<String>) = match n.egress {
            Egress::PublicIp => (false, Vec::new()),
            Egress::Nat {
                s3_gateway,
                ecr_endpoint_azs,
                ..
            } => (
                s3_gateway,
                if ecr_endpoint_azs > 0 {
                    vec!["ecr.api".into(), "ecr.dkr".into()]
                } else {
                    Vec::new()
                },
            ),
            Egress::VpcEndpoints { .. } => (
                true,
                crate::scenario::network::private_endpoints(Some(api_key_parameter))
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            ),
        };
        NetworkWant {
            region: region.to_string(),
            vpc_id: vpc_id.to_string(),
            subnets: subnets.to_vec(),
            security_groups: security_groups.to_vec(),
            egress: n.egress.name().to_string(),
            stated: n.stated,
            s3_gateway,
            endpoints,
            azs: n.azs,
        }
    }
}

/// One subnet as EC2 describes it, with the routes of its route table (its own, else the
/// VPC's main one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SubnetSeen {
    /// Id.
    pub id: String,
    /// Its VPC.
    pub vpc: String,
    /// Its Availability Zone.
    pub az: String,
    /// The target of its `0.0.0.0/0` route (`igw-…`, `nat-…`, …), if any.
    pub default_route: Option<String>,
    /// Whether it routes a prefix list to a VPC endpoint (the S3 gateway endpoint's route).
    pub endpoint_route: bool,
}

/// What EC2 holds of the network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NetworkSeen {
    /// The subnets found (a missing one is absent).
    pub subnets: Vec<SubnetSeen>,
    /// The security groups found: (id, VPC).
    pub security_groups: Vec<(String, String)>,
    /// The VPC's endpoints that are available: (service name, type).
    pub endpoints: Vec<(String, String)>,
}

/// The check's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkCheck {
    /// `= network vpc-…` with what was checked, or `!` with what differs.
    pub step: Step,
    /// Why `apply` must not run: every task would fail to start.
    pub refused: Option<String>,
}

/// Checks `seen` against `want`.
pub fn check(want: &NetworkWant, seen: &NetworkSeen) -> NetworkCheck {
    let region = want.region.as_str();
    let mut fatal = Vec::new();
    let mut problems: Vec<Change> = Vec::new();
    let mut facts = Vec::new();
    let problem = |field: &str, what: String| Change {
        field: field.to_string(),
        old: String::new(),
        new: what,
    };
    for id in &want.subnets {
        match seen.subnets.iter().find(|s| &s.id == id) {
            None => fatal.push(format!("subnet {id} does not exist in {region}")),
            Some(s) if s.vpc != want.vpc_id => fatal.push(format!(
                "subnet {id} is in {}, not in deploy.vpc_id {}",
                s.vpc, want.vpc_id
            )),
            Some(_) => {}
        }
    }
    for id in &want.security_groups {
        match seen.security_groups.iter().find(|(g, _)| g == id) {
            None => fatal.push(format!("security group {id} does not exist in {region}")),
            Some((_, vpc)) if *vpc != want.vpc_id => fatal.push(format!(
                "security group {id} is in {vpc}, not in deploy.vpc_id {}",
                want.vpc_id
            )),
            Some(_) => {}
        }
    }
    let priced = if want.stated {
        format!("[network] egress = \"{}\"", want.egress)
    } else {
        "no [network] section: Prefect's default, public IPs".to_string()
    };
    let subnets: Vec<&SubnetSeen> = want
        .subnets
        .iter()
        .filter_map(|id| seen.subnets.iter().find(|s| &s.id == id))
        .collect();
    for s in &subnets {
        let route = s.default_route.as_deref();
        let shown = route.unwrap_or("none");
        let ok = match want.egress.as_str() {
            "public-ip" => route.is_some_and(|r| r.starts_with("igw-")),
            "nat" => route.is_some_and(|r| r.starts_with("nat-")),
            _ => true,
        };
        if !ok {
            let (needs, then) = if want.egress == "public-ip" {
                (
                    "an internet gateway",
                    "tasks with public IPs cannot pull images or reach the Prefect API",
                )
            } else {
                (
                    "a NAT gateway",
                    "tasks in private subnets cannot pull images or reach the Prefect API",
                )
            };
            problems.push(problem(
                &s.id,
                format!(
                    "0.0.0.0/0 → {shown}, but the bill was priced with {priced}, which needs a route to {needs}: {then}; fix the route table or state the egress this subnet has"
                ),
            ));
        }
        if want.s3_gateway && !s.endpoint_route {
            problems.push(problem(
                &s.id,
                format!(
                    "no route to an S3 gateway endpoint, which the bill was priced with: image layers go through the {} at its per-GB charge",
                    if want.egress == "nat" { "NAT gateway" } else { "missing route (and fail)" }
                ),
            ));
        }
        facts.push(format!(
            "subnet {} in {}: 0.0.0.0/0 → {shown}{}",
            s.id,
            s.az,
            if s.endpoint_route {
                ", S3 gateway route"
            } else {
                ""
            }
        ));
    }
    let has_endpoint = |svc: &str, kind: &str| {
        let name = format!("com.amazonaws.{region}.{svc}");
        seen.endpoints
            .iter()
            .any(|(n, t)| *n == name && t.eq_ignore_ascii_case(kind))
    };
    if want.s3_gateway && !has_endpoint("s3", "gateway") {
        problems.push(problem(
            &want.vpc_id,
            format!(
                "no S3 gateway endpoint (com.amazonaws.{region}.s3), which the bill was priced with"
            ),
        ));
    }
    let missing: Vec<&str> = want
        .endpoints
        .iter()
        .filter(|e| !has_endpoint(e, "interface"))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        problems.push(problem(
            &want.vpc_id,
            format!(
                "no interface endpoint for {}, which the bill was priced with{}",
                missing.join(", "),
                if want.egress == "vpc-endpoints" {
                    ": without the internet, those calls fail"
                } else {
                    ""
                }
            ),
        ));
    }
    let mut azs: Vec<&str> = subnets.iter().map(|s| s.az.as_str()).collect();
    azs.sort_unstable();
    azs.dedup();
    if azs.len() == 1 {
        problems.push(problem(
            "availability zones",
            format!(
                "every subnet is in {}: when that zone has no Fargate (Spot) capacity or fails, no run starts; add a subnet in another zone",
                azs[0]
            ),
        ));
    }
    if let Some(n) = want
        .azs
        .filter(|n| azs.len() > 1 && *n as usize != azs.len())
    {
        problems.push(problem(
            "availability zones",
            format!(
                "the subnets span {} zones, but [network] azs = {n} was priced (NAT gateways and endpoints are billed per zone)",
                azs.len()
            ),
        ));
    }
    let refused = (!fatal.is_empty()).then(|| {
        format!(
            "{}: every task would fail to start; fix deploy.subnets, deploy.security_groups or deploy.vpc_id",
            fatal.join("; ")
        )
    });
    for f in &fatal {
        problems.insert(0, problem("refused", f.clone()));
    }
    NetworkCheck {
        step: Step::check(
            "network",
            format!("{} (priced: {})", want.vpc_id, want.egress),
            problems,
            facts,
        ),
        refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::diff::Action;

    fn want(egress: &str, s3: bool) -> NetworkWant {
        NetworkWant {
            region: "eu-west-1".into(),
            vpc_id: "vpc-1".into(),
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            security_groups: vec!["sg-1".into()],
            egress: egress.into(),
            stated: true,
            s3_gateway: s3,
            endpoints: Vec::new(),
            azs: None,
        }
    }

    fn subnet(id: &str, az: &str, route: &str, s3: bool) -> SubnetSeen {
        SubnetSeen {
            id: id.into(),
            vpc: "vpc-1".into(),
            az: az.into(),
            default_route: Some(route.into()),
            endpoint_route: s3,
        }
    }

    fn seen(subnets: Vec<SubnetSeen>, s3: bool) -> NetworkSeen {
        NetworkSeen {
            subnets,
            security_groups: vec![("sg-1".into(), "vpc-1".into())],
            endpoints: if s3 {
                vec![("com.amazonaws.eu-west-1.s3".into(), "Gateway".into())]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn routes_as_priced_pass_and_each_mismatch_is_named() {
        let ok = seen(
            vec![
                subnet("subnet-a", "eu-west-1a", "nat-1", true),
                subnet("subnet-b", "eu-west-1b", "nat-2", true),
            ],
            true,
        );
        let c = check(&want("nat", true), &ok);
        assert_eq!(c.step.action, Action::Unchanged, "{}", c.step);
        assert!(c.refused.is_none());
        // priced for public IPs, deployed behind a NAT
        let c = check(&want("public-ip", false), &ok);
        assert_eq!(c.step.action, Action::Missing);
        assert_eq!(c.step.changes.len(), 2, "{}", c.step);
        assert!(c.step.to_string().contains("0.0.0.0/0 → nat-1, but the bill was priced with [network] egress = \"public-ip\", which needs a route to an internet gateway"), "{}", c.step);
        // an S3 gateway priced and missing
        let bare = seen(
            vec![
                subnet("subnet-a", "eu-west-1a", "nat-1", false),
                subnet("subnet-b", "eu-west-1b", "nat-2", false),
            ],
            false,
        );
        let c = check(&want("nat", true), &bare);
        assert_eq!(c.step.changes.len(), 3, "{}", c.step);
        // one zone
        let one = seen(
            vec![
                subnet("subnet-a", "eu-west-1a", "igw-1", false),
                subnet("subnet-b", "eu-west-1a", "igw-1", false),
            ],
            false,
        );
        let c = check(&want("public-ip", false), &one);
        assert!(
            c.step.to_string().contains("every subnet is in eu-west-1a"),
            "{}",
            c.step
        );
    }

    #[test]
    fn a_subnet_or_group_missing_or_in_another_vpc_refuses() {
        let mut s = seen(
            vec![subnet("subnet-a", "eu-west-1a", "igw-1", false)],
            false,
        );
        s.security_groups = vec![("sg-1".into(), "vpc-2".into())];
        let c = check(&want("public-ip", false), &s);
        let why = c.refused.expect("refused");
        assert!(
            why.contains("subnet subnet-b does not exist in eu-west-1"),
            "{why}"
        );
        assert!(
            why.contains("security group sg-1 is in vpc-2, not in deploy.vpc_id vpc-1"),
            "{why}"
        );
    }
}
