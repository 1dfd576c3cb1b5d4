//! Journal files that sd-journal skips without a word: truncated, with a damaged header,
//! or written by a newer systemd with features this libsystemd does not know.
//!
//! sd-journal opens a directory's files one by one and quietly leaves out any it cannot
//! open (`journalctl` prints "Journal file X is truncated, ignoring file." from an
//! internal list the library does not export). For sigil-top that would look like a quiet
//! hour. So the reader also looks at each file's header itself, with the checks
//! systemd's `journal_file_verify_header` makes first, and says which files are skipped
//! and why. sigil-top always shows the entries sd-journal gives, the same as `journalctl -u`;
//! these checks only add the sentence that says some are missing.
//!
//! Damage inside a file that sd-journal opens is looked for too, in `--file` and `-D`
//! files that are not being written (state offline or archived; see [`Health::new`]): the
//! file's main entry array is walked with
//! the checks sd-journal makes on each entry object (type, size, seqnum, timestamps). The
//! first bad entry is where sd-journal, and `journalctl`, stop reading the file, so the
//! warning says so; the entries themselves stay exactly sd-journal's. A file that is not a
//! regular file but is named `*.journal` (a FIFO, a socket, a device) is never opened here
//! (opening a FIFO would block) and is named as skipped.
//!
//! Owns: the list of files already judged (path → size and modification time), so a
//! rescan (after rotation, or every few seconds while following) re-reads only files
//! that changed and says each problem once.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `struct Header` of systemd's `journal-def.h`, the parts we check.
const SIGNATURE: &[u8; 8] = b"LPKSHHRH";
const OFFSET_INCOMPATIBLE_FLAGS: usize = 12;
const OFFSET_STATE: usize = 16;
const OFFSET_HEADER_SIZE: usize = 88;
const OFFSET_ARENA_SIZE: usize = 96;
const OFFSET_TAIL_OBJECT: usize = 136;
const OFFSET_SEQNUM_ID: usize = 72;
const OFFSET_N_ENTRIES: usize = 152;
const OFFSET_TAIL_ENTRY_SEQNUM: usize = 160;
const OFFSET_HEAD_ENTRY_SEQNUM: usize = 168;
const OFFSET_ENTRY_ARRAY: usize = 176;
/// `HEADER_INCOMPATIBLE_COMPACT`: entry and entry-array items are 32-bit.
const FLAG_COMPACT: u32 = 0x10;
/// `STATE_ONLINE`: a writer has the file open; its tail may be half-written.
const STATE_ONLINE: u8 = 1;
/// `OBJECT_ENTRY`, `OBJECT_ENTRY_ARRAY`.
const OBJECT_ENTRY: u8 = 3;
const OBJECT_ENTRY_ARRAY: u8 = 6;
/// systemd's `VALID_REALTIME`/`VALID_MONOTONIC` bound.
const TIME_BOUND: u64 = 1 << 55;
/// The smallest header any systemd writes (`HEADER_SIZE_MIN`, up to `tail_entry_monotonic`).
const HEADER_SIZE_MIN: usize = 208;
const HEADER_SIZE_MIN_U64: u64 = 208;
/// XZ, LZ4, keyed hash, ZSTD, compact: every incompatible flag systemd 252–256 knows.
const KNOWN_INCOMPATIBLE: u32 = 0x1f;
/// offline, online, archived.
const MAX_STATE: u8 = 2;

