//! Turning one record's `(name, value)` journal fields into a [`RawEntry`].
//!
//! Owns the mapping from field names to `RawEntry`'s typed slots, the choice of which
//! other fields are kept ([`KEPT_FIELDS`]), and the small interner that shares values
//! which repeat from entry to entry. Shared by every decoder (export text, JSON lines,
//! sd-journal) so the three agree byte for byte. Does not own framing: callers hand it
//! fields already cut out of their stream.
//!
//! A field that repeats keeps its first value, in the typed slots and in `fields` alike
//! (sd-journal's `get_data` returns the first one too). Names are matched by `match` on
//! byte strings, not through a map: this runs for every field of every entry.
//!
//! # Speed (see `scripts/bench`)
//! This is the hottest code of every input, so it allocates as little as it can:
//! - [`EntryBuilder::add`] copies the values it keeps into one reused scratch buffer; no
//!   allocation happens until [`EntryBuilder::finish`], and none at all for an entry the
//!   unit filter drops ([`EntryBuilder::unit_of`] reads the scratch buffer, then
//!   [`EntryBuilder::discard`]). A journal of several services is mostly such entries.
//! - Values that repeat (unit, host, boot id, syslog identifier, comm, transport, uid, …)
//!   come from a bounded cache of `Arc`s per slot ([`Interner`]): a hit is a compare and a
//!   reference count, not an allocation, and the entries share one copy in memory.
//! - Field names are `&'static str` (the [`KEPT_FIELDS`] entries themselves).
//! - Text is checked with `str::from_utf8` (fast) and decoded lossily only when that
//!   fails.
//!
//! So a kept entry costs three allocations: its message, its cursor and its `fields`
//! vector (sized exactly), plus one per value the interner has not seen recently.

use std::sync::Arc;

use super::{Cursor, InputId, RawEntry, Timestamp, Unit, UnitFields, UnitFilter, KEPT_FIELDS};

/// Where one value sits in [`EntryBuilder`]'s scratch buffer.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    len: usize,
}

/// Collects one record's fields; [`EntryBuilder::finish`] turns them into a [`RawEntry`]
/// and leaves the builder empty (its buffers and interner kept) for the next record.
#[derive(Debug, Default)]
pub(crate) struct EntryBuilder {
    /// The kept values of the current record, back to back.
    scratch: Vec<u8>,
    realtime_us: Option<u64>,
    monotonic_us: Option<u64>,
    pid: Option<u32>,
    priority: Option<u8>,
    boot_id: Option<Span>,
    cursor: Option<Span>,
    systemd_unit: Option<Span>,
    about_unit: Option<Span>,
    hostname: Option<Span>,
    message: Option<Span>,
    /// A cursor given whole by sd-journal (it is not a field there).
    header_cursor: Option<Arc<str>>,
    /// Kept fields by their index in [`KEPT_FIELDS`], in the order read.
    kept: Vec<(usize, Span)>,
    field_count: usize,
    interner: Interner,
}

impl EntryBuilder {
    /// True until a field has been added since the last `finish`.
    pub(crate) fn is_empty(&self) -> bool {
        self.field_count == 0
    }

