//! The log panel: the merged stream of every unit, in arrival order (time order per
//! input), coloured by unit and level; follows the newest line until the selection
//! moves. Long lines are cut with `…` (only the visible part of a message is processed,
//! so a frame costs the same with a 50 MB message); `+N` marks grouped continuation lines (the full
//! text is in the record view). Only the visible rows are touched.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::model::Model;
use crate::text;

use ratatui::style::Style;

use super::super::state::{visible, Overlay, Pane, TextFilter, UiState};
use super::status_bar::search_and_filters;
use super::{cell, clock_ms, panel, selection_style, title_fit, unit_style};

/// Columns before the message: time, unit, level and their spaces.
const TIME_COLS: usize = 12;
const UNIT_COLS: usize = 11;
/// The unit's columns in a narrow panel (`sigil…`, `cloud…`).
const NARROW_UNIT_COLS: usize = 6;
const LEVEL_COLS: usize = 5;

/// The panel's title details, longest first: how many lines are shown of how many,
/// following or scrolled (or paused), the search and the filters.
fn title_details(model: &Model, ui: &UiState) -> [String; 3] {
    let keys = &ui.log.keys;
    let mode = if ui.log.pos.follow {
        "following"
    } else {
        "scrolled · G follow"
    };
    // While paused the title shows only what the frozen view holds.
    let count = if ui.paused.is_some() {
        format!("{} lines", keys.len())
    } else {
        format!("{} of {} lines", keys.len(), model.log.len())
    };
    let mode = if ui.paused.is_some() {
        "paused, p resumes"
    } else {
        mode
    };
    let tail = search_and_filters(ui, " n N");
    [
        format!("{count} · {mode}{tail}"),
        format!("{count}{tail}"),
        format!("{}{tail}", keys.len()),
    ]
}

pub(crate) fn render_log(frame: &mut Frame, area: Rect, model: &Model, ui: &UiState) {
    let t = ui.theme();
    let is_focused = ui.focus == Pane::Log && ui.overlay == Overlay::None;
    let keys = &ui.log.keys;
    let block = panel(
        title_fit("Log", &title_details(model, ui), area.width, t),
        is_focused,
        t,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = usize::from(inner.height);
    let (top, sel) = visible(keys, ui.log.pos, rows);
    let width = usize::from(inner.width);
    let narrow = width < 70;
    let mut lines = Vec::with_capacity(rows);
    for (i, &seq) in keys.iter().enumerate().skip(top).take(rows) {
        let Some(rec) = model.log.get(seq) else {
            lines.push(Line::styled("(left the log)", t.dim()));
            continue;
        };
        let e = &rec.event;
        let ustyle = unit_style(e.entry.unit.as_ref(), model, t);
        let unit = e
            .entry
            .unit
            .as_ref()
            .map_or("-", crate::source::Unit::short);
        let mut spans = vec![Span::styled(
            format!("{} ", clock_ms(e.entry.realtime, ui)),
            t.dim(),
        )];
        let mut used = TIME_COLS + 1;
        // The unit's name in text at every width (colour alone says nothing under
        // NO_COLOR or the mono theme); narrow panels cut it with a visible `…`.
        let unit_cols = if narrow { NARROW_UNIT_COLS } else { UNIT_COLS };
        spans.push(Span::styled(
            format!("{} ", cell(&text::sanitize(unit), unit_cols)),
            ustyle,
        ));
        used += unit_cols + 1;
        spans.push(Span::styled(
            cell(&e.level.as_str().to_uppercase(), LEVEL_COLS - 1),
            t.level(e.level),
        ));
        spans.push(Span::raw(" "));
        used += LEVEL_COLS;
        let extra = rec.continuation.len() + rec.continuation_dropped as usize;
        let marker = if extra > 0 {
            format!(" +{extra}")
        } else {
            String::new()
        };
        let room = width.saturating_sub(used + marker.len());
        // Cut to the room before any escaping or redaction: a frame's cost does not
        // depend on how long the messages are (issue 17: a 50 MB line).
        let (msg, is_cut) = text::display_bytes_cols(&e.entry.message, room);
        let msg = super::fit_cut(&msg, room, is_cut);
        spans.extend(highlighted(
            &msg,
            ui.search.as_ref(),
            t.level(e.level).patch(t.text()),
            t.search_match(),
        ));
        if !marker.is_empty() {
            spans.push(Span::styled(marker, t.key()));
        }
        let mut line = Line::from(spans);
        if Some(i) == sel && (is_focused || !ui.log.pos.follow) {
            line = line.style(selection_style(is_focused, t));
        }
        lines.push(line);
    }
    if lines.is_empty() {
        let msg = if model.log.is_empty() {
            "no entries yet"
        } else {
            "no line matches the filters (c clears them)"
        };
        lines.push(Line::styled(msg, t.dim()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `shown` (display text, already cut to fit) as spans, the search's matches in
/// `hit_style`. Matching the drawn text means a match is highlighted where it is seen.
pub(crate) fn highlighted(
    shown: &str,
    search: Option<&TextFilter>,
    style: Style,
    hit_style: Style,
) -> Vec<Span<'static>> {
    let ranges = search.map(|s| s.ranges(shown)).unwrap_or_default();
    if ranges.is_empty() {
        return vec![Span::styled(shown.to_owned(), style)];
    }
    let mut spans = Vec::new();
    let mut at = 0;
    for (a, b) in ranges {
        if a < at || !shown.is_char_boundary(a) || !shown.is_char_boundary(b) {
            continue;
        }
        if a > at {
            spans.push(Span::styled(shown[at..a].to_owned(), style));
        }
        spans.push(Span::styled(shown[a..b].to_owned(), hit_style));
        at = b;
    }
    if at < shown.len() {
        spans.push(Span::styled(shown[at..].to_owned(), style));
    }
    spans
}
