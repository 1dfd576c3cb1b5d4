//! Issue 22: history read by several sd-journal handles at once (`SIGIL_TOP_READERS`)
//! gives exactly the one reader's entries, in journalctl's order, and the same report.
//!
//! The journal directory is made to be hard to order: the real captures cut into
//! several files at random (one boot, distinct seqnum ids: sd-journal orders them by
//! monotonic time), other hosts and boots overlapping them in time (ordered by realtime),
//! a reboot inside a host's stream, equal timestamps within and across files (the xor
//! hash decides), another unit's lines interleaved everywhere, and a copied file whose
//! entries journalctl shows once.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{assert_same, data, export_text, journalctl, json_lines, make_journal, Record};

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The records of `journalctl -o export` text (text and binary fields), without the
/// fields journal-remote writes itself (`__CURSOR`, `__SEQNUM…`).
fn records_of(export: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    let mut rest = export;
    while !rest.is_empty() {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or(&[]);
        if line.is_empty() {
            if !fields.is_empty() {
                records.push(Record {
                    fields: std::mem::take(&mut fields),
                });
            }
            continue;
        }
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            let name = String::from_utf8_lossy(&line[..eq]).into_owned();
            fields.push((name, line[eq + 1..].to_vec()));
        } else {
            // Binary form: NAME\n, u64 LE length, the bytes, \n.
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap());
            let len = usize::try_from(len).unwrap();
            let value = rest[8..8 + len].to_vec();
            rest = &rest[8 + len + 1..];
            fields.push((String::from_utf8_lossy(line).into_owned(), value));
        }
    }
    if !fields.is_empty() {
        records.push(Record { fields });
    }
    for r in &mut records {
        r.fields.retain(|(name, _)| {
            !name.starts_with("__")
                || name == "__REALTIME_TIMESTAMP"
                || name == "__MONOTONIC_TIMESTAMP"
        });
    }
    records
}

fn get<'a>(r: &'a Record, name: &str) -> Option<&'a [u8]> {
    r.fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

fn set(r: &mut Record, name: &str, value: impl AsRef<[u8]>) {
    let value = value.as_ref().to_vec();
    match r.fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value,
        None => r.fields.push((name.to_owned(), value)),
    }
}

fn realtime(r: &Record) -> u64 {
    std::str::from_utf8(get(r, "__REALTIME_TIMESTAMP").unwrap())
        .unwrap()
        .parse()
        .unwrap()
}

/// Moves a record to `realtime_us` on `boot` (monotonic = realtime − `boot_start_us`).
fn retime(r: &mut Record, realtime_us: u64, boot: &str, boot_start_us: u64) {
    set(r, "__REALTIME_TIMESTAMP", realtime_us.to_string());
    set(
        r,
        "__MONOTONIC_TIMESTAMP",
        (realtime_us - boot_start_us).to_string(),
    );
    set(r, "_BOOT_ID", boot);
}

fn write(dir: &Path, name: &str, mut records: Vec<Record>) {
    // journal-remote appends in the order given; a file's own entries go forward in time
    // (equal times allowed), as a writer's do.
    records.sort_by_key(realtime);
    make_journal(dir, name, &export_text(&records));
}

const BOOT_A: &str = "755d2835719afa40384e79cfd83f117e";
const BOOT_B: &str = "0b1d2c3e4f5061728394a5b6c7d8e9f0";
const BOOT_B2: &str = "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f";
const BOOT_C: &str = "2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f70";