    /// Adds one field. Unknown names are ignored (counted as seen, so the record is not
    /// empty); values are copied (into the scratch buffer) only when kept.
    pub(crate) fn add(&mut self, name: &[u8], value: &[u8]) {
        self.field_count += 1;
        let slot = match name {
            b"MESSAGE" => &mut self.message,
            b"__REALTIME_TIMESTAMP" => {
                set_once_opt(&mut self.realtime_us, || parse_u64(value));
                return;
            }
            b"__MONOTONIC_TIMESTAMP" => {
                set_once_opt(&mut self.monotonic_us, || parse_u64(value));
                return;
            }
            b"__CURSOR" => &mut self.cursor,
            b"_BOOT_ID" => &mut self.boot_id,
            b"_SYSTEMD_UNIT" => &mut self.systemd_unit,
            b"UNIT" => &mut self.about_unit,
            b"_HOSTNAME" => &mut self.hostname,
            b"_PID" => {
                set_once_opt(&mut self.pid, || {
                    parse_u64(value).and_then(|v| u32::try_from(v).ok())
                });
                return;
            }
            b"PRIORITY" => {
                set_once_opt(&mut self.priority, || {
                    parse_u64(value).and_then(|v| u8::try_from(v).ok())
                });
                return;
            }
            _ => {
                if let Some(i) = kept_index(name) {
                    if !self.kept.iter().any(|&(k, _)| k == i) {
                        let span = push(&mut self.scratch, value);
                        self.kept.push((i, span));
                    }
                }
                return;
            }
        };
        if slot.is_none() {
            *slot = Some(push(&mut self.scratch, value));
        }
    }

    /// Header values sd-journal gives outside the field list.
    pub(crate) fn set_header(
        &mut self,
        realtime_us: u64,
        monotonic_us: Option<u64>,
        boot_id: Option<&str>,
        cursor: Option<Arc<str>>,
    ) {
        self.field_count += 1;
        self.realtime_us = Some(realtime_us);
        if monotonic_us.is_some() {
            self.monotonic_us = monotonic_us;
        }
        if let Some(b) = boot_id {
            self.boot_id = Some(push(&mut self.scratch, b.as_bytes()));
        }
        if cursor.is_some() {
            self.header_cursor = cursor;
        }
    }

    /// The watched unit the record belongs to, decided before any allocation: see
    /// [`UnitFilter::unit_of`].
    #[allow(clippy::option_option)] // the same answer as the public `UnitFilter::unit_of`
    pub(crate) fn unit_of(&self, filter: &UnitFilter) -> Option<Option<Unit>> {
        filter.unit_of_fields(self)
    }

    /// Forgets the current record without building it (the unit filter dropped it).
    pub(crate) fn discard(&mut self) {
        self.reset();
    }

    /// The finished entry (no unit attributed yet); the builder is empty afterwards.
    /// A record without `__REALTIME_TIMESTAMP` gets time 0: it is kept, not dropped.
    pub(crate) fn finish(&mut self, input: InputId) -> RawEntry {
        let s = &self.scratch;
        let get = |span: Option<Span>| span.map(|sp| &s[sp.start..sp.start + sp.len]);
        let interner = &mut self.interner;
        let cursor = match self.header_cursor.take() {
            Some(c) => Some(Cursor(c)),
            None => get(self.cursor).map(|v| Cursor(text(v))),
        };
        let mut fields = Vec::with_capacity(self.kept.len());
        for &(i, span) in &self.kept {
            let value = &s[span.start..span.start + span.len];
            fields.push((KEPT_FIELDS[i], interner.kept(i, value)));
        }
        let entry = RawEntry {
            realtime: Timestamp(self.realtime_us.unwrap_or(0)),
            monotonic_us: self.monotonic_us,
            boot_id: get(self.boot_id).map(|v| interner.text(TextSlot::BootId, v)),
            cursor,
            unit: None,
            systemd_unit: get(self.systemd_unit).map(|v| interner.text(TextSlot::SystemdUnit, v)),
            about_unit: get(self.about_unit).map(|v| interner.text(TextSlot::AboutUnit, v)),
            hostname: get(self.hostname).map(|v| interner.text(TextSlot::Hostname, v)),
            pid: self.pid,
            priority: self.priority,
            message: get(self.message).map(Box::from).unwrap_or_default(),
            fields,
            input,
        };
        self.reset();
        entry
    }

    fn reset(&mut self) {
        self.scratch.clear();
        self.realtime_us = None;
        self.monotonic_us = None;
        self.pid = None;
        self.priority = None;
        self.boot_id = None;
        self.cursor = None;
        self.systemd_unit = None;
        self.about_unit = None;
        self.hostname = None;
        self.message = None;
        self.header_cursor = None;
        self.kept.clear();
        self.field_count = 0;
    }

