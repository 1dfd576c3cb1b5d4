//! Tests for the cloudflared parser: table-driven over real lines copied into
//! `tests/data/cloudflared/` (the `offline-*` and `tunnel-*` files are every cloudflared
//! line of `../shared/fixtures/real`; `doc-examples.txt` holds the examples of the format
//! notes; `old-versions.txt` and `misc.txt` are lines built to the notes' tables for shapes
//! the real captures lack), plus one named test per format quirk.

use super::*;
use crate::parse::{
    OriginErrorCause, ProxyFailure, ProxyLine, RayId, TunnelConnEvent, TunnelProcessEvent,
};

const OFFLINE_INFO: &str = include_str!("../../../tests/data/cloudflared/offline-info.txt");
const OFFLINE_DEBUG: &str = include_str!("../../../tests/data/cloudflared/offline-debug.txt");
const OFFLINE_JSON: &str = include_str!("../../../tests/data/cloudflared/offline-json.txt");
const OFFLINE_HTTP2: &str = include_str!("../../../tests/data/cloudflared/offline-http2.txt");
const OFFLINE_VERSION: &str = include_str!("../../../tests/data/cloudflared/offline-version.txt");
const KV_DEBUG: &str = include_str!("../../../tests/data/cloudflared/tunnel-kv-debug.txt");
const JSON_DEBUG: &str = include_str!("../../../tests/data/cloudflared/tunnel-json-debug-json.txt");
const STOCK_INFO: &str = include_str!("../../../tests/data/cloudflared/tunnel-stock-info.txt");
const DOC: &str = include_str!("../../../tests/data/cloudflared/doc-examples.txt");
const OLD: &str = include_str!("../../../tests/data/cloudflared/old-versions.txt");
const MISC: &str = include_str!("../../../tests/data/cloudflared/misc.txt");

const REAL: &[(&str, &str)] = &[
    ("offline-info", OFFLINE_INFO),
    ("offline-debug", OFFLINE_DEBUG),
    ("offline-json", OFFLINE_JSON),
    ("offline-http2", OFFLINE_HTTP2),
    ("offline-version", OFFLINE_VERSION),
    ("tunnel-kv-debug", KV_DEBUG),
    ("tunnel-json-debug-json", JSON_DEBUG),
    ("tunnel-stock-info", STOCK_INFO),
];

const PID: Option<u32> = Some(4242);

/// The first line of `data` containing `needle` (tests name real lines by a fragment).
fn line_in<'a>(data: &'a str, needle: &str) -> &'a str {
    data.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line containing {needle:?}"))
}

/// Parses one line with fresh state.
fn one(line: &str) -> Parsed {
    let mut stats = ParseStats::default();
    State::default().parse(line.as_bytes(), PID, &mut stats)
}

/// Parses every line of `data` in order with one state, as a stream would.
fn all(data: &str) -> (Vec<Parsed>, ParseStats) {
    let mut state = State::default();
    let mut stats = ParseStats::default();
    let parsed = data
        .lines()
        .map(|l| state.parse(l.as_bytes(), PID, &mut stats))
        .collect();
    (parsed, stats)
}

// Builds the `Some(…)` of an expected field, hence the wrap.
#[allow(clippy::unnecessary_wraps)]
fn boxed(s: &str) -> Option<Box<str>> {
    Some(s.into())
}

#[allow(clippy::unnecessary_wraps)]
fn ray(s: &str) -> Option<RayId> {
    Some(RayId(s.into()))
}

const REFUSED_8000: &str = "Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused";

