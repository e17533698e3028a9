//! The retry grammar: one set of rules for the scenario file's `[retry]` section and for the
//! compact spec `name[k=v,...]` of sweeps and `--retry`. Each source only reads its syntax into
//! [`RetryParams`]; [`build`] decides what is allowed, what the defaults are and what a value
//! means, so a value accepted in one form is accepted in the other with the same meaning.

use crate::model::SimTime;

use super::{CustomRetry, DeadlineRule, Delay, RetryPolicy};

/// A parameter of a retry policy. Each source names it its own way ([`Param::toml_key`],
/// [`Param::spec_key`]) so errors point at what the user wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    Policy,
    RuntaskAttempts,
    Fallback,
    Limit,
    Backend,
    MaxAttempts,
    Delay,
    Backoff,
    MaxDelay,
    Jitter,
    FallbackAfter,
    FallbackAfterCapacity,
    DeadlineAware,
    DeadlineRule,
    ProbeEvery,
}

impl Param {
    /// Every parameter.
    pub const ALL: [Param; 15] = [
        Param::Policy,
        Param::RuntaskAttempts,
        Param::Fallback,
        Param::Limit,
        Param::Backend,
        Param::MaxAttempts,
        Param::Delay,
        Param::Backoff,
        Param::MaxDelay,
        Param::Jitter,
        Param::FallbackAfter,
        Param::FallbackAfterCapacity,
        Param::DeadlineAware,
        Param::DeadlineRule,
        Param::ProbeEvery,
    ];

    /// The key of `[retry]` that sets it (dotted below `retry.`).
    pub fn toml_key(self) -> &'static str {
        match self {
            Param::Policy => "policy",
            Param::RuntaskAttempts => "runtask_attempts",
            Param::Fallback => "fallback",
            Param::Limit => "lazarus_limit",
            Param::Backend => "backend",
            Param::MaxAttempts => "max_attempts",
            Param::Delay => "delay",
            Param::Backoff => "delay.exponential.factor",
            Param::MaxDelay => "delay.exponential.max",
            Param::Jitter => "jitter",
            Param::FallbackAfter => "fallback_after_interruptions",
            Param::FallbackAfterCapacity => "fallback_after_capacity_failures",
            Param::DeadlineAware => "deadline_aware",
            Param::DeadlineRule => "deadline_rule",
            Param::ProbeEvery => "probe_every",
        }
    }

    /// The key of a spec `name[key=value]` (the policy is the name itself).
    pub fn spec_key(self) -> &'static str {
        match self {
            Param::Policy => "policy",
            Param::RuntaskAttempts => "runtask_attempts",
            Param::Fallback => "fallback",
            Param::Limit => "limit",
            Param::Backend => "backend",
            Param::MaxAttempts => "max_attempts",
            Param::Delay => "delay",
            Param::Backoff => "backoff",
            Param::MaxDelay => "max_delay",
            Param::Jitter => "jitter",
            Param::FallbackAfter => "fallback_after",
            Param::FallbackAfterCapacity => "fallback_after_capacity",
            Param::DeadlineAware => "deadline_aware",
            Param::DeadlineRule => "deadline_rule",
            Param::ProbeEvery => "probe_every",
        }
    }

    /// The policies it belongs to.
    fn policies(self) -> &'static [&'static str] {
        match self {
            Param::Policy => &POLICIES,
            Param::RuntaskAttempts | Param::Fallback => &["prefect3", "prefect3-reschedule"],
            Param::Limit | Param::Backend => &["prefect1-lazarus"],
            _ => &["custom"],
        }
    }
}

/// The policy names.
pub const POLICIES: [&str; 4] = [
    "prefect3",
    "prefect3-reschedule",
    "prefect1-lazarus",
    "custom",
];

/// A retry policy as written, each value already in its type; `None` = not written.
#[derive(Debug, Clone, Default)]
pub struct RetryParams {
    pub policy: Option<String>,
    pub runtask_attempts: Option<u32>,
    pub fallback: Option<String>,
    pub limit: Option<u32>,
    pub backend: Option<String>,
    pub max_attempts: Option<u32>,
    pub delay: Option<SimTime>,
    pub backoff: Option<f64>,
    pub max_delay: Option<SimTime>,
    pub jitter: Option<f64>,
    pub fallback_after: Option<u32>,
    pub fallback_after_capacity: Option<u32>,
    /// `true`/`false`, or a rule name (`safety-net`, `uniform-progress`) meaning `true` + rule.
    pub deadline_aware: Option<String>,
    pub deadline_rule: Option<String>,
    /// Uniform Progress: how often a run waiting for spot capacity tries again.
    pub probe_every: Option<SimTime>,
}