    fn value(&self, span: Option<Span>) -> Option<&[u8]> {
        span.map(|sp| &self.scratch[sp.start..sp.start + sp.len])
    }
}

impl UnitFields for EntryBuilder {
    fn systemd_unit(&self) -> Option<&[u8]> {
        self.value(self.systemd_unit)
    }

    fn about_unit(&self) -> Option<&[u8]> {
        self.value(self.about_unit)
    }

    fn pid(&self) -> Option<u32> {
        self.pid
    }

    fn kept_field(&self, name: &str) -> Option<&[u8]> {
        self.kept
            .iter()
            .find(|&&(i, _)| KEPT_FIELDS[i] == name)
            .and_then(|&(_, span)| self.value(Some(span)))
    }
}

/// Appends `value` to the scratch buffer and says where it went.
fn push(scratch: &mut Vec<u8>, value: &[u8]) -> Span {
    let start = scratch.len();
    scratch.extend_from_slice(value);
    Span {
        start,
        len: value.len(),
    }
}

fn set_once_opt<T>(slot: &mut Option<T>, make: impl FnOnce() -> Option<T>) {
    if slot.is_none() {
        *slot = make();
    }
}

/// The index in [`KEPT_FIELDS`] of `name`, if it is kept. A `match` (the compiler
/// switches on the length first), checked against the list by a test.
fn kept_index(name: &[u8]) -> Option<usize> {
    Some(match name {
        b"SYSLOG_IDENTIFIER" => 0,
        b"_COMM" => 1,
        b"_TRANSPORT" => 2,
        b"_UID" => 3,
        b"MESSAGE_ID" => 4,
        b"COREDUMP_UNIT" => 5,
        b"OBJECT_SYSTEMD_UNIT" => 6,
        b"_SYSTEMD_INVOCATION_ID" => 7,
        b"INVOCATION_ID" => 8,
        b"JOB_TYPE" => 9,
        b"JOB_RESULT" => 10,
        b"EXIT_CODE" => 11,
        b"EXIT_STATUS" => 12,
        b"LOGGER" => 13,
        b"REQUEST_ID" => 14,
        b"STATUS_CODE" => 15,
        b"DURATION_MS" => 16,
        b"CF_RAY" => 17,
        b"CLIENT_IP" => 18,
        b"PATH" => 19,
        b"METHOD" => 20,
        b"RESPONSE_BODY" => 21,
        _ => return None,
    })
}

/// A value as text; invalid UTF-8 is replaced, which only affects identifiers (units,
/// host names, cursors), never the message.
fn text(value: &[u8]) -> Arc<str> {
    match std::str::from_utf8(value) {
        Ok(s) => Arc::from(s),
        Err(_) => Arc::from(String::from_utf8_lossy(value).as_ref()),
    }
}

/// Values each slot remembers. Small on purpose: a lookup is a linear scan (length, then
/// bytes), so a miss costs a few compares, and a slot of unique values (request ids) just
/// cycles through it.
const INTERNED_PER_SLOT: usize = 8;
/// Longer values are never interned: they rarely repeat, and comparing them costs.
const MAX_INTERNED_BYTES: usize = 128;

/// The typed text slots the interner keeps a cache for.
#[derive(Debug, Clone, Copy)]
enum TextSlot {
    BootId = 0,
    SystemdUnit = 1,
    AboutUnit = 2,
    Hostname = 3,
}

/// A bounded cache of shared values: per slot at most [`INTERNED_PER_SLOT`] values of at
/// most [`MAX_INTERNED_BYTES`], replaced round-robin. Memory is bounded by construction,
/// and a stream of distinct values only makes it miss (each miss allocates, as without it).
#[derive(Debug, Default)]
struct Interner {
    texts: [Ring<Arc<str>>; 4],
    kept: Vec<Ring<Arc<[u8]>>>,
}

