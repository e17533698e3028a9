//! The pure diff of desired against observed state: what to create, what to update (old →
//! new), what is unchanged, and the exact writes `apply` will make, in order: ECS calls first,
//! then the Prefect work pool, the deployments' job variables and the fallback automation.

use std::fmt;

use serde::Serialize;

use super::automation::{AutomationPlan, plan_automations};
use super::deployments::{DeploymentsPlan, plan_deployments};
use super::desired::Desired;
use super::diff::{Action, Change, Step, clip, summary};
use super::events::{EventsState, QueueState, RuleState, attribute_changes};
use super::state::{Item, Observed, PrefectObserved, words};
use super::workpool::{PoolPlan, plan_pool};

/// One API call of the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "call")]
pub enum Call {
    /// CreateCluster with providers and default strategy.
    CreateCluster {
        /// Name.
        cluster: String,
        /// Providers.
        capacity_providers: Vec<String>,
        /// Default strategy.
        default_strategy: Vec<Item>,
    },
    /// PutClusterCapacityProviders: the full list (existing providers kept) and the strategy.
    PutClusterCapacityProviders {
        /// Cluster.
        cluster: String,
        /// Every provider, spotplan's and the ones already there.
        capacity_providers: Vec<String>,
        /// Default strategy.
        default_strategy: Vec<Item>,
    },
    /// RegisterTaskDefinition.
    RegisterTaskDefinition {
        /// The definition.
        spec: super::task_definition::TaskDefinitionSpec,
    },
    /// CreateService.
    CreateService {
        /// The service.
        service: super::state::ServiceState,
        /// Cluster.
        cluster: String,
    },
    /// UpdateService.
    UpdateService {
        /// The service.
        service: super::state::ServiceState,
        /// Cluster.
        cluster: String,
        /// Needed when the strategy or the task definition changes, so running tasks move.
        force_new_deployment: bool,
    },
    /// SQS CreateQueue with its attributes.
    CreateQueue {
        /// The queue.
        queue: QueueState,
    },
    /// SQS SetQueueAttributes (the queue's URL is looked up by name).
    SetQueueAttributes {
        /// The queue with the attributes to set.
        queue: QueueState,
    },
    /// EventBridge PutRule, then PutTargets (both replace what is there).
    PutRule {
        /// The rule and its targets.
        rule: RuleState,
    },
}

/// One ECS resource of the plan, and the call that brings it in line, if any.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EcsStep {
    /// The resource and what happens to it.
    #[serde(flatten)]
    pub step: Step,
    /// The call `apply` makes.
    pub call: Option<Call>,
}

/// The ECS half of a plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EcsPlan {
    /// Resources in apply order: cluster, crash feed, task definition, service.
    pub steps: Vec<EcsStep>,
    /// Why `apply` must not run: a stack feeds the cluster into a queue the worker would not
    /// read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

impl EcsPlan {
    /// The calls, in order.
    pub fn calls(&self) -> Vec<&Call> {
        self.steps.iter().filter_map(|s| s.call.as_ref()).collect()
    }
}

/// The Prefect half of a plan (with `--prefect-api-url`): the work pool, the deployments'
/// own job variables and the fallback automation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrefectPlan {
    /// The work pool.
    pub work_pool: PoolPlan,
    /// Deployments' own job variables, when any deployment needs its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployments: Option<DeploymentsPlan>,
    /// The fallback automation and its guard, when the retry policy needs them or they exist
    /// (with any tagged duplicates to delete).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub automations: Vec<AutomationPlan>,
}

/// The plan: one value, computed from one observation, that `plan` prints and `apply`
/// executes (nothing else writes to the account or the Prefect API).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The ECS half.
    #[serde(flatten)]
    pub ecs: EcsPlan,
    /// The Prefect half, when the Prefect API was read.
    #[serde(flatten)]
    pub prefect: Option<PrefectPlan>,
    /// What the account (and the Prefect API) held when the plan was computed.
    pub observed: Observed,
    /// What the plan did not look at, in words: "no changes" says nothing about it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
}

impl Plan {
    /// The writes `apply` would make: ECS calls and Prefect writes.
    pub fn changes(&self) -> usize {
        self.ecs.calls().len()
            + self.prefect.as_ref().map_or(0, |p| {
                usize::from(p.work_pool.write.is_some())
                    + p.deployments.as_ref().map_or(0, |d| d.writes.len())
                    + p.automations.iter().filter(|a| a.write.is_some()).count()
            })
    }