/// The hard-to-order directory (see the module doc): ~13,000 entries in 9 files.
fn tangled_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(0x5eed_0022);
    let read = |name: &str| records_of(&std::fs::read(data(name)).unwrap());

    // The kv capture (mcp-host, one boot) cut into three files at random.
    let kv = read("real/kv-debug/export.txt");
    let t0 = realtime(&kv[0]);
    let span = realtime(kv.last().unwrap()) - t0;
    let boot_a_start = t0 - 43_741_381_131;
    let mut parts: [Vec<Record>; 3] = Default::default();
    for mut r in kv.iter().cloned() {
        let t = realtime(&r);
        retime(&mut r, t, BOOT_A, boot_a_start);
        parts[usize::try_from(rng.below(3)).unwrap()].push(r);
    }
    let kv_times: Vec<u64> = kv.iter().map(realtime).collect();
    for (i, part) in parts.into_iter().enumerate() {
        write(dir.path(), &format!("kv-{i}"), part);
    }

    // The JSON capture as edge-2 over the same minutes, rebooting halfway; every tenth
    // entry at exactly the time of a kv entry (a tie across boots: the xor hash decides).
    let json = read("real/json-debug-json/export.txt");
    let j0 = realtime(&json[0]);
    let jspan = (realtime(json.last().unwrap()) - j0).max(1);
    let half = json.len() / 2;
    let mut before = Vec::new();
    let mut after = Vec::new();
    for (i, mut r) in json.into_iter().enumerate() {
        let mut t = t0 + (realtime(&r) - j0) * span / jspan;
        if i % 10 == 0 {
            t = kv_times[usize::try_from(rng.below(kv_times.len() as u64)).unwrap()];
        }
        set(&mut r, "_HOSTNAME", "edge-2");
        if i < half {
            retime(&mut r, t, BOOT_B, t0 - 5_000_000_000);
            before.push(r);
        } else {
            retime(&mut r, t, BOOT_B2, t0 - 1_000_000);
            after.push(r);
        }
    }
    write(dir.path(), "edge2-a", before);
    write(dir.path(), "edge2-b", after);

    // The stock capture as edge-3, squeezed into the same span at whole milliseconds, so
    // many of its own entries share a time.
    let stock = read("real/stock-info/export.txt");
    let s0 = realtime(&stock[0]);
    let sspan = (realtime(stock.last().unwrap()) - s0).max(1);
    let stock: Vec<Record> = stock
        .into_iter()
        .map(|mut r| {
            let t = (t0 + (realtime(&r) - s0) * span / sspan) / 1000 * 1000;
            set(&mut r, "_HOSTNAME", "edge-3");
            retime(&mut r, t, BOOT_C, t0 - 77_000_000);
            r
        })
        .collect();
    write(dir.path(), "edge3", stock);

    // Another unit's lines on mcp-host's boot (ordered against the kv files by monotonic
    // time), everywhere in the span, some at a kv entry's very realtime.
    let noise: Vec<Record> = (0..8000u64)
        .map(|i| {
            let t = if i % 7 == 0 {
                kv_times[usize::try_from(rng.below(kv_times.len() as u64)).unwrap()]
            } else {
                t0 + rng.below(span + 1)
            };
            let mut r = Record::service(
                t,
                "mcp-host",
                "sshd.service",
                800 + u32::try_from(i % 50).unwrap(),
                "sshd",
                format!(
                    "Accepted publickey for ops from 10.0.0.{} port {i}",
                    i % 250
                ),
            );
            // Written after the clock was stepped back 2 s: its monotonic time puts it
            // among the kv entries 2 s older (journalctl's realtime goes backwards).
            retime(&mut r, t, BOOT_A, boot_a_start + 2_000_000);
            r
        })
        .collect();
    write(dir.path(), "noise", noise);

    // A copy of a file: the same entries twice, which journalctl shows once.
    std::fs::copy(
        dir.path().join("kv-1.journal"),
        dir.path().join("kv-1-copy.journal"),
    )
    .unwrap();
    dir
}

/// Runs `sigil-top ARGS` with `SIGIL_TOP_READERS=readers` (and other variables).
fn sigil_top_with(args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    sigil_top_output(args, env).stdout
}

