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
//! their length and first byte, then one compare of constant length ([`field_of`]), not
//! through a map: this runs for every field of every entry.
//!
//! # Speed (see `scripts/bench`)
//! This is the hottest code of every input, so it allocates as little as it can:
//! - [`EntryBuilder::add_in_place`] (the export decoder) only notes where a kept value
//!   sits in the caller's read buffer; [`EntryBuilder::add`] (JSON lines, sd-journal)
//!   copies it into one reused scratch buffer. No allocation happens until
//!   [`EntryBuilder::finish`], and none at all for an entry the unit filter drops
//!   ([`EntryBuilder::unit_of`] reads the values where they are, then
//!   [`EntryBuilder::discard`]). A journal of several services is mostly such entries.
//! - The per-field path (`add_in_place`, [`field_of`]) is inlined into the decoder's
//!   line loop: as calls, their prologues and epilogues were most of a field's cost.
//! - Who wrote the entry (boot id, unit, host, kept fields) is one shared [`Origin`]: the
//!   last two writers' origins are compared first (the server's and the tunnel's lines
//!   interleave), so an entry usually costs a few short compares ([`same`]) and one
//!   reference count. A miss builds a new origin from bounded caches of `Arc`s per value
//!   ([`Interner`]), so the entries still share one copy of each value in memory.
//! - Field names are `&'static str` (the [`KEPT_FIELDS`] entries themselves).
//! - Text is checked with SIMD UTF-8 validation (`bytes::utf8`) and decoded lossily only
//!   when that fails.
//!
//! So a kept entry costs two allocations, its message and its cursor, plus an origin
//! for a writer the interner has not seen recently. (A cursor kept as its six numbers
//! instead of a string was tried: parsing the hex cost more than the allocation.)

use std::sync::Arc;

use crate::bytes::{same, utf8};

use super::{
    Cursor, InputId, KeptFields, NotWatched, Origin, RawEntry, Timestamp, Unit, UnitFields,
    UnitFilter, KEPT_FIELDS,
};

/// Where one value sits: in [`EntryBuilder`]'s scratch buffer, or in the caller's
/// buffer (`in_place`, see [`EntryBuilder::add_in_place`]).
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    len: usize,
    in_place: bool,
}

