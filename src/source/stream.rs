//! Decoding `journalctl -o export` and `journalctl -o json` byte streams (stdin or a file).
//!
//! Owns the framing of both formats and the readers that turn a `Read` into
//! [`SourceMsg`]s: on a thread of their own ([`spawn_reader`], [`spawn_pipe_reader`]), or
//! on the caller's thread for a headless run read once to its end ([`read_in_place`]; a
//! pipe read that way waits a little between small reads). Key type: [`Decoder`] (sync,
//! incremental: feed it any chunking of the bytes and get the same entries, so it can be
//! fuzzed and benchmarked). Does not own what a field means: that is
//! `fields::EntryBuilder`, shared with the sd-journal reader.
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
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use memchr::memchr;
use tokio::sync::mpsc::Sender;

use super::fields::EntryBuilder;
use crate::bytes::{first_flagged, splat, word_at, zero_bytes, Positions};

mod json;
use super::filter::EntryFilter;
use super::{InputId, RawEntry, ReadOptions, SourceMsg, UnitFilter};

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
        self.incomplete_line()
    }

    /// No newline in `pos..end` yet: the next scan starts at `end`, and a line longer
    /// than [`MAX_FIELD_BYTES`] switches to discarding.
    fn incomplete_line<T>(&mut self) -> Option<T> {
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
        None
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
        if let Some(unit) = self.entry.unit_of(&self.filter, buf) {
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
    /// Newlines are found by one pass over what is unread, 64 bytes at a time
    /// ([`Positions`]), not one search per line: an entry has ~24 short lines, and the
    /// per-call cost of a search was most of the decoder's time. A line's name is then
    /// found within the line ([`name_end`]).
    fn export_lines(&mut self, buf: &[u8], out: &mut Vec<RawEntry>) {
        'search: loop {
            let from = self.scan;
            for nl in Positions::new(&buf[from..self.end], b'\n').map(|i| from + i) {
                let start = self.pos;
                if nl == start {
                    self.end_record(buf, out);
                } else if let Some(eq) = name_end(&buf[start..nl]).map(|i| start + i) {
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
            let _: Option<()> = self.incomplete_line();
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

/// Where the name of an export line ends: its first `=`, `None` when it has none.
///
/// Names are short (`TID`, `MESSAGE`, `_SYSTEMD_INVOCATION_ID`), so the first bytes are
/// looked at eight at a time (a word compare, no call); a longer name falls back to
/// `memchr`. The lowest flagged byte of the word test is always exact.
#[inline]
fn name_end(line: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < 64 {
        let Some(word) = word_at(line, i) else {
            break;
        };
        let found = zero_bytes(word ^ splat(b'='));
        if found != 0 {
            return Some(i + first_flagged(found));
        }
        i += 8;
    }
    let rest = &line[i.min(line.len())..];
    if rest.len() < 8 {
        rest.iter().position(|&b| b == b'=')
    } else {
        memchr(b'=', rest)
    }
    .map(|k| i + k)
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
fn json_value_bytes(value: &serde_json::Value, out: &mut Vec<u8>) -> bool {
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

/// Where `--cursor`/`--after-cursor` puts a stream's start, entry by entry: `None` before
/// it; `Some(true)`: this entry is the first shown; `Some(false)`: this entry is the
/// cursor's own and `--after-cursor` starts after it.
///
/// A stream is read in its own order, so the start is the cursor's own entry, or, when
/// the stream does not hold it, the first entry later than the cursor's time (`t=`);
/// a cursor without a readable time starts only at its own entry.
fn is_at_start(start: &super::filter::StartCursor, e: &RawEntry) -> Option<bool> {
    if e.cursor.as_ref().is_some_and(|c| *c.0 == *start.cursor) {
        return Some(!start.is_after);
    }
    start
        .realtime_us()
        .is_some_and(|t| e.realtime.as_micros() > t)
        .then_some(true)
}

/// Reads `reader` to its end on a thread of its own, decoding and batching entries.
///
/// `--since`/`--until` filter by entry time (a stream need not be ordered, so `until`
/// does not stop it); `-n N` keeps the last N entries of the whole stream and sends them
/// at its end. Sends `CaughtUp` and then `Ended` at end of input, or `Error` on a read
/// error. Stops early when the receiver is dropped.
///
/// For a regular file: one thread reads straight into the decoder's buffer, and a read
/// is short only at the end. For a stream that may pause (a pipe: `journalctl -f -o
/// export | sigil-top -`) use [`spawn_pipe_reader`].
pub fn spawn_reader<R: Read + Send + 'static>(
    reader: R,
    name: String,
    options: ReadOptions,
    input: InputId,
    tx: Sender<SourceMsg>,
) -> JoinHandle<()> {
    spawn_stream(reader, name, options, input, tx, false)
}

/// As [`spawn_reader`], for a stream that may pause (standard input).
///
/// A pipe gives whatever the writer has written, often a few KiB (journalctl's stdio
/// buffer): a reader that sent its batch on every short read sent batches of a few
/// entries, and the two threads spent more CPU waking each other than decoding (3× the
/// CPU of reading the same text from a file, see `scripts/bench`). Not sending on a short
/// read would leave a live entry waiting in the batch while the next read blocks. So a
/// second thread does the blocking reads and hands chunks over; the decoding thread waits
/// for a chunk at most until its batch is due (`batch_max_wait`), then sends it.
pub fn spawn_pipe_reader<R: Read + Send + 'static>(
    reader: R,
    name: String,
    options: ReadOptions,
    input: InputId,
    tx: Sender<SourceMsg>,
) -> JoinHandle<()> {
    spawn_stream(reader, name, options, input, tx, true)
}

fn spawn_stream<R: Read + Send + 'static>(
    reader: R,
    name: String,
    options: ReadOptions,
    input: InputId,
    tx: Sender<SourceMsg>,
    is_pipe: bool,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("sigil-top {name}"))
        .spawn(move || {
            let mut stream = StreamReader::new(options, input, Channel(tx));
            let finished = if is_pipe {
                stream.read_piped(reader, &name)
            } else {
                stream.read_all(reader, &name)
            };
            stream.end(finished);
        })
        .expect("spawning a reader thread")
}

/// Reads `reader` to its end on the calling thread, handing each message to `on_msg` as
/// it is ready: the same messages, in the same order, as [`spawn_reader`] sends (batches,
/// warnings, `CaughtUp`, then `Ended` or `Error`), with `--since`/`--until`/`-n` applied.
/// `on_msg` returns `None` to stop reading.
///
/// For a headless run over one text input (`report FILE`, `journalctl … | sigil-top
/// report -`): no second thread, no channel. Handing entries to another thread costs
/// more than decoding them: allocator locks and wake-ups were a third of the CPU of
/// `report FILE` (see docs/bench-results.md). Blocking reads are fine here, nobody else
/// waits on this thread; a live pipe (`--follow`) still needs [`spawn_pipe_reader`].
///
/// `is_pipe`: the reader may pause (standard input, a named pipe); its small reads are
/// then gathered by waiting a little between them (see [`Patient`]).
pub fn read_in_place<R: Read>(
    reader: R,
    is_pipe: bool,
    name: &str,
    options: ReadOptions,
    input: InputId,
    on_msg: impl FnMut(SourceMsg) -> Option<()>,
) {
    // Small batches: nothing waits on them here, and a batch of 1024 entries is a
    // 200 KB vector that the allocator takes from the system and gives back each time
    // (page faults were 8% of `report FILE`'s CPU). Without --since/--until/-n a batch
    // is simply one read's entries (see `StreamReader::take`).
    let options = ReadOptions {
        batch_max_entries: options.batch_max_entries.min(IN_PLACE_BATCH_ENTRIES),
        ..options
    };
    let mut stream = StreamReader::new(options, input, InPlace(on_msg));
    let finished = if is_pipe {
        stream.read_all(
            Patient {
                inner: reader,
                was_short: false,
            },
            name,
        )
    } else {
        stream.read_all(reader, name)
    };
    stream.end(finished);
}

/// A pipe read in place: after a read that took in less than [`PIPE_FILL_BYTES`], the
/// next read waits [`PIPE_PATIENCE`] first.
///
/// `journalctl -o export` writes a few KiB at a time, and a reader that is faster than
/// it (sigil-top is, twenty times over) wakes for every write: ~300,000 reads for a
/// 1.2 GB export, which cost sigil-top three times the CPU of decoding it. Nobody waits
/// on a report's entries, so the reader lets the pipe fill instead: a millisecond is
/// ~45 KB of journalctl's output, and less than a 64 KiB pipe takes to fill at that
/// rate, so journalctl is not held up. A fast writer (`cat FILE |`) fills the pipe
/// between reads and is never waited for.
struct Patient<R> {
    inner: R,
    was_short: bool,
}

/// See [`Patient`].
const PIPE_FILL_BYTES: usize = 32 * 1024;
const PIPE_PATIENCE: Duration = Duration::from_millis(1);

impl<R: Read> Read for Patient<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.was_short {
            std::thread::sleep(PIPE_PATIENCE);
        }
        let n = self.inner.read(buf)?;
        self.was_short = n > 0 && n < PIPE_FILL_BYTES.min(buf.len());
        Ok(n)
    }
}

/// The most entries [`read_in_place`] hands over at once.
const IN_PLACE_BATCH_ENTRIES: usize = 64;

/// Where a [`StreamReader`]'s messages go.
trait Sink {
    /// Hands one message on; `None` when the receiving side is gone (stop reading).
    fn send(&mut self, msg: SourceMsg) -> Option<()>;
}

/// To the app loop, from a reader thread of its own.
struct Channel(Sender<SourceMsg>);

impl Sink for Channel {
    fn send(&mut self, msg: SourceMsg) -> Option<()> {
        self.0.blocking_send(msg).ok()
    }
}

/// To the caller, on its own thread ([`read_in_place`]).
struct InPlace<F>(F);

impl<F: FnMut(SourceMsg) -> Option<()>> Sink for InPlace<F> {
    fn send(&mut self, msg: SourceMsg) -> Option<()> {
        (self.0)(msg)
    }
}

fn stream_error(name: &str, message: &str) -> SourceMsg {
    SourceMsg::Error(super::SourceError::Stream {
        input: name.to_owned(),
        message: message.to_owned(),
    })
}

/// Bytes read and not yet decoded, shared by a pipe's reading thread and its decoding
/// thread (see [`StreamReader::read_piped`]).
#[derive(Default)]
struct Piped {
    state: Mutex<PipedState>,
    /// Signalled when there is something to take.
    has_data: Condvar,
    /// Signalled when the buffer was emptied (or the decoding side left).
    has_room: Condvar,
}

#[derive(Default)]
struct PipedState {
    data: Vec<u8>,
    /// When `data` went from empty to not empty.
    since: Option<Instant>,
    /// End of input (`Ok`) or the read error that ended it.
    end: Option<std::io::Result<()>>,
    /// The decoding side is gone: the reading thread stops at its next read.
    is_closed: bool,
}

/// The most a pipe's reading thread buffers before it waits for the decoder: a pipe
/// written faster than we decode slows its writer instead of growing memory.
const MAX_PIPED_BYTES: usize = 4 * 1024 * 1024;

impl Piped {
    /// Appends one read's result (bytes, end of input or an error); false when the
    /// reading thread should stop.
    fn put(&self, read: std::io::Result<&[u8]>) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        match read {
            Ok([]) => s.end = Some(Ok(())),
            Err(e) => s.end = Some(Err(e)),
            Ok(bytes) => {
                while s.data.len() >= MAX_PIPED_BYTES && !s.is_closed {
                    let Ok(next) = self.has_room.wait(s) else {
                        return false;
                    };
                    s = next;
                }
                if s.is_closed {
                    return false;
                }
                let was_empty = s.data.is_empty();
                if was_empty {
                    s.since = Some(Instant::now());
                }
                s.data.extend_from_slice(bytes);
                // Wake the decoder for the first bytes (so it can time them) and for a
                // read's worth; in between it sleeps until they are due.
                if was_empty || s.data.len() >= READ_CHUNK_BYTES {
                    self.has_data.notify_one();
                }
                return true;
            }
        }
        self.has_data.notify_one();
        false
    }

    /// Waits until there is a read's worth of bytes, the input ended, or the oldest
    /// byte (or the open batch, started at `batch_started`) has waited `max_wait`; then
    /// moves every byte into `out` and returns how the input ended, if it did.
    ///
    /// With `quiet`, an input that stays silent that long with nothing pending returns
    /// nothing (no bytes, no end): the caller's cue that a live pipe has caught up.
    fn take(
        &self,
        out: &mut Vec<u8>,
        batch_started: Option<Instant>,
        max_wait: Duration,
        quiet: Option<Duration>,
    ) -> Result<Option<std::io::Result<()>>, &'static str> {
        const POISONED: &str = "the reading thread failed";
        let mut s = self.state.lock().map_err(|_| POISONED)?;
        loop {
            if s.end.is_some() || s.data.len() >= READ_CHUNK_BYTES {
                break;
            }
            let due = [s.since, batch_started].into_iter().flatten().min();
            s = match due.map(|t| t + max_wait) {
                None => match quiet {
                    None => self.has_data.wait(s).map_err(|_| POISONED)?,
                    Some(quiet) => {
                        let (s, timeout) =
                            self.has_data.wait_timeout(s, quiet).map_err(|_| POISONED)?;
                        if timeout.timed_out() && s.data.is_empty() && s.end.is_none() {
                            return Ok(None);
                        }
                        s
                    }
                },
                Some(due) => {
                    let now = Instant::now();
                    if now >= due {
                        break;
                    }
                    self.has_data
                        .wait_timeout(s, due - now)
                        .map_err(|_| POISONED)?
                        .0
                }
            };
        }
        std::mem::swap(out, &mut s.data);
        s.since = None;
        let end = s.end.take();
        drop(s);
        self.has_room.notify_one();
        Ok(end)
    }
}

