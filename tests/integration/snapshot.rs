//! `sigil-top snapshot`: the bundle's files, redaction of secrets planted in every place
//! the real programs log them, permissions and atomicity, `--archive`, and `--replay`.

#![allow(
    clippy::too_many_lines,
    reason = "long scenario tests read top to bottom as one story (or one table)"
)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{
    data, export_text, make_journal, sigil_top, sigil_top_ok, snapshot_bundle, Record,
};

const T0: u64 = 1_795_626_316_000_000;

/// The restart scenario plus lines carrying secrets: an Authorization header in the
/// server's headers dict and in cloudflared's DBG headers, a token in an access line's
/// query, OAuth form data, a client secret and a traceback line with a secret.
fn journal_with_secrets(dir: &Path) {
    let scenario = std::fs::read(data("scenarios/restart_502.export")).unwrap();
    make_journal(dir, "scenario", &scenario);
    let s = |at: u64, msg: &str| {
        Record::service(at, "mcp-host", "sigil-mcp.service", 13731, "python", msg)
    };
    let c = |at: u64, msg: &str| {
        Record::service(
            at,
            "mcp-host",
            "cloudflared.service",
            13612,
            "cloudflared",
            msg,
        )
    };
    let t = T0 + 30_000_000;
    let planted = vec![
        c(t, r#"2026-11-25T17:05:46Z DBG GET https://mcp.example.com/healthz HTTP/1.1 connIndex=0 content-length=0 event=1 headers={"Authorization":["Bearer CFHEADERSECRET123"],"Cf-Connecting-Ip":["203.0.113.9"],"Cf-Ray":["aaaabbbbccccdddd-DFW"]} host=mcp.example.com ingressRule=0 originService=http://localhost:8000 path=/healthz"#),
        s(t + 100, r"2026-11-25 17:05:46 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=11111111-2222-3333-4444-555555555555 method=GET path=/healthz client_ip=203.0.113.9 cf_ray=aaaabbbbccccdddd-DFW headers={'authorization': 'Bearer DICTHEADERSECRET456', 'host': 'mcp.example.com'}"),
        s(t + 200, r#"INFO:     203.0.113.9:0 - "GET /healthz?token=QUERYSECRET789 HTTP/1.1" 200 OK"#),
        s(t + 300, "2026-11-25 17:05:46 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id=11111111-2222-3333-4444-555555555555 status_code=200 duration_ms=1 path=/healthz method=GET"),
        s(t + 400, "2026-11-25 17:05:46 [INFO] sigil_repos_mcp - Form data: grant_type=authorization_code, code=OAUTHCODESECRETXYZ..., client_secret=FORMCLIENTSECRET000"),
        s(t + 500, "2026-11-25 17:05:46 [INFO] sigil_repos_mcp - Client Secret: PRINTEDCLIENTSECRET111"),
        s(t + 600, "2026-11-25 17:05:46 [ERROR] sigil_repos_mcp - Error handling MCP request request_id=99999999-2222-3333-4444-555555555555 duration_ms=3 path=/ method=POST"),
        s(t + 601, "Traceback (most recent call last):"),
        s(t + 602, "ValueError: bad request with access_token=TRACEBACKSECRET222"),
    ];
    make_journal(dir, "planted", &export_text(&planted));
}

const SECRETS: &[&str] = &[
    "CFHEADERSECRET123",
    "DICTHEADERSECRET456",
    "QUERYSECRET789",
    "OAUTHCODESECRETXYZ",
    "FORMCLIENTSECRET000",
    "PRINTEDCLIENTSECRET111",
    "TRACEBACKSECRET222",
];

/// Unpacks a bundle's `.tar.gz` with `tar` itself.
fn untar(archive: &Path) -> TempDir {
    let unpacked = TempDir::new().unwrap();
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(archive)
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(status.success());
    unpacked
}

const FILES: &[&str] = &[
    "summary.md",
    "report.json",
    "traces.jsonl",
    "histogram.hgrm",
    "latency.hlog",
    "latency.svg",
    "journal.export",
];

#[test]
fn bundle_has_every_file_private_and_complete_with_no_secret_anywhere() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    journal_with_secrets(journal.path());
    let bundle = snapshot_bundle(
        journal.path(),
        &out.path().join("snaps"),
        &["--incident", "1"],
    );
    assert!(
        bundle
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("sigil-top-mcp-host-"),
        "{bundle:?}"
    );
    assert!(bundle.to_str().unwrap().ends_with("-bad_gateway"));
    assert_eq!(
        std::fs::metadata(&bundle).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for f in FILES {
        let path = bundle.join(f);
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.is_empty(), "{f} is empty");
        let text = String::from_utf8_lossy(&bytes);
        for secret in SECRETS {
            assert!(!text.contains(secret), "{f} leaks {secret}");
        }
    }
    // Nothing half-written is left beside it.
    let names: Vec<String> = std::fs::read_dir(out.path().join("snaps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    let summary = std::fs::read_to_string(bundle.join("summary.md")).unwrap();
    assert!(
        summary.contains("origin down (restart"),
        "the cause is in the summary:\n{summary}"
    );
    assert!(summary.contains("| bad_gateway |"));
    let redacted: u64 = summary
        .split("## Redaction\n\n")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        redacted >= SECRETS.len() as u64,
        "summary counts {redacted} redactions"
    );
    // Sample requests carry ray IDs and request IDs for support tickets.
    let report: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["schema"], "sigil-top.report/1");
    let traces: Vec<Value> = std::fs::read_to_string(bundle.join("traces.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let with_ray = traces
        .iter()
        .find(|t| t["ray"].is_string() && t["request_id"].is_string())
        .unwrap();
    assert!(
        summary.contains("| 502 (refused) |"),
        "502 samples are listed"
    );
    assert!(traces.len() as u64 >= report["requests"]["total"].as_u64().unwrap());
    assert!(with_ray["link"] == "exact");
    let hgrm = std::fs::read_to_string(bundle.join("histogram.hgrm")).unwrap();
    assert!(hgrm.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
}

#[test]
fn svg_is_well_formed_and_has_the_expected_series() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    journal_with_secrets(journal.path());
    let bundle = snapshot_bundle(journal.path(), out.path(), &[]);
    let svg = std::fs::read_to_string(bundle.join("latency.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("latency.svg is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let by_id = |id: &str| {
        doc.descendants()
            .find(|n| n.attribute("id") == Some(id))
            .unwrap_or_else(|| panic!("no #{id}"))
    };
    let points = by_id("p99").attribute("points").unwrap();
    assert!(
        points.split_whitespace().count() > 5,
        "a p99 line over time"
    );
    assert!(
        by_id("requests")
            .children()
            .filter(roxmltree::Node::is_element)
            .count()
            > 5
    );
    assert_eq!(
        by_id("bad_gateway")
            .children()
            .filter(roxmltree::Node::is_element)
            .count(),
        8,
        "one mark per 502 request"
    );
    assert!(
        by_id("incidents").children().any(|n| n.is_element()),
        "incident spans"
    );
    assert!(by_id("distribution").children().any(|n| n.is_element()));
    let checked = check_svg(&svg);
    assert!(checked.tools >= 1, "the scenario's tools are listed");
}

/// A teammate replaying the bundle sees exactly the window's report.
#[test]
fn replaying_a_bundle_gives_the_same_report() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    journal_with_secrets(journal.path());
    let bundle = snapshot_bundle(journal.path(), out.path(), &["--incident", "1"]);
    let original: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("report.json")).unwrap()).unwrap();
    let replayed: Value = crate::util::replayed_report(&bundle);
    assert_eq!(original, replayed);
    // And through journalctl's own tools: the export re-imports into a real journal.
    let again = TempDir::new().unwrap();
    make_journal(
        again.path(),
        "replayed",
        &std::fs::read(bundle.join("journal.export")).unwrap(),
    );
}

#[test]
fn archive_is_one_tar_gz_with_the_same_files() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    journal_with_secrets(journal.path());
    let archive = snapshot_bundle(journal.path(), out.path(), &["--archive"]);
    assert!(archive.to_str().unwrap().ends_with(".tar.gz"));
    assert_eq!(
        std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let listing = std::process::Command::new("tar")
        .arg("tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for f in FILES {
        assert!(listing.lines().any(|l| l.ends_with(f)), "{f} in {listing}");
    }
}

/// Issue 19, point 7: `tar tv` and an unpacked bundle show when the snapshot was taken,
/// not 1970.
#[test]
fn issue_19_archive_members_carry_the_snapshot_time() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    journal_with_secrets(journal.path());
    let now_s = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let before = now_s();
    let archive = snapshot_bundle(journal.path(), out.path(), &["--archive"]);
    let after = now_s();
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap());
    let mut tar = tar::Archive::new(gz);
    let mut names = Vec::new();
    for member in tar.entries().unwrap() {
        let member = member.unwrap();
        let header = member.header();
        let mtime = header.mtime().unwrap();
        let name = member.path().unwrap().display().to_string();
        assert!(
            (before..=after).contains(&mtime),
            "{name}: mtime {mtime} not within the snapshot's run [{before}, {after}]"
        );
        assert_eq!(header.mode().unwrap(), 0o600, "{name}");
        names.push(name);
    }
    assert_eq!(names.len(), FILES.len(), "{names:?}");
    // And `tar` itself, unpacking, gives the files that time.
    let unpacked = untar(&archive);
    let bundle = std::fs::read_dir(unpacked.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for f in FILES {
        let mtime = std::fs::metadata(bundle.join(f)).unwrap().mtime();
        let mtime = u64::try_from(mtime).unwrap();
        assert!((before..=after).contains(&mtime), "{f}: {mtime}");
    }
}

/// Issue 20, point 3: a bundle never replaces what is already there, not even an empty
/// directory that took its name (a plain `rename` would), and leaves no temporary file
/// behind; the archive likewise takes the next free name.
#[test]
fn issue_20_snapshots_never_replace_an_existing_bundle_name() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    journal_with_secrets(journal.path());
    let first = snapshot_bundle(journal.path(), out.path(), &[]);
    let name = first.file_name().unwrap().to_str().unwrap().to_owned();
    // Move the first away and leave an empty directory squatting on its name.
    let moved = out.path().join("moved");
    std::fs::rename(&first, &moved).unwrap();
    std::fs::create_dir(&first).unwrap();
    let squatter_ino = std::fs::metadata(&first).unwrap().ino();
    let second = snapshot_bundle(journal.path(), out.path(), &[]);
    assert_eq!(second, out.path().join(format!("{name}-2")));
    assert_eq!(std::fs::metadata(&first).unwrap().ino(), squatter_ino);
    assert_eq!(std::fs::read_dir(&first).unwrap().count(), 0, "left alone");
    for f in FILES {
        assert!(second.join(f).is_file(), "{f}");
    }
    // An archive of the same name exists: the next one gets `-2`.
    let a1 = snapshot_bundle(journal.path(), out.path(), &["--archive"]);
    let a2 = snapshot_bundle(journal.path(), out.path(), &["--archive"]);
    assert_eq!(a1, out.path().join(format!("{name}.tar.gz")));
    assert_eq!(a2, out.path().join(format!("{name}-2.tar.gz")));
    assert_ne!(std::fs::read(&a1).unwrap().len(), 0);
    // Nothing temporary is left in the directory.
    let mut left: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut expected = vec![
        "moved".to_owned(),
        name.clone(),
        format!("{name}-2"),
        format!("{name}.tar.gz"),
        format!("{name}-2.tar.gz"),
    ];
    expected.sort();
    assert_eq!(left, expected);
}