/// The bytes of `span`: from the scratch buffer, or from the caller's buffer `buf`.
#[inline]
fn bytes_of<'a>(scratch: &'a [u8], buf: &'a [u8], span: Span) -> &'a [u8] {
    let from = if span.in_place { buf } else { scratch };
    &from[span.start..span.start + span.len]
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
    /// Bit `i` set: `KEPT_FIELDS[i]` is in `kept` (a repeat keeps its first value).
    kept_seen: u32,
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
    #[inline]
    pub(crate) fn add(&mut self, name: &[u8], value: &[u8]) {
        self.add_with(name, value, |scratch| push(scratch, value));
    }

    /// Adds the field whose value is `buf[start..end]`, without copying it: the record
    /// keeps its place in `buf`, and every later call that reads values (`unit_of`,
    /// `finish`) must be given the same `buf`, unchanged at those places. A caller about
    /// to move or overwrite what it read calls [`EntryBuilder::spill`] first.
    ///
    /// For the export decoder, whose values already sit in its read buffer: copying each
    /// kept value into the scratch buffer (a `memcpy` call per ~30-byte value) was a
    /// measurable part of a report's CPU (see docs/bench-results.md, "Code notes").
    // Inlined: as a call it costs more than the work (measured: see
    // docs/bench-results.md, "Code notes").
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(crate) fn add_in_place(&mut self, name: &[u8], buf: &[u8], start: usize, end: usize) {
        self.add_with(name, &buf[start..end], |_| Span {
            start,
            len: end - start,
            in_place: true,
        });
    }

    /// Copies the values still kept in the caller's buffer into the scratch buffer, so
    /// the caller may reuse it; the record goes on being built.
    pub(crate) fn spill(&mut self, buf: &[u8]) {
        let scratch = &mut self.scratch;
        let mut move_out = |span: &mut Span| {
            if span.in_place {
                *span = push(scratch, &buf[span.start..span.start + span.len]);
            }
        };
        for span in [
            &mut self.boot_id,
            &mut self.cursor,
            &mut self.systemd_unit,
            &mut self.about_unit,
            &mut self.hostname,
            &mut self.message,
        ]
        .into_iter()
        .flatten()
        {
            move_out(span);
        }
        for (_, span) in &mut self.kept {
            move_out(span);
        }
    }

    #[allow(clippy::inline_always)] // see add_in_place
    #[inline(always)]
    fn add_with(&mut self, name: &[u8], value: &[u8], store: impl FnOnce(&mut Vec<u8>) -> Span) {
        self.field_count += 1;
        let slot = match field_of(name) {
            Field::Ignored => return,
            Field::Message => &mut self.message,
            Field::Realtime => {
                if self.realtime_us.is_none() {
                    self.realtime_us = parse_u64(value);
                }
                return;
            }
            Field::Monotonic => {
                if self.monotonic_us.is_none() {
                    self.monotonic_us = parse_u64(value);
                }
                return;
            }
            Field::Cursor => &mut self.cursor,
            Field::BootId => &mut self.boot_id,
            Field::SystemdUnit => &mut self.systemd_unit,
            Field::AboutUnit => &mut self.about_unit,
            Field::Hostname => &mut self.hostname,
            Field::Pid => {
                if self.pid.is_none() {
                    self.pid = parse_u64(value).and_then(|v| u32::try_from(v).ok());
                }
                return;
            }
            Field::Priority => {
                if self.priority.is_none() {
                    self.priority = parse_u64(value).and_then(|v| u8::try_from(v).ok());
                }
                return;
            }
            Field::Kept(i) => {
                let bit = 1u32 << i;
                if self.kept_seen & bit == 0 {
                    self.kept_seen |= bit;
                    let span = store(&mut self.scratch);
                    self.kept.push((i, span));
                }
                return;
            }
        };
        if slot.is_none() {
            *slot = Some(store(&mut self.scratch));
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
    /// [`UnitFilter::unit_of_fields`]. `buf`: the caller's buffer its values were added in
    /// place from (empty when they were all copied).
    pub(crate) fn unit_of(
        &self,
        filter: &UnitFilter,
        buf: &[u8],
    ) -> Result<Option<Unit>, NotWatched> {
        filter.unit_of_fields(&Record { builder: self, buf })
    }

    /// Forgets the current record without building it (the unit filter dropped it).
    pub(crate) fn discard(&mut self) {
        self.reset();
    }

    /// The finished entry (no unit attributed yet); the builder is empty afterwards.
    /// A record without `__REALTIME_TIMESTAMP` gets time 0: it is kept, not dropped.
    /// `buf`: as for [`EntryBuilder::unit_of`].
    pub(crate) fn finish(&mut self, input: InputId, buf: &[u8]) -> RawEntry {
        let s = &self.scratch;
        let get = |span: Option<Span>| span.map(|sp| bytes_of(s, buf, sp));
        let interner = &mut self.interner;
        let cursor = match self.header_cursor.take() {
            Some(c) => Some(Cursor(c)),
            None => get(self.cursor).map(|v| Cursor(text(v))),
        };
        let origin = interner.origin(
            [
                get(self.boot_id),
                get(self.systemd_unit),
                get(self.hostname),
            ],
            |span| bytes_of(s, buf, span),
            &self.kept,
        );
        let entry = RawEntry {
            realtime: Timestamp(self.realtime_us.unwrap_or(0)),
            monotonic_us: self.monotonic_us,
            cursor,
            unit: None,
            origin,
            about_unit: get(self.about_unit).map(|v| interner.text(TextSlot::AboutUnit, v)),
            pid: self.pid,
            priority: self.priority,
            message: get(self.message).map(Box::from).unwrap_or_default(),
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
        self.kept_seen = 0;
        self.field_count = 0;
    }
}

/// The record being built and the buffer its in-place values are in: what the unit
/// filter reads before anything is allocated.
struct Record<'a> {
    builder: &'a EntryBuilder,
    buf: &'a [u8],
}

impl Record<'_> {
    fn value(&self, span: Option<Span>) -> Option<&[u8]> {
        span.map(|sp| bytes_of(&self.builder.scratch, self.buf, sp))
    }
}

impl UnitFields for Record<'_> {
    fn systemd_unit(&self) -> Option<&[u8]> {
        self.value(self.builder.systemd_unit)
    }

    fn about_unit(&self) -> Option<&[u8]> {
        self.value(self.builder.about_unit)
    }

    fn pid(&self) -> Option<u32> {
        self.builder.pid
    }

    fn kept_field(&self, name: &str) -> Option<&[u8]> {
        let Field::Kept(i) = field_of(name.as_bytes()) else {
            return None;
        };
        if self.builder.kept_seen & (1 << i) == 0 {
            return None;
        }
        self.builder
            .kept
            .iter()
            .find(|&&(k, _)| k == i)
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
        in_place: false,
    }
}

