//! Headless report: the `sigil-top.report/1` JSON document, and its text and Markdown
//! forms. Reads `&Model` only, its headline figures through [`Summary`] (the same figures
//! the screen's header and a snapshot's `summary.md` show); the schema is documented in
//! `docs/report-schema.md` and is a stable contract (fields are added, never renamed or
//! removed, within `/1`).

use std::fmt::Write as _;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::model::detect::{Incident, IncidentId};
use crate::model::stats::Latency;
use crate::model::Model;
use crate::text;

use super::summary::{self, ms, HostFigures, LatencyFigures, Percentiles, Summary};

pub(crate) const SCHEMA: &str = "sigil-top.report/1";

/// A histogram's figures as the document writes them (ms, to three decimals); with no
/// value recorded every figure is `null` (unknown), never 0.
#[derive(Debug, Serialize)]
struct LatencyDoc {
    count: u64,
    max: Option<f64>,
    mean: Option<f64>,
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
}

impl LatencyDoc {
    fn of(l: LatencyFigures) -> LatencyDoc {
        let f = |pick: fn(&Percentiles) -> f64| l.known.as_ref().map(|p| round3(pick(p)));
        LatencyDoc {
            count: l.count,
            max: f(|p| ms(p.max_us)),
            mean: f(|p| p.mean_us / 1000.0),
            p50: f(|p| ms(p.p50_us)),
            p90: f(|p| ms(p.p90_us)),
            p99: f(|p| ms(p.p99_us)),
            p999: f(|p| ms(p.p999_us)),
        }
    }

