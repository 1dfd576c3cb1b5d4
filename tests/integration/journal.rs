#![allow(
    clippy::too_many_lines,
    reason = "long scenario tests read top to bottom as one story (or one table)"
)]

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{
    assert_same, data, export_text, journalctl, json_lines, make_journal, sigil_top_ok, wait_for,
    Live, Record,
};

/// The first entry of the real fixture, µs.
const T0: u64 = 1_795_626_316_372_083;
/// realtime − monotonic in the fixture (one boot), so noise interleaves sensibly.
const MONO_OFFSET: u64 = 1_795_626_316_372_083 - 43_741_381_131;

pub const BINARY_MESSAGE: &[u8] = b"bin\x00\xff\xfe\x1b[31m red\nsecond line\r\n";

pub fn big_message() -> String {
    let mut s = String::with_capacity(300 * 1024);
    let mut i = 0u32;
    while s.len() < 300 * 1024 {
        let _ = write!(s, "chunk {i:06} of a very long cloudflared line; ");
        i += 1;
    }
    s
}

fn timed(r: Record) -> Record {
    // Replace the generic monotonic clock with the fixture boot's.
    let realtime: u64 = std::str::from_utf8(&r.fields[0].1)
        .unwrap()
        .parse()
        .unwrap();
    let mut r = r;
    r.fields[1].1 = (realtime - MONO_OFFSET).to_string().into_bytes();
    r
}

/// Other units' lines, lines that must be included through each `journalctl -u` rule,
/// and lines that look close but must not be.
fn noise_main_host() -> Vec<Record> {
    let h = "mcp-host";
    let s = |i: u64| T0 + 500_000 + i * 2_700_001;
    vec![
        Record::service(
            s(0),
            h,
            "sshd.service",
            800,
            "sshd",
            "Accepted publickey for ops",
        ),
        Record::service(
            s(1),
            h,
            "sigil-mcp-staging.service",
            900,
            "python",
            "2026-11-25 17:05:19 [INFO] sigil_repos_mcp - staging copy",
        ),
        Record::service(
            s(2),
            h,
            "cloudflared-backup.service",
            901,
            "cloudflared",
            "2026-11-25T17:05:22Z INF Starting tunnel tunnelID=backup",
        ),
        Record::pid1(
            s(3),
            h,
            "sigil-mcp-staging.service",
            "Started sigil-mcp-staging.service.",
        ),
        Record::pid1(
            s(4),
            h,
            "cloudflared.service",
            "cloudflared.service: Scheduled restart job, restart counter is at 1.",
        ),
        // PID 1 talking about a unit: only PID 1 counts.
        Record::service(s(5), h, "cron.service", 1234, "cron", "about a unit")
            .field("UNIT", "sigil-mcp.service"),
        // Coredumps: only root's systemd-coredump with the right MESSAGE_ID.
        Record::service(
            s(6),
            h,
            "systemd-coredump@0-1-0.service",
            1500,
            "systemd-coredump",
            "Process 13607 (python) dumped core.",
        )
        .field("MESSAGE_ID", "fc2e22bc6ee647b6b90729ab34a250b1")
        .field("COREDUMP_UNIT", "sigil-mcp.service")
        .field("_UID", "0"),
        Record::service(
            s(7),
            h,
            "user@1000.service",
            1501,
            "systemd-coredump",
            "user coredump",
        )
        .field("MESSAGE_ID", "fc2e22bc6ee647b6b90729ab34a250b1")
        .field("COREDUMP_UNIT", "sigil-mcp.service"),
        // Authorised daemons (root) about a unit.
        Record::service(
            s(8),
            h,
            "systemd-logind.service",
            600,
            "systemd-logind",
            "object line about cloudflared",
        )
        .field("OBJECT_SYSTEMD_UNIT", "cloudflared.service")
        .field("_UID", "0"),
        Record::service(
            s(9),
            h,
            "some-user-daemon.service",
            601,
            "daemon",
            "non-root object line",
        )
        .field("OBJECT_SYSTEMD_UNIT", "cloudflared.service"),
        Record::service(
            s(10),
            h,
            "sigil-mcp.service",
            13607,
            "python",
            BINARY_MESSAGE,
        ),
        Record::service(
            s(11),
            h,
            "sshd.service",
            800,
            "sshd",
            "Disconnected from user ops",
        ),
    ]
    .into_iter()
    .map(timed)
    .map(|r| {
        // A field given twice (the `_UID` overrides above) keeps only its last value.
        let mut seen = std::collections::HashSet::new();
        let fields = r
            .fields
            .into_iter()
            .rev()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect::<Vec<_>>();
        Record {
            fields: fields.into_iter().rev().collect(),
        }
    })
    .collect()
}

