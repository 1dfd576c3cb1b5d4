//! Detail views drawn over the panels: one log record in full (with its continuation
//! lines, e.g. a traceback), an incident with its evidence lines, and a request with both
//! services' lines side by side. Records are found by the `seq`s `update` resolved from
//! cursors when the view was opened, so drawing never searches the log.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::model::correlate::Trace;
use crate::model::log::Record;
use crate::model::Model;
use crate::text;

use crate::text::Page;

use super::super::state::{outcome_label, Overlay, UiState, PAGE_BYTES};
use super::requests::{duration_label, target};
use super::{clock_ms, clock_s, duration, panel, title, unit_style};

/// The lines of `rec`: page `page` of its message (split at newlines; the whole message
/// when it is short) and its continuation lines, sanitized and redacted. Only the page
/// and the start of each continuation line are processed (`PAGE_BYTES` each), so a
/// 50 MB line costs what a short one does. A message longer than a page ends with a line
/// saying which bytes are shown (and, where the view does not page, how to page it).
fn record_lines<'a>(
    rec: &Record,
    model: &Model,
    ui: &UiState,
    with_unit: bool,
    page: usize,
    is_paged: bool,
) -> Vec<Line<'a>> {
    let t = ui.theme();
    let e = &rec.event;
    let mut lines = Vec::new();
    let mut head = vec![Span::styled(
        format!("{} ", clock_ms(e.entry.realtime, ui)),
        t.dim(),
    )];
    if with_unit {
        let unit = e
            .entry
            .unit
            .as_ref()
            .map_or("-", crate::source::Unit::short);
        head.push(Span::styled(
            format!("{} ", text::sanitize(unit)),
            unit_style(e.entry.unit.as_ref(), model, t),
        ));
    }
    head.push(Span::styled(
        format!("{} ", e.level.as_str().to_uppercase()),
        t.level(e.level),
    ));
    let shown = text::display_page(&e.entry.message, page, PAGE_BYTES);
    // Sanitizing made newlines visible (`\x0a`); show them as line breaks here.
    let mut parts = shown.text.split("\\x0a");
    head.push(Span::raw(parts.next().unwrap_or("").to_owned()));
    lines.push(Line::from(head));
    for p in parts {
        lines.push(Line::raw(format!("    {p}")));
    }
    if shown.count > 1 {
        // Only the record view pages (its title says how); elsewhere say where to go.
        let how = if is_paged {
            ""
        } else {
            " · Enter on the line in the log pages through it"
        };
        lines.push(Line::styled(
            format!("    … {}{how}", page_mark(&shown)),
            t.dim(),
        ));
    }
    for c in &rec.continuation {
        let (line, is_cut) = text::display_bytes_head(&c.entry.message, PAGE_BYTES);
        lines.push(Line::styled(
            format!("    {line}{}", if is_cut { "…" } else { "" }),
            t.level(c.level),
        ));
    }
    if rec.continuation_dropped > 0 {
        lines.push(Line::styled(
            format!(
                "    … {} more continuation lines not kept",
                rec.continuation_dropped
            ),
            t.dim(),
        ));
    }
    lines
}

/// Which bytes of the message a page shows: `bytes 1–4096 of 52428800 (page 1/12800)`.
fn page_mark(page: &Page) -> String {
    format!(
        "bytes {}–{} of {} (page {}/{})",
        page.start + 1,
        page.end,
        page.total,
        page.index + 1,
        page.count
    )
}

fn frame_overlay(frame: &mut Frame, area: Rect, name: &str, detail: String, ui: &UiState) -> Rect {
    let t = ui.theme();
    let block = panel(title(name, detail, t), true, t);
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    inner
}

