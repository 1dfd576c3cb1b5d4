//! Sources: where raw journal entries come from, and the types every later stage reads.
//!
//! Owns: [`RawEntry`] (one journal record, bytes as stored) and who wrote it ([`Origin`],
//! shared by a writer's entries), the identities [`Unit`], [`Cursor`], [`Timestamp`], the unit selection with `journalctl -u` semantics
//! ([`UnitFilter`]), and the messages a source sends ([`SourceMsg`], [`SourceError`]).
//! Does not own: what a message *means* (that is `parse`), nor any I/O policy of the
//! app loop. Nothing here imports from another stage of the crate.
//!
//! Inputs:
//! - `journal`: the local journal, `-D DIR` and `--file FILE`, read through sd-journal
//!   on a thread of its own (the handle is not `Send`);
//! - `stream`: a `journalctl -o export` or `-o json` byte stream (stdin, a file; sigil-top
//!   never runs journalctl, it reads what journalctl writes);
//! - `demo`: the embedded scenario in `assets/` (re-timed to now on the live screen).
//!
//! `filter` holds journalctl's other filters (`-p`, `-t`, `-b`, `-g`, `--cursor`) and unit
//! globs' matching; each input applies them (see [`ReadOptions::filter`]).
//!
//! [`spawn`] starts any [`InputSpec`] on its own thread with [`ReadOptions`];
//! [`read_in_place`] reads a text input to its end on the caller's thread instead; `since`
//! parses the `--since`/`--until` forms (a pure function, here because time is a source
//! concern: sd-journal seeks by it).

