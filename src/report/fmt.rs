//! Numbers for people, one convention everywhere: rates as percentages with intervals that stay
//! within 0–100%, durations as `1h 02m`, money in USD with cents, counts whole, anything else
//! with the precision its size needs; and text that fits 100 columns.

/// The widest line of text output.
pub const WIDTH: usize = 100;

/// Four significant digits, never rounded to zero (`0.00001234` stays `0.00001234`, where
/// `{:.4}` would write `0.0000`).
pub fn sig(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

/// [`sig`] without trailing zeros: `0.05`, `0.2`, `12.5`.
pub fn short(x: f64) -> String {
    let s = sig(x);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A fraction as a percentage with the precision its size needs: `12.3%`, `0.27%`, `0.004%`.
pub fn pct(f: f64) -> String {
    if !f.is_finite() {
        return "–".into();
    }
    let p = 100.0 * f;
    let a = p.abs();
    if a == 0.0 {
        "0%".into()
    } else if a >= 10.0 {
        format!("{p:.1}%")
    } else if a >= 0.1 {
        format!("{p:.2}%")
    } else {
        format!("{}%", short(p))
    }
}

/// Seconds as `45s`, `12m 30s`, `1h 02m`, `2d 03h`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "–".into();
    }
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m {:02}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h {:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// A value in its unit (`fraction`, `s`, `USD`, …): a percentage, a duration, a number.
pub fn in_unit(unit: &str, v: f64) -> String {
    match unit {
        "fraction" => pct(v),
        "s" => duration(v.abs()),
        _ => super::num(v),
    }
}

/// US dollars: `1234`, `28.28`, `0.0042`.
pub fn usd(v: f64) -> String {
    crate::report::num(v)
}

/// The Wilson score interval at 95% for a proportion `p` observed on `n` (effective) trials:
/// always within [0, 1], and not empty at `p = 0` or `p = 1`.
pub fn wilson(p: f64, n: f64) -> (f64, f64) {
    if n.is_nan() || n <= 0.0 || !p.is_finite() {
        return (0.0, 1.0);
    }
    let p = p.clamp(0.0, 1.0);
    let z = 1.959_963_984_540_054_f64;
    let z2n = z * z / n;
    let centre = (p + z2n / 2.0) / (1.0 + z2n);
    let half = z * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt() / (1.0 + z2n);
    // exact at the edges (the closed form gives 0 and 1 there, floating point nearly)
    let low = if p == 0.0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if p == 1.0 {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (low, high)
}

/// Cuts `text` to at most `width` characters, ending with `…` when cut.
pub fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// Wraps `text` at spaces to lines of at most `width` characters, each after the first
/// starting with the text's own leading spaces and then `indent`.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let body = text.trim_start_matches(' ');
    let lead = &text[..text.len() - body.len()];
    let indent = format!("{lead}{indent}");
    let mut out = String::new();
    let mut line = lead.to_string();
    let mut words_on_line = 0;
    // a word longer than a line (a long retry spec, a URL) is cut after its commas or slashes
    let room = width.saturating_sub(indent.chars().count()).max(20);
    let mut words: Vec<String> = Vec::new();
    for word in body.split(' ') {
        let mut rest = word;
        while rest.chars().count() > room {
            let cut: String = rest.chars().take(room).collect();
            let at = cut
                .rfind([',', '/', '&'])
                .map(|i| i + 1)
                .filter(|i| *i > room / 3)
                .unwrap_or(cut.len());
            words.push(rest[..at].to_string());
            rest = &rest[at..];
        }
        words.push(rest.to_string());
    }
    for word in &words {
        let word = word.as_str();
        let len = line.chars().count();
        if words_on_line > 0 && len + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.clone();
            words_on_line = 0;
        } else if words_on_line > 0 && !line.ends_with(' ') {
            line.push(' ');
        }
        line.push_str(word);
        words_on_line += 1;
    }
    out.push_str(&line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_closed_form_and_stays_in_bounds() {
        // p = 0.5, n = 100: the textbook interval [0.4038, 0.5962]
        let (l, h) = wilson(0.5, 100.0);
        assert!(
            (l - 0.403_832).abs() < 1e-5 && (h - 0.596_168).abs() < 1e-5,
            "{l} {h}"
        );
        // never below 0 or above 1, and not empty at the edges
        let (l, h) = wilson(0.0, 50.0);
        assert_eq!(l, 0.0);
        assert!((h - 0.071_348).abs() < 1e-5, "{h}");
        let (l, h) = wilson(1.0, 50.0);
        assert!(h == 1.0 && l < 1.0);
    }

    #[test]
    fn people_formats() {
        assert_eq!(pct(0.0027), "0.27%");
        assert_eq!(pct(0.123), "12.3%");
        assert_eq!(pct(0.000_04), "0.004%");
        assert_eq!(duration(3_725.0), "1h 02m");
        assert_eq!(duration(750.0), "12m 30s");
        assert_eq!(duration(45.0), "45s");
        assert_eq!(sig(0.000_012_34), "0.00001234");
        assert_eq!(wrap("aaa bbb ccc", 7, "  "), "aaa bbb\n  ccc");
        // an indented line keeps its indent, and its continuations go deeper
        assert_eq!(wrap("  aaa bbb ccc", 9, "  "), "  aaa bbb\n    ccc");
        assert_eq!(clip("abcdef", 4), "abc…");
        // a word longer than the line is cut after a comma
        let long = format!("x {}", "a,".repeat(30));
        assert!(
            wrap(&long, 24, "  ")
                .lines()
                .all(|l| l.chars().count() <= 24)
        );
    }
}
