//! The pure diff of desired against observed state: what to create, what to update (old →
//! new), what is unchanged, and the exact API calls `apply` will make, in order.

use std::fmt;

use serde::Serialize;

use super::events::{QueueState, RuleState, attribute_changes};
use super::state::{Desired, Item, Observed, words};

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

/// What happens to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `+`
    Create,
    /// `~`
    Update,
    /// `=`
    Unchanged,
    /// `!`: wanted but absent, and not something `apply` can create (a Prefect deployment)
    Missing,
}

impl Action {
    /// `Update` when something changes, else `Unchanged`.
    pub fn of(changed: bool) -> Action {
        if changed {
            Action::Update
        } else {
            Action::Unchanged
        }
    }
}

/// One field that changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Field.
    pub field: String,
    /// Old value, in words.
    pub old: String,
    /// New value, in words.
    pub new: String,
}

/// One resource of the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// `cluster`, `task definition` or `service`.
    pub resource: &'static str,
    /// Its name.
    pub name: String,
    /// What happens.
    pub action: Action,
    /// Field changes (updates).
    pub changes: Vec<Change>,
    /// Providers on the cluster that are not spotplan's and are kept.
    pub kept: Vec<String>,
    /// The call, if any.
    pub call: Option<Call>,
}

/// The plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// Resources in apply order: cluster, task definition, service.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Whether anything would change.
    pub fn has_changes(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.action, Action::Create | Action::Update))
    }
    /// The calls, in order.
    pub fn calls(&self) -> Vec<&Call> {
        self.steps.iter().filter_map(|s| s.call.as_ref()).collect()
    }
}

/// A long value cut for a plan line.
fn clip(v: &str) -> String {
    crate::units::clip(v, 60)
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Diffs desired against observed. Pure.
pub fn plan(d: &Desired, o: &Observed) -> Plan {
    let mut steps = Vec::new();
    // cluster
    match &o.cluster {
        None => steps.push(Step {
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
            steps.push(Step {
                resource: "cluster",
                name: d.cluster.name.clone(),
                action: Action::of(update),
                changes,
                kept,
                call: update.then(|| Call::PutClusterCapacityProviders {
                    cluster: d.cluster.name.clone(),
                    capacity_providers: providers,
                    default_strategy: d.cluster.default_strategy.clone(),
                }),
            });
        }
    }
    // the worker's crash-detection feed: the dead-letter queue, the queue, the rule
    if let Some(e) = &d.events {
        for (want, seen) in [(&e.dlq, &o.events.dlq), (&e.queue, &o.events.queue)] {
            steps.push(match seen {
                None => Step {
                    resource: "queue",
                    name: want.name.clone(),
                    action: Action::Create,
                    changes: Vec::new(),
                    kept: Vec::new(),
                    call: Some(Call::CreateQueue {
                        queue: want.clone(),
                    }),
                },
                Some(seen) => {
                    let changed = attribute_changes(want, seen);
                    Step {
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
                        call: (!changed.is_empty()).then(|| Call::SetQueueAttributes {
                            queue: want.clone(),
                        }),
                    }
                }
            });
        }
        let want = &e.rule;
        let mut changes = Vec::new();
        match &o.events.rule {
            None => {}
            Some(r) => {
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
                if r.targets != want.targets {
                    changes.push(Change {
                        field: "targets".into(),
                        old: clip(&format!("{:?}", r.targets)),
                        new: clip(&format!("{:?}", want.targets)),
                    });
                }
            }
        }
        let action = match &o.events.rule {
            None => Action::Create,
            Some(_) => Action::of(!changes.is_empty()),
        };
        steps.push(Step {
            resource: "event rule",
            name: want.name.clone(),
            action,
            changes,
            kept: Vec::new(),
            call: (action != Action::Unchanged).then(|| Call::PutRule { rule: want.clone() }),
        });
    }
    // task definition
    let want = &d.task_definition.spec;
    let td_changed = match &o.task_definition {
        Some(t) if t.spec == *want => {
            steps.push(Step {
                resource: "task definition",
                name: format!("{}:{}", t.family, t.revision.unwrap_or(0)),
                action: Action::Unchanged,
                changes: Vec::new(),
                kept: Vec::new(),
                call: None,
            });
            false
        }
        other => {
            let changes = match other {
                None => Vec::new(),
                Some(t) => want.changes(&t.spec),
            };
            steps.push(Step {
                resource: "task definition",
                name: d.task_definition.family.clone(),
                action: if other.is_none() {
                    Action::Create
                } else {
                    Action::Update
                },
                changes,
                kept: Vec::new(),
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
        None => steps.push(Step {
            resource: "service",
            name: d.service.name.clone(),
            action: Action::Create,
            changes: Vec::new(),
            kept: Vec::new(),
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
            steps.push(Step {
                resource: "service",
                name: d.service.name.clone(),
                action: Action::of(update),
                changes,
                kept: Vec::new(),
                call: update.then(|| Call::UpdateService {
                    service: d.service.clone(),
                    cluster,
                    force_new_deployment: force,
                }),
            });
        }
    }
    Plan { steps }
}

impl fmt::Display for Step {
    /// `+` create, `~` update with old → new, `=` unchanged; one line per changed field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.action {
            Action::Create => '+',
            Action::Update => '~',
            Action::Unchanged => '=',
            Action::Missing => '!',
        };
        writeln!(f, "{sign} {} {}", self.resource, self.name)?;
        for c in &self.changes {
            if self.action == Action::Missing {
                writeln!(f, "    {}: {}", c.field, c.new)?;
            } else {
                writeln!(f, "    {}: {} → {}", c.field, c.old, c.new)?;
            }
        }
        for k in &self.kept {
            writeln!(f, "    = capacity provider {k} (not spotplan's: kept)")?;
        }
        Ok(())
    }
}

/// The closing line of a plan that makes `n` calls.
pub fn summary(n: usize) -> String {
    if n == 0 {
        "no changes".into()
    } else {
        format!("{n} change(s) to apply")
    }
}

impl fmt::Display for Plan {
    /// `+` create, `~` update with old → new, `=` unchanged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            write!(f, "{s}")?;
        }
        write!(f, "{}", summary(self.calls().len()))
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
