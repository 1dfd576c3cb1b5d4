//! The `?` overlay: every key, from the same table the key map uses.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use crate::model::Model;

use super::super::action::HELP;
use super::super::state::UiState;
use super::{panel, title};

pub fn render_help(frame: &mut Frame, area: Rect, _model: &Model, ui: &UiState) {
    let t = ui.theme();
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<15}"), t.key()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " Filters apply to the log and the requests (the level only to the log).",
        t.dim(),
    ));
    lines.push(Line::styled(
        " Colours: blue origin (sigil-mcp), magenta tunnel (cloudflared). NO_COLOR and --theme are honoured.",
        t.dim(),
    ));
    let block = panel(title("Keys", "any key closes".into(), t), true, t);
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