mod archive;
mod batch;
pub mod demo;
mod fields;
pub(crate) mod filter;
pub(crate) mod journal;
pub mod since;
pub mod stream;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Journal realtime in microseconds since the Unix epoch (`__REALTIME_TIMESTAMP`).
///
/// This is the only clock sigil-top orders and measures by: the in-message times of both
/// programs have whole-second (or millisecond) precision and, for Python, no time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub(crate) fn as_micros(self) -> u64 {
        self.0
    }

    /// The wall clock now.
    pub(crate) fn now() -> Timestamp {
        let us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        Timestamp(us)
    }

    /// Microseconds from `earlier` to `self`, zero when `earlier` is later (clock skew
    /// between streams must never produce a negative or wrapped duration).
    pub(crate) fn saturating_since_us(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-25T17:05:17.811775Z`.
    pub fn to_rfc3339(self) -> String {
        let secs = i64::try_from(self.0 / 1_000_000).unwrap_or(i64::MAX);
        let micros = u32::try_from(self.0 % 1_000_000).unwrap_or(0);
        match chrono::DateTime::from_timestamp(secs, micros * 1000) {
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            None => format!("@{}us", self.0),
        }
    }
}

/// A systemd unit name, always with its type suffix (`sigil-mcp.service`).
///
/// Shared (`Arc`): every entry of a unit carries the same one, so attributing an entry
/// costs a reference count, not an allocation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit(Arc<str>);

impl Unit {
    /// Normalises what a user types: a bare name gets `.service`, as `journalctl -u` does;
    /// a glob (`cloudflared*`) is kept as typed and matches unit names ([`Unit::is_glob`]).
    pub fn new(name: &str) -> Unit {
        let name = name.trim();
        if filter::is_glob(name) {
            return Unit(name.into());
        }
        let has_suffix = [
            ".service",
            ".socket",
            ".target",
            ".timer",
            ".mount",
            ".scope",
            ".slice",
            ".path",
            ".swap",
            ".device",
            ".automount",
        ]
        .iter()
        .any(|s| name.ends_with(s));
        if has_suffix {
            Unit(name.into())
        } else {
            Unit(format!("{name}.service").into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a pattern (`-u 'cloudflared*'`) rather than one unit's name.
    pub(crate) fn is_glob(&self) -> bool {
        filter::is_glob(&self.0)
    }

    /// Whether both are the same shared name (not just equal names): a pointer compare.
    pub(crate) fn is_same(&self, other: &Unit) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The shared name itself (to count or compare entries by pointer).
    pub(crate) fn shared(&self) -> &Arc<str> {
        &self.0
    }

    /// The name without its `.service` suffix, for compact display.
    pub fn short(&self) -> &str {
        self.0.strip_suffix(".service").unwrap_or(&self.0)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An sd-journal cursor (`s=…;i=…;b=…;m=…;t=…;x=…`): the stable identity of an entry.
///
/// Shared (`Arc`): traces and incidents keep cursors of their lines as evidence, and a
/// clone is a reference count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(pub Arc<str>);

/// Index of the input an entry came from, in the order the inputs were given.
pub(crate) type InputId = u16;

/// The journal fields sigil-top keeps besides the ones it has typed slots for.
///
/// Only these are kept, so memory per entry stays small; they are what the parsers need
/// (native journald logging of the Sigil server) and what a snapshot re-exports.
pub(crate) const KEPT_FIELDS: &[&str] = &[
    "SYSLOG_IDENTIFIER",
    "_COMM",
    "_TRANSPORT",
    "_UID",
    "MESSAGE_ID",
    "COREDUMP_UNIT",
    "OBJECT_SYSTEMD_UNIT",
    "_SYSTEMD_INVOCATION_ID",
    "INVOCATION_ID",
    "JOB_TYPE",
    "JOB_RESULT",
    "EXIT_CODE",
    "EXIT_STATUS",
    "LOGGER",
    "REQUEST_ID",
    "STATUS_CODE",
    "DURATION_MS",
    "CF_RAY",
    "CLIENT_IP",
    "PATH",
    "METHOD",
    "RESPONSE_BODY",
];

/// One journal record as stored, with the fields sigil-top reads.
///
/// `message` keeps the original bytes (it may be invalid UTF-8, hold NULs, control
/// characters or newlines); only `text` turns it into display text.
///
/// Who wrote the entry ([`Origin`]: boot, unit, host, kept fields) is shared as one `Arc`
/// by the consecutive entries of one process (see `fields`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub realtime: Timestamp,
    pub monotonic_us: Option<u64>,
    pub cursor: Option<Cursor>,
    /// The watched unit this entry belongs to (see [`UnitFilter::unit_of_fields`]); `None` when
    /// no unit selection applies (e.g. `entries` over a whole journal).
    pub unit: Option<Unit>,
    /// Who wrote it: the same shared value for every entry of one writer.
    pub origin: Arc<Origin>,
    /// `UNIT`: the unit PID 1 (or another daemon) is talking about.
    pub about_unit: Option<Arc<str>>,
    pub pid: Option<u32>,
    /// syslog priority 0 (emerg) … 7 (debug). For stdout lines it is the unit's default
    /// (6) whatever the program meant: parsers take the level from the text.
    pub priority: Option<u8>,
    pub message: Box<[u8]>,
    pub input: InputId,
}

/// What the entries of one writer share: its boot, unit, host and kept fields.
///
/// One `Arc` for the lot: the decoders hand consecutive entries of a process the same
/// value (a reference count per entry instead of one per identifier, and one compare of
/// a remembered origin instead of a lookup per identifier), and the parser recognises a
/// writer it has seen by pointer (measured: see docs/bench-results.md, "Code notes").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub boot_id: Option<Arc<str>>,
    /// `_SYSTEMD_UNIT`: the unit whose process wrote the entry.
    pub systemd_unit: Option<Arc<str>>,
    pub hostname: Option<Arc<str>>,
    /// Other kept fields ([`KEPT_FIELDS`]) in the order they were read. Names are the
    /// `KEPT_FIELDS` entries themselves.
    pub fields: KeptFields,
}

/// The kept fields of an entry ([`KEPT_FIELDS`]), in the order they were read.
///
/// Part of an entry's [`Origin`]: the lines of one process carry the same ones
/// (identifier, command, transport, uid, invocation), so consecutive entries share one
/// copy through their origin. A clone is a reference count (`Arc`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptFields(Arc<[KeptField]>);

/// One kept field: its name (a [`KEPT_FIELDS`] entry) and its value.
pub type KeptField = (&'static str, Arc<[u8]>);

impl KeptFields {
    /// Adds a field (copying the set: for entries built by hand in tests, not by decoders).
    #[cfg(test)]
    pub(crate) fn push(&mut self, name: &'static str, value: Arc<[u8]>) {
        let mut all = self.0.to_vec();
        all.push((name, value));
        self.0 = all.into();
    }
}

impl From<Vec<KeptField>> for KeptFields {
    fn from(fields: Vec<KeptField>) -> KeptFields {
        KeptFields(fields.into())
    }
}

impl std::ops::Deref for KeptFields {
    type Target = [KeptField];

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'a> IntoIterator for &'a KeptFields {
    type Item = &'a KeptField;
    type IntoIter = std::slice::Iter<'a, KeptField>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl RawEntry {
    /// A kept field's value by name.
    pub(crate) fn field(&self, name: &str) -> Option<&[u8]> {
        self.origin
            .fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| &**v)
    }

    /// A kept field as UTF-8 text, `None` when absent or not UTF-8.
    pub(crate) fn field_str(&self, name: &str) -> Option<&str> {
        self.field(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// True when PID 1 wrote this entry (systemd's own lines about units).
    pub(crate) fn is_from_pid1(&self) -> bool {
        self.pid == Some(1)
    }
}

/// Which units to read, with `journalctl -u` semantics: the unit's own lines
/// (`_SYSTEMD_UNIT=`), PID 1's lines about it (`_PID=1` + `UNIT=`), coredumps
/// (`MESSAGE_ID=fc2e22bc…` + `_UID=0` + `COREDUMP_UNIT=`) and authorised daemons' lines
/// (`_UID=0` + `OBJECT_SYSTEMD_UNIT=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFilter {
    /// Empty means every entry is taken and none is attributed to a unit.
    pub units: Vec<Unit>,
}

impl UnitFilter {
    /// Whether a unit is a glob: the journal source cannot turn it into sd-journal
    /// matches (the names it stands for are not known up front) and tests every entry.
    pub(crate) fn has_glob(&self) -> bool {
        self.units.iter().any(Unit::is_glob)
    }
}

/// `MESSAGE_ID` of systemd-coredump's entries.
pub(crate) const COREDUMP_MESSAGE_ID: &str = "fc2e22bc6ee647b6b90729ab34a250b1";

/// An entry that belongs to none of the selected units: the unit filter leaves it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotWatched;

/// The receiving side of a source's messages is gone (the program is ending): the
/// reader stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReceiverGone;

impl UnitFilter {
    /// The watched unit an entry belongs to (`Ok(Some(unit))`), or [`NotWatched`]. With
    /// no units selected every entry belongs, to no unit in particular (`Ok(None)`).
    ///
    /// Over anything that has the fields it reads: decoders ask it before they build a
    /// `RawEntry`, so dropped entries cost no allocation. Names compare as bytes (a unit
    /// name that is not UTF-8 matches no selected unit).
    pub(crate) fn unit_of_fields(
        &self,
        entry: &impl UnitFields,
    ) -> Result<Option<Unit>, NotWatched> {
        if self.units.is_empty() {
            return Ok(None);
        }
        let is_root = entry.kept_field("_UID") == Some(b"0");
        // A glob gives the unit it matched (`cloudflared*` → `cloudflared.service`), as
        // journalctl expands it to the names the journal holds.
        let find = |name: Option<&[u8]>| {
            name.and_then(|n| {
                self.units.iter().find_map(|u| {
                    if u.is_glob() {
                        let name = std::str::from_utf8(n).ok()?;
                        filter::glob_match(u.as_str().as_bytes(), n).then(|| Unit(name.into()))
                    } else {
                        crate::bytes::same(u.as_str().as_bytes(), n).then(|| u.clone())
                    }
                })
            })
        };
        if let Some(u) = find(entry.systemd_unit()) {
            return Ok(Some(u));
        }
        if entry.pid() == Some(1) {
            if let Some(u) = find(entry.about_unit()) {
                return Ok(Some(u));
            }
        }
        if is_root {
            if entry.kept_field("MESSAGE_ID") == Some(COREDUMP_MESSAGE_ID.as_bytes()) {
                if let Some(u) = find(entry.kept_field("COREDUMP_UNIT")) {
                    return Ok(Some(u));
                }
            }
            if let Some(u) = find(entry.kept_field("OBJECT_SYSTEMD_UNIT")) {
                return Ok(Some(u));
            }
        }
        Err(NotWatched)
    }
}

/// The fields [`UnitFilter`] decides by, as bytes.
pub(crate) trait UnitFields {
    fn systemd_unit(&self) -> Option<&[u8]>;
    fn about_unit(&self) -> Option<&[u8]>;
    fn pid(&self) -> Option<u32>;
    /// A [`KEPT_FIELDS`] field's value.
    fn kept_field(&self, name: &str) -> Option<&[u8]>;
}

/// What a source sends to the app loop. Batches keep channel traffic low; the channel is
/// bounded, so a fast source waits for the consumer instead of growing memory.
///
/// Every source sends exactly one `CaughtUp` (also before an `Error` that ends it early)
/// and exactly one final `Ended` or `Error`, so a consumer of several sources on one
/// channel can count them.
#[derive(Debug)]
pub enum SourceMsg {
    Batch(Vec<RawEntry>),
    /// All history that existed at start has been sent; what follows is live.
    CaughtUp,
    /// A problem the source survived (e.g. a corrupt file it skipped, a torn record).
    Warning(String),
    /// The source stopped on an error.
    Error(SourceError),
    /// The source ended normally (end of input in a history-only mode).
    Ended,
}

/// Errors a caller branches on; each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "no permission to read the journal{}: add your user to the 'systemd-journal' (or 'adm') group \
         (sudo usermod -aG systemd-journal $USER, then log in again) or run with sudo",
        path.as_ref().map(|p| format!(" at {p}")).unwrap_or_default()
    )]
    PermissionDenied { path: Option<String> },
    #[error("journal directory or file not found: {path}")]
    NotFound { path: String },
    #[error("reading the journal: {0}")]
    Journal(String),
    #[error("reading {input}: {message}")]
    Stream { input: String, message: String },
}

