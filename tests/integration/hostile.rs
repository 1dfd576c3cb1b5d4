//! Hostile input through the real binary: a table of bad inputs, each fed through standard
//! input (`report - --format json`, `entries - -o json`) and, where a journal can hold it,
//! through a real journal file (`make_journal` + `report -D`). Every row states its outcome
//! (shown as-is, counted as unparsed, skipped with a warning, or an error with exit 2), and
//! no run may panic (exit 101, "panicked" on stderr). Then terminal injection: escape
//! sequences and invisible characters in a log line never reach the output raw.
//!
//! See `docs/robustness.md` for the table in words, and issue 8.

#![allow(
    clippy::too_many_lines,
    reason = "long scenario tests read top to bottom as one story (or one table)"
)]

use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{bin, export_text, json_lines, make_journal, run, sigil_top, Record};

const T0: u64 = 1_795_626_317_811_775;
const RID: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

fn sigil(at: u64, message: impl AsRef<[u8]>) -> Record {
    Record::service(
        at,
        "mcp-host",
        "sigil-mcp.service",
        13607,
        "python",
        message,
    )
}

fn tunnel(at: u64, message: impl AsRef<[u8]>) -> Record {
    Record::service(
        at,
        "mcp-host",
        "cloudflared.service",
        901,
        "cloudflared",
        message,
    )
}

/// What a row must come out as.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// Every entry read and shown byte for byte: `entries` of them, `unparsed` of which
    /// no parser understood.
    Shown { entries: u64, unparsed: u64 },
    /// The whole entries kept (`entries`), the bad part skipped with a warning holding
    /// `warning`; exit 0.
    Skipped { entries: u64, warning: &'static str },
    /// A clear error, exit 2, holding this text on stderr.
    Error(&'static str),
}

struct Row {
    name: &'static str,
    /// The records, as a journal holds them and as `export_text` writes them.
    records: Vec<Record>,
    /// The exact bytes for standard input, when they are not `export_text(records)` (a
    /// broken stream, JSON); such a stream has no journal form.
    stdin: Option<Vec<u8>>,
    /// Whether a real journal file can hold `records` (systemd-journal-remote accepts them).
    journal: bool,
    /// Flags added to every run.
    args: &'static [&'static str],
    want: Want,
}

impl Row {
    fn records(name: &'static str, records: Vec<Record>, want: Want) -> Row {
        Row {
            name,
            records,
            stdin: None,
            journal: true,
            args: &[],
            want,
        }
    }

    fn stream(name: &'static str, stdin: Vec<u8>, want: Want) -> Row {
        Row {
            name,
            records: Vec::new(),
            stdin: Some(stdin),
            journal: false,
            args: &[],
            want,
        }
    }

    fn stdin_bytes(&self) -> Vec<u8> {
        self.stdin
            .clone()
            .unwrap_or_else(|| export_text(&self.records))
    }
}

