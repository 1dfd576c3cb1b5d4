//! Time spans as systemd reads and writes them: the one duration grammar of sigil-top.
//!
//! Owns [`parse_us`] and [`format_us`]. Every duration an operator types goes through
//! `parse_us`: flags (`report --max-p99 1h30m`, `watch --exec-timeout 30s`), config keys
//! (`timeout = "100s"`, `pending_ttl = "1h 30min"`), the spans of `--since`/`--until`
//! (`-1h30m`, `+5m`, `10 min ago`, `@1795626316.5`) and the screen's `:` jump. What
//! `config --check` prints comes from `format_us`, which `parse_us` (and systemd) read
//! back to the same value.
//!
//! The grammar is systemd's `parse_sec()` (`src/basic/time-util.c`, systemd.time(7) "PARSING
//! TIME SPANS"), so a span means what it means to `journalctl --since`:
//! - one or more `NUMBER [UNIT]` parts, with or without spaces between them (`1h30m`,
//!   `1h 30min`, `2 days`, `1h+30m`); parts add up;
//! - a number is decimal digits with an optional fraction on any unit (`1.5s`, `1.5h`,
//!   `.5s`); a number without a unit is seconds (`90`);
//! - units, case-sensitive, the longest spelling first: `us`/`usec`/`µs`, `ms`/`msec`,
//!   `s`/`sec`/`second(s)`, `m`/`min`/`minute(s)`, `h`/`hr`/`hour(s)`, `d`/`day(s)`,
//!   `w`/`week(s)`, `M`/`month(s)` (30.44 days), `y`/`year(s)` (365.25 days);
//! - no sign (`-5s` is refused: `--since -5s` reads its own minus), no exponent, no comma.
//!
//! Why not a crate: the two named for this, jiff's "friendly" format and humantime, each
//! read a different language. jiff refuses a bare number (`--since -90`, 90 s ago to
//! journalctl), `M` and fractions on days (`1.5d`), reads `mins`/`secs` (systemd refuses
//! them) and makes `1 month` a calendar month; humantime refuses fractions (`1.5s`) and
//! bare numbers. Either would make `--since -1h30m` and `--max-p99 1h30m` differ from
//! journalctl somewhere, which is what this grammar exists to avoid. The port is one
//! small function, checked against systemd itself (`systemd-analyze timespan`) over
//! generated spans in `tests/integration/durations.rs`.

/// systemd's units, in its lookup order: the first spelling that prefixes the text wins
/// (`ms` before `m`, `min` before `m`, `months` before `m`).
const UNITS: [(&str, u64); 30] = [
    ("seconds", SEC),
    ("second", SEC),
    ("sec", SEC),
    ("s", SEC),
    ("minutes", MINUTE),
    ("minute", MINUTE),
    ("min", MINUTE),
    ("months", MONTH),
    ("month", MONTH),
    ("M", MONTH),
    ("msec", 1000),
    ("ms", 1000),
    ("m", MINUTE),
    ("hours", HOUR),
    ("hour", HOUR),
    ("hr", HOUR),
    ("h", HOUR),
    ("days", DAY),
    ("day", DAY),
    ("d", DAY),
    ("weeks", WEEK),
    ("week", WEEK),
    ("w", WEEK),
    ("years", YEAR),
    ("year", YEAR),
    ("y", YEAR),
    ("usec", 1),
    ("us", 1),
    ("\u{3bc}s", 1), // GREEK SMALL LETTER MU
    ("\u{b5}s", 1),  // MICRO SIGN
];

const SEC: u64 = 1_000_000;
const MINUTE: u64 = 60 * SEC;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
/// systemd's month: 30.44 days.
const MONTH: u64 = 2_629_800 * SEC;
/// systemd's year: 365.25 days.
const YEAR: u64 = 31_557_600 * SEC;

/// What the grammar accepts, for error messages.
pub(crate) const ACCEPTED_DURATION_FORMS: &str =
    "a number with a unit, as systemd reads time spans: \
\"250ms\", \"30s\", \"1.5s\", \"90\" (seconds), \"5min\", \"1h30m\", \"1h 30min\", \"2 days\"; \
units us, ms, s, m/min, h, d, w, M (month), y";

