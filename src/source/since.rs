//! Reading the times users type for `--since`, `--until` and the screen's `:` jump, the
//! way `journalctl` reads them.
//!
//! Owns one pure function, [`parse_time_in`]: text, "now" and the local time zone in, a
//! [`Timestamp`] out, so it can be fuzzed and tested without a clock ([`parse_time`] is
//! the same at a fixed UTC offset, for callers holding a chrono clock).
//!
//! The grammar is `parse_timestamp()` of systemd 252 (`src/basic/time-util.c`, the
//! journalctl this is compared with; systemd.time(7) "PARSING TIMESTAMPS"):
//! - `now`, `today`, `yesterday`, `tomorrow` (lower case);
//! - `@SPAN` (seconds since the epoch: `@1795626316`, `@1795626316.5`), `+SPAN`, `-SPAN`,
//!   `SPAN ago`, `SPAN left`, where SPAN is the time-span grammar of [`crate::duration`]
//!   (`-1h30m`, `+5m`, `-90`, `10 min ago`);
//! - an optional weekday, full or abbreviated, any case (`Mon`, `monday`), then
//!   `YYYY-MM-DD HH:MM:SS[.frac]`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DD`, the same with a
//!   two-digit year, `HH:MM:SS[.frac]`, `HH:MM` (today) or `Dec 07 10:00:00[.frac]`
//!   (`journalctl -o short`'s own form, this year); fields are read as glibc's
//!   `strptime` reads them (one-digit fields, spaces before a number), and overflowing
//!   days and seconds carry over as `mktime` carries them (`2026-02-30` is March 2). A
//!   weekday that is not the date's is an error, as in journalctl;
//! - then optionally a zone: ` UTC` (any case), a time-zone name from the system's tzdb
//!   (`Europe/Berlin`, `Asia/Tokyo`; case-sensitive, as a file name is), or an
//!   abbreviation of the local zone (`CET`, `CEST` under `TZ=Europe/Berlin`, any case,
//!   which also says which of the two offsets is meant). With a zone, only calendar
//!   forms are read (`-1h UTC` is an error, as in journalctl).
//!
//! Local times are read in the time zone given (the system's: `TZ`, else
//! `/etc/localtime`, as glibc reads it). In a spring-forward gap a wall time moves
//! forward by the gap (02:30 → 03:30 CEST); in a fall-back hour it is the one of the two
//! instants glibc's `mktime` picks (its search starts from the time read as UTC).
//!
//! Beyond systemd 252, from newer systemd: RFC 3339 with `T` (`2026-12-07T10:00:00`),
//! with `Z` or an offset welded on (`…T10:00:00+01:00`), and a numeric offset as the
//! zone word (`2026-12-07 10:00 +01:00`). Leading and trailing spaces are ignored
//! (journalctl refuses `"today "`). Time zones come from jiff, which reads the same
//! tzdb files glibc does (`/usr/share/zoneinfo`), including POSIX `TZ` rules.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, Dst, Offset, TimeZone};

use super::Timestamp;
use crate::duration;

/// What `--since`/`--until` accept, for error messages.
pub(crate) const ACCEPTED_TIME_FORMS: &str =
    "accepted forms (as journalctl): \"2026-11-24 10:00:00\", \"2026-11-24 10:00\", \
\"2026-11-24\", \"10:00\", \"10:00:30.5\", \"Mon 2026-11-24 10:00\", \"today\", \"yesterday\", \
\"now\", \"-1h30m\", \"+5m\", \"10 min ago\", \"@1795626316\"; a date or time may end with \
\" UTC\", a zone name (\" Europe/Berlin\") or the local zone's abbreviation (\" CET\")";

/// A time that could not be read; the message names the input and the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {input:?} as a time ({reason}); {ACCEPTED_TIME_FORMS}")]
pub struct TimeError {
    pub(crate) input: String,
    pub(crate) reason: &'static str,
}

/// The latest time journalctl reads (`USEC_TIMESTAMP_FORMATTABLE_MAX`: 9999-12-30
/// 23:59:59.999999 UTC, a day short of the year 10000 for every time zone).
const MAX_US: u64 = 253_402_214_399_999_999;

