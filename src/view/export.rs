//! Incident snapshots: the bundle an operator attaches to a ticket, and its redaction.
//!
//! Owns the bundle's format — `summary.md`, `report.json`, `traces.jsonl`,
//! `histogram.hgrm`, `latency.svg`, `journal.export` — running every byte through the
//! [`Redactor`] (`crate::redact`, which owns the rules) before it is written, escaping
//! log text for Markdown (`text::markdown_text`), and writing safely: files `0600` in a
//! `0700` directory, written under a temporary name and renamed into place, so a crash
//! never leaves a half-written bundle that looks complete; a path with another user's
//! symlink or a world-writable non-sticky directory anywhere in it is refused.
//! `journal.export` is streamed entry by entry ([`BundleWriter`]): a window of any size
//! is never held in memory.
//!
//! Does not own *which* entries make the window (the app selects them and builds the
//! window's model); it reads `&Model` and the window's raw entries only.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::model::correlate::{LatencySource, Outcome, Trace};
use crate::model::detect::Incident;
use crate::model::stats::Latency;
use crate::model::Model;
use crate::source::{RawEntry, Timestamp, KEPT_FIELDS};
use crate::text::{self, Redactor};

/// What the snapshot is about.
#[derive(Debug, Clone)]
pub struct Selection {
    pub start: Timestamp,
    pub end: Timestamp,
    /// The incident it was taken for, if any (in the window's model).
    pub incident: Option<u64>,
}

/// The bundle's files, already redacted: all in memory but `journal.export`, which
/// [`build`] streams to its sink (it is as large as the window; see [`write_bundle`]).
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
    Ok(other_files(
        model,
        selection,
        redactor,
        host,
        &starts,
        &|c| by_cursor.get(c).copied(),
    ))
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
) -> Bundle {
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
    let traces = traces_jsonl(model, redactor);
    let hgrm = hgrm(&model.stats.latency);
    let svg = latency_svg(model, selection);
    let summary = summary_md(model, starts, raw, selection, incident, redactor);
    Bundle {
        name,
        files: vec![
            ("summary.md", summary.into_bytes()),
            ("report.json", (report_text + "\n").into_bytes()),
            ("traces.jsonl", traces.into_bytes()),
            ("histogram.hgrm", hgrm.into_bytes()),
            ("latency.svg", svg.into_bytes()),
        ],
        redactions: redactor.count,
    }
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

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
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

fn traces_jsonl(model: &Model, redactor: &mut Redactor) -> String {
    let mut out = String::new();
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
            "latency_source": t.latency.map(|(_, s)| match s { LatencySource::Exact => "exact", LatencySource::Derived => "derived" }),
            "stream": t.is_stream,
            "abandoned": t.abandoned,
            "ray": t.ray.as_ref().map(|r| text::sanitize(&r.0).into_owned()),
            "request_id": t.request_id.as_ref().map(|r| text::sanitize(&r.0).into_owned()),
            "client_ip": t.client_ip.as_deref().map(text::sanitize),
            "link": t.link.as_str(),
            "conn_index": t.tunnel.as_ref().and_then(|s| s.conn_index),
            "cursors": t.cursors.iter().map(|c| text::sanitize(&c.0).into_owned()).collect::<Vec<_>>(),
        });
        let line = redactor.redact(&v.to_string()).into_owned();
        out.push_str(&line);
        out.push('\n');
    }
    out
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

