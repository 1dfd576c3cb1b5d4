//! Deployments with no real capture in the repository, built from the format notes' own
//! lines into real journal files: the server logging native journald fields, cloudflared
//! 2023.4.1–2024.2.0 (`cfRay=`), an unhandled exception (500 + two tracebacks), garbage
//! on the socket, and cloudflared exiting at start in a systemd restart loop.

use serde_json::Value;

use crate::util::{export_text, Record};

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
    crate::util::report_of_export(&export_text(records))
}

#[test]
fn native_journald_server_fields_and_old_cloudflared_cf_ray_join_exactly() {
    let ray = "8474a4a8cdd16081-ORD";
    let r = report(&[
        cf(T0, &format!("2024-01-18T06:04:54Z DBG GET https://mcp.example.com/healthz HTTP/1.1 cfRay={ray} connIndex=0 content-length=0 event=1 headers={{\"Accept\":[\"*/*\"]}} host=mcp.example.com ingressRule=0 path=/healthz")),
        native(T0 + 900, "Incoming MCP HTTP request", &[("REQUEST_ID", "r-1"), ("METHOD", "GET"), ("PATH", "/healthz"), ("CLIENT_IP", "203.0.113.9"), ("CF_RAY", ray)]),
        native(T0 + 2_900, "Outgoing MCP HTTP response", &[("REQUEST_ID", "r-1"), ("STATUS_CODE", "200"), ("DURATION_MS", "2"), ("METHOD", "GET"), ("PATH", "/healthz"), ("RESPONSE_BODY", r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}"#)]),
        cf(T0 + 3_100, &format!("2024-01-18T06:04:54Z DBG 200 OK cfRay={ray} connIndex=0 content-length=15 event=1")),
    ]);
    assert_eq!(r["correlation"]["exact"], 1, "{}", r["correlation"]);
    assert_eq!(
        r["requests"]["by_route"][0]["errors"], 1,
        "a tool error inside a 200, read from the RESPONSE_BODY field"
    );
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
    assert!(
        errors["cause"]
            .as_str()
            .unwrap()
            .ends_with("KeyError: 'repo'"),
        "the exception line from the traceback: {errors}"
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

/// Refused with the server up and listening elsewhere: the port mismatch is the cause.
#[test]
fn refused_while_the_server_is_up_names_the_port_mismatch() {
    let err = "Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8080: connect: connection refused";
    let r = report(&[
        sigil(T0, "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)"),
        cf(T0 + 1_000_000, r#"2026-11-25T17:05:18Z INF Updated to new configuration config="{\"ingress\":[{\"hostname\":\"mcp.example.com\",\"service\":\"http://localhost:8080\"},{\"service\":\"http_status:404\"}],\"warp-routing\":{\"enabled\":false}}" version=1"#),
        cf(T0 + 2_000_000, &format!("2026-11-25T17:05:19Z ERR  error=\"{err}\" connIndex=0 event=1 ingressRule=0 originService=http://localhost:8080")),
        cf(T0 + 2_000_100, &format!("2026-11-25T17:05:19Z ERR Request failed error=\"{err}\" connIndex=0 dest=https://mcp.example.com/ event=0 ip=198.41.192.67 type=http")),
    ]);
    let bg = r["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "bad_gateway")
        .unwrap();
    assert_eq!(
        bg["cause"],
        "origin not listening on http://localhost:8080 (server listens on port 8000, tunnel dials 8080)"
    );
    assert_eq!(r["tunnel"]["bad_gateway_by_cause"]["refused"], 1);
}

/// The in-message clocks (Python's local asctime, cloudflared's UTC seconds) can be
/// anything: only the journal's µs timestamps order, pair and measure.
#[test]
fn clock_skew_in_message_times_changes_nothing() {
    let lines = |skewed: bool| {
        let py = if skewed {
            "1999-01-01 00:00:00"
        } else {
            "2026-11-25 17:05:20"
        };
        let go = if skewed {
            "2031-06-30T23:59:59Z"
        } else {
            "2026-11-25T17:05:20Z"
        };
        let ray = "d1209a555bb4d510-DFW";
        vec![
            cf(T0, &format!("{go} DBG GET https://mcp.example.com/healthz HTTP/1.1 connIndex=1 content-length=0 event=1 headers={{\"Cf-Ray\":[\"{ray}\"]}} host=mcp.example.com ingressRule=0 originService=http://localhost:8000 path=/healthz")),
            sigil(T0 + 3_000, &format!("{py} [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=k1 method=GET path=/healthz client_ip=216.144.250.150 cf_ray={ray} headers={{}}")),
            sigil(T0 + 4_000, "INFO:     216.144.250.150:0 - \"GET /healthz HTTP/1.1\" 200 OK"),
            sigil(T0 + 7_000, &format!("{py} [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id=k1 status_code=200 duration_ms=4 path=/healthz method=GET")),
            cf(T0 + 7_500, &format!("{go} DBG 200 OK connIndex=1 content-length=15 event=1 ingressRule=0 originService=http://localhost:8000")),
        ]
    };
    let (a, b) = (report(&lines(false)), report(&lines(true)));
    assert_eq!(a, b);
    assert_eq!(a["correlation"]["exact"], 1);
    let max = a["requests"]["latency_ms"]["max"].as_f64().unwrap();
    assert!(
        (max - 4.0).abs() < 0.01,
        "duration_ms=4 within HDR precision: {max}"
    );
}

/// QUIC blocked: the fallback to HTTP/2 is a degraded tunnel with its likely cause.
#[test]
fn quic_fallback_to_http2_is_named() {
    let r = report(&[
        cf(T0, "2026-08-20T16:01:44Z WRN If this log occurs persistently, and cloudflared is unable to connect to Cloudflare Network with `quic` protocol, then most likely your machine/network is getting its egress UDP to port 7844 (or others) blocked or dropped. Make sure to allow egress connectivity as per https://developers.cloudflare.com/cloudflare-one/connections/connect-apps/configuration/ports-and-ips/"),
        cf(T0 + 1, "If you are using private routing to this Tunnel, then ICMP, UDP (and Private DNS Resolution) will not work unless your cloudflared can connect with Cloudflare Network with `quic`. connIndex=0 event=0 ip=198.41.192.7"),
        cf(T0 + 100, "2026-08-20T16:01:44Z INF Switching to fallback protocol http2 connIndex=0 event=0 ip=198.41.192.7"),
        cf(T0 + 2_000_000, "2026-08-20T16:01:46Z INF Registered tunnel connection connIndex=0 connection=2b6e4c1a-8f3d-4a9e-b7c2-5d1e0f9a3b64 event=0 ip=198.41.192.7 location=ord02 protocol=http2"),
    ]);
    let degraded = r["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "tunnel_degraded")
        .unwrap();
    assert!(
        degraded["cause"]
            .as_str()
            .unwrap()
            .contains("UDP to port 7844"),
        "{degraded}"
    );
    assert_eq!(r["entries"]["unparsed"], 0);
}
