//! The journal through sd-journal (the `systemd` crate): the local system journal, `-D DIR`,
//! `--file FILE`, with `journalctl -u` matches, `--since`/`--until`, follow and rotation.
//!
//! Owns the sd-journal handle. It is not `Send`, so it is opened, read and closed on one
//! thread of its own ([`spawn`]); only [`SourceMsg`]s leave that thread. Does not own the
//! meaning of fields (`fields::EntryBuilder`, shared with the text decoders).
//!
//! Matches are the ones `journalctl -u UNIT` adds (systemd's `add_matches_for_unit`), one
//! group per unit, OR-ed together, so the entries and their order are exactly what
//! `journalctl -u A -u B` shows.
//!
//! Fields are read with one `sd_journal_enumerate_data` pass per entry, not one
//! `sd_journal_get_data` call per wanted field: `get_data` walks the entry's items from
//! the start on every call, so reading the ~30 names we want costs ~30 walks, where
//! enumerating costs one. The data threshold is lifted so long messages come whole.
//! Re-measured on a 100k-entry journal (release, shared 2-core machine, CPU time): one
//! enumerate pass per entry 0.6–0.9 s; `get_data` for the 28 names we read 12.7–13.4 s;
//! even `get_data("MESSAGE")` alone 0.9–1.4 s. So enumerating stays, and sd-journal
//! itself (~6–9 µs an entry) is most of what `report -D` costs, as it is for
//! `journalctl -o cat` (see `scripts/bench`).
//!
//! Rotation and vacuuming arrive as `Invalidate` from `sd_journal_wait`; the reader then
//! seeks back to the last cursor it sent and skips that entry, so nothing is lost or
//! repeated.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use memchr::memchr;
use systemd::journal::{
    Journal, JournalWaitResult, OpenDirectoryOptions, OpenFilesOptions, OpenOptions,
};
use tokio::sync::mpsc::Sender;

mod health;

use super::fields::EntryBuilder;
use super::{InputId, RawEntry, ReadOptions, SourceError, SourceMsg, COREDUMP_MESSAGE_ID};

/// Which journal files to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalInput {
    System,
    Directory(PathBuf),
    Files(Vec<PathBuf>),
}

