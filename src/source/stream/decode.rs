//! Decoding `journalctl -o export` and `journalctl -o json` byte streams into entries.
//!
//! Owns the framing of both formats, its limits and what it skipped ([`DecodeCounts`]).
//! Key type: [`Decoder`] (sync, incremental: feed it any chunking of the bytes and get
//! the same entries, so it can be fuzzed and benchmarked). Does not own what a field
//! means (that is `fields::EntryBuilder`, shared with the sd-journal reader), nor the
//! reads and the batches sent on (that is `stream::read`).
//!
//! Formats (see systemd's `JOURNAL_EXPORT_FORMATS` document):
//! - export: records separated by a blank line; a text field is `KEY=value\n`; a binary
//!   field is `KEY\n`, a little-endian u64 length, the bytes, `\n`.
//! - json: one object per line; a value is a string, an array of byte numbers (binary),
//!   `null` (journalctl hides fields over 4096 bytes without `--all`), or, for a field
//!   that repeats, an array of such values (we take the first).
//!
//! The format is chosen from the first non-whitespace byte: `{` means JSON.
//!
//! Bad input never panics and never stops the stream: a line with no `=` that is not a
//! valid binary field header, an empty field name, a line of garbage JSON, or a JSON value
//! that is not an object is skipped and counted; the first few of each kind are reported
//! as warnings. A stream cut in the middle of a record keeps every complete record and
//! reports the cut.

use std::io::Read;

use memchr::memchr;

use super::json;
use crate::bytes;
use crate::source::fields::EntryBuilder;
use crate::source::filter::EntryFilter;
use crate::source::{InputId, RawEntry, UnitFilter};

/// Longest field (or JSON line) we buffer; longer ones are skipped. journald itself caps
/// entries well below this in practice (its default `LineMax` is 48 KiB for stdout).
pub const MAX_FIELD_BYTES: usize = 64 * 1024 * 1024;

/// How many warnings of each kind are reported; the rest are only counted.
const WARNINGS_PER_KIND: u64 = 3;

/// How much [`Decoder::read_from`] asks `read` for at least: large reads mean few system
/// calls (a 1 GB export is ~4000 of them).
pub const READ_CHUNK_BYTES: usize = 256 * 1024;

/// The two framings `journalctl` can produce that we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Export,
    Json,
}

/// What the decoder dropped or skipped, by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DecodeCounts {
    /// Entries handed out (after the unit filter).
    pub entries: u64,
    /// Entries that belong to none of the selected units.
    pub filtered_out: u64,
    /// Export lines that were neither `KEY=value` nor a binary field header.
    pub skipped_lines: u64,
    /// JSON lines that did not parse, or parsed to something other than an object.
    pub skipped_json: u64,
    /// Fields or lines longer than [`MAX_FIELD_BYTES`].
    pub oversized: u64,
    /// Cut records at end of input (0 or 1).
    pub truncated: u64,
}

/// Incremental decoder of one export or JSON stream.
pub struct Decoder {
    filter: UnitFilter,
    /// journalctl's other filters, tested on each entry the unit filter keeps.
    entry_filter: EntryFilter,
    input: InputId,
    format: Option<Format>,
    /// Bytes read and not yet consumed live in `buf[pos..end]`; `buf[end..]` is room to
    /// read into (initialised once, so reading needs no zeroing or copying).
    buf: Vec<u8>,
    /// Where the valid bytes end in `buf`.
    end: usize,
    /// Where the next unread record part starts in `buf`.
    pos: usize,
    /// Where to resume looking for a newline (everything in `pos..scan` has none).
    scan: usize,
    /// Inside an oversized line: drop bytes up to and including the next newline.
    is_discarding: bool,
    entry: EntryBuilder,
    counts: DecodeCounts,
    warnings: Vec<String>,
    /// The stream's first line is neither a JSON object nor an export field: it is some
    /// other text (`journalctl -o short`, `-o cat`, a plain log file). Holds why, for the
    /// reader to stop with; nothing more is decoded.
    refusal: Option<String>,
    /// Set by [`Decoder::finish`]: a first line without a newline is whole.
    is_ending: bool,
}

