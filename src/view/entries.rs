//! Printers for `sigil-top entries` (journalctl's `-o` modes: `short`, `short-iso`,
//! `short-precise`, `cat`, `export`, `json`, `json-pretty`) and `sigil-top stats` (counts
//! per unit and per input).
//!
//! Owns these output formats. Key items: [`Printer`] (a mode with `--utc` and `-q`, and
//! the `-- Boot ID --` lines between boots), [`write_json`], [`write_short`], [`Counts`],
//! [`write_stats`]. Each mode prints what `journalctl -o MODE` prints for the fields
//! sigil-top keeps (`source::KEPT_FIELDS` and the typed ones), with two deliberate
//! differences, both for safety: a message that is not printable is shown escaped
//! (`\u{1b}`) where journalctl prints `[N B blob data]` (short modes) or the raw bytes
//! (`cat`), and host and identifier are escaped the same way.
//!
//! JSON: journalctl's field names and values (a value is a JSON string when it is
//! printable UTF-8, else an array of byte numbers, by systemd's own rule
//! `utf8_is_printable`: no control characters except tab and newline), plus sigil-top's
//! own lower-case keys (`ts`, `unit`, `message`, …; journal field names are upper case,
//! so the two never collide). Fields of any size are printed whole (journalctl's `-a`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use crate::cli::OutputFormat;
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

/// journalctl's fields of an entry, as far as sigil-top keeps them, in the order
/// journalctl's export writes the header ones.
fn journal_fields(entry: &RawEntry) -> Vec<(&str, std::borrow::Cow<'_, [u8]>)> {
    use std::borrow::Cow;
    let mut fields: Vec<(&str, Cow<[u8]>)> = Vec::with_capacity(12 + entry.origin.fields.len());
    if let Some(c) = &entry.cursor {
        fields.push(("__CURSOR", Cow::Borrowed(c.0.as_bytes())));
    }
    fields.push((
        "__REALTIME_TIMESTAMP",
        Cow::Owned(entry.realtime.as_micros().to_string().into_bytes()),
    ));
    if let Some(m) = entry.monotonic_us {
        fields.push((
            "__MONOTONIC_TIMESTAMP",
            Cow::Owned(m.to_string().into_bytes()),
        ));
    }
    if let Some(b) = &entry.origin.boot_id {
        fields.push(("_BOOT_ID", Cow::Borrowed(b.as_bytes())));
    }
    if let Some(p) = entry.priority {
        fields.push(("PRIORITY", Cow::Owned(p.to_string().into_bytes())));
    }
    if let Some(p) = entry.pid {
        fields.push(("_PID", Cow::Owned(p.to_string().into_bytes())));
    }
    if let Some(u) = &entry.origin.systemd_unit {
        fields.push(("_SYSTEMD_UNIT", Cow::Borrowed(u.as_bytes())));
    }
    if let Some(u) = &entry.about_unit {
        fields.push(("UNIT", Cow::Borrowed(u.as_bytes())));
    }
    if let Some(h) = &entry.origin.hostname {
        fields.push(("_HOSTNAME", Cow::Borrowed(h.as_bytes())));
    }
    for (k, v) in &entry.origin.fields {
        fields.push((k, Cow::Borrowed(&**v)));
    }
    fields.push(("MESSAGE", Cow::Borrowed(&entry.message)));
    fields
}

