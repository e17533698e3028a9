//! The canonical form of a scenario file, and its hashes: the parsed file (before command-line
//! overrides) as JSON, so comments, formatting and the order of keys in the TOML do not count,
//! and a hash per top-level section so a mismatch can say which sections differ.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::file::ScenarioFile;

/// First 16 hex digits of the SHA-256 of `bytes`.
fn short(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The whole file's canonical hash and each section's.
pub(crate) fn hashes(f: &ScenarioFile) -> (String, BTreeMap<String, String>) {
    let v = serde_json::to_value(f).unwrap_or_default();
    let mut sections = BTreeMap::new();
    if let serde_json::Value::Object(m) = &v {
        for (k, x) in m {
            if !x.is_null() {
                sections.insert(k.clone(), short(x.to_string().as_bytes()));
            }
        }
    }
    let all: String = sections.iter().map(|(k, h)| format!("{k}={h};")).collect();
    (short(all.as_bytes()), sections)
}

/// The sections whose hashes differ between `a` and `b` (present in one only included).
pub fn differing(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = a
        .iter()
        .filter(|(k, h)| b.get(*k) != Some(*h))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(b.keys().filter(|k| !a.contains_key(*k)).cloned());
    out
}
