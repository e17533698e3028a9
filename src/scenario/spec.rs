//! Compact specs used by sweeps, in files and on the command line: retry policies as
//! `name[k=v,...]`, percentage ranges as `0:100:10` or `0,50,100`, comma lists that respect
//! brackets.

use crate::model::{Placement, PlacementSpec, SimTime};

use super::types::{CustomRetry, Delay, RetryPolicy};

/// Splits on commas outside `[...]`: `a,custom[x=1,y=2],b` → `a`, `custom[x=1,y=2]`, `b`.
pub fn split_list(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Parses percentages: `0:100:10` (from:to:step, inclusive) or `0,50,100`; each 0–100.
pub fn parse_percent_range(text: &str) -> Result<Vec<u32>, String> {
    let t = text.trim();
    let bad = || {
        format!("`{t}` is not a percentage range; write `0:100:10` (from:to:step) or `0,50,100`")
    };
    let values: Vec<u32> = if t.contains(':') {
        let parts: Vec<&str> = t.split(':').collect();
        let nums: Result<Vec<u32>, _> = parts.iter().map(|p| p.trim().parse::<u32>()).collect();
        let nums = nums.map_err(|_| bad())?;
        let (from, to, step) = match nums.as_slice() {
            [f, t] => (*f, *t, 10),
            [f, t, s] => (*f, *t, *s),
            _ => return Err(bad()),
        };
        if step == 0 || from > to {
            return Err(bad());
        }
        (from..=to).step_by(step as usize).collect()
    } else {
        t.split(',')
            .map(|p| p.trim().parse::<u32>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?
    };
    if values.is_empty() {
        return Err(bad());
    }
    if let Some(v) = values.iter().find(|v| **v > 100) {
        return Err(format!("`{v}` is not a percentage (0–100)"));
    }
    Ok(values)
}

/// Parses a placement reading name (`robust` is not a reading: see [`parse_placement_spec`]).
pub fn parse_placement(text: &str) -> Result<Placement, String> {
    match parse_placement_spec(text)? {
        PlacementSpec::Reading(p) => Ok(p),
        PlacementSpec::Robust => Err(
            "`robust` is not a single reading here; allowed: `per-call`, `per-call-no-base`, `weighted-random`, `proportional`".into(),
        ),
    }
}

/// Parses a placement: `robust` or a reading name.
pub fn parse_placement_spec(text: &str) -> Result<PlacementSpec, String> {
    let t = text.trim();
    if t == "robust" {
        return Ok(PlacementSpec::Robust);
    }
    if let Some(p) = Placement::ALL.into_iter().find(|p| p.name() == t) {
        return Ok(PlacementSpec::Reading(p));
    }
    let names: Vec<&str> = std::iter::once("robust")
        .chain(Placement::ALL.iter().map(|p| p.name()))
        .collect();
    let hint = names
        .iter()
        .map(|n| {
            (
                strsim::levenshtein(n, &t.to_ascii_lowercase().replace('_', "-")),
                n,
            )
        })
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, n)| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    Err(format!(
        "`{t}` is not a placement model{hint}; allowed: {}",
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Parses a retry policy spec: `prefect3`, `prefect3[runtask_attempts=5,fallback=automation]`,
/// `prefect3-reschedule`, `prefect1-lazarus[limit=10,backend=cloud]`,
/// `custom[max_attempts=5,delay=30s,backoff=2,max_delay=10m,jitter=0.2,fallback_after=1,
/// fallback_after_capacity=3,deadline_aware=true|uniform-progress]`. The same rules as the
/// scenario file's `[retry]` (an exponential schedule needs a base above 0).
pub fn parse_retry_spec(text: &str) -> Result<RetryPolicy, String> {
    let t = text.trim();
    let (name, args) = match t.find('[') {
        Some(i) if t.ends_with(']') => (&t[..i], &t[i + 1..t.len() - 1]),
        Some(_) => return Err(format!("`{t}`: a `[` needs a closing `]` at the end")),
        None => (t, ""),
    };
    let mut kv = Vec::new();
    for part in args.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("`{t}`: `{part}` is not `key=value`"));
        };
        kv.push((k.trim().to_string(), v.trim().to_string()));
    }
    let allowed: &[&str] = match name {
        "prefect3" | "prefect3-reschedule" => &["runtask_attempts", "fallback"],
        "prefect1-lazarus" => &["limit", "backend"],
        "custom" => &[
            "max_attempts",
            "delay",
            "backoff",
            "max_delay",
            "jitter",
            "fallback_after",
            "fallback_after_capacity",
            "deadline_aware",
        ],
        other => {
            return Err(format!(
                "`{other}` is not a retry policy; allowed: `prefect3`, `prefect3-reschedule`, `prefect1-lazarus`, `custom`"
            ));
        }
    };
    for (k, _) in &kv {
        if !allowed.contains(&k.as_str()) {
            let list = allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!(
                "`{t}`: `{k}` is not a parameter of `{name}`; allowed: {list}"
            ));
        }
    }
    let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let uint = |k: &str, default: u32| -> Result<u32, String> {
        match get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .map_err(|_| format!("`{t}`: `{k}={v}` needs a whole number")),
        }
    };
    let dur = |k: &str| -> Result<Option<SimTime>, String> {
        get(k)
            .map(|v| SimTime::parse_human(v).map_err(|e| format!("`{t}`: `{k}`: {e}")))
            .transpose()
    };
    let float = |k: &str| -> Result<Option<f64>, String> {
        get(k)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| format!("`{t}`: `{k}={v}` needs a number"))
            })
            .transpose()
    };
    let positive = |k: &str, v: u32| {
        if v == 0 {
            Err(format!("`{t}`: `{k}` must be at least 1"))
        } else {
            Ok(v)
        }
    };
    match name {
        "prefect3" | "prefect3-reschedule" => Ok(RetryPolicy::Prefect3 {
            runtask_attempts: positive("runtask_attempts", uint("runtask_attempts", 3)?)?,
            reschedule: name == "prefect3-reschedule",
            automation: match get("fallback") {
                None | Some("none") => false,
                Some("automation") => true,
                Some(v) => {
                    return Err(format!(
                        "`{t}`: `fallback={v}` must be `automation` (a Prefect automation that reruns a Crashed run on FARGATE) or `none`"
                    ));
                }
            },
        }),
        "prefect1-lazarus" => {
            let cloud = match get("backend") {
                None | Some("server") => false,
                Some("cloud") => true,
                Some(v) => {
                    return Err(format!("`{t}`: `backend={v}` must be `server` or `cloud`"));
                }
            };
            Ok(RetryPolicy::Prefect1Lazarus {
                limit: positive("limit", uint("limit", if cloud { 10 } else { 3 })?)?,
                cloud,
            })
        }
        _ => {
            let base = dur("delay")?.unwrap_or(SimTime::ZERO);
            let delay = match float("backoff")? {
                // as in the scenario file: an exponential schedule needs a base above zero
                Some(_) if base.0 == 0 => {
                    return Err(format!(
                        "`{t}`: `backoff` needs `delay` above 0s (its first delay)"
                    ));
                }
                Some(f) if f.is_finite() && f >= 1.0 => Delay::Exponential {
                    base,
                    factor: f,
                    max: dur("max_delay")?,
                },
                Some(f) => return Err(format!("`{t}`: `backoff={f}` must be ≥ 1")),
                None => Delay::Fixed(base),
            };
            let jitter = float("jitter")?.unwrap_or(0.0);
            if !(0.0..=10.0).contains(&jitter) {
                return Err(format!("`{t}`: `jitter={jitter}` is outside 0–10"));
            }
            let (deadline_aware, uniform_progress) = match get("deadline_aware") {
                None | Some("false") => (false, false),
                Some("true") | Some("safety-net") => (true, false),
                Some("uniform-progress") => (true, true),
                Some(v) => {
                    return Err(format!(
                        "`{t}`: `deadline_aware={v}` must be `true` (the safety net), `uniform-progress` or `false`"
                    ));
                }
            };
            Ok(RetryPolicy::Custom(CustomRetry {
                max_attempts: positive("max_attempts", uint("max_attempts", 3)?)?,
                delay,
                jitter,
                fallback_after_interruptions: get("fallback_after")
                    .map(|_| uint("fallback_after", 0))
                    .transpose()?,
                fallback_after_capacity_failures: get("fallback_after_capacity")
                    .map(|_| uint("fallback_after_capacity", 0))
                    .transpose()?,
                deadline_aware,
                uniform_progress,
            }))
        }
    }
}

