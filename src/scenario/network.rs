//! How flow-run tasks and the worker reach ECR, logs and the Prefect API; what each way costs
//! per hour and per GB; and the other ways the same platform could be wired, each priced on
//! the same rates so that the same simulated runs can be billed again under it.
//!
//! Sources (domain facts §6.5): the public IPv4 charge (AWS, "New AWS Public IPv4 Address
//! Charge", from 2024-02-01) on every address while it exists; NAT gateways billed per hour and
//! per GB processed; interface endpoints per AZ-hour; ECR keeps image layers in S3, so a free S3
//! gateway endpoint takes same-region ECR layer downloads off the NAT (ECR user guide,
//! "Amazon ECR interface VPC endpoints": the S3 gateway endpoint is needed for layers), while
//! images from Docker Hub or another region still cross the NAT. Per-GB charges of interface
//! endpoints (API calls, logs) and NAT bytes other than image layers are not metered.

use serde::Serialize;

use crate::pricing::RegionRates;

/// Where a deployment's image comes from: it decides whether an S3 gateway endpoint takes its
/// layers off the NAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageRegistry {
    /// Amazon ECR in the scenario's region: layers come from S3.
    Ecr,
    /// Docker Hub, another registry or another region's ECR: layers cross the NAT.
    Other,
}

impl ImageRegistry {
    /// The file name.
    pub fn name(self) -> &'static str {
        match self {
            ImageRegistry::Ecr => "ecr",
            ImageRegistry::Other => "other",
        }
    }

    /// Reads an image reference: `<account>.dkr.ecr.<region>.amazonaws.com/…` in `region` is
    /// ECR, anything else is not.
    pub fn of_image(image: &str, region: &str) -> ImageRegistry {
        let host = image.split('/').next().unwrap_or("");
        if image.contains('/') && host.ends_with(&format!(".dkr.ecr.{region}.amazonaws.com")) {
            ImageRegistry::Ecr
        } else {
            ImageRegistry::Other
        }
    }
}

/// How tasks reach ECR, logs and the Prefect API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Egress {
    /// Public subnets with `assignPublicIp: ENABLED` (the Prefect worker's default): each
    /// task and each worker holds a public IPv4 address while it runs.
    PublicIp,
    /// Private subnets behind NAT gateways: gateway hours and every image pull's bytes.
    Nat {
        /// Gateways billed over the horizon.
        gateways: u32,
        /// A (free) S3 gateway endpoint: same-region ECR layer pulls bypass the NAT.
        s3_gateway: bool,
        /// `ecr.api` and `ecr.dkr` interface endpoints in this many AZs (0: none).
        ecr_endpoint_azs: u32,
    },
    /// Private subnets without a NAT: interface endpoints (per AZ-hour) and the S3 gateway
    /// endpoint (image layers at no data charge); nothing reaches the internet.
    VpcEndpoints {
        /// Interface endpoints.
        endpoints: u32,
        /// AZs each spans.
        azs: u32,
    },
}

impl Egress {
    /// The file name.
    pub fn name(self) -> &'static str {
        match self {
            Egress::PublicIp => "public-ip",
            Egress::Nat { .. } => "nat",
            Egress::VpcEndpoints { .. } => "vpc-endpoints",
        }
    }
}

/// The interface endpoints (service suffixes) a platform without internet access needs:
/// [`PRIVATE_ENDPOINTS`] and the secret store of the API key (`api_key_parameter`'s ARN:
/// Secrets Manager, else SSM).
pub fn private_endpoints(api_key_parameter: Option<&str>) -> Vec<&'static str> {
    let secrets = match api_key_parameter {
        Some(arn) if arn.contains(":secretsmanager:") => "secretsmanager",
        _ => "ssm",
    };
    PRIVATE_ENDPOINTS
        .iter()
        .map(|e| e.0)
        .chain([secrets])
        .collect()
}

