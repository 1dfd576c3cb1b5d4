//! The request view: correlated traces in the order they were settled, newest at the
//! bottom (time, method, path or MCP tool, outcome, duration, match confidence, ray,
//! request id). Columns drop from the right as the panel narrows.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::model::correlate::{Link, Outcome, Trace};
use crate::model::Model;
use crate::text;

use super::super::state::{outcome_label, visible, Overlay, Pane, UiState};
use super::super::theme::Theme;
use super::status_bar::search_and_filters;
use super::{cell, clock_ms, duration, panel, selection_style, title_fit};

/// Column widths; the target column takes what is left.
const TIME_W: u16 = 12;
const METHOD_W: u16 = 6;
const STATUS_W: u16 = 11;
const DURATION_W: u16 = 8;
const LINK_W: u16 = 11;
const RAY_W: u16 = 20;
const REQUEST_ID_W: u16 = 36;
const TARGET_MIN_W: u16 = 16;

fn outcome_style(o: Outcome, t: Theme) -> ratatui::style::Style {
    match o {
        Outcome::Served(s) if s >= 500 => t.bad(),
        Outcome::Served(s) if s >= 400 => t.warn(),
        Outcome::Served(_) => t.good(),
        Outcome::BadGateway(_) | Outcome::EdgeTimeout | Outcome::ProxyFailed => t.bad(),
        Outcome::ClientAbort | Outcome::StreamClosed | Outcome::Unanswered => t.warn(),
    }
}

fn link_style(l: Link, t: Theme) -> ratatui::style::Style {
    match l {
        Link::Exact => t.good(),
        Link::Heuristic => t.warn(),
        Link::TunnelOnly => t.tunnel(),
        Link::OriginOnly => t.origin(),
    }
}

/// What the target column shows: the MCP tool when there is one, else the path.
pub(crate) fn target(tr: &Trace) -> String {
    let path = tr.path.as_deref().unwrap_or("?");
    match &tr.tool {
        Some(tool) => format!("{path} ⟨{tool}⟩"),
        None => path.to_owned(),
    }
}

/// The duration column: latency, a stream's lifetime, or `-`.
pub(crate) fn duration_label(tr: &Trace) -> String {
    match (tr.latency, tr.is_stream, tr.end) {
        (Some((us, _)), _, _) => duration(us),
        (None, true, Some(end)) => format!("~{}", duration(end.saturating_since_us(tr.start))),
        _ => "-".to_owned(),
    }
}

/// The panel's title details, longest first: what is shown, the correlator's links (or
/// that the view is paused), the search and the filters.
fn title_details(model: &Model, ui: &UiState) -> [String; 2] {
    let links = &model.correlator.links;
    let count = format!("{} shown", ui.requests.keys.len());
    let links_text = if ui.paused.is_some() {
        "paused, p resumes".to_owned()
    } else {
        format!(
            "exact {} heuristic {} tunnel-only {} origin-only {} · open {} · expired {}",
            links.exact,
            links.heuristic,
            links.tunnel_only,
            links.origin_only,
            model.correlator.open_count(),
            model.correlator.expired
        )
    };
    let tail = search_and_filters(ui, "");
    [
        format!("{count} · {links_text}{tail}"),
        format!("{count}{tail}"),
    ]
}

/// Which optional columns fit in a width (widest last), and the target column's width.
struct Columns {
    has_link: bool,
    has_ray: bool,
    has_rid: bool,
    target_w: u16,
}

impl Columns {
    fn fit(width: u16) -> Columns {
        let fixed = TIME_W + METHOD_W + STATUS_W + DURATION_W + 5;
        let has_link = width > fixed + TARGET_MIN_W + LINK_W;
        let has_ray = width >= fixed + TARGET_MIN_W + LINK_W + RAY_W + 2;
        let has_rid = width >= fixed + TARGET_MIN_W + LINK_W + RAY_W + REQUEST_ID_W + 3;
        let mut used = fixed;
        for (has, w) in [
            (has_link, LINK_W),
            (has_ray, RAY_W),
            (has_rid, REQUEST_ID_W),
        ] {
            if has {
                used += w + 1;
            }
        }
        Columns {
            has_link,
            has_ray,
            has_rid,
            target_w: width.saturating_sub(used).max(4),
        }
    }

