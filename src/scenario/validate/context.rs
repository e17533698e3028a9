//! The validation context: the diagnostics gathered so far, the file loader, and the checks
//! every section shares (durations, fractions, referenced files).

use crate::model::SimTime;
use crate::scenario::error::FieldPath;

/// Reads a file named in the scenario (path as written, relative to the scenario file).
pub type Loader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// Default simulation start: 2026-01-05T00:00:00Z, a Monday.
pub const DEFAULT_START_UNIX_MS: i64 = 1_767_571_200_000;

pub(super) struct Ctx<'a> {
    /// (field path, where to point instead when the path is not in the file, message)
    pub(super) diags: Vec<(FieldPath, Option<FieldPath>, String)>,
    pub(super) loader: Loader<'a>,
}

impl Ctx<'_> {
    pub(super) fn err(&mut self, path: &FieldPath, msg: impl Into<String>) {
        self.diags.push((path.clone(), None, msg.into()));
    }
    /// An error about `path` that points at `fallback` when `path` is not written in the file.
    pub(super) fn err_or_at(
        &mut self,
        path: &FieldPath,
        fallback: &FieldPath,
        msg: impl Into<String>,
    ) {
        self.diags
            .push((path.clone(), Some(fallback.clone()), msg.into()));
    }
    pub(super) fn dur(&mut self, path: &FieldPath, text: &str) -> Option<SimTime> {
        SimTime::parse_human(text)
            .map_err(|m| self.err(path, m))
            .ok()
    }
    pub(super) fn positive_dur(&mut self, path: &FieldPath, text: &str) -> Option<SimTime> {
        let d = self.dur(path, text)?;
        if d.0 == 0 {
            self.err(path, format!("`{text}` must be longer than zero"));
            return None;
        }
        Some(d)
    }
    pub(super) fn load(&mut self, path: &FieldPath, name: &str) -> Option<String> {
        (self.loader)(name)
            .map_err(|e| self.err(path, format!("cannot read `{name}`: {e}")))
            .ok()
    }
    pub(super) fn fraction(&mut self, path: &FieldPath, v: f64, upper_open: bool) -> Option<f64> {
        let ok = v.is_finite() && v >= 0.0 && if upper_open { v < 1.0 } else { v <= 1.0 };
        if !ok {
            let range = if upper_open { "[0, 1)" } else { "[0, 1]" };
            self.err(path, format!("`{v}` is outside {range}"));
            return None;
        }
        Some(v)
    }
}