/// One entry in journald's export format (`journalctl -o export`): `NAME=value` lines,
/// or for a value that is not printable single-line UTF-8, the name, a newline, its
/// length as a little-endian u64 and the bytes; a blank line ends the entry.
pub(crate) fn write_export(out: &mut impl Write, entry: &RawEntry) -> io::Result<()> {
    for (name, value) in journal_fields(entry) {
        out.write_all(name.as_bytes())?;
        let is_text =
            std::str::from_utf8(&value).is_ok_and(|s| is_printable(s) && !s.contains('\n'));
        if is_text {
            out.write_all(b"=")?;
            out.write_all(&value)?;
        } else {
            out.write_all(b"\n")?;
            out.write_all(&(value.len() as u64).to_le_bytes())?;
            out.write_all(&value)?;
        }
        out.write_all(b"\n")?;
    }
    out.write_all(b"\n")
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

/// One entry as one line of JSON (`is_pretty`: indented, over several lines).
pub fn write_json(out: &mut impl Write, entry: &RawEntry) -> io::Result<()> {
    write_json_as(out, entry, false)
}

fn write_json_as(out: &mut impl Write, entry: &RawEntry, is_pretty: bool) -> io::Result<()> {
    let own = EntryJson {
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
    let mut json = match serde_json::to_value(&own)? {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    for (name, value) in journal_fields(entry) {
        let value = serde_json::to_value(Message::of(&value))?;
        json.insert(name.to_owned(), value);
    }
    if is_pretty {
        serde_json::to_writer_pretty(&mut *out, &json)?;
    } else {
        serde_json::to_writer(&mut *out, &json)?;
    }
    out.write_all(b"\n")
}

/// How the short modes write the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeStyle {
    /// `Nov 24 10:00:00`
    Short,
    /// `Nov 24 10:00:00.123456`
    Precise,
    /// `2026-11-24T10:00:00+0100`
    Iso,
}

/// Prints entries in one of journalctl's modes, with `--utc` and `-q`.
#[derive(Debug)]
pub(crate) struct Printer {
    format: OutputFormat,
    is_utc: bool,
    is_quiet: bool,
    /// The boot of the last entry printed, for `-- Boot ID --` lines.
    last_boot: Option<std::sync::Arc<str>>,
    /// Whether an entry has been printed (for `-- No entries --`).
    has_printed: bool,
}

impl Printer {
    pub(crate) fn new(format: OutputFormat, is_utc: bool, is_quiet: bool) -> Printer {
        Printer {
            format,
            is_utc,
            is_quiet,
            last_boot: None,
            has_printed: false,
        }
    }

    fn is_short(&self) -> bool {
        matches!(
            self.format,
            OutputFormat::Short | OutputFormat::ShortIso | OutputFormat::ShortPrecise
        )
    }

    /// Whether an entry has been printed.
    pub(crate) fn has_printed(&self) -> bool {
        self.has_printed
    }

    /// After the history: `-- No entries --` when nothing was printed (short modes,
    /// without `-q`), as journalctl says it.
    pub(crate) fn finish(&self, out: &mut impl Write) -> io::Result<()> {
        if !self.has_printed && self.is_short() && !self.is_quiet {
            writeln!(out, "-- No entries --")?;
        }
        Ok(())
    }

    /// One entry, after a `-- Boot ID --` line when it starts another boot than the
    /// last one printed (short modes, without `-q`, as journalctl does).
    pub(crate) fn write(&mut self, out: &mut impl Write, entry: &RawEntry) -> io::Result<()> {
        self.boot_line(out, entry.origin.boot_id.as_ref())?;
        self.write_entry(out, entry)
    }

    /// The `-- Boot ID --` line due before an entry of `boot` (nothing when none is due).
    /// `write` calls it; a printer that reorders entries (`-r`) calls it itself.
    pub(crate) fn boot_line(
        &mut self,
        out: &mut impl Write,
        boot: Option<&std::sync::Arc<str>>,
    ) -> io::Result<()> {
        self.has_printed = true;
        if !self.is_short() || self.is_quiet {
            return Ok(());
        }
        let Some(boot) = boot else {
            return Ok(());
        };
        let is_new = self.last_boot.as_ref().is_some_and(|b| **b != **boot);
        if is_new {
            writeln!(out, "-- Boot {} --", escape_controls(boot))?;
        }
        self.last_boot = Some(std::sync::Arc::clone(boot));
        Ok(())
    }

    /// One entry without a boot line.
    pub(crate) fn write_entry(&self, out: &mut impl Write, entry: &RawEntry) -> io::Result<()> {
        match self.format {
            OutputFormat::Short => write_short_as(out, entry, TimeStyle::Short, self.is_utc),
            OutputFormat::ShortPrecise => {
                write_short_as(out, entry, TimeStyle::Precise, self.is_utc)
            }
            OutputFormat::ShortIso => write_short_as(out, entry, TimeStyle::Iso, self.is_utc),
            OutputFormat::Cat => write_cat(out, entry),
            OutputFormat::Export => write_export(out, entry),
            OutputFormat::Json => write_json_as(out, entry, false),
            OutputFormat::JsonPretty => write_json_as(out, entry, true),
        }
    }
}

/// The message alone (`journalctl -o cat`), escaped as the short modes do but for its
/// newlines, which stay.
pub(crate) fn write_cat(out: &mut impl Write, entry: &RawEntry) -> io::Result<()> {
    let text = String::from_utf8_lossy(&entry.message);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
        }
        out.write_all(escape_controls(line).as_bytes())?;
    }
    out.write_all(b"\n")
}

/// One entry like `journalctl -o short`: local time, host, `identifier[pid]: message`.
/// Control characters, bidi overrides and invisible characters in the message, the host and
/// the identifier are escaped so they cannot move or mislead the terminal; the lines of a
/// multi-line message follow, indented under the first as journalctl does.
pub fn write_short(out: &mut impl Write, entry: &RawEntry) -> io::Result<()> {
    write_short_as(out, entry, TimeStyle::Short, false)
}