/// Tells a pipe's reading thread to stop when the decoding side is done.
struct ClosePiped(Arc<Piped>);

impl Drop for ClosePiped {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.is_closed = true;
        }
        self.0.has_room.notify_one();
    }
}

struct StreamReader<S> {
    decoder: Decoder,
    options: ReadOptions,
    sink: S,
    batch: Vec<RawEntry>,
    batch_started: Option<Instant>,
    /// With `-n N`: the last N entries, sent at end of input.
    backlog: std::collections::VecDeque<RawEntry>,
    /// `CaughtUp` went out already (a quiet live pipe, see [`PIPE_QUIET`]).
    sent_caught_up: bool,
    /// The most entries a batch has had: a new batch starts with room for them (and a
    /// quarter more), so it rarely grows (and copies itself) on the way.
    most_batched: usize,
    /// `--cursor`/`--after-cursor`: the start has not been reached yet.
    is_before_start: bool,
}

/// How long a followed pipe must stay silent to count as caught up: `journalctl -f`
/// writes its history at once, then only what is new.
const PIPE_QUIET: Duration = Duration::from_secs(1);

impl<S: Sink> StreamReader<S> {
    fn new(options: ReadOptions, input: InputId, sink: S) -> StreamReader<S> {
        StreamReader {
            decoder: Decoder::new(options.units.clone(), input).with_filter(options.filter.clone()),
            is_before_start: options.filter.start.is_some(),
            options,
            sink,
            batch: Vec::new(),
            batch_started: None,
            backlog: std::collections::VecDeque::new(),
            sent_caught_up: false,
            most_batched: 0,
        }
    }

