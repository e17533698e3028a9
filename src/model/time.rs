//! Simulated time in integer milliseconds, human duration parsing and event rates.

use std::fmt;

/// A point or span of simulated time, in milliseconds since the start of the horizon.
///
/// Integer time keeps the engine deterministic: the same scenario and seed replay the same
/// event order on any machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Zero milliseconds.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time; used as "never".
    pub const NEVER: SimTime = SimTime(u64::MAX);
    /// One second.
    pub const SECOND: SimTime = SimTime(1_000);
    /// One minute.
    pub const MINUTE: SimTime = SimTime(60_000);
    /// One hour.
    pub const HOUR: SimTime = SimTime(3_600_000);
    /// One day.
    pub const DAY: SimTime = SimTime(86_400_000);

    /// From whole milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        SimTime(ms)
    }
    /// From whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s * 1_000)
    }
    /// From fractional seconds, rounded to the nearest millisecond (negative → 0).
    pub fn from_secs_f64(s: f64) -> Self {
        Self::from_ms_f64(s * 1_000.0)
    }
    /// From fractional milliseconds, rounded half up (negative or NaN → 0). No libm call:
    /// `f64::round` is one on x86-64 without SSE4.1, and the engine calls this per arrival.
    #[inline]
    pub fn from_ms_f64(ms: f64) -> Self {
        if ms > 0.0 {
            // `as` saturates: +∞ and anything past the cap become the cap
            SimTime((ms + 0.5).min(u64::MAX as f64 / 2.0) as u64)
        } else {
            SimTime(0)
        }
    }
    /// Milliseconds.
    pub const fn ms(self) -> u64 {
        self.0
    }
    /// Seconds as `f64`.
    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1_000.0
    }
    /// Hours as `f64`.
    pub fn hours_f64(self) -> f64 {
        self.0 as f64 / 3_600_000.0
    }
    /// Saturating addition.
    pub const fn plus(self, d: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
    /// Saturating subtraction.
    pub const fn minus(self, d: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }

    /// Parses a human duration: `"90s"`, `"12m"`, `"1h30m"`, `"30d"`, `"250ms"`, `"0s"`.
    ///
    /// Units: ms, s, m, h, d, w (humantime's set). A bare number is rejected because its unit
    /// would be a guess.
    pub fn parse_human(text: &str) -> Result<SimTime, super::Invalid> {
        Self::parse_human_text(text).map_err(super::Invalid)
    }

    /// [`Self::parse_human`]'s work, its error in words.
    fn parse_human_text(text: &str) -> Result<SimTime, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty duration".into());
        }
        if t.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(format!(
                "`{t}` has no unit; write it like \"90s\", \"12m\", \"1h30m\" or \"30d\""
            ));
        }
        let d = humantime::parse_duration(t)
            .map_err(|e| format!("`{t}` is not a duration ({e}); write it like \"90s\", \"12m\", \"1h30m\" or \"30d\""))?;
        // the simulator counts whole milliseconds, up to a century
        if !d.is_zero() && d.as_millis() == 0 {
            return Err(format!(
                "`{t}` is shorter than 1ms, the simulator's resolution; write `0s` or at least `1ms`"
            ));
        }
        if d.as_millis() > SimTime::MAX_SPAN.0 as u128 {
            return Err(format!(
                "`{t}` is longer than 100 years, the longest span spotplan simulates"
            ));
        }
        Ok(SimTime(d.as_millis() as u64))
    }

    /// The longest duration anything can have: 100 years (36,500 days). Horizons, delays and
    /// durations are bounded by it; the work budget bounds what is simulated within it.
    pub const MAX_SPAN: SimTime = SimTime(36_500 * 86_400_000);
}