fn write_short_as(
    out: &mut impl Write,
    entry: &RawEntry,
    style: TimeStyle,
    is_utc: bool,
) -> io::Result<()> {
    let us = entry.realtime.as_micros();
    let secs = i64::try_from(us / 1_000_000).unwrap_or(i64::MAX);
    let nanos = u32::try_from(us % 1_000_000).unwrap_or(0) * 1000;
    let format = match style {
        TimeStyle::Short => "%b %d %H:%M:%S",
        TimeStyle::Precise => "%b %d %H:%M:%S%.6f",
        TimeStyle::Iso => "%Y-%m-%dT%H:%M:%S%z",
    };
    let time = chrono::DateTime::from_timestamp(secs, nanos).map_or_else(
        || "?".to_owned(),
        |t| {
            if is_utc {
                t.format(format).to_string()
            } else {
                t.with_timezone(&chrono::Local).format(format).to_string()
            }
        },
    );
    // journalctl: SYSLOG_IDENTIFIER, else _COMM, else "unknown"; no host when none.
    let ident = entry
        .field_str("SYSLOG_IDENTIFIER")
        .or_else(|| entry.field_str("_COMM"))
        .unwrap_or("unknown");
    let mut prefix = time;
    if let Some(host) = entry.origin.hostname.as_deref() {
        prefix.push(' ');
        prefix.push_str(&escape_controls(host));
    }
    prefix.push(' ');
    prefix.push_str(&escape_controls(ident));
    if let Some(pid) = entry.pid {
        let _ = write!(prefix, "[{pid}]");
    }
    prefix.push_str(": ");
    out.write_all(prefix.as_bytes())?;
    let indent = unicode_width::UnicodeWidthStr::width(prefix.as_str());
    let text = String::from_utf8_lossy(&entry.message);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            writeln!(out)?;
            write!(out, "{:indent$}", "")?;
        }
        // journalctl's short modes show a tab as eight spaces (`cat` keeps it).
        out.write_all(escape_controls(line).replace('\t', "        ").as_bytes())?;
    }
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
pub(crate) struct Counts {
    pub(crate) total: u64,
    /// Keyed by unit name; entries attributed to no unit count under `(none)`.
    pub(crate) per_unit: BTreeMap<String, u64>,
    /// Indexed by `RawEntry::input`.
    pub(crate) per_input: Vec<u64>,
}

impl Counts {
    pub(crate) fn new(input_count: usize) -> Counts {
        Counts {
            per_input: vec![0; input_count],
            ..Counts::default()
        }
    }

    pub(crate) fn add(&mut self, entry: &RawEntry) {
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
pub(crate) fn write_stats(
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
    fn short_lines_escape_control_characters_and_indent_continuation_lines() {
        let mut out = Vec::new();
        write_short(&mut out, &entry(b"one\ntwo\x1b[2J")).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        // No identifier or command: journalctl says "unknown".
        assert!(lines[0].ends_with("mcp-host unknown[13607]: one"), "{text}");
        let indent = lines[0].len() - "one".len();
        assert_eq!(lines[1], format!("{:indent$}two\\u{{1b}}[2J", ""), "{text}");
    }

    #[test]
    fn export_writes_binary_fields_for_newlines_and_controls_and_text_otherwise() {
        let mut out = Vec::new();
        write_export(&mut out, &entry(b"a\nb")).unwrap();
        let text = out.clone();
        assert!(text.starts_with(b"__CURSOR=s=1\n__REALTIME_TIMESTAMP=1795626317811775\n"));
        let mut want = b"MESSAGE\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\n\n");
        assert!(text.ends_with(&want), "{}", String::from_utf8_lossy(&text));
        let mut out = Vec::new();
        write_export(&mut out, &entry(b"tab\there")).unwrap();
        assert!(out.ends_with(b"MESSAGE=tab\there\n\n"));
    }

    #[test]
    fn json_has_journalctl_field_names_with_string_values_beside_its_own_keys() {
        let mut out = Vec::new();
        write_json(&mut out, &entry(b"hi")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["MESSAGE"], "hi");
        assert_eq!(v["_PID"], "13607");
        assert_eq!(v["PRIORITY"], "6");
        assert_eq!(v["__REALTIME_TIMESTAMP"], "1795626317811775");
        assert_eq!(v["_HOSTNAME"], "mcp-host");
        assert_eq!(v["__CURSOR"], "s=1");
        assert_eq!(v["message"], "hi");
    }

    #[test]
    fn boot_lines_come_between_boots_in_short_modes_only_and_not_when_quiet() {
        let boot = |b: &str| {
            let mut e = entry(b"m");
            std::sync::Arc::make_mut(&mut e.origin).boot_id = Some(b.into());
            e
        };
        let run = |format, quiet| {
            let mut p = Printer::new(format, true, quiet);
            let mut out = Vec::new();
            for b in ["a", "a", "b", "a"] {
                p.write(&mut out, &boot(b)).unwrap();
            }
            String::from_utf8(out).unwrap()
        };
        let short = run(OutputFormat::Short, false);
        let boots: Vec<&str> = short.lines().filter(|l| l.starts_with("-- Boot")).collect();
        assert_eq!(boots, ["-- Boot b --", "-- Boot a --"], "{short}");
        assert!(!run(OutputFormat::Short, true).contains("-- Boot"));
        assert!(!run(OutputFormat::Cat, false).contains("-- Boot"));
        assert!(run(OutputFormat::ShortIso, false).contains("+0000 mcp-host"));
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
