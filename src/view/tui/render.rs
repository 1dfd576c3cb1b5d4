//! The screen's layout, and one `render_*` call per region. Draws only: takes `&Model`
//! and `&UiState` and changes neither.
//!
//! Full layout (at least [`FULL_MIN_WIDTH`]×[`FULL_MIN_HEIGHT`]; the routes column from
//! [`ROUTES_MIN_WIDTH`]):
//!
//! ```text
//!  sigil-top  ● LIVE  journal directory /x  sigil-mcp · cloudflared        17:06:34   header
//!  5m 3.6 req/s  origin 5xx 0 · 502 21 · 524 0 │ tunnel 4/4 │ origin up │ no gaps │ ⚠  (2 rows)
//! ┌ Latency 5m ───────────────┐┌ Routes (whole run) ─┐┌ Incidents ─────────────────┐
//! │ p50 3.0 ms  p99 15 ms  max││ POST /   250  3.0 ms …││   start    kind   count    │
//! │ 21 ▁▃█▆▃▁ (log count)     ││ Tools               ││ ● 17:05:44 502    ×21  or… │
//! │  ≤ 1ms  10ms  100ms  1s   ││ search_code  12 …   ││ ○ 17:05:46 stale  ×6   40… │
//! │ req/s ▂▃▅▇  p99 ▁▁█  ✕    ││                     ││                            │
//! └───────────────────────────┘└─────────────────────┘└────────────────────────────┘
//! ┌ Requests ───────────────────────────────────────────────────────────────────────┐
//! │ time         method target           status     duration link        ray …      │
//! └─────────────────────────────────────────────────────────────────────────────────┘
//! ┌ Log ────────────────────────────────────────────────────────────────────────────┐
//! │ 17:05:17.811 sigil-mcp   INFO Logging to file: /var/lib/sigil-mcp/logs/server…  │
//! └─────────────────────────────────────────────────────────────────────────────────┘
//!  q quit  ? help  Tab panel  ↑↓ move  ⏎ open  / search  & filter  : jump  y copy  …   hint
//! ```
//!
//! Compact layout (smaller, down to [`MIN_WIDTH`]×[`MIN_HEIGHT`]): the header, a band of
//! [`COMPACT_TOP_ROWS`] with the latency summary beside the incidents, then one list (the
//! log or the requests, whichever was focused last) and the hint bar. Below the minimum a
//! message says how big the terminal must be. Overlays (help, details) are drawn last,
//! over the middle of the screen.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::model::Model;

use super::state::{Overlay, Pane, UiState, Viewport};
use super::widgets;

/// Below this the screen shows only a "too small" message.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// From this size every panel is shown.
pub const FULL_MIN_WIDTH: u16 = 100;
pub const FULL_MIN_HEIGHT: u16 = 32;
/// From this width the per-route and per-tool tables get a column of their own.
pub const ROUTES_MIN_WIDTH: u16 = 120;
/// The header's rows; one more (`UiState::host_rows`) for per-host figures when the
/// inputs hold several hosts.
pub const HEADER_ROWS: u16 = 2;
pub const HINT_ROWS: u16 = 1;
/// Rows of the latency + incidents band in the compact layout.
pub const COMPACT_TOP_ROWS: u16 = 7;
/// The full layout's top band: this share of the body, within these rows.
const TOP_BAND_PERCENT: u16 = 38;
const TOP_BAND_MIN_ROWS: u16 = 10;
const TOP_BAND_MAX_ROWS: u16 = 18;
/// The share of what is left below the band that the requests panel gets.
const REQUESTS_PERCENT: u16 = 40;
/// Rows a bordered table loses to its borders and column header.
const TABLE_CHROME_ROWS: u16 = 3;
/// Rows a bordered list loses to its borders.
const LIST_CHROME_ROWS: u16 = 2;

/// Where each region goes; `None` for a region this size leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub latency: Rect,
    pub routes: Option<Rect>,
    pub incidents: Rect,
    pub requests: Option<Rect>,
    pub log: Option<Rect>,
    pub hint: Rect,
    /// The middle region overlays are drawn in.
    pub overlay: Rect,
    pub is_compact: bool,
}