pub(crate) fn render_record(frame: &mut Frame, area: Rect, model: &Model, ui: &UiState) {
    let Overlay::Record { seq, scroll, page } = ui.overlay else {
        return;
    };
    let t = ui.theme();
    let rec = model.log.get(seq);
    let len = rec.map_or(0, |r| r.event.entry.message.len());
    let hint = if let Some(r) = rec.filter(|_| text::page_count(len, PAGE_BYTES) > 1) {
        let span = text::page_span(&r.event.entry.message, page, PAGE_BYTES);
        format!("{} · ← → page · ↑↓ scroll · Esc back", page_mark(&span))
    } else {
        "↑↓ scroll · Esc back".to_owned()
    };
    let inner = frame_overlay(frame, area, "Log line", hint, ui);
    let Some(rec) = rec else {
        frame.render_widget(
            Paragraph::new("this line has left the log (the ring is full)"),
            inner,
        );
        return;
    };
    let e = &rec.entry_fields();
    let mut lines = vec![
        Line::from(vec![
            Span::styled("time    ", t.dim()),
            Span::raw(e.time.clone()),
        ]),
        Line::from(vec![
            Span::styled("unit    ", t.dim()),
            Span::raw(e.unit.clone()),
        ]),
        Line::from(vec![
            Span::styled("process ", t.dim()),
            Span::raw(e.process.clone()),
        ]),
        Line::from(vec![
            Span::styled("cursor  ", t.dim()),
            Span::styled(e.cursor.clone(), t.dim()),
        ]),
        Line::raw(""),
    ];
    lines.extend(record_lines(rec, model, ui, false, page, true));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}

/// The identifying fields of a record, sanitized.
struct EntryFields {
    time: String,
    unit: String,
    process: String,
    cursor: String,
}

trait RecordFields {
    fn entry_fields(&self) -> EntryFields;
}

impl RecordFields for Record {
    fn entry_fields(&self) -> EntryFields {
        let en = &self.event.entry;
        let unit = en.unit.as_ref().map_or_else(
            || en.origin.systemd_unit.as_deref().unwrap_or("-").to_owned(),
            ToString::to_string,
        );
        let comm = en
            .field_str("_COMM")
            .or(en.field_str("SYSLOG_IDENTIFIER"))
            .unwrap_or("?");
        EntryFields {
            time: en.realtime.to_rfc3339(),
            unit: text::sanitize(&unit).into_owned(),
            process: text::sanitize(&format!(
                "{comm} pid {} on {}",
                en.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()),
                en.origin.hostname.as_deref().unwrap_or("?")
            ))
            .into_owned(),
            cursor: en
                .cursor
                .as_ref()
                .map_or_else(|| "-".to_owned(), |c| text::sanitize(&c.0).into_owned()),
        }
    }
}