/// The interface endpoints a platform without internet access needs, from what the worker and
/// the flow-run tasks call, with why (the S3 gateway endpoint comes with them, free).
pub const PRIVATE_ENDPOINTS: [(&str, &str); 5] = [
    ("ecs", "the worker's RunTask, DescribeTasks and StopTask"),
    ("ecr.api", "image manifests and authorisation"),
    ("ecr.dkr", "the Docker registry API of image pulls"),
    (
        "logs",
        "the awslogs driver of the worker and every flow run",
    ),
    (
        "sqs",
        "prefect-aws's ECS observer, which the worker always starts",
    ),
];

/// `[network]`, with its rates resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetworkSpec {
    /// How tasks reach the internet.
    pub egress: Egress,
    /// Whether the scenario has a `[network]` section (else Prefect's default is assumed).
    pub stated: bool,
    /// USD per public IPv4 address-hour (0 unless `PublicIp`).
    pub public_ipv4_hour: f64,
    /// USD per hour of the NAT gateways over the horizon.
    pub nat_usd_per_hour: f64,
    /// USD per hour of the interface endpoints over the horizon.
    pub endpoints_usd_per_hour: f64,
    /// USD per GB of image pulled through a NAT gateway (0 unless `Nat`).
    pub per_gb: f64,
    /// `[network] internet`: whether flows or the worker need the internet (`Some(false)`:
    /// nothing does and the Prefect API is reachable privately); `None`: not said.
    pub internet: Option<bool>,
    /// `[network] azs`: the AZs the subnets span, if said.
    pub azs: Option<u32>,
    /// `[network] pull_limit`: pulls per hour per NAT address of images from outside ECR.
    pub pull_limit: Option<u32>,
}

/// What a replication's tasks and workers used of the network, whatever the egress.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NetworkUsage {
    /// Hours the flow-run tasks held an ENI (placed to stopped).
    pub task_hours: f64,
    /// Worker-hours over the horizon.
    pub worker_hours: f64,
    /// The horizon, hours.
    pub horizon_hours: f64,
    /// Image GB pulled from this region's ECR.
    pub ecr_gb: f64,
    /// Image GB pulled from anywhere else.
    pub other_gb: f64,
}

/// The network part of a bill, USD.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NetworkCharges {
    /// Public IPv4 addresses.
    pub public_ipv4: f64,
    /// NAT gateways: hours and data.
    pub nat: f64,
    /// Interface endpoints.
    pub endpoints: f64,
}

impl NetworkCharges {
    /// Their sum.
    pub fn total(&self) -> f64 {
        self.public_ipv4 + self.nat + self.endpoints
    }
}