/// Why sd-journal will not read a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Shorter than its header says: a copy or a disk that ran out mid-write.
    Truncated { have: u64, need: u64 },
    /// Not a journal file, or one whose header is damaged.
    Corrupted(&'static str),
    /// Written with features this libsystemd does not know.
    Unsupported { flags: u32 },
    /// Named like a journal file but a FIFO, a socket, a device or a directory.
    NotAFile(&'static str),
    /// Opened, but an entry object is damaged: sd-journal reads the file up to it.
    DamagedEntry {
        index: u64,
        of: u64,
        what: &'static str,
    },
}

impl Problem {
    /// The sentence the status bar and stderr show.
    pub(crate) fn describe(&self, path: &Path) -> String {
        let shown = path.display().to_string();
        let path = crate::text::display(&shown);
        match self {
            Problem::Truncated { have, need } => format!(
                "journal file {path} is truncated ({have} of the {need} bytes its header \
                 promises): sd-journal skips it, so its entries are missing"
            ),
            Problem::Corrupted(what) => format!(
                "journal file {path} is corrupted ({what}): sd-journal skips it, so its \
                 entries are missing (check it with `journalctl --verify --file {path}`)"
            ),
            Problem::Unsupported { flags } => format!(
                "journal file {path} uses features this libsystemd does not know \
                 (incompatible flags {flags:#x}): sd-journal skips it; read it with the \
                 newer systemd that wrote it (`journalctl --file {path} -o export | sigil-top -`)"
            ),
            Problem::NotAFile(kind) => format!(
                "{path} is {kind}, not a journal file: sd-journal skips it, as journalctl does"
            ),
            Problem::DamagedEntry { index, of, what } => format!(
                "journal file {path} is damaged at entry {index} of the {of} its header counts \
                 ({what}): sd-journal, like journalctl, reads it only up to there, so later \
                 entries of this file may be missing (check it with `journalctl --verify \
                 --file {path}`)"
            ),
        }
    }
}

/// Checks one file's header, and with `walk` its entries ([`walk_entries`]). `Ok(None)`:
/// sd-journal will open it and read it whole.
pub(crate) fn check(path: &Path, walk: bool) -> std::io::Result<Option<Problem>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Ok(Some(Problem::NotAFile(super::file_kind(&meta))));
    }
    let mut file = open_regular(path)?;
    let mut header = [0u8; HEADER_SIZE_MIN];
    // Header first, size second: a writer grows the file before it grows the arena, so
    // this order never mistakes a file being appended to for a truncated one.
    let got = read_up_to(&mut file, &mut header)?;
    let size = file.metadata()?.len();
    if got < SIGNATURE.len() || &header[..SIGNATURE.len()] != SIGNATURE {
        return Ok(Some(if got == 0 {
            Problem::Truncated {
                have: 0,
                need: HEADER_SIZE_MIN_U64,
            }
        } else {
            Problem::Corrupted("no journal signature at the start")
        }));
    }
    if got < header.len() {
        return Ok(Some(Problem::Truncated {
            have: size,
            need: HEADER_SIZE_MIN_U64,
        }));
    }
    let flags = u32_at(&header, OFFSET_INCOMPATIBLE_FLAGS);
    if flags & !KNOWN_INCOMPATIBLE != 0 {
        return Ok(Some(Problem::Unsupported { flags }));
    }
    if header[OFFSET_STATE] > MAX_STATE {
        return Ok(Some(Problem::Corrupted("unknown file state")));
    }
    let header_size = u64_at(&header, OFFSET_HEADER_SIZE);
    let arena_size = u64_at(&header, OFFSET_ARENA_SIZE);
    if header_size < HEADER_SIZE_MIN_U64 {
        return Ok(Some(Problem::Corrupted("header size too small")));
    }
    let Some(need) = header_size.checked_add(arena_size) else {
        return Ok(Some(Problem::Corrupted("arena size out of range")));
    };
    if need > size {
        return Ok(Some(Problem::Truncated { have: size, need }));
    }
    if u64_at(&header, OFFSET_TAIL_OBJECT) > need {
        return Ok(Some(Problem::Corrupted(
            "last object past the end of the arena",
        )));
    }
    let entry_array = u64_at(&header, OFFSET_ENTRY_ARRAY);
    if entry_array != 0 && (entry_array < header_size || entry_array >= need) {
        return Ok(Some(Problem::Corrupted(
            "first entry array outside the arena",
        )));
    }
    if walk && header[OFFSET_STATE] != STATE_ONLINE {
        return walk_entries(&mut file, &header, need);
    }
    Ok(None)
}

