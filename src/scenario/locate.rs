//! Maps a field path to its line:column in the TOML source.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{FieldPath, Location, Seg};

/// The source position of the value at `path` (or of its nearest existing parent).
pub(super) fn locate(src: &str, path: &FieldPath) -> Option<Location> {
    Locator::new(src).locate(path)
}

/// Locates many paths in one source: the TOML is parsed once and the line starts indexed once,
/// so locating every error of a file with thousands of them stays linear.
pub(super) struct Locator<'a> {
    src: &'a str,
    root: Option<Spanned<DeTable<'a>>>,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    /// Parses `src` once.
    pub(super) fn new(src: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Locator {
            src,
            root: DeTable::parse(src).ok(),
            line_starts,
        }
    }

    /// The line and column of byte `offset`.
    pub(super) fn location_of(&self, offset: usize) -> Location {
        let offset = self.src.floor_char_boundary(offset.min(self.src.len()));
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        Location {
            line,
            col: self.src[start..offset].chars().count() + 1,
        }
    }

    /// The source position of the value at `path` (or of its nearest existing parent).
    pub(super) fn locate(&self, path: &FieldPath) -> Option<Location> {
        self.offset(path).map(|o| self.location_of(o))
    }

    fn offset(&self, path: &FieldPath) -> Option<usize> {
        let root = self.root.as_ref()?;
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
                    let Some((key, v)) = t.iter().find(|(key, _)| key.get_ref().as_ref() == k)
                    else {
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
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_the_same_place_as_a_scan() {
        let src = "a = 1\n\n[b]\nc = \"é\"\nd = 2";
        let l = Locator::new(src);
        for o in 0..=src.len() {
            assert_eq!(l.location_of(o), Location::of_offset(src, o), "offset {o}");
        }
    }
}
