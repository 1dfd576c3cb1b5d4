//! Deployments with no real capture in the repository, built from the format notes' own
//! lines into real journal files: the server logging native journald fields, cloudflared
//! 2023.4.1–2024.2.0 (`cfRay=`), an unhandled exception (500 + two tracebacks), garbage
//! on the socket, and cloudflared exiting at start in a systemd restart loop.

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{export_text, make_journal, sigil_top_ok, Record};

const T0: u64 = 1_795_626_316_000_000;
const H: &str = "mcp-host";

fn sigil(at: u64, msg: &str) -> Record {
    Record::service(at, H, "sigil-mcp.service", 4242, "python", msg)
}

fn cf(at: u64, msg: &str) -> Record {
    Record::service(at, H, "cloudflared.service", 5151, "cloudflared", msg)
}

/// `systemd.journal.JournalHandler`: the message bare, extras as upper-case fields,
/// a real priority, `_TRANSPORT=journal`.
fn native(at: u64, msg: &str, fields: &[(&str, &str)]) -> Record {
    let mut r = Record::at(at)
        .field("_TRANSPORT", "journal")
        .field("PRIORITY", "6")
        .field("SYSLOG_IDENTIFIER", "python")
        .field("_PID", "4242")
        .field("_UID", "998")
        .field("_COMM", "python")
        .field("_SYSTEMD_UNIT", "sigil-mcp.service")
        .field("_HOSTNAME", H)
        .field("LOGGER", "sigil_repos_mcp");
    for (k, v) in fields {
        r = r.field(k, v);
    }
    r.field("MESSAGE", msg)
}