/// A second host (its own file), with a 300 KB message.
fn noise_second_host() -> Vec<Record> {
    let h = "edge-2";
    let s = |i: u64| T0 + 1_000_000 + i * 5_100_003;
    vec![
        Record::pid1(
            s(0),
            h,
            "sigil-mcp.service",
            "Started sigil-mcp.service - Sigil MCP Server.",
        ),
        Record::service(
            s(1),
            h,
            "sigil-mcp.service",
            4242,
            "python",
            "2026-11-25 17:05:23 [INFO] sigil_repos_mcp - edge-2 up",
        ),
        Record::service(
            s(2),
            h,
            "cloudflared.service",
            4343,
            "cloudflared",
            big_message(),
        ),
        Record::service(
            s(3),
            h,
            "nginx.service",
            4444,
            "nginx",
            "nginx-noise GET /healthz 200",
        ),
    ]
    .into_iter()
    .map(timed)
    .collect()
}

/// A realistic journal directory: the real kv-debug capture plus noise, in three files.
pub fn realistic_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    let fixture = std::fs::read(data("real/kv-debug/export.txt")).unwrap();
    make_journal(dir.path(), "capture", &fixture);
    make_journal(dir.path(), "noise", &export_text(&noise_main_host()));
    make_journal(dir.path(), "edge2", &export_text(&noise_second_host()));
    dir
}

/// What both tools agree an entry is: cursor, time, host, pid, message (as JSON).
fn key_of_journalctl(v: &Value) -> [String; 5] {
    [
        v["__CURSOR"].as_str().unwrap().to_owned(),
        v["__REALTIME_TIMESTAMP"].as_str().unwrap().to_owned(),
        v["_HOSTNAME"].as_str().unwrap_or("").to_owned(),
        v["_PID"].as_str().unwrap_or("").to_owned(),
        v["MESSAGE"].to_string(),
    ]
}

fn key_of_ours(v: &Value) -> [String; 5] {
    [
        v["cursor"].as_str().unwrap().to_owned(),
        v["realtime_us"].as_u64().unwrap().to_string(),
        v["host"].as_str().unwrap_or("").to_owned(),
        v["pid"].as_u64().map(|p| p.to_string()).unwrap_or_default(),
        v["message"].to_string(),
    ]
}

fn dir_str(dir: &TempDir) -> &str {
    dir.path().to_str().unwrap()
}

#[test]
fn entries_json_matches_journalctl_u_on_a_realistic_directory() {
    let dir = realistic_dir();
    let d = dir_str(&dir);
    // `-a`: journalctl hides fields over 4096 bytes as null without it.
    let expected: Vec<_> = json_lines(&journalctl(&[
        "-D",
        d,
        "-u",
        "sigil-mcp",
        "-u",
        "cloudflared",
        "-o",
        "json",
        "-a",
    ]))
    .iter()
    .map(key_of_journalctl)
    .collect();
    let actual: Vec<_> = json_lines(&sigil_top_ok(
        &[
            "entries",
            "-D",
            d,
            "-u",
            "sigil-mcp",
            "-u",
            "cloudflared",
            "--output",
            "json",
        ],
        None,
    ))
    .iter()
    .map(key_of_ours)
    .collect();
    // 1983 from the capture; PID 1, coredump, root object line and the binary line from
    // the main host's noise; 3 from edge-2.
    assert_eq!(
        expected.len(),
        1983 + 4 + 3,
        "the fixture directory changed"
    );
    assert_same("entries vs journalctl -u", &expected, &actual);
}

/// Tests that inject faults through the environment: only in a build with the
/// `fault-injection` feature (README "Tests").
#[cfg(feature = "fault-injection")]
mod fault_injection {
    use std::process::Command;

    use super::{dir_str, key_of_ours, realistic_dir};
    use crate::util::{assert_same, json_lines, sigil_top_ok};