/// Where a field goes: a typed slot, a [`KEPT_FIELDS`] index, or nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Message,
    Realtime,
    Monotonic,
    Cursor,
    BootId,
    SystemdUnit,
    AboutUnit,
    Hostname,
    Pid,
    Priority,
    Kept(usize),
    Ignored,
}

/// What `name` is. Runs for every field of every record, and most fields are ignored
/// ones (`_CMDLINE`, `_EXE`, `_CAP_EFFECTIVE`, …): the length and the first byte (the
/// second for a few) pick the one name it can be before any bytes are compared, so an
/// ignored name usually costs a jump and no compare. Tests check it against
/// [`KEPT_FIELDS`] and the typed slots.
#[allow(clippy::inline_always)] // see EntryBuilder::add_in_place
#[inline(always)]
fn field_of(name: &[u8]) -> Field {
    let Some(&first) = name.first() else {
        return Field::Ignored;
    };
    match (name.len(), first) {
        (4, b'U') => is(name, b"UNIT", Field::AboutUnit),
        (4, b'P') => is(name, b"PATH", Field::Kept(19)),
        (4, b'_') => match name.get(1) {
            Some(b'P') => is(name, b"_PID", Field::Pid),
            _ => is(name, b"_UID", Field::Kept(3)),
        },
        (5, b'_') => is(name, b"_COMM", Field::Kept(1)),
        (6, b'L') => is(name, b"LOGGER", Field::Kept(13)),
        (6, b'C') => is(name, b"CF_RAY", Field::Kept(17)),
        (6, b'M') => is(name, b"METHOD", Field::Kept(20)),
        (7, b'M') => is(name, b"MESSAGE", Field::Message),
        (8, b'_') => match name.get(1) {
            Some(b'_') => is(name, b"__CURSOR", Field::Cursor),
            _ => is(name, b"_BOOT_ID", Field::BootId),
        },
        (8, b'P') => is(name, b"PRIORITY", Field::Priority),
        (8, b'J') => is(name, b"JOB_TYPE", Field::Kept(9)),
        (9, b'_') => is(name, b"_HOSTNAME", Field::Hostname),
        (9, b'E') => is(name, b"EXIT_CODE", Field::Kept(11)),
        (9, b'C') => is(name, b"CLIENT_IP", Field::Kept(18)),
        (10, b'_') => is(name, b"_TRANSPORT", Field::Kept(2)),
        (10, b'M') => is(name, b"MESSAGE_ID", Field::Kept(4)),
        (10, b'J') => is(name, b"JOB_RESULT", Field::Kept(10)),
        (10, b'R') => is(name, b"REQUEST_ID", Field::Kept(14)),
        (11, b'E') => is(name, b"EXIT_STATUS", Field::Kept(12)),
        (11, b'S') => is(name, b"STATUS_CODE", Field::Kept(15)),
        (11, b'D') => is(name, b"DURATION_MS", Field::Kept(16)),
        (13, b'_') => is(name, b"_SYSTEMD_UNIT", Field::SystemdUnit),
        (13, b'C') => is(name, b"COREDUMP_UNIT", Field::Kept(5)),
        (13, b'I') => is(name, b"INVOCATION_ID", Field::Kept(8)),
        (13, b'R') => is(name, b"RESPONSE_BODY", Field::Kept(21)),
        (17, b'S') => is(name, b"SYSLOG_IDENTIFIER", Field::Kept(0)),
        (19, b'O') => is(name, b"OBJECT_SYSTEMD_UNIT", Field::Kept(6)),
        (20, b'_') => is(name, b"__REALTIME_TIMESTAMP", Field::Realtime),
        (21, b'_') => is(name, b"__MONOTONIC_TIMESTAMP", Field::Monotonic),
        (22, b'_') => is(name, b"_SYSTEMD_INVOCATION_ID", Field::Kept(7)),
        _ => Field::Ignored,
    }
}

/// True when [`EntryBuilder::add`] keeps something of a field called `name` (a typed slot
/// or a [`KEPT_FIELDS`] entry); adding any other field only marks the record as not empty.
pub(crate) fn is_read(name: &[u8]) -> bool {
    field_of(name) != Field::Ignored
}

