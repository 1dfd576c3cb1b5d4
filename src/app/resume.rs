//! `watch --cursor-file FILE`: where a watch stopped, read at start and written while it
//! runs, so a restart neither loses an entry nor repeats an alert.
//!
//! Owns two files and their atomic writing:
//! - `FILE`: the cursor of the last entry processed, as `journalctl --cursor-file` writes
//!   it (the cursor text alone), so either program can take over from the other;
//! - `FILE.incidents.json`: what `watch` announced and has not closed
//!   ([`AnnouncedState`]), so an incident open at a stop goes on after the restart
//!   instead of opening again.
//!
//! Each is written to a temporary file in the same directory, synced, then renamed over
//! the old one: a crash leaves the old or the new file, never half of one. The incidents
//! file is written first: should the cursor not follow (a crash between the two), the
//! next run re-reads a little and the incidents it finds are recognised as the same.
//! Does not own what is in the incident state (`view::watch`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::source::Cursor;
use crate::view::watch::AnnouncedState;

/// The longest cursor accepted from the file; sd-journal's are about 150 bytes.
const MAX_CURSOR_BYTES: usize = 1024;
/// The largest incidents file read (500 incidents with long causes fit many times).
const MAX_STATE_BYTES: u64 = 4 * 1024 * 1024;

/// What the files said at start.
#[derive(Debug, Default)]
pub(crate) struct Resumed {
    /// `None`: no usable cursor; `notes` say why.
    pub(crate) cursor: Option<Cursor>,
    pub(crate) state: AnnouncedState,
    /// What to tell the operator (missing or unreadable files, and what happens instead).
    pub(crate) notes: Vec<String>,
}

/// `FILE.incidents.json`.
pub(crate) fn state_path(cursor_file: &Path) -> PathBuf {
    let mut name = cursor_file.as_os_str().to_owned();
    name.push(".incidents.json");
    PathBuf::from(name)
}

/// Reads `cursor_file` and its incidents file. Never fails: what cannot be read is said
/// in a note, and the watch starts at the end of the journal instead.
pub(crate) fn load(cursor_file: &Path) -> Resumed {
    let mut resumed = Resumed::default();
    let shown = cursor_file.display();
    match std::fs::read(cursor_file) {
        Ok(bytes) => match parse_cursor(&bytes) {
            Some(c) => resumed.cursor = Some(c),
            None => resumed.notes.push(format!(
                "--cursor-file {shown} does not hold a journal cursor: starting at the end of the journal"
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => resumed.notes.push(format!(
            "--cursor-file {shown} does not exist yet: starting at the end of the journal"
        )),
        Err(e) => resumed.notes.push(format!(
            "--cursor-file {shown} cannot be read ({e}): starting at the end of the journal"
        )),
    }
    let state_file = state_path(cursor_file);
    match read_state(&state_file) {
        Ok(Some(state)) => resumed.state = state,
        Ok(None) => {}
        Err(e) => resumed.notes.push(format!(
            "{}: {e:#}: incidents open at the last stop are not known and may be announced again",
            state_file.display()
        )),
    }
    resumed
}

/// A cursor as sd-journal writes them: printable ASCII, `key=value` parts separated by
/// `;`; a trailing newline (as `echo` would add) is allowed.
fn parse_cursor(bytes: &[u8]) -> Option<Cursor> {
    let text = std::str::from_utf8(bytes)
        .ok()?
        .trim_end_matches(['\n', '\r']);
    let is_plausible = !text.is_empty()
        && text.len() <= MAX_CURSOR_BYTES
        && text.bytes().all(|b| b.is_ascii_graphic())
        && text.split(';').all(|part| part.contains('='));
    is_plausible.then(|| Cursor(text.into()))
}

fn read_state(path: &Path) -> anyhow::Result<Option<AnnouncedState>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("cannot be read"),
    };
    let len = file.metadata().map_or(0, |m| m.len());
    if len > MAX_STATE_BYTES {
        anyhow::bail!("is {len} bytes, more than the {MAX_STATE_BYTES} a state file can be");
    }
    let state = serde_json::from_reader(std::io::BufReader::new(file))
        .context("is not a sigil-top incidents file")?;
    Ok(Some(state))
}

/// Saves the incidents, then the cursor (see the module doc for why in that order).
pub(crate) fn save(
    cursor_file: &Path,
    cursor: Option<&Cursor>,
    state: &AnnouncedState,
) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(state).context("encoding the incidents file")?;
    write_atomically(&state_path(cursor_file), &json)?;
    if let Some(c) = cursor {
        write_atomically(cursor_file, c.0.as_bytes())?;
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write()
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("saving {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::watch::Announced;

    #[test]
    fn cursors_are_taken_only_when_they_look_like_cursors() {
        let non_ascii = "s=7f2a…;i=1;b=755d;m=10;t=5f;x=9";
        let ascii = "s=7f2ab3;i=1a;b=755d2835;m=10;t=5f3;x=9c";
        assert_eq!(parse_cursor(ascii.as_bytes()).unwrap().0.as_ref(), ascii);
        let with_newline = format!("{ascii}\n");
        assert!(parse_cursor(with_newline.as_bytes()).is_some());
        for bad in [
            non_ascii.as_bytes(),
            b"",
            b"\n",
            b"not a cursor",
            b"s=1;\x1b[2J",
            &[0xff, 0xfe],
            "s=1;".repeat(400).as_bytes(),
        ] {
            assert!(parse_cursor(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn saved_state_and_cursor_read_back_and_missing_files_are_said() {
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("watch.cursor");
        let first = load(&file);
        assert!(first.cursor.is_none());
        assert!(
            first.notes[0].contains("does not exist yet"),
            "{:?}",
            first.notes
        );
        let state = AnnouncedState {
            last_id: 7,
            open: vec![Announced {
                id: 7,
                kind: "bad_gateway".into(),
                severity: "critical".into(),
                start_us: 1,
                last_us: 2,
                count: 3,
                cause: "origin down \u{1b}[31m".into(),
            }],
        };
        let cursor = Cursor("s=1;i=2;b=3;m=4;t=5;x=6".into());
        save(&file, Some(&cursor), &state).unwrap();
        let again = load(&file);
        assert_eq!(again.cursor, Some(cursor));
        assert_eq!(again.state, state);
        assert!(again.notes.is_empty(), "{:?}", again.notes);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2);
        // A damaged incidents file is said, not fatal.
        std::fs::write(state_path(&file), b"{not json").unwrap();
        let damaged = load(&file);
        assert!(damaged.cursor.is_some());
        assert!(
            damaged.notes[0].contains("may be announced again"),
            "{:?}",
            damaged.notes
        );
    }
}