#[test]
fn unwritable_or_foreign_targets_fail_clearly_and_leave_nothing() {
    let journal = TempDir::new().unwrap();
    journal_with_secrets(journal.path());
    let d = journal.path().to_str().unwrap();
    // A path under a regular file cannot be a directory.
    let file = TempDir::new().unwrap();
    let blocker = file.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let out = sigil_top(
        &[
            "snapshot",
            "-D",
            d,
            "-o",
            blocker.join("snaps").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("snapshot"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A symlink to a directory owned by someone else is refused (as root this is the
    // classic way to write into another user's files).
    let foreign = TempDir::new().unwrap();
    let victim = foreign.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let link = foreign.path().join("link");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let chown = std::process::Command::new("chown")
        .args(["65534", victim.to_str().unwrap()])
        .status();
    if chown.is_ok_and(|s| s.success()) && std::fs::metadata(&victim).unwrap().uid() == 65534 {
        let out = sigil_top(&["snapshot", "-D", d, "-o", link.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("refusing"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_dir(&victim).unwrap().count(),
            0,
            "nothing written into the victim"
        );
    }
}

#[test]
fn summary_md_snapshot() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    make_journal(
        journal.path(),
        "s",
        &std::fs::read(data("scenarios/restart_502.export")).unwrap(),
    );
    let bundle = snapshot_bundle(journal.path(), out.path(), &["--incident", "1"]);
    let summary = std::fs::read_to_string(bundle.join("summary.md")).unwrap();
    insta::assert_snapshot!("restart_502_summary", summary);
}

/// One row of `tests/data/hostile/secrets.tsv`: the program that logs it, the secret, what
/// shape it is, and the line as the program writes it.
struct SecretRow {
    program: String,
    secret: String,
    shape: String,
    line: String,
}

fn secret_table() -> Vec<SecretRow> {
    let table = std::fs::read_to_string(data("hostile/secrets.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.splitn(4, '\t').collect();
            SecretRow {
                program: cols[0].to_owned(),
                secret: cols[1].to_owned(),
                shape: cols[2].to_owned(),
                line: cols[3].to_owned(),
            }
        })
        .collect()
}

/// The crash scenario (a SIGKILL, `code=killed, status=9/KILL`, 502s while it restarts)
/// with every row of the secret table logged by its program in the middle of the window.
fn crash_journal_with_secret_table(dir: &Path) -> Vec<SecretRow> {
    let scenario = std::fs::read(data("scenarios/crash_502.export")).unwrap();
    make_journal(dir, "scenario", &scenario);
    let rows = secret_table();
    let planted: Vec<Record> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let at = T0 + 20_000_000 + i as u64 * 10_000;
            if row.program == "cloudflared" {
                Record::service(
                    at,
                    "mcp-host",
                    "cloudflared.service",
                    13612,
                    "cloudflared",
                    &row.line,
                )
            } else {
                Record::service(
                    at,
                    "mcp-host",
                    "sigil-mcp.service",
                    13731,
                    "python",
                    &row.line,
                )
            }
        })
        .collect();
    make_journal(dir, "planted", &export_text(&planted));
    rows
}

fn assert_no_secret(what: &str, bytes: &[u8], rows: &[SecretRow]) {
    let text = String::from_utf8_lossy(bytes);
    let leaks: Vec<String> = rows
        .iter()
        .filter(|r| text.contains(&r.secret))
        .map(|r| format!("{} ({})", r.secret, r.shape))
        .collect();
    assert!(leaks.is_empty(), "{what} leaks:\n{}", leaks.join("\n"));
}

/// See: issue 17. Every secret shape of the table (≥ 50, both programs' real formats)
/// reaches no file of the bundle, as a directory or as `--archive`; what is evidence and
/// not a secret (systemd's `code=killed, status=9/KILL`) is still there.
#[test]
fn issue_17_no_secret_of_the_table_reaches_any_bundle_file() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let rows = crash_journal_with_secret_table(journal.path());
    assert!(rows.len() >= 50, "{} rows", rows.len());
    let bundle = snapshot_bundle(journal.path(), out.path(), &[]);
    for f in FILES {
        let bytes = std::fs::read(bundle.join(f)).unwrap();
        assert_no_secret(f, &bytes, &rows);
    }
    let export = std::fs::read_to_string(bundle.join("journal.export")).unwrap();
    assert!(
        export.contains("Main process exited, code=killed, status=9/KILL"),
        "the crash line is kept whole"
    );
    let summary = std::fs::read_to_string(bundle.join("summary.md")).unwrap();
    let redacted: u64 = summary
        .split("## Redaction\n\n")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(redacted >= rows.len() as u64, "{redacted} redactions");

    // The archive holds the same files, as redacted.
    let archive = snapshot_bundle(journal.path(), out.path(), &["--archive"]);
    let unpacked = untar(&archive);
    let mut seen = 0;
    for dir in std::fs::read_dir(unpacked.path()).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let f = f.unwrap();
            assert_no_secret(
                &f.file_name().to_string_lossy(),
                &std::fs::read(f.path()).unwrap(),
                &rows,
            );
            seen += 1;
        }
    }
    assert_eq!(seen, FILES.len());
}