fn assert_parsed(line: &str, level: Option<Level>, kind: &EventKind) {
    let got = one(line);
    assert_eq!(
        (got.level, &got.kind),
        (level, kind),
        "\nline:     {line}\nexpected: {level:?} {kind:?}\nactual:   {:?} {:?}\n",
        got.level,
        got.kind
    );
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one table of real lines and what each means: a row per line, nothing to split"
)]
fn real_lines_classify_as_expected() {
    let rows: Vec<(&str, &str, Option<Level>, EventKind)> = vec![
        (
            KV_DEBUG,
            "DBG GET https://mcp.example.com/healthz HTTP/1.1",
            Some(Level::Debug),
            EventKind::TunnelRequest {
                method: "GET".into(),
                path: "/healthz".into(),
                conn_index: Some(1),
                ray: ray("d1209a555bb4d510-DFW"),
                connecting_ip: boxed("216.144.250.150"),
            },
        ),
        (
            KV_DEBUG,
            "DBG 200 OK connIndex=1 content-length=15",
            Some(Level::Debug),
            EventKind::TunnelResponse {
                status: 200,
                conn_index: Some(1),
                ray: None,
            },
        ),
        (
            KV_DEBUG,
            "DBG 405 Method",
            Some(Level::Debug),
            EventKind::TunnelResponse {
                status: 405,
                conn_index: line_conn(KV_DEBUG, "DBG 405 Method"),
                ray: None,
            },
        ),
        (
            KV_DEBUG,
            "ERR  error=\"Unable to reach",
            Some(Level::Error),
            EventKind::ProxyError {
                line: ProxyLine::Primary,
                failure: ProxyFailure::OriginUnreachable(OriginErrorCause::Refused),
                conn_index: Some(0),
                origin_service: boxed("http://localhost:8000"),
                dest: None,
                ray: None,
                error: REFUSED_8000.into(),
            },
        ),
        (
            KV_DEBUG,
            "ERR Request failed error=\"Unable to reach",
            Some(Level::Error),
            EventKind::ProxyError {
                line: ProxyLine::RequestFailed,
                failure: ProxyFailure::OriginUnreachable(OriginErrorCause::Refused),
                conn_index: Some(0),
                origin_service: None,
                dest: boxed("https://mcp.example.com/"),
                ray: None,
                error: REFUSED_8000.into(),
            },
        ),
        (
            KV_DEBUG,
            "INF Updated to new configuration",
            Some(Level::Info),
            EventKind::TunnelProcess(TunnelProcessEvent::Config {
                origin_services: vec!["http://localhost:8000".into(), "http_status:404".into()],
            }),
        ),
        (
            JSON_DEBUG,
            "\"message\":\"GET https://mcp.example.com/healthz HTTP/1.1\"",
            Some(Level::Debug),
            EventKind::TunnelRequest {
                method: "GET".into(),
                path: "/healthz".into(),
                conn_index: Some(1),
                ray: ray("d1209a555bb4d510-DFW"),
                connecting_ip: boxed("216.144.250.150"),
            },
        ),
        (
            JSON_DEBUG,
            "\"message\":\"Updated to new configuration\"",
            Some(Level::Info),
            EventKind::TunnelProcess(TunnelProcessEvent::Config {
                origin_services: vec!["http://localhost:8000".into(), "http_status:404".into()],
            }),
        ),
        (
            OFFLINE_INFO,
            "INF Starting tunnel",
            Some(Level::Info),
            EventKind::TunnelProcess(TunnelProcessEvent::Starting),
        ),
        (
            OFFLINE_INFO,
            "INF Version 2026.8.2",
            Some(Level::Info),
            EventKind::TunnelProcess(TunnelProcessEvent::Version("2026.8.2".into())),
        ),
        (
            OFFLINE_JSON,
            "\"message\":\"Version 2026.8.2",
            Some(Level::Info),
            EventKind::TunnelProcess(TunnelProcessEvent::Version("2026.8.2".into())),
        ),
        (
            OFFLINE_INFO,
            "Starting metrics server on",
            Some(Level::Info),
            EventKind::TunnelProcess(TunnelProcessEvent::Metrics("127.0.0.1:20241".into())),
        ),
        (
            OFFLINE_INFO,
            "ERR Initiating shutdown",
            Some(Level::Error),
            EventKind::TunnelProcess(TunnelProcessEvent::FatalShutdown {
                reason: "Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com: lookup _v2-origintunneld._tcp.argotunnel.com on 10.255.255.53:53: dial udp 10.255.255.53:53: connect: network is unreachable".into(),
            }),
        ),
        (OFFLINE_INFO, "INF Settings: map[", Some(Level::Info), EventKind::Other),
        (OFFLINE_INFO, "INF GOOS: linux", Some(Level::Info), EventKind::Other),
        (OFFLINE_INFO, "INF Generated Connector ID", Some(Level::Info), EventKind::Other),
        (OFFLINE_INFO, "INF Initial protocol quic", Some(Level::Info), EventKind::Other),
        (OFFLINE_INFO, "INF ICMP proxy will use", Some(Level::Info), EventKind::Other),
        (OFFLINE_INFO, "WRN ICMP proxy feature is disabled", Some(Level::Warn), EventKind::Other),
        (OFFLINE_DEBUG, "DBG Fetched protocol", Some(Level::Debug), EventKind::Other),
        (
            DOC,
            "INF Registered tunnel connection connIndex=0 connection=7d3f9a21",
            Some(Level::Info),
            EventKind::TunnelConn {
                conn_index: Some(0),
                event: TunnelConnEvent::Registered {
                    location: boxed("dfw08"),
                    protocol: boxed("quic"),
                },
            },
        ),
        (
            DOC,
            "INF Unregistered tunnel connection connIndex=1",
            Some(Level::Info),
            EventKind::TunnelConn {
                conn_index: Some(1),
                event: TunnelConnEvent::Unregistered,
            },
        ),
        (
            DOC,
            "ERR failed to accept incoming stream requests",
            Some(Level::Error),
            EventKind::TunnelConn {
                conn_index: Some(3),
                event: TunnelConnEvent::Lost {
                    reason: boxed("failed to accept QUIC stream: timeout: no recent network activity"),
                },
            },
        ),
        (
            DOC,
            "WRN Connection terminated",
            Some(Level::Warn),
            EventKind::TunnelConn {
                conn_index: Some(3),
                event: TunnelConnEvent::Lost {
                    reason: boxed("accept stream listener encountered a failure while serving"),
                },
            },
        ),
        (
            DOC,
            "INF Retrying connection in up to 1s",
            Some(Level::Info),
            EventKind::TunnelConn {
                conn_index: Some(3),
                event: TunnelConnEvent::Retrying,
            },
        ),
        (
            DOC,
            "WRN Failed to dial a quic connection",
            Some(Level::Warn),
            EventKind::TunnelConn {
                conn_index: Some(3),
                event: TunnelConnEvent::DialFailed {
                    reason: boxed("failed to dial to edge with quic: timeout: no recent network activity"),
                },
            },
        ),
        (
            DOC,
            "INF Switching to fallback protocol http2",
            Some(Level::Info),
            EventKind::TunnelConn {
                conn_index: Some(0),
                event: TunnelConnEvent::ProtocolFallback { to: boxed("http2") },
            },
        ),
        (
            DOC,
            "INF Initiating graceful shutdown",
            Some(Level::Info),
            EventKind::TunnelProcess(TunnelProcessEvent::GracefulShutdown),
        ),
        (
            DOC,
            "\"level\":\"info\",\"time\":\"2026-08-20T18:00:00Z\",\"message\":\"Initiating graceful",
            Some(Level::Info),
            EventKind::TunnelProcess(TunnelProcessEvent::GracefulShutdown),
        ),
        (DOC, "INF Autoupdate frequency is set", Some(Level::Info), EventKind::Other),
        (DOC, "DBG tcp proxy stream started", Some(Level::Debug), EventKind::Other),
        (
            MISC,
            "INF You requested 4 HA connections",
            Some(Level::Info),
            EventKind::Other,
        ),
        (MISC, "WRN observer channel buffer is full", Some(Level::Warn), EventKind::Other),
        (MISC, "curve preferences", Some(Level::Info), EventKind::Other),
        (MISC, "INF precheck", Some(Level::Info), EventKind::Other),
        (MISC, "INF +-----", Some(Level::Info), EventKind::Other),
        (
            MISC,
            "Unable to establish connection with Cloudflare edge",
            Some(Level::Error),
            EventKind::TunnelConn {
                conn_index: Some(0),
                event: TunnelConnEvent::DialFailed {
                    reason: boxed("DialContext error: dial tcp 198.41.192.7:7844: i/o timeout"),
                },
            },
        ),
        (
            MISC,
            "Register tunnel error from server side",
            Some(Level::Warn),
            EventKind::TunnelConn {
                conn_index: Some(2),
                event: TunnelConnEvent::DialFailed {
                    reason: boxed("duplicate connection"),
                },
            },
        ),
        (
            MISC,
            "INF Changing protocol to quic",
            Some(Level::Info),
            EventKind::TunnelConn {
                conn_index: Some(0),
                event: TunnelConnEvent::ProtocolFallback { to: boxed("quic") },
            },
        ),
        (
            MISC,
            "ERR no more connections active and exiting",
            Some(Level::Error),
            EventKind::TunnelProcess(TunnelProcessEvent::NoConnections),
        ),
        (
            MISC,
            "ERR initial tunnel connection failed",
            Some(Level::Error),
            EventKind::TunnelProcess(TunnelProcessEvent::NoConnections),
        ),
        (
            MISC,
            "INF Lost connection with the edge",
            Some(Level::Info),
            EventKind::TunnelConn {
                conn_index: Some(1),
                event: TunnelConnEvent::Lost { reason: None },
            },
        ),
        (
            MISC,
            "ERR failed to serve the control stream",
            Some(Level::Error),
            EventKind::TunnelConn {
                conn_index: Some(2),
                event: TunnelConnEvent::Lost {
                    reason: boxed("Application error 0x0 (remote)"),
                },
            },
        ),
        (
            MISC,
            "WRN Connection terminated connIndex=3",
            Some(Level::Warn),
            EventKind::TunnelConn {
                conn_index: Some(3),
                event: TunnelConnEvent::Lost { reason: None },
            },
        ),
    ];
    for (data, needle, level, kind) in &rows {
        assert_parsed(line_in(data, needle), *level, kind);
    }
}