/// One input as the user gave it. Several inputs can run at once; each gets an [`InputId`]
/// (its index) that every entry it yields carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InputSpec {
    /// The local system journal (what `journalctl` reads with no `-D`/`--file`).
    System,
    /// A journal directory (`-D DIR`), read through sd-journal.
    Directory(PathBuf),
    /// Journal files (`--file FILE`, repeatable) opened together in one sd-journal handle,
    /// so they interleave exactly as `journalctl --file A --file B` does.
    Files(Vec<PathBuf>),
    /// `journalctl -o export` or `-o json` text on standard input (`-`).
    Stdin,
    /// `journalctl -o export` or `-o json` text in a file (a positional path).
    TextFile(PathBuf),
    /// The embedded demo scenario (`sigil-top demo`): its own times headless, re-timed to
    /// now on the live screen.
    Demo,
}

impl InputSpec {
    /// How the input is named in messages and per-input counts.
    pub(crate) fn describe(&self) -> String {
        match self {
            InputSpec::System => "system journal".to_owned(),
            InputSpec::Directory(p) => format!("journal directory {}", p.display()),
            InputSpec::Files(ps) => {
                let names: Vec<String> = ps.iter().map(|p| p.display().to_string()).collect();
                format!("journal file {}", names.join(", "))
            }
            InputSpec::Stdin => "standard input".to_owned(),
            InputSpec::TextFile(p) => format!("journal text {}", p.display()),
            // Headless, with the capture's own times; the live screen re-times it and
            // names it `demo::SCREEN_NAME` (issue 19, point 7).
            InputSpec::Demo => "built-in demo".to_owned(),
        }
    }
}