    /// Sends what ends the stream (`finished`, from a `read_*`; `None` when the receiver
    /// went away), after `CaughtUp` unless that went out already: see `SourceMsg`'s
    /// contract.
    fn end(mut self, finished: Option<SourceMsg>) {
        if let Some(final_msg) = finished {
            if self.sent_caught_up || self.sink.send(SourceMsg::CaughtUp).is_some() {
                let _ = self.sink.send(final_msg);
            }
        }
    }

    /// Reads to the end; returns the final message to send, or `None` when the receiver
    /// went away.
    fn read_all<R: Read>(&mut self, mut reader: R, name: &str) -> Option<SourceMsg> {
        let mut decoded = Vec::new();
        loop {
            let n = match self.decoder.read_from(&mut reader, &mut decoded) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.flush()?;
                    return Some(SourceMsg::Error(super::SourceError::Stream {
                        input: name.to_owned(),
                        message: e.to_string(),
                    }));
                }
            };
            self.take(&mut decoded)?;
            if let Some(refused) = self.refused(name) {
                return Some(refused);
            }
            // A short read: the writer has nothing more right now (a live pipe), so
            // what is batched goes out instead of waiting for the next read.
            let is_short_read = n < READ_CHUNK_BYTES;
            let is_due = self
                .batch_started
                .is_some_and(|t| t.elapsed() >= self.options.batch_max_wait);
            if is_short_read || is_due {
                self.flush()?;
            }
        }
        self.end_of_input(&mut decoded, name)
    }

    /// As [`StreamReader::read_all`], with the reads on a thread of their own (see
    /// [`spawn_pipe_reader`]).
    ///
    /// The reading thread appends what each read gives to a shared buffer; this thread
    /// takes all of it at once when there is a read's worth ([`READ_CHUNK_BYTES`]), when
    /// the input ends, or when the oldest byte in it (or the open batch) has waited
    /// `batch_max_wait`. So a pipe written a few KiB at a time wakes this thread ~100 times
    /// a second, not once per write, and a live entry still goes out within the wait.
    fn read_piped<R: Read + Send + 'static>(
        &mut self,
        mut reader: R,
        name: &str,
    ) -> Option<SourceMsg> {
        let shared = Arc::new(Piped::default());
        let theirs = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name(format!("sigil-top read {name}"))
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let read = loop {
                        match reader.read(&mut buf) {
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            other => break other,
                        }
                    };
                    if !theirs.put(read.map(|n| &buf[..n])) {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            return Some(stream_error(
                name,
                &format!("starting a reader thread: {e}"),
            ));
        }
        // Whatever way this ends, the reading thread is told to stop.
        let _closer = ClosePiped(Arc::clone(&shared));
        let mut decoded = Vec::new();
        let mut local = Vec::new();
        loop {
            // Following a live pipe (`journalctl -f` piped in): once it has been quiet for
            // a while, the history it had is in; say so once (the screen goes live).
            let quiet = (self.options.follow && !self.sent_caught_up).then_some(PIPE_QUIET);
            let end = match shared.take(
                &mut local,
                self.batch_started,
                self.options.batch_max_wait,
                quiet,
            ) {
                Ok(end) => end,
                Err(message) => return Some(stream_error(name, message)),
            };
            if quiet.is_some() && local.is_empty() && end.is_none() {
                // `-n N`: the last N so far go out now; what follows is live.
                if self.options.backlog_entries.take().is_some() {
                    let backlog: Vec<RawEntry> = self.backlog.drain(..).collect();
                    for e in backlog {
                        self.push(e)?;
                    }
                }
                self.flush()?;
                self.sent_caught_up = true;
                self.sink.send(SourceMsg::CaughtUp)?;
                continue;
            }
            if !local.is_empty() {
                self.decoder.feed(&local, &mut decoded);
                local.clear();
                self.take(&mut decoded)?;
                if let Some(refused) = self.refused(name) {
                    return Some(refused);
                }
            }
            match end {
                Some(Ok(())) => break,
                Some(Err(e)) => {
                    self.flush()?;
                    return Some(stream_error(name, &e.to_string()));
                }
                None => {}
            }
            let is_due = self
                .batch_started
                .is_some_and(|t| t.elapsed() >= self.options.batch_max_wait);
            if is_due {
                self.flush()?;
            }
        }
        self.end_of_input(&mut decoded, name)
    }

    /// The error that ends a stream which is not journal text (see [`Decoder::refusal`]).
    fn refused(&self, name: &str) -> Option<SourceMsg> {
        self.decoder.refusal().map(|why| stream_error(name, why))
    }

    /// The last record, the `-n` backlog and the last batch; then `Ended`.
    fn end_of_input(&mut self, decoded: &mut Vec<RawEntry>, name: &str) -> Option<SourceMsg> {
        self.decoder.finish(decoded);
        if let Some(refused) = self.refused(name) {
            return Some(refused);
        }
        self.take(decoded)?;
        let backlog: Vec<RawEntry> = self.backlog.drain(..).collect();
        for e in backlog {
            self.push(e)?;
        }
        self.flush()?;
        Some(SourceMsg::Ended)
    }

    fn take(&mut self, decoded: &mut Vec<RawEntry>) -> Option<()> {
        for w in self.decoder.take_warnings() {
            self.sink.send(SourceMsg::Warning(w))?;
        }
        let takes_all = self.options.since.is_none()
            && self.options.until.is_none()
            && self.options.backlog_entries.is_none()
            && !self.is_before_start;
        if takes_all && !decoded.is_empty() {
            // Every entry goes: the read's entries become (or join) the batch as a whole
            // instead of being moved one by one (an entry is 168 bytes). A batch may so
            // exceed `batch_max_entries` by at most one read's entries.
            if self.batch.is_empty() {
                self.batch_started = Some(Instant::now());
                std::mem::swap(&mut self.batch, decoded);
            } else {
                self.batch.append(decoded);
            }
            if self.batch.len() >= self.options.batch_max_entries {
                self.flush()?;
            }
            return Some(());
        }
        for e in decoded.drain(..) {
            if self.is_before_start {
                match self
                    .options
                    .filter
                    .start
                    .as_ref()
                    .map(|s| is_at_start(s, &e))
                {
                    Some(Some(true)) | None => self.is_before_start = false,
                    Some(Some(false)) => {
                        self.is_before_start = false;
                        continue;
                    }
                    Some(None) => continue,
                }
            }
            if self.options.since.is_some_and(|s| e.realtime < s)
                || self.options.until.is_some_and(|u| e.realtime > u)
            {
                continue;
            }
            match self.options.backlog_entries {
                Some(limit) => {
                    if limit == 0 {
                        continue;
                    }
                    if self.backlog.len() as u64 >= limit {
                        self.backlog.pop_front();
                    }
                    self.backlog.push_back(e);
                }
                None => self.push(e)?,
            }
        }
        Some(())
    }

    fn push(&mut self, e: RawEntry) -> Option<()> {
        if self.batch.is_empty() {
            self.batch_started = Some(Instant::now());
        }
        self.batch.push(e);
        if self.batch.len() >= self.options.batch_max_entries {
            self.flush()?;
        }
        Some(())
    }

    fn flush(&mut self) -> Option<()> {
        self.batch_started = None;
        if self.batch.is_empty() {
            return Some(());
        }
        // The next batch starts with room for the most entries one has had, so it does
        // not grow (and copy) its way up again: without --since/--until/-n, a read's
        // entries are the batch (see `take`), and reads vary in how many they hold.
        self.most_batched = self.most_batched.max(self.batch.len());
        let room = self.most_batched + self.most_batched / 4;
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(room));
        self.sink.send(SourceMsg::Batch(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Timestamp, Unit};

    fn all() -> UnitFilter {
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

    const TWO: &[u8] = b"__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1795626316372083\n\
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

    /// A reader that hands out the chunks a test sends it, blocking in between like a
    /// pipe whose writer pauses.
    struct Paused(std::sync::mpsc::Receiver<Vec<u8>>);

    impl Read for Paused {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Ok(chunk) = self.0.recv() else {
                return Ok(0);
            };
            buf[..chunk.len()].copy_from_slice(&chunk);
            Ok(chunk.len())
        }
    }

    #[test]
    fn a_pipe_that_pauses_still_delivers_what_it_gave_within_the_batch_wait() {
        let (chunks, rx) = std::sync::mpsc::channel();
        let (tx, mut msgs) = tokio::sync::mpsc::channel(8);
        let options = ReadOptions {
            units: all(),
            batch_max_wait: std::time::Duration::from_millis(10),
            ..ReadOptions::default()
        };
        let handle = spawn_pipe_reader(Paused(rx), "test".into(), options, 0, tx);
        chunks.send(TWO.to_vec()).unwrap();
        // The writer now pauses: both entries must arrive without another read returning.
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let mut got = 0;
        while got < 2 {
            assert!(
                Instant::now() < deadline,
                "entries stuck behind a blocked read"
            );
            match msgs.try_recv() {
                Ok(SourceMsg::Batch(b)) => got += b.len(),
                Ok(_) => {}
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        drop(chunks);
        let mut last = None;
        while let Some(m) = msgs.blocking_recv() {
            last = Some(m);
        }
        assert!(matches!(last, Some(SourceMsg::Ended)));
        handle.join().unwrap();
    }

    /// What a reader sends, as (kind, entries' times) in order.
    fn shape(msgs: Vec<SourceMsg>) -> Vec<(&'static str, Vec<u64>)> {
        msgs.into_iter()
            .map(|m| match m {
                SourceMsg::Batch(b) => ("batch", b.iter().map(|e| e.realtime.0).collect()),
                SourceMsg::Warning(_) => ("warning", Vec::new()),
                SourceMsg::CaughtUp => ("caught_up", Vec::new()),
                SourceMsg::Error(_) => ("error", Vec::new()),
                SourceMsg::Ended => ("ended", Vec::new()),
            })
            .collect()
    }

    /// Reading in place sends what the reader thread sends, in the same order: entries
    /// (with `--since` and `-n` applied), the warning about a cut record, `CaughtUp`,
    /// `Ended`.
    #[test]
    fn reading_in_place_sends_what_the_reader_thread_sends() {
        let mut text = Vec::new();
        for i in 0..5u64 {
            text.extend_from_slice(
                format!("__REALTIME_TIMESTAMP={}\nMESSAGE=m{i}\n\n", 1_000 + i).as_bytes(),
            );
        }
        text.extend_from_slice(b"__REALTIME_TIMESTAMP=2000\nMESSAGE=cut");
        let options = ReadOptions {
            units: all(),
            since: Some(Timestamp(1_001)),
            backlog_entries: Some(3),
            ..ReadOptions::default()
        };
        let mut in_place = Vec::new();
        read_in_place(&text[..], false, "test", options.clone(), 0, |m| {
            in_place.push(m);
            Some(())
        });
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let handle = spawn_reader(std::io::Cursor::new(text), "test".into(), options, 0, tx);
        let mut threaded = Vec::new();
        while let Some(m) = rx.blocking_recv() {
            threaded.push(m);
        }
        handle.join().unwrap();
        let want = vec![
            ("warning", vec![]),
            ("batch", vec![1_002, 1_003, 1_004]),
            ("caught_up", vec![]),
            ("ended", vec![]),
        ];
        assert_eq!(shape(in_place), want);
        assert_eq!(shape(threaded), want);
    }

    /// The caller stops reading in place by returning `None`: nothing more is sent (the
    /// first batch is the first read's entries, fewer than the whole input).
    #[test]
    fn reading_in_place_stops_when_the_caller_says_so() {
        let text = b"__REALTIME_TIMESTAMP=1\nMESSAGE=a\n\n".repeat(20_000);
        let mut got = Vec::new();
        read_in_place(&text[..], false, "test", ReadOptions::default(), 0, |m| {
            got.push(m);
            None
        });
        let got = shape(got);
        assert_eq!(
            got.len(),
            1,
            "{:?}",
            got.iter().map(|m| m.0).collect::<Vec<_>>()
        );
        assert_eq!(got[0].0, "batch");
        assert!((IN_PLACE_BATCH_ENTRIES..20_000).contains(&got[0].1.len()));
    }

    /// A pipe read in place waits before the next read only after a small one (so a
    /// slow writer's few KiB gather), never after a full one (a fast writer is not held
    /// up); the bytes come through unchanged.
    #[test]
    fn a_patient_pipe_waits_only_after_small_reads() {
        let mut data = vec![b'a'; PIPE_FILL_BYTES * 3];
        data.extend_from_slice(b"tail");
        let mut p = Patient {
            inner: &data[..],
            was_short: false,
        };
        let mut buf = vec![0u8; PIPE_FILL_BYTES * 2];
        let mut got = Vec::new();
        let mut shorts = Vec::new();
        loop {
            let n = p.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            shorts.push(p.was_short);
        }
        assert_eq!(got, data);
        // Full, then the rest (more than PIPE_FILL_BYTES), then nothing left.
        assert_eq!(shorts, vec![false, false]);
        let mut p = Patient {
            inner: &b"small"[..],
            was_short: false,
        };
        assert_eq!(p.read(&mut buf).unwrap(), 5);
        assert!(p.was_short);
        assert_eq!(p.read(&mut buf).unwrap(), 0);
        assert!(
            !p.was_short,
            "end of input is not a short read to wait after"
        );
    }

    /// Whole reads become batches, and every entry arrives once, in order, whatever
    /// the read sizes: with and without the time and count filters (which take the
    /// entries one by one).
    #[test]
    fn reading_in_place_hands_over_every_entry_once_in_order() {
        let mut text = Vec::new();
        for i in 0..30_000u64 {
            text.extend_from_slice(
                format!(
                    "__REALTIME_TIMESTAMP={i}\nMESSAGE={}\n\n",
                    "x".repeat((i % 97) as usize)
                )
                .as_bytes(),
            );
        }
        for (since, want) in [(None, 0..30_000u64), (Some(Timestamp(10)), 10..30_000)] {
            let options = ReadOptions {
                since,
                ..ReadOptions::default()
            };
            let mut times = Vec::new();
            read_in_place(&text[..], false, "test", options, 0, |m| {
                if let SourceMsg::Batch(b) = m {
                    times.extend(b.iter().map(|e| e.realtime.0));
                }
                Some(())
            });
            assert_eq!(times, want.collect::<Vec<_>>());
        }
    }

    /// The name ends at the first `=`, however long the name and wherever the word
    /// boundaries fall; a line without one has no name.
    #[test]
    fn a_name_ends_at_the_first_equals_sign() {
        for len in 0..150 {
            let name = "N".repeat(len);
            let line = format!("{name}=v=w");
            assert_eq!(name_end(line.as_bytes()), Some(len), "{line}");
            assert_eq!(name_end(name.as_bytes()), None, "{name}");
        }
        assert_eq!(name_end(b"=x"), Some(0));
        assert_eq!(name_end("É\u{3d}".as_bytes()), Some(2));
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
