//! Incident snapshots: the bundle an operator attaches to a ticket, and its redaction.
//!
//! Owns the bundle's format — `summary.md`, `report.json`, `traces.jsonl`,
//! `histogram.hgrm`, `latency.hlog`, `latency.svg` (drawn by `view::svg` from the figures
//! chosen here), `journal.export` — running every byte through the
//! [`Redactor`] (`crate::redact`, which owns the rules) before it is written, escaping
//! log text for Markdown (`text::markdown_text`), and writing safely: files `0600` in a
//! `0700` directory, assembled in a `tempfile` directory and moved into place without
//! replacing anything (`RENAME_NOREPLACE`; an archive by `persist_noclobber`), so a crash
//! never leaves a half-written bundle that looks complete and two snapshots never
//! overwrite each other; a path with another user's symlink or a world-writable
//! non-sticky directory anywhere in it is refused.
//! `journal.export` is streamed entry by entry ([`BundleWriter`]): a window of any size
//! is never held in memory.
//!
//! Does not own *which* entries make the window (the app selects them and builds the
//! window's model); it reads `&Model` and the window's raw entries only.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::model::correlate::{Outcome, Trace};
use crate::model::detect::Incident;
use crate::model::stats::Latency;
use crate::model::Model;
use crate::source::{RawEntry, Timestamp, KEPT_FIELDS};
use crate::text::{self, Redactor};

use super::svg;

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
    let hlog = hlog(&model.stats.latency, selection);
    let chart = svg::render(&latency_chart(model, selection, redactor));
    let summary = summary_md(model, starts, raw, selection, incident, redactor);
    Bundle {
        name,
        files: vec![
            ("summary.md", summary.into_bytes()),
            ("report.json", (report_text + "\n").into_bytes()),
            ("traces.jsonl", traces.into_bytes()),
            ("histogram.hgrm", hgrm.into_bytes()),
            ("latency.hlog", hlog.into_bytes()),
            ("latency.svg", chart.into_bytes()),
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

/// What `histogram.hgrm`'s values are scaled by: the histogram holds microseconds, the
/// file shows milliseconds (Java's `outputValueUnitScalingRatio`).
const HGRM_SCALING_RATIO: f64 = 1000.0;

/// The mean of `h` as `HdrHistogram`'s Java `getMean` computes it: the sum of each recorded
/// value's median-equivalent times its count, divided by the total count (the crate's
/// `mean` divides each term first, which can differ in the last printed digit).
fn hdr_mean(h: &hdrhistogram::Histogram<u64>) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    let total: f64 = h
        .iter_recorded()
        .map(|v| h.median_equivalent(v.value_iterated_to()) as f64 * v.count_at_value() as f64)
        .sum();
    total / h.len() as f64
}

/// The standard deviation as Java's `getStdDeviation` computes it (around [`hdr_mean`]).
fn hdr_stdev(h: &hdrhistogram::Histogram<u64>) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    let mean = hdr_mean(h);
    let total: f64 = h
        .iter_recorded()
        .map(|v| {
            let dev = h.median_equivalent(v.value_iterated_to()) as f64 - mean;
            dev * dev * v.count_since_last_iteration() as f64
        })
        .sum();
    (total / h.len() as f64).sqrt()
}

/// Java's `subBucketCount` (2048 at 3 significant digits), from what the crate exposes:
/// its counts array holds `(bucketCount + 1) × subBucketCount / 2` slots.
fn hdr_sub_bucket_count(h: &hdrhistogram::Histogram<u64>) -> usize {
    2 * h.distinct_values() / (usize::from(h.buckets()) + 1)
}

