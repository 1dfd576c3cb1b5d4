//! Incident snapshots: the bundle an operator attaches to a ticket, and its redaction.
//!
//! Owns the bundle's format — `summary.md`, `report.json`, `traces.jsonl`,
//! `histogram.hgrm`, `latency.hlog`, `latency.svg` (drawn by `view::svg` from the figures
//! chosen here), `journal.export` — running every byte through the
//! [`Redactor`] (`crate::redact`, which owns the rules) before it is written, and escaping
//! log text for Markdown (`text::markdown_text`).
//! `journal.export` is streamed entry by entry ([`BundleWriter`]): a window of any size
//! is never held in memory.
//!
//! This file holds the bundle's contents; by side: `hdr` (the histogram files
//! `histogram.hgrm` and `latency.hlog`) and `write` (writing safely: files `0600` in a
//! `0700` directory, assembled in a `tempfile` directory and moved into place without
//! replacing anything, `RENAME_NOREPLACE` or `persist_noclobber`; a path with another
//! user's symlink or a world-writable non-sticky directory anywhere in it is refused).
//!
//! Does not own *which* entries make the window (the app selects them and builds the
//! window's model); it reads `&Model` and the window's raw entries only.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::model::correlate::{Outcome, Trace};
use crate::model::detect::{Incident, IncidentId};
use crate::model::stats::Latency;
use crate::model::Model;
use crate::source::{RawEntry, Timestamp, KEPT_FIELDS};
use crate::text::{self, Redactor};

use super::summary::{ms, LatencyFigures, Summary};
use super::svg;

mod hdr;
mod write;

pub use hdr::{hgrm, hlog, HLOG_TAG};
pub use write::{default_dir, write_bundle, BundleWriter, WriteError};

/// What the snapshot is about.
#[derive(Debug, Clone)]
pub struct Selection {
    pub start: Timestamp,
    pub end: Timestamp,
    /// The incident it was taken for, if any (in the window's model).
    pub incident: Option<IncidentId>,
}

/// The files of a bundle, in the order an archive holds them (`journal.export` last).
pub const FILES: [&str; 7] = [
    "summary.md",
    "report.json",
    "traces.jsonl",
    "histogram.hgrm",
    "latency.hlog",
    "latency.svg",
    "journal.export",
];