/// Walks the main entry array chain of a file whose header passed [`check`], with the
/// checks sd-journal's `journal_file_move_to_object` makes on each entry, and returns the
/// first damaged entry. Reads go through two small windows ([`Window`]), one on the
/// arrays, one on the entries: both lie in file order, so a walk is sequential reads, and
/// memory stays two windows. A small fraction of what reading the entries costs
/// (measured: see docs/bench-results.md, "Code notes"); files being written are not
/// walked.
fn walk_entries(
    file: &mut std::fs::File,
    header: &[u8],
    end: u64,
) -> std::io::Result<Option<Problem>> {
    let compact = u32_at(header, OFFSET_INCOMPATIBLE_FLAGS) & FLAG_COMPACT != 0;
    let item = if compact { 4 } else { 8 };
    let of = u64_at(header, OFFSET_N_ENTRIES);
    // Two windows: the arrays and the entries they point to lie apart in the file.
    let mut window = Window::new(file, end);
    let mut entries = Window::new(file, end);
    let mut array = u64_at(header, OFFSET_ENTRY_ARRAY);
    let mut index = 0u64;
    let mut last_seqnum = 0u64;
    let mut arrays = 0u64;
    let damaged = |index, what| Ok(Some(Problem::DamagedEntry { index, of, what }));
    while array != 0 {
        arrays += 1;
        // A loop in the chain: each array takes at least one entry, so there cannot be
        // more arrays than bytes.
        if arrays > end {
            return damaged(index, "the entry arrays loop");
        }
        let Some(head) = window.read(array, 24)? else {
            return damaged(index, "an entry array outside the file");
        };
        let (kind, size, next) = (head[0], u64_at(&head, 8), u64_at(&head, 16));
        if kind != OBJECT_ENTRY_ARRAY || size < 24 || !array.is_multiple_of(8) {
            return damaged(index, "a damaged entry array");
        }
        let n_items = (size - 24) / item;
        for i in 0..n_items {
            let Some(bytes) = window.read(array + 24 + i * item, item)? else {
                return damaged(index, "an entry array outside the file");
            };
            let offset = if compact {
                u64::from(u32_at(&bytes, 0))
            } else {
                u64_at(&bytes, 0)
            };
            if offset == 0 {
                // The unused end of the last array.
                break;
            }
            if index >= of {
                // All the entries the header counts are good.
                return Ok(None);
            }
            index += 1;
            if !offset.is_multiple_of(8) {
                return damaged(index, "an entry at a misaligned offset");
            }
            let Some(entry) = entries.read(offset, 48)? else {
                return damaged(index, "an entry outside the file");
            };
            let (kind, size) = (entry[0], u64_at(&entry, 8));
            let (seqnum, realtime, monotonic) =
                (u64_at(&entry, 16), u64_at(&entry, 24), u64_at(&entry, 32));
            if kind != OBJECT_ENTRY {
                return damaged(index, "not an entry object where one should be");
            }
            if size < 64 + item || (size - 64) % (if compact { 4 } else { 16 }) != 0 {
                return damaged(index, "an entry object of a bad size");
            }
            if seqnum == 0 || seqnum <= last_seqnum {
                return damaged(index, "an entry with a bad sequence number");
            }
            if realtime == 0 || realtime >= TIME_BOUND || monotonic >= TIME_BOUND {
                return damaged(index, "an entry with a bad timestamp");
            }
            last_seqnum = seqnum;
        }
        array = next;
    }
    Ok(None)
}

/// Reads of a file through one 64 KiB buffer.
struct Window<'f> {
    file: &'f std::fs::File,
    end: u64,
    start: u64,
    buf: Vec<u8>,
}

impl<'f> Window<'f> {
    const SIZE: u64 = 64 * 1024;

