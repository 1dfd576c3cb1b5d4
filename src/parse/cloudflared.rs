//! cloudflared's log lines: the console format (zerolog `ConsoleWriter`), `--output json`
//! (sorted keys), the raw-order JSON of `--logfile`, older versions' shapes, and the bare
//! lines the CLI prints outside its logger. See `../shared/formats/cloudflared.md` (§7,
//! "observed in real runs", wins over earlier sections).
//!
//! Owns turning one cloudflared message into a [`Parsed`]: level from the text (`TRC` … `PNC`
//! or JSON `level`, never journald's priority) and an [`EventKind`]. Does not own joining
//! lines into requests (`model::correlate`) or grouping continuation lines (`model::log`).
//!
//! Layout: `console.rs` tokenizes console lines, `go_string.rs` unquotes their Go-quoted
//! values, `json.rs` scans JSON without a DOM, `record.rs` is the format-independent
//! `Record`, `classify.rs` maps a record to an [`EventKind`]. This file routes a line to them and keeps the per-process state.
//!
//! # Decisions
//! - **Any well-formed record is at least `Other`.** A console line with a time and a level
//!   word, or a JSON object, is a cloudflared record even when its message is new to us;
//!   only text in no known shape is `Unparsed`.
//! - **Bare lines** (no time, no level, not JSON):
//!   - `cloudflared version 2026.8.2 (built …)` (`--version`) is
//!     [`TunnelProcessEvent::Version`] at Info;
//!   - the CLI's last words on a fatal start-up error (a line equal to the error of this
//!     process's `Initiating shutdown`, or starting `Could not lookup srv records`) are
//!     `Other` at **Error**: they repeat the fatal error already reported as
//!     `FatalShutdown`, so they must not count twice, but they are an error to read;
//!   - any other bare line after a record of the same process is `Continuation` (the second
//!     physical line of a multi-line message, e.g. the QUIC→HTTP/2 fallback WRN) and takes
//!     that record's level;
//!   - a bare line with no record before it from that process is `Unparsed`.
//! - **Torn `--output json` lines** (§7). cloudflared's JSON writer is not locked, so one
//!   physical line can hold the head of record A with a whole record B inside it, and the
//!   next line then holds only A's tail (`,"time":"…"}`). Every complete object with a
//!   `level` found in a line is returned (the first as `kind`, the others in `also`); a
//!   complete object without one (a head's `headers`) is part of the head. A head is kept per
//!   process (at most [`MAX_HEAD_BYTES`], for [`MAX_HEAD_AGE_LINES`] further lines of that
//!   process) and stitched to the next line of that process when head + line is one valid
//!   object with a `level`: that line then yields record A (a line that does not fit and is
//!   no tail, such as another whole record, is parsed as usual and the head waits). A fragment that cannot be used (a head that
//!   ages out, is evicted or replaced, a tail that does not stitch, junk between objects) is
//!   counted once in [`ParseStats::unrecovered_fragments`]. A fragment line is returned as
//!   `Continuation`, not `Unparsed`: it is part of a record, and counting it as unparsed
//!   too would count it twice.
//! - **ANSI colours** (a TTY-attached cloudflared) are stripped before parsing.
//! - **Invalid UTF-8** is decoded lossily for parsing only; the entry keeps its bytes.
//! - **Levels**: `FTL` and `PNC` (JSON `fatal`, `panic`) are [`Level::Critical`]; `???` and
//!   unknown JSON levels are `None` (the caller then falls back).
//!
//! Speed: a console line is tokenized in one pass over borrowed slices; only the fields the
//! classifier reads are decoded, and nothing is allocated for an `Other` record (measured
//! per line: see `docs/bench-results.md`, "Code notes: parse").

mod classify;
mod console;
mod go_string;
mod json;
mod record;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use self::record::Record;
use super::{EventKind, Level, ParseStats, Parsed, SecretKind, ServerEvent, TunnelProcessEvent};

/// Largest torn-JSON head kept for stitching; a longer one is counted and dropped.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How many further lines of the same process a torn head waits for its tail.
pub(crate) const MAX_HEAD_AGE_LINES: u32 = 32;
/// How many processes' state is kept; the least recently seen is evicted.
pub(crate) const MAX_PROCESSES: usize = 16;
/// How many complete objects are looked for in one torn line (bounds the work a hostile
/// line can cause).
const MAX_TORN_TRIES: u32 = 256;

/// Per-process parsing state: bounded by [`MAX_PROCESSES`] and, per process, one torn head
/// of at most [`MAX_HEAD_BYTES`].
#[derive(Debug, Default)]
pub struct State {
    procs: Vec<ProcState>,
    /// Increases with every line; orders processes for eviction.
    clock: u64,
}

