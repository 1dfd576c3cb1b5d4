//! What an install ships besides the binary (issue 20): shell completions that the shells
//! accept, a man page that `groff` renders and that documents every flag `--help` lists,
//! and a `--version` that names the commit.

use std::collections::BTreeSet;
use std::process::Command;

use crate::util::{run, sigil_top_ok};

/// Every `-x` and `--long` flag a `--help` text lists.
fn flags_in_help(help: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for line in help.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        for word in line.split([' ', ',', '=', '[', '<']) {
            let is_flag = (word.starts_with("--") && word.len() > 2)
                || (word.len() == 2 && word.starts_with('-') && word != "--");
            if is_flag {
                flags.insert(word.to_owned());
            }
        }
    }
    flags
}

const SUBCOMMANDS: [&str; 9] = [
    "entries",
    "report",
    "demo",
    "watch",
    "snapshot",
    "config",
    "stats",
    "completions",
    "manpage",
];

#[test]
fn the_man_page_renders_and_documents_every_flag_of_every_help() {
    let roff = sigil_top_ok(&["manpage"], None);
    assert!(
        roff.is_ascii(),
        "the page is ASCII roff (non-ASCII as \\[uXXXX])"
    );
    // Plain text: no overstrike or SGR, no hyphenation, long lines.
    let out = run(
        Command::new("groff")
            .args([
                "-man",
                "-Tutf8",
                "-P",
                "-cbou",
                "-rLL=300n",
                "-rHY=0",
                "-ww",
            ])
            .env("LC_ALL", "C.UTF-8"),
        Some(&roff),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(warnings.trim().is_empty(), "groff warned:\n{warnings}");
    let page = String::from_utf8_lossy(&out.stdout).replace(['\u{2010}', '\u{2212}'], "-");
    let mut checked = 0;
    let mut helps = vec![String::from_utf8(sigil_top_ok(&["--help"], None)).unwrap()];
    for sub in SUBCOMMANDS {
        helps.push(String::from_utf8(sigil_top_ok(&[sub, "--help"], None)).unwrap());
        assert!(
            page.contains(&format!("SIGIL-TOP {}", sub.to_uppercase())),
            "{sub}"
        );
    }
    for help in &helps {
        for flag in flags_in_help(help) {
            assert!(page.contains(&flag), "the man page does not mention {flag}");
            checked += 1;
        }
    }
    assert!(
        checked > 60,
        "only {checked} flags found in --help: the parser is off"
    );
    for flag in [
        "--priority",
        "--grep",
        "--boot",
        "--after-cursor",
        "--max-p99",
        "--exec",
    ] {
        assert!(page.contains(flag), "{flag}");
    }
    assert!(page.contains("EXIT STATUS") && page.contains("journalctl(1)"));
}

/// Every `SIGIL_TOP_*` variable the program reads or sets (found in its source, Rust and
/// C) is in the man page's ENVIRONMENT section, but for those no user sets: the build's
/// commit, the screen supervisor's own marker and the faults of the test-only
/// `fault-injection` build.
#[test]
fn the_man_page_documents_every_environment_variable_the_program_reads() {
    const NOT_FOR_USERS: [&str; 4] = [
        "SIGIL_TOP_BUILD",
        "SIGIL_TOP_SCREEN_CHILD",
        "SIGIL_TOP_FAULT",
        "SIGIL_TOP_REOPEN_EVERY",
    ];
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "c") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    sources(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut names = std::collections::BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("SIGIL_TOP_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(tail.len());
            names.insert(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    assert!(
        names.contains("SIGIL_TOP_READERS") && names.contains("SIGIL_TOP_ZSTD_REUSE"),
        "the scan found {names:?}"
    );
    let roff = String::from_utf8(sigil_top_ok(&["manpage"], None)).unwrap();
    let environment = roff
        .split_once(".SH ENVIRONMENT")
        .and_then(|(_, rest)| rest.split_once("\n.SH "))
        .map(|(section, _)| section.replace("\\-", "-"))
        .expect("an ENVIRONMENT section");
    for name in names
        .iter()
        .filter(|n| !NOT_FOR_USERS.contains(&n.as_str()))
    {
        assert!(
            environment.contains(name.as_str()),
            "{name} is read by the program but not in the man page's ENVIRONMENT"
        );
    }
    for name in ["TZ", "NO_COLOR", "XDG_CONFIG_HOME"] {
        assert!(environment.contains(name), "{name}");
    }
}

fn shell_accepts(shell: &str, args: &[&str], script: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("completion");
    std::fs::write(&path, script).unwrap();
    let mut cmd = Command::new(shell);
    cmd.args(args).arg(&path);
    match cmd.output() {
        Err(_) => None, // not installed
        Ok(out) => Some(if out.status.success() {
            String::new()
        } else {
            format!("{shell} refused: {}", String::from_utf8_lossy(&out.stderr))
        }),
    }
}

#[test]
fn completions_are_accepted_by_their_shells_and_know_the_flags() {
    let bash = sigil_top_ok(&["completions", "bash"], None);
    let text = String::from_utf8_lossy(&bash);
    for flag in [
        "--priority",
        "--grep",
        "--boot",
        "--cursor",
        "entries",
        "manpage",
    ] {
        assert!(text.contains(flag), "bash completion lacks {flag}");
    }
    let checks: [(&str, &str, &[&str]); 3] = [
        ("bash", "bash", &["-n"]),
        ("zsh", "zsh", &["-n"]),
        ("fish", "fish", &["-n"]),
    ];
    let mut ran = 0;
    for (name, shell, args) in checks {
        let script = sigil_top_ok(&["completions", name], None);
        assert!(!script.is_empty(), "{name}");
        if let Some(problem) = shell_accepts(shell, args, &script) {
            assert!(problem.is_empty(), "{problem}");
            ran += 1;
        }
    }
    assert!(ran >= 1, "bash at least is installed");
    for name in ["elvish", "powershell"] {
        let script = String::from_utf8(sigil_top_ok(&["completions", name], None)).unwrap();
        assert!(script.contains("--after-cursor"), "{name}");
    }
}

#[test]
fn version_names_the_commit() {
    let out = String::from_utf8(sigil_top_ok(&["--version"], None)).unwrap();
    let want = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    assert!(
        out.starts_with(concat!("sigil-top ", env!("CARGO_PKG_VERSION"), " commit ")),
        "{out}"
    );
    if let Some(commit) = want {
        // Built from this checkout: its commit (the build script reruns when HEAD moves).
        assert!(out.contains(&commit), "{out} should name {commit}");
    }
}
