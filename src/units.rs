//! Values in their units, for people, one convention everywhere: rates as percentages,
//! durations as `1h 02m`, money in USD with cents, counts whole, sizes in KiB/MiB/GiB,
//! anything else with the precision its size needs; and text that fits 100 columns.
//!
//! A leaf below everything but `model`: the scenario, the statistics, the deploy plan and the
//! reports all print numbers through it, so no lower layer needs `report` to show a value.

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
        // three significant digits, as 0.27% has: `0.0267%`, not `0.02674%`
        let digits = (2 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{p:.digits$}");
        format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
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
        _ => num(v),
    }
}

/// Money for people, one format everywhere on the page and its charts: `$1,234`, `$28.28`,
/// `$0.42`, `<$0.01`, `−$3.06`.
pub fn money(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let sign = if v < 0.0 { "−" } else { "" };
    let a = v.abs();
    if a >= 1000.0 {
        let whole = format!("{a:.0}");
        let mut grouped = String::new();
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        format!("{sign}${grouped}")
    } else if a > 0.0 && a < 0.005 {
        format!("{sign}<$0.01")
    } else {
        format!("{sign}${a:.2}")
    }
}

/// A number with a precision that suits its size.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "–".into()
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{v:.4}")
    }
}

/// `1.2e9` as `1.2 G`, `35 000` as `35 k`.
pub fn human_count(x: f64) -> String {
    match x {
        x if x >= 1e12 => format!("{:.1} T", x / 1e12),
        x if x >= 1e9 => format!("{:.1} G", x / 1e9),
        x if x >= 1e6 => format!("{:.1} M", x / 1e6),
        x if x >= 1e4 => format!("{:.0} k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

pub fn human_secs(s: f64) -> String {
    match s {
        s if s >= 86_400.0 => format!("{:.1} days", s / 86_400.0),
        s if s >= 3_600.0 => format!("{:.1} h", s / 3_600.0),
        s if s >= 60.0 => format!("{:.0} min", s / 60.0),
        s => format!("{s:.1} s"),
    }
}

pub fn human_bytes(b: f64) -> String {
    match b {
        b if b >= 1024.0 * 1024.0 * 1024.0 => format!("{:.1} GiB", b / 1024.0 / 1024.0 / 1024.0),
        b if b >= 1024.0 * 1024.0 => format!("{:.0} MiB", b / 1024.0 / 1024.0),
        b => format!("{:.0} KiB", b / 1024.0),
    }
}

/// Parses `--max-memory`: `2GB`, `512MiB`, `4G`, or bytes.
pub fn parse_bytes(text: &str) -> Result<f64, crate::model::Invalid> {
    parse_bytes_text(text).map_err(crate::model::Invalid)
}

/// `parse_bytes`'s work, its error in words.
fn parse_bytes_text(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{t}` is not a size; write it like `2GB` or `512MB`"))?;
    let k = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        u => return Err(format!("`{u}` is not a size unit; use KB, MB, GB or TB")),
    };
    let v = n * k;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("`{t}` must be a size above zero"));
    }
    Ok(v)
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
    fn money_reads_one_way() {
        assert_eq!(money(1234.6), "$1,235");
        assert_eq!(money(1_234_567.0), "$1,234,567");
        assert_eq!(money(999.994), "$999.99");
        assert_eq!(money(28.283), "$28.28");
        assert_eq!(money(0.42), "$0.42");
        assert_eq!(money(0.004), "<$0.01");
        assert_eq!(money(0.0), "$0.00");
        assert_eq!(money(-3.06), "−$3.06");
    }

    #[test]
    fn people_formats() {
        assert_eq!(pct(0.0027), "0.27%");
        assert_eq!(pct(0.123), "12.3%");
        assert_eq!(pct(0.000_04), "0.004%");
        assert_eq!(pct(0.000_267_4), "0.0267%");
        assert_eq!(pct(0.000_142_3), "0.0142%");
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
