//! Headless report: the `sigil-top.report/1` JSON document, and its text and Markdown
//! forms. Reads `&Model` only; the schema is documented in `docs/report-schema.md` and is
//! a stable contract (fields are added, never renamed or removed, within `/1`).

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use crate::model::detect::Incident;
use crate::model::stats::Latency;
use crate::model::Model;
use crate::text;

pub const SCHEMA: &str = "sigil-top.report/1";

/// A histogram's figures; with no value recorded the percentiles are `null` (unknown),
/// never 0.
fn latency_json(l: &Latency) -> Value {
    if l.count() == 0 {
        return json!({
            "count": 0, "p50": null, "p90": null, "p99": null, "p999": null, "max": null, "mean": null,
        });
    }
    json!({
        "count": l.count(),
        "p50": round3(l.percentile_ms(50.0)),
        "p90": round3(l.percentile_ms(90.0)),
        "p99": round3(l.percentile_ms(99.0)),
        "p999": round3(l.percentile_ms(99.9)),
        "max": round3(l.max_ms()),
        "mean": round3(l.mean_ms()),
    })
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One incident as the report and `watch` print it.
pub fn incident_json(i: &Incident) -> Value {
    json!({
        "id": i.id,
        "kind": i.kind.as_str(),
        "severity": i.severity.as_str(),
        "start": i.start.to_rfc3339(),
        "end": i.end.map(crate::source::Timestamp::to_rfc3339),
        "count": i.count,
        "cause": text::display(&i.cause),
        "evidence": i.evidence.iter().map(|c| text::sanitize(&c.0).into_owned()).collect::<Vec<_>>(),
        "host": i.host.as_deref().map(|h| text::sanitize(h).into_owned()),
    })
}

/// The report document. Call after `Model::finish` for a history run.
pub fn to_json(model: &Model) -> Value {
    let s = &model.stats;
    let d = &model.detector;
    let (start, end) = model.window.map_or((None, None), |(a, b)| {
        (Some(a.to_rfc3339()), Some(b.to_rfc3339()))
    });
    let by_status: Map<String, Value> = s
        .by_status
        .iter()
        .map(|(k, v)| {
            let key = if *k == 0 {
                "unknown".to_owned()
            } else {
                k.to_string()
            };
            (key, json!(v))
        })
        .collect();
    let mut routes: Vec<_> = s.by_route.iter().filter(|(_, r)| r.count > 0).collect();
    routes.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    let by_route: Vec<Value> = routes
        .iter()
        .map(|((method, path), r)| {
            json!({
                "method": text::sanitize(method),
                "path": text::sanitize(&crate::text::redact_query(path)),
                "count": r.count,
                "errors": r.errors,
                "latency_ms": latency_json(&r.latency),
            })
        })
        .collect();
    let tools: Vec<Value> = s
        .by_tool
        .iter()
        .map(|(name, k)| {
            json!({
                "tool": text::sanitize(name),
                "calls": k.count,
                "errors": k.errors,
                "latency_ms": latency_json(&k.latency),
            })
        })
        .collect();
    let causes: Map<String, Value> = ["refused", "timeout", "dns", "tls", "reset", "other"]
        .iter()
        .map(|c| {
            let n: u64 = s
                .bad_gateway_by_cause
                .iter()
                .filter(|(k, _)| k.as_str() == *c)
                .map(|(_, v)| *v)
                .sum();
            ((*c).to_owned(), json!(n))
        })
        .collect();
    let by_unit: Map<String, Value> = model
        .entries
        .by_unit
        .iter()
        .map(|(k, v)| (text::sanitize(k).into_owned(), json!(v)))
        .collect();
    let findings: Vec<Value> = d
        .findings
        .values()
        .map(|f| {
            json!({
                "kind": f.kind.as_str(),
                "count": f.count,
                "first_seen": f.first_seen.to_rfc3339(),
                "unit": text::sanitize(&f.unit),
                "advice": f.advice(),
            })
        })
        .collect();
    let links = &model.correlator.links;
    json!({
        "schema": SCHEMA,
        "window": { "start": start, "end": end },
        "entries": {
            "total": model.entries.total,
            "by_unit": by_unit,
            "unparsed": model.entries.unparsed,
            "continuation": model.entries.continuation,
            "duplicates_skipped": model.entries.duplicates,
        },
        "hosts": hosts_json(model),
        "incidents": d.incidents.iter().map(incident_json).collect::<Vec<_>>(),
        "requests": {
            "total": s.requests,
            "by_status": by_status,
            "latency_ms": latency_json(&s.latency),
            "latency_source": {
                "exact": s.latency_exact,
                "derived": s.latency_derived,
                "tunnel": s.latency_tunnel,
                "unknown": s.latency_unknown,
            },
            "tunnel_view_only": s.tunnel_view_only,
            "abandoned": s.abandoned,
            "served": s.requests.saturating_sub(s.abandoned),
            "invalid_http": d.invalid_http,
            "unanswered": s.unanswered,
            "by_route": by_route,
        },
        "tools": tools,
        "streams": {
            "count": s.streams,
            "open": model.correlator.open_streams(),
            "client_closed": s.stream_closed,
            "lifetime_ms": latency_json(&s.stream_lifetime),
        },
        "tunnel": {
            "bad_gateway": s.bad_gateway,
            "bad_gateway_by_cause": causes,
            "edge_timeout": s.edge_timeout,
            "client_abort": s.client_abort,
            "disconnects": d.disconnects,
            "down_seconds": round3(d.down_us as f64 / 1e6),
            "connection_state_known": d.state.tunnel_state_known,
            "version": d.state.cloudflared_version.as_deref().map(text::sanitize),
            "restarts": d.tunnel_restarts,
            "overhead_ms": latency_json(&s.tunnel_overhead),
        },
        "origin": {
            "errors_5xx": s.errors_5xx,
            "restarts": d.restarts,
            "crashes": d.crashes,
            "auto_restarts": d.auto_restarts,
            "listen_port": d.state.origin_listen_port,
        },
        "correlation": {
            "exact": links.exact,
            "heuristic": links.heuristic,
            "tunnel_only": links.tunnel_only,
            "origin_only": links.origin_only,
        },
        "findings": findings,
    })
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
fn hosts_json(model: &Model) -> Value {
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
            json!({
                // Hostnames are log text (`_HOSTNAME`), shown safely like every other.
                "host": name.map(|h| text::sanitize(h).into_owned()),
                "requests": n(|h| h.requests),
                "bad_gateway": n(|h| h.bad_gateway),
                "edge_timeout": n(|h| h.edge_timeout),
                "client_abort": n(|h| h.client_abort),
                "origin_5xx": n(|h| h.origin_5xx),
                "disconnects": state.map_or(0, |(_, c, _)| c.disconnects),
                "down_seconds": state.map_or(0.0, |(_, c, _)| c.down_us as f64 / 1e6),
                "origin_restarts": state.map_or(0, |(_, c, _)| c.restarts),
                "origin_crashes": state.map_or(0, |(_, c, _)| c.crashes),
                "tunnel_connections": state.and_then(|(_, _, r)| *r),
            })
        })
        .collect()
}
