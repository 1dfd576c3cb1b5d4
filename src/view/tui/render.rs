//! One `render_*` call per region of the screen's layout (the regions' sizes are
//! computed in [`super::layout`]). Draws only: takes `&Model` and `&UiState` and changes
//! neither.
//!
//! Full layout (at least [`FULL_MIN_WIDTH`]×[`FULL_MIN_HEIGHT`]; the routes column from
//! [`ROUTES_MIN_WIDTH`]; these sizes are in [`super::layout`]):
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
//!
//! [`FULL_MIN_WIDTH`]: super::layout::FULL_MIN_WIDTH
//! [`FULL_MIN_HEIGHT`]: super::layout::FULL_MIN_HEIGHT
//! [`ROUTES_MIN_WIDTH`]: super::layout::ROUTES_MIN_WIDTH
//! [`COMPACT_TOP_ROWS`]: super::layout::COMPACT_TOP_ROWS

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::model::Model;

use super::layout::{layout, MIN_HEIGHT, MIN_WIDTH};
use super::state::{Overlay, UiState};
use super::widgets;

/// Draws the whole screen.
pub fn render(frame: &mut Frame, model: &Model, ui: &UiState) {
    let area = frame.area();
    let Some(a) = layout(area, ui.shape()) else {
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
