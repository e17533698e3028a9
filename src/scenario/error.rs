//! Scenario errors and warnings that name the file, line:column, field path and what is allowed.

use std::fmt;

/// One segment of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A field path such as `cluster.strategy[1].weight`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// The root path.
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }
    /// Parses `a.b[2].c` (keys without dots or brackets).
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(i) = rest.find('[') {
                let key = &rest[..i];
                if !key.is_empty() {
                    segs.push(Seg::Key(key.to_string()));
                }
                rest = &rest[i..];
                while let Some(stripped) = rest.strip_prefix('[') {
                    let Some(end) = stripped.find(']') else { break };
                    if let Ok(n) = stripped[..end].parse() {
                        segs.push(Seg::Index(n));
                    }
                    rest = &stripped[end + 1..];
                }
            } else {
                segs.push(Seg::Key(rest.to_string()));
            }
        }
        FieldPath(segs)
    }
    /// This path with a key appended.
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }
    /// This path with an index appended.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(key) if k == 0 => write!(f, "{key}")?,
                Seg::Key(key) => write!(f, ".{key}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// A position in the scenario source (1-based line and column, in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

impl Location {
    /// Line and column of a byte offset in `src`.
    pub fn of_offset(src: &str, offset: usize) -> Location {
        let offset = offset.min(src.len());
        let before = &src[..src.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        Location {
            line,
            col: before[line_start..].chars().count() + 1,
        }
    }
}

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    /// Where, when it could be found.
    pub location: Option<Location>,
    /// The field path (empty for a syntax error).
    pub path: FieldPath,
    /// What is wrong and what is allowed (lowercase, values in backticks).
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.location {
            write!(f, ":{}:{}", l.line, l.col)?;
        }
        if !self.path.0.is_empty() {
            write!(f, ": `{}`", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a scenario file (at least one); at most `MAX_SHOWN` are kept, and
/// the count of the rest.
#[derive(Clone, Debug, thiserror::Error)]
pub struct ScenarioError {
    /// The problems, in file order where known (the first `MAX_SHOWN`).
    pub diagnostics: Vec<Diagnostic>,
    /// How many more were found and not kept.
    pub more: usize,
}

/// Errors shown for one file; the rest are counted ("… and 7949 more errors").
pub(crate) const MAX_SHOWN: usize = 50;

impl ScenarioError {
    /// One diagnostic.
    pub fn one(d: Diagnostic) -> Self {
        ScenarioError {
            diagnostics: vec![d],
            more: 0,
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, d) in self.diagnostics.iter().enumerate() {
            if k > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {d}")?;
        }
        if self.more > 0 {
            write!(
                f,
                "\nerror: … and {} more error{} (the first {} are shown; fix these first)",
                self.more,
                if self.more == 1 { "" } else { "s" },
                self.diagnostics.len()
            )?;
        }
        Ok(())
    }
}
