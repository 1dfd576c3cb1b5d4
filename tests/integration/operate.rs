//! Operating sigil-top (issue 18): `report` gates that cannot pass on nothing, `watch`
//! that starts at now and resumes from `--cursor-file` without losing or repeating an
//! alert, `--exec` hooks under a storm, `/metrics` for Prometheus and the shipped systemd
//! units. All through the real binary over real journal files.

use tempfile::TempDir;

use crate::util::{data, journalctl, make_journal, sigil_top};

/// Exit status of a gate that had nothing to judge (README, "Exit status").
const GATE_READ_NOTHING: i32 = 3;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A gate over an empty directory exits 3 and says which unit had no entries and why it
/// may be; without a gate the report still says so, and exits 0.
#[test]
fn gate_over_an_empty_directory_fails_with_its_own_code() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = sigil_top(&["report", "-D", d, "--max-502", "0"], None);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(GATE_READ_NOTHING), "{err}");
    for unit in ["sigil-mcp.service", "cloudflared.service"] {
        assert!(
            err.contains(&format!("0 entries for {unit} between "))
                && err.contains("wrong unit name, or no permission?"),
            "{err}"
        );
    }
    let out = sigil_top(&["report", "-D", d], None);
    assert_eq!(out.status.code(), Some(0), "no gate, no failure");
    assert!(stderr_of(&out).contains("0 entries for sigil-mcp.service"));
}

/// A misspelt unit reads nothing: the gate fails (3) and names the unit, even though the
/// journal holds plenty; the right name over the same journal passes the same gate.
#[test]
fn gate_over_a_wrong_unit_fails_and_names_it() {
    let dir = TempDir::new().unwrap();
    make_journal(
        dir.path(),
        "x",
        &std::fs::read(data("real/kv-debug/export.txt")).unwrap(),
    );
    let d = dir.path().to_str().unwrap();
    let out = sigil_top(
        &[
            "report",
            "-D",
            d,
            "-u",
            "sigil-mpc",
            "-u",
            "cloudflared",
            "--max-502",
            "100",
        ],
        None,
    );
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(GATE_READ_NOTHING), "{err}");
    assert!(
        err.contains("0 entries for sigil-mpc.service between "),
        "{err}"
    );
    assert!(!err.contains("0 entries for cloudflared.service"), "{err}");
    let out = sigil_top(&["report", "-D", d, "--max-502", "100"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        !stderr_of(&out).contains("0 entries"),
        "{}",
        stderr_of(&out)
    );
    // A breach is reported as a breach (1) even when a unit read nothing.
    let out = sigil_top(
        &[
            "report",
            "-D",
            d,
            "-u",
            "sigil-mpc",
            "-u",
            "cloudflared",
            "--max-502",
            "0",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
}

/// `journalctl -o short` and `-o cat` piped in are refused with the `-o` to use, exit 2;
/// the same journal as `-o export` and `-o json` is read.
#[test]
fn text_that_is_not_export_or_json_is_refused_with_the_flag_to_use() {
    let dir = TempDir::new().unwrap();
    make_journal(
        dir.path(),
        "x",
        &std::fs::read(data("real/kv-debug/export.txt")).unwrap(),
    );
    let d = dir.path().to_str().unwrap();
    for output in ["short", "cat", "short-iso", "verbose"] {
        let text = journalctl(&["-D", d, "-o", output]);
        assert!(!text.is_empty());
        let out = sigil_top(&["report", "-", "--max-502", "100"], Some(&text));
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "-o {output}: {err}");
        assert!(
            err.contains("not `journalctl -o export` or `-o json` text")
                && err.contains("pipe `journalctl -o export"),
            "-o {output}: {err}"
        );
    }
    for output in ["export", "json"] {
        let text = journalctl(&["-D", d, "-o", output]);
        let out = sigil_top(&["report", "-", "--max-502", "100"], Some(&text));
        assert_eq!(
            out.status.code(),
            Some(0),
            "-o {output}: {}",
            stderr_of(&out)
        );
    }
    // Nothing at all on standard input is an empty input, which a gate refuses to pass.
    let out = sigil_top(&["report", "-", "--max-502", "100"], Some(b""));
    assert_eq!(
        out.status.code(),
        Some(GATE_READ_NOTHING),
        "{}",
        stderr_of(&out)
    );
}