/// See: issue 17. The report of a replayed bundle is the report of the original window,
/// count for count and incident for incident, although every secret was redacted: a rule
/// that ate the crash line (`code=killed`), a restart or a 502's cause would fail here.
#[test]
fn issue_17_a_replayed_bundle_tells_the_same_story() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    crash_journal_with_secret_table(journal.path());
    let d = journal.path().to_str().unwrap();
    let original: Value = crate::util::report_json(&["-D", d], None);
    let kinds: Vec<&str> = original["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"crash") || original.to_string().contains("crash"),
        "the scenario has a crash: {kinds:?}"
    );
    for extra in [&[][..], &["--archive"][..]] {
        let bundle = snapshot_bundle(journal.path(), out.path(), extra);
        let replayed: Value = crate::util::replayed_report(&bundle);
        assert_eq!(original, replayed, "replay of {}", bundle.display());
    }
}

/// See: issue 17. `--anonymize-ip` replaces every client address in every file by a
/// stand-in, the same one for the same address, and keeps loopback (the origin's
/// `127.0.0.1:8000` is a diagnosis, not a person); the bundle still replays to the same
/// request counts.
#[test]
fn issue_17_anonymize_ip_leaves_no_client_address() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    crash_journal_with_secret_table(journal.path());
    let bundle = snapshot_bundle(journal.path(), out.path(), &["--anonymize-ip"]);
    let scenario = std::fs::read_to_string(data("scenarios/crash_502.export")).unwrap();
    let clients: std::collections::BTreeSet<&str> = scenario
        .split("client_ip=")
        .skip(1)
        .filter_map(|s| s.split([' ', '\n']).next())
        .filter(|ip| ip.contains('.'))
        .chain(["203.0.113.9"])
        .collect();
    assert!(clients.len() > 1, "{clients:?}");
    let mut loopback = false;
    for f in FILES {
        let text = String::from_utf8_lossy(&std::fs::read(bundle.join(f)).unwrap()).into_owned();
        for ip in &clients {
            assert!(!text.contains(ip), "{f} has {ip}");
        }
        loopback |= text.contains("127.0.0.1");
    }
    assert!(loopback, "loopback addresses are kept");
    let summary = std::fs::read_to_string(bundle.join("summary.md")).unwrap();
    assert!(
        summary.contains("Client IP addresses were replaced by stand-ins"),
        "the summary says so:\n{summary}"
    );
    let replayed: Value = crate::util::replayed_report(&bundle);
    let report: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("report.json")).unwrap()).unwrap();
    assert_eq!(replayed["requests"], report["requests"]);
    assert_eq!(replayed["incidents"], report["incidents"]);
}