/// How much of a stream's first line [`Decoder`] needs to tell export text from other
/// text when the line has no newline yet.
const FIRST_LINE_PEEK_BYTES: usize = 4096;

impl Decoder {
    pub fn new(filter: UnitFilter, input: InputId) -> Decoder {
        Decoder {
            filter,
            entry_filter: EntryFilter::default(),
            input,
            format: None,
            buf: Vec::new(),
            end: 0,
            pos: 0,
            scan: 0,
            is_discarding: false,
            entry: EntryBuilder::default(),
            counts: DecodeCounts::default(),
            warnings: Vec::new(),
            refusal: None,
            is_ending: false,
        }
    }

    /// Why this stream is not `journalctl -o export` or `-o json` text, once its first
    /// line has shown it (see [`Decoder::refusal`]'s field): the reader stops with this.
    pub fn refusal(&self) -> Option<&str> {
        self.refusal.as_deref()
    }

    /// Also applies journalctl's other filters (`-p`, `-t`, `-b ID`, `-g`); what they
    /// drop counts as filtered out.
    #[must_use]
    pub fn with_filter(mut self, filter: EntryFilter) -> Decoder {
        self.entry_filter = filter;
        self
    }

    /// The format, once the first non-whitespace byte has been seen.
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    pub fn counts(&self) -> &DecodeCounts {
        &self.counts
    }