impl JournalInput {
    fn describe(&self) -> String {
        match self {
            JournalInput::System => "the system journal".to_owned(),
            JournalInput::Directory(d) => d.display().to_string(),
            JournalInput::Files(f) => f
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// How long one `sd_journal_wait` may block in follow mode before the thread checks
/// whether anyone is still listening.
const WAIT_SLICE: Duration = Duration::from_millis(200);

/// Opens `input` on a new thread and reads it there (see the module doc).
///
/// Returns once the journal is open: opening errors come back here, later ones as
/// messages.
pub fn spawn(
    input: JournalInput,
    options: ReadOptions,
    id: InputId,
    tx: Sender<SourceMsg>,
) -> Result<JoinHandle<()>, SourceError> {
    let access_warning = check_access(&input)?;
    let (opened_tx, opened_rx) = std::sync::mpsc::sync_channel::<Result<(), SourceError>>(1);
    let handle = std::thread::Builder::new()
        .name(format!("sigil-top journal {id}"))
        .spawn(move || {
            let journal = match open(&input, &options) {
                Ok(j) => {
                    let _ = opened_tx.send(Ok(()));
                    j
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                    return;
                }
            };
            if let Some(w) = access_warning {
                if tx.blocking_send(SourceMsg::Warning(w)).is_err() {
                    return;
                }
            }
            let limit = options
                .since
                .and(options.backlog_entries)
                .filter(|_| !options.follow);
            let mut reader = Reader {
                journal,
                directory: Directory::of(&input),
                input: input.clone(),
                options,
                id,
                tx,
                batch: Vec::new(),
                batch_started: None,
                last_cursor: None,
                builder: EntryBuilder::default(),
                sent_caught_up: false,
                health: health::Health::default(),
                last_scan: None,
                skipped: 0,
                limit,
                read_count: 0,
                mapped: Mapped::start(),
                reopen_every: std::env::var("SIGIL_TOP_REOPEN_EVERY")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0),
                inject_panic: std::env::var_os("SIGIL_TOP_FAULT")
                    .is_some_and(|v| v == "reader-panic"),
            };
            let final_msg = match reader.scan_files(true).and_then(|()| reader.read()) {
                Ok(Some(msg)) => msg,
                Ok(None) => return, // the receiver is gone
                Err(e) => {
                    SourceMsg::Error(SourceError::Journal(format!("{}: {e}", input.describe())))
                }
            };
            if matches!(final_msg, SourceMsg::Error(_)) && !reader.sent_caught_up {
                let _ = reader.tx.blocking_send(SourceMsg::CaughtUp);
            }
            let _ = reader.tx.blocking_send(final_msg);
        })
        .map_err(|e| SourceError::Journal(format!("starting the journal reader: {e}")))?;
    match opened_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => {
            let _ = handle.join();
            Err(SourceError::Journal(
                "the journal reader stopped while opening".into(),
            ))
        }
    }
}

/// Finds the problems sd-journal does not report on open: a path that does not exist,
/// and journal files that exist but that we may not read (sd-journal then silently shows
/// nothing, which would look like "no entries yet"). When only some files are readable
/// (a user's own journal, not the system's), returns a warning to pass on.
fn check_access(input: &JournalInput) -> Result<Option<String>, SourceError> {
    let dirs: Vec<PathBuf> = match input {
        JournalInput::System => SYSTEM_DIRS.iter().map(PathBuf::from).collect(),
        JournalInput::Directory(d) => {
            if !d.is_dir() {
                return Err(not_found_or_denied(d));
            }
            vec![d.clone()]
        }
        JournalInput::Files(files) => {
            for f in files {
                if let Err(e) = std::fs::File::open(f) {
                    return Err(match e.kind() {
                        std::io::ErrorKind::PermissionDenied => SourceError::PermissionDenied {
                            path: Some(f.display().to_string()),
                        },
                        _ => SourceError::NotFound {
                            path: f.display().to_string(),
                        },
                    });
                }
            }
            return Ok(None);
        }
    };
    let mut found = 0usize;
    let mut readable = 0usize;
    let mut denied_dir = None;
    for dir in &dirs {
        count_journal_files(dir, 0, &mut found, &mut readable, &mut denied_dir);
    }
    if (found > 0 && readable == 0) || (found == 0 && denied_dir.is_some()) {
        let path = match input {
            JournalInput::System => None,
            _ => denied_dir.or_else(|| dirs.first().map(|d| d.display().to_string())),
        };
        return Err(SourceError::PermissionDenied { path });
    }
    if readable < found {
        return Ok(Some(format!(
            "{} of {found} journal files in {} are not readable, so their entries are missing: \
             add your user to the 'systemd-journal' group to see them all",
            found - readable,
            input.describe()
        )));
    }
    Ok(None)
}

fn not_found_or_denied(path: &Path) -> SourceError {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            SourceError::PermissionDenied {
                path: Some(path.display().to_string()),
            }
        }
        _ => SourceError::NotFound {
            path: path.display().to_string(),
        },
    }
}

/// Counts `*.journal` / `*.journal~` files in `dir` and its machine-id subdirectories.
fn count_journal_files(
    dir: &Path,
    depth: u8,
    found: &mut usize,
    readable: &mut usize,
    denied_dir: &mut Option<String>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            if e.kind() == std::io::ErrorKind::PermissionDenied && denied_dir.is_none() {
                *denied_dir = Some(dir.display().to_string());
            }
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            if depth == 0 {
                count_journal_files(&path, 1, found, readable, denied_dir);
            }
            continue;
        }
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if health::is_journal_name(&name) {
            *found += 1;
            if std::fs::File::open(&path).is_ok() {
                *readable += 1;
            }
        }
    }
}

fn io_error(what: &str, e: &std::io::Error) -> SourceError {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        SourceError::PermissionDenied { path: None }
    } else {
        SourceError::Journal(format!("{what}: {e}"))
    }
}