fn line_conn(data: &str, needle: &str) -> Option<u8> {
    let line = line_in(data, needle);
    let v = line.split("connIndex=").nth(1)?.split(' ').next()?;
    v.parse().ok()
}

#[test]
fn every_real_line_parses_and_none_in_a_known_shape_is_unparsed() {
    for (name, data) in REAL
        .iter()
        .chain(&[("doc", DOC), ("old", OLD), ("misc", MISC)])
    {
        let (parsed, stats) = all(data);
        assert_eq!(parsed.len(), data.lines().count());
        for (line, p) in data.lines().zip(&parsed) {
            let in_known_shape = line.starts_with('{') || console::has_time_prefix(line);
            assert!(
                !(in_known_shape && p.kind == EventKind::Unparsed),
                "{name}: unparsed: {line}"
            );
            if in_known_shape {
                assert!(p.level.is_some(), "{name}: no level: {line}");
            }
        }
        assert_eq!(stats.unrecovered_fragments, 0, "{name}");
    }
}

/// (primary lines by failure, request lines with a ray, response lines).
fn request_counts(data: &str) -> (Vec<(ProxyFailure, usize)>, usize, usize) {
    let (parsed, _) = all(data);
    let mut failures: Vec<(ProxyFailure, usize)> = Vec::new();
    let mut rays = 0;
    let mut responses = 0;
    for p in &parsed {
        match &p.kind {
            EventKind::ProxyError {
                line: ProxyLine::Primary,
                failure,
                ..
            } => match failures.iter_mut().find(|(f, _)| f == failure) {
                Some((_, n)) => *n += 1,
                None => failures.push((failure.clone(), 1)),
            },
            EventKind::TunnelRequest {
                ray: Some(_),
                connecting_ip: Some(_),
                ..
            } => rays += 1,
            EventKind::TunnelResponse { .. } => responses += 1,
            _ => {}
        }
    }
    (failures, rays, responses)
}

#[test]
fn kv_debug_counts_match_the_capture_truth() {
    // truth.json: 302 requests, 21 cloudflared 502s (origin refused), 1 client cancel,
    // 1 SSE stream closed by the client; 279 DBG status lines.
    let (failures, rays, responses) = request_counts(KV_DEBUG);
    let refused = ProxyFailure::OriginUnreachable(OriginErrorCause::Refused);
    assert_eq!(
        failures,
        vec![
            (ProxyFailure::StreamCancelled, 1),
            (refused, 21),
            (ProxyFailure::Cancelled, 1)
        ]
    );
    assert_eq!(failures.iter().map(|(_, n)| n).sum::<usize>(), 21 + 1 + 1);
    assert_eq!(rays, 302);
    assert_eq!(responses, 279);
}

#[test]
fn json_debug_counts_match_the_capture_truth() {
    // truth.json: 301 requests, 16 cloudflared 502s, 1 client cancel, 1 closed SSE stream.
    let (failures, rays, responses) = request_counts(JSON_DEBUG);
    let total: usize = failures.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 16 + 1 + 1);
    assert!(failures.contains(&(
        ProxyFailure::OriginUnreachable(OriginErrorCause::Refused),
        16
    )));
    assert_eq!(rays, 301);
    assert_eq!(responses, 283);
}

#[test]
fn two_spaces_then_error_is_an_empty_message() {
    let line = line_in(KV_DEBUG, "ERR  error=\"Incoming request");
    let rec = console::parse(line).expect("console line");
    assert_eq!(rec.message, "");
    assert_eq!(
        rec.fields.error_text(),
        "Incoming request ended abruptly: context canceled"
    );
    assert!(matches!(
        one(line).kind,
        EventKind::ProxyError {
            line: ProxyLine::Primary,
            ..
        }
    ));
}