    /// Warnings produced since the last call.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Decodes what `chunk` completes; entries are appended to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<RawEntry>) {
        self.make_room(chunk.len());
        self.buf[self.end..self.end + chunk.len()].copy_from_slice(chunk);
        self.end += chunk.len();
        self.run(out);
    }

    /// Reads once from `reader` straight into the decoder's buffer (no copy through a
    /// chunk) and decodes what that completes. Returns how many bytes were read: 0 at
    /// end of input.
    pub fn read_from(
        &mut self,
        reader: &mut impl Read,
        out: &mut Vec<RawEntry>,
    ) -> std::io::Result<usize> {
        self.make_room(READ_CHUNK_BYTES);
        let n = reader.read(&mut self.buf[self.end..])?;
        self.end += n;
        self.run(out);
        Ok(n)
    }

    /// Makes `buf[end..]` at least `n` bytes long: first by moving the unread tail (at
    /// most one record part, usually a few hundred bytes) to the front, then by growing.
    fn make_room(&mut self, n: usize) {
        // The record being built may have values in place in what was read so far,
        // which is about to be moved or overwritten: they are copied out first (one
        // record per read, at most).
        if !self.entry.is_empty() {
            self.entry.spill(&self.buf);
        }
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
            self.scan = 0;
        }
        if self.buf.len() - self.end >= n {
            return;
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.scan -= self.pos;
            self.pos = 0;
        }
        let want = self.end + n;
        if self.buf.len() < want {
            // Double for long records, but never by more than one read's worth beyond
            // what is needed: the buffer stays close to the longest record part seen.
            let grown = (self.buf.len() * 2).min(want + READ_CHUNK_BYTES);
            self.buf.resize(want.max(grown), 0);
        }
    }

    /// Ends the stream: a last record without its closing blank line (or newline) is still
    /// taken when it is whole; a cut one is dropped and reported.
    pub fn finish(&mut self, out: &mut Vec<RawEntry>) {
        self.is_ending = true;
        self.run(out);
        let rest_is_blank = self.buf[self.pos..self.end]
            .iter()
            .all(u8::is_ascii_whitespace);
        match self.format {
            Some(Format::Json) if !rest_is_blank => {
                let line = self.buf[self.pos..self.end].to_vec();
                if !self.decode_json_line(&line, out) {
                    self.report_cut("a JSON line");
                }
            }
            Some(Format::Export) => {
                if rest_is_blank {
                    let buf = std::mem::take(&mut self.buf);
                    self.end_record(&buf, out);
                    self.buf = buf;
                } else {
                    self.entry.discard();
                    self.report_cut("an export record");
                }
            }
            _ => {}
        }
        if self.is_discarding {
            self.report_cut("an oversized field");
        }
        self.end = 0;
        self.pos = 0;
        self.scan = 0;
        self.is_discarding = false;
    }

    fn report_cut(&mut self, what: &str) {
        self.counts.truncated += 1;
        self.warnings.push(format!(
            "input ends in the middle of {what} (truncated stream?): every complete entry was kept, the cut one was dropped"
        ));
    }

    fn warn(&mut self, count: u64, message: impl FnOnce() -> String) {
        if count <= WARNINGS_PER_KIND {
            self.warnings.push(message());
        }
    }

    fn run(&mut self, out: &mut Vec<RawEntry>) {
        if self.refusal.is_some() {
            self.pos = self.end;
            self.scan = self.end;
            return;
        }
        if self.format.is_none() {
            let Some(first) = self.buf[self.pos..self.end]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
            else {
                return;
            };
            let start = self.pos + first;
            let is_json = self.buf[start] == b'{';
            // The first line decides: export text starts with a field (`NAME=value`, or a
            // binary field's bare name), JSON with an object on one line. Anything else is
            // another text format, refused as a whole rather than skipped line by line
            // into an empty result.
            let rest = &self.buf[start..self.end];
            let line = match memchr(b'\n', rest) {
                Some(nl) => &rest[..nl],
                None if rest.len() >= FIRST_LINE_PEEK_BYTES || self.is_ending => rest,
                None => return, // wait for the whole first line
            };
            let refusal = if is_json {
                // `-o json-pretty` spreads an object over lines.
                (line.trim_ascii() == b"{").then(|| {
                    "this is `journalctl -o json-pretty` text, which is not read: pipe \
                     `journalctl -o json …` (one object per line) or `-o export`"
                        .to_owned()
                })
            } else {
                let name = memchr(b'=', line).map_or(line, |eq| &line[..eq]);
                (!is_field_name(name)).then(|| {
                    let shown = String::from_utf8_lossy(&line[..line.len().min(80)]);
                    format!(
                        "this is not `journalctl -o export` or `-o json` text (it starts with {:?}): \
                         pipe `journalctl -o export …` (or `-o json`), not `-o short` or `-o cat`",
                        shown.escape_debug().to_string()
                    )
                })
            };
            if refusal.is_some() {
                self.refusal = refusal;
                self.pos = self.end;
                self.scan = self.end;
                return;
            }
            self.format = Some(if is_json {
                Format::Json
            } else {
                Format::Export
            });
            // Leading blank lines are not records; skip them once.
            self.pos = start;
            self.scan = self.pos;
        }
        if self.is_discarding && !self.discard_line() {
            return;
        }
        match self.format {
            Some(Format::Export) => self.run_export(out),
            Some(Format::Json) => self.run_json(out),
            None => {}
        }
    }

    /// Skips to just past the next newline; false when there is none yet.
    fn discard_line(&mut self) -> bool {
        if let Some(i) = memchr(b'\n', &self.buf[self.scan..self.end]) {
            self.pos = self.scan + i + 1;
            self.scan = self.pos;
            self.is_discarding = false;
            true
        } else {
            self.pos = self.end;
            self.scan = self.pos;
            false
        }
    }

    /// The end (exclusive, before `\n`) of the line starting at `pos`, or `None` when it is
    /// not complete yet (then an over-long line switches to discarding).
    fn line_end(&mut self) -> Option<usize> {
        if let Some(i) = memchr(b'\n', &self.buf[self.scan..self.end]) {
            return Some(self.scan + i);
        }
        self.incomplete_line();
        None
    }

    /// No newline in `pos..end` yet: the next scan starts at `end`, and a line longer
    /// than [`MAX_FIELD_BYTES`] switches to discarding.
    fn incomplete_line(&mut self) {
        self.scan = self.end;
        if self.end - self.pos > MAX_FIELD_BYTES {
            self.counts.oversized += 1;
            let n = self.counts.oversized;
            self.warn(n, || {
                format!("skipped a field or line longer than {MAX_FIELD_BYTES} bytes")
            });
            self.entry.discard();
            self.is_discarding = true;
            self.pos = self.end;
            self.scan = self.pos;
        }
    }

    /// `buf`: where the record's values were added in place from (the read buffer).
    fn end_record(&mut self, buf: &[u8], out: &mut Vec<RawEntry>) {
        if self.entry.is_empty() {
            return;
        }
        self.accept(buf, out);
    }

    /// Ends the record being built: the unit filter decides first, so a dropped entry is
    /// never built (no allocation). `buf`: as for [`Decoder::end_record`] (empty when
    /// every value was copied).
    fn accept(&mut self, buf: &[u8], out: &mut Vec<RawEntry>) {
        if let Ok(unit) = self.entry.unit_of(&self.filter, buf) {
            let mut entry = self.entry.finish(self.input, buf);
            entry.unit = unit;
            if self.entry_filter.is_active() && !self.entry_filter.is_match(&entry) {
                self.counts.filtered_out += 1;
                return;
            }
            self.counts.entries += 1;
            out.push(entry);
        } else {
            self.entry.discard();
            self.counts.filtered_out += 1;
        }
    }

    fn run_export(&mut self, out: &mut Vec<RawEntry>) {
        // The buffer is lent out while its lines are walked (the walk changes the rest of
        // `self`); it comes back whatever happens.
        let buf = std::mem::take(&mut self.buf);
        self.export_lines(&buf, out);
        self.buf = buf;
    }

    /// Decodes the complete export lines of `buf[pos..end]`.
    ///
    /// Newlines are found by one pass over what is unread ([`bytes::positions`]), not one
    /// search per line: an entry has ~24 short lines, and the per-call cost of a search
    /// was most of the decoder's time. A line's name then ends at its first `=`, found
    /// within the line by a word-at-a-time search ([`bytes::find_byte`]: names are short,
    /// `TID`, `MESSAGE`, `_SYSTEMD_INVOCATION_ID`).
    fn export_lines(&mut self, buf: &[u8], out: &mut Vec<RawEntry>) {
        'search: loop {
            let from = self.scan;
            for nl in bytes::positions(&buf[from..self.end], b'\n').map(|i| from + i) {
                let start = self.pos;
                if nl == start {
                    self.end_record(buf, out);
                } else if let Some(eq) =
                    bytes::find_byte(&buf[start..nl], 0, b'=').map(|i| start + i)
                {
                    if eq == start {
                        self.skip_line(buf, nl, "a field with an empty name");
                        continue;
                    }
                    self.entry.add_in_place(&buf[start..eq], buf, eq + 1, nl);
                } else {
                    // No '=': a binary field header, or garbage.
                    match self.binary_field(buf, start, nl) {
                        Binary::Done => continue 'search,
                        Binary::Skipped => continue,
                        Binary::Incomplete => {
                            self.scan = self.pos; // re-read the header when more bytes come
                            return;
                        }
                    }
                }
                self.pos = nl + 1;
                self.scan = self.pos;
            }
            // The line at `pos` is not complete yet.
            self.incomplete_line();
            return;
        }
    }

    /// The binary field whose header line is `buf[start..nl]`: a field name, then after
    /// the newline a little-endian u64 length, the bytes, and a newline.
    fn binary_field(&mut self, buf: &[u8], start: usize, nl: usize) -> Binary {
        if !is_field_name(&buf[start..nl]) {
            self.skip_line(buf, nl, "a line with no '=' that is not a field name");
            return Binary::Skipped;
        }
        let len_at = nl + 1;
        if self.end < len_at + 8 {
            return Binary::Incomplete;
        }
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&buf[len_at..len_at + 8]);
        let len = u64::from_le_bytes(len_bytes);
        let Some(len) = usize::try_from(len).ok().filter(|&l| l <= MAX_FIELD_BYTES) else {
            self.skip_line(
                buf,
                nl,
                "a line with no '=' and no valid binary length after it",
            );
            return Binary::Skipped;
        };
        let data_at = len_at + 8;
        if self.end < data_at + len + 1 {
            return Binary::Incomplete;
        }
        if buf[data_at + len] != b'\n' {
            self.skip_line(
                buf,
                nl,
                "a binary field whose data does not end with a newline",
            );
            return Binary::Skipped;
        }
        self.entry
            .add_in_place(&buf[start..nl], buf, data_at, data_at + len);
        self.pos = data_at + len + 1;
        self.scan = self.pos;
        Binary::Done
    }

    fn skip_line(&mut self, buf: &[u8], end: usize, what: &str) {
        self.counts.skipped_lines += 1;
        let n = self.counts.skipped_lines;
        let shown = String::from_utf8_lossy(&buf[self.pos..end.min(self.pos + 60)]).into_owned();
        self.warn(n, || format!("skipped {what}: {shown:?}"));
        self.pos = end + 1;
        self.scan = self.pos;
    }

    fn run_json(&mut self, out: &mut Vec<RawEntry>) {
        while self.pos < self.end {
            let Some(end) = self.line_end() else {
                if self.is_discarding {
                    self.discard_line();
                }
                return;
            };
            let start = self.pos;
            self.pos = end + 1;
            self.scan = self.pos;
            let line = std::mem::take(&mut self.buf);
            self.decode_json_line(&line[start..end], out);
            self.buf = line;
        }
    }

    /// Decodes one JSON line; false when it was not a JSON object (counted and warned).
    fn decode_json_line(&mut self, line: &[u8], out: &mut Vec<RawEntry>) -> bool {
        let line = line.trim_ascii();
        if line.is_empty() {
            return true;
        }
        // The fast path: fields borrowed from the line. Anything it does not take (not
        // an object, not JSON) goes through `Value` below, which says what is wrong.
        if let Some(fields) = json::Fields::parse(line) {
            for (name, value) in fields.read_in_value_order() {
                self.entry.add(name.as_bytes(), &value);
            }
            if !self.entry.is_empty() {
                self.accept(&[], out);
            }
            return true;
        }
        let problem = match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(map)) => {
                let mut bytes = Vec::new();
                for (name, value) in &map {
                    bytes.clear();
                    if json_value_bytes(value, &mut bytes) {
                        self.entry.add(name.as_bytes(), &bytes);
                    }
                }
                if !self.entry.is_empty() {
                    self.accept(&[], out);
                }
                return true;
            }
            Ok(other) => format!("a JSON {} instead of an object", json_kind(&other)),
            Err(e) => format!("a line that is not JSON ({e})"),
        };
        self.counts.skipped_json += 1;
        let n = self.counts.skipped_json;
        self.warn(n, || format!("skipped {problem}"));
        false
    }
}

