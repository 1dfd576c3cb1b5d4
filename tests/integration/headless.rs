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

/// Every file under `root`, relative to it.
fn files_under(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path().strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_unprivileged_user_can_run_every_headless_mode_and_only_snapshots_are_written() {
    // sigil-top needs read access to the journal files and nothing else: run as nobody
    // (when the test runs as root), with HOME and the working directory in a scratch
    // tree, every headless mode over a world-readable journal directory. Afterwards the
    // only files in that tree are the journal and the snapshot bundle, under
    // $XDG_STATE_HOME/sigil-top/snapshots.
    let scratch = TempDir::new().unwrap();
    let root = scratch.path();
    for d in ["home", "cwd", "journal"] {
        std::fs::create_dir(root.join(d)).unwrap();
    }
    make_journal(
        &root.join("journal"),
        "j",
        &export_text(&[
            Record::service(
                1_795_626_316_000_000,
                "h",
                "sigil-mcp.service",
                5,
                "python",
                r#"INFO:     127.0.0.1:1 - "POST /mcp HTTP/1.1" 200 OK"#,
            ),
            Record::service(
                1_795_626_317_000_000,
                "h",
                "cloudflared.service",
                6,
                "cloudflared",
                "2026-11-25T12:00:00Z ERR  error=\"Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused\" connIndex=0 event=1 ingressRule=0 originService=http://localhost:8000",
            ),
        ]),
    );
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    // The journal group: the real `systemd-journal` when the machine has it.
    let journal_gid = Command::new("getent")
        .args(["group", "systemd-journal"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|l| {
            l.split(':')
                .nth(2)
                .and_then(|g| g.trim().parse::<u32>().ok())
        })
        .unwrap_or(190);
    if is_root {
        // nobody must be able to reach and write its scratch tree, and read the journal
        // only through its group, as on a real host (journal files are 0640).
        // Sticky, as /tmp is: `snapshot -o` refuses a world-writable directory without
        // the sticky bit anywhere on its path (issue 17).
        for p in [root, &root.join("home"), &root.join("cwd")] {
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o1777))
                .unwrap();
        }
        for entry in std::fs::read_dir(root.join("journal")).unwrap().flatten() {
            std::os::unix::fs::chown(entry.path(), Some(0), Some(journal_gid)).unwrap();
            std::fs::set_permissions(
                entry.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o640),
            )
            .unwrap();
        }
    }
    let journal = root.join("journal");
    let journal = journal.to_str().unwrap();
    let runs: [&[&str]; 6] = [
        &["report", "-D", journal, "--format", "json"],
        &["report", "-D", journal, "--format", "markdown"],
        &["entries", "-D", journal, "-o", "json"],
        &["stats", "-D", journal],
        &["watch", "-D", journal, "--no-follow", "--format", "json"],
        &["snapshot", "-D", journal],
    ];
    for args in runs {
        let mut cmd = if is_root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534"])
                .arg(format!("--groups={journal_gid}"))
                .arg("--")
                .arg(bin());
            c
        } else {
            Command::new(bin())
        };
        cmd.args(args)
            .current_dir(root.join("cwd"))
            .env_clear()
            .env("HOME", root.join("home"))
            .env("PATH", "/usr/bin:/bin");
        let out = crate::util::run(&mut cmd, None);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    }
    let files = files_under(root);
    let (journal_files, others): (Vec<_>, Vec<_>) =
        files.iter().partition(|p| p.starts_with("journal"));
    assert_eq!(journal_files.len(), 1, "{files:?}");
    assert!(!others.is_empty(), "the snapshot was written: {files:?}");
    for p in &others {
        assert!(
            p.starts_with("home/.local/state/sigil-top/snapshots"),
            "written outside the snapshot directory: {p:?}"
        );
    }
}

/// See: issue 20 (point 3). The config file is found by the XDG rules (through etcetera):
/// `$XDG_CONFIG_HOME/sigil-top/config.toml` when that variable is an absolute path,
/// `$HOME/.config/sigil-top/config.toml` otherwise; a relative `XDG_CONFIG_HOME` is
/// invalid and ignored, as the spec says. Each candidate holds a config with a bad key,
/// so the error names the one read.
#[test]
fn issue_20_the_config_file_is_found_by_the_xdg_rules() {
    let root = TempDir::new().unwrap();
    let home = root.path().join("home");
    let xdg = root.path().join("xdg");
    for dir in [home.join(".config/sigil-top"), xdg.join("sigil-top")] {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), "[edge]\nnot_a_key = 1\n").unwrap();
    }
    let read = |xdg_config_home: Option<&str>| {
        let mut cmd = Command::new(bin());
        cmd.args(["stats", "-"])
            .current_dir(root.path())
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .stdin(Stdio::null());
        if let Some(value) = xdg_config_home {
            cmd.env("XDG_CONFIG_HOME", value);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8(out.stderr).unwrap()
    };
    let in_xdg = xdg.join("sigil-top/config.toml");
    let in_home = home.join(".config/sigil-top/config.toml");
    let err = read(Some(xdg.to_str().unwrap()));
    assert!(err.contains(in_xdg.to_str().unwrap()), "{err}");
    // "xdg" relative to the working directory is the same directory, and is ignored.
    let err = read(Some("xdg"));
    assert!(err.contains(in_home.to_str().unwrap()), "{err}");
    let err = read(None);
    assert!(err.contains(in_home.to_str().unwrap()), "{err}");
    let err = read(Some(""));
    assert!(err.contains(in_home.to_str().unwrap()), "{err}");
}