/// The regions for a terminal of `area`; `None` when it is below the minimum.
pub fn layout(area: Rect, ui: &UiState) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let [header, body, hint] = Layout::vertical([
        Constraint::Length(HEADER_ROWS + ui.host_rows),
        Constraint::Min(0),
        Constraint::Length(HINT_ROWS),
    ])
    .areas(area);
    let overlay = centered(body, 92, 94);
    let is_compact = area.width < FULL_MIN_WIDTH || area.height < FULL_MIN_HEIGHT;
    if is_compact {
        let [top, main] =
            Layout::vertical([Constraint::Length(COMPACT_TOP_ROWS), Constraint::Min(0)])
                .areas(body);
        let [latency, incidents] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
        let (requests, log) = if ui.main_list == Pane::Requests {
            (Some(main), None)
        } else {
            (None, Some(main))
        };
        return Some(Areas {
            header,
            latency,
            routes: None,
            incidents,
            requests,
            log,
            hint,
            overlay,
            is_compact,
        });
    }
    let top_rows =
        (body.height * TOP_BAND_PERCENT / 100).clamp(TOP_BAND_MIN_ROWS, TOP_BAND_MAX_ROWS);
    let [top, rest] =
        Layout::vertical([Constraint::Length(top_rows), Constraint::Min(0)]).areas(body);
    let [requests, log] =
        Layout::vertical([Constraint::Percentage(REQUESTS_PERCENT), Constraint::Min(0)])
            .areas(rest);
    let (latency, routes, incidents) = if area.width >= ROUTES_MIN_WIDTH {
        let [a, b, c] = Layout::horizontal([
            Constraint::Percentage(38),
            Constraint::Percentage(31),
            Constraint::Min(0),
        ])
        .areas(top);
        (a, Some(b), c)
    } else {
        let [a, c] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Min(0)]).areas(top);
        (a, None, c)
    };
    Some(Areas {
        header,
        latency,
        routes,
        incidents,
        requests: Some(requests),
        log: Some(log),
        hint,
        overlay,
        is_compact,
    })
}

/// A `percent_x`×`percent_y` rectangle in the middle of `area`.
fn centered(area: Rect, percent_x: u16, percent_y: u16) -> Rect {
    let [_, mid, _] = Layout::vertical([
        Constraint::Percentage((100 - percent_y) / 2),
        Constraint::Percentage(percent_y),
        Constraint::Min(0),
    ])
    .areas(area);
    let [_, mid, _] = Layout::horizontal([
        Constraint::Percentage((100 - percent_x) / 2),
        Constraint::Percentage(percent_x),
        Constraint::Min(0),
    ])
    .areas(mid);
    mid
}

/// Rows of content each list shows at this size (for paging and keeping the selection
/// in view); lists not shown keep the rows they would have in the main area.
pub fn viewport(width: u16, height: u16, ui: &UiState) -> Viewport {
    let Some(a) = layout(Rect::new(0, 0, width, height), ui) else {
        return Viewport::default();
    };
    let main = a.log.or(a.requests).map_or(0, |r| r.height);
    let rows = |r: Option<Rect>, chrome: u16| {
        usize::from(r.map_or(main, |r| r.height).saturating_sub(chrome))
    };
    Viewport {
        log: rows(a.log, LIST_CHROME_ROWS),
        requests: rows(a.requests, TABLE_CHROME_ROWS),
        incidents: usize::from(a.incidents.height.saturating_sub(TABLE_CHROME_ROWS)),
        overlay: usize::from(a.overlay.height.saturating_sub(LIST_CHROME_ROWS)),
        overlay_cols: usize::from(a.overlay.width.saturating_sub(2)),
    }
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame, model: &Model, ui: &UiState) {
    let area = frame.area();
    let Some(a) = layout(area, ui) else {
        render_too_small(frame, area, ui);
        return;
    };
    widgets::status_bar::render_header(frame, a.header, model, ui);
    widgets::latency::render_latency(frame, a.latency, model, ui);
    if let Some(r) = a.routes {
        widgets::latency::render_routes(frame, r, model, ui);
    }
    widgets::incidents::render_incidents(frame, a.incidents, model, ui);
    if let Some(r) = a.requests {
        widgets::requests::render_requests(frame, r, model, ui);
    }
    if let Some(r) = a.log {
        widgets::log_table::render_log(frame, r, model, ui);
    }
    widgets::status_bar::render_hint(frame, a.hint, model, ui);
    match &ui.overlay {
        Overlay::None => {}
        Overlay::Help { .. } => widgets::help::render_help(frame, a.overlay, model, ui),
        Overlay::Record { .. } => widgets::detail::render_record(frame, a.overlay, model, ui),
        Overlay::Incident { .. } => widgets::detail::render_incident(frame, a.overlay, model, ui),
        Overlay::Trace { .. } => widgets::detail::render_trace(frame, a.overlay, model, ui),
    }
}

fn render_too_small(frame: &mut Frame, area: Rect, ui: &UiState) {
    let text = vec![
        Line::styled("sigil-top", ui.theme().title()),
        Line::from(format!(
            "terminal too small: {}×{}",
            area.width, area.height
        )),
        Line::from(format!("needs at least {MIN_WIDTH}×{MIN_HEIGHT}")),
        Line::styled("enlarge the window, or q to quit", ui.theme().dim()),
    ];
    let top = area.height.saturating_sub(4) / 2;
    let rect = Rect::new(area.x, area.y + top, area.width, area.height - top);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .alignment(ratatui::layout::Alignment::Center),
        rect,
    );
}