/// `histogram.hgrm`: `HdrHistogram`'s percentile distribution exactly as its Java
/// `outputPercentileDistribution(out, 5, 1000.0)` writes it (and the C and Python ports),
/// values in milliseconds: the percentile iteration with 5 ticks per half distance,
/// `TotalCount` cumulative, the last (100 %) row without `1/(1-Percentile)`, and the
/// footer's mean, standard deviation, max, total count, bucket and sub-bucket counts as
/// `HdrHistogram` computes them. `HdrHistogram`'s percentile plotter and `HistogramLogAnalyzer`
/// read it; `latency.hlog` holds the same histogram losslessly.
pub fn hgrm(l: &Latency) -> String {
    let h = &l.hist;
    let digits = usize::from(h.sigfig());
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !h.is_empty() {
        let mut total = 0u64;
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / HGRM_SCALING_RATIO;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.digits$} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value:12.digits$} {q:2.12} {total:10}");
            }
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.digits$}, StdDeviation   = {:12.digits$}]",
        hdr_mean(h) / HGRM_SCALING_RATIO,
        hdr_stdev(h) / HGRM_SCALING_RATIO
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.digits$}, Total count    = {:12}]",
        h.max() as f64 / HGRM_SCALING_RATIO,
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        hdr_sub_bucket_count(h)
    );
    out
}

/// The interval tag of `latency.hlog`'s histogram.
pub const HLOG_TAG: &str = "origin_latency_us";

/// `latency.hlog`: the same histogram as `histogram.hgrm`, lossless, as an `HdrHistogram`
/// interval log (the crate's `IntervalLogWriter`, log format 1.3, V2 compressed encoding,
/// base64): one interval covering the window, its start in seconds since the epoch,
/// tagged [`HLOG_TAG`], values in microseconds (the max column in milliseconds).
/// `HdrHistogram`'s own tools read it (Java's `HistogramLogReader` and
/// `HistogramLogProcessor`, the Python `hdrh.log.HistogramLogReader`, this crate's
/// `IntervalLogIterator`), so the histograms of several bundles can be merged without
/// the loss a percentile table has.
pub fn hlog(l: &Latency, sel: &Selection) -> String {
    use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
    use hdrhistogram::serialization::V2DeflateSerializer;
    let start = std::time::Duration::from_micros(sel.start.0);
    let span = std::time::Duration::from_micros(sel.end.0.saturating_sub(sel.start.0));
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let written = IntervalLogWriterBuilder::new()
        .add_comment(
            "sigil-top snapshot: origin response latency of the window's requests, in \
             microseconds (interval max in milliseconds)",
        )
        .add_comment("[Histogram log format version 1.3]")
        .with_start_time(std::time::UNIX_EPOCH + start)
        .with_base_time(std::time::UNIX_EPOCH)
        .begin_log_with(&mut out, &mut serializer)
        .map(drop)
        .and_then(|()| {
            // Java's legend line, not a comment (every reader skips it).
            out.extend_from_slice(
                b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
            );
            let mut log = IntervalLogWriterBuilder::new()
                .with_max_value_divisor(HGRM_SCALING_RATIO)
                .begin_log_with(&mut out, &mut serializer)?;
            log.write_histogram(&l.hist, start, span, Tag::new(HLOG_TAG))
                .map_err(|e| std::io::Error::other(e.to_string()))
        });
    // Serializing into a Vec fails only if the histogram cannot be encoded (it always can:
    // its counts fit V2's zig-zag LEB128); an unwritten log then says why.
    if let Err(e) = written {
        return format!("#sigil-top: the histogram could not be serialized: {e}\n");
    }
    String::from_utf8_lossy(&out).into_owned()
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

/// A private (`0600`) temporary file in `dir`, through `tempfile` (an unpredictable name,
/// opened `O_EXCL`), removed if it is dropped before it is persisted.
fn temp_file_in(dir: &Path, suffix: &str) -> Result<tempfile::NamedTempFile, WriteError> {
    tempfile::Builder::new()
        .prefix(".sigil-top-")
        .suffix(suffix)
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io_err(dir))
}