#[test]
fn message_beginning_with_spaces_is_kept_and_not_an_empty_message() {
    let line = line_in(OFFLINE_INFO, "ERR   1. ensure that argotunnel.com");
    let rec = console::parse(line).expect("console line");
    assert_eq!(
        rec.message,
        "  1. ensure that argotunnel.com is returning \"origintunneld\" service records."
    );
    assert_eq!(rec.fields.error, None);
    assert_eq!(one(line), Parsed::new(Some(Level::Error), EventKind::Other));
    let deeper = line_in(OFFLINE_INFO, "ERR      Run your system's");
    assert!(console::parse(deeper)
        .expect("console line")
        .message
        .starts_with("     Run your system's equivalent of: dig srv"));
}

#[test]
fn go_quoted_values_with_escaped_quotes_unicode_and_bytes() {
    let line = line_in(MISC, "name=\"caf");
    let rec = console::parse(line).expect("console line");
    assert_eq!(
        rec.message,
        "Settings: map[loglevel:debug no-autoupdate:true token:*****]"
    );
    let mut fields = record::Fields::default();
    // `name` and `note` are not kept fields: decode them directly.
    let name = line
        .split(" name=")
        .nth(1)
        .and_then(|s| s.split(" note=").next());
    assert_eq!(
        go_string::go_unquote(name.expect("name")),
        "café \"x\" \u{fffd}"
    );
    assert_eq!(
        go_string::go_unquote("\"say \\\"hi\\\"\\tthere\""),
        "say \"hi\"\tthere"
    );
    assert_eq!(
        go_string::go_unquote("\"\\U0001F600 \\101\\\\\""),
        "\u{1F600} A\\"
    );
    fields.set(
        "error",
        record::Val {
            raw: "\"a \\x41\"",
            enc: record::Enc::GoQuoted,
        },
    );
    assert_eq!(fields.error_text(), "a A");
}

#[test]
fn unquoted_json_headers_with_spaces_are_one_value() {
    let line = line_in(DOC, "DBG GET https://app.example.com/api/orders?page=2");
    let rec = console::parse(line).expect("console line");
    assert_eq!(
        rec.message,
        "GET https://app.example.com/api/orders?page=2 HTTP/1.1"
    );
    let headers = rec.fields.headers.expect("headers").raw;
    assert!(headers.starts_with("{\"Accept\":[\"application/json\"]"));
    assert!(headers.ends_with("\"X-Forwarded-Proto\":[\"https\"]}"));
    assert_eq!(
        rec.fields.path.map(record::Val::text).as_deref(),
        Some("/api/orders")
    );
}

#[test]
fn ray_and_client_ip_come_from_the_headers_first_values() {
    let line = "2026-08-20T15:30:02Z DBG GET https://a.example.com/x?y=1 HTTP/1.1 connIndex=2 headers={\"Cf-Connecting-Ip\":[\"203.0.113.9\",\"10.0.0.1\"],\"Cf-Ray\":[\"8f3a6c1d2b4e5f70-DFW\",\"ffffffffffffffff-XXX\"],\"User-Agent\":[\"a b, c\"]} host=a.example.com";
    assert_parsed(
        line,
        Some(Level::Debug),
        &EventKind::TunnelRequest {
            method: "GET".into(),
            path: "/x".into(),
            conn_index: Some(2),
            ray: ray("8f3a6c1d2b4e5f70-DFW"),
            connecting_ip: boxed("203.0.113.9"),
        },
    );
    // HTTP/2 puts a placeholder host in the URL; the path is the same.
    let h2 = line_in(DOC, "DBG POST http://localhost:8080/v1/upload HTTP/2.0");
    assert_parsed(
        h2,
        Some(Level::Debug),
        &EventKind::TunnelRequest {
            method: "POST".into(),
            path: "/v1/upload".into(),
            conn_index: Some(3),
            ray: ray("8f3a7d02e91c4b15-ORD"),
            connecting_ip: boxed("198.51.100.7"),
        },
    );
}

#[test]
fn cf_ray_field_of_2023_4_1_to_2024_2_0() {
    assert_parsed(
        line_in(OLD, "DBG GET https://app.example.com/x HTTP/1.1 cfRay="),
        Some(Level::Debug),
        &EventKind::TunnelRequest {
            method: "GET".into(),
            path: "/x".into(),
            conn_index: Some(0),
            ray: ray("8474a277fe971c1a-AMS"),
            connecting_ip: None,
        },
    );
    assert_parsed(
        line_in(OLD, "DBG 200 OK cfRay="),
        Some(Level::Debug),
        &EventKind::TunnelResponse {
            status: 200,
            conn_index: Some(0),
            ray: ray("8474a277fe971c1a-AMS"),
        },
    );
    let err = one(line_in(DOC, "2024-01-18T06:04:54Z ERR  error="));
    assert!(matches!(
        err.kind,
        EventKind::ProxyError { ray: Some(RayId(ref r)), conn_index: None, .. } if &**r == "8474a4a8cdd16081-ORD"
    ));
}

#[test]
fn cf_ray_in_the_message_of_2023_4_0_and_older() {
    assert_parsed(
        line_in(OLD, "CF-RAY: 7a6b5c4d3e2f1a09-AMS GET"),
        Some(Level::Debug),
        &EventKind::TunnelRequest {
            method: "GET".into(),
            path: "/api/v1/items".into(),
            conn_index: None,
            ray: ray("7a6b5c4d3e2f1a09-AMS"),
            connecting_ip: None,
        },
    );
    assert_parsed(
        line_in(OLD, "CF-RAY: 7a6b5c4d3e2f1a09-AMS Status: 200 OK"),
        Some(Level::Debug),
        &EventKind::TunnelResponse {
            status: 200,
            conn_index: None,
            ray: ray("7a6b5c4d3e2f1a09-AMS"),
        },
    );
    assert_parsed(
        line_in(OLD, "Inbound request"),
        Some(Level::Debug),
        &EventKind::Other,
    );
}

