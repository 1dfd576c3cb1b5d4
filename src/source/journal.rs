//! The journal through sd-journal (the `systemd` crate): the local system journal, `-D DIR`,
//! `--file FILE`, with `journalctl -u` matches, `--since`/`--until`, follow and rotation.
//!
//! Owns the sd-journal handle. It is not `Send`, so it is opened, read and closed on one
//! thread of its own ([`spawn`]); only [`SourceMsg`]s leave that thread. Does not own the
//! meaning of fields (`fields::EntryBuilder`, shared with the text decoders).
//!
//! Matches are the ones `journalctl -u UNIT` adds (systemd's `add_matches_for_unit`), one
//! group per unit, OR-ed together, so the entries and their order are exactly what
//! `journalctl -u A -u B` shows; `-b`, `-t` and `-p` add their groups as journalctl does
//! (a `-b` offset is first resolved to a boot ID by journalctl's own walk, `find_boot`).
//! Unit globs and `--grep` are tested per entry (see `add_unit_matches`).
//!
//! Fields are read with one `sd_journal_enumerate_data` pass per entry, not one
//! `sd_journal_get_data` call per wanted field: `get_data` walks the entry's items from
//! the start on every call, so reading the ~30 names we want costs ~30 walks, where
//! enumerating costs one (measured: see docs/bench-results.md, "Code notes"). The data
//! threshold is lifted so long messages come whole.
//!
//! History is read through sd-journal's merged view (exactly `journalctl -u`'s entries
//! and order), by several handles at once when cores are idle (`parallel`: each walks
//! the whole view and reads its own chunks). Following then goes file by file (`tails`): sd-journal's merged view
//! drops entries that a file gets behind the position reached in another file, which a
//! directory with several writers does all the time. Rotation, vacuuming, a directory
//! removed and back, and damaged files (`health`) are handled there; every handle resumes
//! at its own cursor, so nothing is lost or repeated.
//!
//! libsystemd decompresses each compressed field with a zstd context it creates and frees
//! for that one field, and creating one traps to the hypervisor twice on a VM (`cpuid`):
//! a third of a history read's CPU. The binary links `journal/zstd_dctx.c` (build.rs),
//! whose `ZSTD_createDCtx`/`ZSTD_freeDCtx` libsystemd's calls bind to: one context per
//! thread, reset and reused (`SIGIL_TOP_ZSTD_REUSE=0` turns it off). No Rust here calls it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use memchr::memchr;
use systemd::journal::{Journal, OpenDirectoryOptions, OpenFilesOptions, OpenOptions};
use tokio::sync::mpsc::Sender;

mod fault;
mod health;
mod parallel;
mod tails;

use super::batch::{Batcher, Room};
use super::fields::EntryBuilder;
use super::filter::Boot;
use super::{
    InputId, RawEntry, ReadOptions, ReceiverGone, SourceError, SourceMsg, StartAt,
    COREDUMP_MESSAGE_ID,
};

/// Which journal files to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JournalInput {
    System,
    Directory(PathBuf),
    Files(Vec<PathBuf>),
}