impl fmt::Display for SimTime {
    /// Formats compactly, e.g. `1h30m`, `45s`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return write!(f, "0s");
        }
        let units = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
            (1, "ms"),
        ];
        for (size, name) in units {
            if ms >= size {
                write!(f, "{}{}", ms / size, name)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

/// An event rate in events per hour (for interruptions: per running spot task-hour).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Rate {
    /// Events per hour, finite and ≥ 0.
    pub per_hour: f64,
}

impl Rate {
    /// The highest rate: one event per millisecond.
    pub const MAX_PER_HOUR: f64 = 3_600_000.0;
    /// The lowest rate above zero: one event per 100 years.
    pub const MIN_PER_HOUR: f64 = 1.0 / (36_500.0 * 24.0);

    /// Events per millisecond.
    pub fn per_ms(self) -> f64 {
        self.per_hour / 3_600_000.0
    }

    /// The mean gap between events, ms.
    #[inline]
    pub fn mean_gap_ms(self) -> f64 {
        3_600_000.0 / self.per_hour
    }

    /// Parses `"0.05/h"`, `"6/hour"`, `"2/d"`, `"1/day"`, `"3/30m"`, `"10/w"`.
    pub fn parse(text: &str) -> Result<Rate, super::Invalid> {
        Self::parse_text(text).map_err(super::Invalid)
    }

    /// [`Self::parse`]'s work, its error in words.
    fn parse_text(text: &str) -> Result<Rate, String> {
        let t = text.trim();
        let Some((num, per)) = t.split_once('/') else {
            return Err(format!(
                "`{t}` is not a rate; write it like \"0.05/h\", \"6/h\" or \"2/d\""
            ));
        };
        let n: f64 = num.trim().parse().map_err(|_| {
            format!(
                "`{t}`: `{}` is not a number; write a rate like \"0.05/h\"",
                num.trim()
            )
        })?;
        if !n.is_finite() || n < 0.0 {
            return Err(format!("`{t}`: a rate must be a finite number ≥ 0"));
        }
        let per = per.trim();
        let unit = match per {
            "h" | "hr" | "hour" => SimTime::HOUR,
            "d" | "day" => SimTime::DAY,
            "m" | "min" | "minute" => SimTime::MINUTE,
            "s" | "sec" | "second" => SimTime::SECOND,
            "w" | "week" => SimTime(7 * SimTime::DAY.0),
            other => SimTime::parse_human(other).map_err(|_| {
                format!(
                    "`{t}`: `{other}` is not a time unit; use h, d, m, s, w or a duration like 30m"
                )
            })?,
        };
        if unit.0 == 0 {
            return Err(format!("`{t}`: the period must be longer than zero"));
        }
        let per_hour = n * SimTime::HOUR.0 as f64 / unit.0 as f64;
        // a rate above 0 must have a mean gap between 1 ms (the resolution) and 100 years
        if per_hour > Rate::MAX_PER_HOUR {
            return Err(format!(
                "`{t}` is more than one event per millisecond (the simulator's resolution); the most is \"1/ms\" = {}/h",
                Rate::MAX_PER_HOUR
            ));
        }
        if per_hour > 0.0 && per_hour < Rate::MIN_PER_HOUR {
            return Err(format!(
                "`{t}` is less than one event per 100 years; write `0/h` for none"
            ));
        }
        Ok(Rate { per_hour })
    }

    /// The rate whose Poisson process fires at least once in `over` with probability `p`:
    /// λ = −ln(1 − p) / over.
    pub fn from_probability(p: f64, over: SimTime) -> Result<Rate, super::Invalid> {
        if !(0.0..1.0).contains(&p) {
            return Err(super::Invalid(format!(
                "probability `{p}` must be in [0, 1)"
            )));
        }
        if over.0 == 0 {
            return Err(super::Invalid(
                "the period of a probability must be longer than zero".into(),
            ));
        }
        Ok(Rate {
            per_hour: -(1.0 - p).ln() / over.hours_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_durations() {
        assert_eq!(SimTime::parse_human("90s").unwrap(), SimTime(90_000));
        assert_eq!(SimTime::parse_human("1h30m").unwrap(), SimTime(5_400_000));
        assert_eq!(
            SimTime::parse_human("30d").unwrap(),
            SimTime(30 * 86_400_000)
        );
        assert_eq!(SimTime::parse_human("250ms").unwrap(), SimTime(250));
        assert!(SimTime::parse_human("90").unwrap_err().contains("no unit"));
        assert!(SimTime::parse_human("ninety").is_err());
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(SimTime(5_400_000).to_string(), "1h30m");
        assert_eq!(SimTime(90_250).to_string(), "1m30s250ms");
        assert_eq!(SimTime(0).to_string(), "0s");
    }

    #[test]
    fn parses_rates() {
        assert_eq!(Rate::parse("0.05/h").unwrap().per_hour, 0.05);
        assert_eq!(Rate::parse("2/d").unwrap().per_hour, 2.0 / 24.0);
        assert_eq!(Rate::parse("3/30m").unwrap().per_hour, 6.0);
        assert!(Rate::parse("0.05").is_err());
        assert!(Rate::parse("x/h").is_err());
        assert!(Rate::parse("1/fortnight").is_err());
        let r = Rate::from_probability(0.5, SimTime::HOUR).unwrap();
        assert!((r.per_hour - std::f64::consts::LN_2).abs() < 1e-12);
    }
}
