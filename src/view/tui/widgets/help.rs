//! The `?` overlay drawn: the help's rows (from `help_text`, which wraps them so
//! `UiState::update` knows how far to scroll) in a scrolling panel that says how many
//! rows are below.

use ratatui::layout::Rect;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use crate::model::Model;

use super::super::help_text::help_lines;
use super::super::state::{Overlay, UiState};
use super::{panel, title};

pub(crate) fn render_help(frame: &mut Frame, area: Rect, _model: &Model, ui: &UiState) {
    let t = ui.theme();
    let scroll = match ui.overlay {
        Overlay::Help { scroll } => scroll,
        _ => 0,
    };
    let lines = help_lines(usize::from(area.width.saturating_sub(2)), t);
    let rows = usize::from(area.height.saturating_sub(2));
    let below = lines.len().saturating_sub(usize::from(scroll) + rows);
    // Short, so it fits the title at 60 columns.
    let detail = if lines.len() > rows {
        let more = if below > 0 {
            format!("{below} more below")
        } else {
            "(end)".to_owned()
        };
        format!("↑↓ scroll · {more} · ? Esc q close")
    } else {
        "? Esc q close".to_owned()
    };
    let block = panel(title("Keys", detail, t), true, t);
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}