#[derive(Debug)]
struct ProcState {
    pid: Option<u32>,
    last_seen: u64,
    /// Level of this process's last record: what its continuation lines take.
    last_level: Option<Level>,
    has_record: bool,
    /// The error of `Initiating shutdown`: the CLI repeats it as a bare last line.
    fatal_reason: Option<Box<str>>,
    head: Option<TornHead>,
}

#[derive(Debug)]
struct TornHead {
    text: String,
    age_lines: u32,
}

impl State {
    /// Parses one cloudflared line. Total: never panics, unknown text is `Unparsed`.
    pub fn parse(&mut self, message: &[u8], pid: Option<u32>, stats: &mut ParseStats) -> Parsed {
        // `from_utf8` first: its validation is much faster than the lossy decoder's, and
        // the lossy copy is only needed for invalid input.
        let text = super::text_of(message);
        let text = strip_ansi(text);
        let line = text.trim_end_matches(['\n', '\r']);
        let proc = self.proc(pid, stats);
        proc.parse_line(line, stats)
    }

    /// This process's state, created (evicting the least recently seen) when new.
    fn proc(&mut self, pid: Option<u32>, stats: &mut ParseStats) -> &mut ProcState {
        self.clock += 1;
        let idx = if let Some(i) = self.procs.iter().position(|p| p.pid == pid) {
            i
        } else {
            if self.procs.len() >= MAX_PROCESSES {
                let oldest = self
                    .procs
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, p)| p.last_seen)
                    .map(|(i, _)| i);
                if let Some(oldest) = oldest {
                    if self.procs.swap_remove(oldest).head.is_some() {
                        stats.unrecovered_fragments += 1;
                    }
                }
            }
            self.procs.push(ProcState::new(pid));
            self.procs.len() - 1
        };
        let clock = self.clock;
        let proc = &mut self.procs[idx];
        proc.last_seen = clock;
        proc
    }
}

impl ProcState {
    fn new(pid: Option<u32>) -> ProcState {
        ProcState {
            pid,
            last_seen: 0,
            last_level: None,
            has_record: false,
            fatal_reason: None,
            head: None,
        }
    }

    fn parse_line(&mut self, line: &str, stats: &mut ParseStats) -> Parsed {
        if let Some(parsed) = self.try_stitch(line, stats) {
            return parsed;
        }
        if line.trim_start().starts_with('{') {
            return self.json_line(line, stats);
        }
        if let Some(rec) = console::parse(line) {
            return self.record(&rec);
        }
        self.bare_line(line, stats)
    }