/// Runs `sigil-top ARGS` with the variables `env`; its output, once it has succeeded.
fn sigil_top_output(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(crate::util::bin());
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = crate::util::run(&mut cmd, None);
    assert!(
        out.status.success(),
        "sigil-top {args:?} with {env:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn cursors_of_ours(out: &[u8]) -> Vec<String> {
    json_lines(out)
        .iter()
        .map(|v| v["cursor"].as_str().unwrap().to_owned())
        .collect()
}

/// The cursors of `journalctl -D DIR UNITS -o json -a`, in its order.
fn journalctl_cursors(dir: &str, units: &[&str]) -> Vec<String> {
    let mut args = vec!["-D", dir];
    args.extend(units);
    args.extend(["-o", "json", "-a"]);
    json_lines(&journalctl(&args))
        .iter()
        .map(|v| v["__CURSOR"].as_str().unwrap().to_owned())
        .collect()
}

/// The realtime (`t=`, µs) each cursor names.
fn realtimes(cursors: &[String]) -> Vec<u64> {
    cursors
        .iter()
        .map(|c| {
            let t = c.split(';').find_map(|p| p.strip_prefix("t=")).unwrap();
            u64::from_str_radix(t, 16).unwrap()
        })
        .collect()
}

const UNITS: [&str; 6] = ["-u", "sigil-mcp", "-u", "cloudflared", "-u", "sshd"];

#[test]
fn several_readers_give_journalctls_entries_in_journalctls_order() {
    let dir = tangled_dir();
    let d = dir.path().to_str().unwrap();
    let expected = journalctl_cursors(d, &UNITS);

    // The directory is as tangled as meant: entries from several files and boots whose
    // realtime goes backwards in journalctl's order, equal times side by side, and the
    // copied file's entries shown once. (The order is so far from transitive that
    // journalctl skips many entries: with sshd's lines it shows fewer of the two units'
    // than without. Those are journalctl's entries all the same, and ours.)
    assert!(expected.len() > 4000, "{}", expected.len());
    let times = realtimes(&expected);
    let backwards = times.windows(2).filter(|w| w[1] < w[0]).count();
    let ties = times.windows(2).filter(|w| w[1] == w[0]).count();
    assert!(
        backwards > 0 && ties > 100,
        "backwards {backwards}, ties {ties}"
    );
    let unique: std::collections::HashSet<&String> = expected.iter().collect();
    assert_eq!(unique.len(), expected.len(), "journalctl repeated an entry");

    let mut ours_args = vec!["entries", "-D", d];
    ours_args.extend(UNITS);
    ours_args.extend(["-o", "json"]);
    for readers in ["1", "2", "3"] {
        let actual = cursors_of_ours(&sigil_top_with(
            &ours_args,
            &[("SIGIL_TOP_READERS", readers)],
        ));
        assert_same(
            &format!("journalctl vs {readers} reader(s)"),
            &expected,
            &actual,
        );
    }
}

/// Tests that inject faults through the environment: only in a build with the
/// `fault-injection` feature (README "Tests").
#[cfg(feature = "fault-injection")]
mod fault_injection {
    use super::{cursors_of_ours, one_source_dir, sigil_top_with, ONE_SOURCE_UNITS};
    use crate::util::{assert_same, journalctl, json_lines};

    #[test]
    fn span_readers_reopening_their_handles_keep_their_place() {
        // The spans plan's workers reopen their handles (every 7 entries here) and go on
        // from the same entry: journalctl's entries.
        let (dir, expected) = one_source_dir();
        let d = dir.path().to_str().unwrap();
        let mut args = vec!["entries", "-D", d];
        args.extend(ONE_SOURCE_UNITS);
        args.extend(["-o", "json"]);
        let actual = cursors_of_ours(&sigil_top_with(
            &args,
            &[
                ("SIGIL_TOP_READERS", "2"),
                ("SIGIL_TOP_PARALLEL_PLAN", "spans"),
                ("SIGIL_TOP_REOPEN_EVERY", "7"),
            ],
        ));
        assert_same("journalctl vs spans reopening", &expected, &actual);
    }

    #[test]
    fn workers_reopening_their_handles_keep_their_place() {
        // Workers reopen their handles to drop mapped pages (see `Mapped`); the fault makes
        // it happen every 7 entries. On a directory whose order is transitive (one boot per
        // host, clocks that never step), a reopened handle continues exactly: the same
        // entries as journalctl. (Where the order is not transitive, a reopened handle, the
        // one reader's too, may find entries the walk from the head skipped: see
        // docs/journalctl.md.)
        let dir = crate::journal::realistic_dir();
        let d = dir.path().to_str().unwrap();
        let expected: Vec<String> = json_lines(&journalctl(&["-D", d, "-o", "json", "-a"]))
            .iter()
            .map(|v| v["__CURSOR"].as_str().unwrap().to_owned())
            .collect();
        assert!(expected.len() > 1900, "{}", expected.len());
        for readers in ["2", "3"] {
            let actual = cursors_of_ours(&sigil_top_with(
                &["entries", "-D", d, "-u", "*", "-o", "json"],
                &[
                    ("SIGIL_TOP_READERS", readers),
                    ("SIGIL_TOP_REOPEN_EVERY", "7"),
                ],
            ));
            assert_same(
                &format!("journalctl vs {readers} readers reopening"),
                &expected,
                &actual,
            );
        }
    }
}

#[test]
fn several_readers_give_the_same_report_and_window_as_one() {
    let dir = tangled_dir();
    let d = dir.path().to_str().unwrap();
    let report = |extra: &[&str], readers: &str| -> Value {
        let mut args = vec!["report", "-D", d, "--format", "json"];
        args.extend(extra);
        serde_json::from_slice(&sigil_top_with(&args, &[("SIGIL_TOP_READERS", readers)])).unwrap()
    };
    let one = report(&[], "1");
    assert!(
        one["entries"]["total"].as_u64().unwrap() > 5000,
        "{}",
        one["entries"]
    );
    for readers in ["2", "3"] {
        assert_eq!(report(&[], readers), one, "{readers} readers");
    }

    // A window in the middle: `--since`/`--until` cut at the same entries.
    let cursors = |readers: &str| {
        let mut args = vec!["entries", "-D", d];
        args.extend(UNITS);
        args.extend([
            "-o",
            "json",
            "--since",
            "@1795626340",
            "--until",
            "@1795626370",
        ]);
        cursors_of_ours(&sigil_top_with(&args, &[("SIGIL_TOP_READERS", readers)]))
    };
    let mut args = vec!["-D", d, "--since", "@1795626340", "--until", "@1795626370"];
    args.extend(UNITS);
    args.extend(["-o", "json"]);
    let expected: Vec<String> = json_lines(&journalctl(&args))
        .iter()
        .map(|v| v["__CURSOR"].as_str().unwrap().to_owned())
        .collect();
    assert!(expected.len() > 1000, "{}", expected.len());
    assert_same("window, 2 readers", &expected, &cursors("2"));

    // Two inputs holding the same files: the model skips the repeats, whatever reads them.
    let copy = TempDir::new().unwrap();
    for f in ["kv-0.journal", "edge3.journal"] {
        std::fs::copy(dir.path().join(f), copy.path().join(f)).unwrap();
    }
    let c = copy.path().to_str().unwrap();
    let two = |readers: &str| -> Value {
        let args = ["report", "-D", d, "-D", c, "--format", "json"];
        serde_json::from_slice(&sigil_top_with(&args, &[("SIGIL_TOP_READERS", readers)])).unwrap()
    };
    let two_one = two("1");
    assert!(
        two_one["entries"]["duplicates_skipped"].as_u64().unwrap() > 500,
        "{}",
        two_one["entries"]
    );
    assert_eq!(two_one["entries"]["total"], one["entries"]["total"]);
    assert_eq!(two("2"), two_one);
}

/// `entries` entries of the bench preset (both units and 30% other units; long messages
/// among them), as `journalctl -o export` text, from the scenario generator.
fn generated(scratch: &Path, entries: u64, seed: u64, start_us: u64) -> Vec<u8> {
    let out = scratch.join(format!("gen-{seed}.export"));
    let (entries, seed, start_us) = (entries.to_string(), seed.to_string(), start_us.to_string());
    crate::load::generate(&[
        "--preset",
        "bench",
        "--noise-pct",
        "30",
        "--entries",
        &entries,
        "--seed",
        &seed,
        "--start-us",
        &start_us,
        "-o",
        out.to_str().unwrap(),
    ]);
    let text = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    text
}

/// One file of one sequence-number source (see the test below) and journalctl's cursors
/// for the two units.
fn one_source_dir() -> (TempDir, Vec<String>) {
    let dir = TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    let generate = |seed: u64, start_us: u64| generated(dir.path(), 40_000, seed, start_us);
    let t0: u64 = 1_795_600_000_000_000;
    make_journal(dir.path(), "x", &generate(1, t0));
    make_journal(dir.path(), "x", &generate(2, t0 - 3_600_000_000));
    let journals: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".journal"))
        .collect();
    assert_eq!(journals, ["x.journal"], "one file, one source");

    let expected = journalctl_cursors(d, &ONE_SOURCE_UNITS);
    assert!(expected.len() > 50_000, "{}", expected.len());
    let times = realtimes(&expected);
    assert!(
        times.windows(2).any(|w| w[1] + 3_000_000_000 < w[0]),
        "the clock steps back in journalctl's order"
    );

    (dir, expected)
}