/// Writes `bytes` to `path` atomically and without replacing anything: into a temporary
/// file beside it, synced, then `persist_noclobber`ed (an existing `path` is an error).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = temp_file_in(dir, ".partial")?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io_err(path))?;
    tmp.persist_noclobber(path)
        .map(drop)
        .map_err(|e| io_err(path)(e.error))
}

/// How many names [`unique_candidates`] tries (`NAME`, `NAME-2`, … `NAME-1000`) before
/// the snapshot gives up: a thousand bundles of the same host, second and kind.
const MAX_NAME_TRIES: usize = 1000;

/// The names a bundle may take in `base`, in order: `NAME.ext`, `NAME-2.ext`, ….
fn unique_candidates<'a>(
    base: &'a Path,
    name: &'a str,
    ext: &'a str,
) -> impl Iterator<Item = PathBuf> + 'a {
    (1..=MAX_NAME_TRIES).map(move |n| {
        if n == 1 {
            base.join(format!("{name}{ext}"))
        } else {
            base.join(format!("{name}-{n}{ext}"))
        }
    })
}

fn names_taken(base: &Path, name: &str) -> WriteError {
    WriteError::Io {
        path: base.join(name).display().to_string(),
        source: std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{MAX_NAME_TRIES} bundles of that name are already there"),
        ),
    }
}

/// Renames the directory `from` to `to` only if `to` does not exist, atomically
/// (`renameat2` with `RENAME_NOREPLACE`): a plain `rename` would replace an empty
/// directory that appeared at `to`. On a filesystem without it (`EINVAL`), the name is
/// claimed by creating `to` (which fails if it exists) and our own empty directory is then
/// replaced by the rename.
fn rename_dir_noclobber(from: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == Errno::INVAL || e == Errno::NOSYS => {
            std::fs::DirBuilder::new().mode(0o700).create(to)?;
            std::fs::rename(from, to)
        }
        Err(e) => Err(e.into()),
    }
}

/// A bundle being written, for a window too large to hold: each entry's `journal.export`
/// record is written as it comes ([`BundleWriter::add`]) into a private temporary
/// directory in `base` (`tempfile`'s: an unpredictable name, `0700`); the other files are
/// built from the window's model at the end ([`BundleWriter::finish`]), which renames the
/// directory into place without replacing anything, or packs it as `.tar.gz` and persists
/// that with `persist_noclobber`. Dropped unfinished, it removes what it wrote. See: issues
/// 17 and 20.
#[derive(Debug)]
pub struct BundleWriter {
    base: PathBuf,
    journal_path: PathBuf,
    // Before `tmp`: fields drop in order, so the file is closed before its directory goes.
    journal: Option<std::io::BufWriter<std::fs::File>>,
    tmp: tempfile::TempDir,
    record: Vec<u8>,
    host: Option<String>,
    starts: Vec<String>,
}