/// `field` when `name` is `literal`. The length is a constant here, so the compare is a
/// few word loads, not a call to `memcmp`.
#[inline]
fn is<const N: usize>(name: &[u8], literal: &[u8; N], field: Field) -> Field {
    match <&[u8; N]>::try_from(name) {
        Ok(n) if n == literal => field,
        _ => Field::Ignored,
    }
}

/// The index in [`KEPT_FIELDS`] of `name`, if it is kept.
#[cfg(test)]
fn kept_index(name: &[u8]) -> Option<usize> {
    match field_of(name) {
        Field::Kept(i) => Some(i),
        _ => None,
    }
}

/// A value as text; invalid UTF-8 is replaced, which only affects identifiers (units,
/// host names, cursors), never the message.
fn text(value: &[u8]) -> Arc<str> {
    match utf8(value) {
        Some(s) => Arc::from(s),
        None => Arc::from(String::from_utf8_lossy(value).as_ref()),
    }
}

/// Values each slot remembers. Small on purpose: a lookup is a linear scan (length, then
/// bytes), so a miss costs a few compares, and a slot of unique values (request ids) just
/// cycles through it.
const INTERNED_PER_SLOT: usize = 8;
/// Longer values are never interned: they rarely repeat, and comparing them costs.
const MAX_INTERNED_BYTES: usize = 128;
/// Origins whose kept values add up to more are never remembered (same reasons).
const MAX_INTERNED_SET_BYTES: usize = 1024;

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
    /// Whole origins (see [`Origin`]), and which ones the last two writers had.
    origins: Ring<Arc<Origin>>,
    last_origins: [usize; 2],
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

impl Interner {
    /// A new set of the entry's kept fields (`kept`: indexes into [`KEPT_FIELDS`] and
    /// spans of `value`), of interned values; sets are shared through their [`Origin`].
    fn kept_set<'v>(
        &mut self,
        value: impl Fn(Span) -> &'v [u8],
        kept: &[(usize, Span)],
    ) -> KeptFields {
        KeptFields::from(
            kept.iter()
                .map(|&(i, span)| (KEPT_FIELDS[i], self.kept(i, value(span))))
                .collect::<Vec<_>>(),
        )
    }
}

/// Whether `set` has the names and values of `kept` (spans read through `value`), in
/// the same order.
#[inline]
fn is_same_set<'v>(
    set: &KeptFields,
    value: impl Fn(Span) -> &'v [u8],
    kept: &[(usize, Span)],
) -> bool {
    if set.len() != kept.len() {
        return false;
    }
    for (&(name, ref v), &(i, span)) in set.iter().zip(kept) {
        // Names are the `KEPT_FIELDS` entries themselves: the same pointer is the same
        // name (the text compare is for another copy of the literal).
        let want = KEPT_FIELDS[i];
        let same_name = (std::ptr::eq(name.as_ptr(), want.as_ptr()) && name.len() == want.len())
            || same(name.as_bytes(), want.as_bytes());
        if !same_name || !same(v, value(span)) {
            return false;
        }
    }
    true
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
        if let Some(hit) = self.values.iter().find(|v| same(v.as_bytes(), value)) {
            return hit.clone();
        }
        let made = make(value);
        self.remember(made.clone());
        made
    }
}

impl<T> Ring<T> {
    /// Keeps `value`, in place of the oldest once the ring is full; says where.
    fn remember(&mut self, value: T) -> usize {
        if self.values.len() < INTERNED_PER_SLOT {
            self.values.push(value);
            self.values.len() - 1
        } else {
            let at = self.next;
            self.values[at] = value;
            self.next = (self.next + 1) % INTERNED_PER_SLOT;
            at
        }
    }
}

