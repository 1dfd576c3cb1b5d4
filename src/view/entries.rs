//! Printers for `sigil-top entries` (one line or one JSON object per entry) and
//! `sigil-top stats` (counts per unit and per input).
//!
//! Owns these output formats. Key items: [`write_json`], [`write_short`], [`Counts`],
//! [`write_stats`]. The JSON form follows `journalctl -o json` where the two overlap: a
//! message is a JSON string when it is printable UTF-8, else an array of byte numbers,
//! by systemd's own rule (`utf8_is_printable`: no control characters except tab and
//! newline), so scripts can treat both outputs alike.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use crate::source::RawEntry;

/// A message as `journalctl -o json` writes it.
#[derive(Serialize)]
#[serde(untagged)]
enum Message<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> Message<'a> {
    fn of(bytes: &'a [u8]) -> Message<'a> {
        match std::str::from_utf8(bytes) {
            Ok(s) if is_printable(s) => Message::Text(s),
            _ => Message::Bytes(bytes),
        }
    }
}

/// systemd's `utf8_is_printable`: no C0 control but tab and newline, no DEL or C1 control.
fn is_printable(s: &str) -> bool {
    !s.chars()
        .any(|c| (c < ' ' && c != '\t' && c != '\n') || ('\u{7f}'..='\u{9f}').contains(&c))
}

#[derive(Serialize)]
struct EntryJson<'a> {
    /// RFC 3339, UTC, microseconds.
    ts: String,
    realtime_us: u64,
    unit: Option<&'a str>,
    systemd_unit: Option<&'a str>,
    host: Option<&'a str>,
    pid: Option<u32>,
    priority: Option<u8>,
    message: Message<'a>,
    cursor: Option<&'a str>,
    boot_id: Option<&'a str>,
    input: u16,
}

/// One entry as one line of JSON.
pub fn write_json(out: &mut impl Write, entry: &RawEntry) -> io::Result<()> {
    let json = EntryJson {
        ts: entry.realtime.to_rfc3339(),
        realtime_us: entry.realtime.as_micros(),
        unit: entry.unit.as_ref().map(crate::source::Unit::as_str),
        systemd_unit: entry.origin.systemd_unit.as_deref(),
        host: entry.origin.hostname.as_deref(),
        pid: entry.pid,
        priority: entry.priority,
        message: Message::of(&entry.message),
        cursor: entry.cursor.as_ref().map(|c| &*c.0),
        boot_id: entry.origin.boot_id.as_deref(),
        input: entry.input,
    };
    serde_json::to_writer(&mut *out, &json)?;
    out.write_all(b"\n")
}

/// One entry like `journalctl -o short`: local time, host, identifier[pid]: message.
/// Control characters, bidi overrides and invisible characters in the message, the host and
/// the identifier are escaped so they cannot move or mislead the terminal.
pub fn write_short(out: &mut impl Write, entry: &RawEntry) -> io::Result<()> {
    let secs = i64::try_from(entry.realtime.as_micros() / 1_000_000).unwrap_or(i64::MAX);
    let time = chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || "?".to_owned(),
        |t| {
            t.with_timezone(&chrono::Local)
                .format("%b %d %H:%M:%S")
                .to_string()
        },
    );
    let ident = entry
        .field_str("SYSLOG_IDENTIFIER")
        .or_else(|| entry.field_str("_COMM"))
        .or_else(|| entry.unit.as_ref().map(crate::source::Unit::short))
        .unwrap_or("?");
    let host = entry.origin.hostname.as_deref().unwrap_or("localhost");
    write!(
        out,
        "{time} {} {}",
        escape_controls(host),
        escape_controls(ident)
    )?;
    if let Some(pid) = entry.pid {
        write!(out, "[{pid}]")?;
    }
    out.write_all(b": ")?;
    out.write_all(escape_controls(&String::from_utf8_lossy(&entry.message)).as_bytes())?;
    out.write_all(b"\n")
}

/// `s` with what `text::sanitize` deems unsafe escaped as `\u{…}`, except that a tab is
/// kept and a newline is shown as `\n` (as `journalctl` users read them).
fn escape_controls(s: &str) -> String {
    let mut t = String::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let is_safe = matches!(
            crate::text::sanitize(c.encode_utf8(&mut buf)),
            std::borrow::Cow::Borrowed(_)
        );
        if c == '\t' || is_safe {
            t.push(c);
        } else if c == '\n' {
            t.push_str("\\n");
        } else {
            let _ = write!(t, "\\u{{{:x}}}", u32::from(c));
        }
    }
    t
}

/// Entries counted per unit and per input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: u64,
    /// Keyed by unit name; entries attributed to no unit count under `(none)`.
    pub per_unit: BTreeMap<String, u64>,
    /// Indexed by `RawEntry::input`.
    pub per_input: Vec<u64>,
}