fn report(records: &[Record]) -> Value {
    let dir = TempDir::new().unwrap();
    make_journal(dir.path(), "x", &export_text(records));
    let out = sigil_top_ok(
        &[
            "report",
            "-D",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn native_journald_server_fields_and_old_cloudflared_cf_ray_join_exactly() {
    let ray = "8474a4a8cdd16081-ORD";
    let r = report(&[
        cf(T0, &format!("2024-01-18T06:04:54Z DBG GET https://mcp.example.com/healthz HTTP/1.1 cfRay={ray} connIndex=0 content-length=0 event=1 headers={{\"Accept\":[\"*/*\"]}} host=mcp.example.com ingressRule=0 path=/healthz")),
        native(T0 + 900, "Incoming MCP HTTP request", &[("REQUEST_ID", "r-1"), ("METHOD", "GET"), ("PATH", "/healthz"), ("CLIENT_IP", "203.0.113.9"), ("CF_RAY", ray)]),
        native(T0 + 2_900, "Outgoing MCP HTTP response", &[("REQUEST_ID", "r-1"), ("STATUS_CODE", "200"), ("DURATION_MS", "2"), ("METHOD", "GET"), ("PATH", "/healthz")]),
        cf(T0 + 3_100, &format!("2024-01-18T06:04:54Z DBG 200 OK cfRay={ray} connIndex=0 content-length=15 event=1")),
    ]);
    assert_eq!(r["correlation"]["exact"], 1, "{}", r["correlation"]);
    assert_eq!(r["requests"]["total"], 1);
    assert_eq!(r["requests"]["by_status"]["200"], 1);
    assert_eq!(
        r["requests"]["latency_source"]["exact"], 1,
        "duration_ms from DURATION_MS"
    );
    assert_eq!(r["entries"]["unparsed"], 0);
}

#[test]
fn an_unhandled_exception_is_one_500_with_its_tracebacks_grouped() {
    let r = report(&[
        sigil(T0, "2026-11-24 10:15:02 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=e-1 method=POST path=/ client_ip=203.0.113.9 cf_ray=None headers={}"),
        sigil(T0 + 10, "2026-11-24 10:15:02 [ERROR] sigil_repos_mcp - Error handling MCP request request_id=e-1 duration_ms=12 path=/ method=POST"),
        sigil(T0 + 11, "Traceback (most recent call last):"),
        sigil(T0 + 12, "  File \"/opt/sigil/server.py\", line 10, in handle"),
        sigil(T0 + 13, "    result = await tool(**args)"),
        sigil(T0 + 14, "             ^^^^^^^^^^^^^^^^^^"),
        sigil(T0 + 15, "KeyError: 'repo'"),
        sigil(T0 + 16, "ERROR:    Exception in ASGI application"),
        sigil(T0 + 17, "Traceback (most recent call last):"),
        sigil(T0 + 18, "  File \"/opt/venv/uvicorn/protocols/http/h11_impl.py\", line 403, in run_asgi"),
        sigil(T0 + 19, "KeyError: 'repo'"),
        sigil(T0 + 20, "INFO:     203.0.113.9:0 - \"POST / HTTP/1.1\" 500 Internal Server Error"),
        sigil(T0 + 30, "WARNING:  Invalid HTTP request received."),
    ]);
    assert_eq!(r["requests"]["total"], 1, "one request, not one per line");
    assert_eq!(r["requests"]["by_status"]["500"], 1);
    assert_eq!(r["origin"]["errors_5xx"], 1);
    assert_eq!(
        r["requests"]["invalid_http"], 1,
        "garbage is counted as what it is"
    );
    assert_eq!(r["entries"]["unparsed"], 0);
    assert_eq!(
        r["entries"]["continuation"], 8,
        "both tracebacks belong to their records"
    );
    let incidents = r["incidents"].as_array().unwrap();
    let errors = incidents
        .iter()
        .find(|i| i["kind"] == "origin_errors")
        .unwrap();
    assert!(
        errors["cause"].as_str().unwrap().contains("500"),
        "{errors}"
    );
}

#[test]
fn cloudflared_exiting_at_start_in_a_restart_loop_is_tunnel_down() {
    let mut records = Vec::new();
    for i in 0..3u64 {
        let t = T0 + i * 5_000_000;
        records.push(Record::pid1(
            t,
            H,
            "cloudflared.service",
            "Started cloudflared.service - cloudflared.",
        ));
        records.push(cf(t + 100_000, "2026-11-25T17:05:18Z INF Starting tunnel tunnelID=5f1c2a9e-7b3d-4e8a-9c41-2d6b8e0f3a17"));
        records.push(cf(t + 900_000, "2026-11-25T17:05:19Z ERR Initiating shutdown error=\"Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com: lookup _v2-origintunneld._tcp.argotunnel.com on 127.0.0.53:53: server misbehaving\""));
        records.push(cf(t + 900_100, "Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com: lookup _v2-origintunneld._tcp.argotunnel.com on 127.0.0.53:53: server misbehaving"));
        records.push(Record::pid1(
            t + 950_000,
            H,
            "cloudflared.service",
            "cloudflared.service: Main process exited, code=exited, status=1/FAILURE",
        ));
        records.push(Record::pid1(
            t + 950_100,
            H,
            "cloudflared.service",
            "cloudflared.service: Failed with result 'exit-code'.",
        ));
        records.push(Record::pid1(
            t + 4_950_000,
            H,
            "cloudflared.service",
            &format!(
                "cloudflared.service: Scheduled restart job, restart counter is at {}.",
                i + 1
            ),
        ));
    }
    let r = report(&records);
    assert_eq!(r["tunnel"]["restarts"], 3);
    assert_eq!(
        r["origin"]["crashes"], 0,
        "cloudflared's exits are not the origin's"
    );
    let down: Vec<&Value> = r["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "tunnel_down")
        .collect();
    assert_eq!(down.len(), 1, "one story, not one per exit: {down:?}");
    assert!(
        down[0]["cause"]
            .as_str()
            .unwrap()
            .contains("Could not lookup srv records"),
        "{}",
        down[0]["cause"]
    );
    assert_eq!(r["entries"]["unparsed"], 0);
}
