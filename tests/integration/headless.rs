use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use crate::util::{bin, export_text, make_journal, sigil_top, Record};

#[test]
fn a_missing_directory_is_an_error_naming_it() {
    let out = sigil_top(&["entries", "-D", "/nonexistent/journal-dir"], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not found: /nonexistent/journal-dir"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "printed once: {stderr}");
}

#[test]
fn a_missing_journal_file_is_an_error_naming_it() {
    let out = sigil_top(&["stats", "--file", "/nonexistent/x.journal"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.journal"));
}

#[test]
fn a_bad_since_lists_the_accepted_forms() {
    let out = sigil_top(&["entries", "--since", "last tuesday", "-"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--since")
            && stderr.contains("accepted forms")
            && stderr.contains("10 min ago"),
        "{stderr}"
    );
}

#[test]
fn unreadable_journal_files_say_to_join_systemd_journal() {
    // Needs root to make a file another user cannot read; CI runs as root.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        eprintln!("skipped: not root");
        return;
    }
    let dir = TempDir::new().unwrap();
    let journal = make_journal(
        dir.path(),
        "secret",
        &export_text(&[Record::service(
            1_795_626_316_000_000,
            "h",
            "sigil-mcp.service",
            5,
            "python",
            "x",
        )]),
    );
    std::fs::set_permissions(
        &journal,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = crate::util::run(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin())
            .args(["entries", "-D", dir.path().to_str().unwrap()]),
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("systemd-journal") && stderr.contains("permission"),
        "{stderr}"
    );
}

#[test]
fn a_closed_stdout_pipe_exits_zero() {
    let fixture = crate::util::data("real/kv-debug/export.txt");
    let mut child = Command::new(bin())
        .args(["entries", "-o", "json", fixture.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader (and the pipe) is dropped here, like `| head -1`.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with('{'));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// No subcommand opens the live screen, which needs a terminal; without one the message
/// names the headless way instead of drawing escape codes into a pipe.
#[test]
fn no_subcommand_without_a_terminal_points_to_report() {
    let out = sigil_top(&["-", "--no-follow"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs a terminal") && stderr.contains("sigil-top report"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
