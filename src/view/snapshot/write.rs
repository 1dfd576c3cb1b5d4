//! Writing a snapshot bundle safely: where it goes and how it gets there.
//!
//! Owns the checks on the way to the output directory (another user's symlink or a
//! world-writable non-sticky directory anywhere in the path is refused; the directory is
//! created `0700`), the private temporary directory a bundle is assembled in (files
//! `0600`), moving it into place without replacing anything (`RENAME_NOREPLACE`; an
//! archive by `persist_noclobber`) under the first free name, packing the `.tar.gz`, and
//! the streaming [`BundleWriter`]. A crash never leaves a half-written bundle that looks
//! complete, and two snapshots never overwrite each other. What the files hold is
//! `snapshot`'s (the parent module).

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::model::Model;
use crate::source::stream::Decoder;
use crate::source::{RawEntry, UnitFilter};
use crate::text::Redactor;

use super::{
    export_record, other_files, sample_cursors, start_line, Bundle, Selection, MAX_START_LINES,
};

/// Why a bundle could not be written; the message says where and what to do.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("refusing to write the snapshot into {path}: {why}")]
    Refused { path: String, why: String },
    #[error("writing the snapshot into {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The effective uid of this process ([`crate::paths::effective_uid`]).
#[allow(clippy::unnecessary_wraps)]
fn effective_uid() -> Option<u32> {
    Some(crate::paths::effective_uid())
}

/// Refuses `dir` when anything on its way could be changed by another user: a symlink
/// owned by someone other than root or you (they could point it anywhere), or a
/// world-writable directory without the sticky bit (anyone could swap what is in it). A
/// sticky world-writable directory such as `/tmp` is fine, and so are root's and your own
/// symlinks (`/var/run` → `/run`, a home on another disk). See: issue 17.
fn check_ancestors(dir: &Path) -> Result<(), WriteError> {
    let me = effective_uid();
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir().map_err(io_err(dir))?.join(dir)
    };
    let mut at = PathBuf::new();
    for part in abs.components() {
        at.push(part);
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(meta) => meta,
            // The rest is created by us, 0700.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(io_err(&at)(e)),
        };
        let refuse = |why: String| WriteError::Refused {
            path: at.display().to_string(),
            why,
        };
        let target = if meta.file_type().is_symlink() {
            if meta.uid() != 0 && Some(meta.uid()) != me {
                return Err(refuse(format!(
                    "it is a symlink owned by uid {}, who could point it anywhere",
                    meta.uid()
                )));
            }
            match std::fs::metadata(&at) {
                Ok(target) => target,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(io_err(&at)(e)),
            }
        } else {
            meta
        };
        if target.is_dir() && target.mode() & 0o002 != 0 && target.mode() & 0o1000 == 0 {
            return Err(refuse(
                "it is a world-writable directory without the sticky bit, so anyone could \
                 replace what is in it"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Creates `dir` (0700) if missing, refusing a symlink or a directory owned by another user,
/// and any path with an unsafe step on the way ([`check_ancestors`]).
fn safe_dir(dir: &Path) -> Result<(), WriteError> {
    check_ancestors(dir)?;
    let me = effective_uid();
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = std::fs::metadata(dir).map_err(io_err(dir))?;
            if Some(target.uid()) != me {
                return Err(WriteError::Refused {
                    path: dir.display().to_string(),
                    why: format!(
                        "it is a symlink to a directory owned by uid {}, not you",
                        target.uid()
                    ),
                });
            }
        }
        Ok(meta) => {
            if !meta.is_dir() {
                return Err(WriteError::Refused {
                    path: dir.display().to_string(),
                    why: "it is not a directory".into(),
                });
            }
            if Some(meta.uid()) != me && meta.mode() & 0o002 != 0 {
                return Err(WriteError::Refused {
                    path: dir.display().to_string(),
                    why: format!("it is world-writable and owned by uid {}", meta.uid()),
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_err(dir))?;
        }
        Err(e) => return Err(io_err(dir)(e)),
    }
    Ok(())
}

/// A private (`0600`) temporary file in `dir`, through `tempfile` (an unpredictable name,
/// opened `O_EXCL`), removed if it is dropped before it is persisted.
fn temp_file_in(dir: &Path, suffix: &str) -> Result<tempfile::NamedTempFile, WriteError> {
    tempfile::Builder::new()
        .prefix(".sigil-top-")
        .suffix(suffix)
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io_err(dir))
}

/// Writes `bytes` to `path` atomically and without replacing anything: into a temporary
/// file beside it, synced, then `persist_noclobber`ed (an existing `path` is an error).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = temp_file_in(dir, ".partial")?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io_err(path))?;
    tmp.persist_noclobber(path)
        .map(drop)
        .map_err(|e| io_err(path)(e.error))
}

/// How many names [`unique_candidates`] tries (`NAME`, `NAME-2`, … `NAME-1000`) before
/// the snapshot gives up: a thousand bundles of the same host, second and kind.
const MAX_NAME_TRIES: usize = 1000;

/// The names a bundle may take in `base`, in order: `NAME.ext`, `NAME-2.ext`, ….
fn unique_candidates<'a>(
    base: &'a Path,
    name: &'a str,
    ext: &'a str,
) -> impl Iterator<Item = PathBuf> + 'a {
    (1..=MAX_NAME_TRIES).map(move |n| {
        if n == 1 {
            base.join(format!("{name}{ext}"))
        } else {
            base.join(format!("{name}-{n}{ext}"))
        }
    })
}