    fn of_histogram(l: &Latency) -> LatencyDoc {
        LatencyDoc::of(LatencyFigures::of(l))
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

// The `sigil-top.report/1` document, typed. Fields are declared in alphabetical order:
// the document has always been written with sorted keys, and serde writes a struct's
// fields in declaration order (docs/report-schema.md is the contract).

/// The report document (see `docs/report-schema.md`).
#[derive(Debug, Serialize)]
struct Report {
    correlation: Correlation,
    entries: Entries,
    findings: Vec<Finding>,
    hosts: Vec<HostDoc>,
    incidents: Vec<IncidentDoc>,
    origin: OriginFigures,
    requests: Requests,
    schema: &'static str,
    streams: Streams,
    tools: Vec<ToolFigures>,
    tunnel: TunnelFigures,
    window: Window,
}

#[derive(Debug, Serialize)]
struct Correlation {
    exact: u64,
    heuristic: u64,
    origin_only: u64,
    tunnel_only: u64,
}

#[derive(Debug, Serialize)]
struct Entries {
    by_unit: BTreeMap<String, u64>,
    continuation: u64,
    duplicates_skipped: u64,
    total: u64,
    unparsed: u64,
}

#[derive(Debug, Serialize)]
struct Finding {
    advice: String,
    count: u64,
    first_seen: String,
    kind: &'static str,
    unit: String,
}

/// One host's own figures: what its journal alone would report (a journal directory
/// gathered from several hosts). The totals add them up.
#[derive(Debug, Serialize)]
struct HostDoc {
    bad_gateway: u64,
    client_abort: u64,
    disconnects: u64,
    down_seconds: f64,
    edge_timeout: u64,
    host: Option<String>,
    origin_5xx: u64,
    origin_crashes: u64,
    origin_restarts: u64,
    requests: u64,
    tunnel_connections: Option<u64>,
}

impl HostDoc {
    fn of(h: &HostFigures) -> HostDoc {
        HostDoc {
            bad_gateway: h.bad_gateway,
            client_abort: h.client_abort,
            disconnects: h.disconnects,
            down_seconds: h.down_us as f64 / 1e6,
            edge_timeout: h.edge_timeout,
            // Hostnames are log text (`_HOSTNAME`), shown safely like every other.
            host: h.host.as_deref().map(|h| text::sanitize(h).into_owned()),
            origin_5xx: h.origin_5xx,
            origin_crashes: h.origin_crashes,
            origin_restarts: h.origin_restarts,
            requests: h.requests,
            tunnel_connections: h.tunnel_connections,
        }
    }
}

/// One incident as the report and `watch` print it.
#[derive(Debug, Serialize)]
struct IncidentDoc {
    cause: String,
    count: u64,
    end: Option<String>,
    evidence: Vec<String>,
    host: Option<String>,
    id: IncidentId,
    kind: &'static str,
    severity: &'static str,
    start: String,
}

impl IncidentDoc {
    fn of(i: &Incident) -> IncidentDoc {
        IncidentDoc {
            cause: text::display(&i.cause).into_owned(),
            count: i.count,
            end: i.end.map(crate::source::Timestamp::to_rfc3339),
            evidence: i
                .evidence
                .iter()
                .map(|c| text::sanitize(&c.0).into_owned())
                .collect(),
            host: i.host.as_deref().map(|h| text::sanitize(h).into_owned()),
            id: i.id,
            kind: i.kind.as_str(),
            severity: i.severity.as_str(),
            start: i.start.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize)]
struct OriginFigures {
    auto_restarts: u64,
    crashes: u64,
    errors_5xx: u64,
    listen_port: Option<u16>,
    restarts: u64,
}

#[derive(Debug, Serialize)]
struct Requests {
    abandoned: u64,
    by_route: Vec<RouteFigures>,
    by_status: BTreeMap<String, u64>,
    invalid_http: u64,
    latency_ms: LatencyDoc,
    latency_source: LatencySources,
    served: u64,
    total: u64,
    tunnel_view_only: u64,
    unanswered: u64,
}

#[derive(Debug, Serialize)]
struct LatencySources {
    derived: u64,
    exact: u64,
    tunnel: u64,
    unknown: u64,
}

#[derive(Debug, Serialize)]
struct RouteFigures {
    count: u64,
    errors: u64,
    latency_ms: LatencyDoc,
    method: String,
    path: String,
}

#[derive(Debug, Serialize)]
struct Streams {
    client_closed: u64,
    count: u64,
    lifetime_ms: LatencyDoc,
    open: u64,
}

#[derive(Debug, Serialize)]
struct ToolFigures {
    calls: u64,
    errors: u64,
    latency_ms: LatencyDoc,
    tool: String,
}

#[derive(Debug, Serialize)]
struct TunnelFigures {
    bad_gateway: u64,
    bad_gateway_by_cause: BTreeMap<&'static str, u64>,
    client_abort: u64,
    connection_state_known: bool,
    disconnects: u64,
    down_seconds: f64,
    edge_timeout: u64,
    overhead_ms: LatencyDoc,
    restarts: u64,
    version: Option<String>,
}

#[derive(Debug, Serialize)]
struct Window {
    end: Option<String>,
    start: Option<String>,
}

/// One incident as the report and `watch` print it.
pub(crate) fn incident_json(i: &Incident) -> Value {
    serde_json::to_value(IncidentDoc::of(i)).unwrap_or(Value::Null)
}

/// The report document as a JSON value. Call after `Model::finish` for a history run.
pub fn to_json(model: &Model) -> Value {
    serde_json::to_value(report(model, &Summary::of(model))).unwrap_or(Value::Null)
}

/// The report document for `model`, whose figures `summary` holds. Call after
/// `Model::finish` for a history run.
fn report(model: &Model, summary: &Summary) -> Report {
    let s = &model.stats;
    let d = &model.detector;
    let (start, end) = summary.window.map_or((None, None), |(a, b)| {
        (Some(a.to_rfc3339()), Some(b.to_rfc3339()))
    });
    let tools = s
        .by_tool
        .iter()
        .map(|(name, k)| ToolFigures {
            calls: k.count,
            errors: k.errors,
            latency_ms: LatencyDoc::of_histogram(&k.latency),
            tool: text::sanitize(name).into_owned(),
        })
        .collect();
    let by_unit = model
        .entries
        .by_unit
        .iter()
        .map(|(k, v)| (text::sanitize(k).into_owned(), v))
        .collect();
    let findings = d
        .findings
        .values()
        .map(|f| Finding {
            advice: f.advice().to_string(),
            count: f.count,
            first_seen: f.first_seen.to_rfc3339(),
            kind: f.kind.as_str(),
            unit: text::sanitize(&f.unit).into_owned(),
        })
        .collect();
    let links = &model.correlator.links;
    Report {
        correlation: Correlation {
            exact: links.exact,
            heuristic: links.heuristic,
            origin_only: links.origin_only,
            tunnel_only: links.tunnel_only,
        },
        entries: Entries {
            by_unit,
            continuation: model.entries.continuation,
            duplicates_skipped: model.entries.duplicates,
            total: model.entries.total,
            unparsed: model.entries.unparsed,
        },
        findings,
        hosts: summary.hosts.iter().map(HostDoc::of).collect(),
        incidents: d.incidents.iter().map(IncidentDoc::of).collect(),
        origin: OriginFigures {
            auto_restarts: summary.origin.auto_restarts,
            crashes: summary.origin.crashes,
            errors_5xx: summary.traffic.errors_5xx,
            listen_port: d.state.origin_listen_port,
            restarts: summary.origin.restarts,
        },
        requests: Requests::of(model, summary),
        schema: SCHEMA,
        streams: Streams {
            client_closed: s.stream_closed,
            count: s.streams,
            lifetime_ms: LatencyDoc::of_histogram(&s.stream_lifetime),
            open: model.correlator.open_streams() as u64,
        },
        tools,
        tunnel: TunnelFigures::of(model, summary),
        window: Window { end, start },
    }
}

impl Requests {
    fn of(model: &Model, summary: &Summary) -> Requests {
        let s = &model.stats;
        let requests = &summary.requests;
        Requests {
            abandoned: requests.abandoned,
            by_route: summary::routes_busiest_first(s)
                .iter()
                .map(|((method, path), r)| RouteFigures {
                    count: r.count,
                    errors: r.errors,
                    latency_ms: LatencyDoc::of_histogram(&r.latency),
                    method: text::sanitize(method).into_owned(),
                    path: text::sanitize(&crate::text::redact_query(path)).into_owned(),
                })
                .collect(),
            by_status: requests
                .by_status
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect(),
            invalid_http: model.detector.invalid_http,
            latency_ms: LatencyDoc::of(summary.traffic.latency),
            latency_source: LatencySources {
                derived: s.latency_derived,
                exact: s.latency_exact,
                tunnel: s.latency_tunnel,
                unknown: s.latency_unknown,
            },
            served: requests.served,
            total: summary.traffic.requests,
            tunnel_view_only: requests.tunnel_view_only,
            unanswered: requests.unanswered,
        }
    }
}

impl TunnelFigures {
    fn of(model: &Model, summary: &Summary) -> TunnelFigures {
        let state = &model.detector.state;
        let tunnel = &summary.tunnel;
        TunnelFigures {
            bad_gateway: summary.traffic.bad_gateway,
            bad_gateway_by_cause: tunnel
                .bad_gateway_by_cause
                .iter()
                .map(|(c, n)| (c.as_str(), *n))
                .collect(),
            client_abort: tunnel.client_abort,
            connection_state_known: state.tunnel_state_known,
            disconnects: tunnel.disconnects,
            down_seconds: round3(tunnel.down_us as f64 / 1e6),
            edge_timeout: summary.traffic.edge_timeout,
            overhead_ms: LatencyDoc::of_histogram(&model.stats.tunnel_overhead),
            restarts: tunnel.restarts,
            version: state
                .cloudflared_version
                .as_deref()
                .map(|v| text::sanitize(v).into_owned()),
        }
    }
}

/// `p50 … ms, p90 …, p99 …, max …`, or `unknown` when no latency is known.
fn latency_text(l: &LatencyFigures) -> String {
    let Some(p) = l.known else {
        return "unknown (no answered request with a known time)".to_owned();
    };
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(p.p50_us),
        ms(p.p90_us),
        ms(p.p99_us),
        ms(p.max_us)
    )
}

/// A readable summary; incidents first.
pub fn to_text(model: &Model) -> String {
    let summary = Summary::of(model);
    let mut out = String::new();
    let s = &model.stats;
    let d = &model.detector;
    let traffic = &summary.traffic;
    let tunnel = &summary.tunnel;
    let (start, end) = summary.window.map_or_else(
        || ("-".to_owned(), "-".to_owned()),
        |(a, b)| (a.to_rfc3339(), b.to_rfc3339()),
    );
    let _ = writeln!(out, "sigil-top report  {start} .. {end}");
    let _ = writeln!(out);
    incidents_text(&mut out, &d.incidents);
    let _ = writeln!(out);
    let tunnel_view_only = summary.requests.tunnel_view_only;
    let seen_by = if tunnel_view_only == 0 {
        String::new()
    } else if tunnel_view_only == traffic.requests {
        " (as cloudflared saw them: no origin lines)".to_owned()
    } else {
        format!(" ({tunnel_view_only} only in cloudflared's lines)")
    };
    let _ = writeln!(
        out,
        "requests: {} answered, {} 5xx{seen_by}; latency {}",
        traffic.requests,
        traffic.errors_5xx,
        latency_text(&traffic.latency)
    );
    let _ = writeln!(
        out,
        "  latency source: {} exact (duration_ms), {} derived (journal stamps), {} tunnel (cloudflared's request to response), {} unknown (overlapping, not paired)",
        s.latency_exact, s.latency_derived, s.latency_tunnel, s.latency_unknown
    );
    let statuses: Vec<String> = summary
        .requests
        .by_status
        .iter()
        .map(|(k, n)| format!("{k}:{n}"))
        .collect();
    let _ = writeln!(out, "  status: {}", statuses.join(" "));
    let _ = writeln!(
        out,
        "tunnel: {} bad gateway (502), {} edge timeouts (524), {} client aborts, {} disconnects, {:.1} s down",
        traffic.bad_gateway,
        traffic.edge_timeout,
        tunnel.client_abort,
        tunnel.disconnects,
        tunnel.down_us as f64 / 1e6
    );
    let overhead = LatencyFigures::of(&s.tunnel_overhead);
    if overhead.count > 0 {
        let _ = writeln!(
            out,
            "  tunnel overhead (cloudflared's time minus the origin's, {} requests both logged): {}",
            overhead.count,
            latency_text(&overhead)
        );
    }
    let _ = writeln!(
        out,
        "origin: {} restarts, {} crashes; streams: {} ({} open)",
        summary.origin.restarts,
        summary.origin.crashes,
        s.streams,
        model.correlator.open_streams()
    );
    let l = &model.correlator.links;
    let _ = writeln!(
        out,
        "correlation: {} exact, {} heuristic, {} tunnel-only, {} origin-only",
        l.exact, l.heuristic, l.tunnel_only, l.origin_only
    );
    let _ = writeln!(
        out,
        "entries: {} ({} unparsed, {} continuation lines{})",
        model.entries.total,
        model.entries.unparsed,
        model.entries.continuation,
        if model.entries.duplicates > 0 {
            format!(
                "; {} duplicates skipped (given by more than one input)",
                model.entries.duplicates
            )
        } else {
            String::new()
        }
    );
    findings_text(&mut out, model);
    out
}

/// The text report's secrets found in the logs (their kinds and where, never values);
/// nothing when there are none.
fn findings_text(out: &mut String, model: &Model) {
    let findings = &model.detector.findings;
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "findings (secrets in the logs; values never shown):");
    for f in findings.values() {
        let _ = writeln!(
            out,
            "  {} x{} since {} in {}: {}",
            f.kind.as_str(),
            f.count,
            f.first_seen.to_rfc3339(),
            text::sanitize(&f.unit),
            f.advice()
        );
    }
}

/// The text report's incident lines (`incidents: none` when there are none).
fn incidents_text(out: &mut String, incidents: &[Incident]) {
    if incidents.is_empty() {
        let _ = writeln!(out, "incidents: none");
        return;
    }
    let _ = writeln!(out, "incidents:");
    for i in incidents {
        let _ = writeln!(
            out,
            "  #{:<3} {:<9} {:<16} {}  x{}  {}",
            i.id,
            i.severity.as_str(),
            i.kind.as_str(),
            i.start.to_rfc3339(),
            i.count,
            text::display(&i.cause)
        );
    }
}

/// The incidents as a Markdown table; `cause` makes each cause safe for the output.
pub(crate) fn incidents_table(
    out: &mut String,
    incidents: &[Incident],
    mut cause: impl FnMut(&str) -> String,
) {
    out.push_str("| # | kind | severity | start | end | count | likely cause |\n|---|---|---|---|---|---|---|\n");
    for i in incidents {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            i.id,
            i.kind.as_str(),
            i.severity.as_str(),
            i.start.to_rfc3339(),
            i.end
                .map_or_else(|| "open".to_owned(), crate::source::Timestamp::to_rfc3339),
            i.count,
            text::markdown_cell(&cause(&i.cause))
        );
    }
}