impl NetworkSpec {
    /// The spec of `egress` on `rates`; the names of the rates it needs and `rates` lacks.
    pub fn priced(
        egress: Egress,
        stated: bool,
        rates: &RegionRates,
    ) -> Result<NetworkSpec, Vec<&'static str>> {
        let mut missing = Vec::new();
        let mut need = |name: &'static str, v: Option<f64>| {
            v.unwrap_or_else(|| {
                missing.push(name);
                f64::NAN
            })
        };
        // (public IPv4 per address-hour, NAT per hour, endpoints per hour, NAT per GB)
        let (public_ipv4_hour, nat_usd_per_hour, endpoints, per_gb) = match egress {
            Egress::PublicIp => (
                need("public_ipv4_hour", rates.public_ipv4_hour),
                0.0,
                0,
                0.0,
            ),
            Egress::Nat {
                gateways,
                ecr_endpoint_azs,
                ..
            } => (
                0.0,
                gateways as f64 * need("nat_gateway_hour", rates.nat_gateway_hour),
                2 * ecr_endpoint_azs,
                need("nat_gb", rates.nat_gb),
            ),
            Egress::VpcEndpoints { endpoints, azs } => (0.0, 0.0, endpoints * azs, 0.0),
        };
        let endpoints_usd_per_hour = if endpoints == 0 {
            0.0
        } else {
            endpoints as f64 * need("vpc_endpoint_az_hour", rates.vpc_endpoint_az_hour)
        };
        if missing.is_empty() {
            Ok(NetworkSpec {
                egress,
                stated,
                public_ipv4_hour,
                nat_usd_per_hour,
                endpoints_usd_per_hour,
                per_gb,
                internet: None,
                azs: None,
                pull_limit: None,
            })
        } else {
            Err(missing)
        }
    }

    /// The pulls from outside ECR the NAT's addresses may make per hour, all together
    /// (`pull_limit` per gateway), when the scenario states a limit and egress is `nat`.
    pub fn outside_pulls_per_hour(&self) -> Option<u32> {
        match (self.egress, self.pull_limit) {
            (Egress::Nat { gateways, .. }, Some(l)) => Some(l.saturating_mul(gateways.max(1))),
            _ => None,
        }
    }

    /// Whether a pull from `registry` crosses a NAT gateway (and is charged per GB).
    pub fn crosses_nat(&self, registry: ImageRegistry) -> bool {
        match self.egress {
            Egress::Nat { s3_gateway, .. } => !(s3_gateway && registry == ImageRegistry::Ecr),
            Egress::PublicIp | Egress::VpcEndpoints { .. } => false,
        }
    }

    /// One deployment's share of the network charges: its tasks' public IPv4 time, or its
    /// pulls through the NAT (the fixed hourly charges belong to no deployment).
    pub fn flow_charge(&self, task_ms: u64, pull_gb: f64, registry: ImageRegistry) -> f64 {
        match self.egress {
            Egress::PublicIp => task_ms as f64 / 3_600_000.0 * self.public_ipv4_hour,
            Egress::Nat { .. } if self.crosses_nat(registry) => pull_gb * self.per_gb,
            _ => 0.0,
        }
    }

    /// The charges of `u` under this egress.
    pub fn charges(&self, u: &NetworkUsage) -> NetworkCharges {
        match self.egress {
            Egress::PublicIp => NetworkCharges {
                public_ipv4: (u.task_hours + u.worker_hours) * self.public_ipv4_hour,
                ..NetworkCharges::default()
            },
            Egress::Nat { .. } => {
                let nat_gb = u.other_gb
                    + if self.crosses_nat(ImageRegistry::Ecr) {
                        u.ecr_gb
                    } else {
                        0.0
                    };
                NetworkCharges {
                    nat: self.nat_usd_per_hour * u.horizon_hours + nat_gb * self.per_gb,
                    endpoints: self.endpoints_usd_per_hour * u.horizon_hours,
                    ..NetworkCharges::default()
                }
            }
            Egress::VpcEndpoints { .. } => NetworkCharges {
                endpoints: self.endpoints_usd_per_hour * u.horizon_hours,
                ..NetworkCharges::default()
            },
        }
    }

    /// One line for result headers.
    pub fn describe(&self) -> String {
        let what = match self.egress {
            Egress::PublicIp => format!(
                "public IPv4 on every task and worker ({}/address-hour)",
                usd(self.public_ipv4_hour)
            ),
            Egress::Nat {
                gateways,
                s3_gateway,
                ecr_endpoint_azs,
            } => {
                let mut t = format!(
                    "{gateways} NAT gateway(s) ({}/h in all) and {}/GB of every image pull",
                    usd(self.nat_usd_per_hour),
                    usd(self.per_gb)
                );
                if s3_gateway {
                    t.push_str(
                        " not from this region's ECR (an S3 gateway endpoint takes ECR layers)",
                    );
                }
                if ecr_endpoint_azs > 0 {
                    t.push_str(&format!(
                        "; ecr.api and ecr.dkr endpoints in {ecr_endpoint_azs} AZ(s) ({}/h)",
                        usd(self.endpoints_usd_per_hour)
                    ));
                }
                t
            }
            Egress::VpcEndpoints { endpoints, azs } => format!(
                "{endpoints} interface endpoint(s) in {azs} AZ(s) ({}/h in all)",
                usd(self.endpoints_usd_per_hour)
            ),
        };
        if self.stated {
            what
        } else {
            format!(
                "{what}: assumed, no [network] section (the Prefect ECS worker's default assignPublicIp is ENABLED)"
            )
        }
    }
}

