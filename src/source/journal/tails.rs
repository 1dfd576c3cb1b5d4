//! Following: one sd-journal handle per journal file, merged here, so an entry that a
//! file gets late is still read.
//!
//! sd-journal's merged view reads files in time order from one position. When several
//! files are written at once (a `systemd-journal-remote` directory with several hosts,
//! `--file` on two live files), a file can get an entry whose time is before the position
//! already reached in another file; `sd_journal_next` never goes back for it, so it is
//! lost (`journalctl -f` loses it too: in a trial with two writers at 1,000 entries/s
//! each, about 10% of the entries). History is read through the merged view (its order
//! is `journalctl`'s); from the moment it is caught up, the reader follows each file on
//! its own handle, opened with the same `-u` matches, and merges their next entries by
//! time: what arrives late is sent late, never dropped.
//!
//! Files are known by device and inode, so a rotated file (renamed to an archived name)
//! keeps its handle and is read to its end, and a new active file is read from its head.
//! A handle is closed once its file is archived, vacuumed or gone and read to the end.
//! The handles never use inotify (`sd_journal_get_fd` is not called): sd-journal then
//! never drops a renamed or deleted file on its own, and each `next` re-reads the file's
//! size when it needs to. A separate directory handle that never reads serves only to
//! wake the reader when a file changes. The directory is listed again every [`RESCAN_EVERY`]; when it
//! disappears the reader says so and, when it is back, reads its new files.
//!
//! Owns: the handles, each one's last cursor (for reopening, see `super::Mapped`) and the
//! entry it read but has not sent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use systemd::journal::{Journal, OpenFilesOptions};

use super::{add_unit_matches, health, io_error, JournalInput};
use crate::source::{RawEntry, ReadOptions, SourceError};

/// How often the directory is listed again for new, renamed and removed files.
pub(super) const RESCAN_EVERY: Duration = Duration::from_millis(250);

/// How long the reader waits when no file has anything new (a change in the directory
/// wakes it sooner: see `Reader::follow`).
pub(super) const POLL: Duration = Duration::from_millis(50);

/// One file's handle.
pub(super) struct Tail {
    pub path: PathBuf,
    pub id: FileId,
    pub journal: Journal,
    /// The cursor of the last entry taken from this handle (sent or pending).
    pub last_cursor: Option<Arc<str>>,
    /// Read from the handle, not sent yet: the merge sends the oldest pending first.
    pub pending: Option<RawEntry>,
    /// `next` found nothing the last time: not asked again until the next poll.
    pub is_at_end: bool,
    /// Renamed to an archived name, removed, or vacuumed: nothing more will be written.
    pub is_finished: bool,
}

/// The handles, and the files already read to their end.
#[derive(Default)]
pub(super) struct Tails {
    pub open: Vec<Tail>,
    /// Finished files read to the end, not to be opened again.
    pub done: Vec<FileId>,
}

/// Where a new handle starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// A file that was there when the history was read: [`OVERLAP_US`] before the last
    /// entry sent, or from its head when nothing was sent.
    AfterHistory,
    /// A file that appeared later: every entry in it is new.
    Head,
    /// `-n 0`: nothing old at all, only what is appended from now on.
    AtTail,
}

/// Opens one file with the unit matches.
pub(super) fn open_file(path: &Path, options: &ReadOptions) -> Result<Journal, SourceError> {
    let name = super::c_path(path)?;
    let mut journal = OpenFilesOptions::default()
        .open_files([&name])
        .map_err(|e| io_error(&format!("opening journal file {}", path.display()), &e))?;
    journal
        .set_data_threshold(0)
        .map_err(|e| io_error("setting the data threshold", &e))?;
    add_unit_matches(&mut journal, options).map_err(|e| io_error("adding unit matches", &e))?;
    Ok(journal)
}

/// Whether a handle is on an entry not read yet after positioning.
pub(super) enum Landed {
    OnUnread,
    Before,
}

/// How far before the history's last entry a file that was there during the history
/// starts again: entries a file got late, up to this much behind the position the merged
/// view had reached, are still found (the ones the history sent are recognised by their
/// cursors and not sent twice).
pub(super) const OVERLAP_US: u64 = 5_000_000;

/// Positions a fresh handle. `own_cursor`: reopening a handle, resume after its last
/// entry. `history_end_us`: the time of the history's last entry sent, if any.
pub(super) fn position(
    journal: &mut Journal,
    start: Start,
    own_cursor: Option<&str>,
    history_end_us: Option<u64>,
    since_us: Option<u64>,
) -> std::io::Result<(Landed, Option<Arc<str>>)> {
    if let Some(c) = own_cursor {
        journal.seek_cursor(c)?;
        if journal.next()? == 0 {
            // Nothing after it: stand on the last entry (old), so `next` gives what is
            // appended; its cursor is where a later reopen resumes.
            return Ok((Landed::Before, last_cursor(journal)?));
        }
        return Ok(if journal.test_cursor(c)? {
            (Landed::Before, Some(c.into()))
        } else {
            (Landed::OnUnread, None)
        });
    }
    let from_us = match (start, history_end_us) {
        (Start::AtTail, _) => return Ok((Landed::Before, last_cursor(journal)?)),
        (Start::AfterHistory, Some(end)) => Some(end.saturating_sub(OVERLAP_US)),
        // Nothing was sent from the history, or the file is new: all it holds is new.
        (Start::AfterHistory | Start::Head, _) => None,
    };
    match from_us.max(since_us) {
        Some(us) => journal.seek_realtime_usec(us)?,
        None => journal.seek_head()?,
    }
    Ok((Landed::Before, None))
}

/// Stands on the file's last entry (treated as read) and returns its cursor.
fn last_cursor(journal: &mut Journal) -> std::io::Result<Option<Arc<str>>> {
    journal.seek_tail()?;
    if journal.previous()? == 0 {
        return Ok(None);
    }
    Ok(Some(journal.cursor()?.into()))
}

/// A journal file's identity: device, inode and the header's `file_id` (an inode is
/// reused once a vacuumed file is closed; the id never is).
pub(super) type FileId = (u64, u64, [u8; 16]);

/// The journal files of `input` now, with their identity; files whose header is not
/// written yet wait for the next listing. The system journal's per-user files are left
/// out, as `SD_JOURNAL_SYSTEM` does.
pub(super) fn list(input: &JournalInput) -> Vec<(PathBuf, FileId)> {
    let mut paths = input.journal_files();
    if *input == JournalInput::System {
        paths.retain(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("user-"))
        });
    }
    paths
        .into_iter()
        .filter_map(|p| {
            let (dev, ino) = identity(&p)?;
            let id = health::file_id(&p)?;
            Some((p, (dev, ino, id)))
        })
        .collect()
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Whether a file name is an archived journal file's (journald and journal-remote never
/// write to those again): `NAME@….journal` or `NAME@….journal~`.
pub(super) fn is_archived_name(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        n.contains('@') || n.ends_with(".journal~")
    })
}