/// What [`Decoder::binary_field`] made of a line with no `=`.
enum Binary {
    /// A whole binary field, added; the walk resumes after its data (which may hold
    /// newlines, so the newline search starts again there).
    Done,
    /// Not a binary field: the line was skipped and counted.
    Skipped,
    /// Its length or data has not been read yet.
    Incomplete,
}

/// A journal field name: `[A-Z0-9_]`, not starting with a digit, at most 64 bytes.
fn is_field_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name[0].is_ascii_digit()
        && name
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The bytes of one journalctl JSON field value into `out`; false when there are none
/// (`null`, or a shape journalctl never writes).
pub(super) fn json_value_bytes(value: &serde_json::Value, out: &mut Vec<u8>) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            out.extend_from_slice(s.as_bytes());
            true
        }
        Value::Number(n) => {
            out.extend_from_slice(n.to_string().as_bytes());
            true
        }
        Value::Bool(b) => {
            out.extend_from_slice(if *b { b"true" } else { b"false" });
            true
        }
        Value::Array(items) => {
            if items.iter().all(Value::is_number) {
                // Binary data: one number per byte.
                out.extend(
                    items
                        .iter()
                        .filter_map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok())),
                );
                true
            } else {
                // A field that repeats: the first value that has bytes.
                items.iter().any(|v| json_value_bytes(v, out))
            }
        }
        Value::Null | Value::Object(_) => false,
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::source::{Timestamp, Unit};

    pub(in crate::source::stream) fn all() -> UnitFilter {
        UnitFilter { units: Vec::new() }
    }

    fn decode(bytes: &[u8], filter: UnitFilter) -> (Vec<RawEntry>, Decoder) {
        let mut d = Decoder::new(filter, 0);
        let mut out = Vec::new();
        d.feed(bytes, &mut out);
        d.finish(&mut out);
        (out, d)
    }

    /// Every split of the input into two chunks gives the same entries as one chunk.
    fn decode_every_split(bytes: &[u8]) -> Vec<RawEntry> {
        let (whole, _) = decode(bytes, all());
        for cut in 0..=bytes.len() {
            let mut d = Decoder::new(all(), 0);
            let mut out = Vec::new();
            d.feed(&bytes[..cut], &mut out);
            d.feed(&bytes[cut..], &mut out);
            d.finish(&mut out);
            assert_eq!(out, whole, "split at {cut}");
        }
        whole
    }

    /// Values are kept in place in the read buffer until their record ends: fed a few
    /// bytes at a time (the buffer moved or refilled between every line, mid-value and
    /// mid-binary-field), the entries are the same as from one read.
    #[test]
    fn records_fed_a_few_bytes_at_a_time_keep_every_value() {
        let mut input = TWO.to_vec();
        input.extend_from_slice(b"__CURSOR=s=1;i=3\n_SYSTEMD_UNIT=cloudflared.service\n");
        input.extend_from_slice(&binary_field("MESSAGE", b"bin\x00ary \xff message"));
        input.extend_from_slice(b"SYSLOG_IDENTIFIER=cloudflared\n_COMM=cloudflared\n\n");
        input.extend_from_slice(TWO);
        let (whole, _) = decode(&input, all());
        assert_eq!(whole.len(), 5);
        assert_eq!(&*whole[2].message, b"bin\x00ary \xff message");
        assert_eq!(whole[2].field_str("_COMM"), Some("cloudflared"));
        for size in 1..=9 {
            let mut d = Decoder::new(all(), 0);
            let mut out = Vec::new();
            for chunk in input.chunks(size) {
                d.feed(chunk, &mut out);
            }
            d.finish(&mut out);
            assert_eq!(out, whole, "chunks of {size}");
        }
    }

    fn binary_field(name: &str, value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(name.as_bytes());
        v.push(b'\n');
        v.extend_from_slice(&(value.len() as u64).to_le_bytes());
        v.extend_from_slice(value);
        v.push(b'\n');
        v
    }

    pub(in crate::source::stream) const TWO: &[u8] =
        b"__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1795626316372083\n\
__MONOTONIC_TIMESTAMP=43741381131\n_BOOT_ID=755d\n_PID=1\n_UID=0\nPRIORITY=6\n\
_SYSTEMD_UNIT=init.scope\nUNIT=sigil-mcp.service\n_HOSTNAME=mcp-host\n\
MESSAGE=Started sigil-mcp.service - Sigil MCP Server.\n\n\
__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=1795626317811775\n_PID=13607\n\
_SYSTEMD_UNIT=sigil-mcp.service\nMESSAGE=2026-11-25 17:05:17 [INFO] hello\n\n";

    #[test]
    fn decodes_export_text_fields_into_typed_slots() {
        let out = decode_every_split(TWO);
        assert_eq!(out.len(), 2);
        let e = &out[0];
        assert_eq!(e.realtime, Timestamp(1_795_626_316_372_083));
        assert_eq!(e.monotonic_us, Some(43_741_381_131));
        assert_eq!(e.origin.boot_id.as_deref(), Some("755d"));
        assert_eq!(e.cursor.as_ref().map(|c| &*c.0), Some("s=1;i=1"));
        assert_eq!(e.pid, Some(1));
        assert_eq!(e.priority, Some(6));
        assert_eq!(e.origin.systemd_unit.as_deref(), Some("init.scope"));
        assert_eq!(e.about_unit.as_deref(), Some("sigil-mcp.service"));
        assert_eq!(e.origin.hostname.as_deref(), Some("mcp-host"));
        assert_eq!(e.field_str("_UID"), Some("0"));
        assert_eq!(
            &*e.message,
            b"Started sigil-mcp.service - Sigil MCP Server."
        );
    }

    #[test]
    fn attributes_pid1_lines_to_the_unit_they_are_about() {
        let filter = UnitFilter {
            units: vec![Unit::new("sigil-mcp")],
        };
        let (out, d) = decode(TWO, filter);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|e| e.unit == Some(Unit::new("sigil-mcp"))));
        let (out, d2) = decode(
            TWO,
            UnitFilter {
                units: vec![Unit::new("cloudflared")],
            },
        );
        assert!(out.is_empty());
        assert_eq!((d.counts().filtered_out, d2.counts().filtered_out), (0, 2));
    }

    #[test]
    fn decodes_binary_fields_with_newlines_nul_and_invalid_utf8() {
        let msg: &[u8] = b"line one\nline\0two \xff\xfe \x1b[31mred";
        let mut input = b"__REALTIME_TIMESTAMP=5\n".to_vec();
        input.extend(binary_field("MESSAGE", msg));
        input.extend(b"_PID=7\n\n");
        let out = decode_every_split(&input);
        assert_eq!(out.len(), 1);
        assert_eq!(&*out[0].message, msg);
        assert_eq!(out[0].pid, Some(7));
    }

    #[test]
    fn truncated_length_prefix_keeps_complete_entries_and_warns() {
        let mut input = TWO.to_vec();
        input.extend(b"__REALTIME_TIMESTAMP=9\nMESSAGE\n\x10\x00\x00");
        let (out, mut d) = decode(&input, all());
        assert_eq!(out.len(), 2);
        assert_eq!(d.counts().truncated, 1);
        assert!(d.take_warnings().iter().any(|w| w.contains("truncated")));
    }

    #[test]
    fn truncated_binary_data_keeps_complete_entries_and_warns() {
        let mut input = TWO.to_vec();
        let field = binary_field("MESSAGE", b"0123456789");
        input.extend(&field[..field.len() - 4]);
        let (out, d) = decode(&input, all());
        assert_eq!((out.len(), d.counts().truncated), (2, 1));
    }

    #[test]
    fn partial_text_line_at_end_is_reported() {
        let mut input = TWO.to_vec();
        input.extend(b"__REALTIME_TIMESTAMP=9\nMESSAGE=cut he");
        let (out, d) = decode(&input, all());
        assert_eq!((out.len(), d.counts().truncated), (2, 1));
    }

    #[test]
    fn last_record_without_blank_line_is_kept() {
        let (out, d) = decode(b"__REALTIME_TIMESTAMP=1\nMESSAGE=a\n", all());
        assert_eq!((out.len(), d.counts().truncated), (1, 0));
    }

    #[test]
    fn other_text_formats_are_refused_by_their_first_line() {
        let short = b"Dec 06 04:00:01 host sigil-mcp[12]: INFO: 127.0.0.1 - \"POST /mcp\" 200\n";
        let rows: [(&[u8], bool); 8] = [
            (short, true),
            (b"-- No entries --\n", true),
            (b"INFO:     Started server process [12]\n", true),
            (b"no newline at all", true),
            (b"\n\n__CURSOR=s=1\nMESSAGE=a\n\n", false),
            (b"MESSAGE\n\x01\x00\x00\x00\x00\x00\x00\x00a\n\n", false),
            (b" {\"MESSAGE\":\"x\"}\n", false),
            (b"{\n\t\"MESSAGE\" : \"x\"\n}\n", true),
        ];
        for (input, is_refused) in rows {
            // Fed in two pieces: the first line may arrive split.
            let mut d = Decoder::new(all(), 0);
            let mut out = Vec::new();
            let cut = input.len() / 2;
            d.feed(&input[..cut], &mut out);
            d.feed(&input[cut..], &mut out);
            d.finish(&mut out);
            let text = String::from_utf8_lossy(input);
            assert_eq!(d.refusal().is_some(), is_refused, "{text:?}");
            if is_refused {
                assert!(out.is_empty(), "{text:?}");
                assert!(d.refusal().unwrap().contains("-o export`"), "{text:?}");
            } else {
                assert_eq!(out.len(), 1, "{text:?}");
            }
        }
    }

    #[test]
    fn lines_without_equals_are_skipped_with_a_warning() {
        let input = b"__REALTIME_TIMESTAMP=1\nthis is not a field\nMESSAGE=a\n=empty name\nNOEQ\nMESSAGE=b\n\n";
        let (out, mut d) = decode(input, all());
        assert_eq!(out.len(), 1);
        assert_eq!(&*out[0].message, b"a");
        assert_eq!(d.counts().skipped_lines, 3);
        assert_eq!(d.take_warnings().len(), 3);
    }

    #[test]
    fn huge_fields_are_decoded() {
        let big = vec![b'x'; 10 * 1024 * 1024];
        let mut input = b"__REALTIME_TIMESTAMP=1\nMESSAGE=".to_vec();
        input.extend(&big);
        input.extend(b"\n\n");
        input.extend(b"__REALTIME_TIMESTAMP=2\n");
        input.extend(binary_field("MESSAGE", &big));
        input.push(b'\n');
        let mut d = Decoder::new(all(), 0);
        let mut out = Vec::new();
        for chunk in input.chunks(64 * 1024) {
            d.feed(chunk, &mut out);
        }
        d.finish(&mut out);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|e| e.message.len() == big.len()));
    }

    #[test]
    fn fields_over_the_limit_are_skipped_not_buffered() {
        let mut d = Decoder::new(all(), 0);
        let mut out = Vec::new();
        d.feed(b"__REALTIME_TIMESTAMP=1\nMESSAGE=", &mut out);
        let chunk = vec![b'y'; 1024 * 1024];
        for _ in 0..=(MAX_FIELD_BYTES / chunk.len()) {
            d.feed(&chunk, &mut out);
        }
        assert!(d.buf.len() <= MAX_FIELD_BYTES + 2 * chunk.len() + READ_CHUNK_BYTES);
        d.feed(b"\n\n__REALTIME_TIMESTAMP=2\nMESSAGE=after\n\n", &mut out);
        d.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(&*out[0].message, b"after");
        assert_eq!(d.counts().oversized, 1);
    }

    #[test]
    fn decodes_json_lines_with_binary_null_and_repeated_fields() {
        let input = br#"
{"__REALTIME_TIMESTAMP":"10","MESSAGE":"plain","_PID":"5","_SYSTEMD_UNIT":"a.service"}
{"__REALTIME_TIMESTAMP":"11","MESSAGE":[104,105,0,255],"_UID":["0","1000"]}
{"__REALTIME_TIMESTAMP":"12","MESSAGE":null,"PRIORITY":"3"}
{"__REALTIME_TIMESTAMP":"13","MESSAGE":[[1,2],"x"]}"#;
        let out = decode_every_split(input);
        assert_eq!(out.len(), 4);
        assert_eq!(&*out[0].message, b"plain");
        assert_eq!(out[0].pid, Some(5));
        assert_eq!(&*out[1].message, b"hi\0\xff");
        assert_eq!(out[1].field_str("_UID"), Some("0"));
        assert_eq!(&*out[2].message, b"");
        assert_eq!(out[2].priority, Some(3));
        assert_eq!(&*out[3].message, b"\x01\x02");
    }

    #[test]
    fn garbage_and_non_object_json_lines_are_skipped() {
        let input = b"{\"MESSAGE\":\"ok\",\"__REALTIME_TIMESTAMP\":\"1\"}\n{not json\n[1,2]\n\"str\"\n42\n{\"MESSAGE\":\"ok2\"}\n";
        let (out, mut d) = decode(input, all());
        assert_eq!(out.len(), 2);
        assert_eq!(d.counts().skipped_json, 4);
        assert_eq!(
            d.take_warnings().len(),
            3,
            "only the first few are reported"
        );
    }

    #[test]
    fn truncated_json_line_at_end_is_reported() {
        let (out, d) = decode(b"{\"MESSAGE\":\"ok\"}\n{\"MESSAGE\":\"cu", all());
        assert_eq!((out.len(), d.counts().truncated), (1, 1));
    }

    #[test]
    fn detects_format_after_leading_whitespace() {
        let mut d = Decoder::new(all(), 0);
        let mut out = Vec::new();
        d.feed(b"\n \n", &mut out);
        assert_eq!(d.format(), None);
        d.feed(b"{\"MESSAGE\":\"x\"}\n", &mut out);
        assert_eq!(d.format(), Some(Format::Json));
        let (_, d) = decode(b"\n\nMESSAGE=x\n", all());
        assert_eq!(d.format(), Some(Format::Export));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: xorshift bytes biased toward the format's syntax.
        let alphabet = b"=\n{}[]\"MESSAGE_0123456789\x00\xff ";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..300 {
            let mut input = Vec::new();
            for _ in 0..200 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = usize::try_from(state % alphabet.len() as u64).unwrap_or(0);
                input.push(alphabet[i]);
            }
            let (_out, _d) = decode(&input, all());
        }
    }
}
