//! Headless report: the `sigil-top.report/1` JSON document, and its text and Markdown
//! forms. Reads `&Model` only; the schema is documented in `docs/report-schema.md` and is
//! a stable contract (fields are added, never renamed or removed, within `/1`).

use std::fmt::Write as _;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::model::detect::{Incident, IncidentId};
use crate::model::stats::Latency;
use crate::model::Model;
use crate::text;

pub const SCHEMA: &str = "sigil-top.report/1";

/// A histogram's figures; with no value recorded every figure is `null` (unknown), never
/// 0.
#[derive(Debug, Serialize)]
pub struct LatencyFigures {
    count: u64,
    max: Option<f64>,
    mean: Option<f64>,
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
}

impl LatencyFigures {
    fn of(l: &Latency) -> LatencyFigures {
        let known = l.count() > 0;
        let f = |v: f64| known.then(|| round3(v));
        LatencyFigures {
            count: l.count(),
            max: f(l.max_ms()),
            mean: f(l.mean_ms()),
            p50: f(l.percentile_ms(50.0)),
            p90: f(l.percentile_ms(90.0)),
            p99: f(l.percentile_ms(99.0)),
            p999: f(l.percentile_ms(99.9)),
        }
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
pub struct Report {
    correlation: Correlation,
    entries: Entries,
    findings: Vec<Finding>,
    hosts: Vec<HostFigures>,
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

/// One host's own figures: what its journal alone would report.
#[derive(Debug, Serialize)]
struct HostFigures {
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

/// One incident as the report and `watch` print it.
#[derive(Debug, Serialize)]
pub struct IncidentDoc {
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
    latency_ms: LatencyFigures,
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
    latency_ms: LatencyFigures,
    method: String,
    path: String,
}

#[derive(Debug, Serialize)]
struct Streams {
    client_closed: u64,
    count: u64,
    lifetime_ms: LatencyFigures,
    open: u64,
}

#[derive(Debug, Serialize)]
struct ToolFigures {
    calls: u64,
    errors: u64,
    latency_ms: LatencyFigures,
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
    overhead_ms: LatencyFigures,
    restarts: u64,
    version: Option<String>,
}

#[derive(Debug, Serialize)]
struct Window {
    end: Option<String>,
    start: Option<String>,
}

/// One incident as the report and `watch` print it.
pub fn incident_json(i: &Incident) -> Value {
    serde_json::to_value(IncidentDoc::of(i)).unwrap_or(Value::Null)
}

/// The report document as a JSON value. Call after `Model::finish` for a history run.
pub fn to_json(model: &Model) -> Value {
    serde_json::to_value(report(model)).unwrap_or(Value::Null)
}

/// The report document. Call after `Model::finish` for a history run.
pub fn report(model: &Model) -> Report {
    let s = &model.stats;
    let d = &model.detector;
    let (start, end) = model.window.map_or((None, None), |(a, b)| {
        (Some(a.to_rfc3339()), Some(b.to_rfc3339()))
    });
    let by_status = s
        .by_status
        .iter()
        .map(|(k, v)| {
            let key = if *k == 0 {
                "unknown".to_owned()
            } else {
                k.to_string()
            };
            (key, *v)
        })
        .collect();
    let mut routes: Vec<_> = s.by_route.iter().filter(|(_, r)| r.count > 0).collect();
    routes.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    let by_route = routes
        .iter()
        .map(|((method, path), r)| RouteFigures {
            count: r.count,
            errors: r.errors,
            latency_ms: LatencyFigures::of(&r.latency),
            method: text::sanitize(method).into_owned(),
            path: text::sanitize(&crate::text::redact_query(path)).into_owned(),
        })
        .collect();
    let tools = s
        .by_tool
        .iter()
        .map(|(name, k)| ToolFigures {
            calls: k.count,
            errors: k.errors,
            latency_ms: LatencyFigures::of(&k.latency),
            tool: text::sanitize(name).into_owned(),
        })
        .collect();
    let bad_gateway_by_cause = ["refused", "timeout", "dns", "tls", "reset", "other"]
        .iter()
        .map(|c| {
            let n: u64 = s
                .bad_gateway_by_cause
                .iter()
                .filter(|(k, _)| k.as_str() == *c)
                .map(|(_, v)| *v)
                .sum();
            (*c, n)
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
        hosts: hosts(model),
        incidents: d.incidents.iter().map(IncidentDoc::of).collect(),
        origin: OriginFigures {
            auto_restarts: d.auto_restarts,
            crashes: d.crashes,
            errors_5xx: s.errors_5xx,
            listen_port: d.state.origin_listen_port,
            restarts: d.restarts,
        },
        requests: Requests {
            abandoned: s.abandoned,
            by_route,
            by_status,
            invalid_http: d.invalid_http,
            latency_ms: LatencyFigures::of(&s.latency),
            latency_source: LatencySources {
                derived: s.latency_derived,
                exact: s.latency_exact,
                tunnel: s.latency_tunnel,
                unknown: s.latency_unknown,
            },
            served: s.requests.saturating_sub(s.abandoned),
            total: s.requests,
            tunnel_view_only: s.tunnel_view_only,
            unanswered: s.unanswered,
        },
        schema: SCHEMA,
        streams: Streams {
            client_closed: s.stream_closed,
            count: s.streams,
            lifetime_ms: LatencyFigures::of(&s.stream_lifetime),
            open: model.correlator.open_streams() as u64,
        },
        tools,
        tunnel: TunnelFigures {
            bad_gateway: s.bad_gateway,
            bad_gateway_by_cause,
            client_abort: s.client_abort,
            connection_state_known: d.state.tunnel_state_known,
            disconnects: d.disconnects,
            down_seconds: round3(d.down_us as f64 / 1e6),
            edge_timeout: s.edge_timeout,
            overhead_ms: LatencyFigures::of(&s.tunnel_overhead),
            restarts: d.tunnel_restarts,
            version: d
                .state
                .cloudflared_version
                .as_deref()
                .map(|v| text::sanitize(v).into_owned()),
        },
        window: Window { end, start },
    }
}

/// `p50 … ms, p90 …, p99 …, max …`, or `unknown` when no latency is known.
fn latency_text(l: &Latency) -> String {
    if l.count() == 0 {
        return "unknown (no answered request with a known time)".to_owned();
    }
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        l.percentile_ms(50.0),
        l.percentile_ms(90.0),
        l.percentile_ms(99.0),
        l.max_ms()
    )
}

/// A readable summary; incidents first.
pub fn to_text(model: &Model) -> String {
    let v = to_json(model);
    let mut out = String::new();
    let s = &model.stats;
    let d = &model.detector;
    let _ = writeln!(
        out,
        "sigil-top report  {} .. {}",
        v["window"]["start"].as_str().unwrap_or("-"),
        v["window"]["end"].as_str().unwrap_or("-")
    );
    let _ = writeln!(out);
    if d.incidents.is_empty() {
        let _ = writeln!(out, "incidents: none");
    } else {
        let _ = writeln!(out, "incidents:");
        for i in &d.incidents {
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
    let _ = writeln!(out);
    let seen_by = if s.tunnel_view_only == 0 {
        String::new()
    } else if s.tunnel_view_only == s.requests {
        " (as cloudflared saw them: no origin lines)".to_owned()
    } else {
        format!(" ({} only in cloudflared's lines)", s.tunnel_view_only)
    };
    let _ = writeln!(
        out,
        "requests: {} answered, {} 5xx{seen_by}; latency {}",
        s.requests,
        s.errors_5xx,
        latency_text(&s.latency)
    );
    let _ = writeln!(
        out,
        "  latency source: {} exact (duration_ms), {} derived (journal stamps), {} tunnel (cloudflared's request to response), {} unknown (overlapping, not paired)",
        s.latency_exact, s.latency_derived, s.latency_tunnel, s.latency_unknown
    );
    let statuses: Vec<String> = s
        .by_status
        .iter()
        .map(|(k, v)| {
            if *k == 0 {
                format!("unknown:{v}")
            } else {
                format!("{k}:{v}")
            }
        })
        .collect();
    let _ = writeln!(out, "  status: {}", statuses.join(" "));
    let _ = writeln!(
        out,
        "tunnel: {} bad gateway (502), {} edge timeouts (524), {} client aborts, {} disconnects, {:.1} s down",
        s.bad_gateway,
        s.edge_timeout,
        s.client_abort,
        d.disconnects,
        d.down_us as f64 / 1e6
    );
    if s.tunnel_overhead.count() > 0 {
        let _ = writeln!(
            out,
            "  tunnel overhead (cloudflared's time minus the origin's, {} requests both logged): {}",
            s.tunnel_overhead.count(),
            latency_text(&s.tunnel_overhead)
        );
    }
    let _ = writeln!(
        out,
        "origin: {} restarts, {} crashes; streams: {} ({} open)",
        d.restarts,
        d.crashes,
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
    if !d.findings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "findings (secrets in the logs; values never shown):");
        for f in d.findings.values() {
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
    out
}

/// The incidents as a Markdown table; `cause` makes each cause safe for the output.
pub fn incidents_table(
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

/// Each host's own figures (a journal directory gathered from several hosts): what that
/// host's journal alone would report. The totals above add them up.
fn hosts(model: &Model) -> Vec<HostFigures> {
    let detector = model.detector.hosts();
    let mut names: Vec<Option<&str>> = model
        .per_host
        .iter()
        .map(|h| h.host.as_deref())
        .chain(detector.iter().map(|(h, _, _)| *h))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        // The detector's state before the first line has no host: only a host with
        // something to say is listed.
        .filter(|name| {
            name.is_some()
                || model.per_host.iter().any(|h| h.host.is_none())
                || detector.iter().any(|(h, c, r)| {
                    h.is_none()
                        && (**c != crate::model::detect::HostCounts::default() || r.is_some())
                })
        })
        .map(|name| {
            let traffic = model.per_host.iter().find(|h| h.host.as_deref() == name);
            let state = detector.iter().find(|(h, _, _)| *h == name);
            let n = |f: fn(&crate::model::HostTraffic) -> u64| traffic.map_or(0, f);
            HostFigures {
                // Hostnames are log text (`_HOSTNAME`), shown safely like every other.
                bad_gateway: n(|h| h.bad_gateway),
                client_abort: n(|h| h.client_abort),
                disconnects: state.map_or(0, |(_, c, _)| c.disconnects),
                down_seconds: state.map_or(0.0, |(_, c, _)| c.down_us as f64 / 1e6),
                edge_timeout: n(|h| h.edge_timeout),
                host: name.map(|h| text::sanitize(h).into_owned()),
                origin_5xx: n(|h| h.origin_5xx),
                origin_crashes: state.map_or(0, |(_, c, _)| c.crashes),
                origin_restarts: state.map_or(0, |(_, c, _)| c.restarts),
                requests: n(|h| h.requests),
                tunnel_connections: state.and_then(|(_, _, r)| *r).map(|n| n as u64),
            }
        })
        .collect()
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
            let direct = serde_json::to_string(&report(&model)).unwrap();
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