    fn headers(&self) -> Vec<&'static str> {
        let mut headers = vec!["time", "method", "target", "status", "duration"];
        for (has, name) in [
            (self.has_link, "match"),
            (self.has_ray, "ray"),
            (self.has_rid, "request_id"),
        ] {
            if has {
                headers.push(name);
            }
        }
        headers
    }

    fn widths(&self) -> Vec<Constraint> {
        let mut widths = vec![
            Constraint::Length(TIME_W),
            Constraint::Length(METHOD_W),
            Constraint::Length(self.target_w),
            Constraint::Length(STATUS_W),
            Constraint::Length(DURATION_W),
        ];
        for (has, w) in [
            (self.has_link, LINK_W),
            (self.has_ray, RAY_W),
            (self.has_rid, REQUEST_ID_W),
        ] {
            if has {
                widths.push(Constraint::Length(w));
            }
        }
        widths
    }
}

pub(crate) fn render_requests(frame: &mut Frame, area: Rect, model: &Model, ui: &UiState) {
    let t = ui.theme();
    let is_focused = ui.focus == Pane::Requests && ui.overlay == Overlay::None;
    let keys = &ui.requests.keys;
    let block = panel(
        title_fit("Requests", &title_details(model, ui), area.width, t),
        is_focused,
        t,
    );
    let inner = block.inner(area);
    let columns = Columns::fit(inner.width);
    let Columns {
        has_link,
        has_ray,
        has_rid,
        target_w,
    } = columns;
    let rows = usize::from(inner.height.saturating_sub(1));
    let (top, sel) = visible(keys, ui.requests.pos, rows);
    let body: Vec<Row> = keys
        .iter()
        .enumerate()
        .skip(top)
        .take(rows)
        .map(|(i, &n)| {
            let Some(tr) = model.correlator.recent_by_ordinal(n) else {
                return Row::new(vec![Cell::from("(left the ring)")]);
            };
            let mut cells = vec![
                Cell::from(Span::styled(clock_ms(tr.start, ui), t.dim())),
                Cell::from(cell(
                    &text::sanitize(tr.method.as_deref().unwrap_or("?")),
                    usize::from(METHOD_W),
                )),
                Cell::from(ratatui::text::Line::from(super::log_table::highlighted(
                    &cell(&text::display(&target(tr)), usize::from(target_w)),
                    ui.search.as_ref(),
                    t.text(),
                    t.search_match(),
                ))),
                Cell::from(Span::styled(
                    outcome_label(tr.outcome),
                    outcome_style(tr.outcome, t),
                )),
                Cell::from(duration_label(tr)),
            ];
            if has_link {
                cells.push(Cell::from(Span::styled(
                    tr.link.as_str(),
                    link_style(tr.link, t),
                )));
            }
            if has_ray {
                let ray = tr
                    .ray
                    .as_ref()
                    .map_or_else(|| "-".into(), |r| text::sanitize(&r.0).into_owned());
                cells.push(Cell::from(Span::styled(
                    cell(&ray, usize::from(RAY_W)),
                    t.dim(),
                )));
            }
            if has_rid {
                let rid = tr
                    .request_id
                    .as_ref()
                    .map_or_else(|| "-".into(), |r| text::sanitize(&r.0).into_owned());
                cells.push(Cell::from(Span::styled(
                    cell(&rid, usize::from(REQUEST_ID_W)),
                    t.dim(),
                )));
            }
            let mut row = Row::new(cells);
            if Some(i) == sel && (is_focused || !ui.requests.pos.follow) {
                row = row.style(selection_style(is_focused, t));
            }
            row
        })
        .collect();
    if body.is_empty() {
        frame.render_widget(block, area);
        let msg = if model.correlator.recent.is_empty() {
            "no requests settled yet (a request is shown about 3 s after it ends)"
        } else {
            "no request matches the filters (c clears them)"
        };
        frame.render_widget(Paragraph::new(Span::styled(msg, t.dim())), inner);
        return;
    }
    let header = Row::new(columns.headers()).style(t.dim());
    frame.render_widget(
        Table::new(body, columns.widths())
            .header(header)
            .block(block),
        area,
    );
}