fn usd(v: f64) -> String {
    format!("${v}")
}

/// A way to wire the same platform, as `recommend` and `simulate` price it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alternative {
    /// Its name: `public-ip`, `nat`, `nat+s3-gateway`, `nat+s3-gateway+ecr-endpoints`,
    /// `vpc-endpoints` (or the scenario's own shape).
    pub name: String,
    /// What it takes, in words.
    pub what: String,
    /// What it changes besides the bill, in a few words (shown beside its figures).
    pub caveat: Option<&'static str>,
    /// Whether it is the scenario's own network.
    pub current: bool,
    /// What its price rests on that the scenario does not say.
    pub assumptions: Vec<String>,
    /// The spec, or why it is not offered or cannot be priced.
    pub spec: Result<NetworkSpec, String>,
}

/// The name of an egress's shape.
pub fn shape(e: Egress) -> String {
    match e {
        Egress::PublicIp => "public-ip".into(),
        Egress::Nat {
            s3_gateway,
            ecr_endpoint_azs,
            ..
        } => {
            let mut n = String::from("nat");
            if s3_gateway {
                n.push_str("+s3-gateway");
            }
            if ecr_endpoint_azs > 0 {
                n.push_str("+ecr-endpoints");
            }
            n
        }
        Egress::VpcEndpoints { .. } => "vpc-endpoints".into(),
    }
}