/// Markdown for tickets; incidents first.
pub fn to_markdown(model: &Model) -> String {
    let mut out = String::from("# sigil-top report\n\n");
    let d = &model.detector;
    out.push_str("## Incidents\n\n");
    if d.incidents.is_empty() {
        out.push_str("None.\n\n");
    } else {
        incidents_table(&mut out, &d.incidents, |cause| {
            text::display(cause).into_owned()
        });
        out.push('\n');
    }
    out.push_str("## Summary\n\n```\n");
    out.push_str(&to_text(model));
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod typed {
    use super::*;
    use crate::model::tests_support::{scenario, SCENARIOS};

    /// The typed document writes exactly what the untyped one did: keys sorted at every
    /// level (a field declared out of order would change the bytes consumers diff), and
    /// the contract's fields, whatever the scenario.
    #[test]
    fn the_typed_report_keeps_sorted_keys_and_the_contract() {
        for &name in SCENARIOS {
            let (model, _) = scenario(name);
            let direct = serde_json::to_string(&report(&model, &Summary::of(&model))).unwrap();
            let via_value: Value = serde_json::from_str(&direct).unwrap();
            // serde_json's Map is sorted: re-written, a sorted document is unchanged.
            assert_eq!(serde_json::to_string(&via_value).unwrap(), direct, "{name}");
            assert_eq!(via_value["schema"], SCHEMA);
            for key in ["exact", "heuristic", "tunnel_only", "origin_only"] {
                assert!(via_value["correlation"][key].is_u64(), "{name}: {key}");
            }
            let latency = &via_value["requests"]["latency_ms"];
            assert_eq!(
                latency["p99"].is_null(),
                latency["count"] == 0,
                "{name}: figures are null exactly when nothing was measured"
            );
        }
    }
}
