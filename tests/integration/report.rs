//! `sigil-top report` end to end on the real captures: real journal files built with
//! `systemd-journal-remote`, read through sd-journal, checked against each capture's truth.

use std::path::Path;

use serde_json::Value;

use crate::util::{data, export_text, sigil_top, sigil_top_ok, Record};

fn truth(name: &str) -> Value {
    let text = std::fs::read(data(&format!("real/{name}/truth.json"))).unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn report_of_dir(dir: &Path) -> Value {
    crate::util::report_json(&["-D", dir.to_str().unwrap()], None)
}

fn journal_of(name: &str) -> tempfile::TempDir {
    crate::util::journal_of_data(&format!("real/{name}/export.txt"), "x")
}

fn n(v: &Value, path: &str) -> u64 {
    let mut cur = v;
    for p in path.split('.') {
        cur = &cur[p];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("{path} is not a count: {cur}"))
}

/// The counts an operator trusts to the request, on every real capture.
#[test]
fn report_counts_match_the_truth_of_each_real_capture() {
    for name in ["kv-debug", "stock-info", "json-debug-json"] {
        let dir = journal_of(name);
        let report = report_of_dir(dir.path());
        let t = &truth(name)["totals"];
        assert_eq!(report["schema"], "sigil-top.report/1");
        assert_eq!(
            n(&report, "tunnel.bad_gateway"),
            t["bad_gateway_502_from_cloudflared"].as_u64().unwrap(),
            "{name}: 502s are counted once per request, not per line"
        );
        assert_eq!(
            n(&report, "origin.restarts"),
            t["origin_restarts"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(n(&report, "origin.crashes"), 0, "{name}");
        let cancels = n(&report, "tunnel.edge_timeout") + n(&report, "tunnel.client_abort");
        assert_eq!(
            cancels,
            t["client_cancels"].as_u64().unwrap(),
            "{name}: one client cancel"
        );
        let origin = t["by_source"]["origin"].as_u64().unwrap();
        let total = n(&report, "requests.total");
        assert!(
            (origin..=origin + 1).contains(&total),
            "{name}: requests.total {total}, the origin answered {origin} (+1 answered after the client left)"
        );
        let joinable = t["requests_origin_logged_with_ray_and_request_id"]
            .as_u64()
            .unwrap();
        let exact = n(&report, "correlation.exact");
        assert!(
            exact <= joinable && exact * 100 >= joinable * 95,
            "{name}: exact joins {exact} of {joinable} joinable"
        );
        assert_eq!(
            n(&report, "entries.unparsed"),
            0,
            "{name}: every line is understood"
        );
        let incidents = report["incidents"].as_array().unwrap();
        let bad_gateway = incidents
            .iter()
            .find(|i| i["kind"] == "bad_gateway")
            .unwrap_or_else(|| panic!("{name}: no bad_gateway incident in {incidents:?}"));
        assert!(
            bad_gateway["cause"]
                .as_str()
                .unwrap()
                .starts_with("origin down (restart)"),
            "{name}: the 502 burst is named as the restart: {bad_gateway}"
        );
    }
}

/// Stock format: no ids, so latency is derived from journal stamps only when unambiguous,
/// and the report says so.
#[test]
fn stock_format_latencies_say_where_they_come_from() {
    let dir = journal_of("stock-info");
    let report = report_of_dir(dir.path());
    let src = &report["requests"]["latency_source"];
    assert_eq!(src["exact"], 0);
    assert!(src["derived"].as_u64().unwrap() > 200, "{src}");
    assert_eq!(
        src["derived"].as_u64().unwrap()
            + src["unknown"].as_u64().unwrap()
            + n(&report, "streams.count"),
        n(&report, "requests.total"),
        "every answered request is exact, derived, unknown or a stream"
    );
    assert_eq!(
        n(&report, "correlation.exact"),
        0,
        "no ray on the server side here"
    );
}

/// The same capture through stdin (`journalctl -o export | sigil-top report -`) gives
/// the same report as reading the journal directory.
#[test]
fn report_from_stdin_equals_report_from_the_journal() {
    let dir = journal_of("kv-debug");
    let from_dir = report_of_dir(dir.path());
    let export = std::fs::read(data("real/kv-debug/export.txt")).unwrap();
    let out = sigil_top_ok(&["report", "-", "--format", "json"], Some(&export));
    let from_stdin: Value = serde_json::from_slice(&out).unwrap();
    // systemd-journal-remote gives the entries new cursors; everything else is equal.
    let without_cursors = |mut v: Value| {
        for i in v["incidents"].as_array_mut().unwrap() {
            i["evidence"] = Value::Null;
        }
        v
    };
    assert_eq!(without_cursors(from_dir), without_cursors(from_stdin));
}

/// Secrets the server logs are named in `findings` and never printed, in any format.
#[test]
fn secrets_in_the_logs_are_found_and_never_printed() {
    let stderr =
        std::fs::read_to_string(data("real/sigil-prod-startup/start1.stderr.log")).unwrap();
    let stdout =
        std::fs::read_to_string(data("real/sigil-prod-startup/start1.stdout.log")).unwrap();
    let mut records = vec![Record::pid1(
        1_795_600_000_000_000,
        "h",
        "sigil-mcp.service",
        "Started sigil-mcp.service - Sigil MCP Server.",
    )];
    let mut t = 1_795_600_000_100_000;
    for line in stderr.lines().chain(stdout.lines()) {
        t += 37;
        records.push(Record::service(
            t,
            "h",
            "sigil-mcp.service",
            16251,
            "python",
            line,
        ));
    }
    // A token in a query string, as uvicorn logs it.
    records.push(Record::service(
        t + 50,
        "h",
        "sigil-mcp.service",
        16251,
        "python",
        "INFO:     127.0.0.1:44514 - \"GET /healthz?token=QUERYSECRET123 HTTP/1.1\" 200 OK",
    ));
    let export = export_text(&records);
    let secret = stderr
        .lines()
        .find_map(|l| l.split("Client Secret: ").nth(1))
        .unwrap()
        .trim();
    assert!(secret.len() > 20);
    for format in ["json", "text", "markdown"] {
        let out = sigil_top(&["report", "-", "--format", format], Some(&export));
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains(secret),
            "{format} output leaks the client secret"
        );
        assert!(
            !text.contains("QUERYSECRET123"),
            "{format} output leaks the query token"
        );
        assert!(
            text.contains("oauth_client_secret"),
            "{format} output names the finding:\n{text}"
        );
        assert!(text.contains("query_token"), "{format}: {text}");
    }
}