/// See: issue 17. `snapshot -o` checks every step of the path, not only the last: a
/// world-writable directory without the sticky bit, or a symlink owned by another user,
/// anywhere on the way is refused and nothing is written; `/tmp`-like sticky directories
/// are fine.
#[test]
fn issue_17_unsafe_steps_anywhere_in_the_output_path_are_refused() {
    let journal = TempDir::new().unwrap();
    journal_with_secrets(journal.path());
    let d = journal.path().to_str().unwrap();
    let root = TempDir::new().unwrap();
    let open = root.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let target = open.join("team").join("snaps");
    let out = sigil_top(&["snapshot", "-D", d, "-o", target.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("world-writable directory without the sticky bit"),
        "{stderr}"
    );
    assert!(stderr.contains(open.to_str().unwrap()), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&open).unwrap().count(),
        0,
        "nothing written"
    );

    let sticky = root.path().join("sticky");
    std::fs::create_dir(&sticky).unwrap();
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
    snapshot_bundle(journal.path(), &sticky.join("mine").join("snaps"), &[]);

    // A symlink another user owns, early in the path (needs root to make one).
    let victim = root.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let link = root.path().join("link");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let chown = std::process::Command::new("chown")
        .args(["-h", "65534", link.to_str().unwrap()])
        .status();
    if chown.is_ok_and(|s| s.success()) && std::fs::symlink_metadata(&link).unwrap().uid() == 65534
    {
        let target = link.join("a").join("snaps");
        let out = sigil_top(&["snapshot", "-D", d, "-o", target.to_str().unwrap()], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("symlink owned by uid 65534"), "{stderr}");
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);
    }
}