fn open(input: &JournalInput, options: &ReadOptions) -> Result<Journal, SourceError> {
    let mut journal = match input {
        JournalInput::System => OpenOptions::default()
            .system(true)
            .local_only(false)
            .open()
            .map_err(|e| io_error("opening the system journal", &e))?,
        JournalInput::Directory(dir) => OpenDirectoryOptions::default()
            .open_directory(dir.to_string_lossy().as_ref())
            .map_err(|e| io_error(&format!("opening journal directory {}", dir.display()), &e))?,
        JournalInput::Files(files) => {
            let names: Vec<String> = files
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            OpenFilesOptions::default()
                .open_files(names.iter().map(String::as_str))
                .map_err(|e| io_error("opening journal files", &e))?
        }
    };
    // 0 = no limit: a 300 KB message must come whole, not cut at the 64 KiB default.
    journal
        .set_data_threshold(0)
        .map_err(|e| io_error("setting the data threshold", &e))?;
    add_unit_matches(&mut journal, options).map_err(|e| io_error("adding unit matches", &e))?;
    Ok(journal)
}

/// The matches of `journalctl -u U1 -u U2 …` (systemd `src/shared/logs-show.c`,
/// `add_matches_for_unit`, and `journalctl.c`'s `add_units`).
fn add_unit_matches(journal: &mut Journal, options: &ReadOptions) -> std::io::Result<()> {
    for unit in &options.units.units {
        let u = unit.as_str();
        // The unit's own processes.
        journal.match_add("_SYSTEMD_UNIT", u)?;
        // Its coredumps.
        journal.match_or()?;
        journal.match_add("MESSAGE_ID", COREDUMP_MESSAGE_ID)?;
        journal.match_add("_UID", "0")?;
        journal.match_add("COREDUMP_UNIT", u)?;
        // PID 1 about it.
        journal.match_or()?;
        journal.match_add("_PID", "1")?;
        journal.match_add("UNIT", u)?;
        // Authorised daemons about it.
        journal.match_or()?;
        journal.match_add("_UID", "0")?;
        journal.match_add("OBJECT_SYSTEMD_UNIT", u)?;
        journal.match_or()?;
    }
    Ok(())
}

/// How many entries are read between two looks at the mapped memory.
const MAPPED_CHECK_EVERY: u64 = 8192;

/// Journal pages sd-journal may keep mapped (resident, counted in RSS) before the reader
/// reopens the journal to drop them.
const MAPPED_BUDGET_KIB: u64 = 64 * 1024;

/// sd-journal reads journal files through its own mmap cache (8 MiB windows, at least 64
/// of them kept) and never unmaps while open, so reading 800 MB of journal files left
/// ~270 MiB of file pages resident in sigil-top's RSS (as in `journalctl`'s). The pages
/// are clean page cache the kernel could drop, but they count in RSS, and RSS is what
/// operators watch. So the reader looks at its own `RssFile` every
/// [`MAPPED_CHECK_EVERY`] entries and, past [`MAPPED_BUDGET_KIB`] above what it had at
/// open, closes and reopens the journal and resumes from the last cursor (the same
/// resume as after rotation; measured: ~1 ms a reopen, a few per GB read).
struct Mapped {
    at_open_kib: Option<u64>,
}

impl Mapped {
    fn start() -> Mapped {
        Mapped {
            at_open_kib: rss_file_kib(),
        }
    }

    fn is_over(&self) -> bool {
        match (self.at_open_kib, rss_file_kib()) {
            (Some(start), Some(now)) => now.saturating_sub(start) > MAPPED_BUDGET_KIB,
            _ => false,
        }
    }
}

/// This process's resident file-backed memory (`RssFile` in `/proc/self/status`), KiB.
fn rss_file_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssFile:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// How often a follower looks for newly damaged journal files between rotations.
const SCAN_EVERY: Duration = Duration::from_secs(5);

/// Where the system journal lives (persistent, volatile).
const SYSTEM_DIRS: [&str; 2] = ["/var/log/journal", "/run/log/journal"];

/// A `-D` directory and the identity (device, inode) it had when opened, to notice it
/// being removed, or replaced by a new directory of the same name.
struct Directory {
    path: PathBuf,
    identity: Option<(u64, u64)>,
}

impl Directory {
    fn of(input: &JournalInput) -> Option<Directory> {
        let JournalInput::Directory(path) = input else {
            return None;
        };
        Some(Directory {
            path: path.clone(),
            identity: identity(path),
        })
    }