    /// Whether anything would change.
    pub fn has_changes(&self) -> bool {
        self.changes() > 0
    }

    /// The ECS calls, in order.
    pub fn calls(&self) -> Vec<&Call> {
        self.ecs.calls()
    }

    /// Why `apply` must not run this plan at all, if it must not: a stack of someone else's
    /// feeding the cluster into another queue, a pool setting that changes what was simulated,
    /// a work pool of another worker type (spotplan deletes nothing, and updating it would not
    /// make it `ecs`).
    pub fn blocked(&self) -> Option<String> {
        if let Some(why) = &self.ecs.refused {
            return Some(why.clone());
        }
        let p = &self.prefect.as_ref()?.work_pool;
        if let Some(why) = &p.refused {
            return Some(why.clone());
        }
        (p.write.is_none() && !p.step.changes.is_empty()).then(|| {
            format!(
                "work pool `{}` exists with another worker type; spotplan does not delete pools: delete it or set deploy.work_pool to a new name",
                p.step.name
            )
        })
    }

    /// What needs a person, in words: the `!` items (what `apply` cannot do itself) and what
    /// the plan did not check.
    pub fn attention(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .prefect
            .iter()
            .flat_map(|p| &p.deployments)
            .flat_map(|d| &d.steps)
            .filter(|s| s.action == Action::Missing)
            .map(|s| {
                format!(
                    "{} {}: not there, and apply cannot make it",
                    s.resource, s.name
                )
            })
            .collect();
        out.extend(
            self.ecs
                .steps
                .iter()
                .filter(|s| s.step.action == Action::Missing)
                .flat_map(|s| {
                    s.step.changes.iter().map(move |c| {
                        format!(
                            "{} {}: {}: {}",
                            s.step.resource, s.step.name, c.field, c.new
                        )
                    })
                }),
        );
        out.extend(self.not_checked.iter().map(|n| format!("not checked: {n}")));
        out
    }

    /// Scenario flows with no deployment in the work pool (`apply` cannot create them).
    pub fn missing_deployments(&self) -> usize {
        self.prefect
            .iter()
            .flat_map(|p| &p.deployments)
            .flat_map(|d| &d.steps)
            .filter(|s| s.action == Action::Missing)
            .count()
    }
}

/// Diffs desired against observed: the ECS half always, the Prefect half when the Prefect API
/// was read. Pure.
pub fn plan(d: &Desired, o: &Observed) -> Plan {
    let mut ecs = plan_ecs(d, o);
    // the account's Fargate vCPU quotas against what the pick runs at once
    let quotas = d
        .quotas
        .as_ref()
        .map(|need| super::quotas::check(need, o.quotas.as_ref()));
    if let Some(step) = quotas.as_ref().and_then(|c| c.step.clone()) {
        ecs.steps.push(EcsStep { step, call: None });
    }
    let mut plan = Plan {
        ecs,
        prefect: o.prefect.as_ref().map(|p| plan_prefect(d, p)),
        observed: o.clone(),
        not_checked: if o.prefect.is_none() {
            vec![format!(
                "the Prefect side (work pool {}, its deployments' job variables{}): pass \
                 --prefect-api-url",
                d.pool.name,
                if d.automations.is_empty() {
                    ""
                } else {
                    ", the fallback automations"
                }
            )]
        } else {
            Vec::new()
        },
    };
    plan.not_checked
        .extend(quotas.into_iter().flat_map(|c| c.not_checked));
    plan
}

/// The Prefect half: the pool, then (when the pool exists and any deployment needs its own
/// job variables) the deployments, then the automation.
fn plan_prefect(d: &Desired, o: &PrefectObserved) -> PrefectPlan {
    PrefectPlan {
        work_pool: plan_pool(&d.pool, o.pool.as_ref()),
        deployments: (!d.deployments.is_empty())
            .then(|| plan_deployments(&d.deployments, &o.deployments, &d.pool.name)),
        automations: plan_automations(&d.pool.name, &scoped(d, o), &o.automations),
    }
}