/// The scenario's own network first, then each other way to wire it: public subnets, a NAT,
/// a NAT with the S3 gateway endpoint, that with the ECR interface endpoints, and (only when
/// `[network] internet = false`) interface endpoints without a NAT, their list from what the
/// worker and the flows call ([`PRIVATE_ENDPOINTS`] and the API key's secret store). Each is
/// priced on the scenario's rates; a missing rate or image size leaves it unpriced, never 0.
pub fn alternatives(s: &super::Scenario) -> Vec<Alternative> {
    let net = &s.network;
    let rates = &s.prices.rates;
    let gateways = match net.egress {
        Egress::Nat { gateways, .. } => gateways,
        _ => 1,
    };
    let azs = net.azs.unwrap_or(2);
    let azs_assumed = net.azs.is_none().then(|| {
        "the subnets span 2 AZs, each interface endpoint in both ([network] azs not given)"
            .to_string()
    });
    let no_size: Vec<&str> = s
        .flows
        .iter()
        .filter(|f| f.image_gb.is_none())
        .map(|f| f.name.as_str())
        .collect();
    let registry_assumed = s.flows.iter().filter(|f| !f.image_registry.1).count();
    let outside: Vec<&str> = s
        .flows
        .iter()
        .filter(|f| f.image_registry.0 == ImageRegistry::Other)
        .map(|f| f.name.as_str())
        .collect();
    let mut out = vec![Alternative {
        name: shape(net.egress),
        what: net.describe(),
        caveat: None,
        current: true,
        assumptions: Vec::new(),
        spec: Ok(*net),
    }];
    let caveat = |e: Egress| match e {
        Egress::PublicIp => Some("tasks get public addresses"),
        Egress::Nat {
            ecr_endpoint_azs: 1..,
            ..
        } => Some("keeps ECR calls in the VPC; not a saving"),
        Egress::VpcEndpoints { .. } => Some("nothing reaches the internet"),
        Egress::Nat { .. } => None,
    };
    let mut offer = |egress: Egress, what: String, mut assumptions: Vec<String>| {
        if shape(egress) == shape(net.egress) {
            return;
        }
        let per_gb = matches!(egress, Egress::Nat { .. });
        let spec = if per_gb && !no_size.is_empty() {
            Err(format!(
                "not priced: every pull through a NAT is billed per GB, and {} deployment(s) give \
                 no image_size ({})",
                no_size.len(),
                list(&no_size)
            ))
        } else {
            NetworkSpec::priced(egress, true, rates).map_err(|m| {
                format!(
                    "not priced: no {} rate for region {} (set it under [pricing.rates])",
                    m.join(", "),
                    s.region
                )
            })
        };
        if matches!(
            egress,
            Egress::Nat {
                s3_gateway: true,
                ..
            }
        ) && registry_assumed > 0
        {
            assumptions.push(format!(
                "{registry_assumed} deployment(s) without image_registry pull from this region's ECR"
            ));
        }
        out.push(Alternative {
            name: shape(egress),
            what,
            caveat: caveat(egress),
            current: false,
            assumptions,
            spec,
        });
    };
    offer(
        Egress::PublicIp,
        "public subnets: every task and the worker hold a public IPv4 address (tasks get \
         public addresses; security groups must keep them closed)"
            .into(),
        Vec::new(),
    );
    let nat_words = format!("private subnets behind {gateways} NAT gateway(s)");
    let one_gateway = || {
        (gateways == 1 && !matches!(net.egress, Egress::Nat { .. }))
            .then(|| "1 NAT gateway (one per AZ costs more)".to_string())
    };
    offer(
        Egress::Nat {
            gateways,
            s3_gateway: false,
            ecr_endpoint_azs: 0,
        },
        nat_words.clone(),
        one_gateway().into_iter().collect(),
    );
    offer(
        Egress::Nat {
            gateways,
            s3_gateway: true,
            ecr_endpoint_azs: 0,
        },
        format!(
            "{nat_words} and a free S3 gateway endpoint: layers of images in this region's ECR \
             no longer cross the NAT"
        ),
        one_gateway().into_iter().collect(),
    );
    offer(
        Egress::Nat {
            gateways,
            s3_gateway: true,
            ecr_endpoint_azs: azs,
        },
        format!(
            "{nat_words}, the S3 gateway endpoint and ecr.api and ecr.dkr interface endpoints in \
             {azs} AZ(s): ECR calls stay inside the VPC (not a saving: its per-GB effect is not \
             metered)"
        ),
        one_gateway()
            .into_iter()
            .chain(azs_assumed.clone())
            .collect(),
    );
    let names = private_endpoints(s.deploy_section.api_key_parameter.as_deref());
    let endpoints = Egress::VpcEndpoints {
        endpoints: names.len() as u32,
        azs,
    };
    let what = format!(
        "private subnets without a NAT: interface endpoints for {} in {azs} AZ(s), and the S3 \
         gateway endpoint; nothing reaches the internet",
        names.join(", ")
    );
    let worker_image = s
        .deploy_section
        .worker_image
        .as_deref()
        .unwrap_or(super::file::DEFAULT_WORKER_IMAGE);
    if shape(net.egress) != "vpc-endpoints" {
        let refused = if net.internet != Some(false) {
            Some(
                "not offered: needs [network] internet = false (no flow needs the internet and \
                 the Prefect API is reachable privately)"
                    .to_string(),
            )
        } else if !outside.is_empty() {
            Some(format!(
                "not offered: {} pull images from outside this region's ECR, which needs the internet",
                list(&outside)
            ))
        } else {
            None
        };
        match refused {
            Some(why) => out.push(Alternative {
                name: "vpc-endpoints".into(),
                what,
                caveat: caveat(endpoints),
                current: false,
                assumptions: Vec::new(),
                spec: Err(why),
            }),
            None => {
                let mut a: Vec<String> = azs_assumed.into_iter().collect();
                if ImageRegistry::of_image(worker_image, &s.region) == ImageRegistry::Other {
                    a.push(format!(
                        "the worker image is copied to this region's ECR (today: {worker_image})"
                    ));
                }
                if registry_assumed > 0 {
                    a.push(format!(
                        "{registry_assumed} deployment(s) without image_registry pull from this region's ECR"
                    ));
                }
                offer(endpoints, what, a);
            }
        }
    }
    out
}

fn list(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let mut t = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        t.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    t
}