/// Reads `input` as `--since` does, relative to `now`, local times in `now`'s UTC
/// offset. For callers holding a chrono clock (the screen's `:`); the command line uses
/// [`parse_time_in`] with the system time zone, whose offset can change between `now`
/// and the time typed.
pub fn parse_time<Tz: chrono::TimeZone>(
    input: &str,
    now: &chrono::DateTime<Tz>,
) -> Result<Timestamp, TimeError> {
    use chrono::Offset as _;
    let offset = Offset::from_seconds(now.offset().fix().local_minus_utc()).unwrap_or(Offset::UTC);
    let now = jiff::Timestamp::from_microsecond(now.timestamp_micros()).map_err(|_| TimeError {
        input: input.to_owned(),
        reason: "the clock is out of range",
    })?;
    parse_time_in(input, now, &TimeZone::fixed(offset))
}

/// Reads `input` as `journalctl --since` does, relative to `now`, local times in `local`.
pub fn parse_time_in(
    input: &str,
    now: jiff::Timestamp,
    local: &TimeZone,
) -> Result<Timestamp, TimeError> {
    let err = |reason| TimeError {
        input: input.to_owned(),
        reason,
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(err("it is empty"));
    }
    let utc = Zone {
        tz: TimeZone::UTC,
        forced: None,
    };
    // Newer systemd: RFC 3339 with a `Z` or an offset welded on.
    if text.len() > 2 && text.ends_with('Z') {
        if let Ok(t) = absolute(&text[..text.len() - 1], now, &utc) {
            return Ok(t);
        }
    }
    if let Some((head, offset)) = welded_offset(text) {
        return absolute(head, now, &utc.forcing(offset)).map_err(err);
    }
    if let Some((head, word)) = text.rsplit_once(' ') {
        let head = head.trim_end();
        if word.eq_ignore_ascii_case("UTC") {
            return absolute(head, now, &utc).map_err(err);
        }
        if let Some(offset) = numeric_offset(word) {
            return absolute(head, now, &utc.forcing(offset)).map_err(err);
        }
        if let Some(tz) = zone_named(word) {
            let forced = abbreviation_offset(&tz, word, now);
            return absolute(head, now, &Zone { tz, forced }).map_err(err);
        }
        if let Some(offset) = abbreviation_offset(local, word, now) {
            let zone = Zone {
                tz: local.clone(),
                forced: Some(offset),
            };
            return absolute(head, now, &zone).map_err(err);
        }
    }
    if let Some(found) = relative(text, now) {
        return found.map_err(err);
    }
    let zone = Zone {
        tz: local.clone(),
        forced: None,
    };
    absolute(text, now, &zone).map_err(err)
}

/// The zone calendar times are read in: its rules, or one offset it was told to use (an
/// abbreviation such as `CEST` names one; journalctl passes it to `mktime` as `isdst`).
struct Zone {
    tz: TimeZone,
    forced: Option<Offset>,
}

impl Zone {
    fn forcing(&self, offset: Offset) -> Zone {
        Zone {
            tz: self.tz.clone(),
            forced: Some(offset),
        }
    }
}

/// `now`, `@SPAN`, `+SPAN`, `-SPAN`, `SPAN ago`, `SPAN left`; `None` when `text` is none
/// of these.
fn relative(text: &str, now: jiff::Timestamp) -> Option<Result<Timestamp, &'static str>> {
    let now_us = u64::try_from(now.as_microsecond()).ok();
    let span = |s: &str| duration::parse_us(s).map_err(|_| "bad time span");
    let found = if let Some(rest) = text.strip_prefix('@') {
        span(rest).and_then(|us| checked(Some(us)))
    } else if text == "now" {
        checked(now_us)
    } else if let Some(rest) = text.strip_prefix('+') {
        span(rest).and_then(|us| checked(now_us.and_then(|n| n.checked_add(us))))
    } else if let Some(rest) = text.strip_prefix('-') {
        span(rest).and_then(|us| checked(now_us.and_then(|n| n.checked_sub(us))))
    } else if let Some(rest) = text.strip_suffix(" ago") {
        span(rest).and_then(|us| checked(now_us.and_then(|n| n.checked_sub(us))))
    } else if let Some(rest) = text.strip_suffix(" left") {
        span(rest).and_then(|us| checked(now_us.and_then(|n| n.checked_add(us))))
    } else {
        return None;
    };
    Some(found)
}