    fn is_current(&self) -> bool {
        identity(&self.path).is_some_and(|id| Some(id) == self.identity)
    }
}

fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

enum DirectoryState {
    Same,
    /// Opened again; read on from this step.
    Reopened(Step),
    ReceiverGone,
}

struct Reader {
    journal: Journal,
    input: JournalInput,
    /// Set for `-D`: watched for removal and return.
    directory: Option<Directory>,
    health: health::Health,
    last_scan: Option<Instant>,
    /// Entries sd-journal could not give us.
    skipped: u64,
    /// `--since` with `-n N` and no follow: stop after N entries (see `position`).
    limit: Option<u64>,
    /// Entries read so far (for the mapped-memory check and `limit`).
    read_count: u64,
    mapped: Mapped,
    /// Tests only (`SIGIL_TOP_REOPEN_EVERY=N`): reopen after every N entries, so the
    /// resume path runs on small journals too.
    reopen_every: Option<u64>,
    /// Tests only (`SIGIL_TOP_FAULT=reader-panic`): panic after the first entry, to prove
    /// a reader thread's panic ends the program with the terminal restored.
    inject_panic: bool,
    options: ReadOptions,
    id: InputId,
    tx: Sender<SourceMsg>,
    batch: Vec<RawEntry>,
    batch_started: Option<Instant>,
    /// The cursor of the last entry read, for resuming after `Invalidate` (shared with
    /// that entry: no copy).
    last_cursor: Option<std::sync::Arc<str>>,
    builder: EntryBuilder,
    sent_caught_up: bool,
}

/// Where the read position is relative to entries.
enum Step {
    /// On an entry that has not been read yet (after `previous_skip`).
    OnUnread,
    /// Before the next entry: call `next`.
    Before,
}

impl Reader {
    /// Reads until the end (history mode), `--until`, or the receiver going away.
    /// `Ok(None)`: the receiver is gone.
    fn read(&mut self) -> std::io::Result<Option<SourceMsg>> {
        let mut step = self.position()?;
        loop {
            let has_entry = match step {
                Step::OnUnread => true,
                Step::Before => self.journal.next()? > 0,
            };
            step = Step::Before;
            if !has_entry {
                if self.flush().is_none() {
                    return Ok(None);
                }
                if self.send_caught_up().is_none() {
                    return Ok(None);
                }
                if !self.options.follow {
                    return Ok(Some(SourceMsg::Ended));
                }
                match self.journal.wait(Some(WAIT_SLICE))? {
                    JournalWaitResult::Nop | JournalWaitResult::Append => {}
                    JournalWaitResult::Invalidate => {
                        step = self.resume()?;
                        if self.scan_files(true).is_err() {
                            return Ok(None);
                        }
                    }
                }
                if self.tx.is_closed() {
                    return Ok(None);
                }
                match self.check_directory()? {
                    DirectoryState::Same => {}
                    DirectoryState::Reopened(s) => step = s,
                    DirectoryState::ReceiverGone => return Ok(None),
                }
                if self.scan_files(false).is_err() {
                    return Ok(None);
                }
                continue;
            }
            let realtime_us = match self.journal.timestamp_usec() {
                Ok(t) => t,
                Err(e) => {
                    self.skip(&e)?;
                    continue;
                }
            };
            if let Some(since) = self.options.since {
                if realtime_us < since.as_micros() {
                    continue;
                }
            }
            if let Some(until) = self.options.until {
                if realtime_us > until.as_micros() {
                    if self.flush().is_none() {
                        return Ok(None);
                    }
                    if self.send_caught_up().is_none() {
                        return Ok(None);
                    }
                    return Ok(Some(SourceMsg::Ended));
                }
            }
            match self.read_entry(realtime_us) {
                Ok(entry) => {
                    if self.push(entry).is_none() {
                        return Ok(None);
                    }
                    self.read_count += 1;
                    if self.limit.is_some_and(|n| self.read_count >= n) {
                        if self.flush().is_none() || self.send_caught_up().is_none() {
                            return Ok(None);
                        }
                        return Ok(Some(SourceMsg::Ended));
                    }
                    assert!(
                        !self.inject_panic,
                        "injected fault (SIGIL_TOP_FAULT=reader-panic)"
                    );
                    let is_due = self.reopen_every.is_some_and(|n| self.read_count % n == 0)
                        || (self.read_count % MAPPED_CHECK_EVERY == 0 && self.mapped.is_over());
                    if is_due {
                        step = self.reopen()?;
                    }
                }
                Err(e) => {
                    self.builder.discard();
                    self.skip(&e)?;
                }
            }
        }
    }