fn names_taken(base: &Path, name: &str) -> WriteError {
    WriteError::Io {
        path: base.join(name).display().to_string(),
        source: std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{MAX_NAME_TRIES} bundles of that name are already there"),
        ),
    }
}

/// Renames the directory `from` to `to` only if `to` does not exist, atomically
/// (`renameat2` with `RENAME_NOREPLACE`): a plain `rename` would replace an empty
/// directory that appeared at `to`. On a filesystem without it (`EINVAL`), the name is
/// claimed by creating `to` (which fails if it exists) and our own empty directory is then
/// replaced by the rename.
fn rename_dir_noclobber(from: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == Errno::INVAL || e == Errno::NOSYS => {
            std::fs::DirBuilder::new().mode(0o700).create(to)?;
            std::fs::rename(from, to)
        }
        Err(e) => Err(e.into()),
    }
}

/// A bundle being written, for a window too large to hold: each entry's `journal.export`
/// record is written as it comes ([`BundleWriter::add`]) into a private temporary
/// directory in `base` (`tempfile`'s: an unpredictable name, `0700`); the other files are
/// built from the window's model at the end ([`BundleWriter::finish`]), which renames the
/// directory into place without replacing anything, or packs it as `.tar.gz` and persists
/// that with `persist_noclobber`. Dropped unfinished, it removes what it wrote. See: issues
/// 17 and 20.
#[derive(Debug)]
pub struct BundleWriter {
    base: PathBuf,
    journal_path: PathBuf,
    // Before `tmp`: fields drop in order, so the file is closed before its directory goes.
    journal: Option<std::io::BufWriter<std::fs::File>>,
    tmp: tempfile::TempDir,
    record: Vec<u8>,
    host: Option<String>,
    starts: Vec<String>,
}

impl BundleWriter {
    /// Checks `base` ([`safe_dir`]) and opens the temporary directory and its
    /// `journal.export`.
    pub fn create(base: &Path) -> Result<BundleWriter, WriteError> {
        safe_dir(base)?;
        let tmp = tempfile::Builder::new()
            .prefix(".sigil-top-snapshot.")
            .suffix(".partial")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(base)
            .map_err(io_err(base))?;
        let journal_path = tmp.path().join("journal.export");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&journal_path)
            .map_err(io_err(&journal_path))?;
        Ok(BundleWriter {
            base: base.to_path_buf(),
            journal_path,
            journal: Some(std::io::BufWriter::with_capacity(256 * 1024, file)),
            tmp,
            record: Vec::new(),
            host: None,
            starts: Vec::new(),
        })
    }

    /// Writes `e` (an entry of the window, in order) to `journal.export`, redacted.
    pub fn add(&mut self, e: &RawEntry, redactor: &mut Redactor) -> Result<(), WriteError> {
        self.record.clear();
        export_record(e, redactor, &mut self.record);
        if let Some(journal) = &mut self.journal {
            journal
                .write_all(&self.record)
                .map_err(io_err(&self.journal_path))?;
        }
        if self.host.is_none() {
            self.host = e.origin.hostname.as_deref().map(str::to_owned);
        }
        if self.starts.len() < MAX_START_LINES {
            self.starts.extend(start_line(e));
        }
        Ok(())
    }

    /// Writes the other files from `model` (the model of exactly the entries added) and
    /// puts the bundle in place; the path written. The sample requests' raw lines are
    /// read back from the `journal.export` just written (already redacted), decoded with
    /// `units` as the window was: so the model need not keep a log of the window, and
    /// memory does not grow with it (issue 17).
    pub fn finish(
        mut self,
        model: &Model,
        selection: &Selection,
        redactor: &mut Redactor,
        archive: bool,
        units: &UnitFilter,
    ) -> Result<PathBuf, WriteError> {
        if let Some(journal) = self.journal.take() {
            let file = journal
                .into_inner()
                .map_err(|e| io_err(&self.journal_path)(e.into_error()))?;
            file.sync_all().map_err(io_err(&self.journal_path))?;
        }
        let by_cursor = read_back(&self.journal_path, &sample_cursors(model), units)
            .map_err(io_err(&self.journal_path))?;
        let traces_path = self.tmp.path().join("traces.jsonl");
        let mut traces = std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&traces_path)
                .map_err(io_err(&traces_path))?,
        );
        let bundle = other_files(
            model,
            selection,
            redactor,
            self.host.as_deref(),
            &self.starts,
            &|c| by_cursor.get(c),
            &mut traces,
        )
        .and_then(|bundle| {
            let file = traces
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)?;
            file.sync_all()?;
            Ok(bundle)
        })
        .map_err(io_err(&traces_path))?;
        for (name, bytes) in &bundle.files {
            write_file(&self.tmp.path().join(name), bytes)?;
        }
        if archive {
            let mut packed = temp_file_in(&self.base, ".tar.gz.partial")?;
            write_archive(
                &bundle,
                self.tmp.path(),
                &mut packed,
                std::time::SystemTime::now(),
            )
            .map_err(io_err(packed.path()))?;
            // `self.tmp` is removed when `self` drops, below.
            for dest in unique_candidates(&self.base, &bundle.name, ".tar.gz") {
                match packed.persist_noclobber(&dest) {
                    Ok(_) => return Ok(dest),
                    Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                        packed = e.file;
                    }
                    Err(e) => return Err(io_err(&dest)(e.error)),
                }
            }
            Err(names_taken(&self.base, &bundle.name))
        } else {
            for dest in unique_candidates(&self.base, &bundle.name, "") {
                match rename_dir_noclobber(self.tmp.path(), &dest) {
                    Ok(()) => {
                        // In place under its own name now: nothing is left to clean up.
                        self.tmp.disable_cleanup(true);
                        return Ok(dest);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_err(&dest)(e)),
                }
            }
            Err(names_taken(&self.base, &bundle.name))
        }
    }
}