impl RetryParams {
    fn is_set(&self, p: Param) -> bool {
        match p {
            Param::Policy => self.policy.is_some(),
            Param::RuntaskAttempts => self.runtask_attempts.is_some(),
            Param::Fallback => self.fallback.is_some(),
            Param::Limit => self.limit.is_some(),
            Param::Backend => self.backend.is_some(),
            Param::MaxAttempts => self.max_attempts.is_some(),
            Param::Delay => self.delay.is_some(),
            Param::Backoff => self.backoff.is_some(),
            Param::MaxDelay => self.max_delay.is_some(),
            Param::Jitter => self.jitter.is_some(),
            Param::FallbackAfter => self.fallback_after.is_some(),
            Param::FallbackAfterCapacity => self.fallback_after_capacity.is_some(),
            Param::DeadlineAware => self.deadline_aware.is_some(),
            Param::DeadlineRule => self.deadline_rule.is_some(),
            Param::ProbeEvery => self.probe_every.is_some(),
        }
    }
}

/// Errors of a retry policy, each about one parameter.
pub type RetryErrors = Vec<(Param, String)>;

/// The policy `p` describes, or every reason it does not describe one.
/// `key` names a parameter as its source spells it, for messages that mention another one.
pub fn build(p: &RetryParams, key: fn(Param) -> &'static str) -> Result<RetryPolicy, RetryErrors> {
    let mut errs: RetryErrors = Vec::new();
    let policy = p.policy.as_deref().unwrap_or("prefect3");
    if !POLICIES.contains(&policy) {
        errs.push((
            Param::Policy,
            format!(
                "`{policy}` is not a retry policy{}; allowed: {}",
                did_you_mean(policy, &POLICIES),
                quoted(&POLICIES)
            ),
        ));
        return Err(errs);
    }
    for param in Param::ALL {
        if p.is_set(param) && !param.policies().contains(&policy) {
            errs.push((
                param,
                format!(
                    "`{}` applies only to policy {}, not `{policy}`",
                    key(param),
                    param
                        .policies()
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            ));
        }
    }
    let at_least_one =
        |errs: &mut RetryErrors, param: Param, v: Option<u32>, default: u32, hint: &str| {
            let v = v.unwrap_or(default);
            if v == 0 {
                errs.push((param, format!("`0` is not allowed; {hint}")));
            }
            v
        };
    let policy = match policy {
        "prefect3" | "prefect3-reschedule" => {
            let runtask_attempts = at_least_one(
                &mut errs,
                Param::RuntaskAttempts,
                p.runtask_attempts,
                3,
                "at least 1 attempt (the worker's default is 3)",
            );
            let automation = match p.fallback.as_deref() {
                None | Some("none") => false,
                Some("automation") => true,
                Some(other) => {
                    errs.push((
                        Param::Fallback,
                        format!(
                            "`{other}` is not a fallback; allowed: `automation` (a Prefect automation reruns a Crashed run on FARGATE), `none`"
                        ),
                    ));
                    false
                }
            };
            RetryPolicy::Prefect3 {
                runtask_attempts,
                reschedule: policy == "prefect3-reschedule",
                automation,
            }
        }
        "prefect1-lazarus" => {
            let cloud = match p.backend.as_deref() {
                None | Some("server") => false,
                Some("cloud") => true,
                Some(other) => {
                    errs.push((
                        Param::Backend,
                        format!("`{other}` is not a Prefect 1 backend; allowed: `server`, `cloud`"),
                    ));
                    false
                }
            };
            let limit = at_least_one(
                &mut errs,
                Param::Limit,
                p.limit,
                if cloud { 10 } else { 3 },
                "Prefect Server uses 3 and Prefect Cloud 10",
            );
            RetryPolicy::Prefect1Lazarus { limit, cloud }
        }
        _ => {
            let max_attempts = at_least_one(
                &mut errs,
                Param::MaxAttempts,
                p.max_attempts,
                3,
                "at least 1 attempt (the first launch counts)",
            );
            let base = p.delay.unwrap_or(SimTime::ZERO);
            let delay = match p.backoff {
                None => {
                    if p.max_delay.is_some() {
                        errs.push((
                            Param::MaxDelay,
                            format!(
                                "a maximum delay needs an exponential backoff (`{}`)",
                                key(Param::Backoff)
                            ),
                        ));
                    }
                    Delay::Fixed(base)
                }
                Some(f) => {
                    if base.0 == 0 {
                        errs.push((
                            Param::Delay,
                            format!(
                                "an exponential backoff (`{}`) needs a first delay longer than zero",
                                key(Param::Backoff)
                            ),
                        ));
                    }
                    if !(f.is_finite() && f >= 1.0) {
                        errs.push((Param::Backoff, format!("`{f}` must be a number ≥ 1")));
                    }
                    Delay::Exponential {
                        base,
                        factor: f,
                        max: p.max_delay,
                    }
                }
            };
            let jitter = p.jitter.unwrap_or(0.0);
            if !(jitter.is_finite() && (0.0..=10.0).contains(&jitter)) {
                errs.push((
                    Param::Jitter,
                    format!("`{jitter}` is outside 0–10 (a fraction of the delay)"),
                ));
            }
            let (aware, rule_in_aware) = match p.deadline_aware.as_deref() {
                None | Some("false") => (false, None),
                Some("true") => (true, None),
                Some(rule @ ("safety-net" | "uniform-progress" | "catch-up")) => (true, Some(rule)),
                Some(other) => {
                    errs.push((
                        Param::DeadlineAware,
                        format!("`{other}` is not allowed; write `true` or `false`"),
                    ));
                    (false, None)
                }
            };
            let rule = match (rule_in_aware, p.deadline_rule.as_deref()) {
                (Some(a), Some(b)) if a != b => {
                    errs.push((
                        Param::DeadlineRule,
                        format!("`{b}` contradicts `{}` = `{a}`", key(Param::DeadlineAware)),
                    ));
                    a
                }
                (Some(a), _) => a,
                (None, None) => "safety-net",
                (None, Some(r)) => r,
            };
            let rule = match rule {
                "safety-net" => DeadlineRule::SafetyNet,
                "uniform-progress" | "catch-up" if !aware => {
                    errs.push((
                        Param::DeadlineRule,
                        format!("`{rule}` needs `{} = true`", key(Param::DeadlineAware)),
                    ));
                    DeadlineRule::SafetyNet
                }
                "uniform-progress" => DeadlineRule::UniformProgress,
                "catch-up" => DeadlineRule::CatchUp,
                other => {
                    errs.push((
                        Param::DeadlineRule,
                        format!(
                            "`{other}` is not a deadline rule{}; allowed: `safety-net`, `uniform-progress`, `catch-up`",
                            did_you_mean(other, &["safety-net", "uniform-progress", "catch-up"])
                        ),
                    ));
                    DeadlineRule::SafetyNet
                }
            };
            if let Some(t) = p.probe_every {
                if rule != DeadlineRule::UniformProgress {
                    errs.push((
                        Param::ProbeEvery,
                        "only Uniform Progress (`deadline_rule = \"uniform-progress\"`) waits for spot and probes it".to_string(),
                    ));
                } else if t < SimTime::from_secs(1) || t > SimTime::from_secs(3600) {
                    errs.push((Param::ProbeEvery, format!("`{t}` is outside 1s–1h")));
                }
            }
            RetryPolicy::Custom(CustomRetry {
                max_attempts,
                delay,
                jitter,
                fallback_after_interruptions: p.fallback_after,
                fallback_after_capacity_failures: p.fallback_after_capacity,
                deadline_aware: aware,
                rule,
                probe_every: p.probe_every,
            })
        }
    };
    if errs.is_empty() {
        Ok(policy)
    } else {
        Err(errs)
    }
}

/// " (did you mean `x`?)" for the name of `names` nearest `text` (edit distance at most 3,
/// `_` read as `-`), else nothing.
pub(crate) fn did_you_mean(text: &str, names: &[&str]) -> String {
    let t = text.trim().to_ascii_lowercase().replace('_', "-");
    names
        .iter()
        .map(|n| (strsim::levenshtein(n, &t), *n))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, n)| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default()
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a retry policy spec: `prefect3`, `prefect3[runtask_attempts=5,fallback=automation]`,
/// `prefect3-reschedule`, `prefect1-lazarus[limit=10,backend=cloud]`,
/// `custom[max_attempts=5,delay=30s,backoff=2,max_delay=10m,jitter=0.2,fallback_after=1,
/// fallback_after_capacity=3,deadline_aware=true|uniform-progress]`. The rules are [`build`]'s,
/// the same as the scenario file's `[retry]`.
pub fn parse_spec(text: &str) -> Result<RetryPolicy, crate::model::Invalid> {
    parse_spec_text(text).map_err(crate::model::Invalid)
}

/// `parse_spec`'s work, its error in words.
fn parse_spec_text(text: &str) -> Result<RetryPolicy, String> {
    let t = text.trim();
    let (name, args) = match t.find('[') {
        Some(i) if t.ends_with(']') => (&t[..i], &t[i + 1..t.len() - 1]),
        Some(_) => return Err(format!("`{t}`: a `[` needs a closing `]` at the end")),
        None => (t, ""),
    };
    let name = name.trim();
    if !POLICIES.contains(&name) {
        return Err(format!(
            "`{name}` is not a retry policy{}; allowed: {}",
            did_you_mean(name, &POLICIES),
            quoted(&POLICIES)
        ));
    }
    let mut p = RetryParams {
        policy: Some(name.to_string()),
        ..Default::default()
    };
    let mut seen: Vec<Param> = Vec::new();
    for part in args.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("`{t}`: `{part}` is not `key=value`"));
        };
        let (k, v) = (k.trim(), v.trim());
        let allowed: Vec<Param> = Param::ALL
            .into_iter()
            .filter(|q| *q != Param::Policy && q.policies().contains(&name))
            .collect();
        let Some(param) = allowed.iter().copied().find(|q| q.spec_key() == k) else {
            let keys: Vec<&str> = allowed.iter().map(|q| q.spec_key()).collect();
            return Err(format!(
                "`{t}`: `{k}` is not a parameter of `{name}`{}; allowed: {}",
                did_you_mean(k, &keys),
                quoted(&keys)
            ));
        };
        if seen.contains(&param) {
            return Err(format!("`{t}`: `{k}` is given twice"));
        }
        seen.push(param);
        let whole = || {
            v.parse::<u32>()
                .map_err(|_| format!("`{t}`: `{k}={v}` needs a whole number"))
        };
        let number = || {
            v.parse::<f64>()
                .map_err(|_| format!("`{t}`: `{k}={v}` needs a number"))
        };
        let duration = || SimTime::parse_human(v).map_err(|e| format!("`{t}`: `{k}`: {e}"));
        match param {
            // (not among the allowed keys above: the policy is the spec's name)
            Param::Policy => {
                return Err(format!(
                    "`{t}`: the policy is the spec's name (`{name}[…]`), not a parameter"
                ));
            }
            Param::RuntaskAttempts => p.runtask_attempts = Some(whole()?),
            Param::Fallback => p.fallback = Some(v.to_string()),
            Param::Limit => p.limit = Some(whole()?),
            Param::Backend => p.backend = Some(v.to_string()),
            Param::MaxAttempts => p.max_attempts = Some(whole()?),
            Param::Delay => p.delay = Some(duration()?),
            Param::Backoff => p.backoff = Some(number()?),
            Param::MaxDelay => p.max_delay = Some(duration()?),
            Param::Jitter => p.jitter = Some(number()?),
            Param::FallbackAfter => p.fallback_after = Some(whole()?),
            Param::FallbackAfterCapacity => p.fallback_after_capacity = Some(whole()?),
            Param::DeadlineAware => p.deadline_aware = Some(v.to_string()),
            Param::DeadlineRule => p.deadline_rule = Some(v.to_string()),
            Param::ProbeEvery => p.probe_every = Some(duration()?),
        }
    }
    build(&p, Param::spec_key).map_err(|errs| {
        errs.into_iter()
            .map(|(_, m)| format!("`{t}`: {m}"))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The spec string of a policy (inverse of [`parse_spec`] up to defaults).
pub fn spec(p: &RetryPolicy) -> String {
    match p {
        RetryPolicy::Prefect3 {
            runtask_attempts,
            automation,
            ..
        } => {
            let mut parts = Vec::new();
            if *runtask_attempts != 3 {
                parts.push(format!("runtask_attempts={runtask_attempts}"));
            }
            if *automation {
                parts.push("fallback=automation".to_string());
            }
            if parts.is_empty() {
                p.name().to_string()
            } else {
                format!("{}[{}]", p.name(), parts.join(","))
            }
        }
        RetryPolicy::Prefect1Lazarus { limit, cloud } => format!(
            "prefect1-lazarus[limit={limit}{}]",
            if *cloud { ",backend=cloud" } else { "" }
        ),
        RetryPolicy::Custom(c) => {
            let mut parts = vec![format!("max_attempts={}", c.max_attempts)];
            match c.delay {
                Delay::Fixed(d) if d.0 > 0 => parts.push(format!("delay={d}")),
                Delay::Fixed(_) => {}
                Delay::Exponential { base, factor, max } => {
                    parts.push(format!("delay={base}"));
                    parts.push(format!("backoff={factor}"));
                    if let Some(m) = max {
                        parts.push(format!("max_delay={m}"));
                    }
                }
            }
            if c.jitter > 0.0 {
                parts.push(format!("jitter={}", c.jitter));
            }
            if let Some(k) = c.fallback_after_interruptions {
                parts.push(format!("fallback_after={k}"));
            }
            if let Some(k) = c.fallback_after_capacity_failures {
                parts.push(format!("fallback_after_capacity={k}"));
            }
            match (c.deadline_aware, c.rule) {
                (false, _) => {}
                (true, DeadlineRule::SafetyNet) => parts.push("deadline_aware=true".into()),
                (true, DeadlineRule::UniformProgress) => {
                    parts.push("deadline_aware=uniform-progress".into())
                }
                (true, DeadlineRule::CatchUp) => parts.push("deadline_aware=catch-up".into()),
            }
            if let Some(t) = c.probe_every {
                parts.push(format!("probe_every={t}"));
            }
            format!("custom[{}]", parts.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip() {
        for s in [
            "prefect3",
            "prefect3-reschedule",
            "prefect3[runtask_attempts=5]",
            "prefect1-lazarus[limit=10]",
            "custom[max_attempts=5,delay=30s,backoff=2,max_delay=10m,jitter=0.2,fallback_after=1,fallback_after_capacity=3,deadline_aware=true]",
            "custom[max_attempts=3,deadline_aware=catch-up]",
            "custom[max_attempts=3,deadline_aware=uniform-progress,probe_every=30s]",
        ] {
            assert_eq!(spec(&parse_spec(s).unwrap()), s);
        }
        // probing is Uniform Progress's; its interval is bounded
        let e = parse_spec("custom[deadline_aware=true,probe_every=10s]").unwrap_err();
        assert!(e.to_string().contains("only Uniform Progress"), "{e}");
        let e = parse_spec("custom[deadline_aware=uniform-progress,probe_every=2h]").unwrap_err();
        assert!(e.to_string().contains("outside 1s–1h"), "{e}");
        let e = parse_spec("custom[deadline_rule=catch-up]").unwrap_err();
        assert!(
            e.to_string().contains("needs `deadline_aware = true`"),
            "{e}"
        );
        assert_eq!(
            parse_spec("custom[fallback=1]").unwrap_err(),
            "`custom[fallback=1]`: `fallback` is not a parameter of `custom`; allowed: `max_attempts`, `delay`, `backoff`, `max_delay`, `jitter`, `fallback_after`, `fallback_after_capacity`, `deadline_aware`, `deadline_rule`, `probe_every`"
        );
        assert!(
            parse_spec("custom[nope=1]")
                .unwrap_err()
                .contains("`nope` is not a parameter of `custom`; allowed: `max_attempts`")
        );
        assert!(
            parse_spec("lazarus")
                .unwrap_err()
                .starts_with("`lazarus` is not a retry policy")
        );
        // a near miss names the nearest name; a far one does not guess
        assert!(parse_spec("prefect3_reschedul").unwrap_err().starts_with(
            "`prefect3_reschedul` is not a retry policy (did you mean `prefect3-reschedule`?)"
        ));
        assert!(parse_spec("custom[max_atempts=3]").unwrap_err().contains(
            "`max_atempts` is not a parameter of `custom` (did you mean `max_attempts`?)"
        ));
        assert!(!parse_spec("lazarus").unwrap_err().contains("did you mean"));
    }

    #[test]
    fn the_rules_are_the_same_whatever_the_syntax() {
        // a zero first delay under backoff: refused here as in `[retry]` (it used to pass here)
        assert!(
            parse_spec("custom[delay=0s,backoff=2]")
                .unwrap_err()
                .ends_with(
                    "an exponential backoff (`backoff`) needs a first delay longer than zero"
                )
        );
        assert!(
            parse_spec("custom[backoff=2]")
                .unwrap_err()
                .contains("first delay longer than zero")
        );
        assert!(
            parse_spec("custom[max_delay=1m]")
                .unwrap_err()
                .contains("needs an exponential")
        );
        assert!(
            parse_spec("custom[jitter=11]")
                .unwrap_err()
                .contains("outside 0–10")
        );
        assert!(
            parse_spec("custom[max_attempts=0]")
                .unwrap_err()
                .contains("`0` is not allowed")
        );
        assert!(
            parse_spec("custom[delay=1s,delay=2s]")
                .unwrap_err()
                .contains("given twice")
        );
        assert!(
            parse_spec("custom[deadline_rule=uniform-progress]")
                .unwrap_err()
                .contains("needs `deadline_aware = true`")
        );
        assert_eq!(
            parse_spec("custom[deadline_aware=true,deadline_rule=uniform-progress]").unwrap(),
            parse_spec("custom[deadline_aware=uniform-progress]").unwrap()
        );
    }
}