impl JournalInput {
    /// The journal files it names now: the given files, or the `*.journal` files of the
    /// directory (or the system journal's directories) and their machine-id subdirectories.
    fn journal_files(&self) -> Vec<PathBuf> {
        match self {
            JournalInput::Files(files) => files.clone(),
            JournalInput::Directory(dir) => health::journal_files(dir).unwrap_or_default(),
            JournalInput::System => SYSTEM_DIRS
                .iter()
                .flat_map(|d| health::journal_files(Path::new(d)).unwrap_or_default())
                .collect(),
        }
    }

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

/// Opens `input` on a new thread and reads it there (see the module doc).
///
/// Returns once the journal is open: opening errors come back here, later ones as
/// messages.
pub(crate) fn spawn(
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
            let mut options = options;
            let opened = resolve_boot(&input, &mut options).and_then(|()| open(&input, &options));
            let journal = match opened {
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
            // With a start (--since, --cursor) -n N is a limit: the first N from there.
            let limit = options
                .backlog_entries
                .filter(|_| options.since.is_some() || options.filter.start.is_some())
                .filter(|_| !options.follow);
            let batch = Batcher::new(
                options.batch_max_entries,
                options.batch_max_wait,
                Room::LastBatch,
            );
            let mut reader = Reader {
                journal,
                input: input.clone(),
                options,
                id,
                tx,
                batch,
                last_cursor: None,
                builder: EntryBuilder::default(),
                sent_caught_up: false,
                health: health::Health::new(!matches!(input, JournalInput::System)),
                last_scan: None,
                skipped: 0,
                limit,
                recent: std::collections::VecDeque::new(),
                recent_newest_us: None,
                overlap: std::collections::HashSet::new(),
                read_count: 0,
                mapped: Mapped::start(),
                faults: fault::Faults::from_env(),
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
                if let Some(kind) = std::fs::metadata(d).ok().map(|m| file_kind(&m)) {
                    return Err(SourceError::Journal(format!(
                        "{} is {kind}, not a journal directory",
                        d.display()
                    )));
                }
                return Err(not_found_or_denied(d));
            }
            vec![d.clone()]
        }
        JournalInput::Files(files) => {
            for f in files {
                // Checked with stat first: opening a FIFO would block until a writer
                // came, and sd-journal maps journal files, which a FIFO or a device is not.
                // See: issue 17.
                if let Ok(meta) = std::fs::metadata(f) {
                    if !meta.is_file() {
                        return Err(SourceError::Journal(format!(
                            "{} is {}, not a journal file (for a stream of `journalctl -o \
                             export` text, give it as `-` or as a positional file)",
                            f.display(),
                            file_kind(&meta)
                        )));
                    }
                }
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

/// What a file that is not a regular file is, for messages.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// A path as libsystemd takes it: its bytes, not a lossy UTF-8 copy, so a file name that
/// is not UTF-8 is found. See: issue 17.
pub(super) fn c_path(path: &Path) -> Result<std::ffi::CString, SourceError> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| SourceError::NotFound {
        path: path.display().to_string(),
    })
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
        // Only regular files: opening a FIFO named `*.journal` would block (the health
        // scan names it as skipped).
        if health::is_journal_name(&name) && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
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
            .open_directory(c_path(dir)?)
            .map_err(|e| io_error(&format!("opening journal directory {}", dir.display()), &e))?,
        JournalInput::Files(files) => {
            let names = files
                .iter()
                .map(|p| c_path(p))
                .collect::<Result<Vec<_>, _>>()?;
            OpenFilesOptions::default()
                .open_files(names.iter())
                .map_err(|e| match health::explain(files) {
                    // What sd-journal only says as "No data available" or "Bad message".
                    Some(why) => SourceError::Journal(why),
                    None => io_error("opening journal files", &e),
                })?
        }
    };
    // 0 = no limit: a 300 KB message must come whole, not cut at the 64 KiB default.
    journal
        .set_data_threshold(0)
        .map_err(|e| io_error("setting the data threshold", &e))?;
    add_unit_matches(&mut journal, options).map_err(|e| io_error("adding unit matches", &e))?;
    Ok(journal)
}

/// The cursor of the last entry of `input` that `options` select, now; `None` when there
/// is none. `watch --cursor-file` saves it before reading anything, so a watch that
/// started at the end and is stopped before its first entry still resumes from there.
pub(crate) fn last_cursor(
    input: &JournalInput,
    options: &ReadOptions,
) -> Result<Option<super::Cursor>, SourceError> {
    check_access(input)?;
    let mut journal = open(input, options)?;
    let failed = |e: std::io::Error| io_error("finding the end of the journal", &e);
    journal.seek_tail().map_err(failed)?;
    if journal.previous().map_err(failed)? == 0 {
        return Ok(None);
    }
    let cursor = journal.cursor().map_err(failed)?;
    Ok(Some(super::Cursor(cursor.into())))
}

/// The matches of `journalctl -u U1 -u U2 … -b ID -t T -p P` (systemd `src/shared/logs-show.c`,
/// `add_matches_for_unit`, and `journalctl.c`'s `add_units`, `add_boot`,
/// `add_syslog_identifier`, `add_priorities`): each group OR-ed within, the groups AND-ed.
///
/// Unit globs are not matches: the names they stand for are not known until read (journalctl
/// asks sd-journal for every unit name the journal holds, which the `systemd` crate cannot
/// do without `unsafe`), so with a glob every entry is read and [`Reader::is_shown`]
/// decides by unit. `--grep` is tested per entry too, as journalctl does.
fn add_unit_matches(journal: &mut Journal, options: &ReadOptions) -> std::io::Result<()> {
    let mut has_group = false;
    if !options.units.has_glob() {
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
            has_group = true;
        }
    }
    let filter = &options.filter;
    let and = |journal: &mut Journal, has_group: &mut bool| -> std::io::Result<()> {
        if *has_group {
            journal.match_and()?;
        }
        *has_group = true;
        Ok(())
    };
    if let Some(id) = filter.boot.as_ref().and_then(Boot::exact_id) {
        and(journal, &mut has_group)?;
        journal.match_add("_BOOT_ID", id)?;
    }
    if !filter.identifiers.is_empty() {
        and(journal, &mut has_group)?;
        for ident in &filter.identifiers {
            journal.match_add("SYSLOG_IDENTIFIER", ident.as_str())?;
        }
    }
    if let Some(mask) = filter.priorities {
        and(journal, &mut has_group)?;
        for p in (0..=7u8).filter(|p| mask & (1 << p) != 0) {
            journal.match_add("PRIORITY", p.to_string())?;
        }
    }
    Ok(())
}

/// The most boots [`find_boot`] steps over (each costs a few seeks).
const BOOTS_MAX: u32 = 100_000;