#[test]
fn old_lifecycle_wording() {
    let rows = [
        (
            "registered connIndex=0",
            Some(Level::Info),
            EventKind::TunnelConn {
                conn_index: Some(0),
                event: TunnelConnEvent::Registered {
                    location: boxed("AMS"),
                    protocol: None,
                },
            },
        ),
        (
            "in up to 1s seconds",
            Some(Level::Info),
            EventKind::TunnelConn {
                conn_index: Some(0),
                event: TunnelConnEvent::Retrying,
            },
        ),
        (
            "INF Version 2022.8.1",
            Some(Level::Info),
            EventKind::TunnelProcess(TunnelProcessEvent::Version("2022.8.1".into())),
        ),
        (
            "Failed to create new quic connection",
            Some(Level::Error),
            EventKind::TunnelConn {
                conn_index: Some(1),
                event: TunnelConnEvent::DialFailed {
                    reason: boxed(
                        "failed to dial to edge with quic: timeout: no recent network activity",
                    ),
                },
            },
        ),
        (
            "Failed to serve quic connection",
            Some(Level::Warn),
            EventKind::TunnelConn {
                conn_index: Some(1),
                event: TunnelConnEvent::Lost {
                    reason: boxed(
                        "failed to accept QUIC stream: timeout: no recent network activity",
                    ),
                },
            },
        ),
    ];
    for (needle, level, kind) in &rows {
        assert_parsed(line_in(OLD, needle), *level, kind);
    }
}

#[test]
fn r3_primary_line() {
    let p = one(line_in(DOC, "2026-08-20T15:42:03Z ERR  error="));
    assert_eq!(p.level, Some(Level::Error));
    assert_eq!(
        p.kind,
        EventKind::ProxyError {
            line: ProxyLine::Primary,
            failure: ProxyFailure::OriginUnreachable(OriginErrorCause::Timeout),
            conn_index: Some(2),
            origin_service: boxed("http://10.0.0.12:3000"),
            dest: None,
            ray: None,
            error: "Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 10.0.0.12:3000: i/o timeout".into(),
        }
    );
}

#[test]
fn r4_request_failed_line() {
    let p = one(line_in(KV_DEBUG, "ERR Request failed error=\"Incoming"));
    assert!(matches!(
        p.kind,
        EventKind::ProxyError {
            line: ProxyLine::RequestFailed,
            failure: ProxyFailure::Cancelled,
            conn_index: Some(_),
            dest: Some(ref d),
            ..
        } if &**d == "https://mcp.example.com/"
    ));
}

#[test]
fn r5_failed_to_serve_incoming_request_keeps_its_prefix_but_classifies_the_cause() {
    let p = one(line_in(DOC, "ERR failed to serve incoming request"));
    let EventKind::ProxyError {
        line,
        failure,
        conn_index,
        error,
        ..
    } = p.kind
    else {
        panic!("not a proxy error: {:?}", p.kind);
    };
    assert_eq!(line, ProxyLine::RequestFailed);
    assert_eq!(
        failure,
        ProxyFailure::OriginUnreachable(OriginErrorCause::Timeout)
    );
    assert_eq!(conn_index, None);
    assert!(error.starts_with("Failed to proxy HTTP: Unable to reach"));
}

#[test]
fn r10_handler_aborted_is_a_stream_teardown_without_error() {
    assert_parsed(
        line_in(MISC, "Handler aborted"),
        Some(Level::Debug),
        &EventKind::ProxyError {
            line: ProxyLine::StreamTeardown,
            failure: ProxyFailure::Other,
            conn_index: None,
            origin_service: None,
            dest: None,
            ray: None,
            error: "".into(),
        },
    );
}

#[test]
fn r11_failed_to_handle_quic_stream_is_a_stream_teardown() {
    assert_parsed(
        line_in(KV_DEBUG, "DBG Failed to handle QUIC stream"),
        Some(Level::Debug),
        &EventKind::ProxyError {
            line: ProxyLine::StreamTeardown,
            failure: ProxyFailure::StreamCancelled,
            conn_index: Some(1),
            origin_service: None,
            dest: None,
            ray: None,
            error: "stream 37 canceled by remote with error code 0".into(),
        },
    );
}

#[test]
fn each_origin_error_cause() {
    let rows = [
        (
            KV_DEBUG,
            "connect: connection refused",
            OriginErrorCause::Refused,
        ),
        (
            DOC,
            "10.0.0.12:3000: i/o timeout",
            OriginErrorCause::Timeout,
        ),
        (MISC, "TLS handshake timeout", OriginErrorCause::Timeout),
        (MISC, "no such host", OriginErrorCause::Dns),
        (MISC, "x509: certificate signed", OriginErrorCause::Tls),
        (MISC, "malformed HTTP response", OriginErrorCause::Tls),
        (MISC, "cloudflared: EOF", OriginErrorCause::Reset),
        (MISC, "connection reset by peer", OriginErrorCause::Reset),
        (MISC, "proxyconnect tcp", OriginErrorCause::Other),
        (DOC, "error=\"dial tcp [::1]:22", OriginErrorCause::Refused),
    ];
    for (data, needle, cause) in rows {
        let line = line_in(data, needle);
        match one(line).kind {
            EventKind::ProxyError {
                line: ProxyLine::Primary,
                failure: ProxyFailure::OriginUnreachable(got),
                ..
            } => assert_eq!(got, cause, "{line}"),
            other => panic!("{line}\n→ {other:?}"),
        }
    }
    // The malformed-response bytes survive Go quoting intact.
    let p = one(line_in(MISC, "malformed HTTP response"));
    let EventKind::ProxyError { error, .. } = p.kind else {
        panic!("not a proxy error");
    };
    assert!(error.ends_with("malformed HTTP response \"\\x15\\x03\\x01\\x00\\x02\\x02\""));
}