/// See: issue 17. A relative `XDG_STATE_HOME` is ignored, as the XDG spec says: the
/// default snapshot directory is then under `$HOME/.local/state`, never relative to
/// wherever the command happened to run.
#[test]
fn issue_17_a_relative_xdg_state_home_is_ignored() {
    let journal = TempDir::new().unwrap();
    journal_with_secrets(journal.path());
    let (home, cwd) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let out = crate::util::run(
        std::process::Command::new(crate::util::bin())
            .args(["snapshot", "-D", journal.path().to_str().unwrap()])
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", "relative/state")
            .current_dir(cwd.path()),
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(
        written.starts_with(home.path().join(".local/state/sigil-top/snapshots")),
        "{written:?}"
    );
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}

/// See: issue 17. Standard input cannot be read twice, so its snapshot holds the history
/// instead of streaming it: the bundle still replays to the input's own report, and
/// holds no secret of the table.
#[test]
fn issue_17_a_snapshot_of_standard_input_replays_to_its_report() {
    let journal = TempDir::new().unwrap();
    let rows = crash_journal_with_secret_table(journal.path());
    let text = crate::util::journalctl(&["-D", journal.path().to_str().unwrap(), "-o", "export"]);
    let out = TempDir::new().unwrap();
    let stdout = sigil_top_ok(
        &["snapshot", "-", "-o", out.path().to_str().unwrap()],
        Some(&text),
    );
    let bundle = PathBuf::from(String::from_utf8(stdout).unwrap().trim());
    for f in FILES {
        assert_no_secret(f, &std::fs::read(bundle.join(f)).unwrap(), &rows);
    }
    let original: Value = crate::util::report_json(&["-"], Some(&text));
    let replayed: Value = crate::util::replayed_report(&bundle);
    assert_eq!(original, replayed);
}

/// See: issue 17. A text input that is a pipe (`snapshot <(journalctl -o export)`) cannot
/// be read twice either: it is held, not streamed, and the bundle has every entry.
#[test]
fn issue_17_a_snapshot_of_a_named_pipe_has_every_entry() {
    let journal = crate::util::journal_of_data("scenarios/restart_502.export", "s");
    let text = crate::util::journalctl(&["-D", journal.path().to_str().unwrap(), "-o", "export"]);
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("export.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let writer = {
        let (fifo, text) = (fifo.clone(), text.clone());
        std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
    };
    let out = TempDir::new().unwrap();
    let stdout = sigil_top_ok(
        &[
            "snapshot",
            fifo.to_str().unwrap(),
            "-o",
            out.path().to_str().unwrap(),
        ],
        None,
    );
    writer.join().unwrap();
    let bundle = PathBuf::from(String::from_utf8(stdout).unwrap().trim());
    let original: Value = crate::util::report_json(&["-"], Some(&text));
    let replayed: Value = crate::util::replayed_report(&bundle);
    assert!(original["entries"]["total"].as_u64().unwrap() > 100);
    assert_eq!(original, replayed);
}

/// The Python interpreter with the `hdrhistogram` package (`PyPI`) that `scripts/setup`
/// installs into its own virtualenv: `SIGIL_TOP_HDRH_PYTHON`, else
/// `${XDG_CACHE_HOME:-~/.cache}/sigil-top/py-hdrh/bin/python`. `None` (with the reason
/// printed) only outside CI: in CI a missing package fails the test.
fn hdrh_python() -> Option<PathBuf> {
    let python = std::env::var_os("SIGIL_TOP_HDRH_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(cache.join("sigil-top/py-hdrh/bin/python"))
        })?;
    let ok = std::process::Command::new(&python)
        .args(["-c", "import hdrh.log"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    let why = format!(
        "{} cannot import hdrh (run scripts/setup, or set SIGIL_TOP_HDRH_PYTHON)",
        python.display()
    );
    assert!(std::env::var_os("CI").is_none(), "in CI: {why}");
    eprintln!("skipped: {why}");
    None
}

/// What the Python `hdrhistogram` package reads from an interval log (`tests/integration/hdrh_read.py`).
fn hdrh_read(python: &Path, hlog: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/hdrh_read.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(hlog)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hdrh_read.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The one interval histogram of `latency.hlog`, decoded with the crate's own reader.
fn hlog_histogram(text: &str) -> (hdrhistogram::Histogram<u64>, std::time::Duration, String) {
    use base64::Engine as _;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let mut intervals = Vec::new();
    for entry in IntervalLogIterator::new(text.as_bytes()) {
        if let LogEntry::Interval(i) = entry.expect("latency.hlog parses") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(i.encoded_histogram())
                .unwrap();
            let h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
                .deserialize(&mut bytes.as_slice())
                .unwrap();
            intervals.push((h, i.start_timestamp(), i.tag().unwrap().as_str().to_owned()));
        }
    }
    assert_eq!(intervals.len(), 1, "{text}");
    intervals.pop().unwrap()
}

/// A histogram spread like a bad day's: 1 ms to 117 s, most requests fast, a long tail.
// The casts take non-negative values below 2^27 (µs of at most 117 s).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn heavy_tailed_latency(n: usize) -> sigil_top::model::stats::Latency {
    let mut l = sigil_top::model::stats::Latency::default();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // log-uniform over 3 ms..117 s for 1 in 8 requests, else 1..40 ms
        let f = (x % 10_000) as f64 / 10_000.0;
        let us = if x.is_multiple_of(8) {
            (3_000.0 * (117_000_000.0_f64 / 3_000.0).powf(f)) as u64
        } else {
            1_000 + (f * 39_000.0) as u64
        };
        l.record_us(us);
    }
    l.record_us(1_000);
    l.record_us(117_047_000);
    l
}

/// Issue 20, point 3: `latency.hlog` holds the window's histogram losslessly: decoded with
/// the crate's own deserializer it is the histogram `histogram.hgrm` was written from
/// (re-rendered, byte for byte the same file), tagged, starting at the window's start.
#[test]
fn issue_20_latency_hlog_round_trips_through_hdrhistograms_reader() {
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    journal_with_secrets(journal.path());
    let bundle = snapshot_bundle(journal.path(), out.path(), &[]);
    let text = std::fs::read_to_string(bundle.join("latency.hlog")).unwrap();
    let (h, start, tag) = hlog_histogram(&text);
    assert_eq!(tag, sigil_top::view::snapshot::HLOG_TAG);
    let report: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("report.json")).unwrap()).unwrap();
    let window_start =
        chrono::DateTime::parse_from_rfc3339(report["window"]["start"].as_str().unwrap()).unwrap();
    let window_start_ms = u64::try_from(window_start.timestamp_millis()).unwrap();
    assert_eq!(
        u64::try_from(start.as_millis()).unwrap(),
        window_start_ms,
        "{text}"
    );
    assert!(h.len() > 5, "the scenario's requests: {}", h.len());
    let hgrm = std::fs::read_to_string(bundle.join("histogram.hgrm")).unwrap();
    let again = sigil_top::view::snapshot::hgrm(&sigil_top::model::stats::Latency { hist: h });
    assert_eq!(hgrm, again, "the .hlog's histogram is the .hgrm's");

    // And a 1 ms..117 s spread, through the same writer and reader.
    let l = heavy_tailed_latency(20_000);
    let sel = sigil_top::view::snapshot::Selection {
        start: sigil_top::source::Timestamp(T0),
        end: sigil_top::source::Timestamp(T0 + 3_600_000_000),
        incident: None,
    };
    let (h, start, _) = hlog_histogram(&sigil_top::view::snapshot::hlog(&l, &sel));
    assert_eq!(h, l.hist);
    assert_eq!(u64::try_from(start.as_micros()).unwrap(), T0);
}