/// Where a journal input starts reading (see [`ReadOptions::start`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartAt {
    /// Its first entry (or `--since`, `-n`).
    Head,
    /// After its last entry when opened: only what is written from then on, as
    /// `journalctl -f -n 0`, but positioned by that entry's cursor, so nothing written
    /// between opening and following is missed.
    End,
    /// After this entry (`watch --cursor-file`). A cursor the journal cannot seek to
    /// (not a cursor, or from another journal) is said in a warning, then [`StartAt::End`].
    AfterCursor(Cursor),
}

/// How a source reads: which entries, from when, and how it batches them.
#[derive(Debug, Clone)]
pub(crate) struct ReadOptions {
    pub(crate) units: UnitFilter,
    /// Skip entries before this time (`--since`).
    pub(crate) since: Option<Timestamp>,
    /// Stop at the first entry after this time (`--until`), as `journalctl` does.
    pub(crate) until: Option<Timestamp>,
    /// Start with only the last N matching entries of the history (`-n N`).
    pub(crate) backlog_entries: Option<u64>,
    /// Keep reading new entries after the history (`--follow`); otherwise send `Ended` at
    /// the end. Text streams always read to end of input.
    pub(crate) follow: bool,
    /// Where a journal input starts when no `--since`/`-n` says (a cursor wins over
    /// them, as `journalctl --cursor-file` does). Text streams start where they start:
    /// their writer chose (`journalctl -f -n 0 -o export | …`).
    pub(crate) start: StartAt,
    /// journalctl's other filters (`-p`, `-t`, `-b`, `-g`, `--cursor`).
    pub(crate) filter: filter::EntryFilter,
    /// A batch is sent when it holds this many entries…
    pub(crate) batch_max_entries: usize,
    /// …or when its first entry has waited this long.
    pub(crate) batch_max_wait: Duration,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            units: UnitFilter { units: Vec::new() },
            since: None,
            until: None,
            backlog_entries: None,
            follow: false,
            start: StartAt::Head,
            filter: filter::EntryFilter::default(),
            batch_max_entries: 1024,
            batch_max_wait: Duration::from_millis(10),
        }
    }
}