/// Turns `-b` with an offset (or no ID) into one boot ID, as journalctl's `get_boots`
/// does (systemd 252): on the system journal `-b`/`-b 0` is the running boot; otherwise
/// `0` is the last boot, `-1` the one before (walking back from the tail), `1` the first
/// (walking on from the head), and `ID±N` walks from that boot. An ID that the journal
/// does not hold, or an offset past its ends, is an error, as in journalctl.
fn resolve_boot(input: &JournalInput, options: &mut ReadOptions) -> Result<(), SourceError> {
    let Some(boot) = options.filter.boot.clone() else {
        return Ok(());
    };
    if boot.id.is_none() && boot.offset == 0 && *input == JournalInput::System {
        let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map_err(|e| io_error("reading the current boot ID", &e))?;
        options.filter.boot = Some(Boot {
            id: Some(id.trim().replace('-', "")),
            offset: 0,
        });
        return Ok(());
    }
    let plain = ReadOptions {
        units: super::UnitFilter { units: Vec::new() },
        filter: super::filter::EntryFilter::default(),
        ..options.clone()
    };
    let mut journal = open(input, &plain)?;
    let found = find_boot(&mut journal, boot.id.as_deref(), boot.offset)
        .map_err(|e| io_error("looking for the boot", &e))?;
    let Some(id) = found else {
        let which = match &boot.id {
            Some(id) => format!("{id}{:+}", boot.offset),
            None => format!("{:+}", boot.offset),
        };
        return Err(SourceError::Journal(format!(
            "-b/--boot: data from the specified boot ({which}) is not available in {}: no such \
             boot ID in the journal",
            input.describe()
        )));
    };
    options.filter.boot = Some(Boot {
        id: Some(id),
        offset: 0,
    });
    Ok(())
}

/// The boot ID of the entry `journal` stands on.
fn boot_of_current(journal: &Journal) -> Option<String> {
    journal
        .monotonic_timestamp()
        .ok()
        .map(|(_, id)| id.to_string())
}

/// journalctl's `get_boots` for one boot: from the reference boot's earliest (walking
/// back) or latest (walking on) entry, or from the tail or head, step from boot to boot
/// until the offset is used up. `None`: no such boot.
fn find_boot(
    journal: &mut Journal,
    id: Option<&str>,
    offset: i32,
) -> std::io::Result<Option<String>> {
    let is_older = offset <= 0;
    // Offset 0 is the last boot, 1 the first: walking back, the first boot found only
    // says where the walk starts.
    let mut skip_once = id.is_none() && is_older;
    let mut offset = offset;
    let mut previous: Option<String> = None;
    if let Some(id) = id {
        journal.match_add("_BOOT_ID", id)?;
        let found = if is_older {
            journal.seek_head()?;
            journal.next()?
        } else {
            journal.seek_tail()?;
            journal.previous()?
        };
        journal.match_flush()?;
        if found == 0 {
            return Ok(None);
        }
        if offset == 0 {
            return Ok(Some(id.to_owned()));
        }
        previous = Some(id.to_owned());
    } else if is_older {
        journal.seek_tail()?;
    } else {
        journal.seek_head()?;
    }
    for _ in 0..BOOTS_MAX {
        let Some(current) = next_boot(journal, previous.as_deref(), is_older)? else {
            return Ok(None);
        };
        if !skip_once {
            offset += if is_older { 1 } else { -1 };
        }
        skip_once = false;
        if offset == 0 {
            return Ok(Some(current));
        }
        previous = Some(current);
    }
    Ok(None)
}

/// journalctl's `discover_next_boot`: step (back or on) to the first entry of another
/// boot than `previous`, then to that boot's far end in the walk's direction (its first
/// entry walking back, its last walking on), so the next step leaves it.
fn next_boot(
    journal: &mut Journal,
    previous: Option<&str>,
    is_older: bool,
) -> std::io::Result<Option<String>> {
    journal.match_flush()?;
    let id = loop {
        let moved = if is_older {
            journal.previous()?
        } else {
            journal.next()?
        };
        if moved == 0 {
            return Ok(None);
        }
        match boot_of_current(journal) {
            Some(id) if Some(id.as_str()) != previous => break id,
            _ => {}
        }
    };
    journal.match_add("_BOOT_ID", id.as_str())?;
    if is_older {
        journal.seek_head()?;
        journal.next()?;
    } else {
        journal.seek_tail()?;
        journal.previous()?;
    }
    journal.match_flush()?;
    Ok(Some(id))
}

/// At most this many history cursors are kept for the start of following (~100 bytes
/// each): 5 s of history at 20,000 entries/s.
const RECENT_MAX: usize = 100_000;

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
/// resume as after rotation; cheap and rare: see docs/bench-results.md, "Code notes").
#[derive(Debug, Clone, Copy)]
struct Mapped {
    at_open_kib: Option<u64>,
}

impl Mapped {
    fn start() -> Mapped {
        Mapped {
            at_open_kib: rss_file_kib(),
        }
    }

    /// Whether the process's mapped journal pages grew by more than
    /// [`MAPPED_BUDGET_KIB`] since [`Mapped::start`]. Several handles reading at once
    /// share one start, taken before any of them opened: each one reopens when the
    /// process as a whole is over (a start per handle would be taken while the others
    /// hold pages, and the ceiling would ratchet up with every reopening).
    fn is_over(&self) -> bool {
        match (self.at_open_kib, rss_file_kib()) {
            (Some(start), Some(now)) => now.saturating_sub(start) > MAPPED_BUDGET_KIB,
            _ => false,
        }
    }
}

/// A journal file's identity as the followers know it (see `tails::list`): device,
/// inode and the header's file id; `None` when it cannot be read.
fn file_identity(path: &Path) -> Option<tails::FileId> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.dev(), meta.ino(), health::file_id(path)?))
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