/// HDR's standard percentile distribution text, values in milliseconds.
pub fn hgrm(l: &Latency) -> String {
    let mut out = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    let h = &l.hist;
    if !h.is_empty() {
        for v in h.iter_quantiles(5) {
            let q = v.quantile_iterated_to();
            let inv = if q < 1.0 {
                1.0 / (1.0 - q)
            } else {
                f64::INFINITY
            };
            let inv = if inv.is_finite() {
                format!("{inv:14.2}")
            } else {
                format!("{:>14}", "inf")
            };
            let _ = writeln!(
                out,
                "{:12.3} {:2.12} {:10} {}",
                v.value_iterated_to() as f64 / 1000.0,
                q,
                v.count_since_last_iteration(),
                inv
            );
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        l.mean_ms(),
        if h.is_empty() {
            0.0
        } else {
            h.stdev() / 1000.0
        }
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        l.max_ms(),
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        h.distinct_values()
    );
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A latency-over-time chart (p99 line, request bars, 502 and timeout marks, incident
/// spans) above a distribution chart. Plain SVG 1.1, viewable in any browser.
fn latency_svg(model: &Model, sel: &Selection) -> String {
    const W: f64 = 960.0;
    const TOP_H: f64 = 260.0;
    const BOT_Y: f64 = 320.0;
    const BOT_H: f64 = 150.0;
    const COLS: usize = 60;
    let span = sel.end.0.saturating_sub(sel.start.0).max(1);
    let col_of = |t: Timestamp| -> usize {
        let off = t.0.saturating_sub(sel.start.0).min(span - 1);
        usize::try_from(off * COLS as u64 / span)
            .unwrap_or(0)
            .min(COLS - 1)
    };
    let x_of = |t: Timestamp| {
        40.0 + (t.0.saturating_sub(sel.start.0).min(span) as f64 / span as f64) * (W - 60.0)
    };
    let mut cols: Vec<Latency> = (0..COLS).map(|_| Latency::default()).collect();
    let mut counts = vec![0u64; COLS];
    let mut marks: Vec<(f64, &str)> = Vec::new();
    for t in &model.correlator.recent {
        let at = t.end.unwrap_or(t.start);
        let c = col_of(at);
        match t.outcome {
            Outcome::BadGateway(_) => marks.push((x_of(at), "bad_gateway")),
            Outcome::EdgeTimeout => marks.push((x_of(at), "edge_timeout")),
            _ => {}
        }
        if t.origin_answered() {
            counts[c] += 1;
            if let (Some((us, _)), false) = (t.latency, t.is_stream) {
                cols[c].record_us(us);
            }
        }
    }
    let max_p99 = cols
        .iter()
        .map(|l| l.percentile_ms(99.0))
        .fold(1.0_f64, f64::max);
    let max_count = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let y_log = |v: f64| {
        let top = (max_p99.max(1.0)).log10() + 0.2;
        let bottom = -1.0_f64; // 0.1 ms
        let f = ((v.max(0.1)).log10() - bottom) / (top - bottom);
        30.0 + TOP_H - f.clamp(0.0, 1.0) * TOP_H
    };
    let col_w = (W - 60.0) / COLS as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{W}" height="500" viewBox="0 0 {W} 500" font-family="sans-serif" font-size="11">
<title>sigil-top latency {} to {}</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="40" y="18" font-size="13">Origin latency p99 (ms, log scale), requests per slice, 502s and edge timeouts</text>
"##,
        sel.start.to_rfc3339(),
        sel.end.to_rfc3339()
    );
    s.push_str("<g id=\"incidents\" fill=\"#f4c7c3\" fill-opacity=\"0.6\">\n");
    for i in &model.detector.incidents {
        let (a, b) = (
            x_of(i.start),
            x_of(i.end.unwrap_or(i.last)).max(x_of(i.start) + 2.0),
        );
        let _ = writeln!(
            s,
            "<rect x=\"{a:.1}\" y=\"30\" width=\"{:.1}\" height=\"{TOP_H}\"><title>#{} {}: {}</title></rect>",
            b - a,
            i.id,
            i.kind.as_str(),
            xml_escape(&text::display(&i.cause))
        );
    }
    s.push_str("</g>\n<g id=\"requests\" fill=\"#c9d7ea\">\n");
    for (i, n) in counts.iter().enumerate() {
        let h = *n as f64 / max_count * (TOP_H * 0.4);
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"/>",
            40.0 + i as f64 * col_w,
            30.0 + TOP_H - h,
            (col_w - 1.0).max(0.5)
        );
    }
    s.push_str(
        "</g>\n<polyline id=\"p99\" fill=\"none\" stroke=\"#1f4e9c\" stroke-width=\"2\" points=\"",
    );
    for (i, l) in cols.iter().enumerate() {
        if l.count() > 0 {
            let _ = write!(
                s,
                "{:.1},{:.1} ",
                40.0 + (i as f64 + 0.5) * col_w,
                y_log(l.percentile_ms(99.0))
            );
        }
    }
    s.push_str("\"/>\n<g id=\"bad_gateway\" stroke=\"#c0392b\" stroke-width=\"2\">\n");
    for (x, kind) in marks.iter().filter(|(_, k)| *k == "bad_gateway") {
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\"><title>{kind}</title></line>",
            30.0 + TOP_H,
            38.0 + TOP_H
        );
    }
    s.push_str("</g>\n<g id=\"edge_timeout\" stroke=\"#e67e22\" stroke-width=\"2\">\n");
    for (x, kind) in marks.iter().filter(|(_, k)| *k == "edge_timeout") {
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\"><title>{kind}</title></line>",
            40.0 + TOP_H,
            48.0 + TOP_H
        );
    }
    let _ = writeln!(
        s,
        "</g>\n<line x1=\"40\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#333\"/>\n<text x=\"40\" y=\"{2}\">{3}</text>\n<text x=\"{1}\" y=\"{2}\" text-anchor=\"end\">{4}</text>",
        30.0 + TOP_H,
        W - 20.0,
        52.0 + TOP_H,
        sel.start.to_rfc3339(),
        sel.end.to_rfc3339()
    );
    // Distribution: counts per log-scaled latency bucket (0.1 ms … max).
    let h = &model.stats.latency.hist;
    let _ = writeln!(s, "<text x=\"40\" y=\"{}\" font-size=\"13\">Latency distribution (count per log-scaled bucket)</text>", BOT_Y - 8.0);
    s.push_str("<g id=\"distribution\" fill=\"#5b8fd6\">\n");
    if h.is_empty() {
        let _ = writeln!(
            s,
            "</g>\n<text x=\"40\" y=\"{}\">no request latencies in this window</text>",
            BOT_Y + 40.0
        );
    } else {
        let max_ms = (h.max() as f64 / 1000.0).max(1.0);
        let buckets = 40usize;
        let lo = -1.0_f64;
        let hi = max_ms.log10() + 0.01;
        let mut bars = vec![0u64; buckets];
        for v in h.iter_recorded() {
            let ms = v.value_iterated_to() as f64 / 1000.0;
            let f = ((ms.max(0.1)).log10() - lo) / (hi - lo);
            let idx = bucket_index(f, buckets);
            bars[idx] += v.count_at_value();
        }
        let top = bars.iter().copied().max().unwrap_or(1).max(1) as f64;
        let bw = (W - 60.0) / buckets as f64;
        for (i, n) in bars.iter().enumerate() {
            let bh = *n as f64 / top * BOT_H;
            let lower = 10f64.powf(lo + (hi - lo) * i as f64 / buckets as f64);
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>&gt;= {lower:.2} ms: {n}</title></rect>",
                40.0 + i as f64 * bw,
                BOT_Y + BOT_H - bh,
                (bw - 1.0).max(0.5)
            );
        }
        let _ = writeln!(s, "</g>\n<text x=\"40\" y=\"{}\">0.1 ms</text>\n<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max_ms:.1} ms</text>", BOT_Y + BOT_H + 14.0, W - 20.0, BOT_Y + BOT_H + 14.0);
    }
    s.push_str("</svg>\n");
    s
}