impl Counts {
    pub fn new(input_count: usize) -> Counts {
        Counts {
            per_input: vec![0; input_count],
            ..Counts::default()
        }
    }

    pub fn add(&mut self, entry: &RawEntry) {
        self.total += 1;
        let unit = entry
            .unit
            .as_ref()
            .map_or("(none)", crate::source::Unit::as_str);
        *self.per_unit.entry(unit.to_owned()).or_default() += 1;
        let i = usize::from(entry.input);
        if i >= self.per_input.len() {
            self.per_input.resize(i + 1, 0);
        }
        self.per_input[i] += 1;
    }
}

/// The `stats` table. `watched` lists the selected units so a unit with no entries shows 0.
pub fn write_stats(
    out: &mut impl Write,
    counts: &Counts,
    watched: &[String],
    input_names: &[String],
) -> io::Result<()> {
    writeln!(out, "entries  {}", counts.total)?;
    writeln!(out, "per unit:")?;
    let mut units: BTreeMap<&str, u64> = watched.iter().map(|u| (u.as_str(), 0)).collect();
    for (u, n) in &counts.per_unit {
        units.insert(u, *n);
    }
    for (u, n) in units {
        writeln!(out, "  {n:>8}  {}", crate::text::sanitize(u))?;
    }
    writeln!(out, "per input:")?;
    for (i, name) in input_names.iter().enumerate() {
        let n = counts.per_input.get(i).copied().unwrap_or(0);
        writeln!(out, "  {n:>8}  {}", crate::text::sanitize(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Cursor, Timestamp, Unit};

    fn entry(message: &[u8]) -> RawEntry {
        RawEntry {
            realtime: Timestamp(1_795_626_317_811_775),
            monotonic_us: None,
            origin: std::sync::Arc::new(crate::source::Origin {
                boot_id: None,
                systemd_unit: Some("sigil-mcp.service".into()),
                hostname: Some("mcp-host".into()),
                fields: crate::source::KeptFields::default(),
            }),
            cursor: Some(Cursor("s=1".into())),
            unit: Some(Unit::new("sigil-mcp")),
            about_unit: None,
            pid: Some(13607),
            priority: Some(6),
            message: message.into(),
            input: 0,
        }
    }

    fn json_message(message: &[u8]) -> serde_json::Value {
        let mut out = Vec::new();
        write_json(&mut out, &entry(message)).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        v["message"].clone()
    }

    #[test]
    fn message_is_a_string_when_printable_else_bytes_like_journalctl() {
        assert_eq!(json_message(b"a\tb\nc"), serde_json::json!("a\tb\nc"));
        assert_eq!(json_message(b"a\x1bb"), serde_json::json!([97, 27, 98]));
        assert_eq!(json_message(b"\xff"), serde_json::json!([255]));
        assert_eq!(
            json_message("\u{85}".as_bytes()),
            serde_json::json!([194, 133])
        );
    }

    #[test]
    fn json_has_the_documented_keys() {
        let mut out = Vec::new();
        write_json(&mut out, &entry(b"hi")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["ts"], "2026-11-25T17:05:17.811775Z");
        assert_eq!(v["unit"], "sigil-mcp.service");
        assert_eq!(v["host"], "mcp-host");
        assert_eq!(v["pid"], 13607);
        assert_eq!(v["priority"], 6);
        assert_eq!(v["cursor"], "s=1");
    }

    #[test]
    fn short_lines_escape_control_characters() {
        let mut out = Vec::new();
        write_short(&mut out, &entry(b"one\ntwo\x1b[2J")).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.ends_with("sigil-mcp[13607]: one\\ntwo\\u{1b}[2J\n"),
            "{line}"
        );
    }

    /// Issue 8: `entries -o short` wrote bidi overrides and zero-width characters of the
    /// message raw, and the host and identifier (journal fields a stranger can set) raw
    /// with their escape sequences. Found by the `pipeline` fuzz target.
    #[test]
    fn issue_8_short_lines_escape_bidi_invisible_host_and_identifier() {
        let mut e = entry("evil\u{202e}gpj.exe\u{200b}".as_bytes());
        let origin = std::sync::Arc::make_mut(&mut e.origin);
        origin.hostname = Some("h\u{1b}]0;x\u{7}".into());
        origin
            .fields
            .push("SYSLOG_IDENTIFIER", b"py\x1b[2J\xc2\x9b".to_vec().into());
        let mut out = Vec::new();
        write_short(&mut out, &e).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.ends_with(
                " h\\u{1b}]0;x\\u{7} py\\u{1b}[2J\\u{9b}[13607]: evil\\u{202e}gpj.exe\\u{200b}\n"
            ),
            "{line}"
        );
    }
}
