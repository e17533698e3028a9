//! TOML → [`ScenarioFile`], with serde errors turned into located diagnostics.

use super::error::{Diagnostic, FieldPath, Location, ScenarioError};
use super::file::ScenarioFile;
use super::locate::locate;

/// Parses the TOML text of a scenario into its file types (shape only).
pub(crate) fn parse_file(src: &str, file: &str) -> Result<ScenarioFile, ScenarioError> {
    let de = match toml::de::Deserializer::parse(src) {
        Ok(de) => de,
        Err(e) => return Err(one(file, src, &e, FieldPath::root())),
    };
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = FieldPath::parse(&e.path().to_string());
        one(file, src, e.inner(), path)
    })
}

fn one(file: &str, src: &str, e: &toml::de::Error, mut path: FieldPath) -> ScenarioError {
    let mut message = e.message().trim().to_string();
    // serde_path_to_error reports `.` for the root and `?` for unknown positions
    path.0
        .retain(|s| !matches!(s, super::error::Seg::Key(k) if k == "?" || k.is_empty()));
    if let Some(hint) = did_you_mean(&message) {
        message.push_str(&hint);
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        // serde names Rust types ("expected struct ScheduleFile"); say what to write instead
        if let Some(i) = message.find(", expected struct ") {
            message.truncate(i);
            message.push_str(", expected a table");
        }
        let key = path.0.iter().rev().find_map(|s| match s {
            super::error::Seg::Key(k) => Some(k.as_str()),
            super::error::Seg::Index(_) => None,
        });
        if let Some(example) = key.and_then(example_of) {
            message.push_str(&format!("; write {example}"));
        }
    }
    if message.starts_with("missing field") && path.0.is_empty() {
        message.push_str(" at the top level of the scenario");
    }
    let location = e
        .span()
        .map(|s| Location::of_offset(src, s.start))
        .or_else(|| locate(src, &path))
        .or_else(|| deepest_line(src));
    if message.contains("recursion limit") {
        message = "nesting too deep (tables, arrays or dotted keys more than 128 levels down); a scenario needs a few levels".into();
    }
    ScenarioError::one(Diagnostic {
        file: file.to_string(),
        location,
        path,
        message,
    })
}

/// The first line that nests deeper than the parser allows (dotted keys, arrays, inline
/// tables), for errors the parser gives without a position.
fn deepest_line(src: &str) -> Option<Location> {
    let mut depth = 0i64;
    let mut offset = 0usize;
    for line in src.split_inclusive('\n') {
        let mut dots = 0i64;
        for c in line.chars() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                '.' => dots += 1,
                _ => {}
            }
        }
        if depth > 100 || dots > 100 {
            return Some(Location::of_offset(src, offset));
        }
        offset += line.len();
    }
    None
}

/// How to write the value of `key`, for type errors.
fn example_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "schedule" => {
            "`schedule = { every = \"1h\" }`, `{ cron = \"0 1 * * *\" }` (UTC) or `{ poisson = \"6/h\" }`"
        }
        "duration" => {
            "`duration = \"12m\"` or `duration = { lognormal = { median = \"12m\", p95 = \"40m\" } }`"
        }
        "deadline" => "`deadline = \"5m\"` (a duration after the scheduled time)",
        "horizon" => "`horizon = \"30d\"`",
        "poll_interval" | "stop_timeout" | "engine_startup" | "engine_unprotected"
        | "flow_loading" | "retry_delay" | "max_p95_latency" | "mean_outage" | "trace_offset"
        | "delay" => "a duration in quotes, e.g. `\"90s\"`, `\"12m\"`, `\"1h30m\"`",
        "provisioning" | "image_pull" => "`\"20s\"` or `{ uniform = [\"15s\", \"45s\"] }`",
        "interruption_rate" => "`interruption_rate = \"0.05/h\"` (per running spot task-hour)",
        "poisson" => "`poisson = \"6/h\"`",
        "strategy" => {
            "`strategy = [{ provider = \"FARGATE_SPOT\", weight = 4 }, { provider = \"FARGATE\", weight = 1 }]`"
        }
        "cpu" => "`cpu = 1024` (units) or `cpu = \"1 vCPU\"`",
        "memory" => "`memory = 2048` (MiB) or `memory = \"2 GB\"`",
        _ => return None,
    })
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`"), suggests the
/// closest allowed name.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (bad, rest) = rest.split_once('`')?;
    let allowed: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let best = allowed
        .iter()
        .map(|a| (strsim::jaro_winkler(bad, a), *a))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(format!("; did you mean `{}`?", best.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_field() {
        assert_eq!(
            did_you_mean("unknown field `weigth`, expected one of `provider`, `weight`, `base`"),
            Some("; did you mean `weight`?".into())
        );
        assert_eq!(
            did_you_mean("unknown field `zzz`, expected `provider`"),
            None
        );
    }
}
