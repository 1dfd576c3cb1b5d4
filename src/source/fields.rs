//! Turning one record's `(name, value)` journal fields into a [`RawEntry`].
//!
//! Owns the mapping from field names to `RawEntry`'s typed slots and the choice of which
//! other fields are kept ([`KEPT_FIELDS`]). Shared by every decoder (export text, JSON
//! lines, sd-journal) so the three agree byte for byte. Does not own framing: callers
//! hand it fields already cut out of their stream.
//!
//! A field that repeats keeps its first value, in the typed slots and in `fields` alike
//! (sd-journal's `get_data` returns the first one too). Names are matched by `match` on
//! byte strings, not through a map: this runs for every field of every entry.

use super::{Cursor, InputId, RawEntry, Timestamp, KEPT_FIELDS};

/// Collects one record's fields; [`EntryBuilder::finish`] turns them into a [`RawEntry`]
/// and leaves the builder empty for the next record.
#[derive(Debug, Default)]
pub(crate) struct EntryBuilder {
    realtime_us: Option<u64>,
    monotonic_us: Option<u64>,
    boot_id: Option<Box<str>>,
    cursor: Option<Box<str>>,
    systemd_unit: Option<Box<str>>,
    about_unit: Option<Box<str>>,
    hostname: Option<Box<str>>,
    pid: Option<u32>,
    priority: Option<u8>,
    message: Option<Box<[u8]>>,
    fields: Vec<(Box<str>, Box<[u8]>)>,
    field_count: usize,
}

impl EntryBuilder {
    /// True until a field has been added since the last `finish`.
    pub(crate) fn is_empty(&self) -> bool {
        self.field_count == 0
    }

    /// Adds one field. Unknown names are ignored (counted as seen, so the record is not
    /// empty); values are copied only when kept.
    pub(crate) fn add(&mut self, name: &[u8], value: &[u8]) {
        self.field_count += 1;
        match name {
            b"MESSAGE" => set_once(&mut self.message, || value.into()),
            b"__REALTIME_TIMESTAMP" => set_once_opt(&mut self.realtime_us, || parse_u64(value)),
            b"__MONOTONIC_TIMESTAMP" => {
                set_once_opt(&mut self.monotonic_us, || parse_u64(value));
            }
            b"__CURSOR" => set_once(&mut self.cursor, || text(value)),
            b"_BOOT_ID" => set_once(&mut self.boot_id, || text(value)),
            b"_SYSTEMD_UNIT" => set_once(&mut self.systemd_unit, || text(value)),
            b"UNIT" => set_once(&mut self.about_unit, || text(value)),
            b"_HOSTNAME" => set_once(&mut self.hostname, || text(value)),
            b"_PID" => set_once_opt(&mut self.pid, || {
                parse_u64(value).and_then(|v| u32::try_from(v).ok())
            }),
            b"PRIORITY" => set_once_opt(&mut self.priority, || {
                parse_u64(value).and_then(|v| u8::try_from(v).ok())
            }),
            _ => {
                if let Some(kept) = kept_name(name) {
                    if !self.fields.iter().any(|(k, _)| &**k == kept) {
                        self.fields.push((kept.into(), value.into()));
                    }
                }
            }
        }
    }

    /// Header values sd-journal gives outside the field list.
    pub(crate) fn set_header(
        &mut self,
        realtime_us: u64,
        monotonic_us: Option<u64>,
        boot_id: Option<String>,
        cursor: Option<String>,
    ) {
        self.field_count += 1;
        self.realtime_us = Some(realtime_us);
        if monotonic_us.is_some() {
            self.monotonic_us = monotonic_us;
        }
        if let Some(b) = boot_id {
            self.boot_id = Some(b.into());
        }
        if let Some(c) = cursor {
            self.cursor = Some(c.into());
        }
    }

    /// The finished entry (no unit attributed yet); the builder is empty afterwards.
    /// A record without `__REALTIME_TIMESTAMP` gets time 0: it is kept, not dropped.
    pub(crate) fn finish(&mut self, input: InputId) -> RawEntry {
        let b = std::mem::take(self);
        RawEntry {
            realtime: Timestamp(b.realtime_us.unwrap_or(0)),
            monotonic_us: b.monotonic_us,
            boot_id: b.boot_id,
            cursor: b.cursor.map(Cursor),
            unit: None,
            systemd_unit: b.systemd_unit,
            about_unit: b.about_unit,
            hostname: b.hostname,
            pid: b.pid,
            priority: b.priority,
            message: b.message.unwrap_or_default(),
            fields: b.fields,
            input,
        }
    }
}

fn set_once<T>(slot: &mut Option<T>, make: impl FnOnce() -> T) {
    if slot.is_none() {
        *slot = Some(make());
    }
}

fn set_once_opt<T>(slot: &mut Option<T>, make: impl FnOnce() -> Option<T>) {
    if slot.is_none() {
        *slot = make();
    }
}

/// The `KEPT_FIELDS` entry equal to `name`, if any.
fn kept_name(name: &[u8]) -> Option<&'static str> {
    KEPT_FIELDS
        .iter()
        .find(|k| k.len() == name.len() && k.as_bytes() == name)
        .copied()
}

/// A value as text; invalid UTF-8 is replaced, which only affects identifiers (units,
/// host names, cursors), never the message.
fn text(value: &[u8]) -> Box<str> {
    String::from_utf8_lossy(value).into()
}

/// Decimal ASCII digits to a number; `None` for anything else or on overflow.
pub(crate) fn parse_u64(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_keep_their_first_value() {
        let mut b = EntryBuilder::default();
        b.add(b"MESSAGE", b"first");
        b.add(b"MESSAGE", b"second");
        b.add(b"_UID", b"0");
        b.add(b"_UID", b"1000");
        let e = b.finish(0);
        assert_eq!(&*e.message, b"first");
        assert_eq!(e.field_str("_UID"), Some("0"));
        assert!(b.is_empty());
    }

    #[test]
    fn bad_numbers_leave_typed_slots_empty() {
        let mut b = EntryBuilder::default();
        b.add(b"_PID", b"12x");
        b.add(b"PRIORITY", b"300");
        b.add(b"__REALTIME_TIMESTAMP", b"99999999999999999999999");
        let e = b.finish(0);
        assert_eq!((e.pid, e.priority, e.realtime), (None, None, Timestamp(0)));
    }

    #[test]
    fn unknown_fields_are_not_kept() {
        let mut b = EntryBuilder::default();
        b.add(b"_CMDLINE", b"/usr/bin/python");
        b.add(b"SYSLOG_IDENTIFIER", b"python");
        let e = b.finish(3);
        assert_eq!(e.fields.len(), 1);
        assert_eq!(e.input, 3);
    }
}