    /// The start position: the last N entries (`-n`), `--since`, or the head.
    /// With both `--since` and `-n`, journalctl starts at `--since` and shows at most N
    /// entries (then, when following, everything after them): `since` wins the position,
    /// `-n` becomes a limit ([`Reader::limit`]).
    fn position(&mut self) -> std::io::Result<Step> {
        if let (Some(n), None) = (self.options.backlog_entries, self.options.since) {
            self.journal.seek_tail()?;
            if n == 0 {
                return Ok(Step::Before);
            }
            let moved = self.journal.previous_skip(n)?;
            return Ok(if moved > 0 {
                Step::OnUnread
            } else {
                Step::Before
            });
        }
        if let Some(since) = self.options.since {
            self.journal.seek_realtime_usec(since.as_micros())?;
        } else {
            self.journal.seek_head()?;
        }
        Ok(Step::Before)
    }

    /// After rotation or vacuuming: go back to the last entry read and continue after it.
    fn resume(&mut self) -> std::io::Result<Step> {
        let Some(cursor) = self.last_cursor.clone() else {
            return Ok(Step::Before);
        };
        let cursor: &str = &cursor;
        self.journal.seek_cursor(cursor)?;
        if self.journal.next()? == 0 {
            return Ok(Step::Before);
        }
        // `seek_cursor` + `next` lands on the cursor's entry when it still exists, else on
        // the one after it (which we have not read yet).
        if self.journal.test_cursor(cursor)? {
            Ok(Step::Before)
        } else {
            Ok(Step::OnUnread)
        }
    }

    fn read_entry(&mut self, realtime_us: u64) -> std::io::Result<RawEntry> {
        let cursor: std::sync::Arc<str> = self.journal.cursor()?.into();
        let (monotonic_us, boot_id) = match self.journal.monotonic_timestamp() {
            Ok((m, b)) => (Some(m), Some(b)),
            Err(_) => (None, None),
        };
        // The boot id as text without allocating: 32 hex digits into a stack buffer (the
        // builder shares one copy of it across entries).
        let mut boot_hex = [0u8; 32];
        let boot_id = boot_id.and_then(|b| {
            let mut w: &mut [u8] = &mut boot_hex;
            std::io::Write::write_fmt(&mut w, format_args!("{b}")).ok()?;
            std::str::from_utf8(&boot_hex).ok()
        });
        self.last_cursor = Some(cursor.clone());
        self.builder
            .set_header(realtime_us, monotonic_us, boot_id, Some(cursor));
        self.journal.restart_data();
        while let Some(field) = self.journal.enumerate_data()? {
            let data = field.data();
            if let Some(eq) = memchr(b'=', data) {
                self.builder.add(&data[..eq], &data[eq + 1..]);
            }
        }
        // The sd-journal matches already selected the entry; the filter only finds its
        // unit. `None` happens only if a field we match on is not UTF-8: keep journalctl's
        // answer, the entry is shown.
        let unit = self.builder.unit_of(&self.options.units).flatten();
        let mut entry = self.builder.finish(self.id);
        entry.unit = unit;
        Ok(entry)
    }

    /// Closes and reopens the journal, then goes on after the last entry read: the only
    /// way to make sd-journal let go of the file pages it has mapped (see [`Mapped`]).
    fn reopen(&mut self) -> std::io::Result<Step> {
        self.journal = open(&self.input, &self.options).map_err(std::io::Error::other)?;
        self.mapped = Mapped::start();
        self.resume()
    }

