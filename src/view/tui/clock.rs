//! Times of day as the screen shows them (`HH:MM:SS`, and its parts for `.mmm`), at a
//! fixed offset from UTC. Used by the widgets and by the state's status messages; imports
//! nothing of the screen.

use crate::source::Timestamp;

/// `HH:MM:SS` at `offset_s` from UTC.
pub(crate) fn clock_s_at(ts: Timestamp, offset_s: i64) -> String {
    let (h, m, s, _) = parts(ts, offset_s);
    format!("{h:02}:{m:02}:{s:02}")
}

/// Hours, minutes and seconds of the day at `offset_s` from UTC, and the milliseconds.
pub(crate) fn parts(ts: Timestamp, offset_s: i64) -> (u64, u64, u64, u64) {
    let secs = i64::try_from(ts.0 / 1_000_000).unwrap_or(i64::MAX);
    let local = u64::try_from(secs.saturating_add(offset_s).rem_euclid(86_400)).unwrap_or(0);
    (
        local / 3600,
        local / 60 % 60,
        local % 60,
        ts.0 / 1000 % 1000,
    )
}
