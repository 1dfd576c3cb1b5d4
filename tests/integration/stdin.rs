use crate::journal::realistic_dir;
use crate::util::{assert_same, journalctl, sigil_top_ok};

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn export_and_json_on_stdin_give_the_same_entries_as_the_directory() {
    let dir = realistic_dir();
    let d = dir.path().to_str().unwrap();
    let from_dir = lines(&sigil_top_ok(&["entries", "-D", d, "-o", "json"], None));
    // Everything in the directory: the unit selection happens in sigil-top.
    let export = journalctl(&["-D", d, "-o", "export"]);
    let json = journalctl(&["-D", d, "-o", "json", "-a"]);
    let from_export = lines(&sigil_top_ok(
        &["entries", "-o", "json", "-"],
        Some(&export),
    ));
    let from_json = lines(&sigil_top_ok(&["entries", "-o", "json", "-"], Some(&json)));
    assert_eq!(from_dir.len(), 1990);
    assert_same("stdin export vs -D", &from_dir, &from_export);
    assert_same("stdin json vs -D", &from_dir, &from_json);
}

#[test]
fn a_text_file_is_read_like_stdin() {
    let dir = tempfile::TempDir::new().unwrap();
    let fixture = crate::util::data("real/kv-debug/export.txt");
    let from_stdin = sigil_top_ok(
        &["entries", "-o", "json", "-"],
        Some(&std::fs::read(&fixture).unwrap()),
    );
    let from_file = sigil_top_ok(&["entries", "-o", "json", fixture.to_str().unwrap()], None);
    assert_eq!(lines(&from_stdin).len(), 1983);
    assert_eq!(from_stdin, from_file);
    drop(dir);
}

#[test]
fn a_truncated_stream_keeps_complete_entries_and_warns() {
    let fixture = std::fs::read(crate::util::data("real/kv-debug/export.txt")).unwrap();
    let cut = &fixture[..fixture.len() / 2];
    let out = crate::util::sigil_top(&["entries", "-o", "json", "-"], Some(cut));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("truncated"), "{stderr}");
    let n = lines(&out.stdout).len();
    let records_before_cut = cut.windows(2).filter(|w| w == b"\n\n").count();
    assert!(
        n > 900 && n <= records_before_cut,
        "{n} entries from {records_before_cut} whole records"
    );
}

#[test]
fn a_live_pipe_followed_goes_live_once_it_is_quiet() {
    // `ssh host journalctl -f -o export | sigil-top - --follow`: the pipe never ends, so
    // "caught up" comes from the pipe having been quiet for a second; the screen then says
    // LIVE (and its clock, windows and expiries run on the wall clock).
    let export = crate::util::data("real/kv-debug/export.txt");
    let cmd = format!(
        "(cat {}; sleep 600) | {} - --follow",
        export.display(),
        crate::util::bin().display()
    );
    let tmux = crate::util::Tmux::start(&cmd, 120, 40);
    let screen = tmux.wait_for(&["LIVE", "Incidents"], std::time::Duration::from_secs(20));
    assert!(!screen.contains("reading"), "{screen}");
}