/// One `histogram.hgrm` row: value (ms), percentile (0–1), total count, 1/(1-p).
fn hgrm_rows(text: &str) -> Vec<(f64, f64, u64, Option<f64>)> {
    text.lines()
        .skip(2)
        .take_while(|l| !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            assert!(cols.len() == 3 || cols.len() == 4, "{l:?}");
            (
                cols[0].parse().unwrap(),
                cols[1].parse().unwrap(),
                cols[2].parse().unwrap(),
                cols.get(3).map(|c| c.parse().unwrap()),
            )
        })
        .collect()
}

/// Issue 19 point 7 and issue 20 point 3: `histogram.hgrm`'s footer is `HdrHistogram`'s own
/// (mean, standard deviation, max, total count, buckets, sub-buckets as the `hdrhistogram`
/// package from `PyPI`, an independent port of `HdrHistogram`, computes them for the histogram
/// it decodes from `latency.hlog`), and every row's `TotalCount` is the real cumulative
/// count at its value; the last row is the 100th percentile at the max.
#[test]
fn issue_20_hgrm_footer_and_rows_agree_with_the_python_hdrhistogram() {
    let Some(python) = hdrh_python() else {
        return;
    };
    let (journal, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    journal_with_secrets(journal.path());
    let bundle = snapshot_bundle(journal.path(), out.path(), &[]);
    let sel = sigil_top::view::snapshot::Selection {
        start: sigil_top::source::Timestamp(T0),
        end: sigil_top::source::Timestamp(T0 + 3_600_000_000),
        incident: None,
    };
    let mut cases = vec![(
        "bundle".to_owned(),
        bundle.join("latency.hlog"),
        std::fs::read_to_string(bundle.join("histogram.hgrm")).unwrap(),
    )];
    let mut one = sigil_top::model::stats::Latency::default();
    one.record_us(41_714_000);
    for (name, l) in [
        ("1 ms..117 s", heavy_tailed_latency(20_000)),
        ("one request", one),
        ("empty", sigil_top::model::stats::Latency::default()),
    ] {
        let path = out.path().join(format!("{}.hlog", cases.len()));
        std::fs::write(&path, sigil_top::view::snapshot::hlog(&l, &sel)).unwrap();
        cases.push((name.to_owned(), path, sigil_top::view::snapshot::hgrm(&l)));
    }
    for (name, hlog, hgrm) in cases {
        let read = hdrh_read(&python, &hlog);
        let iv = &read["intervals"][0];
        assert_eq!(iv["tag"], sigil_top::view::snapshot::HLOG_TAG, "{name}");
        assert_eq!(iv["significant_figures"], 3, "{name}");
        let f = |k: &str| iv[k].as_f64().unwrap();
        let u = |k: &str| iv[k].as_u64().unwrap();
        // Python's port leaves its own footer's StdDeviation unscaled and prints the total
        // count as a float: the figures are compared, in Java's layout.
        let footer = format!(
            "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n\
             #[Max     = {:12.3}, Total count    = {:12}]\n\
             #[Buckets = {:12}, SubBuckets     = {:12}]\n",
            f("mean") / 1000.0,
            f("stddev") / 1000.0,
            f("max") / 1000.0,
            u("total_count"),
            u("bucket_count"),
            u("sub_bucket_count"),
        );
        assert!(
            hgrm.ends_with(&footer),
            "{name}: footer\n{hgrm}\nexpected\n{footer}"
        );
        let recorded: Vec<(u64, u64)> = iv["recorded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap()))
            .collect();
        let rows = hgrm_rows(&hgrm);
        if u("total_count") == 0 {
            assert!(rows.is_empty(), "{name}: {hgrm}");
            continue;
        }
        for &(value_ms, q, total, inverse) in &rows {
            // Printed with 3 decimals in ms: exactly the µs value.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let value_us = (value_ms * 1000.0).round() as u64;
            assert!(
                recorded.iter().any(|&(v, _)| v == value_us),
                "{name}: {value_ms} ms is not a recorded value"
            );
            let cumulative: u64 = recorded
                .iter()
                .filter(|&&(v, _)| v <= value_us)
                .map(|&(_, c)| c)
                .sum();
            assert_eq!(total, cumulative, "{name}: TotalCount at {value_ms} ms");
            assert!(
                total as f64 / u("total_count") as f64 >= q - 1e-12,
                "{name}: {value_ms} ms reached percentile {q}"
            );
            match inverse {
                Some(inv) => assert!((inv - 1.0 / (1.0 - q)).abs() < 0.01, "{name}"),
                None => assert!(
                    (q - 1.0).abs() < f64::EPSILON,
                    "{name}: only 100 % has no 1/(1-p)"
                ),
            }
        }
        let last = rows.last().unwrap();
        assert_eq!(last.3, None, "{name}");
        assert!(
            (last.0 - f("max") / 1000.0).abs() < 1e-9,
            "{name}: last row at the max"
        );
        assert_eq!(last.2, u("total_count"), "{name}");
        assert!(
            rows.windows(2).all(|w| w[0].1 < w[1].1 && w[0].2 <= w[1].2),
            "{name}: percentiles rise"
        );
    }
}

/// What [`check_svg`] found, for tests that expect more.
struct SvgFacts {
    texts: usize,
    tools: usize,
}

/// A character's advance in em, bounding common sans-serif fonts (`DejaVu Sans`, the
/// widest usual default): 0.64 for ASCII lower case, digits and most punctuation, 0.84
/// for capitals and `# & + < = > ^ ~`, 1 for `M W m w @ %`, 1.1 for any other character
/// (CJK and emoji are about 1 em), 4 for the few far wider glyphs.
fn em(c: char) -> f64 {
    match c {
        'M' | 'W' | 'm' | 'w' | '@' | '%' => 1.0,
        'A'..='Z' | '#' | '&' | '+' | '<' | '=' | '>' | '^' | '~' => 0.84,
        ' '..='~' => 0.64,
        '\u{fdfd}' | '\u{2e3a}' | '\u{2e3b}' | '\u{12000}'..='\u{1254f}' => 4.0,
        _ => 1.1,
    }
}

/// A text's estimated box: [left, top, right, bottom] (width from its characters' widths,
/// [`em`]; ascent 0.8 em, descent 0.25 em).
fn text_box(node: roxmltree::Node<'_, '_>) -> ([f64; 4], String) {
    let inherited = |name: &str| {
        node.ancestors()
            .find_map(|n| n.attribute(name))
            .map(str::to_owned)
    };
    let font_px: f64 = inherited("font-size").unwrap().parse().unwrap();
    let anchor = inherited("text-anchor").unwrap_or_else(|| "start".into());
    let x: f64 = node.attribute("x").unwrap().parse().unwrap();
    let y: f64 = node.attribute("y").unwrap().parse().unwrap();
    let content: String = node
        .descendants()
        .filter(roxmltree::Node::is_text)
        .filter_map(|t| t.text())
        .collect();
    let w = content.chars().map(em).sum::<f64>() * font_px;
    let left = match anchor.as_str() {
        "start" => x,
        "middle" => x - w / 2.0,
        "end" => x - w,
        other => panic!("text-anchor {other}"),
    };
    (
        [left, y - 0.8 * font_px, left + w, y + 0.25 * font_px],
        content,
    )
}

/// Issue 19 point 7's bar for `latency.svg`, checked with a real XML parser: well-formed,
/// no raw control character, no transform (so positions are what they say), every text
/// inside the viewBox and no two texts' boxes overlapping; both latency axes and the count
/// axes have tick labels with their unit (each with its tick mark), the time axis has
/// times, the legend names every series, and tool names end before their bars.
fn check_svg(svg: &str) -> SvgFacts {
    let doc = roxmltree::Document::parse(svg).expect("latency.svg is well-formed XML");
    assert!(
        sigil_top::text::is_safe_text(svg),
        "a raw control character"
    );
    let root = doc.root_element();
    let view: Vec<f64> = root
        .attribute("viewBox")
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let (w, h) = (view[2], view[3]);
    assert!(
        doc.descendants()
            .all(|n| n.attribute("transform").is_none()),
        "no transforms"
    );
    let texts: Vec<([f64; 4], String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(text_box)
        .collect();
    for (b, s) in &texts {
        assert!(!s.trim().is_empty(), "an empty label");
        assert!(
            b[0] >= 0.0 && b[1] >= 0.0 && b[2] <= w && b[3] <= h,
            "{s:?} at {b:?} is outside the viewBox {w}x{h}"
        );
    }
    for (i, (a, sa)) in texts.iter().enumerate() {
        for (b, sb) in &texts[i + 1..] {
            let apart = a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1];
            assert!(apart, "{sa:?} {a:?} overlaps {sb:?} {b:?}");
        }
    }
    let group = |id: &str| {
        doc.descendants()
            .find(|n| n.attribute("id") == Some(id))
            .unwrap_or_else(|| panic!("no #{id}"))
    };
    let labels = |id: &str| -> Vec<String> {
        let g = group(id);
        let labels: Vec<String> = g
            .descendants()
            .filter(|n| n.attribute("class") == Some("tick-label"))
            .map(|n| text_box(n).1)
            .collect();
        let marks = g
            .descendants()
            .filter(|n| n.attribute("class") == Some("tick"))
            .count();
        assert_eq!(marks, labels.len(), "#{id}: a tick mark per label");
        labels
    };
    let is_duration = |l: &str| {
        let (n, unit) = l.split_once(' ').unwrap_or((l, ""));
        n.parse::<f64>().is_ok() && ["µs", "ms", "s"].contains(&unit)
    };
    let is_count = |l: &str| {
        let n = l.trim_end_matches(['k', 'M', 'G']);
        n.parse::<f64>().is_ok()
    };
    for id in ["y-axis-latency", "x-axis-distribution"] {
        let l = labels(id);
        assert!(l.len() >= 2, "#{id}: {l:?}");
        assert!(l.iter().all(|l| is_duration(l)), "#{id}: units: {l:?}");
    }
    for id in ["y-axis-requests", "y-axis-distribution"] {
        let l = labels(id);
        assert!(l.len() >= 2, "#{id}: {l:?}");
        assert!(l.iter().all(|l| is_count(l)), "#{id}: counts: {l:?}");
    }
    let times = labels("x-axis-time");
    assert!(!times.is_empty());
    // `HH:MM:SS`, `HH:MM`, `MM-DD HH:MM` or, for windows of months, `YYYY-MM-DD`; each
    // once.
    let is_time = |t: &str| {
        let digits_and = |allowed: &[char]| {
            t.chars()
                .all(|c| c.is_ascii_digit() || allowed.contains(&c))
        };
        (t.len() >= 5 && t.contains(':') && digits_and(&[':', '-', ' ']))
            || (t.len() == 10 && t.matches('-').count() == 2 && digits_and(&['-']))
    };
    assert!(times.iter().all(|t| is_time(t)), "times: {times:?}");
    let mut distinct = times.clone();
    distinct.dedup();
    assert_eq!(distinct, times, "each time once");
    let legend: Vec<String> = group("legend")
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| text_box(n).1)
        .collect();
    for series in [
        "p99",
        "requests",
        "502",
        "524",
        "incident",
        "latency bucket",
    ] {
        assert!(
            legend.iter().any(|l| l.contains(series)),
            "legend names {series}: {legend:?}"
        );
    }
    let bars_left = group("tools")
        .descendants()
        .filter(|n| n.attribute("class") == Some("tool-bar"))
        .map(|n| n.attribute("x").unwrap().parse::<f64>().unwrap())
        .fold(f64::INFINITY, f64::min);
    let names: Vec<([f64; 4], String)> = group("tools")
        .descendants()
        .filter(|n| n.attribute("class") == Some("tool-name"))
        .map(text_box)
        .collect();
    for (b, name) in &names {
        assert!(b[2] <= bars_left, "{name:?} runs into its bar");
    }
    SvgFacts {
        texts: texts.len(),
        tools: names.len(),
    }
}

/// A deterministic pseudo-random stream (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        let n = u64::try_from(xs.len()).unwrap();
        &xs[usize::try_from(self.below(n)).unwrap()]
    }
}