impl BundleWriter {
    /// Checks `base` ([`safe_dir`]) and opens the temporary directory and its
    /// `journal.export`.
    pub fn create(base: &Path) -> Result<BundleWriter, WriteError> {
        safe_dir(base)?;
        let tmp = tempfile::Builder::new()
            .prefix(".sigil-top-snapshot.")
            .suffix(".partial")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(base)
            .map_err(io_err(base))?;
        let journal_path = tmp.path().join("journal.export");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&journal_path)
            .map_err(io_err(&journal_path))?;
        Ok(BundleWriter {
            base: base.to_path_buf(),
            journal_path,
            journal: Some(std::io::BufWriter::with_capacity(256 * 1024, file)),
            tmp,
            record: Vec::new(),
            host: None,
            starts: Vec::new(),
        })
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
            write_file(&self.tmp.path().join(name), bytes)?;
        }
        if archive {
            let mut packed = temp_file_in(&self.base, ".tar.gz.partial")?;
            write_archive(
                &bundle,
                self.tmp.path(),
                &mut packed,
                std::time::SystemTime::now(),
            )
            .map_err(io_err(packed.path()))?;
            // `self.tmp` is removed when `self` drops, below.
            for dest in unique_candidates(&self.base, &bundle.name, ".tar.gz") {
                match packed.persist_noclobber(&dest) {
                    Ok(_) => return Ok(dest),
                    Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                        packed = e.file;
                    }
                    Err(e) => return Err(io_err(&dest)(e.error)),
                }
            }
            Err(names_taken(&self.base, &bundle.name))
        } else {
            for dest in unique_candidates(&self.base, &bundle.name, "") {
                match rename_dir_noclobber(self.tmp.path(), &dest) {
                    Ok(()) => {
                        // In place under its own name now: nothing is left to clean up.
                        self.tmp.disable_cleanup(true);
                        return Ok(dest);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_err(&dest)(e)),
                }
            }
            Err(names_taken(&self.base, &bundle.name))
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

/// The files of `dir` (the bundle written as a directory) as one `.tar.gz` written to
/// `out`, each under `NAME/`, in the bundle's order with `journal.export` last. Every
/// member is stamped `taken` (the time the snapshot was taken: tar's mtime is what
/// `tar tv` and an unpacked file show), mode `0600`.
fn write_archive(
    bundle: &Bundle,
    dir: &Path,
    out: &mut tempfile::NamedTempFile,
    taken: std::time::SystemTime,
) -> std::io::Result<()> {
    let mtime_s = taken
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let gz = flate2::write::GzEncoder::new(out.as_file_mut(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let names = bundle
        .files
        .iter()
        .map(|(name, _)| *name)
        .chain(["journal.export"]);
    for name in names {
        let file = std::fs::File::open(dir.join(name))?;
        let len = file.metadata()?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(len);
        header.set_mode(0o600);
        header.set_mtime(mtime_s);
        header.set_cksum();
        tar.append_data(&mut header, format!("{}/{name}", bundle.name), file)?;
    }
    let gz = tar.into_inner()?;
    let file = gz.finish()?;
    file.sync_all()
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
    fn hgrm_is_hdrhistograms_percentile_distribution() {
        let mut l = Latency::default();
        for us in [1_000, 2_000, 3_000, 100_000] {
            l.record_us(us);
        }
        let text = hgrm(&l);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        // Java's percentile steps (5 ticks per half distance: 0.1 apart up to 50 %) and a
        // cumulative TotalCount.
        assert_eq!(
            lines[2],
            "       1.000 0.000000000000          1           1.00"
        );
        assert_eq!(
            lines[3],
            "       1.000 0.100000000000          1           1.11"
        );
        assert_eq!(
            lines[5],
            "       2.000 0.300000000000          2           1.43"
        );
        // The last row is the 100th percentile at the max (100000 µs is in a bucket of 64
        // µs: its highest equivalent is 100031), with no 1/(1-p).
        let rows = &lines[2..lines.len() - 3];
        assert_eq!(
            rows.last().copied(),
            Some("     100.031 1.000000000000          4")
        );
        // The mean of the values' median equivalents (1000, 2000, 3001, 100000 µs).
        assert_eq!(
            lines[lines.len() - 3],
            "#[Mean    =       26.500, StdDeviation   =       42.441]"
        );
        assert_eq!(
            lines[lines.len() - 2],
            "#[Max     =      100.031, Total count    =            4]"
        );
        assert!(
            lines[lines.len() - 1].ends_with(", SubBuckets     =         2048]"),
            "{text}"
        );
    }

    #[test]
    fn hgrm_of_no_requests_is_the_header_and_a_zero_footer() {
        let text = hgrm(&Latency::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            lines[2],
            "#[Mean    =        0.000, StdDeviation   =        0.000]"
        );
        assert_eq!(
            lines[3],
            "#[Max     =        0.000, Total count    =            0]"
        );
    }
}