/// The spec string of a policy (inverse of [`parse_retry_spec`] up to defaults).
pub fn retry_spec(p: &RetryPolicy) -> String {
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
            if c.uniform_progress {
                parts.push("deadline_aware=uniform-progress".into());
            } else if c.deadline_aware {
                parts.push("deadline_aware=true".into());
            }
            format!("custom[{}]", parts.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_respect_brackets() {
        assert_eq!(
            split_list("prefect3, custom[a=1,b=2],x"),
            vec!["prefect3", "custom[a=1,b=2]", "x"]
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_percent_range("0:100:25").unwrap(),
            vec![0, 25, 50, 75, 100]
        );
        assert_eq!(parse_percent_range("0,60,100").unwrap(), vec![0, 60, 100]);
        assert!(
            parse_percent_range("0:120:10")
                .unwrap_err()
                .contains("`110` is not a percentage")
        );
        assert!(parse_percent_range("a:b").is_err());
    }

    #[test]
    fn retry_specs_round_trip() {
        for s in [
            "prefect3",
            "prefect3-reschedule",
            "prefect3[runtask_attempts=5]",
            "prefect1-lazarus[limit=10]",
            "custom[max_attempts=5,delay=30s,backoff=2,max_delay=10m,jitter=0.2,fallback_after=1,fallback_after_capacity=3,deadline_aware=true]",
        ] {
            assert_eq!(retry_spec(&parse_retry_spec(s).unwrap()), s);
        }
        assert_eq!(
            parse_retry_spec("custom[fallback=1]").unwrap_err(),
            "`custom[fallback=1]`: `fallback` is not a parameter of `custom`; allowed: `max_attempts`, `delay`, `backoff`, `max_delay`, `jitter`, `fallback_after`, `fallback_after_capacity`, `deadline_aware`"
        );
        assert!(
            parse_retry_spec("lazarus")
                .unwrap_err()
                .starts_with("`lazarus` is not a retry policy")
        );
    }
}