    fn new(file: &'f std::fs::File, end: u64) -> Window<'f> {
        Window {
            file,
            end,
            start: 0,
            buf: Vec::new(),
        }
    }

    /// `len` bytes at `at`; `None` if they are not all inside the file.
    fn read(&mut self, at: u64, len: u64) -> std::io::Result<Option<Vec<u8>>> {
        use std::os::unix::fs::FileExt;
        let Some(stop) = at.checked_add(len).filter(|&s| s <= self.end) else {
            return Ok(None);
        };
        let have = self.start..self.start + self.buf.len() as u64;
        if !(have.contains(&at) && stop <= have.end) {
            self.start = at;
            let want = Self::SIZE.max(len).min(self.end - at);
            self.buf
                .resize(usize::try_from(want).unwrap_or(usize::MAX), 0);
            let mut got = 0;
            while got < self.buf.len() {
                match self.file.read_at(&mut self.buf[got..], at + got as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.buf.truncate(got);
            if (got as u64) < len {
                return Ok(None);
            }
        }
        let from = usize::try_from(at - self.start).unwrap_or(usize::MAX);
        let to = from.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(self.buf.get(from..to).map(<[u8]>::to_vec))
    }
}

/// Opens a regular file without blocking if it was replaced by a FIFO since it was
/// looked at.
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits().cast_signed())
        .open(path)
}

/// Why sd-journal refused to open `files`, one sentence per damaged file (`--file` fails
/// as a whole when one file cannot be opened, as `journalctl --file` does); `None` when
/// the headers look fine.
pub(crate) fn explain(files: &[PathBuf]) -> Option<String> {
    let why: Vec<String> = files
        .iter()
        .filter_map(|f| match check(f, false) {
            Ok(Some(p)) if !matches!(p, Problem::DamagedEntry { .. }) => Some(p.describe(f)),
            _ => None,
        })
        .collect();
    (!why.is_empty()).then(|| why.join("; "))
}

/// The file's `file_id` (random, written once when the file is created; kept through
/// renames): with the inode, what tells a rotated file from a new one that reuses a
/// vacuumed file's inode. `None` while the header is not written yet.
pub(crate) fn file_id(path: &Path) -> Option<[u8; 16]> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut file = open_regular(path).ok()?;
    let mut head = [0u8; 40];
    if read_up_to(&mut file, &mut head).ok()? < head.len() || &head[..8] != SIGNATURE {
        return None;
    }
    head[24..40].try_into().ok()
}

/// Which of `files` holds the entry at `cursor`: the file whose header has the cursor's
/// sequence-number id (`s=`) and whose head and tail sequence numbers take in its `i=`
/// (journald numbers entries across a journal's files, so exactly one file fits, the
/// archived ones included). `None` when the cursor is not sd-journal's or no header fits.
/// For warnings that must name the file an unreadable entry is in (issue 17).
pub fn file_of_cursor<'a>(files: &'a [PathBuf], cursor: &str) -> Option<&'a Path> {
    let (seqnum_id, seqnum) = cursor_seqnum(cursor)?;
    let seqnum_id = hex_id(seqnum_id)?;
    files.iter().map(PathBuf::as_path).find(|path| {
        let Some(header) = header_of(path) else {
            return false;
        };
        let (tail, head) = (
            u64_at(&header, OFFSET_TAIL_ENTRY_SEQNUM),
            u64_at(&header, OFFSET_HEAD_ENTRY_SEQNUM),
        );
        header[OFFSET_SEQNUM_ID..OFFSET_SEQNUM_ID + 16] == seqnum_id
            && (head..=tail).contains(&seqnum)
    })
}

/// What the headers of a journal's files say about its sequence numbers, when every file
/// names the same source and together they number their entries densely: one number per
/// entry from the first to the last, no gap and no number twice (a copied file, a
/// vacuumed file between two kept ones, or an entry array that lies break it). Then
/// entries are ordered by their numbers across all the files (the parallel reader's spans
/// rely on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Numbering {
    /// The source's id (`seqnum_id`) as 32 hex digits, as cursors write it.
    pub(crate) seqnum_id: String,
    /// The highest number any file's header gives (its `tail_entry_seqnum`).
    pub(crate) last: u64,
}

/// The [`Numbering`] of `files`; `None` when they name several sources, number their
/// entries with gaps or twice, a header cannot be read, or there are no files.
pub(crate) fn dense_numbering(files: &[PathBuf]) -> Option<Numbering> {
    let mut common: Option<[u8; 16]> = None;
    let (mut first, mut last, mut entries) = (u64::MAX, 0u64, 0u64);
    for path in files {
        let header = header_of(path)?;
        let id: [u8; 16] = header[OFFSET_SEQNUM_ID..OFFSET_SEQNUM_ID + 16]
            .try_into()
            .ok()?;
        if common.is_some_and(|c| c != id) {
            return None;
        }
        common = Some(id);
        let n = u64_at(&header, OFFSET_N_ENTRIES);
        if n == 0 {
            continue;
        }
        first = first.min(u64_at(&header, OFFSET_HEAD_ENTRY_SEQNUM));
        last = last.max(u64_at(&header, OFFSET_TAIL_ENTRY_SEQNUM));
        entries = entries.checked_add(n)?;
    }
    let is_dense = entries > 0 && last.checked_sub(first)?.checked_add(1)? == entries;
    is_dense.then(|| Numbering {
        seqnum_id: common.map_or_else(String::new, |id| {
            id.iter().fold(String::with_capacity(32), |mut s, b| {
                let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{b:02x}"));
                s
            })
        }),
        last,
    })
}