/// The entries of the export file `path` whose cursor is one of `wanted`, by cursor: one
/// pass over the file, stopped as soon as all are found; memory is one read buffer and
/// the entries found.
fn read_back(
    path: &Path,
    wanted: &HashSet<&str>,
    units: &UnitFilter,
) -> std::io::Result<HashMap<String, RawEntry>> {
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut file = std::fs::File::open(path)?;
    let mut decoder = Decoder::new(units.clone(), 0);
    let mut batch = Vec::new();
    let keep = |batch: &mut Vec<RawEntry>, found: &mut HashMap<String, RawEntry>| {
        for e in batch.drain(..) {
            if let Some(c) = e.cursor.as_ref().filter(|c| wanted.contains(&*c.0)) {
                found.insert(c.0.to_string(), e);
            }
        }
    };
    while found.len() < wanted.len() {
        if decoder.read_from(&mut file, &mut batch)? == 0 {
            decoder.finish(&mut batch);
            keep(&mut batch, &mut found);
            break;
        }
        keep(&mut batch, &mut found);
    }
    Ok(found)
}

/// Builds the bundle of `entries` (the window; `model` is the model of exactly them, as
/// decoded with `units`) and writes it with a [`BundleWriter`].
pub fn write_bundle(
    model: &Model,
    entries: &[&RawEntry],
    selection: &Selection,
    redactor: &mut Redactor,
    base: &Path,
    archive: bool,
    units: &UnitFilter,
) -> Result<PathBuf, WriteError> {
    let mut writer = BundleWriter::create(base)?;
    for &e in entries {
        writer.add(e, redactor)?;
    }
    writer.finish(model, selection, redactor, archive, units)
}

/// The files of `dir` (the bundle written as a directory) as one `.tar.gz` written to
/// `out`, each under `NAME/`, in the bundle's order with `journal.export` last. Every
/// member is stamped `taken` (the time the snapshot was taken: tar's mtime is what
/// `tar tv` and an unpacked file show), mode `0600`.
fn write_archive(
    bundle: &Bundle,
    dir: &Path,
    out: &mut tempfile::NamedTempFile,
    taken: std::time::SystemTime,
) -> std::io::Result<()> {
    let mtime_s = taken
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let gz = flate2::write::GzEncoder::new(out.as_file_mut(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for name in super::FILES {
        let file = std::fs::File::open(dir.join(name))?;
        let len = file.metadata()?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(len);
        header.set_mode(0o600);
        header.set_mtime(mtime_s);
        header.set_cksum();
        tar.append_data(&mut header, format!("{}/{name}", bundle.name), file)?;
    }
    let gz = tar.into_inner()?;
    let file = gz.finish()?;
    file.sync_all()
}

/// The default snapshot directory: `$XDG_STATE_HOME/sigil-top/snapshots`
/// (`~/.local/state/sigil-top/snapshots`).
pub fn default_dir() -> PathBuf {
    // A relative XDG path is invalid and ignored, as the XDG spec says (etcetera keeps
    // that rule). See: issue 17.
    crate::paths::snapshot_dir()
}