fn checked(us: Option<u64>) -> Result<Timestamp, &'static str> {
    match us {
        Some(us) if us <= MAX_US => Ok(Timestamp(us)),
        _ => Err("out of range (before 1970 or after 9999)"),
    }
}

/// journalctl's weekday names, in its order (the full name first).
const WEEKDAYS: [(&str, i8); 14] = [
    ("Sunday", 0),
    ("Sun", 0),
    ("Monday", 1),
    ("Mon", 1),
    ("Tuesday", 2),
    ("Tue", 2),
    ("Wednesday", 3),
    ("Wed", 3),
    ("Thursday", 4),
    ("Thu", 4),
    ("Friday", 5),
    ("Fri", 5),
    ("Saturday", 6),
    ("Sat", 6),
];

/// A `strptime` conversion or literal.
#[derive(Clone, Copy)]
enum Tok {
    /// `%Y`: up to four digits.
    Year4,
    /// `%y`: two digits, 69-99 → 19xx, 00-68 → 20xx.
    Year2,
    /// `%b`: a month name, full or abbreviated, any case.
    MonthName,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// A space in the format: any run of white space, or none.
    Space,
    Lit(u8),
}

use Tok::{Day, Hour, Lit, Minute, Month, MonthName, Second, Space, Year2, Year4};

/// What a calendar format ends with: seconds (a fraction may follow), minutes (seconds
/// are 0) or the date (the time is midnight).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ends {
    Seconds,
    Minutes,
    Date,
}

/// journalctl's calendar formats, in its order (`%Y-%m-%dT…` are newer systemd's).
#[rustfmt::skip]
const FORMATS: [(&[Tok], Ends); 11] = [
    (&[Year2, Lit(b'-'), Month, Lit(b'-'), Day, Space, Hour, Lit(b':'), Minute, Lit(b':'), Second], Ends::Seconds),
    (&[Year4, Lit(b'-'), Month, Lit(b'-'), Day, Space, Hour, Lit(b':'), Minute, Lit(b':'), Second], Ends::Seconds),
    (&[Year4, Lit(b'-'), Month, Lit(b'-'), Day, Lit(b'T'), Hour, Lit(b':'), Minute, Lit(b':'), Second], Ends::Seconds),
    (&[MonthName, Space, Day, Space, Hour, Lit(b':'), Minute, Lit(b':'), Second], Ends::Seconds),
    (&[Year2, Lit(b'-'), Month, Lit(b'-'), Day, Space, Hour, Lit(b':'), Minute], Ends::Minutes),
    (&[Year4, Lit(b'-'), Month, Lit(b'-'), Day, Space, Hour, Lit(b':'), Minute], Ends::Minutes),
    (&[Year4, Lit(b'-'), Month, Lit(b'-'), Day, Lit(b'T'), Hour, Lit(b':'), Minute], Ends::Minutes),
    (&[Year2, Lit(b'-'), Month, Lit(b'-'), Day], Ends::Date),
    (&[Year4, Lit(b'-'), Month, Lit(b'-'), Day], Ends::Date),
    (&[Hour, Lit(b':'), Minute, Lit(b':'), Second], Ends::Seconds),
    (&[Hour, Lit(b':'), Minute], Ends::Minutes),
];