#[derive(Debug)]
struct Ring<T> {
    values: Vec<T>,
    next: usize,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring {
            values: Vec::new(),
            next: 0,
        }
    }
}

/// What a [`Ring`] compares by.
trait AsBytes {
    fn as_bytes(&self) -> &[u8];
}

impl AsBytes for Arc<str> {
    fn as_bytes(&self) -> &[u8] {
        str::as_bytes(self)
    }
}

impl AsBytes for Arc<[u8]> {
    fn as_bytes(&self) -> &[u8] {
        self
    }
}

impl<T: AsBytes + Clone> Ring<T> {
    fn get_or_make(&mut self, value: &[u8], make: impl FnOnce(&[u8]) -> T) -> T {
        if value.len() > MAX_INTERNED_BYTES {
            return make(value);
        }
        if let Some(hit) = self.values.iter().find(|v| v.as_bytes() == value) {
            return hit.clone();
        }
        let made = make(value);
        if self.values.len() < INTERNED_PER_SLOT {
            self.values.push(made.clone());
        } else {
            self.values[self.next] = made.clone();
            self.next = (self.next + 1) % INTERNED_PER_SLOT;
        }
        made
    }
}

impl Interner {
    fn text(&mut self, slot: TextSlot, value: &[u8]) -> Arc<str> {
        self.texts[slot as usize].get_or_make(value, text)
    }

    fn kept(&mut self, index: usize, value: &[u8]) -> Arc<[u8]> {
        if self.kept.is_empty() {
            self.kept.resize_with(KEPT_FIELDS.len(), Ring::default);
        }
        self.kept[index].get_or_make(value, |v| Arc::from(v))
    }
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

    #[test]
    fn kept_index_names_exactly_the_kept_fields() {
        for (i, name) in KEPT_FIELDS.iter().enumerate() {
            assert_eq!(kept_index(name.as_bytes()), Some(i), "{name}");
        }
        for other in ["MESSAGE", "_PID", "_CMDLINE", "_uid", "PATH_", ""] {
            assert_eq!(kept_index(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn repeated_values_are_shared_and_distinct_ones_still_correct() {
        let mut b = EntryBuilder::default();
        let mut entries = Vec::new();
        for i in 0..40 {
            b.add(b"_HOSTNAME", b"mcp-host");
            b.add(b"_COMM", b"cloudflared");
            b.add(b"REQUEST_ID", format!("req-{i}").as_bytes());
            entries.push(b.finish(0));
        }
        let (a, z) = (&entries[0], &entries[39]);
        assert!(Arc::ptr_eq(
            a.hostname.as_ref().unwrap(),
            z.hostname.as_ref().unwrap()
        ));
        assert_eq!(z.field_str("_COMM"), Some("cloudflared"));
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.field_str("REQUEST_ID"), Some(format!("req-{i}").as_str()));
        }
    }

    #[test]
    fn invalid_utf8_in_identifiers_is_replaced() {
        let mut b = EntryBuilder::default();
        b.add(b"_HOSTNAME", b"h\xffst");
        b.add(b"__CURSOR", b"s=1;\xfe");
        let e = b.finish(0);
        assert_eq!(e.hostname.as_deref(), Some("h\u{fffd}st"));
        assert_eq!(
            e.cursor.map(|c| c.0.to_string()),
            Some("s=1;\u{fffd}".into())
        );
    }

    #[test]
    fn discard_forgets_the_record() {
        let mut b = EntryBuilder::default();
        b.add(b"MESSAGE", b"dropped");
        b.add(b"_UID", b"0");
        b.discard();
        assert!(b.is_empty());
        b.add(b"__REALTIME_TIMESTAMP", b"5");
        let e = b.finish(0);
        assert_eq!((&*e.message, e.fields.len()), (&b""[..], 0));
    }
}
