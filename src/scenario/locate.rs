//! Maps a field path to its line:column in the TOML source.

use toml::de::{DeTable, DeValue};

use super::error::{FieldPath, Location, Seg};

/// The source position of the value at `path` (or of its nearest existing parent).
pub fn locate(src: &str, path: &FieldPath) -> Option<Location> {
    let root = DeTable::parse(src).ok()?;
    let mut best = None;
    let mut table: Option<&DeTable> = Some(root.get_ref());
    let mut value: Option<&DeValue> = None;
    for seg in &path.0 {
        match seg {
            Seg::Key(k) => {
                let t = match (table, value) {
                    (Some(t), None) => t,
                    (_, Some(DeValue::Table(t))) => t,
                    _ => break,
                };
                let Some((key, v)) = t.iter().find(|(key, _)| key.get_ref().as_ref() == k) else {
                    break;
                };
                // point at the value where it exists inline, at the key for tables/arrays of tables
                best = Some(match v.get_ref() {
                    DeValue::Table(_) | DeValue::Array(_) => key.span().start,
                    _ => v.span().start,
                });
                table = None;
                value = Some(v.get_ref());
            }
            Seg::Index(i) => {
                let Some(DeValue::Array(a)) = value else {
                    break;
                };
                let Some(item) = a.get(*i) else { break };
                best = Some(item.span().start);
                value = Some(item.get_ref());
            }
        }
    }
    best.map(|o| Location::of_offset(src, o))
}