/// A journal file's whole fixed header, when it has one (signature and all).
fn header_of(path: &Path) -> Option<[u8; HEADER_SIZE_MIN]> {
    let mut file = open_regular(path).ok()?;
    let mut header = [0u8; HEADER_SIZE_MIN];
    let is_whole = read_up_to(&mut file, &mut header).ok()? == header.len();
    (is_whole && &header[..SIGNATURE.len()] == SIGNATURE).then_some(header)
}

/// A cursor's sequence-number source (`s=`, 32 hex digits) and number (`i=`, hex);
/// `None` for a cursor without both (not sd-journal's).
pub(crate) fn cursor_seqnum(cursor: &str) -> Option<(&str, u64)> {
    let mut source = None;
    let mut number = None;
    for part in cursor.split(';') {
        match part.split_once('=') {
            Some(("s", v)) if v.len() == 32 => source = Some(v),
            Some(("i", v)) => number = u64::from_str_radix(v, 16).ok(),
            _ => {}
        }
    }
    Some((source?, number?))
}

/// A 128-bit id written as 32 hex digits (a cursor's `s=`), as its 16 bytes.
fn hex_id(hex: &str) -> Option<[u8; 16]> {
    let mut id = [0u8; 16];
    for (byte, pair) in id.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(id)
}

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

/// `*.journal` and `*.journal~` files in `dir` and its machine-id subdirectories (the
/// layout journald and `systemd-journal-remote` write), as sd-journal finds them.
pub(crate) fn journal_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    collect(dir, 0, &mut out)?;
    Ok(out)
}

fn collect(dir: &Path, depth: u8, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if depth == 0 {
                // An unreadable subdirectory is the access check's business, not ours.
                let _ = collect(&path, 1, out);
            }
            continue;
        }
        if is_journal_name(&entry.file_name().to_string_lossy()) {
            out.push(path);
        }
    }
    Ok(())
}

pub(crate) fn is_journal_name(name: &str) -> bool {
    name.ends_with(".journal") || name.ends_with(".journal~")
}

/// A file younger than this may still be being created (header not written yet): judged
/// on a later scan instead.
const SETTLE: Duration = Duration::from_secs(2);

/// What a scan already knows about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
}

/// The files judged so far (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct Health {
    seen: HashMap<PathBuf, Seen>,
    /// Whether any scan found a damaged file (the parallel reader's spans then do not
    /// apply: a damaged entry's number cannot be trusted).
    found_damage: bool,
    /// Whether files' entries are walked too, not only their headers.
    walk: bool,
}

impl Health {
    /// With `walk`, files that are not being written get their entries walked
    /// ([`walk_entries`]): for `--file` and `-D`, copies handed over, where damage is
    /// likely. Not for the system journal: journald's own files (up to GBs) would be read
    /// whole at every start, and journald itself sets aside a file it finds damaged.
    pub(crate) fn new(walk: bool) -> Health {
        Health {
            seen: HashMap::new(),
            found_damage: false,
            walk,
        }
    }

    /// Whether any scan so far found a damaged file.
    pub(crate) fn found_damage(&self) -> bool {
        self.found_damage
    }

