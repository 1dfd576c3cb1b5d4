//! A snapshot bundle's `.tar.gz` (what `snapshot --archive` writes) read as its
//! `journal.export`, streamed: `--replay BUNDLE.tar.gz` works like `--replay BUNDLE/`.
//!
//! Owns finding the member and decompressing it on a thread of its own into a pipe, so
//! the export decoder reads it as it reads any pipe and nothing is held in memory. Does
//! not own decoding the export text (`journalctl`). See: issue 17.

use std::io::Read;
use std::os::unix::fs::FileExt;

/// True when `file` starts with gzip's magic bytes (a regular file; a pipe is never
/// an archive, as peeking at it would eat its first bytes).
pub(crate) fn is_gzip(file: &std::fs::File) -> bool {
    let mut magic = [0u8; 2];
    file.metadata().is_ok_and(|m| m.is_file())
        && file.read_exact_at(&mut magic, 0).is_ok()
        && magic == [0x1f, 0x8b]
}

/// The `journal.export` member of the gzip-compressed tar `file`, as a pipe fed by a
/// thread. Errors when the archive cannot be read or holds no `journal.export`; the text
/// says which.
pub(crate) fn journal_export_of(file: std::fs::File) -> Result<std::io::PipeReader, String> {
    let (reader, mut writer) = std::io::pipe().map_err(|e| e.to_string())?;
    let (found_tx, found_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
    std::thread::Builder::new()
        .name("bundle-archive".into())
        .spawn(move || {
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
            let entries = match archive.entries() {
                Ok(entries) => entries,
                Err(e) => {
                    let _ = found_tx.send(Err(format!("not a readable tar.gz archive: {e}")));
                    return;
                }
            };
            for entry in entries {
                let mut entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        let _ = found_tx.send(Err(format!("not a readable tar.gz archive: {e}")));
                        return;
                    }
                };
                let is_export = entry
                    .path()
                    .is_ok_and(|p| p.file_name().is_some_and(|n| n == "journal.export"));
                if is_export {
                    let _ = found_tx.send(Ok(()));
                    // A reader that stops early closes the pipe: the copy fails, and the
                    // thread ends.
                    let _ = std::io::copy(&mut entry.by_ref(), &mut writer);
                    return;
                }
            }
            let _ = found_tx.send(Err(
                "the archive holds no journal.export (is it a sigil-top snapshot?)".to_owned(),
            ));
        })
        .map_err(|e| e.to_string())?;
    match found_rx.recv() {
        Ok(Ok(())) => Ok(reader),
        Ok(Err(message)) => Err(message),
        Err(_) => Err("the archive reader stopped".to_owned()),
    }
}