/// Broken-down time as `strptime` fills it: starts as "now" in the zone; fields a format
/// does not set keep now's values (a time alone is today, and today's weekday).
#[derive(Clone, Copy)]
struct Tm {
    year: i32,
    month: i32,
    day: i32,
    hour: i32,
    minute: i32,
    second: i32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// glibc's `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// glibc's `get_number(from, to, n)`: white space, then 1..=n digits, stopping early
/// when one more digit would pass `to`.
fn number(s: &[u8], from: i32, to: i32, n: usize) -> Option<(i32, &[u8])> {
    let s = &s[s.iter().take_while(|&&c| is_space(c)).count()..];
    let mut val: i32 = 0;
    let mut i = 0;
    loop {
        let d = *s.get(i).filter(|c| c.is_ascii_digit())?;
        val = val * 10 + i32::from(d - b'0');
        i += 1;
        if !(i < n && val * 10 <= to && s.get(i).is_some_and(u8::is_ascii_digit)) {
            break;
        }
    }
    (from..=to).contains(&val).then_some((val, &s[i..]))
}

fn strptime<'a>(input: &'a [u8], format: &[Tok], mut tm: Tm) -> Option<(Tm, &'a [u8])> {
    let mut s = input;
    for tok in format {
        match *tok {
            Space => s = &s[s.iter().take_while(|&&c| is_space(c)).count()..],
            Lit(c) => s = s.strip_prefix(&[c])?,
            Year4 => (tm.year, s) = number(s, 0, 9999, 4)?,
            Year2 => {
                let (y, rest) = number(s, 0, 99, 2)?;
                tm.year = if y >= 69 { 1900 + y } else { 2000 + y };
                s = rest;
            }
            Month => (tm.month, s) = number(s, 1, 12, 2)?,
            Day => (tm.day, s) = number(s, 1, 31, 2)?,
            Hour => (tm.hour, s) = number(s, 0, 23, 2)?,
            Minute => (tm.minute, s) = number(s, 0, 59, 2)?,
            Second => (tm.second, s) = number(s, 0, 61, 2)?,
            MonthName => {
                let (month, rest) = MONTHS.iter().zip(1..).find_map(|(name, nr)| {
                    [name.len(), 3].into_iter().find_map(|len| {
                        let prefix = s.get(..len)?;
                        prefix
                            .eq_ignore_ascii_case(&name.as_bytes()[..len])
                            .then(|| (nr, &s[len..]))
                    })
                })?;
                tm.month = month;
                s = rest;
            }
        }
    }
    Some((tm, s))
}

/// systemd's `parse_fractional_part_u(…, 6)`: microseconds from at least one digit,
/// rounded at the seventh; the rest of the digits are skipped and nothing may follow.
fn fraction_us(s: &[u8]) -> Option<u64> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits != s.len() {
        return None;
    }
    let mut us: u64 = 0;
    for i in 0..6 {
        us = us * 10 + s.get(i).map_or(0, |d| u64::from(d - b'0'));
    }
    if s.get(6).is_some_and(|&d| d >= b'5') {
        us += 1;
    }
    Some(us)
}

/// A calendar time (`today`, a weekday, a date, a time) in `zone`.
fn absolute(text: &str, now: jiff::Timestamp, zone: &Zone) -> Result<Timestamp, &'static str> {
    let here = zone.tz.to_datetime(now);
    let today = here.date();
    let tm = Tm {
        year: i32::from(today.year()),
        month: i32::from(today.month()),
        day: i32::from(today.day()),
        hour: i32::from(here.hour()),
        minute: i32::from(here.minute()),
        second: i32::from(here.second()),
    };
    let midnight = |days: i32| {
        let mut tm = tm;
        tm.day += days;
        (tm.hour, tm.minute, tm.second) = (0, 0, 0);
        instant(tm, 0, None, zone)
    };
    match text {
        "today" => return midnight(0),
        "yesterday" => return midnight(-1),
        "tomorrow" => return midnight(1),
        _ => {}
    }
    let mut rest = text.as_bytes();
    let mut weekday = None;
    for (name, nr) in WEEKDAYS {
        let n = name.len();
        if rest.len() > n && rest[..n].eq_ignore_ascii_case(name.as_bytes()) && rest[n] == b' ' {
            weekday = Some(nr);
            rest = &rest[n + 1..];
            break;
        }
    }
    for (format, ends) in FORMATS {
        let Some((mut found, after)) = strptime(rest, format, tm) else {
            continue;
        };
        match ends {
            Ends::Seconds => {}
            Ends::Minutes => found.second = 0,
            Ends::Date => (found.hour, found.minute, found.second) = (0, 0, 0),
        }
        if after.is_empty() {
            return instant(found, 0, weekday, zone);
        }
        if ends == Ends::Seconds && after[0] == b'.' {
            let us = fraction_us(&after[1..]).ok_or("bad fraction of a second")?;
            return instant(found, us, weekday, zone);
        }
    }
    Err("not a known form")
}