fn rows() -> Vec<Row> {
    let ten_mb = vec![b'x'; 10 * 1024 * 1024];
    let deep = "[".repeat(100_000);
    let two_ok = || vec![sigil(T0, "first"), sigil(T0 + 1, "second")];
    let mut truncated = export_text(&two_ok());
    // A binary MESSAGE whose length prefix (16 bytes) runs past the end of the input.
    truncated.extend_from_slice(b"__REALTIME_TIMESTAMP=9\nMESSAGE\n\x10\0\0\0\0\0\0\0abc");
    let mut short_prefix = export_text(&two_ok());
    short_prefix.extend_from_slice(b"__REALTIME_TIMESTAMP=9\nMESSAGE\n\x10\0\0");
    let no_equals = b"__REALTIME_TIMESTAMP=1795626317811775\n_SYSTEMD_UNIT=sigil-mcp.service\n\
this line has no equals sign\nNOEQ\nMESSAGE=kept\n\n"
        .to_vec();
    let sigil_json = |message: &str| {
        serde_json::json!({
            "__REALTIME_TIMESTAMP": T0.to_string(),
            "_SYSTEMD_UNIT": "sigil-mcp.service",
            "MESSAGE": message,
        })
        .to_string()
    };
    let not_objects = format!(
        "{}\n[1,2]\n\"a string\"\n42\nnull\ntrue\n{{not json\n",
        sigil_json("one")
    );
    let deep_json_line = format!("{}\n{{\"MESSAGE\":{deep}\n", sigil_json("one"));
    let outgoing = |status: &str, duration: &str| {
        format!(
            "2026-11-25 17:05:19 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response \
request_id={RID} status_code={status} duration_ms={duration} method=POST path=/"
        )
    };
    let incoming = format!(
        "2026-11-25 17:05:19 [INFO] sigil_repos_mcp - Incoming MCP HTTP request \
request_id={RID} method=POST path=/ client_ip=1.2.3.4"
    );
    let native = |status: &str, duration: &str| {
        sigil(T0 + 5, "Outgoing MCP HTTP response")
            .field("REQUEST_ID", RID)
            .field("STATUS_CODE", status)
            .field("DURATION_MS", duration)
    };

    vec![
        Row::records(
            "invalid UTF-8",
            vec![
                sigil(T0, b"\xff\xfe\xfd not text \xc3\x28"),
                sigil(
                    T0 + 1,
                    b"2026-11-25 17:05:17 [INFO] sigil_repos_mcp - bad \xff byte",
                ),
                tunnel(T0 + 2, b"2026-11-25T17:05:18Z INF \xff\xfe msg=\xc0\x80"),
            ],
            Want::Shown {
                entries: 3,
                unparsed: 1,
            },
        ),
        Row::records(
            "NUL bytes",
            vec![
                sigil(T0, b"nul\0inside\0"),
                tunnel(T0 + 1, b"2026-11-25T17:05:18Z INF a\0b connIndex=0"),
            ],
            Want::Shown {
                entries: 2,
                unparsed: 1,
            },
        ),
        Row::records(
            "a 10 MB single line",
            vec![sigil(T0, &ten_mb), tunnel(T0 + 1, &ten_mb)],
            Want::Shown {
                entries: 2,
                unparsed: 2,
            },
        ),
        Row::stream(
            "a truncated export stream (length prefix past EOF)",
            truncated,
            Want::Skipped {
                entries: 2,
                warning: "truncated",
            },
        ),
        Row::stream(
            "a truncated export stream (length prefix itself cut)",
            short_prefix,
            Want::Skipped {
                entries: 2,
                warning: "truncated",
            },
        ),
        Row::stream(
            "export fields with no '='",
            no_equals,
            Want::Skipped {
                entries: 1,
                warning: "no '='",
            },
        ),
        Row::stream(
            "JSON lines that are not objects",
            not_objects.into_bytes(),
            Want::Skipped {
                entries: 1,
                warning: "instead of an object",
            },
        ),
        Row::stream(
            "a JSON line nested 100k deep",
            deep_json_line.into_bytes(),
            Want::Skipped {
                entries: 1,
                warning: "not JSON",
            },
        ),
        Row::stream(
            "an export stream of 100k '['",
            format!("{deep}\n").into_bytes(),
            // Not journal text at all: refused whole, naming the `-o` to use.
            Want::Error("not `journalctl -o export` or `-o json` text"),
        ),
        Row::records(
            "messages nested 100k deep",
            vec![
                sigil(T0, format!("{{\"message\":{deep}")),
                tunnel(T0 + 1, format!("{{\"level\":\"error\",\"a\":{deep}")),
                tunnel(T0 + 2, "{\"a\":".repeat(50_000)),
            ],
            // The Sigil line is unparsed; cloudflared's are torn-JSON fragments (shown as
            // continuation lines, counted as unrecovered), not records.
            Want::Shown {
                entries: 3,
                unparsed: 1,
            },
        ),
        Row::records(
            "status_code and duration_ms out of range",
            vec![
                sigil(T0, &incoming),
                sigil(T0 + 1, outgoing("99999999999999999999", "1e400")),
                sigil(T0 + 2, outgoing("70000", "18446744073709551616")),
                native("-1", "99999999999999999999999"),
                tunnel(
                    T0 + 6,
                    "2026-11-25T17:05:19Z DBG 99999 Bad connIndex=0 content-length=-1",
                ),
            ],
            Want::Shown {
                entries: 5,
                unparsed: 0,
            },
        ),
        Row::records(
            "negative and absurd durations",
            vec![
                sigil(T0, &incoming),
                sigil(T0 + 1, outgoing("200", "-5")),
                sigil(T0 + 2, outgoing("200", "NaN")),
                sigil(T0 + 3, outgoing("200", "inf")),
                sigil(T0 + 4, outgoing("200", "1e308")),
                native("200", "-0.0"),
            ],
            Want::Shown {
                entries: 6,
                unparsed: 0,
            },
        ),
        Row::records(
            "timestamps in 1970 and 2100",
            vec![
                sigil(1, "at the epoch"),
                sigil(4_102_444_800_000_000, "in 2100"),
            ],
            Want::Shown {
                entries: 2,
                unparsed: 2,
            },
        ),
        Row::records(
            "entries out of order",
            vec![
                sigil(T0 + 3_000_000, "third"),
                sigil(T0, "first"),
                sigil(T0 + 1_000_000, "second"),
            ],
            Want::Shown {
                entries: 3,
                unparsed: 3,
            },
        ),
        Row {
            // The journal gives every entry its own cursor: only a stream can repeat one.
            journal: false,
            ..Row::records(
                "duplicate cursors",
                vec![
                    sigil(T0, "one").field("__CURSOR", "s=1;i=1"),
                    sigil(T0 + 1, "two").field("__CURSOR", "s=1;i=1"),
                ],
                Want::Shown {
                    entries: 2,
                    unparsed: 2,
                },
            )
        },
        Row {
            args: &["-u", "x;rm -rf /"],
            ..Row::records(
                "a unit name with shell metacharacters",
                vec![sigil(T0, "hello")],
                Want::Shown {
                    entries: 0,
                    unparsed: 0,
                },
            )
        },
        Row {
            args: &["-u", ""],
            ..Row::records(
                "an empty unit name",
                vec![sigil(T0, "hello")],
                Want::Error("unit"),
            )
        },
    ]
}