/// Tool names as logs can hold them: long, wide, hostile.
const TOOL_NAMES: &[&str] = &[
    "search_repo",
    "x",
    "a_tool_name_that_goes_on_and_on_because_someone_generated_it_from_a_very_long_openapi_operation_id_with_every_path_segment_in_it_and_then_some_more_segments",
    "検索ツール検索ツール検索ツール検索ツール検索ツール検索ツール検索ツール検索ツール検索ツール検索ツール",
    "<script>alert('x')</script> & \"quoted\" ]]> <!-- -->",
    "\u{1b}]52;c;SGVsbG8=\u{7}\u{1b}[31mred\u{202e}evil\u{fffe}\u{ffff}\u{0}",
    "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
    "emoji_🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥",
    "read_file",
    "\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}\u{fdfd}",
    "ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ",
];

/// One random chart: window span, slices, marks, incidents, histogram and tools all
/// drawn from `rng`, across the shapes that break layouts (empty, one request, 1 ms to
/// 117 s, huge counts, long windows, long names).
fn random_chart(
    rng: &mut Rng,
    latency: &mut sigil_top::model::stats::Latency,
) -> sigil_top::view::svg::Chart<'static> {
    use sigil_top::source::Timestamp;
    use sigil_top::view::svg::{IncidentSpan, Slice, ToolRow, SLICES};
    let spans_us = [
        0,
        900_000,
        59_000_000,
        300_000_000,
        3_600_000_000,
        90_000_000_000,
        30 * 86_400_000_000,
        3 * 365 * 86_400_000_000,
    ];
    let span = *rng.pick(&spans_us);
    let start = T0 + rng.below(86_400_000_000);
    let end = start + span;
    let shape = rng.below(5);
    let mut slices = vec![Slice::default(); SLICES];
    if shape > 0 {
        for s in &mut slices {
            if shape == 1 && rng.below(SLICES as u64) != 0 {
                continue;
            }
            s.requests = match shape {
                3 => rng.below(2_000_000_000),
                _ => rng.below(40),
            };
            if s.requests > 0 || rng.below(3) == 0 {
                s.p99_us = Some(1 + rng.below(117_047_000));
            }
        }
    }
    let mut bad_gateway = Vec::new();
    let mut edge_timeout = Vec::new();
    let mut incidents = Vec::new();
    if shape >= 2 {
        for _ in 0..rng.below(if shape == 4 { 10_000 } else { 40 }) {
            bad_gateway.push(Timestamp(start + rng.below(span + 1)));
        }
        for _ in 0..rng.below(30) {
            edge_timeout.push(Timestamp(start + rng.below(span + 1)));
        }
        for id in 0..rng.below(if shape == 4 { 500 } else { 6 }) {
            let a = start + rng.below(span + 1);
            incidents.push(IncidentSpan {
                start: Timestamp(a),
                end: Timestamp(a + rng.below(span / 10 + 1)),
                label: format!("#{id} bad_gateway: {}", rng.pick(TOOL_NAMES)),
            });
        }
    }
    *latency = sigil_top::model::stats::Latency::default();
    match shape {
        0 => {}
        1 => latency.record_us(1 + rng.below(117_047_000)),
        _ => {
            for _ in 0..rng.below(5_000) {
                let decade = rng.below(6);
                latency.record_us(
                    1_000 * 10u64.pow(u32::try_from(decade).unwrap()) / (1 + rng.below(10)),
                );
            }
            latency.record_us(1_000);
            latency.record_us(117_047_000);
        }
    }
    let tools = (0..if shape == 0 { 0 } else { rng.below(10) })
        .map(|_| ToolRow {
            name: (*rng.pick(TOOL_NAMES)).to_owned(),
            requests: rng.below(if shape == 3 { 5_000_000_000 } else { 500 }),
            p99_us: 1 + rng.below(117_047_000),
        })
        .collect();
    // The chart borrows the histogram; the tests keep it alive for the chart's life.
    let latency: &'static sigil_top::model::stats::Latency = Box::leak(Box::new(latency.clone()));
    sigil_top::view::svg::Chart {
        start: Timestamp(start),
        end: Timestamp(end),
        slices,
        bad_gateway,
        edge_timeout,
        incidents,
        latency,
        tools,
    }
}

/// Issue 19 point 7: `latency.svg` meets its bar at every data shape: 200 random charts
/// (no data, one request, 1 ms to 117 s, two billion requests a slice, 10,000 502 marks
/// and 500 incidents, windows from 0 s to 3 years, long, wide and hostile tool names).
#[test]
fn issue_19_latency_svg_has_ticks_a_legend_and_no_overlap_at_any_data_shape() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut latency = sigil_top::model::stats::Latency::default();
    let mut most_texts = 0;
    for round in 0..200 {
        let chart = random_chart(&mut rng, &mut latency);
        let svg = sigil_top::view::svg::render(&chart);
        let facts = std::panic::catch_unwind(|| check_svg(&svg)).unwrap_or_else(|_| {
            let path = std::env::temp_dir().join(format!("sigil-top-svg-{round}.svg"));
            std::fs::write(&path, &svg).unwrap();
            panic!("round {round}: the chart is in {}", path.display());
        });
        assert_eq!(
            facts.tools,
            chart.tools.len().min(sigil_top::view::svg::MAX_TOOLS)
        );
        most_texts = most_texts.max(facts.texts);
    }
    assert!(
        most_texts > 40,
        "the charts had labels to place: {most_texts}"
    );
}
