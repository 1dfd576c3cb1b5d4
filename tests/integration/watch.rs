//! `sigil-top watch` on a followed journal directory, `report`'s SLO gates, and the config
//! file's errors, through the real binary.

use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{data, export_text, make_journal, sigil_top, wait_for, Live, Record};

const T0: u64 = 1_795_626_316_000_000;
const HOST: &str = "mcp-host";

fn cf(at: u64, msg: &str) -> Record {
    Record::service(at, HOST, "cloudflared.service", 4242, "cloudflared", msg)
}

fn refused_502(at: u64, conn: u8) -> Vec<Record> {
    let err = "Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused";
    vec![
        cf(at, &format!("2026-11-25T17:05:44Z ERR  error=\"{err}\" connIndex={conn} event=1 ingressRule=0 originService=http://localhost:8000")),
        cf(at + 7, &format!("2026-11-25T17:05:44Z ERR Request failed error=\"{err}\" connIndex={conn} dest=https://mcp.example.com/ event=0 ip=198.41.192.67 type=http")),
    ]
}

fn events(live: &Live) -> Vec<Value> {
    live.lines()
        .iter()
        .map(|l| serde_json::from_str(l).expect("watch prints JSON lines"))
        .collect()
}

/// A 502 burst written while `watch` follows the directory opens one incident, with its
/// count of requests (not lines), and SIGTERM ends the watch cleanly.
#[test]
fn watch_opens_an_incident_when_a_502_burst_arrives_in_a_followed_journal() {
    let dir = TempDir::new().unwrap();
    let start = Record::pid1(
        T0,
        HOST,
        "sigil-mcp.service",
        "Started sigil-mcp.service - Sigil MCP Server.",
    );
    make_journal(dir.path(), "a", &export_text(&[start]));
    let mut live = Live::spawn(&["watch", "-D", dir.path().to_str().unwrap()]);
    // `watch` starts at the end of the journal: what is written from then on is new.
    wait_for(Duration::from_secs(10), "watch to be following", || {
        live.err_lines()
            .iter()
            .any(|l| l.contains("watch: following"))
    });
    let mut burst = vec![Record::pid1(
        T0 + 1_000_000,
        HOST,
        "sigil-mcp.service",
        "Stopping sigil-mcp.service - Sigil MCP Server...",
    )];
    for i in 0..4 {
        burst.extend(refused_502(T0 + 1_100_000 + i * 50_000, (i % 2) as u8));
    }
    make_journal(dir.path(), "b", &export_text(&burst));
    wait_for(Duration::from_secs(10), "an open event", || {
        events(&live).iter().any(|e| e["event"] == "open")
    });
    let open = events(&live)
        .into_iter()
        .find(|e| e["event"] == "open")
        .unwrap();
    assert_eq!(open["incident"]["kind"], "bad_gateway");
    assert!(
        open["incident"]["cause"]
            .as_str()
            .unwrap()
            .starts_with("origin down (restart)"),
        "{open}"
    );
    // One incident for the burst (not one per request, nor per line), counting requests.
    let opens: Vec<Value> = events(&live)
        .into_iter()
        .filter(|e| e["event"] == "open")
        .collect();
    assert_eq!(opens.len(), 1, "{opens:?}");
    let count = opens[0]["incident"]["count"].as_u64().unwrap();
    assert!(
        (1..=4).contains(&count),
        "4 requests failed, 8 lines: count {count}"
    );
    live.signal("TERM");
    assert_eq!(
        live.wait_exit(Duration::from_secs(5)),
        Some(0),
        "SIGTERM ends watch cleanly"
    );
}

/// `--exec` runs per event with the event on stdin; the log text never reaches a shell.
#[test]
fn watch_exec_gets_the_event_on_stdin() {
    let dir = TempDir::new().unwrap();
    let mut recs = refused_502(T0, 0);
    // A hostile path in the origin service must not be executed by anyone.
    recs.push(cf(T0 + 500, "2026-11-25T17:05:44Z INF Updated to new configuration config=\"{\\\"ingress\\\":[{\\\"service\\\":\\\"http://$(touch /tmp/sigil-top-pwned):8000\\\"}]}\" version=2"));
    make_journal(dir.path(), "a", &export_text(&recs));
    let out_file = dir.path().join("hook.out");
    let cmd = format!("cat >> {}", out_file.display());
    let out = sigil_top(
        &[
            "watch",
            "-D",
            dir.path().to_str().unwrap(),
            "--no-follow",
            "--exec",
            &cmd,
        ],
        None,
    );
    assert!(out.status.success());
    wait_for(Duration::from_secs(5), "the hook's output", || {
        std::fs::read_to_string(&out_file).is_ok_and(|s| s.contains("\"event\":\"open\""))
    });
    assert!(!std::path::Path::new("/tmp/sigil-top-pwned").exists());
}

/// SLO gates: exit 1 when breached, 0 when not, 2 on a bad flag.
#[test]
fn report_slo_gates_set_the_exit_status() {
    let dir = TempDir::new().unwrap();
    let export = std::fs::read(data("real/kv-debug/export.txt")).unwrap();
    make_journal(dir.path(), "x", &export);
    let d = dir.path().to_str().unwrap();
    let status = |extra: &[&str]| {
        let mut args = vec!["report", "-D", d];
        args.extend_from_slice(extra);
        sigil_top(&args, None).status.code()
    };
    assert_eq!(status(&["--max-502", "5"]), Some(1), "21 502s > 5");
    assert_eq!(status(&["--max-502", "21"]), Some(0));
    assert_eq!(status(&["--max-p99", "1ms"]), Some(1), "p99 is 15 ms");
    assert_eq!(
        status(&["--max-p99", "1s", "--max-5xx-rate", "0.5"]),
        Some(0),
        "no 5xx here"
    );
    assert_eq!(status(&["--max-p99", "soon"]), Some(2));
}

/// A bad config file is rejected with its path, line and key, and what is allowed.
#[test]
fn bad_config_names_file_line_and_allowed_keys() {
    let dir = TempDir::new().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[edge]\ntimeout = \"100s\"\n[latency]\np99_treshold = \"1s\"\n",
    )
    .unwrap();
    let out = sigil_top(
        &[
            "report",
            "--config",
            cfg.to_str().unwrap(),
            "-",
            "--format",
            "json",
        ],
        Some(b""),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(cfg.to_str().unwrap()) && err.contains("line 4"),
        "{err}"
    );
    assert!(
        err.contains("p99_threshold"),
        "lists the allowed keys: {err}"
    );
    let default = sigil_top(&["config", "--default"], None);
    assert!(default.status.success());
    std::fs::write(&cfg, &default.stdout).unwrap();
    let check = sigil_top(&["config", "--check", cfg.to_str().unwrap()], None);
    assert!(
        check.status.success(),
        "the printed default is a valid config"
    );
}