/// Starts reading `spec` on a thread of its own; entries arrive on `tx` tagged with `input`.
///
/// Problems found while opening (missing path, no permission) are returned here, before
/// anything is sent; later problems arrive as [`SourceMsg::Warning`] or [`SourceMsg::Error`].
/// The thread ends when its input ends (history mode) or when `tx`'s receiver is dropped.
pub(crate) fn spawn(
    spec: &InputSpec,
    options: ReadOptions,
    input: InputId,
    tx: tokio::sync::mpsc::Sender<SourceMsg>,
) -> Result<std::thread::JoinHandle<()>, SourceError> {
    match spec {
        InputSpec::System => journal::spawn(journal::JournalInput::System, options, input, tx),
        InputSpec::Directory(dir) => journal::spawn(
            journal::JournalInput::Directory(dir.clone()),
            options,
            input,
            tx,
        ),
        InputSpec::Files(files) => journal::spawn(
            journal::JournalInput::Files(files.clone()),
            options,
            input,
            tx,
        ),
        InputSpec::Demo => Ok(demo::spawn(options, input, tx)),
        InputSpec::Stdin => Ok(stream::spawn_pipe_reader(
            std::io::stdin(),
            spec.describe(),
            options,
            input,
            tx,
        )),
        InputSpec::TextFile(path) => {
            let file = open_text_file(spec, path)?;
            if archive::is_gzip(&file) {
                let pipe = open_archive(spec, file)?;
                return Ok(stream::spawn_pipe_reader(
                    pipe,
                    spec.describe(),
                    options,
                    input,
                    tx,
                ));
            }
            // A named pipe (`report <(journalctl -o export -f)`) may pause like stdin.
            let spawn_stream = if is_regular_file(&file) {
                stream::spawn_reader
            } else {
                stream::spawn_pipe_reader
            };
            Ok(spawn_stream(file, spec.describe(), options, input, tx))
        }
    }
}

/// The cursor of the last entry of a journal input that `options` select, now (see
/// [`journal::last_cursor`]); `None` for an empty journal and for inputs that are not
/// journals.
pub(crate) fn last_cursor(
    spec: &InputSpec,
    options: &ReadOptions,
) -> Result<Option<Cursor>, SourceError> {
    let input = match spec {
        InputSpec::System => journal::JournalInput::System,
        InputSpec::Directory(dir) => journal::JournalInput::Directory(dir.clone()),
        InputSpec::Files(files) => journal::JournalInput::Files(files.clone()),
        InputSpec::Stdin | InputSpec::TextFile(_) | InputSpec::Demo => return Ok(None),
    };
    journal::last_cursor(&input, options)
}