impl Interner {
    /// The entry's origin from its boot id, systemd unit and host name (`ids`) and its
    /// kept fields (as for [`Interner::kept_set`]): the last entry's when they are the
    /// same (a few short compares and one reference count), else a remembered one, else
    /// a new one built of interned values.
    fn origin<'v>(
        &mut self,
        ids: [Option<&[u8]>; 3],
        value: impl Fn(Span) -> &'v [u8] + Copy,
        kept: &[(usize, Span)],
    ) -> Arc<Origin> {
        let text_is = |have: &Option<Arc<str>>, want: Option<&[u8]>| match (have, want) {
            (Some(h), Some(w)) => same(h.as_bytes(), w),
            (h, w) => h.is_none() && w.is_none(),
        };
        // The unit and the number of kept fields tell writers apart soonest.
        let is_same = |o: &Origin| {
            o.fields.len() == kept.len()
                && text_is(&o.systemd_unit, ids[1])
                && text_is(&o.hostname, ids[2])
                && text_is(&o.boot_id, ids[0])
                && is_same_set(&o.fields, value, kept)
        };
        // The last two writers first: the server's and the tunnel's lines interleave.
        let [last, before] = self.last_origins;
        let found = [last, before]
            .into_iter()
            .find(|&i| self.origins.values.get(i).is_some_and(|o| is_same(o)))
            .or_else(|| self.origins.values.iter().position(|o| is_same(o)));
        if let Some(i) = found {
            if i != last {
                self.last_origins = [i, last];
            }
            return Arc::clone(&self.origins.values[i]);
        }
        let [boot_id, systemd_unit, hostname] = ids;
        let made = Arc::new(Origin {
            boot_id: boot_id.map(|v| self.text(TextSlot::BootId, v)),
            systemd_unit: systemd_unit.map(|v| self.text(TextSlot::SystemdUnit, v)),
            hostname: hostname.map(|v| self.text(TextSlot::Hostname, v)),
            fields: self.kept_set(value, kept),
        });
        // Long kept values (a native journald record's RESPONSE_BODY) will not repeat,
        // and the ring must stay small however large fields are: such origins are not
        // remembered.
        let bytes: usize = kept.iter().map(|&(_, span)| span.len).sum();
        if bytes <= MAX_INTERNED_SET_BYTES {
            let at = self.origins.remember(Arc::clone(&made));
            self.last_origins = [at, self.last_origins[0]];
        }
        made
    }

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
        let e = b.finish(0, &[]);
        assert_eq!(&*e.message, b"first");
        assert_eq!(e.field_str("_UID"), Some("0"));
        assert!(b.is_empty());
    }

    /// Values added in place are read from the caller's buffer; spilled, they survive
    /// the buffer being overwritten; copied and in-place values mix in one record.
    #[test]
    fn in_place_values_survive_a_spill() {
        let mut buf = b"MESSAGE=hello _SYSTEMD_UNIT=a.service _COMM=py".to_vec();
        let mut b = EntryBuilder::default();
        b.add_in_place(b"MESSAGE", &buf, 8, 13);
        b.add_in_place(b"_SYSTEMD_UNIT", &buf, 28, 37);
        b.add(b"_HOSTNAME", b"h1");
        let filter = UnitFilter {
            units: vec![Unit::new("a")],
        };
        assert!(matches!(b.unit_of(&filter, &buf), Ok(Some(_))));
        b.spill(&buf);
        buf.fill(b'#');
        b.add_in_place(b"_COMM", b"xx _COMM=py", 9, 11);
        let e = b.finish(0, b"xx _COMM=py");
        assert_eq!(&*e.message, b"hello");
        assert_eq!(e.origin.systemd_unit.as_deref(), Some("a.service"));
        assert_eq!(e.origin.hostname.as_deref(), Some("h1"));
        assert_eq!(e.field_str("_COMM"), Some("py"));
    }

    #[test]
    fn bad_numbers_leave_typed_slots_empty() {
        let mut b = EntryBuilder::default();
        b.add(b"_PID", b"12x");
        b.add(b"PRIORITY", b"300");
        b.add(b"__REALTIME_TIMESTAMP", b"99999999999999999999999");
        let e = b.finish(0, &[]);
        assert_eq!((e.pid, e.priority, e.realtime), (None, None, Timestamp(0)));
    }

    #[test]
    fn unknown_fields_are_not_kept() {
        let mut b = EntryBuilder::default();
        b.add(b"_CMDLINE", b"/usr/bin/python");
        b.add(b"SYSLOG_IDENTIFIER", b"python");
        let e = b.finish(3, &[]);
        assert_eq!(e.origin.fields.len(), 1);
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
    fn field_of_names_exactly_the_typed_slots() {
        let typed = [
            ("MESSAGE", Field::Message),
            ("__REALTIME_TIMESTAMP", Field::Realtime),
            ("__MONOTONIC_TIMESTAMP", Field::Monotonic),
            ("__CURSOR", Field::Cursor),
            ("_BOOT_ID", Field::BootId),
            ("_SYSTEMD_UNIT", Field::SystemdUnit),
            ("UNIT", Field::AboutUnit),
            ("_HOSTNAME", Field::Hostname),
            ("_PID", Field::Pid),
            ("PRIORITY", Field::Priority),
        ];
        for (name, field) in typed {
            assert_eq!(field_of(name.as_bytes()), field, "{name}");
        }
        for other in [
            "_PIE",
            "_UIE",
            "__CURSOS",
            "_BOOT_IE",
            "UNIX",
            "MESSAGF",
            "_CMDLINE",
            "_EXE",
            "_GID",
            "TID",
            "_CAP_EFFECTIVE",
            "_SYSTEMD_SLICE",
            "_MACHINE_ID",
            "_STREAM_ID",
            "SYSLOG_FACILITY",
            "CODE_FILE",
            "_SYSTEMD_CGROUP",
            "",
            "_",
        ] {
            assert_eq!(field_of(other.as_bytes()), Field::Ignored, "{other}");
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
            entries.push(b.finish(0, &[]));
        }
        let (a, z) = (&entries[0], &entries[39]);
        assert!(Arc::ptr_eq(
            a.origin.hostname.as_ref().unwrap(),
            z.origin.hostname.as_ref().unwrap()
        ));
        assert_eq!(z.field_str("_COMM"), Some("cloudflared"));
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.field_str("REQUEST_ID"), Some(format!("req-{i}").as_str()));
        }
    }

    /// Entries of two processes, interleaved: each process's entries share one set of
    /// kept fields; a set that differs in one value, in order, or in a field is its own.
    #[test]
    fn equal_kept_field_sets_are_shared_and_different_ones_are_not() {
        let mut b = EntryBuilder::default();
        let mut finish = |fields: &[(&[u8], &[u8])]| {
            for (name, value) in fields {
                b.add(name, value);
            }
            b.add(b"MESSAGE", b"m");
            b.finish(0, &[])
        };
        let py: &[(&[u8], &[u8])] = &[(b"_COMM", b"python"), (b"_UID", b"998")];
        let cf: &[(&[u8], &[u8])] = &[(b"_COMM", b"cloudflared"), (b"_UID", b"997")];
        let (a, c, a2) = (finish(py), finish(cf), finish(py));
        assert!(
            std::ptr::eq(a.origin.fields.as_ptr(), a2.origin.fields.as_ptr()),
            "{a:?}"
        );
        assert!(!std::ptr::eq(
            a.origin.fields.as_ptr(),
            c.origin.fields.as_ptr()
        ));
        assert_eq!(c.field_str("_COMM"), Some("cloudflared"));
        let other_uid = finish(&[(b"_COMM", b"python"), (b"_UID", b"0")]);
        let swapped = finish(&[(b"_UID", b"998"), (b"_COMM", b"python")]);
        let fewer = finish(&[(b"_COMM", b"python")]);
        for e in [&other_uid, &swapped, &fewer] {
            assert!(
                !std::ptr::eq(a.origin.fields.as_ptr(), e.origin.fields.as_ptr()),
                "{e:?}"
            );
        }
        assert_eq!(other_uid.field_str("_UID"), Some("0"));
        assert_eq!(swapped.origin.fields[0].0, "_UID");
        assert_eq!(
            (fewer.origin.fields.len(), finish(&[]).origin.fields.len()),
            (1, 0)
        );
        // Sets with long values are not remembered (bounded memory), yet are whole.
        let body = vec![b'x'; 4096];
        let long: &[(&[u8], &[u8])] = &[(b"_COMM", b"python"), (b"RESPONSE_BODY", &body)];
        let (l1, l2) = (finish(long), finish(long));
        assert!(!std::ptr::eq(
            l1.origin.fields.as_ptr(),
            l2.origin.fields.as_ptr()
        ));
        assert_eq!(l2.field("RESPONSE_BODY"), Some(&body[..]));
        let mut remembered = b
            .interner
            .origins
            .values
            .iter()
            .flat_map(|o| o.fields.iter());
        assert!(remembered.all(|(name, _)| *name != "RESPONSE_BODY"));
    }

    #[test]
    fn invalid_utf8_in_identifiers_is_replaced() {
        let mut b = EntryBuilder::default();
        b.add(b"_HOSTNAME", b"h\xffst");
        b.add(b"__CURSOR", b"s=1;\xfe");
        let e = b.finish(0, &[]);
        assert_eq!(e.origin.hostname.as_deref(), Some("h\u{fffd}st"));
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
        let e = b.finish(0, &[]);
        assert_eq!((&*e.message, e.origin.fields.len()), (&b""[..], 0));
    }
}
