//! The incidents panel: open and recent incidents, newest first, coloured by severity,
//! under a header row that names the columns. Every row shows its kind at every size:
//! narrow panels use the short labels of [`kind_label`] and drop the severity word,
//! how long it lasted and then the cause, in that order; `●` marks an open incident and
//! `○` a closed one, so the state reads without colour too.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::model::detect::{Incident, IncidentKind, Severity};
use crate::model::Model;
use crate::text;

use super::super::state::{Pane, UiState};
use super::latency::short_count;
use super::{clock_s, duration, panel, selection_style, title_fit};

/// From this inner width a row also shows the severity and how long it lasted.
const WIDE_COLS: usize = 44;
/// Columns of the kind label (the longest short label and a space).
const KIND_W: usize = 7;
/// Columns of the count (`×21`, `×123k`).
const COUNT_W: usize = 6;
const SEVERITY_W: usize = 5;
const LASTED_W: usize = 8;
/// The narrowest likely cause worth showing.
const MIN_CAUSE_COLS: usize = 6;

/// The kind in at most six columns: `502`, `524`, `5xx`, `down`, `degr`, `tunnel`,
/// `stale`, `slow`, `stall` (the help lists what each means).
pub(crate) fn kind_label(kind: IncidentKind) -> &'static str {
    match kind {
        IncidentKind::BadGateway => "502",
        IncidentKind::EdgeTimeout => "524",
        IncidentKind::OriginErrors => "5xx",
        IncidentKind::OriginDown => "down",
        IncidentKind::TunnelDegraded => "degr",
        IncidentKind::TunnelDown => "tunnel",
        IncidentKind::StaleSessions => "stale",
        IncidentKind::Latency => "slow",
        IncidentKind::OriginStalled => "stall",
    }
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warn",
        Severity::Critical => "crit",
    }
}

/// `s` left-aligned in `width` columns.
fn pad(s: &str, width: usize) -> String {
    format!("{s:<width$}")
}

pub(crate) fn render_incidents(frame: &mut Frame, area: Rect, model: &Model, ui: &UiState) {
    let t = ui.theme();
    let is_focused =
        ui.focus == Pane::Incidents && ui.overlay == super::super::state::Overlay::None;
    let total = ui.incidents(model).count();
    let open = ui.incidents(model).filter(|i| i.end.is_none()).count();
    // Incidents are updated in place (counts, end): while paused they are listed as
    // they were, but their figures stay live.
    let details = if total == 0 {
        vec!["none".to_owned()]
    } else {
        vec![
            format!("{open} open · {total} in all · ⏎ evidence"),
            format!("{open} open · {total} in all"),
            format!("{open} open/{total}"),
        ]
    };
    let block = panel(
        title_fit("Incidents", &details, area.width, t),
        is_focused,
        t,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if total == 0 {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "no incidents: no 502s, timeouts or outages seen",
                t.dim(),
            )),
            inner,
        );
        return;
    }
    let width = usize::from(inner.width);
    let is_wide = width >= WIDE_COLS;
    let mut header = format!("  {} ", pad("start", 8));
    if is_wide {
        header.push_str(&pad("sev", SEVERITY_W));
    }
    header.push_str(&pad("kind", KIND_W));
    header.push_str(&pad("count", COUNT_W));
    if is_wide {
        header.push_str(&pad("lasted", LASTED_W));
    }
    if width >= header.chars().count() + MIN_CAUSE_COLS {
        header.push_str("likely cause");
    }
    let (header, _) = text::fit_width(&header, width);
    let mut lines = vec![Line::styled(header.into_owned(), t.dim())];
    let rows = usize::from(inner.height).saturating_sub(1);
    let sel = ui.incident_position(model);
    let top = (sel + 1).saturating_sub(rows.max(1));
    lines.extend(
        ui.incidents(model)
            .enumerate()
            .skip(top)
            .take(rows)
            .map(|(i, inc)| {
                let mut line = row(inc, ui, width, is_wide);
                if i == sel {
                    line = line.style(selection_style(is_focused, t));
                }
                line
            }),
    );
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row(inc: &Incident, ui: &UiState, width: usize, is_wide: bool) -> Line<'static> {
    let t = ui.theme();
    let sev = t.severity(inc.severity);
    let mark = if inc.end.is_none() { "● " } else { "○ " };
    let mut spans = vec![
        Span::styled(mark, sev),
        Span::styled(format!("{} ", clock_s(inc.start, ui)), t.dim()),
    ];
    if is_wide {
        spans.push(Span::styled(
            pad(severity_label(inc.severity), SEVERITY_W),
            sev,
        ));
    }
    spans.push(Span::styled(
        pad(kind_label(inc.kind), KIND_W),
        sev.add_modifier(Modifier::BOLD),
    ));
    spans.push(Span::styled(
        pad(&format!("×{}", short_count(inc.count)), COUNT_W),
        t.text(),
    ));
    if is_wide {
        let lasted = match inc.end {
            None => Span::styled(pad("open", LASTED_W), sev.add_modifier(Modifier::BOLD)),
            Some(end) => Span::styled(
                pad(&duration(end.saturating_since_us(inc.start)), LASTED_W),
                t.dim(),
            ),
        };
        spans.push(lasted);
    }
    let used: usize = spans
        .iter()
        .map(|s| unicode_width::UnicodeWidthStr::width(s.content.as_ref()))
        .sum();
    // A cause with less room than this would be only its cut mark: left out (Enter
    // shows it in full).
    if width >= used + MIN_CAUSE_COLS {
        let cause = text::display(&inc.cause);
        let (cause, _) = text::fit_width(&cause, width - used);
        spans.push(Span::styled(cause.into_owned(), t.text()));
    }
    Line::from(spans)
}
