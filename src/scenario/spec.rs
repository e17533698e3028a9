//! Compact specs used by sweeps, in files and on the command line: percentage ranges as
//! `0:100:10` or `0,50,100`, comma lists that respect brackets, placements. Retry specs are
//! the retry grammar's ([`super::retry`]), re-exported here.

use crate::model::{Placement, PlacementSpec};

pub use super::retry::{parse_spec as parse_retry_spec, spec as retry_spec};

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
pub fn parse_percent_range(text: &str) -> Result<Vec<u32>, crate::model::Invalid> {
    parse_percent_range_text(text).map_err(crate::model::Invalid)
}

/// `parse_percent_range`'s work, its error in words.
fn parse_percent_range_text(text: &str) -> Result<Vec<u32>, String> {
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
        // check before building the list: `0:4294967295:1` must not allocate 17 GB
        if to > 100 {
            return Err(format!("`{to}` is not a percentage (0–100)"));
        }
        if (to - from) % step != 0 {
            let last = to - (to - from) % step;
            return Err(format!(
                "`{t}` stops at {last}, not {to} ({from} plus steps of {step}); write `{from}:{last}:{step}` or list the values, e.g. `{from},{},{to}`",
                from + step
            ));
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
pub fn parse_placement(text: &str) -> Result<Placement, crate::model::Invalid> {
    parse_placement_text(text).map_err(crate::model::Invalid)
}

/// `parse_placement`'s work, its error in words.
fn parse_placement_text(text: &str) -> Result<Placement, String> {
    match parse_placement_spec(text)? {
        PlacementSpec::Reading(p) => Ok(p),
        PlacementSpec::Robust => Err(format!(
            "`robust` is not a single reading here; allowed: {}",
            Placement::ALL
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Parses a placement: `robust` or a reading name.
pub fn parse_placement_spec(text: &str) -> Result<PlacementSpec, crate::model::Invalid> {
    parse_placement_spec_text(text).map_err(crate::model::Invalid)
}

/// `parse_placement_spec`'s work, its error in words.
fn parse_placement_spec_text(text: &str) -> Result<PlacementSpec, String> {
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
    let hint = crate::scenario::retry::grammar::did_you_mean(t, &names);
    Err(format!(
        "`{t}` is not a placement model{hint}; allowed: {}",
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
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
                .contains("`120` is not a percentage")
        );
        // the range is checked before the list is built (this used to allocate 17 GB)
        assert!(
            parse_percent_range("0:4294967295:1")
                .unwrap_err()
                .contains("`4294967295` is not a percentage")
        );
        // a step that misses the end is said, not silently dropped
        assert_eq!(
            parse_percent_range("0:100:33").unwrap_err(),
            "`0:100:33` stops at 99, not 100 (0 plus steps of 33); write `0:99:33` or list the values, e.g. `0,33,100`"
        );
        assert!(parse_percent_range("a:b").is_err());
    }
}
