//! TOML → [`ScenarioFile`], with serde errors turned into located diagnostics.

use super::error::{Diagnostic, FieldPath, Location, ScenarioError};
use super::file::ScenarioFile;
use super::locate::locate;

/// Parses the TOML text of a scenario into its file types (shape only).
pub fn parse_file(src: &str, file: &str) -> Result<ScenarioFile, ScenarioError> {
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
    if message.starts_with("missing field") && path.0.is_empty() {
        message.push_str(" at the top level of the scenario");
    }
    let location = e
        .span()
        .map(|s| Location::of_offset(src, s.start))
        .or_else(|| locate(src, &path));
    ScenarioError::one(Diagnostic {
        file: file.to_string(),
        location,
        path,
        message,
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