/// The run never panicked, whatever it was fed.
fn assert_no_panic(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{what}: panicked\n{stderr}");
    assert!(!stderr.contains("panicked"), "{what}: panicked\n{stderr}");
    assert!(
        out.status.code().is_some(),
        "{what}: killed by a signal\n{stderr}"
    );
}

/// A message as `entries -o json` prints it: a string, or an array of byte numbers.
fn message_bytes(v: &Value) -> Vec<u8> {
    match &v["message"] {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Array(items) => items
            .iter()
            .map(|b| u8::try_from(b.as_u64().expect("a byte number")).expect("a byte"))
            .collect(),
        other => panic!("message is neither text nor bytes: {other}"),
    }
}

fn count(report: &Value, path: &str) -> u64 {
    let mut cur = report;
    for p in path.split('.') {
        cur = &cur[p];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("{path} is not a count: {cur}"))
}

/// Checks one `report --format json` run against the row's outcome.
fn check_report(what: &str, want: Want, out: &Output) {
    assert_no_panic(what, out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match want {
        Want::Error(text) => {
            assert_eq!(out.status.code(), Some(2), "{what}: exit\n{stderr}");
            assert!(
                stderr.contains(text),
                "{what}: stderr lacks {text:?}\n{stderr}"
            );
            assert_eq!(
                stderr.lines().count(),
                1,
                "{what}: one error line\n{stderr}"
            );
        }
        Want::Shown { entries, unparsed } => {
            assert_eq!(out.status.code(), Some(0), "{what}: exit\n{stderr}");
            let report: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{what}: report is not JSON ({e})"));
            assert_eq!(count(&report, "entries.total"), entries, "{what}: entries");
            assert_eq!(
                count(&report, "entries.unparsed"),
                unparsed,
                "{what}: unparsed"
            );
        }
        Want::Skipped { entries, warning } => {
            assert_eq!(out.status.code(), Some(0), "{what}: exit\n{stderr}");
            assert!(
                stderr.contains("warning") && stderr.contains(warning),
                "{what}: no warning {warning:?}\n{stderr}"
            );
            let report: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{what}: report is not JSON ({e})"));
            assert_eq!(count(&report, "entries.total"), entries, "{what}: entries");
        }
    }
}

fn with_args<'a>(base: &[&'a str], row: &'a Row) -> Vec<&'a str> {
    base.iter().chain(row.args).copied().collect()
}

