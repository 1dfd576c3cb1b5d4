//! journalctl's flags side by side with journalctl (issue 20): the same flags over the
//! same real journal files (several hosts, units, boots, every priority, identifiers,
//! mixed-case and multi-line messages), generated from a seeded generator and written
//! with `systemd-journal-remote`; `sigil-top entries` must print what `journalctl`
//! prints, byte for byte in the text modes, field for field in JSON.
//!
//! Known, documented differences are kept out of the generated data: a message that is
//! not printable (journalctl: `[N B blob data]`; sigil-top escapes it), fields sigil-top
//! does not keep (JSON compares the fields it prints), `SYSLOG_PID` (sigil-top shows
//! `_PID`); and with `--grep`, journalctl prints `-- Boot --` lines for boots among the
//! entries it read, matching or not, so grep rows compare with `-q`.

#![allow(
    clippy::too_many_lines,
    reason = "long scenario tests read top to bottom as one story (or one table)"
)]

use std::path::Path;
use std::process::Command;

use crate::util::{bin, export_text, make_journal, run, Record, Rng};

/// Who writes: unit, identifier, command.
const WRITERS: [(&str, &str, &str); 6] = [
    ("sigil-mcp.service", "sigil-mcp", "python3"),
    ("cloudflared.service", "cloudflared", "cloudflared"),
    ("cloudflared-update.service", "cloudflared", "cloudflared"),
    ("sigil-backup.service", "sigil-backup", "tar"),
    ("ssh.service", "sshd", "sshd"),
    ("cron.service", "CRON", "cron"),
];

const MESSAGES: [&str; 12] = [
    "INFO:     127.0.0.1:51234 - \"POST /mcp HTTP/1.1\" 200 OK",
    "ERROR: Exception in ASGI application",
    "error reading from origin: connection refused",
    "2026-11-24T10:00:00Z ERR  Unable to reach the origin service error=\"dial tcp [::1]:8000: connect: connection refused\"",
    "WARNING slow tool call: search took 12.5 s",
    "Accepted publickey for deploy from 10.0.0.7 port 50022",
    "Traceback (most recent call last):\n  File \"server.py\", line 10\nValueError: bad",
    "caf\u{e9} \u{dc}n\u{ef}code Warning",
    "GET /sse 200 in 3 ms",
    "Registered tunnel connection connIndex=0 location=fra06",
    "\tindented with a tab",
    "pam_unix(cron:session): session opened for user root",
];

/// A directory with two hosts' journal files: host `mcp-a` has two boots, `mcp-b` three,
/// entries of both interleaved in time; plus PID 1's lines about the units.
fn journal_dir(seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed | 1);
    let hosts: [(&str, usize); 2] = [("mcp-a", 2), ("mcp-b", 3)];
    for (h, (host, boots)) in hosts.iter().enumerate() {
        let mut records = Vec::new();
        let boot_ids: Vec<String> = (0..*boots)
            .map(|_| format!("{:016x}{:016x}", rng.next(), rng.next()))
            .collect();
        let mut t: u64 = 1_795_626_316_000_000 + h as u64 * 137;
        let n = 240;
        for i in 0..n {
            t += 50_000 + rng.below(900_000) as u64;
            let boot = &boot_ids[i * boots / n];
            let record = if rng.below(10) == 0 {
                let (unit, _, _) = rng.pick(&WRITERS);
                let verb = rng.pick(&["Started", "Stopping", "Stopped"]);
                Record::pid1(t, host, unit, &format!("{verb} {unit}."))
            } else {
                let (unit, ident, comm) = rng.pick(&WRITERS);
                let pid = 1000 + rng.below(5);
                Record::at(t)
                    .field("_TRANSPORT", "stdout")
                    .field("PRIORITY", rng.below(8).to_string())
                    .field("SYSLOG_IDENTIFIER", ident)
                    .field("_PID", pid.to_string())
                    .field("_UID", "998")
                    .field("_COMM", comm)
                    .field("_SYSTEMD_UNIT", unit)
                    .field("_HOSTNAME", host)
                    .field("MESSAGE", rng.pick(&MESSAGES))
            };
            // The generator's boot, not util's fixed one.
            let mut record = record;
            for (name, value) in &mut record.fields {
                if name == "_BOOT_ID" {
                    *value = boot.clone().into_bytes();
                }
            }
            records.push(record);
        }
        make_journal(dir.path(), host, &export_text(&records));
    }
    dir
}