    /// Looks at `files` and returns one sentence per file newly found unreadable. Files
    /// that did not change since the last scan are not read again; files that are gone
    /// are forgotten. With `now`, a follower's scan: files modified just before it may
    /// be half-created and wait for the next scan; without, every file is judged now.
    pub(crate) fn scan(&mut self, files: &[PathBuf], now: Option<SystemTime>) -> Vec<String> {
        self.seen.retain(|p, _| files.contains(p));
        let mut problems = Vec::new();
        for path in files {
            let Ok(meta) = std::fs::metadata(path) else {
                continue;
            };
            let seen = Seen {
                len: meta.len(),
                modified: meta.modified().ok(),
            };
            if self.seen.get(path) == Some(&seen) {
                continue;
            }
            let is_settling = now
                .zip(seen.modified)
                .and_then(|(now, m)| now.duration_since(m).ok())
                .is_some_and(|age| age < SETTLE);
            match check(path, self.walk) {
                Ok(Some(problem)) if is_settling => {
                    // Maybe half-created: look again next scan.
                    let _ = problem;
                }
                Ok(Some(problem)) => {
                    self.found_damage = true;
                    problems.push(problem.describe(path));
                    self.seen.insert(path.clone(), seen);
                }
                Ok(None) => {
                    self.seen.insert(path.clone(), seen);
                }
                // Unreadable files are reported by the access check, vanished ones are
                // rotation: neither is damage.
                Err(_) => {}
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as systemd writes it for an empty file: header 256 bytes, arena 0.
    fn header(header_size: u64, arena: u64, flags: u32, state: u8) -> Vec<u8> {
        let mut h = vec![0u8; 256];
        h[..8].copy_from_slice(SIGNATURE);
        h[OFFSET_INCOMPATIBLE_FLAGS..OFFSET_INCOMPATIBLE_FLAGS + 4]
            .copy_from_slice(&flags.to_le_bytes());
        h[OFFSET_STATE] = state;
        h[OFFSET_HEADER_SIZE..OFFSET_HEADER_SIZE + 8].copy_from_slice(&header_size.to_le_bytes());
        h[OFFSET_ARENA_SIZE..OFFSET_ARENA_SIZE + 8].copy_from_slice(&arena.to_le_bytes());
        h
    }

    fn check_bytes(bytes: &[u8]) -> Option<Problem> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.journal");
        std::fs::write(&path, bytes).unwrap();
        check(&path, true).unwrap()
    }

    #[test]
    fn a_whole_header_with_its_arena_present_is_fine() {
        let mut f = header(256, 1000, 0x1f, 2);
        f.resize(256 + 1000, 0);
        assert_eq!(check_bytes(&f), None);
    }

    #[test]
    fn a_file_shorter_than_header_plus_arena_is_truncated() {
        let mut f = header(256, 1000, 0, 1);
        f.resize(700, 0);
        assert_eq!(
            check_bytes(&f),
            Some(Problem::Truncated {
                have: 700,
                need: 1256
            })
        );
    }

    #[test]
    fn damaged_headers_are_named() {
        assert_eq!(
            check_bytes(&[0u8; 4096]),
            Some(Problem::Corrupted("no journal signature at the start"))
        );
        assert_eq!(
            check_bytes(&header(256, 0, 0, 9)),
            Some(Problem::Corrupted("unknown file state"))
        );
        assert_eq!(
            check_bytes(&header(16, 0, 0, 1)),
            Some(Problem::Corrupted("header size too small"))
        );
        assert_eq!(
            check_bytes(&header(256, u64::MAX, 0, 1)),
            Some(Problem::Corrupted("arena size out of range"))
        );
        assert_eq!(
            check_bytes(&header(256, 0, 0x40, 1)),
            Some(Problem::Unsupported { flags: 0x40 })
        );
        assert_eq!(
            check_bytes(&[]),
            Some(Problem::Truncated {
                have: 0,
                need: HEADER_SIZE_MIN_U64
            })
        );
    }

    #[test]
    fn a_scan_says_each_problem_once_and_again_after_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.journal");
        std::fs::write(&bad, [0u8; 300]).unwrap();
        let files = journal_files(dir.path()).unwrap();
        let later = SystemTime::now() + Duration::from_secs(10);
        let mut health = Health::default();
        assert_eq!(health.scan(&files, Some(later)).len(), 1);
        assert!(health.scan(&files, Some(later)).is_empty(), "said once");
        std::fs::write(&bad, [1u8; 400]).unwrap();
        assert_eq!(
            health.scan(&files, Some(later)).len(),
            1,
            "changed, judged again"
        );
    }

    #[test]
    fn a_file_still_being_created_is_judged_later() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("new.journal"), []).unwrap();
        let files = journal_files(dir.path()).unwrap();
        let mut health = Health::default();
        assert!(health.scan(&files, Some(SystemTime::now())).is_empty());
        let later = SystemTime::now() + Duration::from_secs(10);
        assert_eq!(health.scan(&files, Some(later)).len(), 1);
    }
}