/// systemd's `journal_field_valid` (protected `_` names allowed): 1–64 bytes of `A-Z`,
/// `0-9`, `_`, not starting with a digit. A name that is not is a damaged data object.
fn is_valid_field_name(name: &[u8]) -> bool {
    (1..=64).contains(&name.len())
        && !name[0].is_ascii_digit()
        && name
            .iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

/// Reads the entry `journal` stands on into a [`RawEntry`] (one `enumerate_data` pass;
/// see the module doc).
fn read_entry(
    journal: &mut Journal,
    builder: &mut EntryBuilder,
    options: &ReadOptions,
    id: InputId,
    realtime_us: u64,
    cursor: Option<Arc<str>>,
) -> std::io::Result<RawEntry> {
    // A caller that already has the cursor passes it: formatting one is ~6% of an entry.
    let cursor: Arc<str> = match cursor {
        Some(c) => c,
        None => journal.cursor()?.into(),
    };
    let (monotonic_us, boot_id) = match journal.monotonic_timestamp() {
        Ok((m, b)) => (Some(m), Some(b)),
        Err(_) => (None, None),
    };
    // The boot id as text without allocating: 32 hex digits into a stack buffer (the
    // builder shares one copy of it across entries). By table, not `Display`, which
    // costs more (measured: see docs/bench-results.md, "Code notes").
    let mut boot_hex = [0u8; 32];
    let boot_id = boot_id.and_then(|b| {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (pair, byte) in boot_hex.chunks_exact_mut(2).zip(b.as_bytes()) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0xf)];
        }
        std::str::from_utf8(&boot_hex).ok()
    });
    builder.set_header(
        realtime_us,
        monotonic_us,
        boot_id,
        Some(Arc::clone(&cursor)),
    );
    journal.restart_data();
    while let Some(field) = journal.enumerate_data()? {
        let data = field.data();
        let Some(eq) = memchr(b'=', data).filter(|&eq| is_valid_field_name(&data[..eq])) else {
            // A damaged data object. `journalctl` (short, cat) leaves the entry out and
            // goes on; `-o export`/`-o json` stop there with "Invalid field.". The entry
            // is left out here too, and the caller says so (see docs/robustness.md).
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                DamagedField {
                    cursor: Arc::clone(&cursor),
                },
            ));
        };
        builder.add(&data[..eq], &data[eq + 1..]);
    }
    // The sd-journal matches already selected the entry; the filter only finds its
    // unit. `NotWatched` happens only if a field we match on is not UTF-8: keep
    // journalctl's answer, the entry is shown (attributed to no unit).
    let unit = builder.unit_of(&options.units, &[]).unwrap_or(None);
    let mut entry = builder.finish(id, &[]);
    entry.unit = unit;
    Ok(entry)
}

/// An entry with a field whose name is not valid (a damaged data object): the error
/// [`read_entry`] gives for it, carrying its cursor so the warning can name the file
/// ([`health::file_of_cursor`]).
#[derive(Debug)]
struct DamagedField {
    cursor: Arc<str>,
}

impl std::fmt::Display for DamagedField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a field without a valid name (a damaged data object) in the entry at cursor {}; \
             journalctl leaves it out too, and `journalctl -o export` stops there \
             (\"Invalid field.\")",
            self.cursor
        )
    }
}

impl std::error::Error for DamagedField {}

/// Whether an entry sd-journal's matches gave is shown: its unit when `-u` has a glob
/// (a glob gives the entry the unit it matched), and `--grep`.
fn is_shown(options: &ReadOptions, entry: &RawEntry) -> bool {
    (!options.units.has_glob() || entry.unit.is_some()) && options.filter.is_grep_match(entry)
}

fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

struct Reader {
    /// The merged view the history is read through; while following, a fresh handle on
    /// the same input that never reads and only wakes the follower (see `follow`).
    journal: Journal,
    input: JournalInput,
    health: health::Health,
    last_scan: Option<Instant>,
    /// Entries sd-journal could not give us.
    skipped: u64,
    /// `--since` with `-n N` and no follow: stop after N entries (see `position`).
    limit: Option<u64>,
    /// The history's cursors of its last [`tails::OVERLAP_US`] (following only).
    recent: std::collections::VecDeque<(u64, Arc<str>)>,
    /// The newest realtime among the history's entries (following only): the
    /// followers start [`tails::OVERLAP_US`] before it.
    recent_newest_us: Option<u64>,
    /// The same as a set, while following starts (see `follow`).
    overlap: std::collections::HashSet<Arc<str>>,
    /// Entries read so far (for the mapped-memory check and `limit`).
    read_count: u64,
    mapped: Mapped,
    /// Tests only: faults to inject (none unless built with `fault-injection`).
    faults: fault::Faults,
    options: ReadOptions,
    id: InputId,
    tx: Sender<SourceMsg>,
    batch: Batcher,
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
    /// After the history's last entry (read by the parallel workers): nothing to read.
    AtEnd,
}