/// Runs a program in a fixed time zone (not UTC, so local-time printing is exercised).
fn output(program: &Path, args: &[&str]) -> std::process::Output {
    run(
        Command::new(program)
            .args(args)
            .env("TZ", "Europe/Berlin")
            .env("SYSTEMD_COLORS", "0"),
        None,
    )
}

fn journalctl_out(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--no-pager", "-D", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    output(Path::new("journalctl"), &all)
}

fn sigil_top_out(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["entries", "-D", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    output(&bin(), &all)
}

/// Both succeed and print the same bytes, or both fail.
fn assert_same_output(dir: &Path, args: &[&str]) {
    let want = journalctl_out(dir, args);
    let got = sigil_top_out(dir, args);
    assert_eq!(
        got.status.success(),
        want.status.success(),
        "{args:?}: journalctl {} ({}), sigil-top {} ({})",
        want.status,
        String::from_utf8_lossy(&want.stderr),
        got.status,
        String::from_utf8_lossy(&got.stderr),
    );
    if !want.status.success() {
        return;
    }
    let (want, got) = (
        String::from_utf8_lossy(&want.stdout),
        String::from_utf8_lossy(&got.stdout),
    );
    if want != got {
        let first = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        let mut message = format!(
            "{args:?}: outputs differ at line {first} (journalctl {} lines, sigil-top {})\n\
             journalctl: {:?}\nsigil-top:  {:?}",
            want.lines().count(),
            got.lines().count(),
            want.lines().nth(first),
            got.lines().nth(first),
        );
        if want.len() + got.len() < 8000 {
            message = format!("{message}\n--- journalctl\n{want}--- sigil-top\n{got}");
        }
        panic!("{message}");
    }
}

/// A small filter set many rows share: every unit the generator writes.
const UNITS: [&str; 12] = [
    "-u",
    "sigil-mcp",
    "-u",
    "cloudflared",
    "-u",
    "cloudflared-update",
    "-u",
    "sigil-backup",
    "-u",
    "ssh",
    "-u",
    "cron",
];

fn with_units(args: &[&str]) -> Vec<String> {
    UNITS.iter().chain(args).map(ToString::to_string).collect()
}

fn check_rows(dir: &Path, rows: &[Vec<String>]) {
    for row in rows {
        let args: Vec<&str> = row.iter().map(String::as_str).collect();
        assert_same_output(dir, &args);
    }
}

#[test]
fn output_modes_utc_and_quiet_print_what_journalctl_prints() {
    let dir = journal_dir(20);
    let mut rows = Vec::new();
    for mode in ["short", "short-iso", "short-precise", "cat"] {
        rows.push(with_units(&["-o", mode]));
        rows.push(with_units(&["-o", mode, "--utc"]));
        rows.push(with_units(&["-o", mode, "-q"]));
    }
    // Nothing matches: journalctl's "-- No entries --" (and nothing with -q).
    rows.push(vec!["-u".into(), "nothing-here".into()]);
    rows.push(vec!["-u".into(), "nothing-here".into(), "-q".into()]);
    check_rows(dir.path(), &rows);
}

#[test]
fn priorities_by_name_number_and_range_match_journalctl() {
    let dir = journal_dir(21);
    let rows: Vec<Vec<String>> = [
        "emerg",
        "alert",
        "crit",
        "err",
        "3",
        "warning",
        "notice",
        "info",
        "7",
        "err..warning",
        "warning..err",
        "0..2",
        "notice..debug",
    ]
    .iter()
    .map(|p| with_units(&["-p", p, "-o", "short-precise"]))
    .collect();
    check_rows(dir.path(), &rows);
}

#[test]
fn grep_with_journalctls_smart_case_and_case_sensitive_matches_journalctl() {
    let dir = journal_dir(22);
    let mut rows = Vec::new();
    for pattern in [
        "error",
        "Error",
        "ERROR",
        "warning",
        "conn.*refused",
        "^GET",
        "caf\u{e9}",
        "Value",
    ] {
        rows.push(with_units(&["-g", pattern, "-q", "-o", "short-precise"]));
        rows.push(with_units(&[
            "--grep",
            pattern,
            "--case-sensitive",
            "-q",
            "-o",
            "short-precise",
        ]));
        rows.push(with_units(&[
            "-g",
            pattern,
            "--case-sensitive=false",
            "-q",
            "-o",
            "short-precise",
        ]));
    }
    check_rows(dir.path(), &rows);
    // -n counts what is shown. journalctl 252 prints `-n N --grep` newest first (a bug
    // fixed in later systemd; without --grep it prints oldest first): sigil-top prints
    // oldest first, so its `-r` must equal journalctl's output.
    let args = with_units(&["-g", "error", "-n", "5", "-q", "-o", "short-precise"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let want = journalctl_out(dir.path(), &args);
    let mut reversed = args.clone();
    reversed.push("-r");
    let got = sigil_top_out(dir.path(), &reversed);
    assert!(want.status.success() && got.status.success());
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&want.stdout)
            .lines()
            .filter(|l| l.starts_with("Nov "))
            .count(),
        5,
        "five entries"
    );
}

#[test]
fn unit_globs_identifiers_and_reverse_match_journalctl() {
    let dir = journal_dir(23);
    let s = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let rows = vec![
        s(&["-u", "cloudflared*", "-o", "short-precise"]),
        s(&["-u", "sigil*", "-o", "short-precise"]),
        s(&[
            "-u",
            "sigil*",
            "-u",
            "cloudflared.service",
            "-o",
            "short-precise",
        ]),
        s(&["-u", "*", "-o", "short-precise"]),
        s(&["-u", "[cs]*", "-n", "7", "-o", "short-precise"]),
        with_units(&["-t", "cloudflared", "-o", "short-precise"]),
        with_units(&["-t", "sshd", "-t", "CRON", "-o", "short-precise"]),
        with_units(&["-t", "systemd", "-p", "info", "-o", "short-precise"]),
        with_units(&["-r", "-o", "short-precise"]),
        with_units(&["-r", "-n", "10", "-o", "short-precise"]),
        s(&["-u", "sigil*", "-r", "-g", "error", "-q"]),
    ];
    check_rows(dir.path(), &rows);
}

/// The boots journalctl lists for `dir`, oldest first.
fn boot_ids(dir: &Path) -> Vec<String> {
    let out = journalctl_out(dir, &["--list-boots", "-q"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(ToString::to_string))
        .filter(|id| id.len() == 32)
        .collect()
}

#[test]
fn boots_by_offset_id_and_id_with_offset_match_journalctl() {
    let dir = journal_dir(24);
    let ids = boot_ids(dir.path());
    assert!(ids.len() >= 3, "the generator makes several boots: {ids:?}");
    let mut rows = Vec::new();
    for b in ["0", "-1", "-2", "1", "2", "+3", "-40", "40"] {
        rows.push(with_units(&["-b", b, "-o", "short-precise"]));
    }
    rows.push(with_units(&["-o", "short-precise", "-b"]));
    for id in &ids {
        rows.push(with_units(&["-b", id, "-o", "short-precise"]));
        rows.push(with_units(&[
            "-b",
            &format!("{id}+1"),
            "-o",
            "short-precise",
        ]));
        rows.push(with_units(&[
            "-b",
            &format!("{id}-1"),
            "-o",
            "short-precise",
        ]));
    }
    rows.push(with_units(&["-b", "0123456789abcdef0123456789abcdef"]));
    check_rows(dir.path(), &rows);
}

#[test]
fn cursor_and_after_cursor_start_where_journalctls_do() {
    let dir = journal_dir(25);
    let all = journalctl_out(
        dir.path(),
        &with_units(&["-o", "json"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let cursors: Vec<String> = crate::util::json_lines(&all.stdout)
        .iter()
        .map(|v| v["__CURSOR"].as_str().unwrap().to_owned())
        .collect();
    assert!(cursors.len() > 100);
    let mut rows = Vec::new();
    for i in [0, 1, cursors.len() / 2, cursors.len() - 1] {
        rows.push(with_units(&[
            "--cursor",
            &cursors[i],
            "-o",
            "short-precise",
        ]));
        rows.push(with_units(&[
            "--after-cursor",
            &cursors[i],
            "-o",
            "short-precise",
        ]));
        rows.push(with_units(&[
            "--after-cursor",
            &cursors[i],
            "-n",
            "3",
            "-o",
            "short-precise",
        ]));
    }
    check_rows(dir.path(), &rows);
}

#[test]
fn json_and_json_pretty_carry_journalctls_values_for_every_field_printed() {
    let dir = journal_dir(26);
    let args = with_units(&["-p", "warning"]);
    let mut json = args.clone();
    json.extend(["-o".to_owned(), "json".to_owned()]);
    let json: Vec<&str> = json.iter().map(String::as_str).collect();
    let want = crate::util::json_lines(&journalctl_out(dir.path(), &json).stdout);
    let got = crate::util::json_lines(&sigil_top_out(dir.path(), &json).stdout);
    assert_eq!(want.len(), got.len());
    assert!(!want.is_empty());
    for (w, g) in want.iter().zip(&got) {
        let g = g.as_object().unwrap();
        let upper: Vec<&String> = g
            .keys()
            .filter(|k| k.starts_with(|c: char| c.is_ascii_uppercase() || c == '_'))
            .collect();
        for key in [
            "__CURSOR",
            "__REALTIME_TIMESTAMP",
            "__MONOTONIC_TIMESTAMP",
            "_BOOT_ID",
            "MESSAGE",
            "PRIORITY",
            "_PID",
            "_HOSTNAME",
            "_SYSTEMD_UNIT",
            "SYSLOG_IDENTIFIER",
        ] {
            assert!(g.contains_key(key), "{key} missing from {g:?}");
        }
        for key in upper {
            assert_eq!(&g[key], &w[key], "{key} differs");
        }
    }
    // json-pretty: the same objects, indented.
    let mut pretty = args.clone();
    pretty.extend(["-o".to_owned(), "json-pretty".to_owned()]);
    let pretty: Vec<&str> = pretty.iter().map(String::as_str).collect();
    let text = sigil_top_out(dir.path(), &pretty).stdout;
    let objects: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&text)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(objects.len(), got.len());
    assert!(text.starts_with(b"{\n"));
    for (p, g) in objects.iter().zip(&got) {
        assert_eq!(p, g);
    }
}

#[test]
fn export_is_read_back_by_systemd_journal_remote_into_the_same_entries() {
    let dir = journal_dir(27);
    let args = with_units(&["-o", "export"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let export = sigil_top_out(dir.path(), &args).stdout;
    let back = tempfile::tempdir().unwrap();
    make_journal(back.path(), "back", &export);
    // Every entry, with its fields, as journalctl reads them from the original.
    let fields = "MESSAGE,PRIORITY,_PID,_HOSTNAME,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,UNIT,_BOOT_ID";
    let read = |d: &Path, units: bool| {
        let mut a = vec!["-o", "json", "--output-fields", fields];
        if units {
            a.extend_from_slice(&UNITS);
        }
        crate::util::json_lines(&journalctl_out(d, &a).stdout)
            .into_iter()
            .map(|mut v| {
                // journal-remote writes its own cursors and monotonic clock.
                let o = v.as_object_mut().unwrap();
                o.remove("__CURSOR");
                o.remove("__MONOTONIC_TIMESTAMP");
                v
            })
            .collect::<Vec<_>>()
    };
    let original = read(dir.path(), true);
    let round_trip = read(back.path(), false);
    assert!(original.len() > 100);
    assert_eq!(original.len(), round_trip.len());
    for (a, b) in original.iter().zip(&round_trip) {
        assert_eq!(a, b);
    }
}

#[test]
fn filters_apply_to_stats_and_report_too() {
    let dir = journal_dir(28);
    let d = dir.path().to_str().unwrap();
    let ok = |args: &[&str]| {
        let out = output(&bin(), args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let stats_entries = |args: &[&str]| {
        String::from_utf8_lossy(&ok(args))
            .lines()
            .find_map(|l| {
                l.strip_prefix("entries")
                    .map(|n| n.trim().parse::<usize>().unwrap())
            })
            .unwrap()
    };
    let journalctl_count = |args: &[&str]| {
        let mut a = vec!["-u", "sigil-mcp", "-u", "cloudflared", "-o", "json"];
        a.extend_from_slice(args);
        crate::util::json_lines(&journalctl_out(dir.path(), &a).stdout).len()
    };
    for filter in [
        &["-p", "err"][..],
        &["-t", "cloudflared"],
        &["-g", "refused"],
        &["-b", "-1"],
    ] {
        let mut args = vec!["stats", "-D", d];
        args.extend_from_slice(filter);
        let got = stats_entries(&args);
        assert_eq!(got, journalctl_count(filter), "stats {filter:?}");
        assert!(
            got < stats_entries(&["stats", "-D", d]),
            "{filter:?} filters"
        );
    }
    // A glob counts under the units it matched, and is no unit of its own (a 0 there
    // would be a claim).
    let glob = String::from_utf8(ok(&["stats", "-D", d, "-u", "cloudflared*"])).unwrap();
    assert!(!glob.contains("cloudflared*"), "{glob}");
    for unit in ["cloudflared.service", "cloudflared-update.service"] {
        assert!(
            glob.lines().any(|l| l.trim_end().ends_with(unit)),
            "{unit}: {glob}"
        );
    }
    // The report reads the same filtered entries: no cloudflared line, no tunnel data.
    let report: serde_json::Value = serde_json::from_slice(&ok(&[
        "report",
        "-D",
        d,
        "--format",
        "json",
        "-t",
        "sigil-mcp",
    ]))
    .unwrap();
    let all: serde_json::Value =
        serde_json::from_slice(&ok(&["report", "-D", d, "--format", "json"])).unwrap();
    assert_ne!(report, all, "-t changes what the report read");
}

#[test]
fn flags_that_cannot_work_together_are_refused_with_the_flag_named() {
    let dir = journal_dir(29);
    let d = dir.path().to_str().unwrap();
    let rows: [(&[&str], &str); 7] = [
        (&["entries", "-D", d, "-p", "loud"], "-p/--priority"),
        (&["entries", "-D", d, "-b", "soon"], "-b/--boot"),
        (&["entries", "-D", d, "-g", "("], "-g/--grep"),
        (
            &["entries", "-D", d, "--cursor", "x", "--since", "-1h"],
            "--cursor",
        ),
        (&["entries", "-", "-b", "-1"], "-b/--boot"),
        (&["report", "-D", d, "-r"], "-r/--reverse"),
        (&["entries", "-D", d, "-r", "--follow"], "-r/--reverse"),
    ];
    for (args, want) in rows {
        let out = output(&bin(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // --no-pager is accepted and changes nothing.
    let a = output(&bin(), &["entries", "-D", d, "--no-pager"]);
    let b = output(&bin(), &["entries", "-D", d]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn text_input_filters_agree_with_the_journal_source() {
    // The same filters over `journalctl -o export` on standard input and over the files.
    let dir = journal_dir(30);
    let export = journalctl_out(dir.path(), &["-o", "export"]).stdout;
    let boots = boot_ids(dir.path());
    let cursors: Vec<String> = crate::util::json_lines(
        &journalctl_out(
            dir.path(),
            &with_units(&["-o", "json"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .stdout,
    )
    .iter()
    .map(|v| v["__CURSOR"].as_str().unwrap().to_owned())
    .collect();
    let middle = &cursors[cursors.len() / 2];
    let rows: Vec<Vec<String>> = vec![
        with_units(&["--cursor", middle]),
        with_units(&["--after-cursor", middle]),
        with_units(&["-p", "err..warning"]),
        with_units(&["-g", "Error"]),
        with_units(&["-t", "sshd", "-t", "systemd"]),
        with_units(&["-b", &boots[1]]),
        vec!["-u".into(), "cloudflared*".into()],
    ];
    for row in rows {
        let mut a: Vec<&str> = row.iter().map(String::as_str).collect();
        a.extend_from_slice(&["-o", "short-precise"]);
        let from_files = sigil_top_out(dir.path(), &a);
        let mut s = vec!["entries", "-"];
        s.extend_from_slice(&a);
        let from_stdin = run(
            Command::new(bin()).args(&s).env("TZ", "Europe/Berlin"),
            Some(&export),
        );
        assert!(
            from_stdin.status.success(),
            "{}",
            String::from_utf8_lossy(&from_stdin.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&from_files.stdout),
            String::from_utf8_lossy(&from_stdin.stdout),
            "{row:?}"
        );
    }
}

#[test]
fn filters_apply_to_the_live_screen() {
    // The screen reads through the same filtered sources: with `-g`, every log line it
    // shows matches; without, other lines are there.
    let dir = journal_dir(31);
    let screen_of = |extra: &str, wait: &str| {
        let cmd = format!(
            "{} -D {} {extra}; echo EXITED $?; sleep 600",
            bin().display(),
            dir.path().display()
        );
        let tmux = crate::util::Tmux::start(&cmd, 160, 50);
        let screen = tmux.wait_for(&[wait, "end of input"], std::time::Duration::from_secs(20));
        tmux.send(&["q"]);
        screen
    };
    let all = screen_of("", "Registered tunnel connection");
    assert!(all.contains("Registered tunnel connection"), "{all}");
    let only = screen_of("-g 'Accepted publickey'", "Accepted publickey");
    for other in [
        "Registered tunnel connection",
        "POST /mcp",
        "session opened",
    ] {
        assert!(!only.contains(other), "{other} shown despite -g:\n{only}");
    }
}

/// One `--since`/`--until` case: the text typed, the zone it is typed in, and where the
/// planted entries lie. See `since_and_until_read_times_as_journalctl_does`.
struct TimeCase {
    tz: &'static str,
    text: String,
    /// The instant the text means (µs), worked out by hand from the calendar; entries are
    /// planted 1 µs before it, at it and 1 µs after it.
    at_us: u64,
}

/// Runs `program ARGS` with `TZ=tz` over `dir`.
fn in_zone(program: &Path, tz: &str, args: &[&str]) -> std::process::Output {
    run(
        Command::new(program)
            .args(args)
            .env("TZ", tz)
            .env("SYSTEMD_COLORS", "0"),
        None,
    )
}

/// See: issue 20 (point 3). `--since`/`--until` read times as journalctl 252 does,
/// weekdays and zone names included, under several `TZ` values: for each case, entries
/// are planted 1 µs before, at and 1 µs after the instant the text means, and both
/// programs are asked for `--since TEXT --until TEXT`; each must print the one entry at
/// that instant (journalctl's output is checked too, so an agreement on nothing fails).
/// Relative forms are checked against entries ±20 s around their boundary; forms
/// journalctl refuses must be refused by both.
#[test]
fn since_and_until_read_times_as_journalctl_does() {
    let us = |rfc3339: &str| -> u64 {
        let t: jiff::Timestamp = rfc3339.parse().unwrap();
        u64::try_from(t.as_microsecond()).unwrap()
    };
    let this_year = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
        .year();
    let case = |tz: &'static str, text: &str, at: &str| TimeCase {
        tz,
        text: text.to_owned(),
        at_us: us(at),
    };
    let berlin = "Europe/Berlin";
    let ny = "America/New_York";
    let cases = vec![
        case(berlin, "2026-12-07 10:00", "2026-12-07T09:00:00Z"),
        case(berlin, "Mon 2026-12-07 10:00", "2026-12-07T09:00:00Z"),
        case(
            berlin,
            "monday 2026-12-07 10:00:00.25",
            "2026-12-07T09:00:00.25Z",
        ),
        case(
            berlin,
            "2026-12-07 10:00:00.1234567",
            "2026-12-07T09:00:00.123457Z",
        ),
        case(
            berlin,
            "2026-12-07 10:00 Asia/Tokyo",
            "2026-12-07T01:00:00Z",
        ),
        case(
            berlin,
            "Mon 2026-12-07 10:00 America/New_York",
            "2026-12-07T15:00:00Z",
        ),
        case(
            berlin,
            "2026-12-07 10:00 Europe/Berlin",
            "2026-12-07T09:00:00Z",
        ),
        case(
            berlin,
            "2026-07-01 10:00 Europe/Berlin",
            "2026-07-01T08:00:00Z",
        ),
        case(berlin, "2026-12-07 10:00 UTC", "2026-12-07T10:00:00Z"),
        case(berlin, "2026-12-07 10:00 utc", "2026-12-07T10:00:00Z"),
        case(berlin, "2026-12-07 10:00 CEST", "2026-12-07T08:00:00Z"),
        case(berlin, "2026-07-01 10:00 cet", "2026-07-01T09:00:00Z"),
        case(berlin, "2026-07-01 10:00", "2026-07-01T08:00:00Z"),
        case(berlin, "26-12-07 10:00", "2026-12-07T09:00:00Z"),
        case(berlin, "2026-2-30 10:00", "2026-03-02T09:00:00Z"),
        case(berlin, "2026-12-07 10:00:60", "2026-12-07T09:01:00Z"),
        case(berlin, "2026-10-25 02:30", "2026-10-25T01:30:00Z"),
        case(berlin, "2026-03-29 02:30", "2026-03-29T01:30:00Z"),
        case(berlin, "@1796637600.5", "2026-12-07T10:00:00.5Z"),
        TimeCase {
            tz: berlin,
            text: "Dec 07 10:00:00".into(),
            at_us: us(&format!("{this_year}-12-07T09:00:00Z")),
        },
        case(ny, "2026-12-07 10:00", "2026-12-07T15:00:00Z"),
        case(ny, "2026-11-01 01:30", "2026-11-01T05:30:00Z"),
        case(ny, "2026-12-07 10:00 EDT", "2026-12-07T14:00:00Z"),
        case(ny, "2026-12-07 10:00 Europe/Berlin", "2026-12-07T09:00:00Z"),
        case("UTC", "2026-12-07 10:00", "2026-12-07T10:00:00Z"),
        case(
            "UTC",
            "2026-12-07 10:00 Asia/Kolkata",
            "2026-12-07T04:30:00Z",
        ),
        case(":Asia/Tokyo", "2026-12-07 10:00", "2026-12-07T01:00:00Z"),
        case(
            "EST5EDT,M3.2.0,M11.1.0",
            "2026-07-01 10:00",
            "2026-07-01T14:00:00Z",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        for (dt, what) in [(-1i64, "before"), (0, "at"), (1, "after")] {
            let t = c.at_us.checked_add_signed(dt).unwrap();
            records.push(Record::service(
                t,
                "mcp-a",
                "sigil-mcp.service",
                1000,
                "python3",
                format!("case{i} {what}"),
            ));
        }
    }
    // Relative forms: entries 20 s either side of each boundary, from a "now" taken here
    // (both programs run within seconds of it).
    let now_us = u64::try_from(jiff::Timestamp::now().as_microsecond()).unwrap();
    let relative: [(&str, &str, i64); 6] = [
        ("--since", "-1h30m", -5_400),
        ("--since", "-1h 30min", -5_400),
        ("--since", "-90", -90),
        ("--since", "10 min ago", -600),
        ("--until", "+5m", 300),
        ("--until", "5min left", 300),
    ];
    for (i, (_, _, offset_s)) in relative.iter().enumerate() {
        let boundary = now_us.checked_add_signed(offset_s * 1_000_000).unwrap();
        for (what, t) in [
            ("before", boundary - 20_000_000),
            ("after", boundary + 20_000_000),
        ] {
            records.push(Record::service(
                t,
                "mcp-a",
                "sigil-mcp.service",
                1000,
                "python3",
                format!("rel{i} {what}"),
            ));
        }
    }
    records.sort_by_key(|r| {
        String::from_utf8_lossy(&r.fields[0].1)
            .parse::<u64>()
            .unwrap()
    });
    make_journal(dir.path(), "times", &export_text(&records));
    let d = dir.path().to_str().unwrap();
    let both = |tz: &str, args: &[&str]| {
        let mut a = vec!["-D", d, "-u", "sigil-mcp", "-q", "-o", "short-precise"];
        a.extend_from_slice(args);
        let want = in_zone(
            Path::new("journalctl"),
            tz,
            &[&["--no-pager"], &a[..]].concat(),
        );
        let got = in_zone(&bin(), tz, &[&["entries"], &a[..]].concat());
        (want, got)
    };
    for (i, c) in cases.iter().enumerate() {
        let tag = format!("case{i} ");
        let (want, got) = both(c.tz, &["-g", &tag, "--since", &c.text, "--until", &c.text]);
        let (want_out, got_out) = (
            String::from_utf8_lossy(&want.stdout),
            String::from_utf8_lossy(&got.stdout),
        );
        assert!(
            want.status.success() && want_out.lines().count() == 1 && want_out.contains("at"),
            "TZ={} {:?}: journalctl does not read it as {}: {want_out}{}",
            c.tz,
            c.text,
            c.at_us,
            String::from_utf8_lossy(&want.stderr)
        );
        assert_eq!(
            got_out,
            want_out,
            "TZ={} {:?}: sigil-top {}",
            c.tz,
            c.text,
            String::from_utf8_lossy(&got.stderr)
        );
    }
    for (i, (flag, text, _)) in relative.iter().enumerate() {
        let tag = format!("rel{i} ");
        let (want, got) = both(berlin, &["-g", &tag, flag, text]);
        let want_out = String::from_utf8_lossy(&want.stdout);
        let kept = if *flag == "--since" {
            "after"
        } else {
            "before"
        };
        assert!(
            want_out.lines().count() == 1 && want_out.contains(kept),
            "journalctl {flag} {text:?}: {want_out}"
        );
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            want_out,
            "{flag} {text:?}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
    }
    // `today` and `yesterday` are local midnights: compare over every planted entry.
    for text in ["today", "yesterday", "tomorrow"] {
        let (want, got) = both(ny, &["--since", text]);
        assert_eq!(want.status.success(), got.status.success(), "{text}");
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "--since {text}"
        );
    }
    // What journalctl refuses, sigil-top refuses.
    for text in [
        "Tue 2026-12-07 10:00",
        "Sunday 2026-12-07",
        "2026-12-07 10:00 europe/berlin",
        "2026-12-07 10:00 Nowhere/City",
        "-1h UTC",
        "now UTC",
        "NOW",
        "-5mins",
        "2026-12-07 24:00",
        "Dec 7 10:00",
        "1969-12-31 23:00 UTC",
    ] {
        let (want, got) = both(berlin, &["--since", text]);
        assert!(!want.status.success(), "journalctl read {text:?}");
        assert!(!got.status.success(), "sigil-top read {text:?}");
        let err = String::from_utf8_lossy(&got.stderr);
        assert!(
            err.contains("--since") && err.contains("accepted forms"),
            "{err}"
        );
    }
}

/// See: issue 20 (point 3). Generated calendar times (dates over a year with both DST
/// changes, times with and without seconds and fractions, one- and two-digit fields,
/// right and wrong weekdays in any case, every kind of zone word, several `TZ`): journalctl
/// and sigil-top must both refuse, or both start at the same entry (`--since X -n 1` over
/// a journal with an entry every 13 minutes, so a reading off by an hour or a day shows).
#[test]
fn generated_times_start_where_journalctls_do() {
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const FULL: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    const ZONES: [&str; 12] = [
        "",
        " UTC",
        " utc",
        " Europe/Berlin",
        " Asia/Tokyo",
        " America/New_York",
        " Australia/Lord_Howe",
        " CET",
        " CEST",
        " cest",
        " EST",
        " europe/berlin",
    ];
    const TZS: [&str; 4] = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"];
    let dir = tempfile::tempdir().unwrap();
    let start: jiff::Timestamp = "2026-03-01T00:00:07Z".parse().unwrap();
    let start_us = u64::try_from(start.as_microsecond()).unwrap();
    let step_us = 13 * 60 * 1_000_000;
    let records: Vec<Record> = (0..36_000u64)
        .map(|i| {
            Record::service(
                start_us + i * step_us,
                "mcp-a",
                "sigil-mcp.service",
                1000,
                "python3",
                format!("tick {i}"),
            )
        })
        .collect();
    make_journal(dir.path(), "ticks", &export_text(&records));
    let d = dir.path().to_str().unwrap();
    let mut rng = Rng(0x7155_0020);
    let mut agreed_on_an_entry = 0;
    for _ in 0..160 {
        let date = jiff::civil::date(2026, 3, 1)
            .checked_add(jiff::Span::new().days(i64::try_from(rng.below(300)).unwrap()))
            .unwrap();
        let (hh, mm, ss) = (rng.below(24), rng.below(60), rng.below(60));
        let mut text = String::new();
        // A weekday: none, the date's own, or another, in any spelling and case.
        match rng.below(4) {
            0 | 1 => {}
            k => {
                let nr = if k == 2 {
                    usize::try_from(date.weekday().to_sunday_zero_offset()).unwrap()
                } else {
                    rng.below(7)
                };
                let name = if rng.below(2) == 0 {
                    WEEKDAYS[nr]
                } else {
                    FULL[nr]
                };
                let name = match rng.below(3) {
                    0 => name.to_lowercase(),
                    1 => name.to_uppercase(),
                    _ => name.to_owned(),
                };
                text.push_str(&name);
                text.push(' ');
            }
        }
        let (y, mo, dd) = (date.year(), date.month(), date.day());
        let calendar = match rng.below(7) {
            0 => format!("{y}-{mo:02}-{dd:02} {hh:02}:{mm:02}"),
            1 => format!("{y}-{mo}-{dd} {hh}:{mm}"),
            2 => format!("{}-{mo:02}-{dd:02} {hh:02}:{mm:02}", y % 100),
            3 => format!("{y}-{mo:02}-{dd:02}"),
            4 => format!(
                "{y}-{mo:02}-{dd:02} {hh:02}:{mm:02}:{ss:02}.{}",
                rng.below(1000)
            ),
            5 => format!("{hh:02}:{mm:02}"),
            _ => format!("{y}-{mo:02}-{dd:02} {hh:02}:{mm:02}:{ss:02}"),
        };
        text.push_str(&calendar);
        text.push_str(ZONES[rng.below(ZONES.len())]);
        let tz = TZS[rng.below(TZS.len())];
        let args = [
            "-D",
            d,
            "-u",
            "sigil-mcp",
            "-o",
            "short-precise",
            "--since",
            &text,
            "-n",
            "1",
        ];
        let want = in_zone(
            Path::new("journalctl"),
            tz,
            &[&["--no-pager"], &args[..]].concat(),
        );
        let got = in_zone(&bin(), tz, &[&["entries"], &args[..]].concat());
        assert_eq!(
            got.status.success(),
            want.status.success(),
            "TZ={tz} --since {text:?}: journalctl {}, sigil-top {}",
            String::from_utf8_lossy(&want.stderr),
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "TZ={tz} --since {text:?}"
        );
        agreed_on_an_entry += usize::from(want.status.success() && !want.stdout.is_empty());
    }
    assert!(
        agreed_on_an_entry > 60,
        "only {agreed_on_an_entry} readable cases"
    );
}