/// Every row, through standard input and (where it fits) a real journal file.
#[test]
fn hostile_inputs_have_their_stated_outcome_and_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    for (i, row) in rows().iter().enumerate() {
        let stdin = row.stdin_bytes();

        let what = format!("{} (report, stdin)", row.name);
        let out = sigil_top(
            &with_args(&["report", "-", "--format", "json"], row),
            Some(&stdin),
        );
        check_report(&what, row.want, &out);

        let what = format!("{} (entries, stdin)", row.name);
        let out = sigil_top(
            &with_args(&["entries", "-", "-o", "json"], row),
            Some(&stdin),
        );
        assert_no_panic(&what, &out);
        match row.want {
            Want::Error(_) => assert_eq!(out.status.code(), Some(2), "{what}"),
            Want::Shown { entries, .. } | Want::Skipped { entries, .. } => {
                assert_eq!(out.status.code(), Some(0), "{what}");
                let lines = json_lines(&out.stdout);
                assert_eq!(lines.len() as u64, entries, "{what}: entries");
                if matches!(row.want, Want::Shown { .. }) && row.args.is_empty() {
                    // Shown as-is: the same bytes, in the order they came.
                    let want: Vec<Vec<u8>> = row
                        .records
                        .iter()
                        .map(|r| {
                            r.fields
                                .iter()
                                .find(|(k, _)| k == "MESSAGE")
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default()
                        })
                        .collect();
                    let got: Vec<Vec<u8>> = lines.iter().map(message_bytes).collect();
                    assert!(got == want, "{what}: messages changed");
                }
            }
        }

        if row.journal {
            let sub = dir.path().join(format!("row{i}"));
            std::fs::create_dir(&sub).unwrap();
            make_journal(&sub, "x", &stdin);
            let what = format!("{} (report, journal)", row.name);
            let out = sigil_top(
                &with_args(
                    &["report", "-D", sub.to_str().unwrap(), "--format", "json"],
                    row,
                ),
                None,
            );
            check_report(&what, row.want, &out);
        }
    }
}

/// Out-of-order stream entries keep their order (`journalctl`'s for a journal), and the
/// report's window still spans the earliest to the latest.
#[test]
fn out_of_order_entries_keep_their_order_and_the_window_spans_them() {
    let records = vec![sigil(T0 + 3_000_000, "third"), sigil(T0, "first")];
    let stdin = export_text(&records);
    let out = sigil_top(&["entries", "-", "-o", "json"], Some(&stdin));
    let lines = json_lines(&out.stdout);
    let got: Vec<Vec<u8>> = lines.iter().map(message_bytes).collect();
    assert_eq!(got, [b"third".to_vec(), b"first".to_vec()]);
    let out = sigil_top(&["report", "-", "--format", "json"], Some(&stdin));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["window"]["start"], "2026-11-25T17:05:17.811775Z");
    assert_eq!(report["window"]["end"], "2026-11-25T17:05:20.811775Z");
}

/// `-u 'x;touch PWNED'` is a unit name like any other: no shell ever sees it.
#[test]
fn a_unit_name_with_shell_metacharacters_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stdin = export_text(&[sigil(T0, "hello")]);
    for unit in [
        "x;touch PWNED",
        "$(touch PWNED)",
        "`touch PWNED`",
        "x|touch PWNED",
    ] {
        let out = run(
            Command::new(bin())
                .current_dir(dir.path())
                .args(["entries", "-", "-o", "json", "-u", unit]),
            Some(&stdin),
        );
        assert_no_panic(unit, &out);
        assert_eq!(out.status.code(), Some(0), "{unit}");
        assert!(out.stdout.is_empty(), "{unit}: matched something");
        assert!(!dir.path().join("PWNED").exists(), "{unit}: a shell ran it");
    }
}

/// Characters that must never reach a terminal raw: C0 controls but newline and tab, DEL, C1
/// controls (U+0080–U+009F, CSI U+009B among them), bidi embeddings, overrides and
/// isolates, zero-width characters and the BOM.
fn is_terminal_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c,
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}')
}

