//! `--since`/`--until` parsing. Oracle: no panic, at any "now" and any UTC offset, and
//! in named zones with daylight-saving rules (the gaps and folds); an accepted time is a
//! valid timestamp that formats.
//!
//! Input: 8 bytes of "now" (seconds, folded into 1970..=9999), 4 bytes of UTC offset
//! (folded into ±23:59:59), then the text.

#![no_main]

mod common;

use chrono::{DateTime, FixedOffset, Utc};
use libfuzzer_sys::fuzz_target;
use sigil_top::source::since::{parse_time, parse_time_in};

/// Zones with daylight-saving rules, a half-hour one and a 30-minute DST shift.
const ZONES: [&str; 4] = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"];

fuzz_target!(|data: &[u8]| {
    let (seed, rest) = common::take_seed(data);
    let (offset_bytes, text) = rest.split_at(rest.len().min(4));
    let mut ob = [0u8; 4];
    ob[..offset_bytes.len()].copy_from_slice(offset_bytes);
    let offset_s = i32::from_le_bytes(ob).rem_euclid(2 * 86_399 + 1) - 86_399;
    let now_s = i64::try_from(seed % 253_402_300_799).unwrap_or(0);
    let text = String::from_utf8_lossy(text);
    let Some(now) = DateTime::<Utc>::from_timestamp(now_s, 0) else {
        return;
    };
    let Some(tz) = FixedOffset::east_opt(offset_s) else {
        return;
    };
    let zoned_now = jiff::Timestamp::from_second(now_s).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let zone = ZONES[usize::try_from(seed % ZONES.len() as u64).unwrap_or(0)];
    let zone = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    for result in [
        parse_time(&text, &now),
        parse_time(&text, &now.with_timezone(&tz)),
        parse_time_in(&text, zoned_now, &zone),
    ] {
        match result {
            Ok(t) => {
                let _ = t.to_rfc3339();
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