/// `mktime`: the broken-down time, days and seconds carried over, as an instant in
/// `zone`, plus `us`; the weekday, when one was typed, must be the date's.
fn instant(tm: Tm, us: u64, weekday: Option<i8>, zone: &Zone) -> Result<Timestamp, &'static str> {
    if tm.year < 1969 {
        return Err("before 1970");
    }
    let year = i16::try_from(tm.year).map_err(|_| "out of range")?;
    let month = i8::try_from(tm.month).map_err(|_| "out of range")?;
    let date = Date::new(year, month, 1)
        .ok()
        .and_then(|d| d.checked_add(jiff::Span::new().days(tm.day - 1)).ok())
        .ok_or("out of range")?;
    if weekday.is_some_and(|w| w != date.weekday().to_sunday_zero_offset()) {
        return Err("the weekday is not the date's");
    }
    let hour = i8::try_from(tm.hour).map_err(|_| "out of range")?;
    let minute = i8::try_from(tm.minute).map_err(|_| "out of range")?;
    let wall = date
        .at(hour, minute, 0, 0)
        .checked_add(jiff::Span::new().seconds(tm.second))
        .map_err(|_| "out of range")?;
    let at = to_instant(wall, zone).ok_or("no such time")?;
    let seconds = u64::try_from(at.as_second()).map_err(|_| "before 1970")?;
    checked(
        seconds
            .checked_mul(1_000_000)
            .and_then(|s| s.checked_add(us)),
    )
}

/// A wall time in `zone`: with its forced offset, or by the zone's rules; in a gap the
/// offset before it (the wall time moves forward), in a fold the instant glibc's
/// `mktime` converges to from its first guess, the wall time read as UTC.
fn to_instant(wall: DateTime, zone: &Zone) -> Option<jiff::Timestamp> {
    if let Some(offset) = zone.forced {
        return offset.to_timestamp(wall).ok();
    }
    match zone.tz.to_ambiguous_timestamp(wall).offset() {
        AmbiguousOffset::Unambiguous { offset } | AmbiguousOffset::Gap { before: offset, .. } => {
            offset.to_timestamp(wall).ok()
        }
        AmbiguousOffset::Fold { before, after } => {
            let mut guess = Offset::UTC;
            for _ in 0..8 {
                let t = guess.to_timestamp(wall).ok()?;
                let real = zone.tz.to_offset(t);
                if real == guess {
                    break;
                }
                guess = real;
            }
            let offset = if guess == after { after } else { before };
            offset.to_timestamp(wall).ok()
        }
    }
}

/// `+01:00`, `-0530`, `+06` welded to the end of an RFC 3339 time (newer systemd):
/// the text before it and the offset.
fn welded_offset(text: &str) -> Option<(&str, Offset)> {
    let b = text.as_bytes();
    let n = b.len();
    if n <= 7 || !matches!(b[n - 6], b'+' | b'-') || b[n - 7] == b' ' {
        return None;
    }
    Some((&text[..n - 6], numeric_offset(&text[n - 6..])?))
}

/// `±HH`, `±HHMM` or `±HH:MM` (`strptime`'s `%z`), at most a day.
fn numeric_offset(word: &str) -> Option<Offset> {
    let b = word.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: Vec<u8> = b[1..].iter().copied().filter(|&c| c != b':').collect();
    let colon_ok = b.len() != 6 || b[3] == b':';
    if !colon_ok || !digits.iter().all(u8::is_ascii_digit) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let num = |d: &[u8]| i32::from(d[0] - b'0') * 10 + i32::from(d[1] - b'0');
    let hours = num(&digits[..2]);
    let minutes = if digits.len() == 4 {
        num(&digits[2..])
    } else {
        0
    };
    if minutes >= 60 || hours * 60 + minutes > 24 * 60 {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// A time-zone name as systemd's `timezone_is_valid` takes one: `[A-Za-z0-9_+-]` parts
/// joined by single `/`, found in the system's tzdb under exactly that name.
fn zone_named(word: &str) -> Option<TimeZone> {
    let is_name = !word.is_empty()
        && !word.starts_with('/')
        && !word.ends_with('/')
        && !word.contains("//")
        && word
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'+' | b'/'));
    if !is_name {
        return None;
    }
    let tz = jiff::tz::db().get(word).ok()?;
    // The tzdb lookup ignores case; a file name does not.
    (tz.iana_name() == Some(word)).then_some(tz)
}