/// Whether [`read_in_place`] can read `spec` with `options`: a text input (a file, or
/// standard input) read once to its end, not followed.
pub(crate) fn reads_in_place(spec: &InputSpec, options: &ReadOptions) -> bool {
    matches!(spec, InputSpec::Stdin | InputSpec::TextFile(_)) && !options.follow
}

/// Reads `spec` to its end on the calling thread (see [`stream::read_in_place`]):
/// `on_msg` gets the messages [`spawn`] would send, and returns `ControlFlow::Break` to
/// stop. Only for
/// what [`reads_in_place`] accepts; anything else is read through [`spawn`].
///
/// Opening errors are returned, as by [`spawn`]; later ones arrive as messages.
pub(crate) fn read_in_place(
    spec: &InputSpec,
    options: ReadOptions,
    input: InputId,
    on_msg: impl FnMut(SourceMsg) -> std::ops::ControlFlow<()>,
) -> Result<(), SourceError> {
    let name = spec.describe();
    match spec {
        InputSpec::TextFile(path) => {
            let file = open_text_file(spec, path)?;
            if archive::is_gzip(&file) {
                let pipe = open_archive(spec, file)?;
                stream::read_in_place(pipe, true, &name, options, input, on_msg);
                return Ok(());
            }
            let is_pipe = !is_regular_file(&file);
            stream::read_in_place(file, is_pipe, &name, options, input, on_msg);
        }
        InputSpec::Stdin => {
            let stdin = std::io::stdin();
            // Standard input redirected from a file is read as a file.
            let is_pipe = !std::os::fd::AsFd::as_fd(&stdin)
                .try_clone_to_owned()
                .is_ok_and(|fd| is_regular_file(&std::fs::File::from(fd)));
            stream::read_in_place(stdin.lock(), is_pipe, &name, options, input, on_msg);
        }
        InputSpec::System | InputSpec::Directory(_) | InputSpec::Files(_) | InputSpec::Demo => {
            return Err(SourceError::Stream {
                input: name,
                message: "not a text input: read it through spawn".to_owned(),
            });
        }
    }
    Ok(())
}

/// A regular file is read to its end without pauses; anything else (a pipe, a terminal)
/// may pause between writes.
fn is_regular_file(file: &std::fs::File) -> bool {
    file.metadata().is_ok_and(|m| m.is_file())
}

/// The whole text of a text input, for what reads it at once (the live screen's paced
/// `--replay`); a snapshot's `.tar.gz` gives its `journal.export`.
pub(crate) fn read_whole_text(path: &std::path::Path) -> Result<Vec<u8>, SourceError> {
    use std::io::Read;
    let spec = InputSpec::TextFile(path.to_path_buf());
    let file = open_text_file(&spec, path)?;
    let mut text = Vec::new();
    let read = if archive::is_gzip(&file) {
        open_archive(&spec, file)?.read_to_end(&mut text)
    } else {
        (&file).read_to_end(&mut text)
    };
    read.map_err(|e| SourceError::Stream {
        input: spec.describe(),
        message: e.to_string(),
    })?;
    Ok(text)
}

/// A snapshot's `.tar.gz` (`snapshot --archive`), read as its `journal.export`.
fn open_archive(spec: &InputSpec, file: std::fs::File) -> Result<std::io::PipeReader, SourceError> {
    archive::journal_export_of(file).map_err(|message| SourceError::Stream {
        input: spec.describe(),
        message,
    })
}

fn open_text_file(spec: &InputSpec, path: &std::path::Path) -> Result<std::fs::File, SourceError> {
    std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound {
            path: path.display().to_string(),
        },
        std::io::ErrorKind::PermissionDenied => SourceError::PermissionDenied {
            path: Some(path.display().to_string()),
        },
        _ => SourceError::Stream {
            input: spec.describe(),
            message: e.to_string(),
        },
    })
}