/// The bundle's files, already redacted: in memory but `journal.export`, which [`build`]
/// streams to its sink (it is as large as the window; see [`write_bundle`]), and, when a
/// [`BundleWriter`] writes it, `traces.jsonl` (streamed to its file too).
#[derive(Debug)]
pub struct Bundle {
    pub name: String,
    pub files: Vec<(&'static str, Vec<u8>)>,
    pub redactions: u64,
}

/// The whole bundle in memory, `journal.export` included (for tests and fuzzing; a real
/// snapshot streams it: [`write_bundle`]).
pub fn build_in_memory(
    model: &Model,
    entries: &[&RawEntry],
    selection: &Selection,
    redactor: &mut Redactor,
) -> Bundle {
    let mut journal = Vec::new();
    let mut bundle = build(model, entries, selection, redactor, &mut journal)
        .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
    bundle.files.push(("journal.export", journal));
    bundle
}

/// Builds the bundle for `model` (built from exactly `entries`, the window's raw entries):
/// `journal.export` is written to `journal` first (so the redaction count the summary
/// gives covers it), the other files are returned.
pub fn build(
    model: &Model,
    entries: &[&RawEntry],
    selection: &Selection,
    redactor: &mut Redactor,
    journal: &mut dyn std::io::Write,
) -> std::io::Result<Bundle> {
    let mut record = Vec::new();
    for &e in entries {
        export_record(e, redactor, &mut record);
        journal.write_all(&record)?;
        record.clear();
    }
    let host = entries.iter().find_map(|e| e.origin.hostname.as_deref());
    let starts: Vec<String> = entries
        .iter()
        .filter_map(|&e| start_line(e))
        .take(MAX_START_LINES)
        .collect();
    let by_cursor: HashMap<&str, &RawEntry> = entries
        .iter()
        .filter_map(|&e| e.cursor.as_ref().map(|c| (&*c.0, e)))
        .collect();
    let mut traces = Vec::new();
    let mut bundle = other_files(
        model,
        selection,
        redactor,
        host,
        &starts,
        &|c| by_cursor.get(c).copied(),
        &mut traces,
    )?;
    bundle.files.insert(2, ("traces.jsonl", traces));
    Ok(bundle)
}

/// Start lines shown in the summary.
const MAX_START_LINES: usize = 6;

/// The summary's line for a (re)start of either program, if `e` is one.
fn start_line(e: &RawEntry) -> Option<String> {
    let m = String::from_utf8_lossy(&e.message);
    let is_start = m.contains("Starting sigil_repos MCP server")
        || m.contains("Sigil MCP starting")
        || (e.is_from_pid1() && m.starts_with("Started "));
    is_start.then(|| {
        format!(
            "{} {}",
            e.realtime.to_rfc3339(),
            text::sanitize_bytes(&e.message)
        )
    })
}

/// Every file but `journal.export`, from the window's model; `raw` finds a window entry
/// by its cursor (for the sample requests' raw lines).
fn other_files<'e>(
    model: &Model,
    selection: &Selection,
    redactor: &mut Redactor,
    host: Option<&str>,
    starts: &[String],
    raw: &dyn Fn(&str) -> Option<&'e RawEntry>,
    traces: &mut dyn std::io::Write,
) -> std::io::Result<Bundle> {
    let incident = selection
        .incident
        .and_then(|id| model.detector.incident(id));
    let kind = incident.map_or("window", |i| i.kind.as_str());
    let name = format!(
        "sigil-top-{}-{}-{}",
        sanitize_name(host.unwrap_or("host")),
        utc_compact(selection.end),
        kind
    );
    let report = super::report::to_json(model);
    let report_text = redactor
        .redact(&serde_json::to_string_pretty(&report).unwrap_or_default())
        .into_owned();
    // Streamed: a line per kept request (up to `limits.traces`, 50,000), which in memory
    // was a third of a large snapshot's peak (issue 17: bounded by design).
    write_traces_jsonl(model, redactor, traces)?;
    let hgrm = hgrm(&model.stats.latency);
    let hlog = hlog(&model.stats.latency, selection);
    let chart = svg::render(&latency_chart(model, selection, redactor));
    let summary = summary_md(model, starts, raw, selection, incident, redactor);
    Ok(Bundle {
        name,
        files: vec![
            ("summary.md", summary.into_bytes()),
            ("report.json", (report_text + "\n").into_bytes()),
            ("histogram.hgrm", hgrm.into_bytes()),
            ("latency.hlog", hlog.into_bytes()),
            ("latency.svg", chart.into_bytes()),
        ],
        redactions: redactor.count,
    })
}

fn sanitize_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

fn utc_compact(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    // 2026-11-25T17:05:44.704860Z → 20261125T170544Z
    let date: String = s
        .get(..10)
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let time: String = s
        .get(11..19)
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("{date}T{time}Z")
}

fn outcome_str(t: &Trace) -> String {
    match t.outcome {
        Outcome::Served(s) => s.to_string(),
        Outcome::BadGateway(c) => format!("502 ({})", c.as_str()),
        Outcome::EdgeTimeout => "edge timeout (524)".into(),
        Outcome::ClientAbort => "client abort".into(),
        Outcome::StreamClosed => "stream closed".into(),
        Outcome::ProxyFailed => "proxy failure".into(),
        Outcome::Unanswered => "unanswered".into(),
    }
}

