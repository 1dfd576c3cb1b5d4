//! Parsing the times users type for `--since` and `--until`, the way `journalctl` reads them.
//!
//! Owns one pure function, [`parse_time`]: text plus "now" in, a [`Timestamp`] out, so it
//! can be fuzzed and tested without a clock. Local times are read in `now`'s time zone
//! (the app passes `chrono::Local::now()`).
//!
//! Accepted forms (see systemd.time(7), "PARSING TIMESTAMPS"): `now`, `today`,
//! `yesterday`, `tomorrow`; `YYYY-MM-DD[ HH:MM[:SS[.frac]]]` (also with `T`), `HH:MM[:SS]`
//! (today); any of those followed by ` UTC`; RFC 3339 with an offset; `@SECONDS[.frac]`;
//! relative spans `-1h`, `+5m`, `-1h30min`, `10 min ago`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use super::Timestamp;

/// What `--since`/`--until` accept, for error messages.
pub const ACCEPTED_TIME_FORMS: &str =
    "accepted forms: \"2026-11-24 10:00:00\", \"2026-11-24 10:00\", \
\"2026-11-24\", \"10:00\", \"10:00:30\", \"today\", \"yesterday\", \"now\", \"-1h\", \"-30min\", \
\"+5m\", \"10 min ago\", \"@1795626316\", RFC 3339 (\"2026-11-24T10:00:00+01:00\"); \
add \" UTC\" to a date or time to read it in UTC instead of local time";

/// A time that could not be read; the message names the input and the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {input:?} as a time ({reason}); {ACCEPTED_TIME_FORMS}")]
pub struct TimeError {
    pub input: String,
    pub reason: &'static str,
}

/// Reads `input` relative to `now` (whose time zone is the one local times are in).
pub fn parse_time<Tz: TimeZone>(input: &str, now: &DateTime<Tz>) -> Result<Timestamp, TimeError> {
    let err = |reason| TimeError {
        input: input.to_owned(),
        reason,
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(err("it is empty"));
    }
    let tz = now.timezone();
    let today = now.date_naive();
    let midnight = |date: NaiveDate| local_to_timestamp(&tz, date.and_time(NaiveTime::MIN));
    match text.to_ascii_lowercase().as_str() {
        "now" => return to_timestamp(now).ok_or_else(|| err("it is before 1970")),
        "today" => return midnight(today).ok_or_else(|| err("no such local time")),
        "yesterday" => {
            return today
                .pred_opt()
                .and_then(midnight)
                .ok_or_else(|| err("no such local time"))
        }
        "tomorrow" => {
            return today
                .succ_opt()
                .and_then(midnight)
                .ok_or_else(|| err("no such local time"))
        }
        _ => {}
    }
    if let Some(seconds) = text.strip_prefix('@') {
        let us =
            parse_decimal_scaled(seconds, 1_000_000).ok_or_else(|| err("bad number after '@'"))?;
        return u64::try_from(us)
            .map(Timestamp)
            .map_err(|_| err("out of range"));
    }
    let now_us = i128::from(now.timestamp_micros());
    if let Some(span) = text.strip_prefix('-') {
        let us = parse_span(span).ok_or_else(|| err("bad time span"))?;
        return from_micros(now_us - us).ok_or_else(|| err("out of range"));
    }
    if let Some(span) = text.strip_prefix('+') {
        let us = parse_span(span).ok_or_else(|| err("bad time span"))?;
        return from_micros(now_us + us).ok_or_else(|| err("out of range"));
    }
    if let Some(span) = text.strip_suffix(" ago") {
        let us = parse_span(span).ok_or_else(|| err("bad time span"))?;
        return from_micros(now_us - us).ok_or_else(|| err("out of range"));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return to_timestamp(&t).ok_or_else(|| err("it is before 1970"));
    }
    let (local_text, is_utc) = match text
        .strip_suffix(" UTC")
        .or_else(|| text.strip_suffix(" utc"))
    {
        Some(rest) => (rest.trim_end(), true),
        None => (text, false),
    };
    let naive = parse_naive(local_text, today).ok_or_else(|| err("not a known form"))?;
    let found = if is_utc {
        local_to_timestamp(&Utc, naive)
    } else {
        local_to_timestamp(&tz, naive)
    };
    found.ok_or_else(|| err("no such local time (a daylight-saving gap?) or before 1970"))
}

fn parse_naive(text: &str, today: NaiveDate) -> Option<NaiveDateTime> {
    const DATE_TIMES: &[&str] = &[
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ];
    for f in DATE_TIMES {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, f) {
            return Some(t);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(d.and_time(NaiveTime::MIN));
    }
    for f in ["%H:%M:%S%.f", "%H:%M"] {
        if let Ok(t) = NaiveTime::parse_from_str(text, f) {
            return Some(today.and_time(t));
        }
    }
    None
}