/// The bar a fraction `f` (0–1, clamped) of the axis falls in, of `buckets` bars.
fn bucket_index(f: f64, buckets: usize) -> usize {
    let scaled = (f.clamp(0.0, 1.0) * buckets as f64).floor();
    // Non-negative and at most `buckets` by the clamp, so the cast cannot wrap.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let idx = scaled as usize;
    idx.min(buckets.saturating_sub(1))
}

fn latency_row(label: &str, l: &Latency) -> String {
    format!(
        "| {label} | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
        l.count(),
        l.percentile_ms(50.0),
        l.percentile_ms(90.0),
        l.percentile_ms(99.0),
        l.max_ms()
    )
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
    let s = &model.stats;
    let title = incident.map_or_else(
        || "the selected window".to_owned(),
        |i| format!("incident #{} ({})", i.id, i.kind.as_str()),
    );
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
    out.push_str("\n## Incidents\n\n");
    if d.incidents.is_empty() {
        out.push_str("None in this window.\n");
    } else {
        super::report::incidents_table(&mut out, &d.incidents, |cause| {
            text::display(&redactor.redact(cause)).into_owned()
        });
    }
    out.push_str("\n## Requests\n\n");
    let statuses: Vec<String> = s
        .by_status
        .iter()
        .map(|(k, v)| {
            if *k == 0 {
                format!("unknown: {v}")
            } else {
                format!("{k}: {v}")
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "- Answered by the origin: **{}** ({})",
        s.requests,
        statuses.join(", ")
    );
    let causes: Vec<String> = s
        .bad_gateway_by_cause
        .iter()
        .map(|(c, n)| format!("{} {n}", c.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "- **502 Bad Gateway** (origin unreachable): {}{}",
        s.bad_gateway,
        if causes.is_empty() {
            String::new()
        } else {
            format!(" ({})", causes.join(", "))
        }
    );
    let _ = writeln!(
        out,
        "- **Edge timeouts** (524): {}; client aborts: {}",
        s.edge_timeout, s.client_abort
    );
    let _ = writeln!(
        out,
        "- Origin 5xx: {}; restarts: {}; crashes: {}",
        s.errors_5xx, d.restarts, d.crashes
    );
    let _ = writeln!(
        out,
        "- Tunnel disconnects: {}; time with no connection: {:.1} s",
        d.disconnects,
        d.down_us as f64 / 1e6
    );

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
            out.push_str(&latency_row("before", &parts[0]));
            out.push_str(&latency_row("during", &parts[1]));
            out.push_str(&latency_row("after", &parts[2]));
        }
        None => out.push_str(&latency_row("window", &s.latency)),
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

    // Samples: failures first, then the slowest.
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

/// Why a bundle could not be written; the message says where and what to do.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("refusing to write the snapshot into {path}: {why}")]
    Refused { path: String, why: String },
    #[error("writing the snapshot into {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The effective uid of this process ([`crate::paths::effective_uid`]).
#[allow(clippy::unnecessary_wraps)]
fn effective_uid() -> Option<u32> {
    Some(crate::paths::effective_uid())
}

/// Refuses `dir` when anything on its way could be changed by another user: a symlink
/// owned by someone other than root or you (they could point it anywhere), or a
/// world-writable directory without the sticky bit (anyone could swap what is in it). A
/// sticky world-writable directory such as `/tmp` is fine, and so are root's and your own
/// symlinks (`/var/run` → `/run`, a home on another disk). See: issue 17.
fn check_ancestors(dir: &Path) -> Result<(), WriteError> {
    let me = effective_uid();
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir().map_err(io_err(dir))?.join(dir)
    };
    let mut at = PathBuf::new();
    for part in abs.components() {
        at.push(part);
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(meta) => meta,
            // The rest is created by us, 0700.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(io_err(&at)(e)),
        };
        let refuse = |why: String| WriteError::Refused {
            path: at.display().to_string(),
            why,
        };
        let target = if meta.file_type().is_symlink() {
            if meta.uid() != 0 && Some(meta.uid()) != me {
                return Err(refuse(format!(
                    "it is a symlink owned by uid {}, who could point it anywhere",
                    meta.uid()
                )));
            }
            match std::fs::metadata(&at) {
                Ok(target) => target,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(io_err(&at)(e)),
            }
        } else {
            meta
        };
        if target.is_dir() && target.mode() & 0o002 != 0 && target.mode() & 0o1000 == 0 {
            return Err(refuse(
                "it is a world-writable directory without the sticky bit, so anyone could \
                 replace what is in it"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Creates `dir` (0700) if missing, refusing a symlink or a directory owned by another user,
/// and any path with an unsafe step on the way ([`check_ancestors`]).
fn safe_dir(dir: &Path) -> Result<(), WriteError> {
    check_ancestors(dir)?;
    let me = effective_uid();
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = std::fs::metadata(dir).map_err(io_err(dir))?;
            if Some(target.uid()) != me {
                return Err(WriteError::Refused {
                    path: dir.display().to_string(),
                    why: format!(
                        "it is a symlink to a directory owned by uid {}, not you",
                        target.uid()
                    ),
                });
            }
        }
        Ok(meta) => {
            if !meta.is_dir() {
                return Err(WriteError::Refused {
                    path: dir.display().to_string(),
                    why: "it is not a directory".into(),
                });
            }
            if Some(meta.uid()) != me && meta.mode() & 0o002 != 0 {
                return Err(WriteError::Refused {
                    path: dir.display().to_string(),
                    why: format!("it is world-writable and owned by uid {}", meta.uid()),
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_err(dir))?;
        }
        Err(e) => return Err(io_err(dir)(e)),
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_err(path))
}

/// A bundle being written, for a window too large to hold: each entry's `journal.export`
/// record is written as it comes ([`BundleWriter::add`]) into a hidden temporary directory
/// in `base`; the other files are built from the window's model at the end
/// ([`BundleWriter::finish`]), which renames the directory into place (or packs it as
/// `.tar.gz`). Dropped unfinished, it removes what it wrote. See: issue 17.
#[derive(Debug)]
pub struct BundleWriter {
    base: PathBuf,
    tmp: PathBuf,
    tmp_archive: PathBuf,
    journal_path: PathBuf,
    journal: Option<std::io::BufWriter<std::fs::File>>,
    record: Vec<u8>,
    host: Option<String>,
    starts: Vec<String>,
    is_finished: bool,
}

impl BundleWriter {
    /// Checks `base` ([`safe_dir`]) and opens the temporary directory and its
    /// `journal.export`.
    pub fn create(base: &Path) -> Result<BundleWriter, WriteError> {
        safe_dir(base)?;
        let pid = std::process::id();
        let tmp = base.join(format!(".sigil-top-snapshot.partial-{pid}"));
        let mut writer = BundleWriter {
            base: base.to_path_buf(),
            tmp_archive: base.join(format!(".sigil-top-snapshot.partial-{pid}.tar.gz")),
            journal_path: tmp.join("journal.export"),
            tmp,
            journal: None,
            record: Vec::new(),
            host: None,
            starts: Vec::new(),
            is_finished: false,
        };
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&writer.tmp)
            .map_err(io_err(&writer.tmp))?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&writer.journal_path)
            .map_err(io_err(&writer.journal_path))?;
        writer.journal = Some(std::io::BufWriter::with_capacity(256 * 1024, file));
        Ok(writer)
    }

    /// Writes `e` (an entry of the window, in order) to `journal.export`, redacted.
    pub fn add(&mut self, e: &RawEntry, redactor: &mut Redactor) -> Result<(), WriteError> {
        self.record.clear();
        export_record(e, redactor, &mut self.record);
        if let Some(journal) = &mut self.journal {
            journal
                .write_all(&self.record)
                .map_err(io_err(&self.journal_path))?;
        }
        if self.host.is_none() {
            self.host = e.origin.hostname.as_deref().map(str::to_owned);
        }
        if self.starts.len() < MAX_START_LINES {
            self.starts.extend(start_line(e));
        }
        Ok(())
    }

    /// Writes the other files from `model` (the model of exactly the entries added) and
    /// puts the bundle in place; the path written. The sample requests' raw lines come
    /// from the model's log (every line is in `journal.export` in any case).
    pub fn finish(
        mut self,
        model: &Model,
        selection: &Selection,
        redactor: &mut Redactor,
        archive: bool,
    ) -> Result<PathBuf, WriteError> {
        if let Some(journal) = self.journal.take() {
            let file = journal
                .into_inner()
                .map_err(|e| io_err(&self.journal_path)(e.into_error()))?;
            file.sync_all().map_err(io_err(&self.journal_path))?;
        }
        let by_cursor: HashMap<&str, &RawEntry> = model
            .log
            .iter()
            .flat_map(|r| std::iter::once(&r.event).chain(&r.continuation))
            .filter_map(|ev| ev.entry.cursor.as_ref().map(|c| (&*c.0, &ev.entry)))
            .collect();
        let bundle = other_files(
            model,
            selection,
            redactor,
            self.host.as_deref(),
            &self.starts,
            &|c| by_cursor.get(c).copied(),
        );
        for (name, bytes) in &bundle.files {
            write_file(&self.tmp.join(name), bytes)?;
        }
        let dest = if archive {
            write_archive(&bundle, &self.tmp, &self.tmp_archive)?;
            let dest = unique(&self.base, &bundle.name, ".tar.gz");
            std::fs::rename(&self.tmp_archive, &dest).map_err(io_err(&dest))?;
            let _ = std::fs::remove_dir_all(&self.tmp);
            dest
        } else {
            let dest = unique(&self.base, &bundle.name, "");
            std::fs::rename(&self.tmp, &dest).map_err(io_err(&dest))?;
            dest
        };
        self.is_finished = true;
        Ok(dest)
    }
}

impl Drop for BundleWriter {
    fn drop(&mut self) {
        if !self.is_finished {
            self.journal = None;
            let _ = std::fs::remove_dir_all(&self.tmp);
            let _ = std::fs::remove_file(&self.tmp_archive);
        }
    }
}

/// Builds the bundle of `entries` (the window; `model` is the model of exactly them) and
/// writes it with a [`BundleWriter`].
pub fn write_bundle(
    model: &Model,
    entries: &[&RawEntry],
    selection: &Selection,
    redactor: &mut Redactor,
    base: &Path,
    archive: bool,
) -> Result<PathBuf, WriteError> {
    let mut writer = BundleWriter::create(base)?;
    for &e in entries {
        writer.add(e, redactor)?;
    }
    writer.finish(model, selection, redactor, archive)
}

fn unique(base: &Path, name: &str, ext: &str) -> PathBuf {
    let mut p = base.join(format!("{name}{ext}"));
    let mut n = 2;
    while p.exists() {
        p = base.join(format!("{name}-{n}{ext}"));
        n += 1;
    }
    p
}

/// The files of `dir` (the bundle written as a directory) as one `.tar.gz` at `path`,
/// each under `NAME/`, in the bundle's order with `journal.export` last.
fn write_archive(bundle: &Bundle, dir: &Path, path: &Path) -> Result<(), WriteError> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let names = bundle
        .files
        .iter()
        .map(|(name, _)| *name)
        .chain(["journal.export"]);
    for name in names {
        let member = dir.join(name);
        let file = std::fs::File::open(&member).map_err(io_err(&member))?;
        let len = file.metadata().map_err(io_err(&member))?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(len);
        header.set_mode(0o600);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, format!("{}/{name}", bundle.name), file)
            .map_err(io_err(path))?;
    }
    let gz = tar.into_inner().map_err(io_err(path))?;
    let file = gz.finish().map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

/// The default snapshot directory: `$XDG_STATE_HOME/sigil-top/snapshots`
/// (`~/.local/state/sigil-top/snapshots`).
pub fn default_dir() -> PathBuf {
    // A relative XDG path is invalid and ignored, as the XDG spec says (etcetera keeps
    // that rule). See: issue 17.
    crate::paths::snapshot_dir()
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

    #[test]
    fn hgrm_has_the_standard_shape() {
        let mut l = Latency::default();
        for us in [1_000, 2_000, 3_000, 100_000] {
            l.record_us(us);
        }
        let text = hgrm(&l);
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
        assert!(text.contains("#[Max     ="));
        assert!(text.contains("Total count    =            4]"), "{text}");
    }
}