/// The fallback bodies, a fallback limited to some deployments matching them by id once
/// they are found (by name otherwise, as `emit` writes it).
fn scoped(d: &Desired, o: &PrefectObserved) -> Vec<serde_json::Value> {
    use super::automation::Scope;
    match &d.automation_scope {
        Some(Scope::Deployments { flows, .. }) => {
            let mut ids: Vec<String> = Vec::new();
            for f in flows {
                for x in super::deployments::of_flow(f, &o.deployments) {
                    if !ids.contains(&x.id) {
                        ids.push(x.id.clone());
                    }
                }
            }
            super::automation::scoped_bodies_for(
                &d.pool.name,
                &Scope::Deployments {
                    flows: flows.clone(),
                    ids,
                },
            )
        }
        _ => d.automations.clone(),
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The crash-detection feed's steps: the two queues, then the rule. Only spotplan's target
/// (by its id) is compared; the rule's other targets are someone else's, and kept (PutTargets
/// adds or replaces by id and removes nothing).
fn feed_steps(e: &EventsState, o: &super::events::ObservedEvents) -> Vec<EcsStep> {
    let mut steps = Vec::new();
    for (want, seen) in [(&e.dlq, &o.dlq), (&e.queue, &o.queue)] {
        steps.push(match seen {
            None => EcsStep {
                step: Step {
                    resource: "queue",
                    name: want.name.clone(),
                    action: Action::Create,
                    changes: Vec::new(),
                    kept: Vec::new(),
                },
                call: Some(Call::CreateQueue {
                    queue: want.clone(),
                }),
            },
            Some(seen) => {
                let changed = attribute_changes(want, seen);
                EcsStep {
                    step: Step {
                        resource: "queue",
                        name: want.name.clone(),
                        action: Action::of(!changed.is_empty()),
                        changes: changed
                            .iter()
                            .map(|k| Change {
                                field: k.clone(),
                                old: seen.attributes.get(k).map_or("none".into(), |v| clip(v)),
                                new: clip(&want.attributes[k]),
                            })
                            .collect(),
                        kept: Vec::new(),
                    },
                    call: (!changed.is_empty()).then(|| Call::SetQueueAttributes {
                        queue: want.clone(),
                    }),
                }
            }
        });
    }
    let want = &e.rule;
    let mut changes = Vec::new();
    let mut kept = Vec::new();
    if let Some(r) = &o.rule {
        if r.event_pattern != want.event_pattern {
            changes.push(Change {
                field: "event pattern".into(),
                old: clip(&r.event_pattern.to_string()),
                new: clip(&want.event_pattern.to_string()),
            });
        }
        if !r.enabled {
            changes.push(Change {
                field: "state".into(),
                old: "DISABLED".into(),
                new: "ENABLED".into(),
            });
        }
        let mine = |id: &str| want.targets.iter().any(|(w, _)| w == id);
        let seen: Vec<&(String, String)> = r.targets.iter().filter(|(id, _)| mine(id)).collect();
        if seen.len() != want.targets.len() || seen.iter().zip(&want.targets).any(|(a, b)| *a != b)
        {
            let words = |v: &[&(String, String)]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.iter()
                        .map(|(id, arn)| format!("{id} → {arn}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            changes.push(Change {
                field: "target".into(),
                old: clip(&words(&seen)),
                new: clip(&words(&want.targets.iter().collect::<Vec<_>>())),
            });
        }
        kept = r
            .targets
            .iter()
            .filter(|(id, _)| !mine(id))
            .map(|(id, arn)| format!("target {id} → {arn} (not spotplan's: kept)"))
            .collect();
    }
    let action = match &o.rule {
        None => Action::Create,
        Some(_) => Action::of(!changes.is_empty()),
    };
    steps.push(EcsStep {
        step: Step {
            resource: "event rule",
            name: want.name.clone(),
            action,
            changes,
            kept,
        },
        call: (action != Action::Unchanged).then(|| Call::PutRule { rule: want.clone() }),
    });
    steps
}

/// Diffs desired against observed. Pure.
pub fn plan_ecs(d: &Desired, o: &Observed) -> EcsPlan {
    let mut steps = Vec::new();
    let mut refused = None;
    // cluster
    match &o.cluster {
        None => steps.push(EcsStep {
            step: Step {
                resource: "cluster",
                name: d.cluster.name.clone(),
                action: Action::Create,
                changes: vec![
                    Change {
                        field: "capacity providers".into(),
                        old: "—".into(),
                        new: list(&d.cluster.capacity_providers),
                    },
                    Change {
                        field: "default strategy".into(),
                        old: "—".into(),
                        new: words(&d.cluster.default_strategy),
                    },
                ],
                kept: Vec::new(),
            },
            call: Some(Call::CreateCluster {
                cluster: d.cluster.name.clone(),
                capacity_providers: d.cluster.capacity_providers.clone(),
                default_strategy: d.cluster.default_strategy.clone(),
            }),
        }),
        Some(c) => {
            let kept: Vec<String> = c
                .capacity_providers
                .iter()
                .filter(|p| !d.cluster.capacity_providers.contains(p))
                .cloned()
                .collect();
            let mut providers = d.cluster.capacity_providers.clone();
            providers.extend(kept.iter().cloned());
            let missing: Vec<String> = d
                .cluster
                .capacity_providers
                .iter()
                .filter(|p| !c.capacity_providers.contains(p))
                .cloned()
                .collect();
            let mut changes = Vec::new();
            if !missing.is_empty() {
                changes.push(Change {
                    field: "capacity providers".into(),
                    old: list(&c.capacity_providers),
                    new: list(&providers),
                });
            }
            if sorted(&c.default_strategy) != sorted(&d.cluster.default_strategy) {
                changes.push(Change {
                    field: "default strategy".into(),
                    old: words(&c.default_strategy),
                    new: words(&d.cluster.default_strategy),
                });
            }
            let update = !changes.is_empty();
            steps.push(EcsStep {
                step: Step {
                    resource: "cluster",
                    name: d.cluster.name.clone(),
                    action: Action::of(update),
                    changes,
                    kept: kept
                        .iter()
                        .map(|k| format!("capacity provider {k} (not spotplan's: kept)"))
                        .collect(),
                },
                call: update.then(|| Call::PutClusterCapacityProviders {
                    cluster: d.cluster.name.clone(),
                    capacity_providers: providers,
                    default_strategy: d.cluster.default_strategy.clone(),
                }),
            });
        }
    }
    // the worker's crash-detection feed: the dead-letter queue, the queue, the rule; or the
    // queue a CloudFormation stack of prefect-aws's already feeds, used and never changed
    if let Some(e) = &d.events {
        if let Some(st) = o
            .events
            .stack
            .as_ref()
            .filter(|st| st.queue != e.queue.name)
        {
            refused = Some(format!(
                "CloudFormation stack `{}` already feeds cluster {}'s task state changes into queue `{}`, which spotplan's worker would not read (it reads `{}`): set deploy.work_pool = \"{}\" so that the worker reads the stack's queue, or delete the stack; spotplan changes no stack's resources",
                st.stack,
                d.cluster.name,
                st.queue,
                e.queue.name,
                st.pool.as_deref().unwrap_or("the stack's WorkPoolName"),
            ));
        }
        match &o.events.stack {
            Some(st) => steps.push(EcsStep {
                step: Step {
                    resource: "queue",
                    name: st.queue.clone(),
                    action: Action::Unchanged,
                    changes: Vec::new(),
                    kept: vec![format!(
                        "stack {}: used, not managed (its rule feeds the queue; spotplan makes no rule or target of its own)",
                        st.stack
                    )],
                },
                call: None,
            }),
            None => steps.extend(feed_steps(e, &o.events)),
        }
    }
    // task definition
    let want = &d.task_definition.spec;
    let td_changed = match &o.task_definition {
        Some(t) if t.spec == *want => {
            steps.push(EcsStep {
                step: Step {
                    resource: "task definition",
                    name: format!("{}:{}", t.family, t.revision.unwrap_or(0)),
                    action: Action::Unchanged,
                    changes: Vec::new(),
                    kept: Vec::new(),
                },
                call: None,
            });
            false
        }
        other => {
            let changes = match other {
                None => Vec::new(),
                Some(t) => want.changes(&t.spec),
            };
            steps.push(EcsStep {
                step: Step {
                    resource: "task definition",
                    name: d.task_definition.family.clone(),
                    action: if other.is_none() {
                        Action::Create
                    } else {
                        Action::Update
                    },
                    changes,
                    kept: Vec::new(),
                },
                call: Some(Call::RegisterTaskDefinition {
                    spec: d.task_definition.spec.clone(),
                }),
            });
            true
        }
    };
    // service
    let cluster = d.cluster.name.clone();
    match &o.service {
        None => steps.push(EcsStep {
            step: Step {
                resource: "service",
                name: d.service.name.clone(),
                action: Action::Create,
                changes: Vec::new(),
                kept: Vec::new(),
            },
            call: Some(Call::CreateService {
                service: d.service.clone(),
                cluster,
            }),
        }),
        Some(s) => {
            let mut changes = Vec::new();
            let mut diff = |field: &str, old: String, new: String| {
                if old != new {
                    changes.push(Change {
                        field: field.into(),
                        old,
                        new,
                    });
                }
            };
            diff(
                "desired count",
                s.desired_count.to_string(),
                d.service.desired_count.to_string(),
            );
            diff(
                "strategy",
                words(&sorted(&s.capacity_provider_strategy)),
                words(&sorted(&d.service.capacity_provider_strategy)),
            );
            diff("subnets", list(&s.subnets), list(&d.service.subnets));
            diff(
                "security groups",
                list(&s.security_groups),
                list(&d.service.security_groups),
            );
            diff(
                "public IP",
                s.assign_public_ip.to_string(),
                d.service.assign_public_ip.to_string(),
            );
            // the service must run the latest revision of our family: another family, or an
            // older revision of ours (`update-service --task-definition other:1`), is drift
            let latest = o
                .task_definition
                .as_ref()
                .map(|t| format!("{}:{}", t.family, t.revision.unwrap_or(0)));
            // (a reference without a revision means the latest: ECS itself always answers with
            // the ARN and revision; moto echoes the family it was given)
            let running = task_definition_ref(&s.task_definition);
            let runs_latest = latest.as_deref().is_some_and(|l| {
                running == l || (!running.contains(':') && l.split(':').next() == Some(running))
            });
            if td_changed {
                changes.push(Change {
                    field: "task definition".into(),
                    old: task_definition_ref(&s.task_definition).to_string(),
                    new: "the new revision".into(),
                });
            } else if !runs_latest {
                changes.push(Change {
                    field: "task definition".into(),
                    old: task_definition_ref(&s.task_definition).to_string(),
                    new: latest
                        .clone()
                        .unwrap_or_else(|| d.task_definition.family.clone()),
                });
            }
            // the order of a strategy's items does not change where tasks go
            let strategy_changed = sorted(&s.capacity_provider_strategy)
                != sorted(&d.service.capacity_provider_strategy);
            let force = td_changed || !runs_latest || strategy_changed;
            let update = !changes.is_empty();
            steps.push(EcsStep {
                step: Step {
                    resource: "service",
                    name: d.service.name.clone(),
                    action: Action::of(update),
                    changes,
                    kept: Vec::new(),
                },
                call: update.then(|| Call::UpdateService {
                    service: d.service.clone(),
                    cluster,
                    force_new_deployment: force,
                }),
            });
        }
    }
    // the network the tasks get, against the network the bill was priced with
    if let Some(seen) = &o.network {
        let c = super::network::check(&d.network, seen);
        steps.push(EcsStep {
            step: c.step,
            call: None,
        });
        refused = refused.or(c.refused);
    }
    EcsPlan { steps, refused }
}

impl fmt::Display for Plan {
    /// `+` create, `~` update with old → new, `=` unchanged, `!` missing; ECS first, then the
    /// work pool, the deployments and the automation; then the number of writes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.ecs.steps {
            write!(f, "{}", s.step)?;
        }
        if let Some(p) = &self.prefect {
            write!(f, "{}", p.work_pool.step)?;
            for s in p.deployments.iter().flat_map(|d| &d.steps) {
                write!(f, "{s}")?;
            }
            for a in &p.automations {
                write!(f, "{}", a.step)?;
            }
        }
        for n in &self.not_checked {
            writeln!(f, "not checked: {n}")?;
        }
        write!(f, "{}", summary(self.changes()))
    }
}

/// `family:revision` of a task definition reference (an ARN or `family:revision`).
fn task_definition_ref(r: &str) -> &str {
    r.rsplit_once(":task-definition/").map_or(r, |(_, t)| t)
}

/// A strategy's items by provider (their order means nothing to ECS).
fn sorted(items: &[Item]) -> Vec<Item> {
    let mut v = items.to_vec();
    v.sort_by(|a, b| a.provider.cmp(&b.provider));
    v
}