    #[test]
    fn reopening_the_journal_mid_read_loses_and_repeats_nothing() {
        // The reader reopens the journal to drop sd-journal's mapped pages (every ~64 MiB
        // of them); the fault makes it happen every 7 entries here, across files and hosts.
        let dir = realistic_dir();
        let d = dir_str(&dir);
        let args = ["entries", "-D", d, "--output", "json"];
        let plain = sigil_top_ok(&args, None);
        let out = crate::util::run(
            Command::new(crate::util::bin())
                .args(args)
                .env("SIGIL_TOP_REOPEN_EVERY", "7"),
            None,
        );
        assert!(out.status.success(), "{out:?}");
        let reopened: Vec<_> = json_lines(&out.stdout).iter().map(key_of_ours).collect();
        let plain: Vec<_> = json_lines(&plain).iter().map(key_of_ours).collect();
        assert!(plain.len() > 1900, "{}", plain.len());
        assert_same("reopened every 7 vs read once", &plain, &reopened);
    }
}

#[test]
fn default_units_are_sigil_mcp_and_cloudflared() {
    let dir = realistic_dir();
    let with_flags = sigil_top_ok(
        &[
            "entries",
            "-D",
            dir_str(&dir),
            "-u",
            "sigil-mcp.service",
            "-u",
            "cloudflared.service",
            "-o",
            "json",
        ],
        None,
    );
    let default = sigil_top_ok(&["entries", "-D", dir_str(&dir), "-o", "json"], None);
    assert_eq!(with_flags, default);
}