#[test]
fn cancelled_waiting_for_headers_vs_stream_cancelled_mid_body() {
    let failure = |line: &str| match one(line).kind {
        EventKind::ProxyError { failure, .. } => failure,
        other => panic!("{line}\n→ {other:?}"),
    };
    assert_eq!(
        failure(line_in(
            KV_DEBUG,
            "ERR  error=\"Incoming request ended abruptly"
        )),
        ProxyFailure::Cancelled
    );
    assert_eq!(
        failure(line_in(
            KV_DEBUG,
            "ERR  error=\"stream 37 canceled by remote"
        )),
        ProxyFailure::StreamCancelled
    );
    assert_eq!(
        failure(line_in(MISC, "ERR  error=\"context canceled\"")),
        ProxyFailure::StreamCancelled
    );
    assert_eq!(
        failure(line_in(MISC, "Error writing response header")),
        ProxyFailure::Other
    );
}

#[test]
fn context_canceled_on_lifecycle_lines_is_not_a_lost_connection() {
    assert_parsed(
        line_in(
            KV_DEBUG,
            "failed to run the datagram handler error=\"context canceled\"",
        ),
        Some(Level::Error),
        &EventKind::Other,
    );
    assert_parsed(
        line_in(MISC, "Serve tunnel error error=\"context canceled\""),
        Some(Level::Debug),
        &EventKind::Other,
    );
}

/// Splits a real JSON record just before `"time"`, as the unlocked writer does.
fn torn_pair<'a>(a: &'a str, b: &str) -> (String, &'a str) {
    let cut = a.find(",\"time\":").expect("record has a time");
    let (head, tail) = a.split_at(cut);
    (format!("{head}{b}"), tail)
}

#[test]
fn torn_json_line_yields_the_inner_record_then_the_stitched_one() {
    let a = line_in(JSON_DEBUG, "\"message\":\"Request failed\"");
    let b = line_in(
        JSON_DEBUG,
        "\"message\":\"GET https://mcp.example.com/healthz",
    );
    let (line1, line2) = torn_pair(a, b);
    let mut state = State::default();
    let mut stats = ParseStats::default();

    let first = state.parse(line1.as_bytes(), PID, &mut stats);
    assert_eq!(first, one(b), "the whole record inside the torn line");
    let second = state.parse(line2.as_bytes(), PID, &mut stats);
    assert_eq!(second, one(a), "head + tail stitched back");
    assert_eq!(stats.unrecovered_fragments, 0);

    // The next line is ordinary again.
    let third = state.parse(b.as_bytes(), PID, &mut stats);
    assert_eq!(third, one(b));
}

#[test]
fn torn_heads_are_kept_per_process() {
    let a = line_in(JSON_DEBUG, "\"message\":\"Request failed\"");
    let b = line_in(
        JSON_DEBUG,
        "\"message\":\"GET https://mcp.example.com/healthz",
    );
    let (line1, line2) = torn_pair(a, b);
    let mut state = State::default();
    let mut stats = ParseStats::default();
    state.parse(line1.as_bytes(), Some(1), &mut stats);
    // Another process's line in between changes nothing.
    state.parse(b.as_bytes(), Some(2), &mut stats);
    assert_eq!(state.parse(line2.as_bytes(), Some(1), &mut stats), one(a));
    assert_eq!(stats.unrecovered_fragments, 0);
}

#[test]
fn torn_tail_without_a_head_is_a_counted_continuation() {
    let a = line_in(JSON_DEBUG, "\"message\":\"Request failed\"");
    let (_, tail) = torn_pair(a, "");
    let (parsed, stats) = all(&format!("{a}\n{tail}"));
    assert_eq!(parsed[1].kind, EventKind::Continuation);
    assert_eq!(parsed[1].level, Some(Level::Error));
    assert_eq!(stats.unrecovered_fragments, 1);
}

#[test]
fn torn_head_that_never_gets_its_tail_is_counted_once() {
    let a = line_in(JSON_DEBUG, "\"message\":\"Request failed\"");
    let b = line_in(
        JSON_DEBUG,
        "\"message\":\"GET https://mcp.example.com/healthz",
    );
    let (line1, _) = torn_pair(a, b);
    let mut state = State::default();
    let mut stats = ParseStats::default();
    state.parse(line1.as_bytes(), PID, &mut stats);
    for _ in 0..=MAX_HEAD_AGE_LINES {
        assert_eq!(state.parse(b.as_bytes(), PID, &mut stats), one(b));
    }
    assert_eq!(stats.unrecovered_fragments, 1);
    // A head alone on its line is a continuation until its tail comes.
    let (head_only, tail) = torn_pair(a, "");
    let p = state.parse(head_only.as_bytes(), PID, &mut stats);
    assert_eq!(p.kind, EventKind::Continuation);
    assert_eq!(state.parse(tail.as_bytes(), PID, &mut stats), one(a));
    assert_eq!(stats.unrecovered_fragments, 1);
}

#[test]
fn two_whole_records_on_one_line_are_both_returned() {
    let a = line_in(JSON_DEBUG, "\"message\":\"Request failed\"");
    let b = line_in(
        JSON_DEBUG,
        "\"message\":\"GET https://mcp.example.com/healthz",
    );
    let p = one(&format!("{a}{b}"));
    assert_eq!(p.kind, one(a).kind);
    assert_eq!(p.also, vec![one(b).kind]);
}

#[test]
fn error_banner_at_inf_is_info() {
    assert_parsed(
        line_in(MISC, "ERROR: cloudflared will still run"),
        Some(Level::Info),
        &EventKind::Other,
    );
}