/// The requests the summary shows as samples, with their raw lines: up to 15 failures
/// (anything but a served status below 500), then the slowest served ones, 20 in all.
fn sample_traces(model: &Model) -> Vec<&Trace> {
    let mut samples: Vec<&Trace> = model
        .correlator
        .recent
        .iter()
        .filter(|t| !matches!(t.outcome, Outcome::Served(s) if s < 500))
        .collect();
    let mut slow: Vec<&Trace> = model
        .correlator
        .recent
        .iter()
        .filter(|t| {
            matches!(t.outcome, Outcome::Served(s) if s < 500)
                && t.latency.is_some()
                && !t.is_stream
        })
        .collect();
    slow.sort_by_key(|t| std::cmp::Reverse(t.latency.map_or(0, |(us, _)| us)));
    samples.truncate(15);
    samples.extend(slow.into_iter().take(20 - samples.len().min(20)));
    samples
}

/// The cursors of the sample requests' raw lines: the only entries of the window the
/// summary quotes, so a streamed snapshot reads back just these from its own
/// `journal.export` instead of holding the window's log (issue 17: bounded by design).
fn sample_cursors(model: &Model) -> std::collections::HashSet<&str> {
    sample_traces(model)
        .into_iter()
        .flat_map(|t| t.cursors.iter().map(|c| &*c.0))
        .collect()
}