    /// An entry sd-journal could not give us (a damaged object inside a file it reads
    /// around): counted and said, the reading goes on. `Err` only if the receiver is gone.
    fn skip(&mut self, e: &std::io::Error) -> std::io::Result<()> {
        self.skipped += 1;
        // The first one, then every power of ten: a damaged region says so without a
        // flood of warnings.
        if is_power_of_ten(self.skipped) {
            let n = self.skipped;
            let what = if n == 1 { "entry" } else { "entries" };
            let text = format!(
                "skipped {n} unreadable journal {what} in {}: {e}",
                self.input.describe()
            );
            self.warn(text)?;
        }
        Ok(())
    }

    fn warn(&mut self, text: String) -> std::io::Result<()> {
        self.tx
            .blocking_send(SourceMsg::Warning(text))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "receiver gone"))
    }

    /// Looks for journal files sd-journal skips (see `health`): at open, after rotation
    /// (`force`), and every [`SCAN_EVERY`] while following. `Err`: the receiver is gone.
    fn scan_files(&mut self, force: bool) -> std::io::Result<()> {
        if !force && self.last_scan.is_some_and(|t| t.elapsed() < SCAN_EVERY) {
            return Ok(());
        }
        self.last_scan = Some(Instant::now());
        let files = match &self.input {
            JournalInput::Files(files) => files.clone(),
            JournalInput::Directory(dir) => health::journal_files(dir).unwrap_or_default(),
            JournalInput::System => SYSTEM_DIRS
                .iter()
                .flat_map(|d| health::journal_files(Path::new(d)).unwrap_or_default())
                .collect(),
        };
        let now = self.options.follow.then(std::time::SystemTime::now);
        for problem in self.health.scan(&files, now) {
            self.warn(problem)?;
        }
        Ok(())
    }

    /// Follows a `-D` directory that is removed (or unmounted) and comes back: sd-journal
    /// keeps watching the old, gone directory, so the reader says so, waits for it, and
    /// opens it again from the last cursor.
    fn check_directory(&mut self) -> std::io::Result<DirectoryState> {
        let Some(dir) = &self.directory else {
            return Ok(DirectoryState::Same);
        };
        if dir.is_current() {
            return Ok(DirectoryState::Same);
        }
        let path = dir.path.clone();
        if !path.is_dir() {
            self.warn(format!(
                "journal directory {} disappeared (removed or unmounted): waiting for it to come back",
                path.display()
            ))?;
            while !path.is_dir() {
                std::thread::sleep(WAIT_SLICE);
                if self.tx.is_closed() {
                    return Ok(DirectoryState::ReceiverGone);
                }
            }
        }
        // Back (or replaced by another directory of the same name): open it afresh. A
        // directory that is back but not readable yet is tried again next slice.
        let journal = match open(&self.input, &self.options) {
            Ok(j) => j,
            Err(e) => {
                self.warn(format!("reopening {}: {e}", path.display()))?;
                std::thread::sleep(WAIT_SLICE);
                return Ok(DirectoryState::Same);
            }
        };
        self.journal = journal;
        self.directory = Directory::of(&self.input);
        self.health = health::Health::default();
        self.scan_files(true)?;
        self.warn(format!(
            "journal directory {} is back: reading on from the last entry shown",
            path.display()
        ))?;
        let step = if self.last_cursor.is_some() {
            self.resume()?
        } else {
            self.position()?
        };
        Ok(DirectoryState::Reopened(step))
    }

    fn send_caught_up(&mut self) -> Option<()> {
        if !self.sent_caught_up {
            self.sent_caught_up = true;
            self.tx.blocking_send(SourceMsg::CaughtUp).ok()?;
        }
        Some(())
    }

    fn push(&mut self, entry: RawEntry) -> Option<()> {
        if self.batch.is_empty() {
            self.batch_started = Some(Instant::now());
        }
        self.batch.push(entry);
        let is_due = self
            .batch_started
            .is_some_and(|t| t.elapsed() >= self.options.batch_max_wait);
        if self.batch.len() >= self.options.batch_max_entries || is_due {
            self.flush()?;
        }
        Some(())
    }

    fn flush(&mut self) -> Option<()> {
        self.batch_started = None;
        if self.batch.is_empty() {
            return Some(());
        }
        // The next batch starts with room for as many entries as this one had, so it
        // does not grow (and copy) its way up again.
        let room = self.batch.len();
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(room));
        self.tx.blocking_send(SourceMsg::Batch(batch)).ok()
    }
}