const ONE_SOURCE_UNITS: [&str; 4] = ["-u", "sigil-mcp", "-u", "cloudflared"];

/// The usual journal: every file numbers its entries from one sequence-number source,
/// and the workers read spans of those numbers (`Plan::Spans`) instead of each walking
/// every entry. Two runs of the real `systemd-journal-remote` append to one file (one
/// source), the second written as after the clock was stepped back an hour: realtime
/// goes backwards in journalctl's order, the sequence numbers do not. ~10 spans of
/// 8,192 numbers, with another unit's lines (30%) in every span.
#[test]
fn several_readers_read_spans_of_one_source_in_journalctls_order() {
    let (dir, expected) = one_source_dir();
    let d = dir.path().to_str().unwrap();
    let units = ONE_SOURCE_UNITS;
    let mut ours_args = vec!["entries", "-D", d];
    ours_args.extend(units);
    ours_args.extend(["-o", "json"]);
    let report = |env: &[(&str, &str)]| -> Value {
        let mut args = vec!["report", "-D", d, "--format", "json"];
        args.extend(units);
        serde_json::from_slice(&sigil_top_with(&args, env)).unwrap()
    };
    let one = report(&[("SIGIL_TOP_READERS", "1")]);
    // The spans plan is the one that runs here, and its workers read every chunk (with
    // the variable set, the merger gives an account on standard error).
    let mut cmd = Command::new(crate::util::bin());
    cmd.args(&ours_args)
        .env("SIGIL_TOP_READERS", "2")
        .env("SIGIL_TOP_PARALLEL_PLAN", "spans");
    let out = crate::util::run(&mut cmd, None);
    let account = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{account}");
    let chunks: u64 = account
        .strip_prefix("sigil-top: parallel history: spans plan, 2 readers, ")
        .and_then(|rest| rest.strip_suffix(" chunks merged, in order\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the workers read spans, in order: {account}"));
    assert!(chunks >= 8, "{account}");
    let envs: [&[(&str, &str)]; 4] = [
        &[
            ("SIGIL_TOP_READERS", "2"),
            ("SIGIL_TOP_PARALLEL_PLAN", "spans"),
        ],
        &[
            ("SIGIL_TOP_READERS", "3"),
            ("SIGIL_TOP_PARALLEL_PLAN", "spans"),
        ],
        &[
            ("SIGIL_TOP_READERS", "2"),
            ("SIGIL_TOP_PARALLEL_PLAN", "interleaved"),
        ],
        &[("SIGIL_TOP_READERS", "1")],
    ];
    for env in envs {
        let actual = cursors_of_ours(&sigil_top_with(&ours_args, env));
        assert_same(&format!("journalctl vs {env:?}"), &expected, &actual);
        assert_eq!(report(env), one, "{env:?}");
    }
}