impl Reader {
    /// Reads until the end (history mode), `--until`, or the receiver going away.
    /// `Ok(None)`: the receiver is gone.
    fn read(&mut self) -> std::io::Result<Option<SourceMsg>> {
        let parallel = parallel::choose(
            &self.input,
            &self.options,
            self.faults.is_reader_panic,
            self.health.found_damage(),
        );
        let mut step = if let Some(how) = parallel {
            match self.read_in_parallel(how)? {
                Some(step) => step,
                None => return Ok(None),
            }
        } else {
            self.position()?
        };
        loop {
            let has_entry = match step {
                Step::OnUnread => true,
                Step::Before => self.journal.next()? > 0,
                Step::AtEnd => false,
            };
            step = Step::Before;
            if !has_entry {
                if self.flush().is_err() {
                    return Ok(None);
                }
                if self.send_caught_up().is_err() {
                    return Ok(None);
                }
                if !self.options.follow {
                    return Ok(Some(SourceMsg::Ended));
                }
                return self.follow();
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
                    if self.flush().is_err() {
                        return Ok(None);
                    }
                    if self.send_caught_up().is_err() {
                        return Ok(None);
                    }
                    return Ok(Some(SourceMsg::Ended));
                }
            }
            match self.read_entry(realtime_us) {
                Ok(entry) if !self.is_shown(&entry) => {}
                Ok(entry) => {
                    if self.push(entry).is_err() {
                        return Ok(None);
                    }
                    self.read_count += 1;
                    if self.limit.is_some_and(|n| self.read_count >= n) {
                        if self.flush().is_err() || self.send_caught_up().is_err() {
                            return Ok(None);
                        }
                        return Ok(Some(SourceMsg::Ended));
                    }
                    self.faults.panic_if_asked();
                    let is_due = self
                        .faults
                        .reopen_every
                        .is_some_and(|n| self.read_count.is_multiple_of(n))
                        || (self.read_count.is_multiple_of(MAPPED_CHECK_EVERY)
                            && self.mapped.is_over());
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

    /// Reads the history with several handles at once (see `parallel`). When they read
    /// it to the end: [`Step::AtEnd`]. When they disagreed (a journal changing under
    /// them), the one handle goes on after the last entry they sent. `None`: the
    /// receiver is gone.
    ///
    /// Not the one handle resuming after the workers in every case: a cursor seek puts
    /// each file at its own bisection point, and where sd-journal's order is not
    /// transitive (a clock stepped within a boot, several boots and seqnum ids in one
    /// directory) that finds entries the walk from the head skipped. Measured on the
    /// tangled test directory: two entries more than journalctl shows.
    fn read_in_parallel(&mut self, how: (usize, parallel::Plan)) -> std::io::Result<Option<Step>> {
        let started = parallel::Workers::start(
            &self.input,
            &self.options,
            self.id,
            how,
            self.faults.reopen_every,
            Mapped::start(),
        );
        let Ok(mut workers) = started else {
            return self.position().map(Some);
        };
        let diverged = loop {
            let chunk = match workers.next() {
                parallel::Next::Chunk(chunk) => chunk,
                parallel::Next::End => break false,
                parallel::Next::Diverged => break true,
            };
            for e in &chunk.unreadable {
                self.skip(e)?;
            }
            if chunk.last_cursor.is_some() {
                self.last_cursor = chunk.last_cursor;
            }
            if self.options.follow {
                for e in &chunk.entries {
                    if let Some(c) = &e.cursor {
                        self.remember(e.realtime.as_micros(), &c.0);
                    }
                }
            }
            if !chunk.entries.is_empty() {
                self.read_count += chunk.entries.len() as u64;
                if self
                    .tx
                    .blocking_send(SourceMsg::Batch(chunk.entries))
                    .is_err()
                {
                    return Ok(None);
                }
            }
        };
        drop(workers);
        if !diverged {
            return Ok(Some(Step::AtEnd));
        }
        if self.last_cursor.is_some() {
            self.resume().map(Some)
        } else {
            self.position().map(Some)
        }
    }

    /// The start position: the last N entries (`-n`), `--since`, or the head.
    /// With both `--since` and `-n`, journalctl starts at `--since` and shows at most N
    /// entries (then, when following, everything after them): `since` wins the position,
    /// `-n` becomes a limit ([`Reader::limit`]).
    fn position(&mut self) -> std::io::Result<Step> {
        if let Some(start) = self.options.filter.start.clone() {
            // journalctl: `--cursor` lands on the cursor's entry (or where it would be),
            // `--after-cursor` on the one after it.
            self.journal.seek_cursor(start.cursor.as_str())?;
            if self.journal.next()? == 0 {
                return Ok(Step::Before);
            }
            if start.is_after && self.journal.test_cursor(start.cursor.as_str())? {
                return Ok(Step::Before);
            }
            return Ok(Step::OnUnread);
        }
        match self.options.start.clone() {
            StartAt::AfterCursor(cursor) => match self.position_after(&cursor.0) {
                Ok(step) => return Ok(step),
                Err(e) => {
                    self.warn(format!(
                        "cannot start after the saved cursor {:?} in {}: {e}; starting at the end instead",
                        cursor.0.chars().take(120).collect::<String>(),
                        self.input.describe()
                    ))?;
                    return self.position_at_end();
                }
            },
            StartAt::End => return self.position_at_end(),
            StartAt::Head => {}
        }
        if let (Some(n), None) = (self.options.backlog_entries, self.options.since) {
            self.journal.seek_tail()?;
            if n == 0 {
                return Ok(Step::Before);
            }
            if self.needs_entry_test() {
                return self.back_over_shown(n);
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

    /// [`StartAt::End`]: after the journal's last entry now (from its head when it is
    /// empty: everything it will get is new).
    fn position_at_end(&mut self) -> std::io::Result<Step> {
        self.journal.seek_tail()?;
        if self.journal.previous()? == 0 {
            self.journal.seek_head()?;
            return Ok(Step::Before);
        }
        let cursor = self.journal.cursor()?;
        self.position_after(&cursor)
    }

    /// Stands after the entry `cursor` names (or, when it is gone, before the first entry
    /// after where it was). When following, the entries of the [`tails::OVERLAP_US`]
    /// before it count as read (`recent`), so the per-file handles that take over at the
    /// end of the history do not send them again.
    fn position_after(&mut self, cursor: &str) -> std::io::Result<Step> {
        self.journal.seek_cursor(cursor)?;
        if self.options.follow {
            let mut before: Vec<(u64, Arc<str>)> = Vec::new();
            let mut moved = self.journal.next()?;
            if moved > 0 && !self.journal.test_cursor(cursor)? {
                // Gone: we stand on the first entry after it, which is not read yet.
                moved = self.journal.previous()?;
            }
            let mut newest = None;
            while moved > 0 && before.len() < RECENT_MAX {
                let realtime_us = self.journal.timestamp_usec()?;
                let newest_us = *newest.get_or_insert(realtime_us);
                if realtime_us + tails::OVERLAP_US < newest_us {
                    break;
                }
                before.push((realtime_us, self.journal.cursor()?.into()));
                moved = self.journal.previous()?;
            }
            for (realtime_us, c) in before.into_iter().rev() {
                self.remember(realtime_us, &c);
            }
            self.journal.seek_cursor(cursor)?;
        }
        if self.journal.next()? == 0 {
            return Ok(Step::Before);
        }
        // On the cursor's entry when it still exists (read: go on after it), else on the
        // one after it (not read yet).
        if self.journal.test_cursor(cursor)? {
            self.last_cursor = Some(cursor.into());
            Ok(Step::Before)
        } else {
            Ok(Step::OnUnread)
        }
    }

    /// Whether entries are tested one by one after sd-journal's matches (a unit glob,
    /// `--grep`; see [`add_unit_matches`]).
    fn needs_entry_test(&self) -> bool {
        self.options.units.has_glob() || self.options.filter.grep.is_some()
    }

    /// Whether an entry sd-journal's matches gave is shown: its unit when `-u` has a glob
    /// (a glob gives the entry the unit it matched), and `--grep`.
    fn is_shown(&self, entry: &RawEntry) -> bool {
        is_shown(&self.options, entry)
    }

    /// `-n N` when entries are tested one by one: back from the tail until N shown
    /// entries are behind the position (so `-n` counts what is shown, not what is read).
    fn back_over_shown(&mut self, n: u64) -> std::io::Result<Step> {
        let mut shown = 0;
        let mut moved = false;
        while shown < n && self.journal.previous()? > 0 {
            moved = true;
            let Ok(realtime_us) = self.journal.timestamp_usec() else {
                continue;
            };
            let entry = read_entry(
                &mut self.journal,
                &mut self.builder,
                &self.options,
                self.id,
                realtime_us,
                None,
            );
            match entry {
                Ok(e) if self.is_shown(&e) => shown += 1,
                Ok(_) => {}
                Err(_) => self.builder.discard(),
            }
        }
        Ok(if moved { Step::OnUnread } else { Step::Before })
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
        let entry = read_entry(
            &mut self.journal,
            &mut self.builder,
            &self.options,
            self.id,
            realtime_us,
            None,
        )?;
        self.last_cursor = entry.cursor.as_ref().map(|c| c.0.clone());
        if self.options.follow {
            if let Some(c) = self.last_cursor.clone() {
                self.remember(realtime_us, &c);
            }
        }
        Ok(entry)
    }

    /// Keeps the cursors of the history's last [`tails::OVERLAP_US`] (at most
    /// [`RECENT_MAX`]), so following can look back that far without sending twice.
    ///
    /// "Last" is by time, from the newest entry read, not from the last one read:
    /// sd-journal's order is by monotonic time within a boot, so the history can end
    /// with older entries (files sharing a boot id whose clocks differ). Measured from
    /// the last entry read, the followers started seconds or hours before the newest
    /// entry and sent again what the history had sent (issue 22).
    fn remember(&mut self, realtime_us: u64, cursor: &Arc<str>) {
        let newest = self
            .recent_newest_us
            .map_or(realtime_us, |n| n.max(realtime_us));
        self.recent_newest_us = Some(newest);
        if realtime_us + tails::OVERLAP_US < newest {
            return; // before where the followers start: never read again
        }
        self.recent.push_back((realtime_us, Arc::clone(cursor)));
        while self.recent.len() > RECENT_MAX
            || self
                .recent
                .front()
                .is_some_and(|(t, _)| *t + tails::OVERLAP_US < newest)
        {
            self.recent.pop_front();
        }
    }

    /// Follows the journal after the history (see `tails`): one handle per file, merged
    /// by time. Returns like [`Reader::read`].
    fn follow(&mut self) -> std::io::Result<Option<SourceMsg>> {
        // The merged handle is done reading. A fresh one takes its place (letting go of
        // the history's mapped pages) only to wake the reader: its `wait` returns as soon
        // as inotify sees a file change, the handles then read.
        if let Ok(waker) = open(&self.input, &self.options) {
            self.journal = waker;
        }
        let mut tails = tails::Tails::default();
        // The history's last seconds, by cursor: entries the overlap finds again. Kept
        // until every file has certainly read past them.
        self.overlap = self.recent.iter().map(|(_, c)| Arc::clone(c)).collect();
        let overlap_until = Instant::now() + Duration::from_secs(30);
        let mut first = true;
        let mut dir_gone = false;
        let mut last_rescan: Option<Instant> = None;
        loop {
            if last_rescan.is_none_or(|t| t.elapsed() >= tails::RESCAN_EVERY) {
                last_rescan = Some(Instant::now());
                let start = match (first, self.options.backlog_entries) {
                    (true, Some(0)) => tails::Start::AtTail,
                    (true, _) => tails::Start::AfterHistory,
                    (false, _) => tails::Start::Head,
                };
                first = false;
                dir_gone = self.check_directory(dir_gone)?;
                let added = self.rescan(&mut tails, start)?;
                if self.scan_files(added).is_err() {
                    return Ok(None);
                }
            }
            // Send entries while any handle has one, oldest first; a bounded number per
            // round so rescans and the receiver check still happen in a flood.
            let mut sent = 0usize;
            while sent < 4096 {
                for tail in &mut tails.open {
                    if tail.pending.is_none() && !tail.is_at_end {
                        self.fill(tail)?;
                    }
                }
                let Some(oldest) = tails
                    .open
                    .iter_mut()
                    .filter(|t| t.pending.is_some())
                    .min_by_key(|t| t.pending.as_ref().map(|e| e.realtime))
                else {
                    break;
                };
                let Some(entry) = oldest.pending.take() else {
                    break;
                };
                if self
                    .options
                    .until
                    .is_some_and(|u| entry.realtime.as_micros() > u.as_micros())
                {
                    if self.flush().is_err() {
                        return Ok(None);
                    }
                    return Ok(Some(SourceMsg::Ended));
                }
                self.last_cursor = entry.cursor.as_ref().map(|c| c.0.clone());
                if self.push(entry).is_err() {
                    return Ok(None);
                }
                sent += 1;
                self.read_count += 1;
                let is_due = self
                    .faults
                    .reopen_every
                    .is_some_and(|n| self.read_count.is_multiple_of(n))
                    || (self.read_count.is_multiple_of(MAPPED_CHECK_EVERY)
                        && self.mapped.is_over());
                if is_due {
                    self.reopen_tails(&mut tails);
                }
            }
            if self.tx.is_closed() {
                return Ok(None);
            }
            if !self.overlap.is_empty() && Instant::now() > overlap_until {
                self.overlap = std::collections::HashSet::new();
                self.recent = std::collections::VecDeque::new();
            }
            if sent == 0 {
                if self.flush().is_err() {
                    return Ok(None);
                }
                if self.journal.wait(Some(tails::POLL)).is_err() {
                    std::thread::sleep(tails::POLL);
                }
            }
            for tail in &mut tails.open {
                tail.is_at_end = false;
            }
        }
    }

    /// Says when a `-D` directory disappears (`was_gone` false, now gone) or comes back;
    /// returns whether it is gone now. `Err`: the receiver is gone.
    fn check_directory(&mut self, was_gone: bool) -> std::io::Result<bool> {
        let JournalInput::Directory(dir) = &self.input else {
            return Ok(was_gone);
        };
        let is_there = dir.is_dir();
        if was_gone != is_there {
            return Ok(was_gone);
        }
        let is_gone = !is_there;
        let text = if is_gone {
            "disappeared (removed or unmounted): waiting for it to come back"
        } else {
            "is back: reading its new files"
        };
        self.warn(format!("journal directory {} {text}", dir.display()))?;
        if !is_gone {
            // The old waker watches the directory that is gone.
            if let Ok(waker) = open(&self.input, &self.options) {
                self.journal = waker;
            }
        }
        Ok(is_gone)
    }

    /// Reads a handle's next entry (past `--since`) into its `pending`, or marks it at end.
    fn fill(&mut self, tail: &mut tails::Tail) -> std::io::Result<()> {
        loop {
            if tail.journal.next()? == 0 {
                tail.is_at_end = true;
                return Ok(());
            }
            if self.take_current(tail)? {
                return Ok(());
            }
        }
    }

    /// Reads the entry a handle stands on into its `pending`; `false` when it is skipped
    /// (before `--since`, or unreadable).
    fn take_current(&mut self, tail: &mut tails::Tail) -> std::io::Result<bool> {
        let realtime_us = match tail.journal.timestamp_usec() {
            Ok(t) => t,
            Err(e) => {
                self.skip(&e)?;
                return Ok(false);
            }
        };
        if self
            .options
            .since
            .is_some_and(|s| realtime_us < s.as_micros())
        {
            return Ok(false);
        }
        match read_entry(
            &mut tail.journal,
            &mut self.builder,
            &self.options,
            self.id,
            realtime_us,
            None,
        ) {
            Ok(entry) => {
                tail.last_cursor = entry.cursor.as_ref().map(|c| c.0.clone());
                if tail
                    .last_cursor
                    .as_ref()
                    .is_some_and(|c| self.overlap.contains(c))
                {
                    return Ok(false); // sent with the history
                }
                if !self.is_shown(&entry) {
                    return Ok(false);
                }
                tail.pending = Some(entry);
                Ok(true)
            }
            Err(e) => {
                self.builder.discard();
                self.skip(&e)?;
                Ok(false)
            }
        }
    }

    /// Opens handles for new files, follows renames, closes handles of files that are
    /// finished and read to the end. Returns whether a file was added.
    fn rescan(&mut self, all: &mut tails::Tails, start: tails::Start) -> std::io::Result<bool> {
        let listed = tails::list(&self.input);
        // Files read to the end and closed stay closed while they exist; once gone, their
        // inode may come back as a new file.
        all.done.retain(|id| listed.iter().any(|(_, l)| l == id));
        let tails = &mut all.open;
        for tail in tails.iter_mut() {
            match listed.iter().find(|(_, id)| *id == tail.id) {
                Some((path, _)) => {
                    tail.path.clone_from(path);
                    tail.is_finished = tails::is_archived_name(path);
                }
                None => tail.is_finished = true,
            }
        }
        // A finished file read to its end has nothing more to give: its handle closes.
        let mut i = 0;
        while i < tails.len() {
            if tails[i].is_finished && tails[i].pending.is_none() {
                self.fill(&mut tails[i])?;
                if tails[i].pending.is_none() {
                    all.done.push(tails.remove(i).id);
                    continue;
                }
            }
            i += 1;
        }
        let mut added = false;
        for (path, id) in listed {
            if tails.iter().any(|t| t.id == id) || all.done.contains(&id) {
                continue;
            }
            // Damaged files are named by the health scan; unreadable ones by the access
            // check at start.
            if let Ok(tail) = self.open_tail(&path, id, start, None) {
                tails.push(tail);
                added = true;
            }
        }
        Ok(added)
    }

    fn open_tail(
        &mut self,
        path: &Path,
        id: tails::FileId,
        start: tails::Start,
        own_cursor: Option<&Arc<str>>,
    ) -> std::io::Result<tails::Tail> {
        let mut journal = tails::open_file(path, &self.options).map_err(std::io::Error::other)?;
        let since = self.options.since.map(super::Timestamp::as_micros);
        let history_end = self.recent_newest_us;
        let (landed, last_cursor) = tails::position(
            &mut journal,
            start,
            own_cursor.map(|c| &**c),
            history_end,
            since,
        )?;
        let mut tail = tails::Tail {
            path: path.to_owned(),
            id,
            journal,
            last_cursor,
            pending: None,
            is_at_end: false,
            is_finished: tails::is_archived_name(path),
        };
        if let tails::Landed::OnUnread = landed {
            if !self.take_current(&mut tail)? {
                self.fill(&mut tail)?;
            }
        }
        Ok(tail)
    }

    /// Reopens every handle at its own last cursor (mapped memory, see [`Mapped`]).
    ///
    /// Only a file still at its path: a file rotated since the last listing has another
    /// file at that path (the new active one), and reopening that one at this file's
    /// cursor lost the rest of this file and sent the other's head twice. Such a handle
    /// is reopened at a later turn, once the listing has followed the rename.
    fn reopen_tails(&mut self, tails: &mut tails::Tails) {
        for tail in &mut tails.open {
            if file_identity(&tail.path) != Some(tail.id) {
                continue;
            }
            let start = tails::Start::Head;
            let fresh = self.open_tail(&tail.path, tail.id, start, tail.last_cursor.as_ref());
            let Ok(mut fresh) = fresh else { continue };
            if file_identity(&tail.path) != Some(tail.id) {
                continue; // renamed while it was being opened: which file is open is unknown
            }
            // An entry already read stays pending: the fresh handle stands on it (its
            // cursor is the tail's last), so `next` gives the one after. (Should the
            // fresh handle have read one too, the cursor was not found: keep the old
            // handle rather than drop either entry.)
            if tail.pending.is_some() {
                if fresh.pending.is_some() {
                    continue;
                }
                fresh.pending = tail.pending.take();
            }
            *tail = fresh;
        }
        self.mapped = Mapped::start();
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
            // Name the file when the entry says which one it is in (a damaged field
            // does, by its cursor): `-D` and the system journal are many files.
            let files = self.input.journal_files();
            let file = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<DamagedField>())
                .and_then(|d| health::file_of_cursor(&files, &d.cursor))
                .map(|p| format!(" (file {})", crate::text::display(&p.to_string_lossy())));
            let text = format!(
                "skipped {n} unreadable journal {what} in {}{}: {e}",
                self.input.describe(),
                file.unwrap_or_default()
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
        let files = self.input.journal_files();
        let now = self.options.follow.then(std::time::SystemTime::now);
        for problem in self.health.scan(&files, now) {
            self.warn(problem)?;
        }
        Ok(())
    }

    fn send_caught_up(&mut self) -> Result<(), ReceiverGone> {
        if !self.sent_caught_up {
            self.sent_caught_up = true;
            self.tx
                .blocking_send(SourceMsg::CaughtUp)
                .map_err(|_| ReceiverGone)?;
        }
        Ok(())
    }

    /// Adds an entry to the open batch; sends it when full or due (a live entry waits at
    /// most `batch_max_wait`, checked after every entry).
    fn push(&mut self, entry: RawEntry) -> Result<(), ReceiverGone> {
        let is_full = self.batch.push(entry);
        if is_full || self.batch.is_due() {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends the open batch, if any.
    fn flush(&mut self) -> Result<(), ReceiverGone> {
        match self.batch.take() {
            Some(batch) => self
                .tx
                .blocking_send(SourceMsg::Batch(batch))
                .map_err(|_| ReceiverGone),
            None => Ok(()),
        }
    }
}