/// The offset `word` stands for when it is one of `tz`'s abbreviations in use around
/// `now` (glibc's `tzname[]`: the standard and the daylight-saving one), any case.
fn abbreviation_offset(tz: &TimeZone, word: &str, now: jiff::Timestamp) -> Option<Offset> {
    let info = tz.to_offset_info(now);
    let mut names: Vec<(Dst, String, Offset)> =
        vec![(info.dst(), info.abbreviation().to_owned(), info.offset())];
    for transition in tz.preceding(now).take(4).chain(tz.following(now).take(2)) {
        if !names.iter().any(|(dst, ..)| *dst == transition.dst()) {
            names.push((
                transition.dst(),
                transition.abbreviation().to_owned(),
                transition.offset(),
            ));
        }
    }
    names
        .into_iter()
        .find(|(_, name, _)| !name.is_empty() && name.eq_ignore_ascii_case(word))
        .map(|(_, _, offset)| offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-24 15:30:00 UTC, a Tuesday.
    fn now() -> jiff::Timestamp {
        "2026-11-24T15:30:00Z".parse().unwrap()
    }

    fn berlin() -> TimeZone {
        jiff::tz::db().get("Europe/Berlin").unwrap()
    }

    fn at(rfc3339: &str) -> Timestamp {
        let t: jiff::Timestamp = rfc3339.parse().unwrap();
        Timestamp(u64::try_from(t.as_microsecond()).unwrap())
    }

    #[test]
    fn reads_what_journalctl_users_type() {
        let rows = [
            ("2026-11-24 10:00:00", "2026-11-24T10:00:00+01:00"),
            ("2026-11-24 10:00:00.25", "2026-11-24T10:00:00.25+01:00"),
            (
                "2026-11-24 10:00:00.1234567",
                "2026-11-24T10:00:00.123457+01:00",
            ),
            ("2026-11-24T10:00:00", "2026-11-24T10:00:00+01:00"),
            ("2026-11-24 10:00", "2026-11-24T10:00:00+01:00"),
            ("2026-11-24", "2026-11-24T00:00:00+01:00"),
            ("26-11-24 10:00", "2026-11-24T10:00:00+01:00"),
            ("2026-1-5 9:03", "2026-01-05T09:03:00+01:00"),
            ("2026-11-24   10:00", "2026-11-24T10:00:00+01:00"),
            ("10:00", "2026-11-24T10:00:00+01:00"),
            ("10:00:30", "2026-11-24T10:00:30+01:00"),
            ("10:00:30.5", "2026-11-24T10:00:30.5+01:00"),
            ("Nov 24 10:00:00", "2026-11-24T10:00:00+01:00"),
            ("november 24 10:00:00.5", "2026-11-24T10:00:00.5+01:00"),
            ("2026-02-30", "2026-03-02T00:00:00+01:00"),
            ("2026-11-24 10:00:60", "2026-11-24T10:01:00+01:00"),
            ("Tue 2026-11-24 10:00", "2026-11-24T10:00:00+01:00"),
            ("tuesday 2026-11-24", "2026-11-24T00:00:00+01:00"),
            ("Tue 10:00", "2026-11-24T10:00:00+01:00"),
            ("2026-11-24 10:00:00 UTC", "2026-11-24T10:00:00Z"),
            ("2026-11-24 10:00 utc", "2026-11-24T10:00:00Z"),
            ("today UTC", "2026-11-24T00:00:00Z"),
            ("2026-11-24 10:00 Asia/Tokyo", "2026-11-24T10:00:00+09:00"),
            (
                "Tue 2026-11-24 10:00 America/New_York",
                "2026-11-24T10:00:00-05:00",
            ),
            (
                "2026-07-01 10:00 Europe/Berlin",
                "2026-07-01T10:00:00+02:00",
            ),
            ("2026-11-24 10:00 CET", "2026-11-24T10:00:00+01:00"),
            ("2026-11-24 10:00 CEST", "2026-11-24T10:00:00+02:00"),
            ("2026-07-01 10:00 cet", "2026-07-01T10:00:00+01:00"),
            ("2026-11-24 10:00 +05:30", "2026-11-24T10:00:00+05:30"),
            ("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"),
            ("2026-11-24T10:00:00-05:00", "2026-11-24T15:00:00Z"),
            ("now", "2026-11-24T15:30:00Z"),
            ("today", "2026-11-24T00:00:00+01:00"),
            ("yesterday", "2026-11-23T00:00:00+01:00"),
            ("tomorrow", "2026-11-25T00:00:00+01:00"),
            ("-1h", "2026-11-24T14:30:00Z"),
            ("-30min", "2026-11-24T15:00:00Z"),
            ("+5m", "2026-11-24T15:35:00Z"),
            ("-1h30m", "2026-11-24T14:00:00Z"),
            ("-1h 30min", "2026-11-24T14:00:00Z"),
            ("-1.5h", "2026-11-24T14:00:00Z"),
            ("10 min ago", "2026-11-24T15:20:00Z"),
            ("5min left", "2026-11-24T15:35:00Z"),
            ("2 days ago", "2026-11-22T15:30:00Z"),
            ("-90", "2026-11-24T15:28:30Z"),
            ("@1795626316", "2026-11-25T17:05:16Z"),
            ("@1795626316.5", "2026-11-25T17:05:16.5Z"),
            ("@1h", "1970-01-01T01:00:00Z"),
            ("  today  ", "2026-11-24T00:00:00+01:00"),
        ];
        for (input, want) in rows {
            assert_eq!(
                parse_time_in(input, now(), &berlin()),
                Ok(at(want)),
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_what_journalctl_refuses() {
        for input in [
            "",
            "later",
            "NOW",
            "Today",
            "-1 fortnight",
            "2026-13-01",
            "2026-11-24 24:00",
            "25:00",
            "10:00.5",
            "@x",
            "-",
            "1h",
            "@-5",
            "-5mins",
            "Mon 2026-11-24",
            "Mond 2026-11-24",
            "Wed 10:00",
            "-1h UTC",
            "now UTC",
            "2026-11-24 10:00 europe/berlin",
            "2026-11-24 10:00 Nowhere/City",
            "1969-12-31 23:00 UTC",
            "1960-01-01",
            "-100y",
            "10000-01-01",
            "2026-11-24 10:00:00.",
            "2026-11-24 10:00:00.5x",
            "Dec 7 10:00",
        ] {
            let e = parse_time_in(input, now(), &berlin()).unwrap_err();
            let message = e.to_string();
            assert!(message.contains("accepted forms"), "{message}");
            assert_eq!(e.input, input);
        }
    }

    /// Wall times that happen twice or never, as glibc's `mktime` (what journalctl
    /// calls) resolves them; figures from glibc under each `TZ`.
    #[test]
    fn daylight_saving_gaps_move_forward_and_folds_pick_glibcs_instant() {
        let ny = jiff::tz::db().get("America/New_York").unwrap();
        let rows = [
            (berlin(), "2026-03-29 02:30", 1_774_747_800),
            (berlin(), "2026-10-25 02:30", 1_792_891_800),
            (ny.clone(), "2026-03-08 02:30", 1_772_955_000),
            (ny, "2026-11-01 01:30", 1_793_511_000),
        ];
        for (tz, input, seconds) in rows {
            let got = parse_time_in(input, now(), &tz).unwrap();
            assert_eq!(got, Timestamp(seconds * 1_000_000), "{input}");
        }
    }

    #[test]
    fn the_chrono_form_reads_local_times_at_nows_offset() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T15:30:00+01:00").unwrap();
        assert_eq!(
            parse_time("10:00", &now),
            Ok(at("2026-11-24T10:00:00+01:00"))
        );
        assert_eq!(parse_time("-1h", &now), Ok(at("2026-11-24T14:30:00+01:00")));
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let alphabet = [
            "-",
            "+",
            "@",
            "1",
            "9",
            ".",
            ":",
            " ",
            "h",
            "min",
            "ago",
            "T",
            "Z",
            "2026-",
            "é",
            "UTC",
            "Mon ",
            "Dec ",
            "Europe/Berlin",
            "CEST",
            "\t",
            "00",
            "99",
            "/",
        ];
        let mut state: u64 = 88_172_645_463_325_252;
        for _ in 0..3000 {
            let mut s = String::new();
            for _ in 0..6 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push_str(alphabet[usize::try_from(state % 24).unwrap_or(0)]);
            }
            let _ = parse_time_in(&s, now(), &berlin());
            let _ = parse_time_in(&s, now(), &TimeZone::UTC);
        }
    }
}