fn assert_terminal_safe(what: &str, out: &Output) {
    assert_no_panic(what, out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Valid UTF-8 first: a lone 0x9b byte is an 8-bit CSI to many terminals.
    let text = std::str::from_utf8(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: output is not UTF-8 ({e})"));
    assert!(!text.is_empty(), "{what}: printed nothing");
    for (n, line) in text.lines().enumerate() {
        if let Some(c) = line.chars().find(|&c| is_terminal_unsafe(c)) {
            panic!(
                "{what}: line {} holds {c:?} (U+{:04X}) raw:\n{line:?}",
                n + 1,
                u32::from(c)
            );
        }
    }
}

/// Escape sequences (CSI, OSC 52 clipboard write, OSC title, DCS), C1 controls, bidi
/// overrides and zero-width characters in log lines, and in the host, identifier and
/// request path, never reach `report` text or Markdown or `entries -o short` raw.
#[test]
fn terminal_injection_never_reaches_the_output_raw() {
    let evil = "\u{1b}[2J\u{1b}[H\u{1b}]52;c;cm0gLXJmIC8=\u{7}\u{1b}]0;pwned\u{1b}\\\
\u{1b}P+q544e\u{1b}\\\u{9b}31m\u{85}\u{202e}gpj.exe\u{200b}\u{2066}\u{feff}\u{7f}\r";
    let evil_bytes: &[u8] = b"raw C1 \x9b31m and \x1b[31m red \x1b[0m";
    let records = vec![
        sigil(T0, format!("2026-11-25 17:05:17 [ERROR] sigil_repos_mcp - {evil}")),
        sigil(T0 + 1, evil),
        sigil(T0 + 2, evil_bytes),
        sigil(
            T0 + 3,
            format!(
                "2026-11-25 17:05:19 [INFO] sigil_repos_mcp - Incoming MCP HTTP request \
request_id={RID} method=POST path=/{evil} client_ip=1.2.3.4"
            ),
        ),
        sigil(
            T0 + 4,
            format!(
                "2026-11-25 17:05:19 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response \
request_id={RID} status_code=500 duration_ms=3 method=POST path=/{evil}"
            ),
        ),
        sigil(T0 + 5, format!("INFO:     1.2.3.4:0 - \"GET /{evil} HTTP/1.1\" 502 Bad Gateway")),
        tunnel(
            T0 + 6,
            format!(
                "2026-11-25T17:05:18Z ERR  error=\"Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: {evil}\" connIndex=0 event=1 ingressRule=0 originService=http://{evil}"
            ),
        ),
        tunnel(T0 + 7, format!("2026-11-25T17:05:18Z INF Version {evil}")),
        Record::service(
            T0 + 8,
            &format!("host{evil}"),
            "sigil-mcp.service",
            13607,
            &format!("py{evil}"),
            "evil host and identifier",
        ),
    ];
    let stdin = export_text(&records);
    let dir = tempfile::tempdir().unwrap();
    make_journal(dir.path(), "x", &stdin);
    let d = dir.path().to_str().unwrap();
    for (input, args) in [("stdin", vec!["-"]), ("journal", vec!["-D", d])] {
        let feed = (input == "stdin").then_some(&stdin[..]);
        for format in ["text", "markdown"] {
            let mut a = vec!["report", "--format", format];
            a.extend(&args);
            assert_terminal_safe(
                &format!("report --format {format} ({input})"),
                &sigil_top(&a, feed),
            );
        }
        let mut a = vec!["entries", "-o", "short"];
        a.extend(&args);
        assert_terminal_safe(&format!("entries -o short ({input})"), &sigil_top(&a, feed));
    }
}

/// Numbers a line cannot mean (status 70000, negative, NaN, infinite or overflowing
/// durations) are unknown, never wrapped or clamped into a plausible value: the status is
/// counted as `unknown` and the latency falls back to the journal's own timestamps.
#[test]
fn absurd_status_and_durations_are_unknown_not_wrapped() {
    let mut records = Vec::new();
    let pairs = [
        ("99999999999999999999", "1"),
        ("70000", "1"),
        ("-1", "1"),
        ("200", "-5"),
        ("200", "NaN"),
        ("200", "inf"),
        ("200", "1e400"),
        ("200", "18446744073709551616"),
    ];
    for (i, (status, duration)) in pairs.iter().enumerate() {
        let id = format!("00000000-0000-4000-8000-{i:012}");
        let at = T0 + i as u64 * 10_000_000;
        records.push(sigil(
            at,
            format!(
                "2026-11-25 17:05:19 [INFO] sigil_repos_mcp - Incoming MCP HTTP request \
request_id={id} method=POST path=/ client_ip=1.2.3.4"
            ),
        ));
        records.push(sigil(
            at + 1_000,
            format!(
                "2026-11-25 17:05:19 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response \
request_id={id} status_code={status} duration_ms={duration} method=POST path=/"
            ),
        ));
    }
    let out = sigil_top(
        &["report", "-", "--format", "json"],
        Some(&export_text(&records)),
    );
    assert_no_panic("absurd numbers", &out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_status = report["requests"]["by_status"].as_object().unwrap();
    assert!(
        by_status
            .keys()
            .all(|k| k == "unknown" || k.parse::<u16>().is_ok_and(|s| (100..600).contains(&s))),
        "a status no HTTP server sends was counted: {by_status:?}"
    );
    assert_eq!(by_status["unknown"], 3, "{by_status:?}");
    // Only the three valid `duration_ms=1` are exact; the five absurd ones are derived.
    assert_eq!(
        count(&report, "requests.latency_source.exact"),
        3,
        "an absurd duration was taken as exact: {}",
        report["requests"]
    );
    let max_ms = report["requests"]["latency_ms"]["max"].as_f64().unwrap();
    assert!(
        max_ms <= 1.01,
        "latency from the journal stamps (1 ms): {max_ms}"
    );
}

/// Entries at the epoch and in 2100 are shown, and the report's window spans them, read
/// from a stream and from a journal file alike.
#[test]
fn timestamps_in_1970_and_2100_give_their_window() {
    let stdin = export_text(&[
        sigil(1, "at the epoch"),
        sigil(4_102_444_800_000_000, "2100"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    make_journal(dir.path(), "x", &stdin);
    let d = dir.path().to_str().unwrap();
    for (args, feed) in [
        (vec!["report", "-", "--format", "json"], Some(&stdin[..])),
        (vec!["report", "-D", d, "--format", "json"], None),
    ] {
        let out = sigil_top(&args, feed);
        assert_no_panic("1970 and 2100", &out);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            report["window"]["start"], "1970-01-01T00:00:00.000001Z",
            "{args:?}"
        );
        assert_eq!(
            report["window"]["end"], "2100-01-01T00:00:00.000000Z",
            "{args:?}"
        );
    }
}

/// What no output may hold raw (issue 17): controls but newline (and tab, for the text
/// forms), line and paragraph separators, every invisible format character (bidi marks,
/// embeddings, overrides, isolates, zero-width, soft hyphen, tags), Hangul fillers.
fn is_invisible_or_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c,
            '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}' | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}' | '\u{feff}' | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}')
}

fn assert_no_raw_control(what: &str, bytes: &[u8]) {
    let text =
        std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: output is not UTF-8 ({e})"));
    for (n, line) in text.lines().enumerate() {
        if let Some(c) = line.chars().find(|&c| is_invisible_or_control(c)) {
            panic!(
                "{what}: line {} holds U+{:04X} raw:\n{line:?}",
                n + 1,
                u32::from(c)
            );
        }
    }
}

/// The lines of `md` outside fenced code blocks (whose fence is longer than any run of
/// backticks inside, so a log line cannot close it).
fn outside_code_fences(md: &str) -> String {
    let mut fence: Option<&str> = None;
    let mut out = String::new();
    for line in md.lines() {
        let ticks = &line[..line.len() - line.trim_start_matches('`').len()];
        match fence {
            None if ticks.len() >= 3 => fence = Some(ticks),
            Some(f) if ticks.len() >= f.len() && line.trim_start_matches('`').trim().is_empty() => {
                fence = None;
            }
            Some(_) => {}
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Every Markdown table of `md` keeps its shape: each row has as many cell separators
/// (unescaped `|`) as its header, so no `|` from a log splits a cell.
fn assert_tables_keep_their_columns(what: &str, md: &str) {
    let pipes = |line: &str| {
        let b = line.as_bytes();
        (0..b.len())
            .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
            .count()
    };
    let mut header: Option<usize> = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let n = pipes(line);
            match header {
                None => header = Some(n),
                Some(h) => assert_eq!(n, h, "{what}: a row with {n} separators, not {h}:\n{line}"),
            }
        } else {
            header = None;
        }
    }
}

/// See: issue 17. Escape sequences decoded from JSON (`\u001b` in cloudflared's JSON
/// output), C1, bidi, U+2028, tag characters and soft hyphens in ids, versions, paths,
/// hosts and tools; `|` in ids; HTML, links and autolinks in a request path. No output of
/// any mode holds a raw control or invisible character (report text/Markdown/JSON,
/// `entries -o short`, `stats`, and every file of a snapshot), every Markdown table keeps
/// its columns, and no HTML or link from a log reaches Markdown.
#[test]
fn issue_17_no_control_byte_or_markup_from_a_log_reaches_any_output() {
    let evil = "\u{1b}]0;pwned\u{7}\u{9b}31m\u{2028}\u{2029}\u{e0041}\u{e0042}\u{ad}\u{61c}\u{2067}\u{3164}";
    let markup = "<img src=x onerror=alert(1)>[click me](https://evil.example/x)`code`*b*_i_www.evil.example";
    let rid = format!("11111111-2222-3333-4444-55555555|{evil}|");
    let ray = format!("8f3a6c1d2b4e5f70|{evil}-DFW");
    let records = vec![
        tunnel(
            T0,
            r#"{"level":"info","time":"2026-11-25T17:05:17Z","message":"Version 2026.8.2\u001b]52;c;cm0gLXJmIC8=\u0007\u202e"}"#,
        ),
        sigil(
            T0 + 10,
            format!(
                "2026-11-25 17:05:17 [INFO] sigil_repos_mcp - Incoming MCP HTTP request \
request_id={rid} method=GET path=/x{markup} client_ip=203.0.113.9 cf_ray={ray} headers={{'host': 'x'}}"
            ),
        ),
        sigil(
            T0 + 20,
            format!(
                "2026-11-25 17:05:17 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response \
request_id={rid} status_code=500 duration_ms=3 path=/x{markup} method=GET"
            ),
        ),
        tunnel(
            T0 + 30,
            format!(
                "2026-11-25T17:05:18Z ERR  error=\"Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused{evil}\" cfRay={ray} connIndex=0 event=1 ingressRule=0 originService=http://localhost:8000"
            ),
        ),
        tunnel(
            T0 + 31,
            format!(
                "2026-11-25T17:05:18Z ERR Request failed error=\"Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused\" connIndex=0 dest=https://mcp.example.com/x{markup} event=0 ip=198.41.200.13 type=http cfRay={ray}"
            ),
        ),
        Record::service(
            T0 + 40,
            &format!("host{evil}"),
            &format!("sigil-mcp{evil}.service"),
            13607,
            &format!("py{evil}"),
            format!("evil host, unit and identifier {evil}"),
        ),
        // A watched unit on an evil host: the host reaches the report's per-host figures
        // and its incident (issue 16).
        Record::service(
            T0 + 50,
            &format!("host{evil}"),
            "cloudflared.service",
            13612,
            "cloudflared",
            "2026-11-25T17:05:18Z ERR  error=\"Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused\" connIndex=0 event=1 ingressRule=0 originService=http://localhost:8000",
        ),
    ];
    let export = export_text(&records);
    let dir = tempfile::tempdir().unwrap();
    make_journal(dir.path(), "x", &export);
    let d = dir.path().to_str().unwrap();
    let units = ["-u", "sigil-mcp.service", "-u", "cloudflared.service"];
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    for (input, args) in [("stdin", vec!["-"]), ("journal", vec!["-D", d])] {
        let feed = (input == "stdin").then_some(&export[..]);
        let runs: Vec<Vec<&str>> = vec![
            vec!["report", "--format", "text"],
            vec!["report", "--format", "markdown"],
            vec!["report", "--format", "json"],
            vec!["entries", "-o", "short"],
            vec!["stats"],
        ];
        for mut a in runs {
            let name = format!("{} ({input})", a.join(" "));
            a.extend(&args);
            if a[0] == "stats" {
                a.extend(units);
            }
            let out = sigil_top(&a, feed);
            assert_no_panic(&name, &out);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            outputs.push((format!("{name} stderr"), out.stderr));
            outputs.push((name, out.stdout));
        }
    }
    let snaps = tempfile::tempdir().unwrap();
    let out = sigil_top(
        &["snapshot", "-D", d, "-o", snaps.path().to_str().unwrap()],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    for f in [
        "summary.md",
        "report.json",
        "traces.jsonl",
        "histogram.hgrm",
        "latency.hlog",
        "latency.svg",
    ] {
        outputs.push((f.to_owned(), std::fs::read(bundle.join(f)).unwrap()));
    }
    let mut saw_version = false;
    for (what, bytes) in &outputs {
        assert_no_raw_control(what, bytes);
        let text = String::from_utf8_lossy(bytes);
        saw_version |= text.contains("2026.8.2");
        if what.contains("markdown") || what == "summary.md" {
            assert_tables_keep_their_columns(what, &text);
            // Inside a fenced code block text is literal; everywhere else it is Markdown.
            let markdown = outside_code_fences(&text);
            for raw in ["<img", "[click me](", "https://evil", "www.evil", "`code`"] {
                let unescaped = markdown
                    .match_indices(raw)
                    .any(|(i, _)| !markdown[..i].ends_with('\\'));
                assert!(!unescaped, "{what} holds {raw:?} raw:\n{markdown}");
            }
        }
    }
    assert!(saw_version, "the cloudflared version is shown (escaped)");
    let summary = std::fs::read_to_string(bundle.join("summary.md")).unwrap();
    assert!(
        summary.contains("\\<img"),
        "the path is shown, escaped:\n{summary}"
    );
}

/// See: issue 17. A file name with an escape sequence in it is shown escaped in the error
/// that names it.
#[test]
fn issue_17_file_names_in_errors_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("evil\u{1b}]0;pwned\u{7}\u{202e}.journal");
    let out = sigil_top(&["report", "--file", name.to_str().unwrap()], None);
    assert_no_panic("--file with an escape in its name", &out);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("evil\\x1b]0;pwned\\x07\\u{202e}.journal"),
        "{stderr}"
    );
    assert_no_raw_control("stderr", stderr.as_bytes());
}

/// See: issue 17. A FIFO or a device given as `--file` (or `-D`) fails at once with a
/// message that says what it is, instead of blocking on the FIFO forever.
#[test]
fn issue_17_a_fifo_or_device_as_a_journal_file_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("journal.fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    for (args, kind) in [
        (vec!["report", "--file", fifo.to_str().unwrap()], "FIFO"),
        (vec!["report", "--file", "/dev/null"], "device"),
        (vec!["report", "-D", fifo.to_str().unwrap()], "FIFO"),
    ] {
        let mut child = Command::new(bin())
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{args:?} still running after 10 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(kind), "{args:?}: {stderr}");
    }
}

