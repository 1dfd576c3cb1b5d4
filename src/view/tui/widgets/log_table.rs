//! The log panel: the merged stream of every unit, in arrival order (time order per
//! input), coloured by unit and level; follows the newest line until the selection
//! moves. Long lines are cut with `…`; `+N` marks grouped continuation lines (the full
//! text is in the record view). Only the visible rows are touched.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::model::Model;
use crate::text;

use super::super::state::{visible, Overlay, Pane, UiState};
use super::status_bar::filter_summary;
use super::{cell, clock_ms, panel, selection_style, title, unit_style};

/// Columns before the message: time, unit, level and their spaces.
const TIME_COLS: usize = 12;
const UNIT_COLS: usize = 11;
const LEVEL_COLS: usize = 5;

pub fn render_log(frame: &mut Frame, area: Rect, model: &Model, ui: &UiState) {
    let t = ui.theme();
    let is_focused = ui.focus == Pane::Log && ui.overlay == Overlay::None;
    let keys = &ui.log.keys;
    let mode = if ui.log.pos.follow {
        "following"
    } else {
        "scrolled · G follow"
    };
    // While paused the title shows only what the frozen view holds.
    let mut detail = if ui.paused.is_some() {
        format!("{} lines · paused, p resumes", keys.len())
    } else {
        format!("{} of {} lines · {mode}", keys.len(), model.log.len())
    };
    let filters = filter_summary(ui);
    if !filters.is_empty() {
        detail.push_str(" · filter ");
        detail.push_str(&filters);
    }
    let block = panel(title("Log", detail, t), is_focused, t);
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
        if narrow {
            // A coloured bar instead of the unit's name.
            spans.push(Span::styled("▌", ustyle));
            used += 1;
        } else {
            spans.push(Span::styled(
                format!("{} ", cell(&text::sanitize(unit), UNIT_COLS)),
                ustyle,
            ));
            used += UNIT_COLS + 1;
        }
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
        let msg = text::sanitize_bytes(&e.entry.message);
        let room = width.saturating_sub(used + marker.len());
        let (msg, _) = text::fit_width(&msg, room);
        spans.push(Span::styled(
            msg.into_owned(),
            t.level(e.level).patch(t.text()),
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