/// `traces.jsonl`, a line per request the model kept, written to `out` as it goes.
fn write_traces_jsonl(
    model: &Model,
    redactor: &mut Redactor,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for t in &model.correlator.recent {
        let v = json!({
            "start": t.start.to_rfc3339(),
            "end": t.end.map(Timestamp::to_rfc3339),
            "method": t.method.as_deref().map(text::sanitize),
            "path": t.path.as_deref().map(|p| text::sanitize(&redactor.redact(&text::redact_query(p))).into_owned()),
            "tool": t.tool.as_deref().map(text::sanitize),
            "status": t.origin_status(),
            "outcome": outcome_str(t),
            "latency_ms": t.latency.map(|(us, _)| ms(us)),
            "latency_source": t.latency.map(|(_, s)| s.as_str()),
            "stream": t.is_stream,
            "abandoned": t.abandoned,
            "ray": t.ray.as_ref().map(|r| text::sanitize(&r.0).into_owned()),
            "request_id": t.request_id.as_ref().map(|r| text::sanitize(&r.0).into_owned()),
            "client_ip": t.client_ip.as_deref().map(text::sanitize),
            "link": t.link.as_str(),
            "conn_index": t.tunnel.as_ref().and_then(|s| s.conn_index),
            "cursors": t.cursors.iter().map(|c| text::sanitize(&c.0).into_owned()).collect::<Vec<_>>(),
        });
        let text = v.to_string();
        out.write_all(redactor.redact(&text).as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One entry in journal export format (cursor first), redacted, appended to `out`.
fn export_record(e: &RawEntry, redactor: &mut Redactor, out: &mut Vec<u8>) {
    let put = |out: &mut Vec<u8>, name: &str, value: &[u8]| {
        let is_text = std::str::from_utf8(value)
            .is_ok_and(|s| !s.chars().any(|c| c.is_control() && c != '\t'));
        out.extend_from_slice(name.as_bytes());
        if is_text {
            out.push(b'=');
            out.extend_from_slice(value);
        } else {
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
            out.extend_from_slice(value);
        }
        out.push(b'\n');
    };
    {
        if let Some(c) = &e.cursor {
            put(out, "__CURSOR", c.0.as_bytes());
        }
        put(
            out,
            "__REALTIME_TIMESTAMP",
            e.realtime.0.to_string().as_bytes(),
        );
        if let Some(m) = e.monotonic_us {
            put(out, "__MONOTONIC_TIMESTAMP", m.to_string().as_bytes());
        }
        if let Some(b) = &e.origin.boot_id {
            put(out, "_BOOT_ID", b.as_bytes());
        }
        if let Some(p) = e.priority {
            put(out, "PRIORITY", p.to_string().as_bytes());
        }
        if let Some(p) = e.pid {
            put(out, "_PID", p.to_string().as_bytes());
        }
        if let Some(u) = &e.origin.systemd_unit {
            put(out, "_SYSTEMD_UNIT", u.as_bytes());
        }
        if let Some(u) = &e.about_unit {
            put(out, "UNIT", u.as_bytes());
        }
        if let Some(h) = &e.origin.hostname {
            put(out, "_HOSTNAME", h.as_bytes());
        }
        for (k, v) in &e.origin.fields {
            if KEPT_FIELDS.contains(&&**k) {
                let v = redactor.redact_bytes(v);
                put(out, k, &v);
            }
        }
        let message = redactor.redact_bytes(&e.message);
        put(out, "MESSAGE", &message);
        out.push(b'\n');
    }
}

/// The figures `latency.svg` draws ([`super::svg`]), from the window's model: per slice
/// the requests the origin answered and the p99 of the measured ones, each 502 and edge
/// timeout, the incidents, the latency histogram and the slowest tools. Tool names and
/// incident causes are log text: sanitized and redacted here, as in `summary.md`.
fn latency_chart<'m>(model: &'m Model, sel: &Selection, redactor: &mut Redactor) -> svg::Chart<'m> {
    let span = sel.end.0.saturating_sub(sel.start.0).max(1);
    let slice_of = |t: Timestamp| -> usize {
        let off = t.0.saturating_sub(sel.start.0).min(span - 1);
        usize::try_from(u128::from(off) * svg::SLICES as u128 / u128::from(span))
            .unwrap_or(0)
            .min(svg::SLICES - 1)
    };
    let mut latencies: Vec<Latency> = (0..svg::SLICES).map(|_| Latency::default()).collect();
    let mut slices = vec![svg::Slice::default(); svg::SLICES];
    let (mut bad_gateway, mut edge_timeout) = (Vec::new(), Vec::new());
    for t in &model.correlator.recent {
        let at = t.end.unwrap_or(t.start);
        match t.outcome {
            Outcome::BadGateway(_) => bad_gateway.push(at),
            Outcome::EdgeTimeout => edge_timeout.push(at),
            _ => {}
        }
        if t.origin_answered() {
            let c = slice_of(at);
            slices[c].requests += 1;
            if let (Some((us, _)), false) = (t.latency, t.is_stream) {
                latencies[c].record_us(us);
            }
        }
    }
    for (s, l) in slices.iter_mut().zip(&latencies) {
        s.p99_us = (l.count() > 0).then(|| l.hist.value_at_quantile(0.99));
    }
    let incidents = model
        .detector
        .incidents
        .iter()
        .map(|i| svg::IncidentSpan {
            start: i.start,
            end: i.end.unwrap_or(i.last),
            label: format!(
                "#{} {}: {}",
                i.id,
                i.kind.as_str(),
                text::display(&redactor.redact(&i.cause))
            ),
        })
        .collect();
    let mut tools: Vec<svg::ToolRow> = model
        .stats
        .by_tool
        .iter()
        .filter(|(_, k)| k.latency.count() > 0)
        .map(|(name, k)| svg::ToolRow {
            name: text::sanitize(&redactor.redact(name)).into_owned(),
            requests: k.count,
            p99_us: k.latency.hist.value_at_quantile(0.99),
        })
        .collect();
    tools.sort_by(|a, b| b.p99_us.cmp(&a.p99_us).then_with(|| a.name.cmp(&b.name)));
    tools.truncate(svg::MAX_TOOLS);
    svg::Chart {
        start: sel.start,
        end: sel.end,
        slices,
        bad_gateway,
        edge_timeout,
        incidents,
        latency: &model.stats.latency,
        tools,
    }
}

/// A row of the latency table (an empty part's figures print as 0.0, as they always have).
fn latency_row(label: &str, l: LatencyFigures) -> String {
    let p = l.known.unwrap_or_default();
    format!(
        "| {label} | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
        l.count,
        ms(p.p50_us),
        ms(p.p90_us),
        ms(p.p99_us),
        ms(p.max_us)
    )
}

/// The summary's title and its list: window, hosts, units, versions, start lines.
fn head_md(
    out: &mut String,
    model: &Model,
    starts: &[String],
    sel: &Selection,
    title: &str,
    redactor: &mut Redactor,
) {
    let d = &model.detector;
    let _ = writeln!(out, "# sigil-top snapshot: {title}\n");
    let _ = writeln!(
        out,
        "- **Window:** {} → {} ({:.0} s)",
        sel.start.to_rfc3339(),
        sel.end.to_rfc3339(),
        sel.end.saturating_since_us(sel.start) as f64 / 1e6
    );
    let hosts: Vec<String> = model
        .entries
        .by_host
        .keys()
        .map(text::markdown_text)
        .collect();
    let _ = writeln!(
        out,
        "- **Hosts:** {}",
        if hosts.is_empty() {
            "-".into()
        } else {
            hosts.join(", ")
        }
    );
    let units: Vec<String> = model
        .entries
        .by_unit
        .iter()
        .map(|(u, n)| format!("{} ({n} entries)", text::markdown_text(u)))
        .collect();
    let _ = writeln!(out, "- **Units:** {}", units.join(", "));
    let _ = writeln!(
        out,
        "- **Versions:** cloudflared {}; sigil-mcp listening on port {}",
        d.state
            .cloudflared_version
            .as_deref()
            .map_or_else(|| "(not in the window)".to_owned(), text::markdown_text),
        d.state
            .origin_listen_port
            .map_or_else(|| "(not in the window)".to_owned(), |p| p.to_string())
    );
    if !starts.is_empty() {
        let _ = writeln!(out, "- **Start lines:**");
        for l in starts {
            let _ = writeln!(out, "  - `{}`", redactor.redact(l).replace('`', "'"));
        }
    }
}

/// The sample requests (failures first, then the slowest) and their raw lines.
fn samples_md<'e>(
    out: &mut String,
    model: &Model,
    raw: &dyn Fn(&str) -> Option<&'e RawEntry>,
    redactor: &mut Redactor,
) {
    let samples = sample_traces(model);
    out.push_str("\n## Sample requests (for Cloudflare support: ray IDs; for the server's runbook: request IDs)\n\n");
    out.push_str("| time | request | outcome | duration ms | ray | request_id | matched |\n|---|---|---|---|---|---|---|\n");
    for t in &samples {
        let route = format!(
            "{} {}",
            t.method.as_deref().unwrap_or("?"),
            text::redact_query(t.path.as_deref().unwrap_or("?"))
        );
        let _ = writeln!(
            out,
            "| {} | {}{} | {} | {} | {} | {} | {} |",
            t.start.to_rfc3339(),
            text::markdown_cell(&redactor.redact(&route)),
            t.tool.as_deref().map_or_else(String::new, |x| format!(
                " ({})",
                text::markdown_cell(&redactor.redact(x))
            )),
            outcome_str(t),
            t.latency
                .map_or_else(|| "-".to_owned(), |(us, _)| format!("{:.1}", ms(us))),
            t.ray.as_ref().map_or_else(
                || "-".to_owned(),
                |r| text::markdown_cell(&redactor.redact(&r.0))
            ),
            t.request_id.as_ref().map_or_else(
                || "-".to_owned(),
                |r| text::markdown_cell(&redactor.redact(&r.0))
            ),
            t.link.as_str()
        );
    }
    out.push_str("\n## Raw lines of the sample requests\n\n```text\n");
    for t in &samples {
        for c in &t.cursors {
            if let Some(e) = raw(&c.0) {
                let unit = e.unit.as_ref().map_or("?", |u| u.short());
                let line = format!(
                    "{} {unit}[{}]: {}",
                    e.realtime.to_rfc3339(),
                    e.pid.unwrap_or(0),
                    text::sanitize_bytes(&e.message)
                );
                let line = redactor.redact(&line).replace("```", "'''");
                let cut: String = line.chars().take(600).collect();
                out.push_str(&cut);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out.push_str("```\n");
}

/// The latency table (whole window, each host, quick and slow parts) and the most
/// affected routes and tools.
fn latency_and_routes_md(
    out: &mut String,
    model: &Model,
    incident: Option<&Incident>,
    summary: &Summary,
    redactor: &mut Redactor,
) {
    let s = &model.stats;
    out.push_str("\n## Latency (origin response time, ms)\n\n| part | requests | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|\n");
    match incident {
        Some(i) => {
            let end = i.end.unwrap_or(i.last);
            let mut parts = [Latency::default(), Latency::default(), Latency::default()];
            for t in &model.correlator.recent {
                if let (Some((us, _)), false) = (t.latency, t.is_stream) {
                    let at = t.end.unwrap_or(t.start);
                    let k = if at < i.start {
                        0
                    } else if at <= end {
                        1
                    } else {
                        2
                    };
                    parts[k].record_us(us);
                }
            }
            for (label, part) in ["before", "during", "after"].iter().zip(&parts) {
                out.push_str(&latency_row(label, LatencyFigures::of(part)));
            }
        }
        None => out.push_str(&latency_row("window", summary.traffic.latency)),
    }
    let mut routes: Vec<_> = s.by_route.iter().collect();
    routes.sort_by(|a, b| b.1.errors.cmp(&a.1.errors).then(b.1.count.cmp(&a.1.count)));
    out.push_str("\n## Most affected routes and tools\n\n| route or tool | requests | errors | p99 ms |\n|---|---|---|---|\n");
    for ((m, p), r) in routes.iter().take(8) {
        let route = format!("{m} {}", text::redact_query(p));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} |",
            text::markdown_cell(&redactor.redact(&route)),
            r.count,
            r.errors,
            r.latency.percentile_ms(99.0)
        );
    }
    for (tool, k) in &s.by_tool {
        let _ = writeln!(
            out,
            "| tool {} | {} | {} | {:.1} |",
            text::markdown_cell(&redactor.redact(tool)),
            k.count,
            k.errors,
            k.latency.percentile_ms(99.0)
        );
    }
}

fn summary_md<'e>(
    model: &Model,
    starts: &[String],
    raw: &dyn Fn(&str) -> Option<&'e RawEntry>,
    sel: &Selection,
    incident: Option<&Incident>,
    redactor: &mut Redactor,
) -> String {
    let mut out = String::new();
    let d = &model.detector;
    let summary = Summary::of(model);
    let title = incident.map_or_else(
        || "the selected window".to_owned(),
        |i| format!("incident #{} ({})", i.id, i.kind.as_str()),
    );
    head_md(&mut out, model, starts, sel, &title, redactor);
    out.push_str("\n## Incidents\n\n");
    if d.incidents.is_empty() {
        out.push_str("None in this window.\n");
    } else {
        super::report::incidents_table(&mut out, &d.incidents, |cause| {
            text::display(&redactor.redact(cause)).into_owned()
        });
    }
    out.push_str("\n## Requests\n\n");
    let statuses: Vec<String> = summary
        .requests
        .by_status
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect();
    let _ = writeln!(
        out,
        "- Answered by the origin: **{}** ({})",
        summary.traffic.requests,
        statuses.join(", ")
    );
    let causes: Vec<String> = summary
        .tunnel
        .bad_gateway_by_cause
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| format!("{} {n}", c.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "- **502 Bad Gateway** (origin unreachable): {}{}",
        summary.traffic.bad_gateway,
        if causes.is_empty() {
            String::new()
        } else {
            format!(" ({})", causes.join(", "))
        }
    );
    let _ = writeln!(
        out,
        "- **Edge timeouts** (524): {}; client aborts: {}",
        summary.traffic.edge_timeout, summary.tunnel.client_abort
    );
    let _ = writeln!(
        out,
        "- Origin 5xx: {}; restarts: {}; crashes: {}",
        summary.traffic.errors_5xx, summary.origin.restarts, summary.origin.crashes
    );
    let _ = writeln!(
        out,
        "- Tunnel disconnects: {}; time with no connection: {:.1} s",
        summary.tunnel.disconnects,
        summary.tunnel.down_us as f64 / 1e6
    );

    latency_and_routes_md(&mut out, model, incident, &summary, redactor);
    samples_md(&mut out, model, raw, redactor);
    if !d.findings.is_empty() {
        out.push_str("\n## Secrets found in the logs (values never copied here)\n\n");
        for f in d.findings.values() {
            let _ = writeln!(
                out,
                "- {} ×{} since {} in {}: {}",
                f.kind.as_str(),
                f.count,
                f.first_seen.to_rfc3339(),
                text::markdown_text(&f.unit),
                f.advice()
            );
        }
    }
    // Count last: the redaction line covers everything written above and in the other files
    // (they were built first).
    let _ = writeln!(
        out,
        "\n## Redaction\n\n{} secret values were replaced by `<redacted>` in this bundle (credential headers and every cookie, session ids, OAuth codes, tokens and client secrets in headers, JSON, query strings and forms, passwords in URLs, keys and tokens by their shape, and configured patterns).{}",
        redactor.count,
        if redactor.is_anonymizing_ips() {
            " Client IP addresses were replaced by stand-ins (the same stand-in for the same address)."
        } else {
            ""
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_every_shape_the_programs_log_are_redacted() {
        let rows = [
            ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def", "eyJhbGci"),
            (r"headers={'authorization': 'Basic dXNlcjpwYXNz', 'host': 'x'}", "dXNlcjpwYXNz"),
            (r#"headers={"Authorization":["Token s3cr3t-value"],"Host":["x"]}"#, "s3cr3t-value"),
            ("GET /oauth/callback?code=abcdefghijkl&state=xyz HTTP/1.1", "abcdefghijkl"),
            ("Form data: grant_type=authorization_code, code=abcdefghijklmnopqrst..., client_secret=topsecretvalue", "topsecretvalue"),
            ("Client Secret: 1h9nO42vXldxy8xrJNfT8jOfof6lcDv-MmaZgUV0JGU", "1h9nO42v"),
            ("GET /healthz?token=QUERYSECRET123 HTTP/1.1", "QUERYSECRET123"),
            ("refresh_token=rt-999&access_token=at-888", "at-888"),
            (r#""cookie": "session=abc123""#, "abc123"),
        ];
        for (line, secret) in rows {
            let mut r = Redactor::new(&[]).unwrap();
            let out = r.redact(line);
            assert!(!out.contains(secret), "{line:?} → {out:?}");
            assert!(out.contains("<redacted>"), "{out}");
            assert!(r.count >= 1);
        }
    }

    #[test]
    fn none_values_and_already_redacted_ones_are_left_and_not_counted() {
        let mut r = Redactor::new(&[]).unwrap();
        let line =
            "Form data: code=None, client_secret=None, headers={'authorization': '<redacted>'}";
        assert_eq!(r.redact(line), line);
        assert_eq!(r.count, 0);
    }

    #[test]
    fn configured_patterns_redact_their_whole_match() {
        let mut r = Redactor::new(&["sk-[A-Za-z0-9]{8,}".to_owned()]).unwrap();
        assert_eq!(r.redact("key sk-abcdefgh1234 used"), "key <redacted> used");
        assert_eq!(r.count, 1);
    }
}