/// See: issue 17. Journal files and directories whose names are not UTF-8 are read (the
/// path's bytes go to libsystemd as they are), as `-D`, `--file` and a text input.
#[test]
fn issue_17_paths_that_are_not_utf8_work() {
    use std::os::unix::ffi::OsStrExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root
        .path()
        .join(std::ffi::OsStr::from_bytes(b"journal-\xff\xfe-dir"));
    std::fs::create_dir(&dir).unwrap();
    let records: Vec<Record> = (0..5)
        .map(|i| {
            sigil(
                T0 + i * 1000,
                format!("INFO:     1.2.3.4:0 - \"GET /healthz HTTP/1.1\" 200 OK {i}"),
            )
        })
        .collect();
    let export = export_text(&records);
    let journal = make_journal(&dir, "x", &export);
    let text = dir.join(std::ffi::OsStr::from_bytes(b"export-\xff.txt"));
    std::fs::write(&text, &export).unwrap();
    for args in [
        vec![std::ffi::OsStr::new("-D"), dir.as_os_str()],
        vec![std::ffi::OsStr::new("--file"), journal.as_os_str()],
        vec![text.as_os_str()],
    ] {
        let out = run(
            Command::new(bin())
                .args(["entries", "-o", "json"])
                .args(&args),
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json_lines(&out.stdout).len(), 5, "{args:?}");
    }
}