/// A local wall-clock time in `tz`; the earlier instant when it is ambiguous (DST end).
fn local_to_timestamp<Tz: TimeZone>(tz: &Tz, naive: NaiveDateTime) -> Option<Timestamp> {
    tz.from_local_datetime(&naive)
        .earliest()
        .and_then(|t| to_timestamp(&t))
}

fn to_timestamp<Tz: TimeZone>(t: &DateTime<Tz>) -> Option<Timestamp> {
    u64::try_from(t.timestamp_micros()).ok().map(Timestamp)
}

fn from_micros(us: i128) -> Option<Timestamp> {
    u64::try_from(us).ok().map(Timestamp)
}

/// A span in systemd's grammar ([`crate::duration`]) in microseconds.
fn parse_span(text: &str) -> Option<i128> {
    crate::duration::parse_us(text).ok().map(i128::from)
}

/// `12` or `1.5` times `scale`, exactly, in integers (no float rounding).
fn parse_decimal_scaled(number: &str, scale: i128) -> Option<i128> {
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if int_part.len() > 20 || frac_part.len() > 9 {
        return None;
    }
    let int: i128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let mut value = int.checked_mul(scale)?;
    if !frac_part.is_empty() {
        let frac: i128 = frac_part.parse().ok()?;
        let denom = 10i128.checked_pow(u32::try_from(frac_part.len()).ok()?)?;
        value = value.checked_add(frac.checked_mul(scale)? / denom)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    /// 2026-11-24 15:30:00 at UTC+01:00.
    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-24T15:30:00+01:00").unwrap()
    }

    fn at(rfc3339: &str) -> Timestamp {
        to_timestamp(&DateTime::parse_from_rfc3339(rfc3339).unwrap()).unwrap()
    }

    #[test]
    fn reads_what_journalctl_users_type() {
        let rows = [
            ("2026-11-24 10:00:00", "2026-11-24T10:00:00+01:00"),
            ("2026-11-24 10:00:00.25", "2026-11-24T10:00:00.25+01:00"),
            ("2026-11-24T10:00:00", "2026-11-24T10:00:00+01:00"),
            ("2026-11-24 10:00", "2026-11-24T10:00:00+01:00"),
            ("2026-11-24", "2026-11-24T00:00:00+01:00"),
            ("10:00", "2026-11-24T10:00:00+01:00"),
            ("10:00:30", "2026-11-24T10:00:30+01:00"),
            ("2026-11-24 10:00:00 UTC", "2026-11-24T10:00:00Z"),
            ("now", "2026-11-24T15:30:00+01:00"),
            ("NOW", "2026-11-24T15:30:00+01:00"),
            ("today", "2026-11-24T00:00:00+01:00"),
            ("yesterday", "2026-11-23T00:00:00+01:00"),
            ("tomorrow", "2026-11-25T00:00:00+01:00"),
            ("-1h", "2026-11-24T14:30:00+01:00"),
            ("-30min", "2026-11-24T15:00:00+01:00"),
            ("+5m", "2026-11-24T15:35:00+01:00"),
            ("-1h30min", "2026-11-24T14:00:00+01:00"),
            ("-1.5h", "2026-11-24T14:00:00+01:00"),
            ("10 min ago", "2026-11-24T15:20:00+01:00"),
            ("2 days ago", "2026-11-22T15:30:00+01:00"),
            ("-90", "2026-11-24T15:28:30+01:00"),
            ("@1795626316", "2026-11-25T17:05:16Z"),
            ("@1795626316.5", "2026-11-25T17:05:16.5Z"),
            ("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"),
            ("2026-11-24T10:00:00-05:00", "2026-11-24T15:00:00Z"),
            ("  today  ", "2026-11-24T00:00:00+01:00"),
        ];
        for (input, want) in rows {
            assert_eq!(parse_time(input, &now()), Ok(at(want)), "{input}");
        }
    }

    #[test]
    fn bad_values_name_the_input_and_the_accepted_forms() {
        for input in [
            "",
            "later",
            "-1 fortnight",
            "2026-13-01",
            "25:00",
            "@x",
            "-",
            "1h",
            "@-5",
        ] {
            let e = parse_time(input, &now()).unwrap_err();
            let message = e.to_string();
            assert!(message.contains("accepted forms"), "{message}");
            assert_eq!(e.input, input);
        }
    }

    #[test]
    fn times_before_1970_are_errors() {
        assert!(parse_time("1960-01-01", &now()).is_err());
        assert!(parse_time("-100y", &now()).is_err());
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let alphabet = [
            "-", "+", "@", "1", "9", ".", ":", " ", "h", "min", "ago", "T", "Z", "2026-", "é",
            "UTC",
        ];
        let mut state: u64 = 88_172_645_463_325_252;
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..6 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push_str(alphabet[usize::try_from(state % 16).unwrap_or(0)]);
            }
            let _ = parse_time(&s, &now());
        }
    }
}