pub(crate) fn render_incident(frame: &mut Frame, area: Rect, model: &Model, ui: &UiState) {
    let Overlay::Incident {
        id,
        ref evidence,
        missing,
        scroll,
    } = ui.overlay
    else {
        return;
    };
    let t = ui.theme();
    let inner = frame_overlay(
        frame,
        area,
        "Incident",
        "↑↓ scroll · e export · Esc back".into(),
        ui,
    );
    let Some(inc) = model.detector.incidents.iter().find(|i| i.id == id) else {
        frame.render_widget(Paragraph::new("this incident is no longer kept"), inner);
        return;
    };
    let sev = t.severity(inc.severity);
    let span = match inc.end {
        Some(end) => format!(
            "{} → {} ({})",
            clock_s(inc.start, ui),
            clock_s(end, ui),
            duration(end.saturating_since_us(inc.start))
        ),
        None => format!(
            "{} → open (last {})",
            clock_s(inc.start, ui),
            clock_s(inc.last, ui)
        ),
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!(
                    "#{} {} {} ",
                    inc.id,
                    inc.severity.as_str(),
                    inc.kind.as_str()
                ),
                sev.add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("x{}  ", inc.count), t.text()),
            Span::styled(span, t.dim()),
        ]),
        Line::from(vec![
            Span::styled("likely cause  ", t.dim()),
            Span::raw(text::sanitize(&inc.cause).into_owned()),
        ]),
        Line::raw(""),
        Line::styled(
            format!(
                "evidence: {} log lines{}",
                evidence.len(),
                if missing > 0 {
                    format!(", {missing} no longer in memory")
                } else {
                    String::new()
                }
            ),
            t.title(),
        ),
    ];
    for &seq in evidence {
        if let Some(rec) = model.log.get(seq) {
            lines.extend(record_lines(rec, model, ui, true, 0, false));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}

/// The request view's two head lines: when, what and how it ended; its identities, and
/// how many of its lines left memory.
fn trace_head(tr: &Trace, missing: usize, ui: &UiState) -> Vec<Line<'static>> {
    let t = ui.theme();
    let dash = |s: Option<&str>| text::sanitize(s.unwrap_or("-")).into_owned();
    vec![
        Line::from(vec![
            Span::styled(format!("{} ", clock_ms(tr.start, ui)), t.dim()),
            Span::styled(
                format!(
                    "{} {}",
                    dash(tr.method.as_deref()),
                    text::sanitize(&target(tr))
                ),
                t.text().add_modifier(Modifier::BOLD),
            ),
            Span::raw("  → "),
            Span::styled(outcome_label(tr.outcome), t.title()),
            Span::raw(format!("  {}", duration_label(tr))),
            Span::styled(format!("  match {}", tr.link.as_str()), t.dim()),
        ]),
        Line::from(vec![
            Span::styled("ray ", t.dim()),
            Span::raw(dash(tr.ray.as_ref().map(|r| &*r.0))),
            Span::styled("  request_id ", t.dim()),
            Span::raw(dash(tr.request_id.as_ref().map(|r| &*r.0))),
            Span::styled("  client ", t.dim()),
            Span::raw(dash(tr.client_ip.as_deref())),
            Span::styled(
                if missing > 0 {
                    format!("  ({missing} lines no longer in memory)")
                } else {
                    String::new()
                },
                t.warn(),
            ),
        ]),
    ]
}

pub(crate) fn render_trace(frame: &mut Frame, area: Rect, model: &Model, ui: &UiState) {
    let Overlay::Trace {
        ordinal,
        ref origin,
        ref tunnel,
        ref other,
        missing,
        scroll,
    } = ui.overlay
    else {
        return;
    };
    let t = ui.theme();
    let inner = frame_overlay(
        frame,
        area,
        "Request",
        "both services · ↑↓ scroll · Esc back".into(),
        ui,
    );
    let Some(tr) = model.correlator.recent_by_ordinal(ordinal) else {
        frame.render_widget(Paragraph::new("this request is no longer kept"), inner);
        return;
    };
    let head = trace_head(tr, missing, ui);
    let [head_area, cols_area] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(head).wrap(Wrap { trim: true }), head_area);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(cols_area);
    let column = |seqs: &[u64], name: String, style| {
        let mut lines = vec![Line::styled(
            name,
            ratatui::style::Style::add_modifier(style, Modifier::BOLD),
        )];
        if seqs.is_empty() {
            lines.push(Line::styled("(no line from this service)", t.dim()));
        }
        for &seq in seqs {
            if let Some(rec) = model.log.get(seq) {
                lines.extend(record_lines(rec, model, ui, false, 0, false));
            }
        }
        lines
    };
    let mut left_lines = column(
        origin,
        format!("{} (origin)", model.settings.origin_unit.short()),
        t.origin(),
    );
    if !other.is_empty() {
        left_lines.push(Line::raw(""));
        left_lines.extend(column(other, "other units".into(), t.other_unit()));
    }
    let right_lines = column(
        tunnel,
        format!("{} (tunnel)", model.settings.tunnel_unit.short()),
        t.tunnel(),
    );
    frame.render_widget(
        Paragraph::new(left_lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        left,
    );
    frame.render_widget(
        Paragraph::new(right_lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        Rect::new(
            right.x + 1,
            right.y,
            right.width.saturating_sub(1),
            right.height,
        ),
    );
}