#[test]
fn bare_version_line() {
    assert_parsed(
        OFFLINE_VERSION.trim_end(),
        Some(Level::Info),
        &EventKind::TunnelProcess(TunnelProcessEvent::Version("2026.8.2".into())),
    );
}

#[test]
fn bare_fatal_last_line_is_an_error_but_not_a_second_shutdown() {
    for data in [OFFLINE_INFO, OFFLINE_JSON] {
        let (parsed, _) = all(data);
        let last = parsed.last().expect("lines");
        assert!(data
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("Could not lookup srv")));
        assert_eq!(last, &Parsed::new(Some(Level::Error), EventKind::Other));
        let shutdowns = parsed
            .iter()
            .filter(|p| {
                matches!(
                    p.kind,
                    EventKind::TunnelProcess(TunnelProcessEvent::FatalShutdown { .. })
                )
            })
            .count();
        assert_eq!(shutdowns, 1);
    }
    // The same words as the process's own `Initiating shutdown` error, whatever they are.
    let (parsed, _) = all(&format!(
        "{}\nthere are no free edge addresses left to resolve to",
        line_in(MISC, "ERR Initiating shutdown")
    ));
    assert_eq!(parsed[1], Parsed::new(Some(Level::Error), EventKind::Other));
}

#[test]
fn second_physical_line_of_the_fallback_warning_is_a_continuation() {
    let first = line_in(DOC, "WRN If this log occurs persistently");
    let second = line_in(DOC, "If you are using private routing");
    let (parsed, _) = all(&format!("{first}\n{second}"));
    assert_eq!(parsed[0], Parsed::new(Some(Level::Warn), EventKind::Other));
    assert_eq!(
        parsed[1],
        Parsed::new(Some(Level::Warn), EventKind::Continuation)
    );
}

#[test]
fn bare_line_without_a_record_before_it_is_unparsed() {
    assert_parsed("hello there", None, &EventKind::Unparsed);
    assert_parsed("", None, &EventKind::Unparsed);
}

#[test]
fn ansi_colours_are_stripped() {
    let coloured = "\x1b[90m2026-08-20T15:30:02Z\x1b[0m \x1b[1m\x1b[31mERR\x1b[0m\x1b[0m  \x1b[31merror=\x1b[0m\x1b[31m\"Incoming request ended abruptly: context canceled\"\x1b[0m \x1b[36mconnIndex=\x1b[0m0 \x1b[36mevent=\x1b[0m1 \x1b[36moriginService=\x1b[0mhttp://127.0.0.1:5000";
    let plain = "2026-08-20T15:30:02Z ERR  error=\"Incoming request ended abruptly: context canceled\" connIndex=0 event=1 originService=http://127.0.0.1:5000";
    assert_eq!(one(coloured), one(plain));
    assert!(matches!(
        one(plain).kind,
        EventKind::ProxyError {
            failure: ProxyFailure::Cancelled,
            ..
        }
    ));
}

#[test]
fn invalid_utf8_nul_and_huge_lines_do_not_panic() {
    let mut state = State::default();
    let mut stats = ParseStats::default();
    let mut inputs: Vec<Vec<u8>> = vec![
        b"2026-08-20T15:30:02Z ERR  error=\"bad \xff\xfe\" connIndex=\x00".to_vec(),
        b"2026-08-20T15:30:02Z INF \x00\x00\x00".to_vec(),
        b"{\"level\":\"info\",\"message\":\"\xc3\x28\"}".to_vec(),
        b"\xff\xff\xff".to_vec(),
        b"2026-08-20T15:30:02Z".to_vec(),
        b"2026-08-20T15:30:02Z ZZZ x".to_vec(),
        b"2026-08-20T15:30:02+0".to_vec(),
        b"{".to_vec(),
        b"}".to_vec(),
        b"\"a\":1}".to_vec(),
        b"2026-08-20T15:30:02Z DBG GET  HTTP/1.1 headers={".to_vec(),
        b"2026-08-20T15:30:02Z INF x=\"\\".to_vec(),
        b"2026-08-20T15:30:02Z INF x=\"\\u12\"".to_vec(),
        b"{\"message\":\"\\ud800\\u\"}".to_vec(),
    ];
    let mut big = b"2026-08-20T15:30:02Z ERR ".to_vec();
    big.extend(std::iter::repeat_n(b"a=b ".iter().copied(), 250_000).flatten());
    big.extend_from_slice(b"trailing");
    inputs.push(big);
    inputs.push(std::iter::repeat_n(b'{', 1 << 20).collect());
    inputs.push(
        std::iter::repeat_n(b"{\"a\":".iter().copied(), 200_000)
            .flatten()
            .collect(),
    );
    inputs.push(std::iter::repeat_n(b'x', 1 << 20).collect());
    let mut huge_header =
        b"2026-08-20T15:30:02Z DBG GET https://h/ HTTP/1.1 headers={\"X\":[\"".to_vec();
    huge_header.extend(std::iter::repeat_n(b' ', 1 << 20));
    huge_header.extend_from_slice(b"\"]} path=/");
    inputs.push(huge_header);
    for input in &inputs {
        let _ = state.parse(input, PID, &mut stats);
    }
    let p = one("2026-08-20T15:30:02Z ERR  error=\"bad \\xff\" connIndex=999");
    assert!(matches!(
        p.kind,
        EventKind::ProxyError { conn_index: None, ref error, .. } if &**error == "bad \u{fffd}"
    ));
}

#[test]
fn json_record_without_message_is_an_r3_primary_line() {
    let line = line_in(JSON_DEBUG, "{\"connIndex\":0,\"error\":\"Unable to reach");
    assert!(!line.contains("\"message\""));
    assert_eq!(
        one(line),
        one(line_in(KV_DEBUG, "ERR  error=\"Unable to reach"))
    );
}