/// `(created, reused)` from the line `SIGIL_TOP_ZSTD_STATS=1` prints at exit.
fn zstd_stats(stderr: &[u8]) -> (u64, u64) {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("sigil-top: zstd contexts: "))
        .unwrap_or_else(|| panic!("no zstd line (is the context cache linked in?):\n{text}"));
    let (created, reused) = line
        .strip_suffix(" reused")
        .and_then(|l| l.split_once(" created, "))
        .unwrap_or_else(|| panic!("{line}"));
    (created.parse().unwrap(), reused.parse().unwrap())
}

/// libsystemd 252 decompresses every compressed field (journal-remote compresses those
/// over 512 bytes) with a zstd context of its own, which costs two `cpuid` traps on a VM;
/// the binary keeps one context per thread instead (`src/source/journal/zstd_dctx.c`).
/// Whatever the readers and plan (20,000 entries: three spans of sequence numbers),
/// contexts are reused, as many fields are decompressed as without reuse, and the report
/// is the one without reuse.
#[test]
fn zstd_contexts_are_reused_and_change_no_report() {
    let dir = TempDir::new().unwrap();
    make_journal(
        dir.path(),
        "x",
        &generated(dir.path(), 20_000, 7, 1_795_600_000_000_000),
    );
    let d = dir.path().to_str().unwrap();
    let run = |env: &[(&str, &str)]| -> (Value, (u64, u64)) {
        let env = [env, &[("SIGIL_TOP_ZSTD_STATS", "1")]].concat();
        let out = sigil_top_output(&["report", "-D", d, "--format", "json"], &env);
        (
            serde_json::from_slice(&out.stdout).unwrap(),
            zstd_stats(&out.stderr),
        )
    };
    let (plain, (fields, none)) = run(&[("SIGIL_TOP_READERS", "1"), ("SIGIL_TOP_ZSTD_REUSE", "0")]);
    assert_eq!(none, 0, "SIGIL_TOP_ZSTD_REUSE=0 reuses nothing");
    assert!(fields > 1000, "compressed fields decompressed: {fields}");
    assert!(plain["entries"]["total"].as_u64().unwrap() > 10_000);

    let (one, (created, reused)) = run(&[("SIGIL_TOP_READERS", "1")]);
    assert_eq!(one, plain, "one reader");
    assert_eq!(created + reused, fields, "the same fields decompressed");
    assert!(
        created <= 2,
        "one context per reading thread: {created} created"
    );

    for plan in ["spans", "interleaved"] {
        let env = [
            ("SIGIL_TOP_READERS", "2"),
            ("SIGIL_TOP_PARALLEL_PLAN", plan),
        ];
        let (two, (created, reused)) = run(&env);
        assert_eq!(two, plain, "{plan}");
        assert_eq!(
            created + reused,
            fields,
            "{plan}: the same fields decompressed"
        );
        assert!(
            (1..=2).contains(&created),
            "{plan}: one context per reading thread: {created} created"
        );
    }
}