/// A span that could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("not a time span")]
    Invalid,
    #[error("too long")]
    Overflow,
    #[error("a span cannot be negative")]
    Negative,
    #[error("\"infinity\" is not a length")]
    Infinity,
}

/// systemd's whitespace (`WHITESPACE` in its string-util.h).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_space(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| is_space(c)).count();
    &s[n..]
}

/// `text` as systemd's `parse_sec()` reads it, in microseconds. systemd's `infinity` is
/// refused: every caller here needs a length.
pub fn parse_us(text: &str) -> Result<u64, DurationError> {
    let mut p = skip_space(text.as_bytes());
    if let Some(rest) = p.strip_prefix(b"infinity") {
        return if rest.iter().all(|&c| is_space(c)) {
            Err(DurationError::Infinity)
        } else {
            Err(DurationError::Invalid)
        };
    }
    let mut total: u64 = 0;
    let mut is_something = false;
    loop {
        p = skip_space(p);
        if p.is_empty() {
            return if is_something {
                Ok(total)
            } else {
                Err(DurationError::Invalid)
            };
        }
        if p[0] == b'-' {
            return Err(DurationError::Negative);
        }
        // strtoll: an optional '+', then decimal digits.
        let signed = usize::from(p[0] == b'+');
        let digits = p[signed..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let mut whole: u64 = 0;
        for &d in &p[signed..signed + digits] {
            whole = whole
                .checked_mul(10)
                .and_then(|w| w.checked_add(u64::from(d - b'0')))
                .filter(|&w| i64::try_from(w).is_ok())
                .ok_or(DurationError::Overflow)?;
        }
        // Where strtoll stops: after the digits, or at the start when there are none (so
        // "+.5" is refused while ".5" is a fraction).
        let after_number = if digits == 0 {
            p
        } else {
            &p[signed + digits..]
        };
        let (fraction, rest) = if let Some(frac) = after_number.strip_prefix(b".") {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            (Some(&frac[..n]), &frac[n..])
        } else if digits == 0 {
            return Err(DurationError::Invalid);
        } else {
            (None, after_number)
        };
        let unit_text = skip_space(rest);
        let (multiplier, after_unit) = UNITS
            .iter()
            .find_map(|&(name, us)| unit_text.strip_prefix(name.as_bytes()).map(|r| (us, r)))
            .unwrap_or((SEC, unit_text));
        // No unit and no space after the number: "12.34.56", "5x".
        if after_unit.len() == rest.len() && !rest.is_empty() {
            return Err(DurationError::Invalid);
        }
        p = after_unit;
        if whole >= u64::MAX / multiplier {
            return Err(DurationError::Overflow);
        }
        let k = whole * multiplier;
        if k >= u64::MAX - total {
            return Err(DurationError::Overflow);
        }
        total += k;
        is_something = true;
        if let Some(fraction) = fraction {
            // "3.", "3.s", "3. 1": a point needs a digit after it.
            if fraction.is_empty() {
                return Err(DurationError::Invalid);
            }
            let mut m = multiplier / 10;
            for &d in fraction {
                let k = u64::from(d - b'0') * m;
                if k >= u64::MAX - total {
                    return Err(DurationError::Overflow);
                }
                total += k;
                m /= 10;
            }
        }
    }
}

/// `us` in the grammar [`parse_us`] reads, the way systemd's `format_timespan()` writes
/// it (`1h 30min`, `250ms`, `1min 40s`, `2d`); under a minute, a remainder is written as a
/// fraction with its trailing zeros dropped (`1.5s`, `12.25ms`). `0s` for zero.
pub fn format_us(us: u64) -> String {
    use std::fmt::Write;
    const TABLE: [(&str, u64); 9] = [
        ("y", YEAR),
        ("month", MONTH),
        ("w", WEEK),
        ("d", DAY),
        ("h", HOUR),
        ("min", MINUTE),
        ("s", SEC),
        ("ms", 1000),
        ("us", 1),
    ];
    if us == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut t = us;
    for (suffix, unit) in TABLE {
        if t == 0 {
            break;
        }
        if t < unit {
            continue;
        }
        let (whole, rest) = (t / unit, t % unit);
        if !out.is_empty() {
            out.push(' ');
        }
        if t < MINUTE && rest > 0 && unit > 1 {
            // The digits of `rest` below `unit`: as many as `unit` has zeros.
            let width = unit.ilog10() as usize;
            let digits = format!("{rest:0width$}");
            let _ = write!(out, "{whole}.{}{suffix}", digits.trim_end_matches('0'));
            t = 0;
        } else {
            let _ = write!(out, "{whole}{suffix}");
            t = rest;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_systemds_time_spans() {
        let rows: [(&str, u64); 31] = [
            ("0", 0),
            ("90", 90 * SEC),
            ("250ms", 250_000),
            ("1.5s", 1_500_000),
            (".5s", 500_000),
            ("1h30m", 90 * MINUTE),
            ("1h 30min", 90 * MINUTE),
            ("1h+30m", 90 * MINUTE),
            ("1 h 30 min", 90 * MINUTE),
            ("2 days", 2 * DAY),
            ("2days", 2 * DAY),
            ("1.5h", 90 * MINUTE),
            ("1d 1.5h", DAY + 90 * MINUTE),
            ("1w", WEEK),
            ("1M", MONTH),
            ("1 month", MONTH),
            ("1y", YEAR),
            ("5 10", 15 * SEC),
            ("12.34 .56", 12_900_000),
            ("1us", 1),
            ("1\u{b5}s", 1),
            ("1\u{3bc}s", 1),
            ("1usec", 1),
            ("3msec", 3000),
            ("  5s  ", 5 * SEC),
            ("+5", 5 * SEC),
            ("1hr", HOUR),
            ("1 hours", HOUR),
            ("1.0000001s", SEC),
            ("0.0000019s", 1),
            ("1seconds", SEC),
        ];
        for (text, us) in rows {
            assert_eq!(parse_us(text), Ok(us), "{text:?}");
        }
    }

    #[test]
    fn refuses_what_systemd_refuses() {
        for text in [
            "",
            " ",
            "5mins",
            "1secs",
            "1H",
            "-5s",
            "5.",
            "5.s",
            "1.5.5s",
            "1e3",
            "5x",
            "1,5s",
            "s",
            ".",
            "+",
            "+.5",
            "+ 5",
            "infinity",
            "infinityx",
            "1h,30m",
            "- 5",
            "1 fortnight",
        ] {
            assert!(parse_us(text).is_err(), "{text:?} was read");
        }
        assert_eq!(
            parse_us("99999999999999999999"),
            Err(DurationError::Overflow)
        );
        assert_eq!(parse_us("999999999y"), Err(DurationError::Overflow));
        assert_eq!(parse_us("infinity"), Err(DurationError::Infinity));
    }

    #[test]
    fn formats_as_systemd_writes_spans() {
        let rows: [(u64, &str); 12] = [
            (0, "0s"),
            (1, "1us"),
            (250_000, "250ms"),
            (1_500_000, "1.5s"),
            (12_250, "12.25ms"),
            (100 * SEC, "1min 40s"),
            (90 * MINUTE, "1h 30min"),
            (15 * MINUTE, "15min"),
            (2 * DAY, "2d"),
            (WEEK + DAY + 1, "1w 1d 1us"),
            (MINUTE + 500_000, "1min 500ms"),
            (YEAR + MONTH, "1y 1month"),
        ];
        for (us, text) in rows {
            assert_eq!(format_us(us), text, "{us}");
        }
    }

    /// Whatever is printed reads back to the same value (the config round trip relies on
    /// it), over values of every size.
    #[test]
    fn every_printed_span_reads_back_to_itself() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..20_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Spread over magnitudes: 1 µs .. ~10^15 µs (30 years).
            let us = state % 10u64.pow(1 + i % 15);
            let text = format_us(us);
            assert_eq!(parse_us(&text), Ok(us), "{us} printed as {text:?}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let alphabet = [
            "1", "9", ".", " ", "+", "-", "h", "m", "s", "M", "min", "\u{b5}", "ms", "é", "\t",
            "infinity",
        ];
        let mut state: u64 = 88_172_645_463_325_252;
        for _ in 0..5000 {
            let mut s = String::new();
            for _ in 0..7 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push_str(alphabet[usize::try_from(state % 16).unwrap_or(0)]);
            }
            let _ = parse_us(&s);
        }
    }
}