    /// A parsed record: remembers what later bare lines need, and classifies it.
    fn record(&mut self, rec: &Record<'_>) -> Parsed {
        let kind = classify::classify(rec);
        self.note(rec.level, &kind);
        let mut parsed = Parsed::new(rec.level, kind);
        // DBG request lines print every request header: an Authorization or Cookie
        // header is a credential in the journal (named, never copied).
        if let Some(headers) = rec.fields.headers {
            // Searchers built once: `str::contains` built one per call and header, and
            // every DBG request line has a header map of about a kilobyte. Two searches
            // for three headers: `Authorization":[` ends `"Proxy-Authorization":[` too.
            static CREDENTIALS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 2]> =
                std::sync::LazyLock::new(|| {
                    ["Authorization\":[", "\"Cookie\":["].map(memchr::memmem::Finder::new)
                });
            let text = headers.text();
            let b = text.as_bytes();
            let is_credential_header = |at: usize| {
                let head = &b[..at];
                head.ends_with(b"\"") || head.ends_with(b"\"Proxy-")
            };
            let authorization = CREDENTIALS[0].find_iter(b).any(is_credential_header);
            if authorization || CREDENTIALS[1].find(b).is_some() {
                parsed
                    .also
                    .push(EventKind::Server(ServerEvent::SecretLogged {
                        kind: SecretKind::AuthorizationHeader,
                    }));
            }
        }
        parsed
    }

    fn note(&mut self, level: Option<Level>, kind: &EventKind) {
        self.has_record = true;
        self.last_level = level;
        if let EventKind::TunnelProcess(TunnelProcessEvent::FatalShutdown { reason }) = kind {
            self.fatal_reason = Some(reason.clone());
        }
    }

    /// With a torn head waiting: ages it, and returns the stitched record when head + line
    /// is one object. A line that cannot be a tail leaves the head waiting.
    fn try_stitch(&mut self, line: &str, stats: &mut ParseStats) -> Option<Parsed> {
        let head = self.head.as_mut()?;
        head.age_lines += 1;
        let mut joined = String::with_capacity(head.text.len() + line.len());
        joined.push_str(&head.text);
        joined.push_str(line);
        if let Some(rec) = Record::from_json(&joined).filter(|rec| rec.level.is_some()) {
            self.head = None;
            return Some(self.record(&rec));
        }
        if head.age_lines > MAX_HEAD_AGE_LINES {
            self.head = None;
            stats.unrecovered_fragments += 1;
        } else if looks_like_tail(line) {
            // A tail that does not fit this head: both are lost.
            self.head = None;
            stats.unrecovered_fragments += 1;
        }
        None
    }

    /// A line starting with `{`: one record (the common case), or a torn line.
    fn json_line(&mut self, line: &str, stats: &mut ParseStats) -> Parsed {
        if let Some(rec) = Record::from_json(line) {
            return self.record(&rec);
        }
        self.torn_line(line, true, stats)
    }

    /// Recovers every complete object in `line`; junk before the first one becomes the
    /// pending head when `may_be_head` (the line starts with `{`), otherwise it is counted.
    fn torn_line(&mut self, line: &str, may_be_head: bool, stats: &mut ParseStats) -> Parsed {
        let b = line.as_bytes();
        let mut records: Vec<Record<'_>> = Vec::new();
        let mut tries = 0;
        let first = json::skip_ws(b, 0);
        let mut pos = first;
        let mut junk_start: Option<usize> = None;
        while pos < b.len() && tries < MAX_TORN_TRIES {
            if b.get(pos) == Some(&b'{') {
                tries += 1;
                // Only an object with a `level` is a record: a nested object that happens
                // to be complete (a torn head's `headers`) is part of the head.
                if let Some(rec) = json::value_end(b, pos)
                    .and_then(|end| Some((end, Record::from_json(line.get(pos..end)?)?)))
                    .filter(|(_, rec)| rec.level.is_some())
                {
                    let (end, rec) = rec;
                    if let Some(start) = junk_start.take() {
                        self.junk(line.get(start..pos), start == first && may_be_head, stats);
                    }
                    records.push(rec);
                    pos = json::skip_ws(b, end);
                    continue;
                }
            }
            junk_start.get_or_insert(pos);
            pos = match b.get(pos + 1..).and_then(|t| memchr::memchr(b'{', t)) {
                Some(p) => pos + 1 + p,
                None => b.len(),
            };
        }
        if pos < b.len() {
            junk_start.get_or_insert(pos);
        }
        if let Some(start) = junk_start {
            self.junk(line.get(start..), start == first && may_be_head, stats);
        }
        let mut kinds: Vec<(Option<Level>, EventKind)> = Vec::with_capacity(records.len());
        for rec in &records {
            let kind = classify::classify(rec);
            self.note(rec.level, &kind);
            kinds.push((rec.level, kind));
        }
        let mut kinds = kinds.into_iter();
        let Some((level, kind)) = kinds.next() else {
            return Parsed::new(self.last_level, EventKind::Continuation);
        };
        Parsed {
            level,
            kind,
            also: kinds.map(|(_, k)| k).collect(),
        }
    }

    /// Text in a JSON line that is not a complete object: kept as the torn head when it
    /// starts the line, counted as unrecovered otherwise.
    fn junk(&mut self, text: Option<&str>, is_head: bool, stats: &mut ParseStats) {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return;
        };
        if is_head && text.len() <= MAX_HEAD_BYTES {
            if self.head.is_some() {
                stats.unrecovered_fragments += 1;
            }
            self.head = Some(TornHead {
                text: text.to_owned(),
                age_lines: 0,
            });
        } else {
            stats.unrecovered_fragments += 1;
        }
    }

    /// A line with no time prefix that is not a JSON object.
    fn bare_line(&mut self, line: &str, stats: &mut ParseStats) -> Parsed {
        let trimmed = line.trim();
        if let Some(v) = trimmed.strip_prefix("cloudflared version ") {
            if let Some(version) = classify::version_token(v) {
                let kind = EventKind::TunnelProcess(TunnelProcessEvent::Version(version.into()));
                return Parsed::new(Some(Level::Info), kind);
            }
        }
        if looks_like_tail(line) {
            // A torn JSON tail with no head to stitch to; it may still hold whole records.
            return self.torn_line(line, false, stats);
        }
        let is_last_words = !trimmed.is_empty()
            && (self.fatal_reason.as_deref() == Some(trimmed)
                || trimmed.starts_with("Could not lookup srv records"));
        if is_last_words {
            return Parsed::new(Some(Level::Error), EventKind::Other);
        }
        if self.has_record {
            Parsed::new(self.last_level, EventKind::Continuation)
        } else {
            Parsed::new(None, EventKind::Unparsed)
        }
    }
}

/// The end of a torn JSON record: not a record start, ends with `}` and has a JSON member
/// (`":`) in it.
fn looks_like_tail(line: &str) -> bool {
    let t = line.trim();
    !t.starts_with('{') && !console::has_time_prefix(t) && t.ends_with('}') && t.contains("\":")
}

/// Removes SGR colour sequences (`ESC [ … m`) and any other CSI sequence.
fn strip_ansi(text: Cow<'_, str>) -> Cow<'_, str> {
    if memchr::memchr(0x1b, text.as_bytes()).is_none() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}