#[test]
fn raw_logfile_key_order_reads_like_sorted_json() {
    let raw = line_in(
        DOC,
        "{\"level\":\"error\",\"event\":0,\"ip\":\"198.41.200.73\"",
    );
    let sorted = line_in(
        DOC,
        "{\"connIndex\":1,\"dest\":\"https://app.example.com/\"",
    );
    assert_eq!(one(raw), one(sorted));
    let raw_r3 = line_in(DOC, "{\"level\":\"error\",\"event\":1,\"connIndex\":0");
    let sorted_r3 = line_in(DOC, "{\"connIndex\":0,\"error\":\"Incoming request");
    assert_eq!(one(raw_r3), one(sorted_r3));
}

#[test]
fn duplicate_json_keys_keep_the_last_value() {
    let line = r#"{"level":"debug","event":2,"connIndex":1,"originService":"warp-routing","connIndex":3,"error":"x","time":"2026-08-20T16:02:30Z","message":"Failed to handle QUIC stream"}"#;
    assert!(matches!(
        one(line).kind,
        EventKind::ProxyError {
            conn_index: Some(3),
            line: ProxyLine::StreamTeardown,
            ..
        }
    ));
}

#[test]
fn json_escapes_in_message_and_headers_are_decoded() {
    let line = r#"{"headers":{"Cf-Ray":["\u0038f3a6c1d2b4e5f70-DFW"],"X":["\ud83d\ude00 \"q\""]},"level":"debug","message":"GET https://h.example.com/a\u0026b HTTP/1.1","time":"2026-08-20T16:02:30Z"}"#;
    assert_parsed(
        line,
        Some(Level::Debug),
        &EventKind::TunnelRequest {
            method: "GET".into(),
            path: "/a&b".into(),
            conn_index: None,
            ray: ray("8f3a6c1d2b4e5f70-DFW"),
            connecting_ip: None,
        },
    );
    assert_eq!(
        json::text(r#""\ud83d\ude00 \"q\" \/""#),
        "\u{1F600} \"q\" /"
    );
}

#[test]
fn torn_head_ending_in_a_complete_nested_object_stays_one_head() {
    let a = line_in(
        JSON_DEBUG,
        "\"message\":\"GET https://mcp.example.com/healthz",
    );
    let b = line_in(JSON_DEBUG, "\"message\":\"Request failed\"");
    // Cut A right after its (complete) `headers` object.
    let cut = a.find("},\"host\"").expect("headers then host") + 1;
    let (head, tail) = a.split_at(cut);
    let mut state = State::default();
    let mut stats = ParseStats::default();
    let first = state.parse(format!("{head}{b}").as_bytes(), PID, &mut stats);
    assert_eq!(first, one(b));
    assert!(first.also.is_empty());
    assert_eq!(state.parse(tail.as_bytes(), PID, &mut stats), one(a));
    assert_eq!(stats.unrecovered_fragments, 0);
}

#[test]
fn authorization_header_in_a_debug_request_line_is_a_named_secret() {
    let with = one(
        r#"2026-08-20T15:41:17Z DBG GET https://a.example.com/x HTTP/1.1 connIndex=0 content-length=0 event=1 headers={"Authorization":["Bearer abc.def"],"Cf-Ray":["8f3a6c1d2b4e5f70-DFW"]} host=a.example.com ingressRule=0 originService=http://localhost:8000 path=/x"#,
    );
    assert!(matches!(with.kind, EventKind::TunnelRequest { .. }));
    assert_eq!(
        with.also,
        vec![EventKind::Server(crate::parse::ServerEvent::SecretLogged {
            kind: crate::parse::SecretKind::AuthorizationHeader
        })]
    );
    assert!(
        !format!("{with:?}").contains("abc.def"),
        "the value is never copied"
    );
    let without = one(
        r#"2026-08-20T15:41:17Z DBG GET https://a.example.com/x HTTP/1.1 connIndex=0 headers={"Cf-Ray":["8f3a6c1d2b4e5f70-DFW"]} path=/x"#,
    );
    assert!(without.also.is_empty());
    // The other credential headers count; a header that only ends in the name does not.
    let headers = |h: &str| {
        one(&format!(
            r#"2026-08-20T15:41:17Z DBG GET https://a.example.com/x HTTP/1.1 connIndex=0 headers={{{h},"Cf-Ray":["8f3a6c1d2b4e5f70-DFW"]}} path=/x"#
        ))
        .also
        .len()
    };
    assert_eq!(headers(r#""Proxy-Authorization":["Basic eA=="]"#), 1);
    assert_eq!(headers(r#""Cookie":["s=1"]"#), 1);
    assert_eq!(headers(r#""X-Authorization":["v"]"#), 0);
    assert_eq!(
        headers(r#""X-Authorization":["v"],"Authorization":["w"]"#),
        1
    );
}

/// issue 8 (found by the `cloudflared_line` fuzz target): one torn line can hold several
/// fragments between the complete records in it; each is counted once, and the records
/// are still recovered.
#[test]
fn issue_8_a_line_with_several_torn_fragments_counts_each_once() {
    let mut state = State::default();
    let mut stats = ParseStats::default();
    let line = br#"{"level":"info","message":"ICMP proxF {"level":"info","message":"a","time":"2026-11-25T16:42:33Z"}junk{"error":"x","level"{"level":"warn","message":"b","time":"2026-11-25T16:42:34Z"} tail"#;
    let parsed = state.parse(line, Some(1), &mut stats);
    assert!(matches!(parsed.kind, EventKind::Other), "{parsed:?}");
    assert_eq!(parsed.also.len(), 1, "both complete records are recovered");
    let _ = state.parse(b"next line", Some(1), &mut stats);
    assert!(stats.unrecovered_fragments >= 2, "{stats:?}");
    assert!(stats.unrecovered_fragments <= 4, "{stats:?}");
}