#[test]
fn entries_are_attributed_to_the_watched_unit_and_other_units_are_left_out() {
    let dir = realistic_dir();
    let out = json_lines(&sigil_top_ok(
        &["entries", "-D", dir_str(&dir), "-o", "json"],
        None,
    ));
    let unit_of = |needle: &str| -> Vec<String> {
        out.iter()
            .filter(|v| v["message"].as_str().is_some_and(|m| m.contains(needle)))
            .map(|v| v["unit"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(unit_of("Scheduled restart job"), ["cloudflared.service"]);
    assert_eq!(unit_of("dumped core"), ["sigil-mcp.service"]);
    assert_eq!(
        unit_of("object line about cloudflared"),
        ["cloudflared.service"]
    );
    assert_eq!(unit_of("edge-2 up"), ["sigil-mcp.service"]);
    for absent in [
        "staging",
        "backup",
        "about a unit",
        "user coredump",
        "non-root object",
        "publickey",
        "nginx-noise",
    ] {
        assert!(unit_of(absent).is_empty(), "{absent} must not be included");
    }
    let units: std::collections::BTreeSet<&str> =
        out.iter().map(|v| v["unit"].as_str().unwrap()).collect();
    assert_eq!(
        units.into_iter().collect::<Vec<_>>(),
        ["cloudflared.service", "sigil-mcp.service"]
    );
    let hosts: std::collections::BTreeSet<&str> =
        out.iter().map(|v| v["host"].as_str().unwrap()).collect();
    assert_eq!(
        hosts.into_iter().collect::<Vec<_>>(),
        ["edge-2", "mcp-host"]
    );
}

#[test]
fn binary_and_300_kb_messages_come_through_whole() {
    let dir = realistic_dir();
    let out = json_lines(&sigil_top_ok(
        &["entries", "-D", dir_str(&dir), "-o", "json"],
        None,
    ));
    let binary: Vec<u8> = BINARY_MESSAGE.to_vec();
    let as_bytes = |v: &Value| -> Option<Vec<u8>> {
        v["message"].as_array().map(|a| {
            a.iter()
                .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
                .collect()
        })
    };
    assert_eq!(
        out.iter().filter_map(as_bytes).collect::<Vec<_>>(),
        [binary]
    );
    let big = big_message();
    assert_eq!(
        out.iter()
            .filter(|v| v["message"].as_str() == Some(big.as_str()))
            .count(),
        1
    );
}

#[test]
fn since_until_and_lines_match_journalctl() {
    let dir = realistic_dir();
    let d = dir_str(&dir);
    let since = format!("@{}", (T0 + 20_000_000) / 1_000_000);
    let until = format!("@{}", (T0 + 40_000_000) / 1_000_000);
    // With --since and -n, journalctl starts at --since and shows at most N.
    let rows: [Vec<&str>; 6] = [
        vec!["--since", &since, "--until", &until],
        vec!["-n", "7"],
        vec!["--since", &since],
        vec!["--since", &since, "-n", "5"],
        vec!["--since", &since, "--until", &until, "-n", "4"],
        vec!["--until", &until, "-n", "3", "--since", "@0"],
    ];
    for extra in rows {
        let mut jargs = vec![
            "-D",
            d,
            "-u",
            "sigil-mcp",
            "-u",
            "cloudflared",
            "-o",
            "json",
            "-a",
        ];
        jargs.extend(&extra);
        let expected: Vec<_> = json_lines(&journalctl(&jargs))
            .iter()
            .map(key_of_journalctl)
            .collect();
        let mut sargs = vec!["entries", "-D", d, "-o", "json"];
        sargs.extend(&extra);
        let actual: Vec<_> = json_lines(&sigil_top_ok(&sargs, None))
            .iter()
            .map(key_of_ours)
            .collect();
        assert!(!expected.is_empty(), "{extra:?} selects nothing");
        assert_same(&format!("{extra:?}"), &expected, &actual);
    }
}

#[test]
fn stats_count_per_unit_and_per_input() {
    let dir = realistic_dir();
    let second = TempDir::new().unwrap();
    make_journal(second.path(), "only", &export_text(&noise_second_host()));
    let out = sigil_top_ok(
        &["stats", "-D", dir_str(&dir), "-D", dir_str(&second)],
        None,
    );
    let text = String::from_utf8(out).unwrap();
    // Second directory: edge-2's PID 1 and server lines, and its big cloudflared line.
    let cloudflared = 638 + 2 + 1 + 1;
    let sigil = 1345 + 2 + 2 + 2;
    let first_input = 1983 + 4 + 3;
    for want in [
        format!("entries  {}", first_input + 3),
        format!("{cloudflared:>8}  cloudflared.service"),
        format!("{sigil:>8}  sigil-mcp.service"),
        format!("{first_input:>8}  journal directory {}", dir_str(&dir)),
        format!("{:>8}  journal directory {}", 3, dir_str(&second)),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn several_directories_are_merged_in_time_order() {
    let a = TempDir::new().unwrap();
    let b = TempDir::new().unwrap();
    let at = |i: u64| T0 + i * 1_000_000;
    let rec = |i: u64, unit: &str| {
        timed(Record::service(
            at(i),
            "h",
            unit,
            10,
            "p",
            format!("line {i}"),
        ))
    };
    make_journal(
        a.path(),
        "a",
        &export_text(&[
            rec(0, "sigil-mcp.service"),
            rec(2, "sigil-mcp.service"),
            rec(4, "sigil-mcp.service"),
        ]),
    );
    make_journal(
        b.path(),
        "b",
        &export_text(&[rec(1, "cloudflared.service"), rec(3, "cloudflared.service")]),
    );
    let out = json_lines(&sigil_top_ok(
        &[
            "entries",
            "-D",
            dir_str(&a),
            "-D",
            dir_str(&b),
            "-o",
            "json",
        ],
        None,
    ));
    let messages: Vec<&str> = out.iter().map(|v| v["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["line 0", "line 1", "line 2", "line 3", "line 4"]);
    let inputs: Vec<u64> = out.iter().map(|v| v["input"].as_u64().unwrap()).collect();
    assert_eq!(inputs, [0, 1, 0, 1, 0]);
}

#[test]
fn follow_shows_entries_written_after_start() {
    let dir = TempDir::new().unwrap();
    let rec = |i: u64| {
        timed(Record::service(
            T0 + i * 1_000,
            "h",
            "sigil-mcp.service",
            10,
            "python",
            format!("live {i}"),
        ))
    };
    make_journal(dir.path(), "first", &export_text(&[rec(0), rec(1)]));
    let follower = Live::spawn(&["entries", "-D", dir_str(&dir), "--follow", "-o", "json"]);
    wait_for(Duration::from_secs(20), "the history (2 entries)", || {
        follower.count() >= 2
    });
    // A new file in the directory, as journald's rotation would create.
    make_journal(
        dir.path(),
        "second",
        &export_text(&[rec(2), rec(3), rec(4)]),
    );
    wait_for(Duration::from_secs(20), "3 live entries", || {
        follower.count() >= 5
    });
    let messages = messages_of(&follower.stop());
    assert_eq!(messages, ["live 0", "live 1", "live 2", "live 3", "live 4"]);
}

#[test]
fn follow_on_a_directory_with_no_matching_entries_keeps_waiting() {
    let dir = TempDir::new().unwrap();
    make_journal(
        dir.path(),
        "other",
        &export_text(&[timed(Record::service(
            T0,
            "h",
            "sshd.service",
            5,
            "sshd",
            "x",
        ))]),
    );
    let mut follower = Live::spawn(&["entries", "-D", dir_str(&dir), "--follow", "-o", "json"]);
    let rec = timed(Record::service(
        T0 + 5,
        "h",
        "cloudflared.service",
        6,
        "cloudflared",
        "first ever",
    ));
    make_journal(dir.path(), "later", &export_text(&[rec]));
    wait_for(
        Duration::from_secs(20),
        "the first cloudflared line",
        || follower.count() >= 1,
    );
    assert!(
        follower.is_running(),
        "follow mode must not exit on its own"
    );
    let line = follower.stop().swap_remove(0);
    assert!(line.contains("first ever"), "{line}");
}

/// The `message` of each JSON line `entries -o json` printed.
fn messages_of(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn removing_and_adding_files_while_following_loses_and_repeats_nothing() {
    let dir = TempDir::new().unwrap();
    let rec = |i: u64| {
        timed(Record::service(
            T0 + i * 1_000,
            "h",
            "cloudflared.service",
            10,
            "cloudflared",
            format!("entry {i}"),
        ))
    };
    let old = make_journal(dir.path(), "old", &export_text(&[rec(0), rec(1)]));
    make_journal(dir.path(), "current", &export_text(&[rec(2), rec(3)]));
    let follower = Live::spawn(&["entries", "-D", dir_str(&dir), "--follow", "-o", "json"]);
    wait_for(Duration::from_secs(20), "the history (4 entries)", || {
        follower.count() >= 4
    });
    // Vacuuming removes the oldest file; then a new file appears (rotation).
    std::fs::remove_file(old).unwrap();
    make_journal(dir.path(), "newer", &export_text(&[rec(4), rec(5)]));
    wait_for(Duration::from_secs(20), "2 new entries", || {
        follower.count() >= 6
    });
    make_journal(dir.path(), "newest", &export_text(&[rec(6)]));
    wait_for(Duration::from_secs(20), "1 more entry", || {
        follower.count() >= 7
    });
    let messages = messages_of(&follower.stop());
    let want: Vec<String> = (0..7).map(|i| format!("entry {i}")).collect();
    assert_eq!(messages, want);
}

/// Issue 22, point 4: following a directory whose files share a boot id sent part of the
/// history twice (`entries -D DIR --follow` printed 5,898 entries where there are 3,971):
/// the followers' look-back was measured from the last entry in read order, which is not
/// the newest when sd-journal orders by monotonic time.
#[test]
fn issue_22_following_files_that_share_a_boot_id_sends_each_entry_once() {
    let dir = TempDir::new().unwrap();
    let boot_start = T0 - 1_000_000_000;
    let rec = |name: &str, i: u64, realtime_us: u64, monotonic_us: u64| {
        let mut r = Record::service(
            realtime_us,
            "h",
            "cloudflared.service",
            10,
            "cloudflared",
            format!("{name} {i}"),
        );
        r.fields[1].1 = monotonic_us.to_string().into_bytes();
        r
    };
    // One boot, two writers (distinct seqnum ids), so sd-journal orders them by monotonic
    // time. The second one's clock was stepped back 10,000 s: all its entries come after
    // the first one's in that order, although their realtimes are older: the history
    // ends with an entry 50 s older than its newest.
    let first: Vec<Record> = (0..1000)
        .map(|i| {
            let t = T0 + 100_000_000 + i * 100_000;
            rec("first", i, t, t - boot_start)
        })
        .collect();
    let second: Vec<Record> = (0..1500)
        .map(|i| {
            let t = T0 + i * 100_000;
            rec("second", i, t, t - boot_start + 10_000_000_000)
        })
        .collect();
    make_journal(dir.path(), "first", &export_text(&first));
    make_journal(dir.path(), "second", &export_text(&second));
    let d = dir_str(&dir);
    let expected = json_lines(&journalctl(&["-D", d, "-o", "json"])).len();
    assert_eq!(expected, 2500);

    let follower = Live::spawn(&["entries", "-D", d, "--follow", "-o", "json"]);
    wait_for(Duration::from_secs(30), "the history", || {
        follower.count() >= expected
    });
    // A file with an entry newer than all: once it is shown, the followers have been
    // through every file's look-back (whatever they would send twice is sent).
    let later_t = T0 + 400_000_000;
    make_journal(
        dir.path(),
        "later",
        &export_text(&[rec(
            "later",
            0,
            later_t,
            later_t - boot_start + 20_000_000_000,
        )]),
    );
    wait_for(Duration::from_secs(30), "the newer entry", || {
        follower.lines().iter().any(|l| l.contains("later 0"))
    });
    let messages = messages_of(&follower.stop());
    let unique: std::collections::HashSet<&String> = messages.iter().collect();
    assert_eq!(
        (messages.len(), unique.len()),
        (expected + 1, expected + 1),
        "entries printed, distinct entries"
    );
}
