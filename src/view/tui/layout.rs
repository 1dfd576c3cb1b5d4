//! The screen's layout: where each region goes at a given terminal size ([`layout`] →
//! [`Areas`]), and how many rows each list shows there ([`viewport`] → [`Viewport`], what
//! paging and keeping the selection in view use). The picture of both layouts is in
//! `render`, which draws into these regions.
//!
//! Pure geometry: takes the terminal size and the little the layout depends on from the
//! UI state ([`Shape`]), so both `state` (for paging) and `render` (for drawing) use it
//! without either importing the other.

use ratatui::layout::{Constraint, Layout, Rect};

/// The list the compact layout's main area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MainList {
    Log,
    Requests,
}

/// What the layout depends on besides the terminal's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Extra header rows (per-host figures when the inputs hold several hosts).
    pub(crate) host_rows: u16,
    /// The list the compact layout shows (the one focused last).
    pub(crate) main_list: MainList,
}

/// Rows of each list as last laid out (for paging and keeping the selection in view).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Viewport {
    pub(crate) log: usize,
    pub(crate) requests: usize,
    pub(crate) incidents: usize,
    pub(crate) overlay: usize,
    /// Columns inside the overlay's border (the help wraps its text to them).
    pub(crate) overlay_cols: usize,
}

/// Below this the screen shows only a "too small" message.
pub(crate) const MIN_WIDTH: u16 = 60;
pub(crate) const MIN_HEIGHT: u16 = 15;
/// From this size every panel is shown.
pub(crate) const FULL_MIN_WIDTH: u16 = 100;
pub(crate) const FULL_MIN_HEIGHT: u16 = 32;
/// From this width the per-route and per-tool tables get a column of their own.
pub(crate) const ROUTES_MIN_WIDTH: u16 = 120;
/// The header's rows; one more ([`Shape::host_rows`]) for per-host figures when the
/// inputs hold several hosts.
pub(crate) const HEADER_ROWS: u16 = 2;
pub(crate) const HINT_ROWS: u16 = 1;
/// Rows of the latency + incidents band in the compact layout.
pub(crate) const COMPACT_TOP_ROWS: u16 = 7;
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
pub(crate) struct Areas {
    pub(crate) header: Rect,
    pub(crate) latency: Rect,
    pub(crate) routes: Option<Rect>,
    pub(crate) incidents: Rect,
    pub(crate) requests: Option<Rect>,
    pub(crate) log: Option<Rect>,
    pub(crate) hint: Rect,
    /// The middle region overlays are drawn in.
    pub(crate) overlay: Rect,
    pub(crate) is_compact: bool,
}

/// The regions for a terminal of `area`; `None` when it is below the minimum.
pub(crate) fn layout(area: Rect, shape: Shape) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let [header, body, hint] = Layout::vertical([
        Constraint::Length(HEADER_ROWS + shape.host_rows),
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
        let (requests, log) = if shape.main_list == MainList::Requests {
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
pub(crate) fn viewport(width: u16, height: u16, shape: Shape) -> Viewport {
    let Some(a) = layout(Rect::new(0, 0, width, height), shape) else {
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
